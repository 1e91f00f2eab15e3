#!/usr/bin/env bash
# Minimises the committed corpus of the given targets (default: all) with
# `cargo fuzz cmin`, keeping the seeds' descriptive names.
#
#   bash fuzz/cmin.sh [TARGET...]
#
# cmin keeps the inputs that add coverage and names them by SHA-1. This script
# puts back the name each kept input had; inputs the fuzzer found (named by
# SHA-1 already) become `found-<first 16 hex digits>`. `regression-*` files are
# moved aside first and restored afterwards whatever their coverage: they stay
# committed for as long as corpus/REGRESSIONS.md lists them.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    read -r -a targets <<<"$(cargo +nightly fuzz list | tr '\n' ' ')"
fi
for t in "${targets[@]}"; do
    dir="corpus/$t"
    [ -d "$dir" ] || { echo "cmin: no $dir" >&2; exit 1; }
    aside=$(mktemp -d)
    names=$(mktemp)
    for f in "$dir"/*; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        case "$name" in
            regression-*) mv "$f" "$aside/" ;;
            *) echo "$(sha1sum <"$f" | cut -d' ' -f1) $name" >>"$names" ;;
        esac
    done
    before=$(find "$dir" -type f | wc -l)
    cargo +nightly fuzz cmin "$t" "$dir" >"$aside/.log" 2>&1 || { tail -n 30 "$aside/.log" >&2; exit 1; }
    for f in "$dir"/*; do
        [ -f "$f" ] || continue
        sum=$(sha1sum <"$f" | cut -d' ' -f1)
        orig=$(awk -v s="$sum" '$1 == s { print $2; exit }' "$names")
        if [[ -z "$orig" || "$orig" =~ ^[0-9a-f]{40}$ ]]; then new="found-${sum:0:16}"; else new="$orig"; fi
        [ "$(basename "$f")" = "$new" ] || mv "$f" "$dir/$new"
    done
    mv "$aside"/regression-* "$dir/" 2>/dev/null || true
    rm -rf "$aside" "$names"
    echo "cmin: $t: $before -> $(find "$dir" -type f | wc -l) files, $(cat "$dir"/* | wc -c) bytes"
done
