#!/usr/bin/env bash
# Drives the admin dashboard in headless Chromium (Debian's chromium, Playwright from PyPI):
# sluice-mock upstream on loopback, sluice in front of it, tests/dashboard/browser.py as the
# user. Its screenshots go to a temp dir; SLUICE_SCREENSHOTS=docs/img makes the README's.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
source scripts/lib/clients.sh
python_with "playwright, openai" "playwright>=1.40" "openai>=1.40"

cargo build --workspace --bins --quiet
work="$(mktemp -d)"
source scripts/lib/gateway.sh
start_mock "$work"

cat >"$work/sluice.toml" <<TOML
[server]
admin_listen = "127.0.0.1:0"
data_dir = "$work/data"
admin_token = "dash-edit-token"
admin_tokens = [{ token = "dash-read-token", role = "read" }]

[provider.mock]
base_url = "http://$mock_addr/v1"

[price.mock]
"gpt-4o-mini" = { in = 1e-4, out = 2e-4 }

# A gateway of the config file, with a route: shown read-only.
[[gateway]]
id = "filed"
[[gateway.route]]
name = "cheap"
file = "$work/cheap-route.json"
TOML
cat >"$work/cheap-route.json" <<'JSON'
{"elements": [
  {"id": "start", "type": "start", "outputs": {"next": {"elementId": "m"}}},
  {"id": "m", "type": "model", "properties": {"provider": "mock", "model": "gpt-4o-mini"},
   "outputs": {"success": {"elementId": "end"}, "fallback": {"elementId": "end"}}},
  {"id": "end", "type": "end"}]}
JSON
start_gateway "$work" "$work/sluice.toml"

shots="${SLUICE_SCREENSHOTS:-$work/shots}"
mkdir -p "$shots"
"$venv/bin/python" tests/dashboard/browser.py "http://$gw_addr" "http://$admin_addr" \
  dash-edit-token dash-read-token "$(command -v chromium)" "$shots"
