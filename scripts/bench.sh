#!/usr/bin/env bash
# Benchmarks sluice against nginx (plain reverse proxy) and a direct-to-mock baseline, in one run.
#
#   scripts/bench.sh [--quick] [--duration S] [--out DIR]
#
#   --quick        3 s per load run instead of 10 (about three minutes once built)
#   --duration S   seconds per load run (overrides --quick's 3 and the default 10)
#   --out DIR      where to write the results (default results/<UTC timestamp>)
#   --no-sizes     skip (e), the real-size runs
#
# What it does (see DESIGN.md section 5 "Measuring"):
#   1. cargo build --release --workspace --bins (honours CARGO_TARGET_DIR, default target/);
#   2. installs nginx with apt-get if it is missing (never starts the system service) and runs its
#      own nginx from a generated config (scripts/bench/nginx.conf.in) in a temp dir;
#   3. starts sluice-mock, sluice (--workers 1) and nginx (worker_processes 1) on loopback, on free
#      ports (the tools' "listening on" lines; a port-0 probe for nginx);
#   4. for each target (direct-to-mock, nginx, sluice): (a) closed-loop maximum throughput (and
#      for a second sluice whose gateway has collect_logs = false, the cost of the request log;
#      that second sluice runs (c) too),
#      (b) open-loop latency at a fixed rate all three sustain (30% of the slowest target's (a), 64 connections,
#      rounded down to two significant figures; after an unmeasured 1-2 s warm-up), (c) 64 concurrent streams of 20 chunks 20 ms apart (TTFT, inter-chunk gap),
#      (d) the proxy's RSS idle / peak during (c) / after; and the proxy's CPU time per request in
#      (a) and (c) (utime+stime from /proc/PID/stat, nginx master+worker summed);
#      (e) closed-loop throughput at ~1, ~32 and ~200 KiB bodies, conversations and distinct
#      (scripts/bench/bodies.py), for nginx and sluice with the log off and on, with the
#      log's bytes per request (scripts/bench/sizes_report.py's table);
#   5. prints one table (scripts/bench/report.py) and writes every sluice-load --json report,
#      summary.txt, summary.json and latency.svg (scripts/bench/plot.py) to the results directory.
#
# CPU layout (taskset): the proxy under test (sluice and nginx, both idle while the other is
# measured) gets CPU 1 to itself; the mock and the load generator share every other CPU (on a
# 2-core machine: CPU 0). With more than 2 CPUs the mock and the load generator each get
# --workers equal to half of the remaining CPUs (at least 1). On a 1-CPU machine everything
# shares CPU 0 and the figures say little. Override with BENCH_PROXY_CPUS / BENCH_REST_CPUS
# (taskset lists, e.g. BENCH_PROXY_CPUS=2 BENCH_REST_CPUS=0,1,3-7).
#
# Every process started here is killed on exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
cmdline="$0${*:+ $*}"

quick=0
duration=""
sizes=1
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --duration) duration="${2:?--duration needs seconds}"; shift ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    --no-sizes) sizes=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$duration" ]; then
  if [ "$quick" = 1 ]; then duration=3; else duration=10; fi
fi
[[ "$duration" =~ ^[0-9]+(\.[0-9]+)?$ ]] && [ "$duration" != 0 ] \
  || { echo "bench.sh: --duration wants a positive number of seconds, not '$duration'" >&2; exit 2; }

# Load shapes.
conc_throughput=32
conc_stream=64
stream_chunks=20
stream_interval_ms=20

die() { echo "bench.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

for tool in python3 taskset; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
helpers="$root/scripts/bench"
proc() { python3 "$helpers/proc.py" "$@"; }

# ---------------------------------------------------------------- 1. build
target="${CARGO_TARGET_DIR:-target}"
log "cargo build --release --workspace --bins (target dir: $target)"
cargo build --release --workspace --bins --quiet || die "cargo build failed"
bin="$target/release"
for b in sluice sluice-mock sluice-load; do
  [ -x "$bin/$b" ] || die "missing $bin/$b after the build"
done

# ---------------------------------------------------------------- 2. nginx
find_nginx() {
  command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true
}
nginx_bin="$(find_nginx)"
if [ -z "$nginx_bin" ]; then
  log "installing nginx (apt-get; the system service is not started)"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # Debian's postinst starts the service through invoke-rc.d unless policy-rc.d says no (101).
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  install_ok=1
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx >/dev/null; } || install_ok=0
  [ "$made_policy" = 1 ] && $sudo rm -f /usr/sbin/policy-rc.d
  [ "$install_ok" = 1 ] || die "apt-get install nginx failed"
  nginx_bin="$(find_nginx)"
  [ -n "$nginx_bin" ] || die "nginx installed but not found on PATH or in /usr/sbin"
