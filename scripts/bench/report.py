#!/usr/bin/env python3
"""Builds the summary table of a scripts/bench.sh run (stdlib only).

  report.py DIR

DIR holds the sluice-load JSON reports, named CASE-TARGET.json with CASE in throughput,
fixed, stream and TARGET in sluice, nginx, direct, and metrics.tsv (KEY<TAB>VALUE lines written
by bench.sh: machine facts, proxy CPU microseconds before/after each run, RSS in KiB).
Prints the table and writes DIR/summary.txt and DIR/summary.json. Exit status 0 even when a
run had errors: the table says so (errors column and the last line).
"""
import json
import os
import sys

TARGETS = ("sluice", "nginx", "direct")
PROXIES = ("sluice", "nginx")
# sluice with collect_logs = false, run in (a) only: the request log's cost.
NOLOG = "nolog"


def load(d):
    reports = {}
    for case in ("throughput", "fixed", "warmup-fixed", "stream"):
        for t in TARGETS + (NOLOG,):
            path = os.path.join(d, f"{case}-{t}.json")
            if os.path.exists(path):
                with open(path) as f:
                    reports[(case, t)] = json.load(f)
    metrics = {}
    with open(os.path.join(d, "metrics.tsv")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            metrics[key] = value
    return reports, metrics


def num(metrics, key):
    v = metrics.get(key)
    return float(v) if v not in (None, "") else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, digits):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:,.{digits}f}"


