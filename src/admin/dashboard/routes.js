/* The routes pages: a gateway's dynamic routes, and one route's JSON editor (validation
   errors shown at the element they name), its versions with deploy and roll back, and a
   drawing of its graph. */
import { api, v4, state, h, canEdit } from "./app.js";

const NS = "http://www.w3.org/2000/svg";
const EXAMPLE = [
  { id: "start", type: "start", outputs: { next: { elementId: "model" } } },
  { id: "model", type: "model", properties: { provider: "openai", model: "gpt-4o-mini", timeout: 30000, retries: 1 }, outputs: { success: { elementId: "end" }, fallback: { elementId: "end" } } },
  { id: "end", type: "end" },
];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** The elements as layers from `start` (longest path), drawn left to right. */
export function drawGraph(elements, bad = new Set()) {
  const byId = new Map(elements.map((e) => [e.id, e]));
  const depth = new Map();
  const start = elements.find((e) => e.type === "start") || elements[0];
  const visit = (id, d, trail) => {
    if (!byId.has(id) || trail.has(id) || (depth.get(id) ?? -1) >= d) return;
    depth.set(id, d);
    trail.add(id);
    for (const o of Object.values(byId.get(id).outputs || {})) visit(o?.elementId, d + 1, trail);
    trail.delete(id);
  };
  if (start) visit(start.id, 0, new Set());
  for (const e of elements) if (!depth.has(e.id)) depth.set(e.id, 0);
  const layers = [];
  for (const e of elements) (layers[depth.get(e.id)] ||= []).push(e);
  const BW = 130, BH = 44, GX = 60, GY = 24;
  const pos = new Map();
  layers.forEach((layer, x) => layer.forEach((e, y) => pos.set(e.id, { x: 10 + x * (BW + GX), y: 10 + y * (BH + GY) })));
  const width = 20 + layers.length * (BW + GX);
  const height = 20 + Math.max(1, ...layers.map((l) => l.length)) * (BH + GY);
  const svg = s("svg", { class: "graph", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `Route graph of ${elements.length} elements` });
  for (const e of elements) {
    for (const [name, o] of Object.entries(e.outputs || {})) {
      const a = pos.get(e.id), b = pos.get(o?.elementId);
      if (!a || !b) continue;
      const x1 = a.x + BW, y1 = a.y + BH / 2, x2 = b.x, y2 = b.y + BH / 2;
      svg.append(s("path", { d: `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}` }),
        s("text", { class: "edge-label", x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 3, "text-anchor": "middle" }, name));
    }
  }
  for (const e of elements) {
    const p = pos.get(e.id);
    const detail = e.type === "model" ? `${e.properties?.provider}/${e.properties?.model}` : e.type;
    svg.append(s("g", {}, s("rect", { x: p.x, y: p.y, width: BW, height: BH, rx: 6, ...(bad.has(e.id) ? { class: "bad-el" } : {}) }),
      s("text", { x: p.x + 8, y: p.y + 18 }, e.id), s("text", { x: p.x + 8, y: p.y + 34, class: "edge-label" }, detail.slice(0, 22))));
  }
  return svg;
}

export async function renderList(main) {
  const gw = state.gateway;
  main.replaceChildren(h("h1", {}, `Routes · ${gw}`));
  const declared = (await api("GET", `/api/v1/gateways/${encodeURIComponent(gw)}/config-routes`)).result.routes;
  if (declared.length) main.append(h("h2", {}, "Declared in the config file (read-only)"), ...declared.map(configRoute));
  if (!state.session.management) { main.append(h("p", { class: "notice" }, "The management API is off: routes come from the config file.")); return; }
  const gateway = (await api("GET", v4(`gateways/${encodeURIComponent(gw)}`))).result;
  if (gateway.source === "config") {
    if (!declared.length) main.append(h("p", { class: "empty panel" }, "No routes on this gateway: it is declared in the config file, so its routes are added there ([[gateway.route]])."));
    return;
  }
  const data = (await api("GET", v4(`gateways/${encodeURIComponent(gw)}/routes?per_page=100`))).data;
  const routes = data.routes || [];
  main.append(routes.length ? h("div", { class: "panel" }, h("table", { id: "routes" }, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Use as"), h("th", {}, "Modified"))),
    h("tbody", {}, routes.map((r) => h("tr", {}, h("td", {}, h("a", { href: `#/routes/${encodeURIComponent(gw)}/${encodeURIComponent(r.id)}` }, r.name)),
      h("td", {}, h("code", {}, `"model": "dynamic/${r.name}"`)), h("td", {}, r.modified_at || ""))))))
    : h("p", { class: "empty panel" }, "No routes on this gateway: create one below, then send requests with \"model\": \"dynamic/NAME\"."));
  if (!canEdit()) return;
  const name = h("input", { id: "route-name", required: true, pattern: "[A-Za-z0-9_.-]{1,64}" });
  const editor = h("textarea", { class: "json", id: "route-json" }, JSON.stringify(EXAMPLE, null, 2));
  const error = h("pre", { class: "error", role: "alert", hidden: true });
  main.append(h("h2", {}, "Create a route"), h("form", { class: "panel", onsubmit: async (ev) => {
    ev.preventDefault();
    let elements;
    try { elements = JSON.parse(editor.value); } catch (e) { error.hidden = false; error.textContent = e.message; return; }
    try {
      const made = (await api("POST", v4(`gateways/${encodeURIComponent(gw)}/routes`), { name: name.value, elements })).result;
      location.hash = `#/routes/${encodeURIComponent(gw)}/${encodeURIComponent(made.id)}`;
    } catch (e) { error.hidden = false; error.textContent = e.message; }
  } }, h("label", {}, "Name ", name), editor, error, h("button", { class: "primary", type: "submit" }, "Create and deploy")));
}

