#!/usr/bin/env bash
# Drives a real gateway with the official OpenAI, Anthropic and Cloudflare Python SDKs and
# the Vercel AI SDK: sluice-mock upstream on loopback (speaking OpenAI Chat and Responses,
# Anthropic and Gemini by path), sluice in front of it, tests/sdk/*.py and vercel_ai.mjs as
# the clients (cloudflare_sdk.py against the management API, before and after a restart on
# the same data_dir).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

source scripts/lib/clients.sh
python_with "openai, anthropic, cloudflare" "openai>=1.40" "anthropic>=0.40" "cloudflare>=5.9"
node_with_ai_sdk

cargo build --workspace --bins --quiet
work="$(mktemp -d)"
source scripts/lib/gateway.sh
start_mock "$work"

cat >"$work/sluice.toml" <<TOML
[server]
admin_listen = "127.0.0.1:0"
data_dir = "$work/data"
admin_token = "sdk-edit-token"
admin_tokens = [{ token = "sdk-read-token", role = "read" }]

[provider.mock]
base_url = "http://$mock_addr/v1"

# Serves the Responses API itself (the mock does): passed through.
[provider.openai]
base_url = "http://$mock_addr/v1"
keys = { default = "sk-sdk-openai" }

[price.mock]
"gpt-4o-mini" = { in = 1e-4, out = 1e-4 }

[provider.anthropic]
base_url = "http://$mock_addr"

[provider.google-ai-studio]
base_url = "http://$mock_addr"
TOML
start_gateway "$work" "$work/sluice.toml"

status=0
"$venv/bin/python" tests/sdk/openai_sdk.py "http://$gw_addr" || status=1
"$venv/bin/python" tests/sdk/anthropic_sdk.py "http://$gw_addr" || status=1
"$venv/bin/python" tests/sdk/openai_responses.py "http://$gw_addr" || status=1
cp tests/sdk/vercel_ai.mjs "$node_dir/" && node "$node_dir/vercel_ai.mjs" "http://$gw_addr" || status=1
tokens=(sdk-edit-token sdk-read-token)
export SLUICE_SDK_STATE="$work"
"$venv/bin/python" tests/sdk/cloudflare_sdk.py manage "http://$gw_addr" "http://$admin_addr" "${tokens[@]}" || status=1
kill "$gw_pid" && wait "$gw_pid" || true
start_gateway "$work" "$work/sluice.toml"
"$venv/bin/python" tests/sdk/cloudflare_sdk.py restarted "http://$gw_addr" "http://$admin_addr" "${tokens[@]}" || status=1
# Stored keys never reach a log line, and are sealed at rest.
if grep -q "sk-byok-stored\|sk-kept-across" "$work/sluice.err" "$work"/data/manage.db*; then
  echo "FAIL a stored key is in the log or in manage.db in clear"; status=1
fi
exit "$status"
