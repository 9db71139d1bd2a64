#!/bin/sh
# CSV geolocation loaders (MaxMind legacy, Net Acuity Edge) against an
# independent Python reference (tests/integration/geo_csv_ref.py) at every
# block boundary (start-1, start, end, end+1) of the shared fixtures, of
# their gzip copies and of random overlapping data sets.
. "$SD_SRCDIR/tests/integration/lib.sh"
ref="python3 $SD_SRCDIR/tests/integration/geo_csv_ref.py"
look="$SD_BUILDDIR/tests/unit/geo_lookup"
mm=$(dirname "$(data maxmind-csv/GeoLiteCity-Blocks.csv)")
na=$(dirname "$(data netacq/netacq-4-blocks.csv)")

# compare NAME REFARGS -- LOOKUPARGS: every reference line equals geo_lookup's.
compare() {
    name=$1; shift
    refargs=""
    while [ "$1" != "--" ]; do refargs="$refargs $1"; shift; done
    shift
    # shellcheck disable=SC2086
    $ref $refargs > "$TMP/ref" || { fail "$name: reference failed"; return; }
    cut -f1 "$TMP/ref" | "$look" "$@" > "$TMP/got" || { fail "$name: geo_lookup failed"; return; }
    n=$(wc -l < "$TMP/ref")
    if [ "$n" -gt 0 ] && cmp -s "$TMP/ref" "$TMP/got"; then
        ok "$name: $n boundary lookups equal the reference"
    else
        diff "$TMP/ref" "$TMP/got" | head -n 10 >&2
        fail "$name: lookups differ from the reference ($n lines)"
    fi
}

compare "maxmind fixture" maxmind "$mm/GeoLiteCity-Blocks.csv" "$mm/GeoLiteCity-Location.csv" -- \
    maxmind "$mm/GeoLiteCity-Blocks.csv" "$mm/GeoLiteCity-Location.csv"
compare "maxmind fixture by directory" maxmind "$mm/GeoLiteCity-Blocks.csv" \
    "$mm/GeoLiteCity-Location.csv" -- maxmind-dir "$mm"
compare "netacq fixture by directory" netacq "$na" -- netacq-dir "$na"

# gzip copies read the same (the directory search finds *.csv.gz too).
mkdir "$TMP/mmgz" "$TMP/nagz"
for f in "$mm"/*.csv; do gzip -c "$f" > "$TMP/mmgz/$(basename "$f").gz"; done
for f in "$na"/*.csv; do gzip -c "$f" > "$TMP/nagz/$(basename "$f").gz"; done
compare "maxmind fixture, gzip" maxmind "$mm/GeoLiteCity-Blocks.csv" "$mm/GeoLiteCity-Location.csv" -- \
    maxmind-dir "$TMP/mmgz"
compare "netacq fixture, gzip" netacq "$na" -- netacq-dir "$TMP/nagz"

# Random overlapping, unaligned ranges, including 0.0.0.0 and 255.255.255.255.
for seed in 1 2 3; do
    $ref gen "$TMP/gen$seed" "$seed"
    compare "maxmind random set $seed" maxmind "$TMP/gen$seed/mm/GeoLiteCity-Blocks.csv" \
        "$TMP/gen$seed/mm/GeoLiteCity-Location.csv" -- maxmind-dir "$TMP/gen$seed/mm"
    compare "netacq random set $seed" netacq "$TMP/gen$seed/na" -- netacq-dir "$TMP/gen$seed/na"
done

# The expected.tsv answers, through the same tool.
tail -n +2 "$mm/expected.tsv" | while IFS="$(printf '\t')" read -r ip loc cc cont reg city tcc tcont lbl; do
    got=$(echo "$ip" | "$look" maxmind-dir "$mm")
    if [ "$loc" = "-" ]; then want="$ip	-"
    else
        [ "$reg" = "-" ] && reg=""
        [ "$city" = "-" ] && city=""
        want=$(printf '%s\t%s\t%s\t0\t-\t%s\t%s' "$ip" "$tcc" "$tcont" "$reg" "$city")
    fi
    got=$(echo "$got" | cut -f1-7)
    [ "$got" = "$want" ] || echo "maxmind $ip: got '$got' want '$want'"
done > "$TMP/mmexp"
expect_eq "maxmind expected.tsv via geo_lookup" "$(cat "$TMP/mmexp")" ""
finish
