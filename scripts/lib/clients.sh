# Sourced by the client test scripts: the Python venv and the Node packages they drive
# sluice with, installed once and reused (SLUICE_VENV, SLUICE_NODE name where).
#
#   source scripts/lib/clients.sh
#   python_with "openai, anthropic" "openai>=1.40" "anthropic>=0.40"   # sets $venv
#   node_with_ai_sdk                                                     # sets $node_dir

# A venv where `import MODULES` works, pip-installing SPECS when it does not.
python_with() {
  local modules="$1"; shift
  venv="${SLUICE_VENV:-.venv}"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c "import $modules" 2>/dev/null || "$venv/bin/pip" install --quiet "$@"
}

# The OpenAI SDK and the Vercel AI SDK for Node. Node 20 runs these majors (the next
# ones need Node 22).
node_with_ai_sdk() {
  node_dir="${SLUICE_NODE:-.node}"
  mkdir -p "$node_dir"
  [ -f "$node_dir/package.json" ] || echo '{"private": true, "type": "module"}' >"$node_dir/package.json"
  local missing=0 package
  for package in openai ai @ai-sdk/openai zod; do
    [ -d "$node_dir/node_modules/$package" ] || missing=1
  done
  [ "$missing" = 0 ] ||
    (cd "$node_dir" && npm install --silent --no-audit --no-fund "openai@6" "ai@6" "@ai-sdk/openai@3" "zod@4")
}
