# Sourced by the benchmark scripts: the address a tool printed in its "listening on" line.
#
#   source scripts/lib/listening.sh
#   addr="$(listening FILE PID)"    # 10 s at most; fails (printing FILE) if PID exits first

listening() {
  for _ in $(seq 200); do
    local addr
    addr="$(grep -o 'listening on [0-9.:]*' "$1" 2>/dev/null | head -1 | cut -d' ' -f3)"
    [ -n "$addr" ] && { echo "$addr"; return 0; }
    kill -0 "$2" 2>/dev/null || { cat "$1" >&2; return 1; }
    sleep 0.05
  done
  return 1
}