fi

# ---------------------------------------------------------------- CPU layout
ncpu="$(nproc)"
if [ -n "${BENCH_PROXY_CPUS:-}" ] || [ -n "${BENCH_REST_CPUS:-}" ]; then
  proxy_cpus="${BENCH_PROXY_CPUS:?set both BENCH_PROXY_CPUS and BENCH_REST_CPUS}"
  rest_cpus="${BENCH_REST_CPUS:?set both BENCH_PROXY_CPUS and BENCH_REST_CPUS}"
  rest_n="$(proc count-cpus "$rest_cpus")" || die "bad BENCH_REST_CPUS '$rest_cpus'"
elif [ "$ncpu" -ge 3 ]; then
  proxy_cpus=1; rest_cpus="0,2-$((ncpu - 1))"; rest_n=$((ncpu - 1))
elif [ "$ncpu" = 2 ]; then
  proxy_cpus=1; rest_cpus=0; rest_n=1
else
  echo "bench.sh: warning: 1 CPU, everything shares CPU 0" >&2
  proxy_cpus=0; rest_cpus=0; rest_n=1
fi
side_workers=$(( rest_n / 2 )); [ "$side_workers" -ge 1 ] || side_workers=1
mock_workers="$side_workers"
load_workers="$side_workers"

# ---------------------------------------------------------------- results, temp dir, cleanup
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
res="${out:-results/$stamp}"
mkdir -p "$res"
res="$(cd "$res" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")"
pids=()
sampler_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ "$rc" != 0 ]; then
    for f in mock.out mock.err sluice.err nginx-error.log; do
      if [ -s "$work/$f" ]; then echo "--- $f (last lines)" >&2; tail -n 20 "$work/$f" >&2; fi
    done
    echo "bench.sh: failed (exit $rc); partial results in $res" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

metrics="$res/metrics.tsv"
: >"$metrics"
put() { printf '%s\t%s\n' "$1" "$2" >>"$metrics"; }

cpu_model="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)"
put nproc "$ncpu"
put cpu_model "${cpu_model:-unknown}"
put kernel "$(uname -sr)"
put cmdline "$cmdline"
put duration "$duration"
put cpus_proxy "$proxy_cpus"
put cpus_rest "$rest_cpus"
put mock_workers "$mock_workers"
put load_workers "$load_workers"
put rest_n "$rest_n"
put conc_throughput "$conc_throughput"
put conc_stream "$conc_stream"
put stream_shape "c=$conc_stream, $stream_chunks chunks at $stream_interval_ms ms, x-mock-ttft-ms 0"
put load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
log "machine: $ncpu CPUs (${cpu_model:-unknown}), $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# Waits for "listening on ADDR" in FILE while PID lives; prints ADDR.
wait_listening() {
  local name="$1" file="$2" pid="$3" addr=""
  for _ in $(seq 200); do
    addr="$(grep -o 'listening on [^ ,]*' "$file" 2>/dev/null | head -1 | sed 's/^listening on //')" || true
    [ -n "$addr" ] && { echo "$addr"; return 0; }
    kill -0 "$pid" 2>/dev/null || die "$name exited during startup (see its output below)"
    sleep 0.05
  done
  die "$name did not print 'listening on' within 10 s"
}

# ---------------------------------------------------------------- 3. start mock, sluice, nginx
taskset -c "$rest_cpus" "$bin/sluice-mock" --listen 127.0.0.1:0 --workers "$mock_workers" \
  >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!; pids+=("$mock_pid")
mock_addr="$(wait_listening sluice-mock "$work/mock.out" "$mock_pid")"

cat >"$work/sluice.toml" <<TOML
[server]
admin_listen = "127.0.0.1:0"
data_dir = "$work/sluice-data"

