#!/bin/sh
# Tags of sd-gen traffic and of packets on prefix boundaries, checked
# against an independent reference (tag_ref.py: the pcap parsed in Python,
# a plain scan of the pfx2as file, mmdblookup for MaxMind).
. "$SD_SRCDIR/tests/integration/lib.sh"
command -v mmdblookup >/dev/null || { echo "FAIL: mmdblookup missing (mmdb-bin)" >&2; exit 1; }
ref="$SD_SRCDIR/tests/integration/tag_ref.py"
q="$SD_BUILDDIR/tests/integration/tag_query"
pfx=$(data pfx2as/routeviews-rv2-20170329-0200.pfx2as.gz)
mmdb=$(data mmdb/GeoIP2-City-Test.mmdb)
check "sd-gen writes traffic" "$SD_BIN/sd-gen" -n 3000 --sources 300 --no-progress -o "$TMP/gen.pcap"
check "boundary packets written" python3 "$ref" extra --json "$(data mmdb/source-json/GeoIP2-City-Test.json)" \
    --pfx2as "$pfx" --out "$TMP/extra.pcap"
for cap in gen extra; do
    check "$cap: tag_query tags it" sh -c '"$1" --pfx2as "$2" --mmdb "$3" "$4" > "$5"' sh \
        "$q" "$pfx" "$mmdb" "$TMP/$cap.pcap" "$TMP/$cap.jsonl"
    min=0
    [ "$cap" = extra ] && min=30
    out=$(python3 "$ref" check --pcap "$TMP/$cap.pcap" --tags "$TMP/$cap.jsonl" --pfx2as "$pfx" \
        --mmdb "$mmdb" --min-mm $min 2>&1)
    rc=$?
    echo "$out"
    expect_eq "$cap: tags equal the reference" "$rc" 0
done
finish
