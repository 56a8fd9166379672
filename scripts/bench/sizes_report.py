#!/usr/bin/env python3
"""The real-sizes table of a scripts/bench.sh run (stdlib only).

  sizes_report.py DIR

Reads DIR/sizes-WORKLOAD-SIZE-TARGET.json (sluice-load reports), DIR/metrics.tsv (proxy
CPU before/after each run, the log's bytes before/after each sluice run) and
DIR/bodies.txt (the bodies' mean size and, for conversations, new bytes per request).
Prints, per workload and size: req/s and proxy CPU per request of nginx, sluice with the
log off and on, the ratios, and the log's bytes per logged request (logs.db, its WAL and
any body files: the data directory's growth) against the bytes new in each exchange.
Writes DIR/sizes.txt and DIR/sizes.json.
"""
import json
import os
import sys

TARGETS = ("nginx", "nolog", "sluice")
# The answer's bytes: x-mock-body-bytes 1500 in bench.sh is its content, which sluice-mock
# wraps in a chat.completion object of 1,756 bytes.
RESPONSE_BYTES = 1756


def main():
    d = sys.argv[1]
    metrics = {}
    with open(os.path.join(d, "metrics.tsv")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            metrics[key] = value
    bodies = {}
    with open(os.path.join(d, "bodies.txt")) as f:
        for line in f:
            name, *fields = line.split()
            bodies[name] = {k: float(v) for k, v in (x.split("=") for x in fields)}
    rows = []
    for workload in ("conv", "distinct"):
        for size in ("1k", "32k", "200k"):
            case = f"sizes-{workload}-{size}"
            row = {"workload": workload, "size": size, "mean_body": bodies[f"{workload}-{size}"]["mean"]}
            for t in TARGETS:
                path = os.path.join(d, f"{case}-{t}.json")
                if not os.path.exists(path):
                    continue
                r = json.load(open(path))
                done = r["ok"] + r["errors"]["total"]
                before = metrics.get(f"cpu_before.{case}.{t}")
                after = metrics.get(f"cpu_after.{case}.{t}")
                cpu = (float(after) - float(before)) / done if done and before and after else None
                row[t] = {"rps": r["achieved_rate"], "cpu_us": cpu, "errors": r["errors"]["total"], "ok": r["ok"]}
            # Cumulative over the run's cases: this case's are the difference.
            for key in ("written", "dropped"):
                row[f"log_{key}"] = metrics.get(f"log_{key}.{case}")
            grown = metrics.get(f"log_bytes.{case}")
            if grown is not None and "sluice" in row and row["sluice"]["ok"]:
                row["log_bytes_per_request"] = float(grown) / row["sluice"]["ok"]
                new = bodies[f"{workload}-{size}"].get("new_per_request", row["mean_body"])
                row["new_bytes_per_request"] = new + RESPONSE_BYTES
            rows.append(row)

    def cell(row, t, key, digits):
        v = row.get(t, {}).get(key)
        return "-" if v is None else f"{v:,.{digits}f}"

    def ratio(row, a, b, key):
        x, y = row.get(a, {}).get(key), row.get(b, {}).get(key)
        return "-" if not x or not y else f"{x / y:.2f}x"

    # The counters are the server's totals: a case's drops are its total less the one
    # before it in the order bench.sh ran them (size by size, conversations first).
    by_case = {(r["workload"], r["size"]): r for r in rows}
    last = 0.0
    for size in ("1k", "32k", "200k"):
        for workload in ("conv", "distinct"):
            row = by_case.get((workload, size))
            total = row.get("log_dropped") if row else None
            if total not in (None, ""):
                row["dropped"] = float(total) - last
                last = float(total)

    def dropped_in(row):
        return "-" if row.get("dropped") is None else f"{row['dropped']:,.0f}"

    lines = [
        "Real sizes: closed loop, 32 connections, proxy alone on its CPU; CPU = proxy CPU time per request",
        f"{'workload':<9}{'size':>6}{'body B':>9} | {'nginx/s':>9}{'off/s':>9}{'on/s':>9} | "
        f"{'nginx us':>9}{'off us':>9}{'on us':>9} | {'off/ngx':>8}{'on/ngx':>8}{'on/off':>8} | "
        f"{'log B/req':>10}{'new B/req':>10}{'growth':>7}{'dropped':>9}",
    ]
    for row in rows:
        grown = row.get("log_bytes_per_request")
        new = row.get("new_bytes_per_request")
        lines.append(
            f"{row['workload']:<9}{row['size']:>6}{row['mean_body']:>9,.0f} | "
            f"{cell(row, 'nginx', 'rps', 0):>9}{cell(row, 'nolog', 'rps', 0):>9}{cell(row, 'sluice', 'rps', 0):>9} | "
            f"{cell(row, 'nginx', 'cpu_us', 1):>9}{cell(row, 'nolog', 'cpu_us', 1):>9}{cell(row, 'sluice', 'cpu_us', 1):>9} | "
            f"{ratio(row, 'nolog', 'nginx', 'cpu_us'):>8}{ratio(row, 'sluice', 'nginx', 'cpu_us'):>8}"
            f"{ratio(row, 'sluice', 'nolog', 'cpu_us'):>8} | "
            f"{'-' if grown is None else f'{grown:,.0f}':>10}{'-' if new is None else f'{new:,.0f}':>10}"
            f"{'-' if not grown or not new else f'{grown / new:.2f}x':>7}"
            f"{dropped_in(row):>9}"
        )
    errors = sum(row.get(t, {}).get("errors", 0) for row in rows for t in TARGETS)
    lines.append(f"failed requests: {errors}")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(d, "sizes.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(d, "sizes.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
