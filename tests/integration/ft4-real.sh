#!/bin/sh
# FT4 from the real corsarotrace FT3 output of data/flowtuple (offline and
# tagged runs), folded by sd_ft4 (tests/integration/ft4_fold) and by an
# independent Python reference (ft4_ref.py); /16 and /24, 300 s and 60 s
# intervals, versions 2, 1 and 0; shuffled input gives the same records.
. "$SD_SRCDIR/tests/integration/lib.sh"
ref="$SD_SRCDIR/tests/integration/ft4_ref.py"
fold="$SD_BUILDDIR/tests/integration/ft4_fold"
for set in offline/synscan offline/filters-input tagged/synscan tagged/filters-input; do
    dir=$(data "flowtuple/$set")
    files=$(ls "$dir"/*.jsonl | sort)
    [ -n "$files" ] || { fail "$set: no FT3 dumps"; continue; }
    # shellcheck disable=SC2086
    python3 "$ref" tsv $files > "$TMP/in.tsv"
    for prefix in 16 24; do
        for iv in 300 60; do
            for v in 2 1 0; do
                [ "$v" != 2 ] && [ "$prefix$iv" != 16300 ] && continue
                name="$set /$prefix ${iv}s v$v"
                "$fold" "$prefix" "$iv" "$v" < "$TMP/in.tsv" > "$TMP/got" 2> "$TMP/err" ||
                    { cat "$TMP/err" >&2; fail "$name: ft4_fold failed"; continue; }
                # shellcheck disable=SC2086
                python3 "$ref" fold --prefix "$prefix" --interval "$iv" --version "$v" $files > "$TMP/want"
                if cmp -s "$TMP/got" "$TMP/want"; then ok "$name: equals the reference ($(grep -vc interval_last "$TMP/got") records)"
                else diff "$TMP/want" "$TMP/got" | head -10 >&2; fail "$name: differs from the reference"; fi
                # shellcheck disable=SC2086
                python3 "$ref" tsv --interval "$iv" --shuffle 7 $files | "$fold" "$prefix" "$iv" "$v" > "$TMP/shuf" 2>/dev/null
                check "$name: shuffled input, same records" cmp -s "$TMP/got" "$TMP/shuf"
            done
        done
    done
    # packet conservation: FT4 packets = FT3 packets
    ft3=$(awk -F'\t' '{s += $12} END {print s}' "$TMP/in.tsv")
    ft4=$("$fold" < "$TMP/in.tsv" 2>/dev/null | python3 -c 'import json,sys; print(sum(json.loads(l).get("packet_cnt", 0) for l in sys.stdin))')
    expect_eq "$set: FT4 packets = FT3 packets" "$ft4" "$ft3"
done
finish
