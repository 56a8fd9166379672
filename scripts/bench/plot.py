#!/usr/bin/env python3
"""Writes an SVG of latency percentiles for a scripts/bench.sh run (stdlib only).

  plot.py DIR OUT.svg

Two panels of grouped bars (p50, p90, p99, p99.9; one bar per target): the fixed-rate
non-streaming latency (fixed-TARGET.json) and the streaming time to first token
(stream-TARGET.json). Milliseconds on a log scale, each value printed above its bar.
"""
import json
import math
import os
import sys
from xml.sax.saxutils import escape

TARGETS = (("sluice", "#d9480f"), ("nginx", "#2b8a3e"), ("direct", "#1c7ed6"))
PCTS = (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p999", "p99.9"))


def panel(out, x0, y0, w, h, title, series):
    """series: {target: {pct: ms}}"""
    values = [v for s in series.values() for v in s.values() if v]
    # Log scale, whole decades: percentiles of one run can span 1 ms to 1 s.
    lo = math.floor(math.log10(min(values + [1.0])) - 0.5)
    hi = math.ceil(math.log10(max(values + [10.0 ** (lo + 1)])))
    if hi <= lo:
        hi = lo + 1
    left, bottom, top = 60, 40, 40
    pw, ph = w - left - 20, h - bottom - top
    ox, oy = x0 + left, y0 + top + ph

    def height(v):
        return ph * (math.log10(max(v, 10.0 ** lo)) - lo) / (hi - lo)

    out.append(f'<text x="{x0 + w / 2}" y="{y0 + 22}" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>')
    for e in range(lo, hi + 1):
        y = oy - height(10.0 ** e)
        out.append(f'<line x1="{ox}" y1="{y:.1f}" x2="{ox + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{ox - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{10.0 ** e:g}</text>')
    out.append(f'<text x="{x0 + 14}" y="{oy - ph / 2}" font-size="12" transform="rotate(-90 {x0 + 14} {oy - ph / 2})" text-anchor="middle">ms (log scale)</text>')
    out.append(f'<line x1="{ox}" y1="{oy}" x2="{ox + pw}" y2="{oy}" stroke="#333"/>')
    group = pw / len(PCTS)
    bar = group * 0.8 / len(TARGETS)
    for gi, (key, label) in enumerate(PCTS):
        gx = ox + gi * group + group * 0.1
        out.append(f'<text x="{ox + gi * group + group / 2:.1f}" y="{oy + 18}" text-anchor="middle" font-size="12">{label}</text>')
        for ti, (t, color) in enumerate(TARGETS):
            v = series.get(t, {}).get(key)
            if v is None:
                continue
            bh = height(v)
            x = gx + ti * bar
            out.append(f'<rect x="{x:.1f}" y="{oy - bh:.1f}" width="{bar - 2:.1f}" height="{bh:.1f}" fill="{color}"><title>{t} {label}: {v:.3f} ms</title></rect>')
            out.append(f'<text x="{x + (bar - 2) / 2:.1f}" y="{oy - bh - 3:.1f}" text-anchor="middle" font-size="9">{v:.3g}</text>')


def main():
    d, out_path = sys.argv[1], sys.argv[2]

    def series(case, field):
        s = {}
        for t, _ in TARGETS:
            path = os.path.join(d, f"{case}-{t}.json")
            if not os.path.exists(path):
                continue
            with open(path) as f:
                r = json.load(f)
            if r.get(field):
                s[t] = {k: r[field][k] / 1000 for k, _ in PCTS}
        return s

    rate = ""
    try:
        with open(os.path.join(d, "metrics.tsv")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("\t")
                if k == "rate":
                    rate = f" at {v} req/s"
    except OSError:
        pass
    W, H = 1000, 420
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H + 30}" viewBox="0 0 {W} {H + 30}" font-family="sans-serif">',
           f'<rect width="{W}" height="{H + 30}" fill="white"/>']
    panel(out, 0, 0, W / 2, H, f"Non-streaming latency, open loop{rate}", series("fixed", "latency_us"))
    panel(out, W / 2, 0, W / 2, H, "Streaming: time to first token", series("stream", "ttft_us"))
    lx = W / 2 - 150
    for i, (t, color) in enumerate(TARGETS):
        out.append(f'<rect x="{lx + i * 110}" y="{H + 8}" width="14" height="14" fill="{color}"/>')
        out.append(f'<text x="{lx + i * 110 + 20}" y="{H + 20}" font-size="13">{t}</text>')
    out.append("</svg>")
    with open(out_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
