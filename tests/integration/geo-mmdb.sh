#!/bin/sh
# sd_geo_open_mmdb() agrees with the mmdblookup CLI (libmaxminddb's own
# reader, an independent reference) on the City test databases: country
# (else registered country), continent, first subdivision and English city
# name of the first address of every network in the source data, of the
# address just before each IPv4 network, and of a few fixed addresses.
. "$SD_SRCDIR/tests/integration/lib.sh"
command -v mmdblookup >/dev/null ||
    { echo "FAIL: mmdblookup missing (package mmdb-bin, scripts/install-deps)" >&2; exit 1; }
q="$SD_BUILDDIR/tests/integration/geo_query"

# mmdblookup's indented dump of each address (after a "@@ ADDR" line) to
# "ADDR<TAB>country<TAB>continent<TAB>subdivision<TAB>city" ("-" when absent,
# "ADDR<TAB>none" when not found). Each key line sets the path component of
# its indentation level, each element of an array its index.
fields() {
    awk '
    function emit() {
        if (addr == "") return
        if (!found) { printf "%s\tnone\n", addr; return }
        cc = ("country/iso_code" in v) ? v["country/iso_code"] : \
             (("registered_country/iso_code" in v) ? v["registered_country/iso_code"] : "-")
        printf "%s\t%s\t%s\t%s\t%s\n", addr, cc, \
            ("continent/code" in v) ? v["continent/code"] : "-", \
            ("subdivisions/0/iso_code" in v) ? v["subdivisions/0/iso_code"] : "-", \
            ("city/names/en" in v) ? v["city/names/en"] : "-"
    }
    /^@@ / { emit(); addr = $2; found = 0; split("", v); split("", k); split("", arr); next }
    /^ *$/ { next }
    {
        lvl = match($0, /[^ ]/); s = substr($0, lvl)
        for (j in k) if (j + 0 > lvl) delete k[j]
        for (j in arr) if (j + 0 >= lvl && s !~ /^\[/) delete arr[j]
        if (s ~ /^"[^"]*": *$/) { sub(/^"/, "", s); sub(/": *$/, "", s); k[lvl] = s; found = 1; next }
        if ((lvl - 2) in arr) k[lvl] = ++arr[lvl - 2]
        if (s == "[") { arr[lvl] = -1; next }
        if (s ~ /^"/ && s ~ /" <utf8_string>$/) {
            sub(/^"/, "", s); sub(/" <utf8_string>$/, "", s)
            p = ""
            for (j = 1; j <= lvl; j++) if (j in k) p = p (p == "" ? "" : "/") k[j]
            v[p] = s
        }
    }
    END { emit() }'
}

for dbname in GeoIP2-City-Test GeoLite2-City-Test; do
    db=$(data "mmdb/$dbname.mmdb")
    json=$(data "mmdb/source-json/$dbname.json")
    {
        grep -o '"[0-9a-fA-F:.]*/[0-9]*"' "$json" | tr -d '"' | sed 's,/.*,,'
        grep -o '"[0-9.]*/[0-9]*"' "$json" | tr -d '"' | sed 's,/.*,,' |
            awk -F. '$4 > 0 { printf "%d.%d.%d.%d\n", $1, $2, $3, $4 - 1 }'
        printf '%s\n' 81.2.69.142 81.2.69.160 89.160.20.112 127.0.0.1 0.0.0.0 \
            255.255.255.255 ::1 2001:218::1 ::ffff:81.2.69.142
    } | sort -u > "$TMP/addrs"
    n=$(wc -l < "$TMP/addrs")
    check "$dbname: $n addresses to compare (>= 200)" test "$n" -ge 200
    check "$dbname: geo_query loads it" sh -c '"$1" "$2" < "$3" > "$4"' sh "$q" "$db" "$TMP/addrs" "$TMP/got"
    while read -r a; do
        echo "@@ $a"
        mmdblookup --file "$db" --ip "$a" 2>/dev/null || true
    done < "$TMP/addrs" | fields > "$TMP/want"
    if diff -u "$TMP/want" "$TMP/got"; then ok "$dbname: every field equals mmdblookup's"
    else fail "$dbname: fields differ from mmdblookup (diff above: - mmdblookup, + sd_geo)"; fi
    found=$(grep -vc '	none$' "$TMP/want" || true)
    cities=$(awk -F'\t' 'NF == 5 && $5 != "-"' "$TMP/want" | wc -l)
    regions=$(awk -F'\t' 'NF == 5 && $4 != "-"' "$TMP/want" | wc -l)
    check "$dbname: $found addresses found, $cities with a city, $regions with a subdivision" \
        test "$found" -ge 100 -a "$cities" -ge 5 -a "$regions" -ge 5
    check "$dbname: some addresses are not in the database" grep -q '	none$' "$TMP/want"
done

# A broken database is refused, naming the file.
bad=$(data mmdb/MaxMind-DB-test-broken-search-tree-24.mmdb)
if "$q" -s "$bad" > "$TMP/out" 2> "$TMP/err"; then fail "broken search tree loaded"
else expect_eq "broken search tree refused with file and node" \
    "$(cat "$TMP/err")" "geo_query: $bad: node 0: invalid record 0 (search tree is corrupt) (SD_ERR_FORMAT)"; fi
finish
