/* The logs page: the log API's filters, a table newest first with paging, and live
   updates (polled every 2 s on the first page, new rows marked). */
import { api, state, h, fmt, onLeave } from "./app.js";
import { emptyState } from "./overview.js";

const POLL_MS = 2000;
const PER_PAGE = 50;
const FIELDS = [
  ["provider", "Provider", "text"], ["model", "Model", "text"], ["status", "Status", "number"],
  ["success", "Success", ["", "true", "false"]], ["cached", "Cached", ["", "true", "false"]],
  ["access_token", "Access token id", "text"], ["metadata", "Metadata key=value", "text"],
  ["start_date", "From", "datetime-local"], ["end_date", "To", "datetime-local"],
];

/** The log API's query string for the form's values. */
function query(values, page) {
  const q = new URLSearchParams({ page: String(page), per_page: String(PER_PAGE) });
  for (const [k, v] of Object.entries(values)) {
    if (!v) continue;
    if (k === "metadata") {
      const [mk, ...rest] = v.split("=");
      if (mk && rest.length) q.set(`metadata.${mk.trim()}`, rest.join("=").trim());
    } else if (k === "start_date" || k === "end_date") q.set(k, String(new Date(v).getTime()));
    else q.set(k, v);
  }
  return q;
}

function statusCell(e) {
  return h("td", { class: e.success ? "ok" : "bad" }, String(e.status));
}

function row(e, fresh) {
  return h("tr", { class: fresh ? "new" : null, "data-id": e.id },
    h("td", {}, h("a", { href: `#/logs/${e.id}` }, fmt.time(e.created_at_ms))),
    statusCell(e), h("td", {}, e.provider), h("td", {}, e.model),
    h("td", { class: "num" }, e.tokens_in === null ? "–" : fmt.int(e.tokens_in)),
    h("td", { class: "num" }, e.tokens_out === null ? "–" : fmt.int(e.tokens_out)),
    h("td", { class: "num" }, fmt.usd(e.cost)), h("td", { class: "num" }, fmt.ms(e.duration_ms)),
    h("td", {}, [e.cached ? "cached" : null, e.stream ? "stream" : null, e.route ? `route ${e.route}` : null,
      e.feedback === 1 ? "feedback good" : e.feedback === -1 ? "feedback bad" : null].filter(Boolean).join(" · ")));
}

export async function render(main) {
  const values = {};
  for (const [k] of FIELDS) values[k] = state.hashQuery.get(k) || "";
  let page = 1;
  let seen = null;
  const inputs = FIELDS.map(([k, label, type]) => {
    const input = Array.isArray(type)
      ? h("select", { name: k }, type.map((o) => h("option", { value: o, selected: o === values[k] }, o || "any")))
      : h("input", { name: k, type, value: values[k], size: type === "number" ? 5 : 14 });
    return h("label", {}, label, input);
  });
  const live = h("input", { type: "checkbox", id: "live", checked: true });
  const form = h("form", { class: "toolbar", id: "filters", onsubmit: (ev) => {
    ev.preventDefault();
    for (const el of form.elements) if (el.name) values[el.name] = el.value;
    page = 1; seen = null; load();
  } }, inputs, h("button", { type: "submit", class: "primary" }, "Apply"),
  h("label", { class: "inline" }, h("span", {}, "Live"), live));
  const info = h("p", { class: "muted", "aria-live": "polite" });
  const table = h("div", { class: "panel scroll" });
  const prev = h("button", { type: "button", onclick: () => { page -= 1; seen = null; load(); } }, "← Newer");
  const next = h("button", { type: "button", onclick: () => { page += 1; seen = null; load(); } }, "Older →");
  const pageLabel = h("span", { class: "muted" });
  main.replaceChildren(h("h1", {}, `Logs · ${state.gateway}`), form, info, table, h("div", { class: "pager" }, prev, pageLabel, next));

  async function load() {
    const r = await api("GET", `/api/v1/gateways/${encodeURIComponent(state.gateway)}/logs?${query(values, page)}`);
    const total = r.result_info.total_count;
    const pages = Math.max(1, Math.ceil(total / PER_PAGE));
    prev.disabled = page <= 1; next.disabled = page >= pages;
    pageLabel.textContent = `page ${page} of ${pages}`;
    const t = r.totals;
    info.textContent = `${fmt.int(total)} requests · ${fmt.tokens(t.tokens_in)} in · ${fmt.tokens(t.tokens_out)} out · ${fmt.usd(t.cost)}`;
    const filtered = Object.values(values).some(Boolean);
    if (!r.result.length) {
      table.replaceChildren(filtered ? h("p", { class: "empty" }, "No entries match these filters: clear some to see more.") : emptyState());
      seen = new Set();
      return;
    }
    const fresh = (e) => seen !== null && !seen.has(e.id);
    table.replaceChildren(h("table", { id: "log-table" },
      h("thead", {}, h("tr", {}, ["Time", "Status", "Provider", "Model"].map((c) => h("th", {}, c)),
        ["Tokens in", "Tokens out", "Cost", "Duration"].map((c) => h("th", { class: "num" }, c)), h("th", {}, ""))),
      h("tbody", {}, r.result.map((e) => row(e, fresh(e))))));
    seen = new Set(r.result.map((e) => e.id));
  }
  await load();
  const timer = setInterval(() => { if (live.checked && page === 1 && !document.hidden) load().catch(() => {}); }, POLL_MS);
  onLeave(() => clearInterval(timer));
}
