#!/usr/bin/env bash
# Fuzz smoke test (CI calls it): builds every fuzz target once, runs each for
# N seconds (argument, default 30) on a COPY of its committed corpus, and exits
# non-zero if any target crashes. The repository is never modified: corpus
# growth and crash artifacts go to a temporary directory, and a crash's input
# is printed in hex so the CI log alone reproduces it.
#
#   bash fuzz/smoke.sh [SECONDS]
#
# Needs a nightly toolchain (cargo-fuzz builds with sanitizers); installs
# cargo-fuzz if it is missing. 9 targets x 30 s plus the build fit well within
# 15 minutes on 2 cores.
set -euo pipefail
secs="${1:-30}"
case "$secs" in '' | *[!0-9]*) echo "smoke: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "smoke: no nightly toolchain; cargo fuzz needs one (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

start=$(date +%s)
echo "smoke: building every target"
cargo +nightly fuzz build
targets=$(cargo +nightly fuzz list)

work=$(mktemp -d "${TMPDIR:-/tmp}/keyhier-fuzz-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=()
for t in $targets; do
    if [ ! -d "corpus/$t" ]; then
        echo "smoke: $t has no committed corpus (corpus/$t/)" >&2
        failed+=("$t (no corpus)")
        continue
    fi
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    cp -R "corpus/$t/." "$work/$t/corpus/"
    echo "smoke: $t for ${secs}s on $(find "$work/$t/corpus" -type f | wc -l) seeds"
    log="$work/$t/log"
    # -artifact_prefix after cargo-fuzz's own: libFuzzer takes the last one.
    if cargo +nightly fuzz run "$t" "$work/$t/corpus" -- \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
        -artifact_prefix="$work/$t/artifacts/" -print_final_stats=1 >"$log" 2>&1; then
        grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' "$log" | sed "s/^/  $t: /" || true
    else
        failed+=("$t")
        echo "smoke: $t CRASHED; the end of its log:" >&2
        tail -n 60 "$log" >&2
        for a in "$work/$t/artifacts"/*; do
            [ -f "$a" ] || continue
            echo "smoke: reproducer $(basename "$a") ($(wc -c <"$a") bytes), hex:" >&2
            head -c 4096 "$a" | od -An -tx1 -v >&2
        done
    fi
done

echo "smoke: $(($(date +%s) - start)) s in all"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "smoke: FAILED: ${failed[*]}" >&2
    echo "smoke: save each reproducer as corpus/<target>/regression-<cause> and list it in corpus/REGRESSIONS.md" >&2
    exit 1
fi
echo "smoke: every target ran ${secs}s without a crash"
