#!/usr/bin/env bash
# Runs every example in the README (curl, the OpenAI SDK for Python and Node, the
# Anthropic SDK, LangChain, the Vercel AI SDK) as written, against a real gateway whose
# providers are sluice-mock; each must exit 0 and print what a user would expect.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

source scripts/lib/clients.sh
python_with "openai, anthropic, langchain_openai, cloudflare" \
  "openai>=1.40" "anthropic>=0.40" "langchain-openai>=0.3" "cloudflare>=5.9"
node_with_ai_sdk

cargo build --workspace --bins --quiet
work="$(mktemp -d)"
source scripts/lib/gateway.sh
start_mock "$work"

# The README's providers, all answered by the mock; stored keys, so the examples'
# dummy client keys are never used.
cat >"$work/sluice.toml" <<TOML
[server]
admin_listen = "127.0.0.1:0"
data_dir = "$work/data"

[provider.openai]
base_url = "http://$mock_addr/v1"
keys = { default = "sk-example-openai" }

[provider.groq]
base_url = "http://$mock_addr/v1"
keys = { default = "gsk-example-groq" }

[provider.anthropic]
base_url = "http://$mock_addr"
keys = { default = "sk-ant-example" }
TOML
start_gateway "$work" "$work/sluice.toml"

# What each example's output must hold.
declare -A expect=(
  [curl-chat]='"object":"chat.completion"'
  [python-openai]='tok'
  [node-openai]='tok'
  [python-anthropic]='openai/gpt-4o-mini tok'
  [python-langchain]='tok'
  [node-vercel-ai]='tok'
  [python-responses]='tok'
  [curl-logs]='sluice_cost_usd_total{'
  [python-cloudflare]='team-a stores a key ending -key'
  [curl-manage]='"id":"team-a"'
)

status=0
ran=0
while read -r name file; do
  case "$file" in
    *.sh) cmd=(bash "$file") ;;
    *.py) cmd=("$venv/bin/python" "$file") ;;
    *.mjs) cp "$file" "$node_dir/" && cmd=(node "$node_dir/$(basename "$file")") ;;
  esac
  pattern="${expect[$name]:-}"
  [ -n "$pattern" ] || { echo "FAIL $name: no expectation in examples_test.sh"; status=1; continue; }
  ran=$((ran + 1))
  rc=0
  output="$(timeout 60 "${cmd[@]}" 2>&1)" || rc=$?
  if [ "$rc" -eq 0 ] && grep -qF -- "$pattern" <<<"$output"; then
    echo "ok   $name: $(head -c 100 <<<"$output" | head -1)"
  else
    echo "FAIL $name (exit $rc, expected output with: $pattern)"
    sed 's/^/     /' <<<"$output"
    status=1
  fi
done < <("$venv/bin/python" scripts/lib/readme_examples.py README.md "$work" "$gw_addr" "$admin_addr")

echo "$ran examples run"
[ "$ran" -eq "${#expect[@]}" ] || { echo "FAIL: the README has $ran examples, examples_test.sh expects ${#expect[@]}"; status=1; }
exit "$status"
