#!/bin/sh
# sd-tagger --lookup over the shared provider data, each answer compared with
# a reference computed without stardust (tests/integration/tagger_ref.py): a
# straightforward scan of the pfx2as lines (IPv4 and IPv6), mmdblookup on
# every network boundary of GeoIP2-City-Test.mmdb, and the expected.tsv
# files of the MaxMind CSV and Net Acuity fixtures. Also the CLI's habits:
# arguments and standard input, bad addresses, bad files, exit statuses.
. "$SD_SRCDIR/tests/integration/lib.sh"

REF="$SD_SRCDIR/tests/integration/tagger_ref.py"
T="$SD_BIN/sd-tagger"

check "pfx2as: mlab tiny IPv4 + IPv6 tables vs a scan" \
    python3 "$REF" pfx2as "$T" "$(data pfx2as/mlab-RouteViewIPv4.tiny.pfx2as.gz)" \
    "$(data pfx2as/mlab-RouteViewIPv6.tiny.pfx2as.gz)"
check "pfx2as: RouteViews 2023 IPv4 + IPv6 excerpts vs a scan" \
    python3 "$REF" pfx2as "$T" "$(data pfx2as/routeviews-rv2-20230205-2200.excerpt.pfx2as.gz)" \
    "$(data pfx2as/routeviews-rv6-20230205-0600.excerpt.pfx2as.gz)"
check "mmdb: GeoIP2-City-Test.mmdb vs mmdblookup" \
    python3 "$REF" mmdb "$T" "$(data mmdb/GeoIP2-City-Test.mmdb)" \
    "$(data mmdb/source-json/GeoIP2-City-Test.json)"
check "maxmind-csv: expected.tsv" python3 "$REF" maxmind-csv "$T" "$SD_DATA/maxmind-csv"
check "netacq: expected.tsv" python3 "$REF" netacq "$T" "$SD_DATA/netacq"

# Keys of the JSON line (tags.md, sd-tagger(1)).
v4=$(data pfx2as/mlab-RouteViewIPv4.tiny.pfx2as.gz)
v6=$(data pfx2as/mlab-RouteViewIPv6.tiny.pfx2as.gz)
out=$(sd-tagger --pfx2as "$v4" --pfx2as "$v6" --lookup 1.0.0.1 2001:4:112::1 192.0.2.1)
expect_eq "lookup: one line per address, keys" "$out" \
'{"addr":"1.0.0.1","asn":[13335],"prefixasn":13335,"country":null,"continent":null,"region":null,"providers":["pfx2as"]}
{"addr":"2001:4:112::1","asn":[112],"prefixasn":112,"country":null,"continent":null,"region":null,"providers":["pfx2as"]}
{"addr":"192.0.2.1","asn":[],"prefixasn":0,"country":null,"continent":null,"region":null,"providers":[]}'
# Standard input: one address per line, blank lines and comments skipped.
printf '1.0.0.1\n\n# comment\n  2001:4:112::1  \n192.0.2.1\n' >"$TMP/addrs"
out2=$(sd-tagger --pfx2as "$v4" --pfx2as "$v6" --lookup <"$TMP/addrs")
expect_eq "lookup: standard input gives the same lines" "$out2" "$out"
# A multi-origin prefix: every origin, no prefixasn (tags.md §5.1).
expect_eq "lookup: MOAS prefix" \
    "$(sd-tagger --pfx2as "$v4" --lookup 1.186.75.0 | cut -c1-60)" \
    '{"addr":"1.186.75.0","asn":[45769,45582],"prefixasn":0,"coun'

# All providers at once, from the corsarotagger configuration of data/tags
# (paths relative to data/, as corsarotagger resolves them).
out=$(cd "$SD_DATA" && sd-tagger -q -c tags/tagger.yaml --lookup 192.0.2.1)
expect_eq "lookup: tagger.yaml, all providers" "$(printf '%s' "$out" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
print(d["country"], d["continent"], d["region"], sorted(d["providers"]), d["netacq"]["region_code"],
      d["netacq"]["polygons"], d["maxmind"]["country"])')" \
    "US NA CA ['maxmind', 'netacq-edge', 'pfx2as'] 5001 ['000003e9', '010007d1'] US"

# Errors.
rc=0
sd-tagger --pfx2as "$v4" --lookup 1.0.0.1 not-an-address 1.0.0.1 >"$TMP/o" 2>"$TMP/e" || rc=$?
expect_eq "lookup: a bad address: exit status 1" "$rc" 1
expect_eq "lookup: the good addresses are still answered" "$(wc -l <"$TMP/o" | tr -d ' ')" 2
expect_eq "lookup: the bad one is named" "$(cat "$TMP/e")" \
    "sd-tagger: 'not-an-address' is not an IPv4 or IPv6 address"
rc=0
sd-tagger --pfx2as "$(data pfx2as/mlab-RouteViewIPv4.corrupt.pfx2as)" --lookup 1.1.1.1 \
    >"$TMP/o" 2>"$TMP/e" || rc=$?
expect_eq "corrupt pfx2as: exit status 1" "$rc" 1
check "corrupt pfx2as: file:line and reason" \
    grep -q 'mlab-RouteViewIPv4.corrupt.pfx2as:50: expected 3 tab-separated fields' "$TMP/e"
expect_eq "corrupt pfx2as: nothing on standard output" "$(wc -c <"$TMP/o" | tr -d ' ')" 0
rc=0
sd-tagger --mmdb "$(data mmdb/MaxMind-DB-test-broken-search-tree-24.mmdb)" --lookup 1.1.1.1 \
    >/dev/null 2>"$TMP/e" || rc=$?
expect_eq "broken mmdb: exit status 1" "$rc" 1
check "broken mmdb: named" grep -q 'MaxMind-DB-test-broken-search-tree-24.mmdb' "$TMP/e"
printf 'multicast:\n  mtu: lots\n' >"$TMP/bad.yaml"
rc=0
sd-tagger -c "$TMP/bad.yaml" --lookup 1.1.1.1 >/dev/null 2>"$TMP/e" || rc=$?
expect_eq "bad configuration: exit status 1" "$rc" 1
expect_eq "bad configuration: file:line:col: reason" "$(cat "$TMP/e")" \
    "sd-tagger: $TMP/bad.yaml:2:8: multicast: mtu: expected an integer from 536 to 9000, got 'lots' (SD_ERR_FORMAT)"
rc=0
sd-tagger --frobnicate >/dev/null 2>&1 || rc=$?
expect_eq "unknown option: exit status 2" "$rc" 2
rc=0
sd-tagger >/dev/null 2>&1 || rc=$?
expect_eq "no input: exit status 2" "$rc" 2
rc=0
sd-tagger --mtu 100 x >/dev/null 2>&1 || rc=$?
expect_eq "bad MTU: exit status 2" "$rc" 2
check "--help" sh -c 'sd-tagger --help | grep -q -- --lookup'
check "--version" sh -c 'sd-tagger --version | grep -q "^sd-tagger (stardust)"'
finish
