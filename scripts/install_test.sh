#!/usr/bin/env bash
# The README's install steps: `cargo install --path .` into a temporary root (a debug
# build, reusing the test build), the installed binary's `check` of contrib/sluice.toml,
# and contrib/sluice.service checked by `systemd-analyze verify` where systemd is present.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

cargo install --quiet --path . --debug --locked --root "$root"
bin="$root/bin/sluice"
"$bin" check --config contrib/sluice.toml >/dev/null
echo "ok   cargo install --path . ($("$bin" --version 2>/dev/null || echo sluice)); it checks contrib/sluice.toml"

if command -v systemd-analyze >/dev/null; then
  # The unit as installed, but naming the binary just installed (verify wants it to exist).
  mkdir -p "$root/unit"
  sed "s|/usr/local/bin/sluice|$bin|" contrib/sluice.service >"$root/unit/sluice.service"
  out="$(systemd-analyze verify "$root/unit/sluice.service" 2>&1)" || { echo "FAIL systemd-analyze verify"; echo "$out"; exit 1; }
  if [ -n "$out" ]; then echo "FAIL systemd-analyze verify warns:"; echo "$out"; exit 1; fi
  echo "ok   systemd-analyze verify contrib/sluice.service"
else
  echo "skip systemd-analyze verify (no systemd-analyze here)"
fi
