#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer): builds the targets of fuzz/ and runs
# each for SECONDS (default 60), one after another, then prints per target the
# executions, the seconds, whether it crashed and the corpus size. Exits non-zero if
# any target crashed; the crashing input is under fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# FUZZ_SANITIZER=address|none (default address) picks the sanitizer; FUZZ_ARGS adds
# libFuzzer flags. Only stable Rust is installed, so RUSTC_BOOTSTRAP=1 is set here
# (and only here): cargo fuzz needs nightly-only flags (-Zsanitizer, -Cpasses=sancov).
# See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-60}
shift || true
sanitizer=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd fuzz
target_dir_args=()
if [[ -n ${CARGO_TARGET_DIR:-} ]]; then
    target_dir_args=(--target-dir "$CARGO_TARGET_DIR/fuzz")
fi

if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# Seed corpora: the hand-written seeds of fuzz/seeds/ and the recorded fixtures, copied
# at run time (never over what libFuzzer already has), so the repository holds no copies.
fixtures=$root/tests/fixtures
seed() {
    local target=$1
    shift
    mkdir -p "corpus/$target"
    local f
    for f in "$@"; do
        [[ -f $f ]] || continue
        local name
        name=$(basename "$(dirname "$f")")-$(basename "$f")
        cp -n "$f" "corpus/$target/seed-$name"
    done
}
seed_all() {
    shopt -s nullglob
    seed request_head seeds/request_head/*
    seed response_head seeds/response_head/*
    seed chunked seeds/chunked/*
    seed json_model seeds/json_model/* "$fixtures"/*/*.json "$fixtures"/translate/*/*.json
    seed sse "$fixtures"/*/*.sse "$fixtures"/translate/*/*.sse
    seed stream_anthropic_to_openai "$fixtures"/anthropic/*.sse "$fixtures"/translate/*.anthropic.sse \
        "$fixtures"/translate/*/*.anthropic.sse
    seed stream_openai_to_anthropic "$fixtures"/openai/*.sse "$fixtures"/translate/*.openai.sse \
        "$fixtures"/translate/*/*.openai.sse
    local t
    for t in stream_gemini_to_openai stream_gemini_to_anthropic; do
        seed "$t" "$fixtures"/gemini/*.sse "$fixtures"/translate/google/*.gemini.sse
    done
    shopt -u nullglob
}
seed_all

echo "== building ${#targets[@]} targets (sanitizer: $sanitizer)"
cargo fuzz build -s "$sanitizer" "${target_dir_args[@]}"

mkdir -p logs
summary=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    log=logs/$t.log
    echo "== $t: ${seconds}s"
    start=$(date +%s)
    rc=0
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    cargo fuzz run -s "$sanitizer" "${target_dir_args[@]}" "$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=30 ${FUZZ_ARGS:-} \
        >"$log" 2>&1 || rc=$?
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    files=$(find "corpus/$t" -type f | wc -l)
    bytes=$(du -sk "corpus/$t" | cut -f1)
    if ((rc == 0)); then
        verdict="ok"
    else
        verdict="CRASH (rc $rc; see fuzz/$log and fuzz/artifacts/$t/)"
        failed=1
        grep -E "panicked at|ERROR: (AddressSanitizer|libFuzzer)|Test unit written" "$log" | head -n 5 || true
    fi
    summary+=("$(printf '%-28s %12s execs %6ss  corpus %5s files %6s KiB  %s' \
        "$t" "${execs:-?}" "$took" "$files" "$bytes" "$verdict")")
    echo "${summary[-1]}"
done

echo "== summary (${seconds}s per target, $(date -u +%Y-%m-%dT%H:%MZ))"
printf '%s\n' "${summary[@]}"
exit "$failed"
