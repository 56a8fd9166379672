# Sourced by the client test scripts: starts sluice-mock and a sluice in front of it on
# loopback (port 0), sets mock_addr, gw_addr and admin_addr, and stops both on exit.
#
#   source scripts/lib/gateway.sh
#   start_mock "$work"                      # sets mock_addr
#   start_gateway "$work" "$config_file"    # sets gw_addr and admin_addr
#
# Needs target (the cargo target dir) and work (a temp dir it may remove) set.

cleanup_gateway() {
  [ -n "${mock_pid:-}" ] && kill "$mock_pid" 2>/dev/null || true
  [ -n "${gw_pid:-}" ] && kill "$gw_pid" 2>/dev/null || true
  [ -n "${work:-}" ] && rm -rf "$work"
}
trap cleanup_gateway EXIT

# wait_for_line FILE PATTERN: until FILE holds a line matching PATTERN (10 s at most).
wait_for_line() {
  for _ in $(seq 200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

start_mock() {
  "$target/debug/sluice-mock" --listen 127.0.0.1:0 >"$1/mock.out" &
  mock_pid=$!
  wait_for_line "$1/mock.out" "listening on" || { echo "sluice-mock did not start"; exit 1; }
  mock_addr="$(sed -n 's/^listening on //p' "$1/mock.out" | head -1)"
}

start_gateway() {
  "$target/debug/sluice" serve --config "$2" --listen 127.0.0.1:0 --workers 2 2>"$1/sluice.err" &
  gw_pid=$!
  wait_for_line "$1/sluice.err" "listening on" || { echo "sluice did not start"; cat "$1/sluice.err"; exit 1; }
  gw_addr="$(sed -n 's/.*listening on \([^ ,;]*\).*/\1/p' "$1/sluice.err" | head -1)"
  admin_addr="$(sed -n 's/.*; admin \([0-9.:]*\).*/\1/p' "$1/sluice.err" | head -1)"
}
