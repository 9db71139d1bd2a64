#!/bin/sh
# Tagged nDAG streams (CORSAROTAG, tags.md 3) into sd-dump: the upstream
# corsarotagger's streams in data/ndag/real/corsarotagger-chain-*.pcap are
# replayed inside a private network namespace, and sd-dump shows, packet for
# packet, the tags libtrace's tracepktdump printed for the same stream (text:
# the whole output is identical; JSON: a "tags" object with the same values
# and the record header fields); --drop removes packets by their tag bits
# (tagged input) or by computed filter bits (a pcap file).
#
# Beacons are replayed first, the data only once sd-dump has logged "Added
# new stream" (waits are bounded only to catch hangs), as in ndag-real.sh.
if [ "${SD_IN_NETNS:-}" != 1 ]; then
    : "${SD_SRCDIR:?run through make check}"
    exec sh "$SD_SRCDIR/tests/netns-run" sh "$0" "$@"
fi
. "$SD_SRCDIR/tests/integration/lib.sh"

REPLAY="$SD_DATA/../tools/ndag-replay.py"
SPLIT="$SD_SRCDIR/tests/integration/ndag-split.py"
check "ndag-replay.py present" test -r "$REPLAY"
real="$SD_DATA/ndag/real"
URI=ndag:lo,225.44.0.2,44001

# run NAME CAPTURE SD-DUMP-ARGS...: sd-dump ARGS on the tagger's group while
# the capture is replayed; leaves $TMP/NAME.out and .err.
run() {
    cn=$1 cap=$2
    shift 2
    python3 "$SPLIT" "$cap" 44001 "$TMP/$cn.b.pcap" "$TMP/$cn.d.pcap"
    # The log exists before the job runs: the wait below greps it at once.
    : >"$TMP/$cn.err"
    timeout 60 sd-dump "$@" "$URI" >"$TMP/$cn.out" 2>"$TMP/$cn.err" &
    pid=$!
    i=0
    while [ "$(grep -c '^Added new stream' "$TMP/$cn.err")" -lt 1 ] && [ $i -lt 100 ]; do
        python3 "$REPLAY" --top "$TMP/$cn.b.pcap" 2>/dev/null
        sleep 0.1
        i=$((i + 1))
    done
    python3 "$REPLAY" --top "$TMP/$cn.d.pcap" >/dev/null 2>&1
    rc=0
    wait "$pid" || rc=$?
    expect_eq "$cn: sd-dump exit status" "$rc" 0
}

total() { # FIELD NAME: a value of the "ndag total" line
    sed -n "s/.*ndag total:.* $1 \(-\{0,1\}[0-9]*\).*/\1/p" "$TMP/$2.err"
}

# The CorsaroTags lines of each packet, one packet per line.
tag_lines() {
    awk 'BEGIN { RS = ""; ORS = "\n" } { t = ""; n = split($0, l, "\n");
         for (i = 1; i <= n; i++) if (l[i] ~ /^ CorsaroTags:/) t = t l[i] "|"; print t }' "$1"
}

for inp in 100_packets synscan; do
    cap="$real/corsarotagger-chain-$inp.pcap"
    count=$(sed -n 's/.*Accepted packets:[^0-9]*\([0-9]*\).*/\1/p' "$real/corsarotagger-chain-$inp.tracestats.txt")
    case $inp in
    100_packets) expect_eq "$inp: packets per tracestats" "$count" 99 ;;
    synscan) expect_eq "$inp: packets per tracestats" "$count" 2011 ;;
    esac
    want="$real/corsarotagger-chain-$inp.tracepktdump.txt"
    if [ -e "$want.gz" ]; then gzip -dc "$want.gz" >"$TMP/$inp.want"; else cp "$want" "$TMP/$inp.want"; fi

    # Text: tracepktdump's layout with the CorsaroTags lines, byte for
    # byte (libtrace's run ended on a signal, so it lacks the final blank
    # line sd-dump prints after -c packets).
    cn=text-$inp
    run "$cn" "$cap" -c "$count" --stats
    expect_eq "$cn: packets" "$(grep -c '^ Capture:' "$TMP/$cn.out")" "$count"
    expect_eq "$cn: last line blank" "$(tail -n 1 "$TMP/$cn.out")" ""
    sed '$d' "$TMP/$cn.out" >"$TMP/$cn.cut"
    tag_lines "$TMP/$cn.cut" >"$TMP/$cn.tags"
    tag_lines "$TMP/$inp.want" >"$TMP/$inp.want.tags"
    expect_eq "$cn: packets with tag lines" "$(grep -c 'Filters:' "$TMP/$cn.tags")" "$count"
    check "$cn: tags packet for packet as tracepktdump" cmp -s "$TMP/$cn.tags" "$TMP/$inp.want.tags"
    check "$cn: output identical to tracepktdump" cmp -s "$TMP/$cn.cut" "$TMP/$inp.want"
    expect_eq "$cn: tagged records" "$(total tagged "$cn")" "$count"
    expect_eq "$cn: tag_missing" "$(total tag_missing "$cn")" 0
    expect_eq "$cn: missing" "$(total missing "$cn")" 0
    check "$cn: stats line without --drop has no excluded count" test "$(grep -c excluded "$TMP/$cn.err")" = 0

    # JSON: every packet has a "tags" object whose values are those
    # libtrace printed, plus the record header (tagger_id, seqno 1..N,
    # header filter bits = low 4 tag bits, tags.md 2.2).
    cn=json-$inp
    run "$cn" "$cap" -o json -c "$count"
    check "$cn: tags equal tracepktdump's" python3 - "$TMP/$cn.out" "$TMP/$inp.want" <<'EOF'
