#!/usr/bin/env bash
# A fuzz campaign on the committed corpus: runs each target (default: all) for
# SECONDS on corpus/<target>/ (which grows with what the fuzzer finds), keeps
# each log in LOGDIR, and prints a markdown table of the runs for
# fuzz/README.md and results/fuzz/. Crash artifacts go to fuzz/artifacts/<target>/.
#
#   bash fuzz/campaign.sh SECONDS LOGDIR [TARGET...]
#
# Afterwards: bash fuzz/cmin.sh, then commit the corpus.
set -euo pipefail
secs="${1:?usage: campaign.sh SECONDS LOGDIR [TARGET...]}"
logs="${2:?usage: campaign.sh SECONDS LOGDIR [TARGET...]}"
shift 2
cd "$(dirname "$0")/.."
mkdir -p "$logs"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    read -r -a targets <<<"$(cargo +nightly fuzz list | tr '\n' ' ')"
fi
cargo +nightly fuzz build >/dev/null
rows=()
for t in "${targets[@]}"; do
    log="$logs/$t.log"
    status=0
    cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -timeout=20 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    execs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -n 1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    files=$(find "corpus/$t" -type f | wc -l)
    bytes=$(cat "corpus/$t"/* | wc -c)
    crash="none"
    [ "$status" -eq 0 ] || crash="CRASH (exit $status, see $log)"
    rows+=("| \`$t\` | $secs | ${execs:-?} | ${cov:-?} | ${ft:-?} | $files files, $bytes bytes | $crash |")
    echo "campaign: $t done: ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, $crash" >&2
done
echo "| target | seconds | executions | cov | ft | corpus after | crashes |"
echo "|---|---:|---:|---:|---:|---|---|"
printf '%s\n' "${rows[@]}"
