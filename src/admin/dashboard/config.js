/* The configuration pages, through the management API: gateways (create, edit every
   implemented field, delete), stored keys, access tokens and spend limits with current
   spend. The config file's objects are shown read-only. */
import { api, v4, state, h, fmt, canEdit, refreshSession } from "./app.js";

/** Gateway fields the form edits: name, label, kind. */
const FIELDS = [
  ["cache_ttl", "Cache TTL (s; 0: only when asked)", "number"],
  ["collect_logs", "Collect logs", "bool"],
  ["log_management", "Log entries kept", "number"],
  ["log_management_strategy", "When full", ["", "DELETE_OLDEST"]],
  ["rate_limiting_limit", "Rate limit (requests; 0: none)", "number"],
  ["rate_limiting_interval", "Rate limit window (s)", "number"],
  ["rate_limiting_technique", "Rate limit technique", ["", "fixed", "sliding"]],
  ["retry_max_attempts", "Retry attempts (1-5)", "number"],
  ["retry_delay", "Retry delay (ms)", "number"],
  ["retry_backoff", "Retry backoff", ["", "constant", "linear", "exponential"]],
  ["authentication", "Require access tokens", "bool"],
  ["cache_invalidate_on_update", "Invalidate cache on update", "bool"],
  ["byok_only", "BYOK only", "bool"],
];

function managementOff() {
  return h("p", { class: "notice" }, "The management API is off on this gateway: gateways, keys, tokens and routes come from the config file only.");
}

/** A form of every implemented gateway field (and spend_limits as JSON). */
function gatewayForm(g, editable, onSubmit, submitLabel) {
  const inputs = {};
  const cells = FIELDS.map(([k, label, kind]) => {
    const v = g[k];
    let input;
    if (kind === "bool") input = h("input", { type: "checkbox", name: k, checked: !!v, disabled: !editable });
    else if (Array.isArray(kind)) input = h("select", { name: k, disabled: !editable }, kind.map((o) => h("option", { value: o, selected: (v ?? "") === o }, o || "(default)")));
    else input = h("input", { type: "number", min: 0, name: k, value: v ?? "", disabled: !editable });
    inputs[k] = input;
    return h("label", {}, label, input);
  });
  const spend = h("textarea", { class: "json", name: "spend_limits", rows: 6, disabled: !editable }, g.spend_limits ? JSON.stringify(g.spend_limits, null, 2) : "");
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "form", onsubmit: async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const [k, , kind] of FIELDS) {
      const el = inputs[k];
      if (kind === "bool") body[k] = el.checked;
      else if (Array.isArray(kind)) body[k] = el.value || null;
      else body[k] = el.value === "" ? null : Number(el.value);
    }
    try {
      body.spend_limits = spend.value.trim() ? JSON.parse(spend.value) : null;
    } catch (e) { error.textContent = `spend_limits: ${e.message}`; spend.focus(); return; }
    try { await onSubmit(body); error.textContent = ""; } catch (e) { error.textContent = e.message; }
  } }, cells, h("label", { class: "wide" }, "Spend limits (JSON: {\"enabled\": true, \"rules\": [{\"id\", \"limit\", \"limitType\": \"cost\", \"window\"}]})", spend),
  editable ? h("div", { class: "wide" }, h("button", { class: "primary", type: "submit" }, submitLabel)) : null, h("div", { class: "wide" }, error));
  return form;
}

export async function renderList(main) {
  main.replaceChildren(h("h1", {}, "Gateways"));
  if (!state.session.management) { main.append(managementOff()); return; }
  const list = (await api("GET", v4("gateways?per_page=100"))).result;
  const rows = list.map((g) => h("tr", {}, h("td", {}, h("a", { href: `#/gateways/${encodeURIComponent(g.id)}` }, g.id)),
    h("td", {}, g.source === "config" ? "config file (read-only)" : "API"), h("td", {}, g.collect_logs ? "yes" : "no"),
    h("td", {}, g.authentication ? "yes" : "no"), h("td", {}, g.modified_at || "")));
  main.append(h("div", { class: "panel scroll" }, h("table", { id: "gateways" },
    h("thead", {}, h("tr", {}, ["Id", "Source", "Logs", "Access tokens", "Modified"].map((c) => h("th", {}, c)))), h("tbody", {}, rows))));
  if (!canEdit()) { main.append(h("p", { class: "muted" }, "A read token cannot create gateways.")); return; }
  const id = h("input", { name: "id", id: "new-gateway-id", required: true, pattern: "[A-Za-z0-9_-]{1,64}" });
  main.append(h("h2", {}, "Create a gateway"), h("div", { class: "panel" }, h("label", {}, "Id (1-64 of A-Z a-z 0-9 _ -) ", id),
    gatewayForm({ collect_logs: true }, true, async (body) => {
      const made = (await api("POST", v4("gateways"), { id: id.value, ...body })).result;
      await refreshSession();
      location.hash = `#/gateways/${encodeURIComponent(made.id)}`;
    }, "Create gateway")));
}