[provider.mock]
base_url = "http://$mock_addr/v1"
keys = { default = "k" }
TOML
# The same gateway without its request log: (a) and (c), for what logging costs.
sed -e "s|sluice-data|sluice-nolog-data|" -e 's|^admin_listen = .*|admin_listen = ""|' "$work/sluice.toml" >"$work/sluice-nolog.toml"
printf '\n[[gateway]]\nid = "default"\ncollect_logs = false\n' >>"$work/sluice-nolog.toml"
# The logged gateway keeps everything the run writes (its default log_max_bytes, 1 GiB,
# would start deleting during (e) and hide what the log grows by).
printf '\n[[gateway]]\nid = "default"\nlog_max_bytes = 68719476736\n' >>"$work/sluice.toml"
# info: the startup line ("listening on ADDR"), no per-request lines (SPEC section 1).
SLUICE_LOG=info taskset -c "$proxy_cpus" "$bin/sluice" serve --config "$work/sluice.toml" \
  --listen 127.0.0.1:0 --workers 1 2>"$work/sluice.err" &
sluice_pid=$!; pids+=("$sluice_pid")
sluice_addr="$(wait_listening sluice "$work/sluice.err" "$sluice_pid")"
# The logged sluice's admin listener: (e) reads its log counters (written, dropped).
sluice_admin="$(grep -o 'admin 127[^ ]*' "$work/sluice.err" | head -1 | sed 's/^admin //')"
SLUICE_LOG=info taskset -c "$proxy_cpus" "$bin/sluice" serve --config "$work/sluice-nolog.toml" \
  --listen 127.0.0.1:0 --workers 1 2>"$work/sluice-nolog.err" &
nolog_pid=$!; pids+=("$nolog_pid")
nolog_addr="$(wait_listening sluice "$work/sluice-nolog.err" "$nolog_pid")"

nginx_port="$(proc free-port)"
mkdir -p "$work/nginx"
sed -e "s|@TMP@|$work/nginx|g" -e "s|@LISTEN@|127.0.0.1:$nginx_port|g" \
    -e "s|@UPSTREAM@|$mock_addr|g" "$helpers/nginx.conf.in" >"$work/nginx/nginx.conf"
"$nginx_bin" -t -q -c "$work/nginx/nginx.conf" -p "$work/nginx" -e "$work/nginx/nginx-error.log" \
  2>"$work/nginx-error.log" || die "nginx -t rejected the generated config ($work/nginx/nginx.conf)"
taskset -c "$proxy_cpus" "$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" \
  -e "$work/nginx/nginx-error.log" 2>>"$work/nginx-error.log" &
nginx_pid=$!; pids+=("$nginx_pid")
proc wait-port "127.0.0.1:$nginx_port" 10 || die "nginx did not start listening on 127.0.0.1:$nginx_port"
nginx_addr="127.0.0.1:$nginx_port"
nginx_pids() {
  kill -0 "$nginx_pid" 2>/dev/null || die "nginx (pid $nginx_pid) is gone"
  echo "$nginx_pid" $(proc children "$nginx_pid")
}
[ "$(nginx_pids | wc -w)" -ge 2 ] || { sleep 0.5; [ "$(nginx_pids | wc -w)" -ge 2 ] || die "nginx has no worker process"; }

log "mock $mock_addr (CPU $rest_cpus), sluice $sluice_addr (pid $sluice_pid, CPU $proxy_cpus), nginx $nginx_addr (pids $(nginx_pids | tr '\n' ' '), CPU $proxy_cpus)"

declare -A url
url[direct]="http://$mock_addr/v1/chat/completions"
url[nginx]="http://$nginx_addr/v1/chat/completions"
url[sluice]="http://$sluice_addr/v1/chat/completions"
url[nolog]="http://$nolog_addr/v1/chat/completions"

# Request bodies: the gateway needs the provider prefix; the mock and nginx get the model as the
# gateway would send it upstream, so all three targets answer the same bytes.
body_for() { # TARGET stream(0|1)
  local model="gpt-4o-mini" stream=""
  [ "$1" = sluice ] || [ "$1" = nolog ] && model="mock/gpt-4o-mini"
  [ "$2" = 1 ] && stream=',"stream":true'
  printf '{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about load testing."}],"max_tokens":64%s}' "$model" "$stream"
}
for t in direct nginx sluice nolog; do
  body_for "$t" 0 >"$work/body-$t.json"
  body_for "$t" 1 >"$work/body-$t-stream.json"
done

proxy_pids() { # TARGET -> the PIDs whose CPU/RSS count as the proxy's
  case "$1" in
    sluice) kill -0 "$sluice_pid" 2>/dev/null || die "sluice (pid $sluice_pid) is gone"; echo "$sluice_pid" ;;
    nolog) kill -0 "$nolog_pid" 2>/dev/null || die "sluice without logs (pid $nolog_pid) is gone"; echo "$nolog_pid" ;;
    nginx) nginx_pids ;;
    *) echo "" ;;
  esac
}

