#!/usr/bin/env bash
# What the request log costs: one sluice with two gateways, "on" (logs with payloads, the
# default) and "off" (collect_logs = false), loaded in turn by short closed-loop runs.
#
#   scripts/bench_logging.sh [--rounds N] [--duration S] [--bodies FILE]
#
#   --rounds N     pairs of runs, one on each gateway (default 20; the order alternates)
#   --duration S   seconds per run (default 2)
#   --bodies FILE  request bodies, one JSON per line, as scripts/bench/bodies.py writes them
#                  (its *-gw.jsonl files; the mock then answers 1.5 KiB), instead of the
#                  ~120-byte chat body
#
# Same shape and pinning as scripts/bench.sh (a): sluice --workers 1 (its log writer thread
# included) on CPU 1, sluice-mock and sluice-load (--concurrency 32) on CPU 0; override with
# BENCH_PROXY_CPUS / BENCH_REST_CPUS. One process and short runs in turn, rather than a fresh
# gateway per run: this machine's speed drifts by more than the log costs within seconds,
# and the two runs of a pair are then as close in time as they can be. Per run: req/s and
# the run time per request of the worker thread and of the log writer thread (schedstat:
# exact, where tick-sampled utime/stime misplace a thread that wakes on a timer). The log
# grows over the whole benchmark, as it would in service.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=20
duration=2
bodies=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --duration) duration="${2:?--duration needs seconds}"; shift ;;
    --bodies) bodies="$(realpath "${2:?--bodies needs a file}")"; shift ;;
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
# Waits for them before removing: a gateway still writing its log would leave files behind.
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$work"; }
trap cleanup EXIT

source scripts/lib/listening.sh

taskset -c "$rest_cpus" "$bin/sluice-mock" --listen 127.0.0.1:0 >"$work/mock.out" 2>&1 &
pids+=($!)
mock="$(listening "$work/mock.out" "${pids[0]}")"
printf '{"model":"mock/gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about load testing."}],"max_tokens":64}' >"$work/body.json"
{
  printf '[server]\nadmin_listen = ""\ndata_dir = "%s/data"\n' "$work"
  printf '[provider.mock]\nbase_url = "http://%s/v1"\nkeys = { default = "k" }\n' "$mock"
  printf '[[gateway]]\nid = "on"\n[[gateway]]\nid = "off"\ncollect_logs = false\n'
} >"$work/sluice.toml"
SLUICE_LOG=info taskset -c "$proxy_cpus" "$bin/sluice" serve --config "$work/sluice.toml" \
  --listen 127.0.0.1:0 --workers 1 2>"$work/sluice.err" &
gw=$!
pids+=("$gw")
addr="$(listening "$work/sluice.err" "$gw")"

# Run time in microseconds of the gateway's thread named $1.
thread_us() {
  for t in /proc/"$gw"/task/*; do
    if [ "$(cat "$t/comm")" = "$1" ]; then awk '{printf "%d", $1 / 1000}' "$t/schedstat"; return; fi
  done
  echo 0
}
what=(--body "$work/body.json")
[ -n "$bodies" ] && what=(--bodies "$bodies" --header "x-mock-body-bytes: 1500")
run() { # GATEWAY SECONDS [JSON]
  taskset -c "$rest_cpus" "$bin/sluice-load" --url "http://$addr/v1/acct/$1/compat/chat/completions" \
    --concurrency 32 --duration "$2" "${what[@]}" --quiet ${3:+--json "$3"} >/dev/null
}

run on 1 && run off 1 # warm-up: connections, pools, the log file
echo "gateway round req/s worker_us_per_req writer_us_per_req" >"$work/results"
for round in $(seq "$rounds"); do
  order="on off"; [ $((round % 2)) = 0 ] && order="off on"
  for g in $order; do
    worker0="$(thread_us sluice-w0)"; writer0="$(thread_us sluice-logdb)"
    run "$g" "$duration" "$work/run.json"
    worker1="$(thread_us sluice-w0)"; writer1="$(thread_us sluice-logdb)"
    python3 - "$work/run.json" "$g" "$round" "$((worker1 - worker0))" "$((writer1 - writer0))" \
      >>"$work/results" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
ok = max(run["ok"], 1)
print(sys.argv[2], sys.argv[3], round(run["achieved_rate"]), round(int(sys.argv[4]) / ok, 2), round(int(sys.argv[5]) / ok, 2))
PY
    tail -1 "$work/results"
  done
done

python3 - "$work/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
col = lambda g, i: {r[1]: float(r[i]) for r in rows if r[0] == g}
rate_on, rate_off = col("on", 2), col("off", 2)
med = lambda g, i: statistics.median(col(g, i).values())
ratios = sorted(rate_on[n] / rate_off[n] for n in rate_on if n in rate_off)
q = lambda f: ratios[min(len(ratios) - 1, int(f * len(ratios)))]
print(f"\n{len(ratios)} pairs, medians: logs off {med('off', 2):,.0f} req/s, worker {med('off', 3):.2f} us/req; "
      f"logs on {med('on', 2):,.0f} req/s, worker {med('on', 3):.2f} + log writer {med('on', 4):.2f} us/req")
print(f"throughput with logs, per pair: median {statistics.median(ratios):.3f}x of without "
      f"(quartiles {q(0.25):.3f}x to {q(0.75):.3f}x)")
PY