function keysSection(gw, editable, keys) {
  const rows = keys.map((k) => h("tr", {}, h("td", {}, k.provider_slug), h("td", {}, k.alias), h("td", {}, h("code", {}, k.secret_preview ? `…${k.secret_preview}` : "(short key)")),
    h("td", {}, k.default_config ? "default" : ""), h("td", {}, editable ? h("button", { class: "danger", type: "button", onclick: async () => {
      if (!confirm(`Delete the ${k.provider_slug} key ${k.alias}?`)) return;
      await api("DELETE", v4(`gateways/${encodeURIComponent(gw)}/provider_configs/${encodeURIComponent(k.id)}`));
      location.reload();
    } }, "Delete") : "")));
  const slug = h("input", { name: "provider_slug", id: "key-provider", required: true, placeholder: "openai" });
  const alias = h("input", { name: "alias", id: "key-alias", value: "default", required: true });
  const secret = h("input", { name: "secret", id: "key-secret", type: "password", required: true, autocomplete: "off" });
  const dflt = h("input", { type: "checkbox", name: "default_config", checked: true });
  const error = h("p", { class: "error", role: "alert" });
  const form = editable ? h("form", { class: "toolbar", id: "add-key", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", v4(`gateways/${encodeURIComponent(gw)}/provider_configs`), { provider_slug: slug.value, alias: alias.value, secret: secret.value, default_config: dflt.checked });
      location.reload();
    } catch (e) { error.textContent = e.message; }
  } }, h("label", {}, "Provider", slug), h("label", {}, "Alias", alias), h("label", {}, "Key", secret), h("label", {}, "Default", dflt),
  h("button", { class: "primary", type: "submit" }, "Add key"), error) : null;
  return h("section", { class: "panel" }, h("h2", {}, "Stored keys"),
    keys.length ? h("div", { class: "scroll" }, h("table", { id: "keys" }, h("thead", {}, h("tr", {}, ["Provider", "Alias", "Key", "", ""].map((c) => h("th", {}, c)))), h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No stored keys: requests use the provider's keys from the config file, or the client's own."), form);
}

function tokensSection(gw, editable, tokens) {
  const rows = tokens.map((t) => h("tr", {}, h("td", {}, t.name), h("td", {}, h("code", {}, t.id)), h("td", {}, (t.models || []).join(", ") || "any"),
    h("td", {}, t.rate_limit ? `${t.rate_limit.limit} / ${t.rate_limit.interval} s` : "–"),
    h("td", {}, t.spend_limit ? `${fmt.usd(t.spend_limit.limit)} / ${t.spend_limit.window} s` : "–"),
    h("td", {}, editable ? h("button", { class: "danger", type: "button", onclick: async () => {
      if (!confirm(`Revoke ${t.name}?`)) return;
      await api("DELETE", v4(`gateways/${encodeURIComponent(gw)}/access_tokens/${encodeURIComponent(t.id)}`));
      location.reload();
    } }, "Revoke") : "")));
  const name = h("input", { id: "token-name", required: true });
  const models = h("input", { id: "token-models", placeholder: "openai/gpt-4o-mini, ..." });
  const rate = h("input", { id: "token-rate", type: "number", min: 1, placeholder: "per minute" });
  const spend = h("input", { id: "token-spend", type: "number", min: 0, step: "any", placeholder: "$ per day" });
  const shown = h("div", { id: "new-token", "aria-live": "polite" });
  const form = editable ? h("form", { class: "toolbar", onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { name: name.value };
    const list = models.value.split(",").map((m) => m.trim()).filter(Boolean);
    if (list.length) body.models = list;
    if (rate.value) body.rate_limit = { limit: Number(rate.value), interval: 60 };
    if (spend.value) body.spend_limit = { limit: Number(spend.value), window: 86400 };
    try {
      const made = (await api("POST", v4(`gateways/${encodeURIComponent(gw)}/access_tokens`), body)).result;
      shown.replaceChildren(h("p", { class: "notice" }, "Copy this token now: it is shown once. ", h("code", { id: "token-value" }, made.token)));
    } catch (e) { shown.replaceChildren(h("p", { class: "error" }, e.message)); }
  } }, h("label", {}, "Name", name), h("label", {}, "Models (none: any)", models), h("label", {}, "Requests per minute", rate),
  h("label", {}, "Dollars per day", spend), h("button", { class: "primary", type: "submit" }, "Create token")) : null;
  return h("section", { class: "panel" }, h("h2", {}, "Access tokens"),
    tokens.length ? h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["Name", "Id", "Models", "Rate limit", "Spend limit", ""].map((c) => h("th", {}, c)))), h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No access tokens: create one per app or person to give each its own limits."), form, shown);
}