# load NAME TARGET ARGS... : one sluice-load run pinned to the load CPUs, JSON to $res/NAME.json.
load() {
  local name="$1" t="$2"; shift 2
  local json="$res/$name.json"
  if ! proc rusage "$work/$name.cpu" taskset -c "$rest_cpus" "$bin/sluice-load" --url "${url[$t]}" --workers "$load_workers" \
      --quiet --json "$json" "$@" >"$work/$name.out" 2>&1; then
    cat "$work/$name.out" >&2
    die "sluice-load failed for $name (target $t)"
  fi
  [ -s "$json" ] || die "sluice-load wrote no report for $name"
}
field() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"r": r}))' "$@"; }

# Smoke test: one request through each target, so a broken route fails here with a clear message.
for t in direct nginx sluice nolog; do
  load "smoke-$t" "$t" --concurrency 1 --requests 1 --body "$work/body-$t.json"
  [ "$(field "$res/smoke-$t.json" 'r["ok"]')" = 1 ] || {
    cat "$work/smoke-$t.out" >&2; die "a single request through $t (${url[$t]}) did not succeed"; }
  rm -f "$res/smoke-$t.json"
done

# RSS before any load.
for t in sluice nginx; do put "rss_idle.$t" "$(proc rss $(proxy_pids "$t"))"; done

# measured CASE TARGET ARGS... : a load run with the proxy's CPU time before and after.
measured() {
  local case="$1" t="$2"; shift 2
  local before after errors
  if [ "$t" != direct ]; then before="$(proc cpu $(proxy_pids "$t"))"; fi
  kill -0 "$mock_pid" 2>/dev/null || die "sluice-mock (pid $mock_pid) is gone"
  put "mock_cpu_before.$case.$t" "$(proc cpu "$mock_pid")"
  load "$case-$t" "$t" "$@"
  put "mock_cpu_after.$case.$t" "$(proc cpu "$mock_pid")"
  put "load_cpu.$case.$t" "$(cat "$work/$case-$t.cpu")"
  if [ "$t" != direct ]; then
    after="$(proc cpu $(proxy_pids "$t"))"
    put "cpu_before.$case.$t" "$before"
    put "cpu_after.$case.$t" "$after"
  fi
  errors="$(field "$res/$case-$t.json" 'r["errors"]["total"]')"
  log "$case $t: $(field "$res/$case-$t.json" '"%d ok, %d errors, %.0f/s achieved" % (r["ok"], r["errors"]["total"], r["achieved_rate"])')"
  [ "$errors" = 0 ] || echo "bench.sh: warning: $case $t had $errors failed requests" >&2
}

# ---------------------------------------------------------------- 4a. maximum throughput
# nolog right before sluice: the two runs the logging figure compares are adjacent in time.
for t in direct nginx nolog sluice; do
  log "(a) throughput $t: --concurrency $conc_throughput --duration $duration"
  measured throughput "$t" --concurrency "$conc_throughput" --duration "$duration" \
    --body "$work/body-$t.json"
done

