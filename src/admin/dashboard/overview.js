/* The overview page: for the chosen gateway and time range, cards of the totals, charts
   of the series and the top providers, models and access tokens, from /analytics. */
import { api, state, h, fmt, compact, dataPlaneUrl, onLeave } from "./app.js";
import { lineChart } from "./chart.js";

const RANGES = { "1h": 3600000, "24h": 86400000, "7d": 7 * 86400000 };
const REFRESH_MS = 10000;
let chosen = sessionStorage.getItem("sluice-range") || "24h";
let custom = { from: "", to: "" };

/** <input type=datetime-local> text of `ms`, local time. */
function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

function range() {
  if (chosen === "custom" && custom.from && custom.to) {
    return { from: new Date(custom.from).getTime(), to: new Date(custom.to).getTime() };
  }
  const to = Date.now();
  return { from: to - (RANGES[chosen] || RANGES["24h"]), to };
}

export function emptyState() {
  const url = dataPlaneUrl();
  const gw = state.gateway === "default" ? `${url}` : `${url}/${state.session.account_id === "*" ? "ACCOUNT" : state.session.account_id}/${state.gateway}/compat`;
  return h("div", { class: "empty panel" },
    h("p", {}, "No requests yet: point your OpenAI client at ", h("code", {}, gw)),
    h("p", {}, h("code", {}, `curl ${gw}/chat/completions -H 'content-type: application/json' -d '{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'`)));
}

function cards(t) {
  const card = (label, value, title) => h("div", { class: "card", title }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
  return h("div", { class: "cards", id: "cards" },
    card("Requests", fmt.int(t.requests)),
    card("Errors", `${fmt.int(t.errors)} (${fmt.pct(t.requests ? t.errors / t.requests : 0)})`),
    card("Cache hit rate", fmt.pct(t.cache_hit_rate)),
    card("Tokens in", fmt.tokens(t.tokens_in)),
    card("Tokens out", fmt.tokens(t.tokens_out)),
    card("Cost", fmt.usd(t.cost)),
    card("Duration p50 / p99", `${fmt.ms(t.duration_p50_ms)} / ${fmt.ms(t.duration_p99_ms)}`),
    card("Time to first token p50 / p99", `${fmt.ms(t.ttft_p50_ms)} / ${fmt.ms(t.ttft_p99_ms)}`));
}

function topTable(title, rows, keyName, linkKey) {
  if (!rows.length) return h("div", { class: "panel" }, h("h2", {}, title), h("p", { class: "muted" }, "Nothing in this range."));
  const name = (r) => r.key === null ? h("span", { class: "muted" }, keyName === "Token" ? "(no token)" : "(none)") : linkKey ? h("a", { href: `#/logs?${linkKey}=${encodeURIComponent(r.key)}` }, r.key) : r.key;
  return h("div", { class: "panel scroll" }, h("h2", {}, title), h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, keyName), h("th", { class: "num" }, "Requests"), h("th", { class: "num" }, "Errors"),
      h("th", { class: "num" }, "Tokens"), h("th", { class: "num" }, "Cost"), h("th", { class: "num" }, "Mean"))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, name(r)), h("td", { class: "num" }, fmt.int(r.requests)),
      h("td", { class: "num" }, fmt.int(r.errors)), h("td", { class: "num" }, compact(r.tokens_in + r.tokens_out)),
      h("td", { class: "num" }, fmt.usd(r.cost)), h("td", { class: "num" }, fmt.ms(r.duration_avg_ms)))))));
}

function charts(series) {
  const xs = series.map((b) => b.start_ms);
  const col = (k) => series.map((b) => b[k]);
  const hasTtft = series.some((b) => b.ttft_p50_ms !== null);
  return h("div", { class: "charts", id: "charts" },
    lineChart({ title: "Requests", xs, series: [{ name: "requests", values: col("requests") }, { name: "cache hits", values: col("cached") }, { name: "errors", values: col("errors") }], format: (v) => compact(Math.round(v || 0)) }),
    lineChart({ title: "Tokens", xs, series: [{ name: "in", values: col("tokens_in") }, { name: "out", values: col("tokens_out") }], format: (v) => compact(Math.round(v || 0)) }),
    lineChart({ title: "Cost (USD)", xs, series: [{ name: "cost", values: col("cost") }], format: fmt.usd }),
    lineChart({ title: "Duration", xs, series: [{ name: "p50", values: col("duration_p50_ms") }, { name: "p99", values: col("duration_p99_ms") }], format: fmt.ms }),
    hasTtft ? lineChart({ title: "Time to first token (streams)", xs, series: [{ name: "p50", values: col("ttft_p50_ms") }, { name: "p99", values: col("ttft_p99_ms") }], format: fmt.ms }) : null);
}

async function load(body) {
  const { from, to } = range();
  const q = new URLSearchParams({ start_date: String(Math.round(from)), end_date: String(Math.round(to)), group_by: "provider,model,token", limit: "10" });
  const r = (await api("GET", `/api/v1/gateways/${encodeURIComponent(state.gateway)}/analytics?${q}`)).result;
  const g = r.groups;
  const parts = [cards(r.totals)];
  if (r.totals.requests === 0) parts.push(emptyState());
  else {
    parts.push(charts(r.series), h("div", { class: "tables", id: "tops" },
      topTable("Top providers by requests", g.provider.by_requests, "Provider", "provider"),
      topTable("Top providers by cost", g.provider.by_cost, "Provider", "provider"),
      topTable("Top models by requests", g.model.by_requests, "Model", "model"),
      topTable("Top models by cost", g.model.by_cost, "Model", "model"),
      topTable("Top access tokens by requests", g.token.by_requests, "Token", "access_token"),
      topTable("Top access tokens by cost", g.token.by_cost, "Token", "access_token")));
  }
  parts.push(h("p", { class: "muted" }, `${fmt.time(r.start_ms)} – ${fmt.time(r.end_ms)}, by ${r.bucket}. Updated ${new Date().toLocaleTimeString()}.`));
  body.replaceChildren(...parts);
}

export async function render(main) {
  const body = h("div", { id: "overview-body" });
  const rangePick = h("select", { id: "range", onchange: (ev) => { chosen = ev.target.value; sessionStorage.setItem("sluice-range", chosen); customBox.hidden = chosen !== "custom"; if (chosen !== "custom") load(body); } },
    [["1h", "Last hour"], ["24h", "Last day"], ["7d", "Last week"], ["custom", "Custom…"]].map(([v, t]) => h("option", { value: v, selected: v === chosen }, t)));
  const now = Date.now();
  const from = h("input", { type: "datetime-local", value: custom.from || localInput(now - 86400000) });
  const to = h("input", { type: "datetime-local", value: custom.to || localInput(now) });
  const customBox = h("span", { class: "toolbar", hidden: chosen !== "custom" },
    h("label", {}, "From", from), h("label", {}, "To", to),
    h("button", { type: "button", onclick: () => { custom = { from: from.value, to: to.value }; load(body); } }, "Apply"));
  main.replaceChildren(h("h1", {}, `Overview · ${state.gateway}`),
    h("div", { class: "toolbar" }, h("label", {}, "Time range", rangePick), customBox), body);
  await load(body);
  const timer = setInterval(() => { if (chosen !== "custom") load(body).catch(() => {}); }, REFRESH_MS);
  onLeave(() => clearInterval(timer));
}