function spendSection(g, spend) {
  const rules = g.spend_limits?.rules || [];
  if (!rules.length) return h("section", { class: "panel" }, h("h2", {}, "Spend limits"), h("p", { class: "muted" }, "No spend limits: add rules in the form below to cap dollars per window."));
  const spent = Object.fromEntries(spend.rules.map((r) => [r.rule, r.spent]));
  return h("section", { class: "panel" }, h("h2", {}, "Spend limits"), h("table", { id: "spend" },
    h("thead", {}, h("tr", {}, ["Rule", "Spent", "Limit", "Window", "Used"].map((c) => h("th", {}, c)))),
    h("tbody", {}, rules.map((r, i) => {
      const id = r.id || `rule-${i + 1}`;
      const used = spent[id] ?? 0;
      return h("tr", {}, h("td", {}, id), h("td", {}, fmt.usd(used)), h("td", {}, fmt.usd(r.limit)), h("td", {}, `${r.window} s`),
        h("td", {}, h("meter", { min: 0, max: r.limit, value: used, title: fmt.pct(used / r.limit) }), ` ${fmt.pct(used / r.limit)}`));
    }))));
}

export async function renderGateway(main, [gw]) {
  main.replaceChildren(h("p", {}, h("a", { href: "#/gateways" }, "← Gateways")), h("h1", {}, `Gateway ${gw}`));
  if (!state.session.management) { main.append(managementOff()); return; }
  const base = `gateways/${encodeURIComponent(gw)}`;
  const g = (await api("GET", v4(base))).result;
  const fromFile = g.source === "config";
  const editable = canEdit() && !fromFile;
  const [keys, tokens, spend] = await Promise.all([
    api("GET", v4(`${base}/provider_configs?per_page=100`)).then((r) => r.result),
    api("GET", v4(`${base}/access_tokens?per_page=100`)).then((r) => r.result),
    api("GET", `/api/v1/gateways/${encodeURIComponent(gw)}/spend`).then((r) => r.result).catch(() => ({ rules: [] })),
  ]);
  if (fromFile) main.append(h("p", { class: "notice" }, "Declared in the config file: shown read-only (change it there and reload)."));
  else if (!canEdit()) main.append(h("p", { class: "notice" }, "Signed in with a read token: nothing can be changed."));
  main.append(spendSection(g, spend), h("section", { class: "panel" }, h("h2", {}, "Settings"), gatewayForm(g, editable, async (body) => {
    await api("PUT", v4(base), body);
    location.reload();
  }, "Save")), keysSection(gw, editable && state.session.management, keys), tokensSection(gw, editable, tokens));
  if (editable) {
    main.append(h("p", {}, h("button", { class: "danger", type: "button", id: "delete-gateway", onclick: async () => {
      if (!confirm(`Delete gateway ${gw} with its keys, tokens and routes?`)) return;
      await api("DELETE", v4(base));
      await refreshSession();
      location.hash = "#/gateways";
    } }, "Delete gateway")));
  }
}