import json, re, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = []
for block in open(sys.argv[2]).read().split("\n\n"):
    if "CorsaroTags" not in block:
        continue
    w = {"asn": None}
    m = re.search(r"Capture: Packet Length: (\d+)/(\d+) ", block)
    caplen, wirelen = int(m.group(1)), int(m.group(2))
    for line in block.split("\n"):
        m = re.match(r" CorsaroTags: Protocol: (\d+)  Source Port: (\d+)  Dest Port: (\d+)$", line)
        if m:
            w["protocol"], w["src_port"], w["dest_port"] = map(int, m.groups())
        m = re.match(r" CorsaroTags: Flowtuple hash: (\d+)$", line)
        if m:
            w["ft_hash"] = int(m.group(1))
        m = re.match(r" CorsaroTags: Source ASN: (\d+)$", line)
        if m:
            w["asn"] = int(m.group(1))
        m = re.match(r" CorsaroTags: Filters: (.*)$", line)
        if m:
            words = m.group(1).split()
            w["filters"] = [n for n, on in (("spoofed", "Spoofed" in words), ("erratic", "Erratic" in words),
                                            ("routed", "Not-Routable" in words),
                                            ("large-scale-scan", "LSScan" in words)) if on]
    want.append(w)
    w["caplen"], w["wirelen"] = caplen, wirelen
if len(got) != len(want):
    sys.exit("%d JSON packets, %d in tracepktdump" % (len(got), len(want)))
tagger = None
for i, (g, w) in enumerate(zip(got, want)):
    t = g.get("tags")
    if t is None:
        sys.exit("packet %d: no tags object" % i)
    w = dict(w)
    caplen = w.pop("caplen")
    wirelen = w.pop("wirelen")
    have = {k: t[k] for k in ("protocol", "src_port", "dest_port", "ft_hash")}
    have["asn"] = t["prefixasn"] if "pfx2as" in t["providers"] else None
    have["filters"] = [f for f in t["filters"] if f in ("spoofed", "erratic", "routed", "large-scale-scan")]
    if have != w:
        sys.exit("packet %d: %s, tracepktdump: %s" % (i, have, w))
    if t["seqno"] != i + 1:
        sys.exit("packet %d: seqno %d" % (i, t["seqno"]))
    if tagger is None:
        tagger = t["tagger_id"]
    if t["tagger_id"] != tagger or tagger == 0:
        sys.exit("packet %d: tagger_id %d" % (i, t["tagger_id"]))
    if t["header_filterbits"] != t["filterbits"] & 0xF:
        sys.exit("packet %d: header bits %#x, tag bits %#x" % (i, t["header_filterbits"], t["filterbits"]))
    if t["providers_used"] & 1 != ("basic" in t["providers"]):
        sys.exit("packet %d: providers list" % i)
    if g["caplen"] + 67 != caplen or g["wirelen"] != wirelen:
        sys.exit("packet %d: caplen %d wirelen %d, tracepktdump %d/%d" % (i, g["caplen"], g["wirelen"], caplen, wirelen))
EOF
done

# --drop on the tagged stream: the packets shown are tracepktdump's minus
# those whose tag says Erratic, in order; the stats line counts the rest.
inp=synscan
cn=drop-$inp
erratic=$(grep -c 'CorsaroTags: Filters: .* Erratic ' "$TMP/$inp.want")
expect_eq "$cn: erratic packets in tracepktdump" "$erratic" 23
keep=$((2011 - erratic))
run "$cn" "$real/corsarotagger-chain-$inp.pcap" -c "$keep" --drop erratic --stats
{ echo; awk 'BEGIN { RS = ""; ORS = "\n\n" } !/ Erratic / { print }' "$TMP/$inp.want"; } >"$TMP/$cn.want"
check "$cn: shown packets are tracepktdump's non-erratic ones" cmp -s "$TMP/$cn.out" "$TMP/$cn.want"
# Packets read = shown + excluded; the erratic ones after the last one shown
# may not have been read.
excluded=$(sed -n 's/.* excluded \([0-9]*\)$/\1/p' "$TMP/$cn.err")
read_pkts=$(sed -n 's/.*: packets \([0-9]*\) bytes.*/\1/p' "$TMP/$cn.err")
expect_eq "$cn: packets read = shown + excluded" "$read_pkts" "$((keep + excluded))"
before=$(awk 'BEGIN { RS = "" } / Erratic / { e++ } !/ Erratic / { k++; if (k == '"$keep"') { print e + 0; exit } }' "$TMP/$inp.want")
check "$cn: every erratic packet before the last shown one excluded ($before <= $excluded <= $erratic)" \
    test "$excluded" -ge "$before" -a "$excluded" -le "$erratic"

# --drop on a file (no tags): the filter bits are computed.
pc="$real/input/synscan.pcap"
sd-dump -q --stats --drop routed "$pc" >"$TMP/file.out" 2>"$TMP/file.err"
shown=$(sed -n 's/^packets *//p' "$TMP/file.out")
excluded=$(sed -n 's/.* excluded \([0-9]*\)$/\1/p' "$TMP/file.err")
expect_eq "file --drop: shown + excluded = all" "$((shown + excluded))" 2011
check "file --drop routed: RFC 5735 sources excluded ($excluded)" test "$excluded" -gt 1900
sd-dump -q --drop routed,spoofed,erratic "$pc" >"$TMP/file2.out" 2>/dev/null
check "file --drop of more filters shows fewer" test "$(sed -n 's/^packets *//p' "$TMP/file2.out")" -le "$shown"
rc=0
sd-dump --drop no-such-filter "$pc" >/dev/null 2>"$TMP/bad.err" || rc=$?
expect_eq "--drop unknown name: usage error" "$rc" 2
check "--drop unknown name: message" grep -q 'sd-dump: --drop: .*no-such-filter' "$TMP/bad.err"
finish