def main():
    d = sys.argv[1]
    reports, m = load(d)
    rows = []
    errors = {}

    def rep(case, t):
        return reports.get((case, t))

    def errs(case):
        out = {}
        for t in TARGETS:
            r = rep(case, t)
            out[t] = r["errors"]["total"] if r else None
        errors[case] = out
        return " ".join("-" if out[t] is None else str(out[t]) for t in TARGETS)

    def row(label, unit, values, digits, err="", ratios=("direct", "nginx")):
        rows.append({
            "metric": label,
            "unit": unit,
            **{t: values.get(t) for t in TARGETS},
            "sluice_over_direct": ratio(values.get("sluice"), values.get("direct"))
            if "direct" in ratios else None,
            "sluice_over_nginx": ratio(values.get("sluice"), values.get("nginx"))
            if "nginx" in ratios else None,
            "errors": err,
            "_digits": digits,
        })

    def from_reports(case, f):
        out = {}
        for t in TARGETS:
            r = rep(case, t)
            out[t] = f(r) if r else None
        return out

    def cpu_per_req(case, proxies=PROXIES):
        out = {}
        for t in proxies:
            before, after = num(m, f"cpu_before.{case}.{t}"), num(m, f"cpu_after.{case}.{t}")
            r = rep(case, t)
            if before is None or after is None or not r:
                out[t] = None
                continue
            done = r["ok"] + r["errors"]["total"]
            out[t] = (after - before) / done if done else None
        return out

    def cpu_busy(case):
        out = {}
        for t in PROXIES:
            before, after = num(m, f"cpu_before.{case}.{t}"), num(m, f"cpu_after.{case}.{t}")
            r = rep(case, t)
            out[t] = (after - before) / (r["elapsed_s"] * 1e6) * 100 if r and before is not None and after is not None else None
        return out

    def side_cpu(case, t, who):
        if who == "mock":
            b, a = num(m, f"mock_cpu_before.{case}.{t}"), num(m, f"mock_cpu_after.{case}.{t}")
            return a - b if a is not None and b is not None else None
        return num(m, f"load_cpu.{case}.{t}")

    def side_per_req(case, who):
        out = {}
        for t in TARGETS:
            r, c = rep(case, t), side_cpu(case, t, who)
            done = r["ok"] + r["errors"]["total"] if r else 0
            out[t] = c / done if c is not None and done else None
        return out

    def side_busy(case):
        out = {}
        cores = num(m, "rest_n") or 1
        for t in TARGETS:
            r = rep(case, t)
            c1, c2 = side_cpu(case, t, "mock"), side_cpu(case, t, "load")
            out[t] = (c1 + c2) / (r["elapsed_s"] * 1e6 * cores) * 100 if r and c1 is not None and c2 is not None else None
        return out

    ms = lambda s, k: (lambda r: r[s][k] / 1000 if r.get(s) else None)  # noqa: E731

    conc_a = m.get("conc_throughput", "?")
    row(f"(a) throughput, closed loop c={conc_a}", "req/s",
        from_reports("throughput", lambda r: r["achieved_rate"]), 0, errs("throughput"))
    row("(a) proxy CPU per request", "us/req", cpu_per_req("throughput"), 1, ratios=("nginx",))
    row("(a) proxy CPU busy", "% core", cpu_busy("throughput"), 0, ratios=("nginx",))
    row("(a) mock CPU per request", "us/req", side_per_req("throughput", "mock"), 1)
    row("(a) load generator CPU per request", "us/req", side_per_req("throughput", "load"), 1)
    row("(a) mock+load CPU busy", f"% of {m.get('rest_n', '1')} CPU", side_busy("throughput"), 0)
    rate = m.get("rate", "?")
    row(f"(b) fixed rate {rate} req/s: achieved", "req/s",
        from_reports("fixed", lambda r: r["achieved_rate"]), 0, errs("fixed"))
    for p in ("p50", "p99"):
        row(f"(b) latency {p}", "ms", from_reports("fixed", ms("latency_us", p)), 3)
    row(f"(b) warm-up run ({m.get('warmup', '?')} s, cold) p99", "ms",
        from_reports("warmup-fixed", ms("latency_us", "p99")), 3, errs("warmup-fixed"))
    conc_c = m.get("conc_stream", "?")
    row(f"(c) streaming c={conc_c}: streams", "/s",
        from_reports("stream", lambda r: r["achieved_rate"]), 1, errs("stream"))
    row("(c) chunks received", "/s", from_reports("stream", lambda r: r["chunks_per_s"]), 0)
    row("(c) proxy CPU per stream", "us/stream", cpu_per_req("stream"), 1, ratios=("nginx",))
    row("(c) proxy CPU busy", "% core", cpu_busy("stream"), 0, ratios=("nginx",))
    for p in ("p50", "p99"):
        row(f"(c) TTFT {p}", "ms", from_reports("stream", ms("ttft_us", p)), 3)
    for p in ("p50", "p99"):
        row(f"(c) inter-chunk gap {p}", "ms", from_reports("stream", ms("inter_chunk_us", p)), 3)
    row("(c) inter-chunk gap max", "ms", from_reports("stream", ms("inter_chunk_us", "max")), 3)
    for phase in ("idle", "peak", "after"):
        vals = {t: (num(m, f"rss_{phase}.{t}") or 0) / 1024 if m.get(f"rss_{phase}.{t}") else None
                for t in PROXIES}
        label = {"idle": "(d) RSS idle, before load",
                 "peak": "(d) RSS peak during (c)",
                 "after": "(d) RSS after load"}[phase]
        row(label, "MiB", vals, 1, ratios=("nginx",))

    total_errors = sum(v for e in errors.values() for v in e.values() if v)
    missing = [f"{c}-{t}" for c in ("throughput", "fixed", "stream") for t in TARGETS
               if (c, t) not in reports]

    lines = []
    lines.append("sluice benchmark: sluice vs nginx vs direct-to-mock")
    lines.append(f"machine: nproc={m.get('nproc')} cpu={m.get('cpu_model')!s} kernel={m.get('kernel')}")
    lines.append(f"pinning: proxy under test on CPU {m.get('cpus_proxy')}, mock and load generator on CPU {m.get('cpus_rest')}"
                 f" (mock --workers {m.get('mock_workers')}, load --workers {m.get('load_workers')})")
    lines.append(f"command: {m.get('cmdline')}")
    lines.append(f"durations: {m.get('duration')} s per run; streams: {m.get('stream_shape')}")
    lines.append(f"load average: start {m.get('load_start')} / end {m.get('load_end')}")
    lines.append("")
    head = ["case / metric", "unit", "sluice", "nginx", "direct", "sluice/direct", "sluice/nginx", "errors s n d"]
    body = []
    for r in rows:
        dg = r["_digits"]
        body.append([r["metric"], r["unit"], fmt(r["sluice"], dg), fmt(r["nginx"], dg), fmt(r["direct"], dg),
                     fmt(r["sluice_over_direct"], 2), fmt(r["sluice_over_nginx"], 2), r["errors"]])
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    align = ["<", "<", ">", ">", ">", ">", ">", "<"]

    def line(cells):
        return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths)).rstrip()

    lines.append(line(head))
    lines.append("  ".join("-" * w for w in widths))
    prev = None
    for cells in body:
        case = cells[0][:3]
        if prev is not None and case != prev:
            lines.append("")
        prev = case
        lines.append(line(cells))
    lines.append("")
    logged, unlogged = rep("throughput", "sluice"), rep("throughput", NOLOG)
    log_cost = None
    if logged and unlogged:
        cpu = cpu_per_req("throughput", ("sluice", NOLOG))
        log_cost = {
            "req_per_s": {"logs_on": logged["achieved_rate"], "logs_off": unlogged["achieved_rate"]},
            "cpu_us_per_req": {"logs_on": cpu["sluice"], "logs_off": cpu[NOLOG]},
        }
        lines.append(
            f"request log cost, (a): {fmt(logged['achieved_rate'], 0)} req/s with logs (payloads included) vs "
            f"{fmt(unlogged['achieved_rate'], 0)} with collect_logs = false "
            f"({fmt(ratio(logged['achieved_rate'], unlogged['achieved_rate']), 2)}x); proxy CPU "
            f"{fmt(cpu['sluice'], 1)} vs {fmt(cpu[NOLOG], 1)} us/req (one pair of runs: "
            f"scripts/bench_logging.sh alternates many)")
    streamed, unstreamed = rep("stream", "sluice"), rep("stream", NOLOG)
    if streamed and unstreamed:
        cpu = cpu_per_req("stream", ("sluice", NOLOG))
        log_cost = log_cost or {}
        log_cost["stream_cpu_us_per_stream"] = {"logs_on": cpu["sluice"], "logs_off": cpu[NOLOG]}
        lines.append(
            f"request log cost, (c): proxy CPU {fmt(cpu['sluice'], 1)} vs {fmt(cpu[NOLOG], 1)} us/stream "
            f"({fmt(ratio(cpu['sluice'], cpu[NOLOG]), 2)}x) with logs vs collect_logs = false")
    if missing:
        lines.append(f"MISSING runs: {', '.join(missing)}")
    if total_errors == 0 and not missing:
        lines.append(f"errors: 0 in every run ({len(reports)} load runs, warm-ups included, without a failed request)")
    else:
        lines.append(f"ERRORS: {total_errors} failed requests in total; see the JSON reports in this directory")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(d, "summary.txt"), "w") as f:
        f.write(text)
    summary = {
        "machine": {k: m.get(k) for k in ("nproc", "cpu_model", "kernel")},
        "pinning": {k: m.get(k) for k in ("cpus_proxy", "cpus_rest", "mock_workers", "load_workers")},
        "command": m.get("cmdline"),
        "duration_s": num(m, "duration"),
        "fixed_rate": num(m, "rate"),
        "load_average": {"start": m.get("load_start"), "end": m.get("load_end")},
        "rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
        "errors": errors,
        "missing": missing,
        "request_log_cost": log_cost,
        "all_ok": total_errors == 0 and not missing,
    }
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
