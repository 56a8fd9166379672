#!/usr/bin/env bash
# Drives a real gateway with the official OpenAI and Anthropic Python SDKs: sluice-mock
# upstream on loopback (speaking OpenAI, Anthropic and Gemini by path), sluice in front
# of it, tests/sdk/openai_sdk.py and tests/sdk/anthropic_sdk.py as the clients.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

venv="${SLUICE_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import openai, anthropic" 2>/dev/null ||
  "$venv/bin/pip" install --quiet "openai>=1.40" "anthropic>=0.40"

cargo build --workspace --bins --quiet
work="$(mktemp -d)"
cleanup() {
  [ -n "${mock_pid:-}" ] && kill "$mock_pid" 2>/dev/null || true
  [ -n "${gw_pid:-}" ] && kill "$gw_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$target/debug/sluice-mock" --listen 127.0.0.1:0 >"$work/mock.out" &
mock_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/mock.out" 2>/dev/null && break; sleep 0.05; done
mock_addr="$(sed -n 's/^listening on //p' "$work/mock.out" | head -1)"
[ -n "$mock_addr" ] || { echo "sluice-mock did not start"; exit 1; }

cat >"$work/sluice.toml" <<TOML
[server]
admin_listen = "127.0.0.1:0"
data_dir = "$work/data"

[provider.mock]
base_url = "http://$mock_addr/v1"

[provider.anthropic]
base_url = "http://$mock_addr"

[provider.google-ai-studio]
base_url = "http://$mock_addr"
TOML
"$target/debug/sluice" serve --config "$work/sluice.toml" --listen 127.0.0.1:0 --workers 2 2>"$work/sluice.err" &
gw_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/sluice.err" 2>/dev/null && break; sleep 0.05; done
gw_addr="$(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' "$work/sluice.err" | head -1)"
[ -n "$gw_addr" ] || { echo "sluice did not start"; cat "$work/sluice.err"; exit 1; }

status=0
"$venv/bin/python" tests/sdk/openai_sdk.py "http://$gw_addr" || status=1
"$venv/bin/python" tests/sdk/anthropic_sdk.py "http://$gw_addr" || status=1
exit "$status"
