/* A small SVG time-series chart (no library): lines over time buckets with a y axis in
   the series' unit, time labels, a legend and a readout of the bucket under the pointer. */
import { h } from "./app.js";

const NS = "http://www.w3.org/2000/svg";
const W = 600, H = 170, L = 56, R = 8, T = 8, B = 22;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** A "nice" top of the y axis at or above `max`. */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function timeLabel(ms, spanMs) {
  const d = new Date(ms);
  if (spanMs > 2 * 86400000) return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/**
 * A chart panel. `xs`: bucket starts (ms); `series`: [{name, values}] (null: no value);
 * `format`: how a value is written (with its unit).
 */
export function lineChart({ title, xs, series, format }) {
  const all = series.flatMap((x) => x.values).filter((v) => v !== null && v !== undefined);
  const top = niceMax(Math.max(0, ...all));
  const n = xs.length;
  const x = (i) => L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1));
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img",
    "aria-label": `${title}: ${series.map((se) => `${se.name} total ${format(se.values.reduce((a, v) => a + (v || 0), 0))}`).join(", ")}` });
  const grid = s("g", { class: "grid" });
  const axis = s("g", { class: "axis" });
  for (const f of [0, 0.5, 1]) {
    grid.append(s("line", { x1: L, x2: W - R, y1: y(top * f), y2: y(top * f) }));
    axis.append(s("text", { x: L - 4, y: y(top * f) + 3, "text-anchor": "end" }, format(top * f)));
  }
  const span = n > 1 ? xs[n - 1] - xs[0] : 0;
  for (const i of n > 1 ? [0, Math.floor((n - 1) / 3), Math.floor((2 * (n - 1)) / 3), n - 1] : [0]) {
    if (xs[i] === undefined) continue;
    const anchor = i === 0 ? "start" : i === n - 1 ? "end" : "middle";
    axis.append(s("text", { x: x(i), y: H - 6, "text-anchor": anchor }, timeLabel(xs[i], span)));
  }
  svg.append(grid, axis);
  series.forEach((se, k) => {
    let d = "";
    let pen = false;
    se.values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    svg.append(s("path", { d, class: `s${k}`, fill: "none", "stroke-width": 2, "vector-effect": "non-scaling-stroke" }));
  });
  const cursor = s("line", { y1: T, y2: H - B, class: "s2", "stroke-dasharray": "3 3", visibility: "hidden" });
  svg.append(cursor);
  const readout = h("div", { class: "readout", "aria-live": "off" }, "\u00a0");
  svg.addEventListener("pointermove", (ev) => {
    const box = svg.getBoundingClientRect();
    const px = ((ev.clientX - box.left) / box.width) * W;
    const i = Math.max(0, Math.min(n - 1, Math.round(((px - L) / (W - L - R)) * (n - 1))));
    cursor.setAttribute("x1", x(i)); cursor.setAttribute("x2", x(i));
    cursor.setAttribute("visibility", "visible");
    readout.textContent = `${new Date(xs[i]).toLocaleString()} · ${series.map((se) => `${se.name} ${format(se.values[i] ?? null)}`).join(" · ")}`;
  });
  svg.addEventListener("pointerleave", () => cursor.setAttribute("visibility", "hidden"));
  const legend = h("div", { class: "legend" }, series.map((se, k) => h("span", {}, h("i", { class: `k${k}` }), se.name)));
  return h("figure", { class: "chart" }, h("h3", {}, title), svg, legend, readout);
}
