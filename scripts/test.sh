#!/usr/bin/env bash
# The whole test suite: the layering check (scripts/check_layers.sh), every cargo test on the io_uring driver and again on epoll,
# then the official OpenAI and Anthropic Python SDKs against a real gateway and the mock,
# the dashboard in headless Chromium,
# the README's examples, and its install steps.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== layering (no import cycle between src/ modules, nothing imports server)"
scripts/check_layers.sh
cargo build --workspace --bins
echo "== cargo test (io_uring)"
cargo test --workspace
echo "== cargo test (epoll: MONOIO_FORCE_LEGACY_DRIVER=1)"
MONOIO_FORCE_LEGACY_DRIVER=1 cargo test --workspace
echo "== OpenAI and Anthropic Python SDKs"
scripts/sdk_test.sh
echo "== the dashboard in headless Chromium"
scripts/dashboard_test.sh
echo "== the README's examples (curl, Python, Node, Anthropic SDK, LangChain, Vercel AI SDK)"
scripts/examples_test.sh
echo "== cargo install and the systemd unit"
scripts/install_test.sh
