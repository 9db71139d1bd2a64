#!/bin/sh
# sd-mcast into a small Python receiver (tests/integration/ndag_recv.py)
# inside a private network namespace: beacons, headers, sequence numbers,
# record contents against the source, datagram sizes, flow spreading,
# keepalives, IPv6 and a lossless high-rate run. No timing asserts: every
# receiver waits for a record or keepalive count (timeouts only catch hangs).
. "$SD_SRCDIR/tests/integration/lib.sh"
command -v python3 >/dev/null || { echo "FAIL: python3 missing (scripts/install-deps)" >&2; exit 1; }
if [ "${SD_IN_NETNS:-}" != 1 ]; then
    exec sh "$SD_SRCDIR/tests/netns-run" sh "$0" "$@"
fi
R="$SD_SRCDIR/tests/integration/ndag_recv.py"
P100=$(data pcap/libtrace/100_packets.pcap)
SYN=$(data pcap/ndpi/synscan.pcap)
SECS=$(data ndag/real/input/100_seconds.pcap)

# run NAME RECV-ARGS -- SD-MCAST-ARGS: start the receiver, wait until it has
# joined, run sd-mcast, wait for the receiver. JSON in $TMP/NAME.json.
run() {
    name=$1; shift
    rargs=""
    while [ "$1" != "--" ]; do rargs="$rargs $1"; shift; done
    shift
    rm -f "$TMP/ready"
    # shellcheck disable=SC2086
    python3 "$R" recv $rargs --out "$TMP/$name.json" --ready "$TMP/ready" &
    rpid=$!
    i=0
    while [ ! -e "$TMP/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    rc=0
    sd-mcast "$@" 2>"$TMP/$name.err" || rc=$?
    echo $rc > "$TMP/$name.rc"
    wait $rpid
}

# 1. 100 packets, defaults but the group: one datagram like tracemcast's
# (7808 bytes, 100 records: rlen = caplen + 18, README of ndag/real).
run p100 --group 225.44.0.1 --beacon-port 44000 --ports 44001 --records 100 -- \
    -g 225.44.0.1 -p 44000 --top "$P100"
expect_eq "100_packets: exit status" "$(cat "$TMP/p100.rc")" 0
check "100_packets: records reproduce the trace" \
    python3 "$R" check "$TMP/p100.json" --pcap "$P100" --first-port 44001 --count 100
expect_eq "100_packets: one datagram of 7808 bytes as tracemcast's" \
    "$(python3 "$R" check "$TMP/p100.json" --print | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["datagrams"], d["sizes"])')" \
    "1 [7808]"
check "100_packets: summary counts" grep -q '^sd-mcast: 100 packets sent as 100 records in 1 datagrams (7808 bytes)' "$TMP/p100.err"

# 2. synscan over 2 streams, 1400-byte datagrams, monitor 7, own first port.
run syn2 --group 225.44.0.2 --beacon-port 44100 --ports 45000,45001 --records 2011 -- \
    -g 225.44.0.2 -p 44100 --first-port 45000 -m 7 -t 2 -M 1400 --top "$SYN"
expect_eq "synscan -t 2 -M 1400: exit status" "$(cat "$TMP/syn2.rc")" 0
check "synscan -t 2 -M 1400: beacons, seqnos, sizes, records, flows on one stream" \
    python3 "$R" check "$TMP/syn2.json" --pcap "$SYN" --first-port 45000 --streams 2 \
    --max-datagram 1400 --monitor 7 --count 2011
expect_eq "synscan: both streams used" \
    "$(python3 "$R" check "$TMP/syn2.json" --print --streams 2 --monitor 7 | python3 -c 'import json,sys; print(json.load(sys.stdin)["ports"])')" \
    "[45000, 45001]"

# 3. round robin over 3 streams with the minimum datagram size.
run rr --group 225.44.0.3 --beacon-port 44200 --ports 44201,44202,44203 --records 100 -- \
    -g 225.44.0.3 -p 44200 -t 3 --spread rr -M 536 --top "$P100"
check "100_packets --spread rr -t 3 -M 536: every record, in order per stream" \
    python3 "$R" check "$TMP/rr.json" --pcap "$P100" --first-port 44201 --streams 3 \
    --max-datagram 536 --count 100 --rr

# 4. Idle stream: the time-paced 100_seconds trace (1 packet per second),
# 3 packets; keepalives after 300 ms idle. The receiver waits for 3 records
# and 2 keepalives.
run ka --group 225.44.0.4 --beacon-port 44300 --ports 44301 --records 3 --keepalives 2 -- \
    -g 225.44.0.4 -p 44300 --keepalive-ms 300 --flush-ms 10 -c 3 "$SECS"
expect_eq "keepalive run: exit status" "$(cat "$TMP/ka.rc")" 0
check "keepalives: 24-byte form with the data's started token, seqnos unaffected" \
    python3 "$R" check "$TMP/ka.json" --pcap "$SECS" --first-port 44301 --count 3

# 5. IPv6 group (through netns-run's sd6 device; lo does not loop IPv6
# multicast back).
if ip link show sd6 >/dev/null 2>&1; then
    run v6 --group ff15::44 --iface sd6 --beacon-port 44400 --ports 44401,44402 --records 2011 -- \
        -g ff15::44 -i sd6 -p 44400 -t 2 --top "$SYN"
    expect_eq "IPv6: exit status" "$(cat "$TMP/v6.rc")" 0
    check "IPv6 ff15::44: everything as over IPv4" \
        python3 "$R" check "$TMP/v6.json" --pcap "$SYN" --first-port 44401 --streams 2 --count 2011
else
    fail "IPv6: tests/netns-run could not make the sd6 device"
fi

# 6. 100000 synthetic packets as fast as possible, 4 streams: nothing lost.
run gen --group 225.44.0.5 --beacon-port 44500 --ports 44501,44502,44503,44504 --records 100000 --timeout 120 -- \
    -g 225.44.0.5 -p 44500 -t 4 --top -c 100000 gen:seed=3
expect_eq "gen 100000 --top: exit status" "$(cat "$TMP/gen.rc")" 0
check "gen 100000 --top: received records == sent, seqnos without gaps" \
    python3 "$R" check "$TMP/gen.json" --first-port 44501 --streams 4 --count 100000
check "gen: summary says 0 lost" grep -q ' 0 send errors, 0 lost$' "$TMP/gen.err"

# 7. Usage and option errors.
rc=0; sd-mcast -M 100 "$P100" 2>"$TMP/u.err" || rc=$?
expect_eq "-M 100: usage error" "$rc" 2
check "-M 100: message names the range" grep -q 'max datagram size.*536 to 9000' "$TMP/u.err"
rc=0; sd-mcast -g 10.1.2.3 "$P100" 2>"$TMP/u2.err" || rc=$?
expect_eq "unicast group: usage error" "$rc" 2
check "unicast group: message" grep -q 'not a numeric IPv4 or IPv6 multicast address' "$TMP/u2.err"
rc=0; sd-mcast -g 225.44.0.9 "$TMP/missing.pcap" 2>/dev/null || rc=$?
expect_eq "missing input: runtime error" "$rc" 1
expect_eq "--help exits 0" "$(sd-mcast --help >/dev/null; echo $?)" 0
check "--version names the tool" sh -c 'sd-mcast --version | grep -q "^sd-mcast (stardust) "'
finish
