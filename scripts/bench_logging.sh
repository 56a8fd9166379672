#!/usr/bin/env bash
# What the request log costs: sluice with logs on (payloads included, the default) against the
# same gateway with collect_logs = false, in alternating closed-loop runs, medians reported.
#
#   scripts/bench_logging.sh [--rounds N] [--duration S]
#
#   --rounds N     pairs of runs, logs off then on (default 6)
#   --duration S   seconds per run (default 3)
#
# Same shape and pinning as scripts/bench.sh (a): sluice --workers 1 (its log writer thread
# included) on CPU 1, sluice-mock and sluice-load (--concurrency 32) on CPU 0; override with
# BENCH_PROXY_CPUS / BENCH_REST_CPUS. A fresh gateway and an empty log per run. Each line:
# req/s, the gateway's CPU per request (every thread's run time from /proc/PID/task/*/schedstat,
# exact, where the tick-sampled utime/stime misplace a thread that wakes on a timer), the log
# writer thread's share of it, and the rows in the log afterwards. Alternating many short runs and
# taking medians is what makes a 10% question answerable on a noisy shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=6
duration=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --duration) duration="${2:?--duration needs seconds}"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench_logging.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
proxy_cpus="${BENCH_PROXY_CPUS:-1}"
rest_cpus="${BENCH_REST_CPUS:-0}"

cargo build --release --workspace --bins -q
bin="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

listening() { # FILE PID -> the address a tool printed in its "listening on" line
  for _ in $(seq 200); do
    local addr
    addr="$(grep -o 'listening on [0-9.:]*' "$1" 2>/dev/null | head -1 | cut -d' ' -f3)"
    [ -n "$addr" ] && { echo "$addr"; return 0; }
    kill -0 "$2" 2>/dev/null || { cat "$1" >&2; return 1; }
    sleep 0.05
  done
  return 1
}
# Run time in microseconds of a process (every thread) or of one thread's task directory.
cpu_us() {
  if [ -d "$1/task" ]; then cat "$1"/task/*/schedstat; else cat "$1/schedstat"; fi \
    | awk '{ns += $1} END {printf "%d", ns / 1000}'
}

taskset -c "$rest_cpus" "$bin/sluice-mock" --listen 127.0.0.1:0 >"$work/mock.out" 2>&1 &
pids+=($!)
mock="$(listening "$work/mock.out" "${pids[0]}")"
printf '{"model":"mock/gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about load testing."}],"max_tokens":64}' >"$work/body.json"
for mode in on off; do
  {
    printf '[server]\nadmin_listen = ""\ndata_dir = "%s/data"\n' "$work"
    printf '[provider.mock]\nbase_url = "http://%s/v1"\nkeys = { default = "k" }\n' "$mock"
    [ "$mode" = off ] && printf '[[gateway]]\nid = "default"\ncollect_logs = false\n'
  } >"$work/$mode.toml"
done

echo "mode round req/s cpu_us_per_req writer_us_per_req rows_logged" >"$work/results"
for round in $(seq "$rounds"); do
  for mode in off on; do
    rm -rf "$work/data"
    SLUICE_LOG=info taskset -c "$proxy_cpus" "$bin/sluice" serve --config "$work/$mode.toml" \
      --listen 127.0.0.1:0 --workers 1 2>"$work/sluice.err" &
    gw=$!
    addr="$(listening "$work/sluice.err" "$gw")"
    before="$(cpu_us /proc/$gw)"
    taskset -c "$rest_cpus" "$bin/sluice-load" --url "http://$addr/v1/chat/completions" \
      --concurrency 32 --duration "$duration" --body "$work/body.json" --quiet --json "$work/run.json" >/dev/null
    after="$(cpu_us /proc/$gw)"
    writer=0
    for t in /proc/$gw/task/*; do
      if [ "$(cat "$t/comm")" = sluice-logdb ]; then writer="$(cpu_us "$t")"; fi
    done
    kill "$gw"; wait "$gw" 2>/dev/null || true
    python3 - "$work/run.json" "$mode" "$round" "$((after - before))" "$writer" "$work/data/logs.db" \
      >>"$work/results" <<'PY'
import json, os, sqlite3, sys
run = json.load(open(sys.argv[1]))
mode, rnd, busy_us, writer_us, db = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
ok = run["ok"]
rows = sqlite3.connect(db).execute("SELECT COUNT(*) FROM logs").fetchone()[0] if os.path.exists(db) else 0
per_req = lambda us: us / ok if ok else 0
print(mode, rnd, round(run["achieved_rate"]), round(per_req(busy_us), 2), round(per_req(writer_us), 2), rows)
PY
    tail -1 "$work/results"
  done
done

python3 - "$work/results" <<'PY'
import statistics, sys
runs = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
med = lambda mode, i: statistics.median(float(r[i]) for r in runs if r[0] == mode)
on, off = med("on", 2), med("off", 2)
print(f"\nmedians over {len(runs) // 2} rounds: logs off {off:,.0f} req/s, {med('off', 3):.2f} us/req; "
      f"logs on {on:,.0f} req/s, {med('on', 3):.2f} us/req (log writer {med('on', 4):.2f})")
print(f"throughput with logs: {on / off:.3f}x of without ({(on / off - 1) * 100:+.1f}%)")
# Each round's two runs are adjacent in time: their ratio drifts less with the machine.
rate = {(r[0], r[1]): float(r[2]) for r in runs}
pairs = sorted(rate[("on", n)] / rate[("off", n)] for (m, n) in rate if m == "on" and ("off", n) in rate)
print(f"per round: median {statistics.median(pairs):.3f}x, range {pairs[0]:.3f}x to {pairs[-1]:.3f}x")
PY
