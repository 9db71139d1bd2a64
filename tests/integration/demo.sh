#!/bin/sh
# make demo keeps working: run it into a scratch build directory and check
# that each stage produced its output.
. "$SD_SRCDIR/tests/integration/lib.sh"
out="$TMP/demo.out"
if env SD_BUILDDIR="$TMP" SD_DATA="$SD_DATA" sh "$SD_SRCDIR/scripts/demo.sh" > "$out" 2>&1; then ok "demo runs"
else cat "$out" >&2; fail "demo runs"; fi
check "demo kept its trace" test -s "$TMP/demo/telescope.pcap"
n=$(capinfos -M -c "$TMP/demo/telescope.pcap" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
# 60 s at 20 kpps of Poisson arrivals: within a few per mille of 1.2 M.
check "demo trace holds about 1.2 M packets ($n)" test "$n" -gt 1190000 -a "$n" -lt 1210000
check "summary printed" grep -q '^packets ' "$out"
check "decoded backscatter printed" grep -q 'Flags: .*\(RST\|SYN ACK\)' "$out"
check "JSON printed" grep -q '^{"timestamp"' "$out"
# Stage 6: the whole trace multicast as nDAG in a namespace and received.
expect_eq "nDAG: 2 streams joined" "$(grep -c '^Added new stream 225.44.0.1:4400[12] to thread 0$' "$out")" 2
expect_eq "nDAG: every packet of the trace received, none missing" \
    "$(sed -n 's/.*ndag total: .* records \([0-9]*\) missing \([0-9-]*\) .*/\1 \2/p' "$out")" "$n 0"
# Stages 7 and 8: sd-tagger looks an address up, then tags the whole trace.
check "tagging: lookup line" grep -q '^{"addr":"2.125.160.216","asn":\[5607\],"prefixasn":5607,"country":"GB"' "$out"
expect_eq "tagging: every packet tagged and sent" \
    "$(sed -n 's/.*stats (final): .* in \([0-9]*\) out \([0-9]*\) dropped 0 .*/\1 \2/p' "$out")" "$n $n"
pfx=$(sed -n 's/.*providers: .* pfx2as \([0-9]*\) .*/\1/p' "$out")
check "tagging: most sources have an origin AS ($pfx)" test "${pfx:-0}" -gt $((n / 2))
check "tagging: filter counts printed" grep -q 'sd-tagger: filters: spoofed [0-9]' "$out"
expect_eq "tagging: sd-dump shows two tagged packets" "$(grep -c '^ CorsaroTags: Filters:' "$out")" 2
# Stage 9: flowtuple files of the trace and the top talkers from them.
expect_eq "flowtuple: every packet read" \
    "$(sed -n 's/^sd-flowtuple: stats: in \([0-9]*\) .*/\1/p' "$out")" "$n"
check "flowtuple: files written" test -n "$(ls "$TMP/demo/flowtuple/"demo-flowtuple-*.avro)"
check "flowtuple: .done companions" test -n "$(ls "$TMP/demo/flowtuple/"demo-flowtuple-*.avro.done)"
ipv4=$(sed -n 's/^sd-flowtuple: stats: .* counted \([0-9]*\) .*/\1/p' "$out")
check "flowtuple: the summary sums the counted packets ($ipv4)" \
    grep -q "^flowtuples: [0-9]* records, $ipv4 packets$" "$out"
expect_eq "flowtuple: top 10 sources printed" \
    "$(sed -n '/^top 10 sources/,/^top 10 destination/p' "$out" | grep -c '^  [0-9.]* ')" 10
expect_eq "flowtuple: top 10 destination ports printed" \
    "$(sed -n '/^top 10 destination/,$p' "$out" | grep -c '^  \(tcp\|udp\)/[0-9]* ')" 10
finish
