#!/usr/bin/env bash
# Two builds of sluice against each other: is a change a regression, or the machine's drift?
# Both gateways run at once (same config, the request log on), loaded in turn by short
# closed-loop runs, as scripts/bench_logging.sh does for the log's cost.
#
#   scripts/bench_ab.sh A_BIN B_BIN [--rounds N] [--duration S] [--stream | --bodies FILE]
#
#   A_BIN, B_BIN   two sluice binaries (e.g. a worktree at the base commit built with its own
#                  CARGO_TARGET_DIR, and this tree's target/release/sluice)
#   --rounds N     pairs of runs, one on each build (default 20; the order alternates)
#   --duration S   seconds per run (default 2)
#   --stream       streams instead: 64 at a time of 20 chunks 20 ms apart, as bench.sh (c)
#                  (the rate is then the mock's pace; compare the threads' time per stream)
#   --bodies FILE  request bodies, one JSON per line, as scripts/bench/bodies.py writes them
#                  (its *-gw.jsonl files; the mock then answers 1.5 KiB), instead of the
#                  ~120-byte chat body
#
# Each sluice runs --workers 1 on CPU 1 (BENCH_PROXY_CPUS); sluice-mock and sluice-load
# (--concurrency 32, from this tree's release build) on CPU 0 (BENCH_REST_CPUS). Only one
# gateway is loaded at a time, so the idle one costs nothing. Per run: req/s and the run time
# per request of the worker thread and of the log writer thread (schedstat).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { echo "usage: scripts/bench_ab.sh A_BIN B_BIN [--rounds N] [--duration S] [--stream | --bodies FILE]" >&2; exit 2; }
bin_a="$1"; bin_b="$2"; shift 2
rounds=20
duration=2
stream=0
bodies=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --duration) duration="${2:?--duration needs seconds}"; shift ;;
    --stream) stream=1 ;;
    --bodies) bodies="$(realpath "${2:?--bodies needs a file}")"; shift ;;
    *) echo "bench_ab.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
proxy_cpus="${BENCH_PROXY_CPUS:-1}"
rest_cpus="${BENCH_REST_CPUS:-0}"

cargo build --release -p sluice-loadtest --bins -q
bin="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$work"; }
trap cleanup EXIT
source scripts/lib/listening.sh

taskset -c "$rest_cpus" "$bin/sluice-mock" --listen 127.0.0.1:0 >"$work/mock.out" 2>&1 &
pids+=($!)
mock="$(listening "$work/mock.out" "${pids[0]}")"
printf '{"model":"mock/gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about load testing."}],"max_tokens":64}' >"$work/body.json"
declare -A addr gw
for side in a b; do
  mkdir -p "$work/$side"
  printf '[server]\nadmin_listen = ""\ndata_dir = "%s/%s/data"\n[provider.mock]\nbase_url = "http://%s/v1"\nkeys = { default = "k" }\n' \
    "$work" "$side" "$mock" >"$work/$side/sluice.toml"
  exe="$bin_a"; [ "$side" = b ] && exe="$bin_b"
  SLUICE_LOG=info taskset -c "$proxy_cpus" "$exe" serve --config "$work/$side/sluice.toml" \
    --listen 127.0.0.1:0 --workers 1 2>"$work/$side/sluice.err" &
  gw[$side]=$!
  pids+=($!)
  addr[$side]="$(listening "$work/$side/sluice.err" "${gw[$side]}")"
done

thread_us() { # SIDE THREAD -> run time in microseconds of that gateway's thread
  for t in /proc/"${gw[$1]}"/task/*; do
    if [ "$(cat "$t/comm")" = "$2" ]; then awk '{printf "%d", $1 / 1000}' "$t/schedstat"; return; fi
  done
  echo 0
}
shape=(--concurrency 32 --body "$work/body.json")
[ -n "$bodies" ] && shape=(--concurrency 32 --bodies "$bodies" --header "x-mock-body-bytes: 1500")
if [ "$stream" = 1 ]; then
  sed 's/}$/,"stream":true}/' "$work/body.json" >"$work/stream.json"
  shape=(--concurrency 64 --stream --expect-chunks 20 --body "$work/stream.json"
    --header "x-mock-chunks: 20" --header "x-mock-chunk-interval-ms: 20" --header "x-mock-ttft-ms: 0")
fi
run() { # SIDE SECONDS [JSON]
  taskset -c "$rest_cpus" "$bin/sluice-load" --url "http://${addr[$1]}/v1/chat/completions" \
    --duration "$2" "${shape[@]}" --quiet ${3:+--json "$3"} >/dev/null
}

run a 1 && run b 1 # warm-up
echo "build round req/s worker_us_per_req writer_us_per_req" >"$work/results"
for round in $(seq "$rounds"); do
  order="a b"; [ $((round % 2)) = 0 ] && order="b a"
  for s in $order; do
    worker0="$(thread_us "$s" sluice-w0)"; writer0="$(thread_us "$s" sluice-logdb)"
    run "$s" "$duration" "$work/run.json"
    worker1="$(thread_us "$s" sluice-w0)"; writer1="$(thread_us "$s" sluice-logdb)"
    python3 - "$work/run.json" "$s" "$round" "$((worker1 - worker0))" "$((writer1 - writer0))" \
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
col = lambda s, i: {r[1]: float(r[i]) for r in rows if r[0] == s}
med = lambda s, i: statistics.median(col(s, i).values())
ra, rb = col("a", 2), col("b", 2)
ratios = sorted(rb[n] / ra[n] for n in ra if n in rb)
q = lambda f: ratios[min(len(ratios) - 1, int(f * len(ratios)))]
for s in "ab":
    print(f"{s}: median {med(s, 2):,.0f} req/s, worker {med(s, 3):.2f} us/req, log writer {med(s, 4):.2f} us/req")
print(f"b/a throughput per pair: median {statistics.median(ratios):.3f}x (quartiles {q(0.25):.3f}x to {q(0.75):.3f}x)")
PY