/** A route of the config file: its graph and elements, nothing to edit. */
function configRoute(route) {
  const where = route.file ? ` from ${route.file}` : "";
  return h("section", { class: "panel config-route" }, h("h3", {}, route.name),
    h("p", { class: "muted" }, "Use it with ", h("code", {}, `"model": "dynamic/${route.name}"`), `; version ${route.version || "?"}${where}. Change it in the config file.`),
    drawGraph(route.elements), h("textarea", { class: "json", disabled: true, "aria-label": `${route.name} elements` }, JSON.stringify(route.elements, null, 2)));
}

/** Ids of `elements` that an error message names. */
function named(message, elements) {
  return new Set(elements.map((e) => e.id).filter((id) => id && new RegExp(`\\b${id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(message)));
}

export async function renderRoute(main, [gw, id]) {
  const base = `gateways/${encodeURIComponent(gw)}/routes/${encodeURIComponent(id)}`;
  const [route, versions, deployments] = await Promise.all([
    api("GET", v4(base)).then((r) => r.result),
    api("GET", v4(`${base}/versions?per_page=100`)).then((r) => r.data?.versions || r.result || []),
    api("GET", v4(`${base}/deployments?per_page=100`)).then((r) => r.data?.deployments || r.result || []),
  ]);
  const editable = canEdit();
  const graph = h("div", { class: "panel", id: "route-graph" }, drawGraph(route.elements || []));
  const editor = h("textarea", { class: "json", id: "route-json", disabled: !editable }, JSON.stringify(route.elements || [], null, 2));
  const error = h("div", { class: "error", role: "alert", id: "route-error" });
  const live = route.version?.version_id;
  const deploy = (version) => async () => {
    try {
      await api("POST", v4(`${base}/deployments`), { version_id: version });
      renderRoute(main, [gw, id]);
    } catch (e) { error.textContent = e.message; }
  };
  const versionRows = [...versions].reverse().map((v) => h("tr", { class: v.version_id === live ? "ok" : null },
    h("td", {}, h("code", {}, v.version_id)), h("td", {}, v.created_at || ""), h("td", {}, v.version_id === live ? "live" : ""),
    h("td", {}, editable && v.version_id !== live ? h("button", { type: "button", "data-version": v.version_id, onclick: deploy(v.version_id) },
      versions.findIndex((x) => x.version_id === v.version_id) < versions.findIndex((x) => x.version_id === live) ? "Roll back to this" : "Deploy") : "")));
  editor.addEventListener("input", () => {
    try { graph.replaceChildren(drawGraph(JSON.parse(editor.value))); error.textContent = ""; } catch (e) { error.textContent = `JSON: ${e.message}`; }
  });
  main.replaceChildren(h("p", {}, h("a", { href: "#/routes" }, "← Routes")), h("h1", {}, `Route ${route.name}`),
    h("p", { class: "muted" }, "Use it with ", h("code", {}, `"model": "dynamic/${route.name}"`), ` on gateway ${gw}.`), graph,
    h("section", { class: "panel" }, h("h2", {}, "Elements"), editor, error, editable ? h("div", { class: "toolbar" },
      h("button", { class: "primary", type: "button", id: "save-version", onclick: async () => {
        let elements;
        try { elements = JSON.parse(editor.value); } catch (e) { error.textContent = `JSON: ${e.message}`; return; }
        try {
          const made = (await api("POST", v4(`${base}/versions`), { elements })).result;
          error.replaceChildren(h("span", { class: "ok" }, `Version ${made.version_id} saved as a draft: deploy it below.`));
          setTimeout(() => renderRoute(main, [gw, id]), 0);
        } catch (e) {
          const bad = named(e.message, elements);
          graph.replaceChildren(drawGraph(elements, bad));
          error.replaceChildren(h("p", {}, e.message), bad.size ? h("p", {}, "At element ", [...bad].map((b) => h("code", {}, b)), ": outlined in the drawing.") : null);
        }
      } }, "Save as new version")) : h("p", { class: "muted" }, "A read token cannot change routes.")),
    h("section", { class: "panel" }, h("h2", {}, "Versions"), h("table", { id: "versions" }, h("thead", {}, h("tr", {}, ["Version", "Created", "", ""].map((c) => h("th", {}, c)))), h("tbody", {}, versionRows)),
      h("p", { class: "muted" }, `${deployments.length} deployments; deploying an older version is the roll back.`)));
}
