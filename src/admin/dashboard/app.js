/* The dashboard's core: sign-in with an admin token (kept in sessionStorage), the API
   client, the page router (location.hash), and the formatting and DOM helpers. */

export const state = { token: sessionStorage.getItem("sluice-admin-token") || "", session: null,
  gateway: sessionStorage.getItem("sluice-gateway") || "" };

/** An API error: its HTTP status and the message the admin API gave. */
export class ApiError extends Error {
  constructor(status, message, body) { super(message); this.status = status; this.body = body; }
}

/** Calls the admin API; JSON in and out (text when `raw`). */
export async function api(method, path, body, raw = false) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    let parsed = null;
    try {
      parsed = JSON.parse(text);
      message = parsed.error?.message || parsed.errors?.[0]?.message || message;
    } catch (_) { /* not JSON: keep the status line */ }
    throw new ApiError(res.status, message, parsed);
  }
  if (raw) return text;
  return text ? JSON.parse(text) : null;
}

/** The management API's base path for this account. */
export function v4(rest) {
  const account = state.session.account_id === "*" ? "local" : state.session.account_id;
  return `/client/v4/accounts/${encodeURIComponent(account)}/ai-gateway/${rest}`;
}

export const canEdit = () => state.session?.can_edit === true;

/** An element: h("a", {href: "#"}, "text", child...). `on*` attributes become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const fmt = {
  int: (n) => (n ?? 0).toLocaleString("en-US"),
  tokens: (n) => `${compact(n ?? 0)} tokens`,
  usd: (n) => n === null || n === undefined ? "–" : n === 0 ? "$0" : n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`,
  ms: (n) => n === null || n === undefined ? "–" : n >= 10000 ? `${(n / 1000).toFixed(1)} s` : n < 10 && n % 1 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`,
  pct: (x) => `${((x || 0) * 100).toFixed(1)}%`,
  bytes: (n) => n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`,
  time: (ms) => new Date(ms).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" }),
};

export function compact(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toLocaleString("en-US");
}

/** The data plane's base URL for the OpenAI SDK, as this browser would reach it. */
export function dataPlaneUrl() {
  const listen = state.session?.listen?.[0] || "127.0.0.1:8787";
  const port = listen.split(":").pop();
  const host = listen.startsWith("0.0.0.0") || listen.startsWith("[::]") ? location.hostname : listen.slice(0, listen.lastIndexOf(":"));
  return `http://${host}:${port}/v1`;
}

/** Timers and listeners of the page shown; stopped when another page opens. */
const cleanups = [];
export function onLeave(fn) { cleanups.push(fn); }

export function showError(where, error) {
  where.replaceChildren(h("p", { class: "error", role: "alert" }, error.message || String(error)));
}

const pages = {
  overview: () => import("./overview.js").then((m) => m.render),
  logs: () => import("./logs.js").then((m) => m.render),
  log: () => import("./detail.js").then((m) => m.render),
  gateways: () => import("./config.js").then((m) => m.renderList),
  gateway: () => import("./config.js").then((m) => m.renderGateway),
  routes: () => import("./routes.js").then((m) => m.renderList),
  route: () => import("./routes.js").then((m) => m.renderRoute),
};

let navigation = 0;

async function route() {
  while (cleanups.length) cleanups.pop()();
  const main = document.getElementById("main");
  if (!state.session) return;
  const [pathPart, queryPart = ""] = location.hash.replace(/^#\/?/, "").split("?");
  state.hashQuery = new URLSearchParams(queryPart);
  const [name = "overview", ...args] = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  const page = { logs: args.length ? "log" : "logs", gateways: args.length ? "gateway" : "gateways",
    routes: args.length > 1 ? "route" : "routes" }[name] || (pages[name] ? name : "overview");
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  // Each page renders into its own view: one still loading when another opens writes
  // only into its detached view.
  const gen = ++navigation;
  const view = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.replaceChildren(view);
  try {
    const render = await pages[page]();
    if (gen !== navigation) return;
    await render(view, args);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut("That admin token is no longer accepted.");
    showError(view, e);
  }
}

function fillGateways() {
  const select = document.getElementById("gateway");
  const ids = state.session.gateways;
  if (!ids.includes(state.gateway)) state.gateway = ids.includes("default") ? "default" : ids[0] || "";
  select.replaceChildren(...ids.map((id) => h("option", { value: id, selected: id === state.gateway }, id)));
}

/** Reads the session again (after a gateway is made or deleted). */
export async function refreshSession() {
  state.session = (await api("GET", "/api/v1/session")).result;
  fillGateways();
}

function signOut(message) {
  sessionStorage.removeItem("sluice-admin-token");
  state.token = "";
  state.session = null;
  for (const id of ["nav", "gateway-pick", "role", "signout"]) document.getElementById(id).hidden = true;
  showSignIn(message);
}

function showSignIn(message) {
  const main = document.getElementById("main");
  const input = h("input", { type: "password", id: "token", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" }, message || "");
  const form = h("form", { onsubmit: async (ev) => {
    ev.preventDefault();
    state.token = input.value.trim();
    if (await start()) sessionStorage.setItem("sluice-admin-token", state.token);
    else error.textContent = "That token was not accepted: use one of server.admin_tokens (read or edit).";
  } },
  h("label", { for: "token" }, "Admin token"), input,
  h("button", { class: "primary", type: "submit" }, "Sign in"));
  main.replaceChildren(h("section", { class: "signin panel" }, h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "An admin token of this gateway (server.admin_tokens). A read token shows everything and changes nothing. It is kept in this browser tab only."),
    form, error));
  input.focus();
}

/** Opens the session with the token held (none: an open admin API); false if refused. */
async function start() {
  try {
    state.session = (await api("GET", "/api/v1/session")).result;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return false;
    throw e;
  }
  fillGateways();
  const role = document.getElementById("role");
  role.textContent = { open: "open (loopback, no admin token)", read: "read only", edit: "edit" }[state.session.role];
  for (const id of ["nav", "gateway-pick", "role"]) document.getElementById(id).hidden = false;
  document.getElementById("signout").hidden = state.session.role === "open";
  route();
  return true;
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("gateway").addEventListener("change", (ev) => {
    state.gateway = ev.target.value;
    sessionStorage.setItem("sluice-gateway", state.gateway);
    route();
  });
  document.getElementById("signout").addEventListener("click", () => signOut());
  start().then((ok) => { if (!ok) showSignIn(state.token ? "That admin token is no longer accepted." : ""); })
    .catch((e) => showError(document.getElementById("main"), e));
});