# ---------------------------------------------------------------- 4b. fixed-rate latency
rate="$(python3 - "$res" <<'PY'
import json, math, sys
rates = [json.load(open(f"{sys.argv[1]}/throughput-{t}.json"))["achieved_rate"] for t in ("direct", "nginx", "sluice")]
# 30% of the slowest maximum: a rate every target serves without queueing, so the
# percentiles show each one's own latency, not a backlog.
half = max(min(rates) * 0.3, 1.0)
# Round down to two significant figures.
step = 10 ** max(int(math.floor(math.log10(half))) - 1, 0)
print(int(half // step * step))
PY
)"
put rate "$rate"
# Each target first gets an unmeasured warm-up at the same rate (kept as warmup-fixed-TARGET.json,
# its p99 shown as the "cold" row): the first run of ~rate/10 fresh connections against a proxy
# grows its upstream pool and buffers, and that start-up tail would otherwise dominate the p99.
warmup="$(python3 -c 'import sys; print(1 if float(sys.argv[1]) < 10 else 2)' "$duration")"
put warmup "$warmup"
for t in direct nginx sluice; do
  log "(b) fixed rate $t: warm-up --rate $rate --duration $warmup, then --duration $duration"
  # 64 connections, as an application's client pool would hold (the generator's default of
  # rate/10 opens thousands, which measures connection churn rather than latency).
  load "warmup-fixed-$t" "$t" --rate "$rate" --connections 64 --duration "$warmup" --body "$work/body-$t.json"
  measured fixed "$t" --rate "$rate" --connections 64 --duration "$duration" --body "$work/body-$t.json"
done

# ---------------------------------------------------------------- 4c/d. streaming, RSS
stream_headers=(--header "x-mock-chunks: $stream_chunks" --header "x-mock-chunk-interval-ms: $stream_interval_ms"
                --header "x-mock-ttft-ms: 0")
# nolog right before sluice again: what the request log costs a stream.
for t in direct nginx nolog sluice; do
  log "(c) streaming $t: --stream --concurrency $conc_stream --duration $duration"
  if [ "$t" != direct ] && [ "$t" != nolog ]; then
    python3 "$helpers/proc.py" sample "$work/peak-$t" $(proxy_pids "$t") &
    sampler_pid=$!
  fi
  # --expect-chunks: every stream must bring tok0..tok19 in order (no lost or reordered
  # content); any other stream counts as an error (corrupt_stream) in the table.
  measured stream "$t" --stream --concurrency "$conc_stream" --duration "$duration" \
    --expect-chunks "$stream_chunks" --body "$work/body-$t-stream.json" "${stream_headers[@]}"
  if [ "$t" != direct ] && [ "$t" != nolog ]; then
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
    put "rss_peak.$t" "$(cat "$work/peak-$t")"
    sleep 1
    put "rss_after.$t" "$(proc rss $(proxy_pids "$t"))"
  fi
done

# ---------------------------------------------------------------- 4e. real sizes
# Closed-loop throughput at ~1, ~32 and ~200 KiB bodies (scripts/bench/bodies.py): the
# conversations workload (each request repeats its conversation's previous one plus a
# turn) and the distinct one (no two requests share content); the mock answers ~1.5 KiB.
# For sluice with the log on, the data directory's growth is the log's bytes.
if [ "$sizes" = 1 ]; then
  python3 "$helpers/bodies.py" "$work/bodies" >"$res/bodies.txt"
  data_bytes() { du -sb "$work/sluice-data" | cut -f1; }
  for size in 1k 32k 200k; do
    for workload in conv distinct; do
      for t in nginx nolog sluice; do
        side=up; { [ "$t" = sluice ] || [ "$t" = nolog ]; } && side=gw
        log "(e) $workload bodies of $size, $t: --concurrency $conc_throughput --duration $duration"
        [ "$t" = sluice ] && put "log_bytes_before.sizes-$workload-$size" "$(data_bytes)"
        measured "sizes-$workload-$size" "$t" --concurrency "$conc_throughput" --duration "$duration" \
          --bodies "$work/bodies/$workload-$size-$side.jsonl" --header "x-mock-body-bytes: 1500"
        if [ "$t" = sluice ]; then
          # The log writer may still be working through its queue: wait until the data
          # directory stops growing, then count its bytes and the CPU it took (the
          # later cpu_after line wins in the report).
          last=-1
          for _ in $(seq 40); do
            sleep 0.5
            now="$(data_bytes)"
            [ "$now" = "$last" ] && break
            last="$now"
          done
          before="$(sed -n "s/^log_bytes_before.sizes-$workload-$size\t//p" "$metrics")"
          put "log_bytes.sizes-$workload-$size" "$(( $(data_bytes) - before ))"
          put "cpu_after.sizes-$workload-$size.$t" "$(proc cpu $(proxy_pids "$t"))"
          counters="$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
            "http://$sluice_admin/metrics" | grep -E '^sluice_log_entries_(written|dropped)_total ' || true)"
          put "log_written.sizes-$workload-$size" "$(awk '/_written_total/ {print $2}' <<<"$counters")"
          put "log_dropped.sizes-$workload-$size" "$(awk '/_dropped_total/ {print $2}' <<<"$counters")"
        fi
      done
    done
  done
fi

put load_end "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- 5/6. table, files
for f in mock.err sluice.err nginx-error.log; do
  if [ -s "$work/$f" ]; then cp "$work/$f" "$res/$f"; fi
done
cp "$work/nginx/nginx.conf" "$res/nginx.conf"
cp "$work/sluice.toml" "$res/sluice.toml"
cp "$work/sluice-nolog.toml" "$res/sluice-nolog.toml"
echo
python3 "$helpers/report.py" "$res"
python3 "$helpers/plot.py" "$res" "$res/latency.svg"
if [ "$sizes" = 1 ]; then echo; python3 "$helpers/sizes_report.py" "$res"; fi
echo
echo "results: $res (sluice-load reports CASE-TARGET.json, summary.txt, summary.json, latency.svg)"
