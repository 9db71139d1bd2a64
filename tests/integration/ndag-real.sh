#!/bin/sh
# sd-dump ndag: against real upstream nDAG traffic (data/ndag/real): each
# capture's datagrams are replayed inside a private network namespace and
# sd-dump's packets are compared with libtrace's tracepktdump output of the
# same run, and with the counts stated in data/ndag/real/README.md.
#
# The beacons are replayed first; the data only once sd-dump has logged
# "Added new stream" for every announced port, so no datagram is sent
# before its stream is joined (waits are bounded only to catch hangs).
if [ "${SD_IN_NETNS:-}" != 1 ]; then
    : "${SD_SRCDIR:?run through make check}"
    exec sh "$SD_SRCDIR/tests/netns-run" sh "$0" "$@"
fi
. "$SD_SRCDIR/tests/integration/lib.sh"

REPLAY="$SD_DATA/../tools/ndag-replay.py"
SPLIT="$SD_SRCDIR/tests/integration/ndag-split.py"
check "ndag-replay.py present" test -r "$REPLAY"

# Per-packet blocks (separated by blank lines), sorted, one per line.
blocks() {
    awk 'BEGIN { RS = ""; ORS = "\n" } { gsub(/\n/, "|"); print }' "$1" | LC_ALL=C sort
}

# run NAME CAPTURE GROUP BEACONPORT COUNT PORTS: sd-dump -c COUNT on the
# group while the capture is replayed; leaves $TMP/NAME.out and .err.
run() {
    cn=$1 cap=$2 group=$3 bport=$4 count=$5 ports=$6
    python3 "$SPLIT" "$cap" "$bport" "$TMP/$cn.b.pcap" "$TMP/$cn.d.pcap"
    # The log exists before the job runs: the wait below greps it at once.
    : >"$TMP/$cn.err"
    timeout 60 sd-dump -c "$count" --stats "ndag:lo,$group,$bport" >"$TMP/$cn.out" 2>"$TMP/$cn.err" &
    pid=$!
    # The beacon socket is joined at start; replaying beacons until the
    # streams are added also covers a slow start of sd-dump.
    i=0
    while [ "$(grep -c '^Added new stream' "$TMP/$cn.err")" -lt "$ports" ] && [ $i -lt 100 ]; do
        python3 "$REPLAY" --top "$TMP/$cn.b.pcap" 2>/dev/null
        sleep 0.1
        i=$((i + 1))
    done
    python3 "$REPLAY" --top "$TMP/$cn.d.pcap" 2>/dev/null
    rc=0
    wait "$pid" || rc=$?
    expect_eq "$cn: sd-dump exit status" "$rc" 0
    expect_eq "$cn: streams added" "$(grep -c '^Added new stream' "$TMP/$cn.err")" "$ports"
}

total() { # FIELD NAME: a value of the "ndag total" line
    sed -n "s/.*ndag total:.* $1 \(-\{0,1\}[0-9]*\).*/\1/p" "$TMP/$2.err"
}

real="$SD_DATA/ndag/real"
n=0
for cap in "$real"/tracemcast-*.pcap; do
    base=$(basename "$cap" .pcap)
    cn=${base#tracemcast-}
    case $cn in
    100_packets) count=100 ports=1 restarts=0 ;;
    100_packets-2streams-mtu1400) count=100 ports=2 restarts=0 ;;
    100_seconds-restart) count=141 ports=2 restarts=1 ;;
    synscan-2streams-restart) count=4022 ports=4 restarts=1 ;;
    *) fail "$cn: capture not described in this test"; continue ;;
    esac
    n=$((n + 1))
    want="$real/tracepktdump-$cn.txt"
    if [ -e "$want.gz" ]; then
        gzip -dc "$want.gz" >"$TMP/$cn.want"
    else
        cp "$want" "$TMP/$cn.want"
    fi
    run "$cn" "$cap" 225.44.0.1 44000 "$count" "$ports"
    expect_eq "$cn: packets" "$(grep -c '^ Capture:' "$TMP/$cn.out")" "$count"
    if [ "$cn" = 100_packets ]; then
        # One stream: same order, byte-identical output.
        check "$cn: output identical to tracepktdump" cmp -s "$TMP/$cn.out" "$TMP/$cn.want"
    fi
    blocks "$TMP/$cn.out" >"$TMP/$cn.got.sorted"
    blocks "$TMP/$cn.want" >"$TMP/$cn.want.sorted"
    check "$cn: same packet decodes as tracepktdump (sorted)" cmp -s "$TMP/$cn.got.sorted" "$TMP/$cn.want.sorted"
    expect_eq "$cn: records" "$(total records "$cn")" "$count"
    expect_eq "$cn: missing" "$(total missing "$cn")" 0
    expect_eq "$cn: dropped" "$(total dropped "$cn")" 0
    expect_eq "$cn: malformed" "$(total malformed "$cn")" 0
    expect_eq "$cn: sender restarts" "$(total sender_restarts "$cn")" "$restarts"
done
expect_eq "tracemcast captures tested" "$n" 4

# SIGINT stops sd-dump (no -c): exit 0, the loss table is printed; the
# periodic table (--stats=1) shows when all packets arrived.
cap="$real/tracemcast-100_packets-2streams-mtu1400.pcap"
python3 "$SPLIT" "$cap" 44000 "$TMP/int.b.pcap" "$TMP/int.d.pcap"
# --foreground: timeout would also send the SIGINT below to its process
# group, and sd-dump exits with status 1 on a second signal
# The log exists before the job runs: the wait below greps it at once.
: >"$TMP/int.err"
timeout --foreground 60 sd-dump -q --stats=1 ndag:lo,225.44.0.1,44000 >"$TMP/int.out" 2>"$TMP/int.err" &
pid=$!
i=0
while [ "$(grep -c '^Added new stream' "$TMP/int.err")" -lt 2 ] && [ $i -lt 100 ]; do
    python3 "$REPLAY" --top "$TMP/int.b.pcap" 2>/dev/null; sleep 0.1; i=$((i + 1))
done
python3 "$REPLAY" --top "$TMP/int.d.pcap" 2>/dev/null
i=0
while ! grep -q 'ndag total: .* records 100 ' "$TMP/int.err" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
expect_eq "SIGINT: exit status" "$rc" 0
expect_eq "SIGINT: summary packets" "$(sed -n 's/^packets *//p' "$TMP/int.out")" 100
check "SIGINT: per-stream table printed" grep -q '^225.44.0.1:[0-9]* *1 *[01] active' "$TMP/int.err"
expect_eq "SIGINT: final total line" "$(tail -n 1 "$TMP/int.err" | sed -n 's/.*ndag total: streams \([0-9]*\) .* records \([0-9]*\) missing \([0-9-]*\) .*/\1 \2 \3/p')" "2 100 0"

# Tagged streams (CORSAROTAG) from corsarotagger: packet count from the
# tracestats file, and the packets decode as libtrace decodes them (the
# capture line and the tag lines are left out here: ndag-tagged.sh checks
# them).
strip_tags() {
    # blank lines dropped too: libtrace's run ended on a signal, not -c,
    # so its output lacks the final empty line
    grep -v -e '^ Capture:' -e '^ CorsaroTags:' -e '^$' "$1"
}
for inp in 100_packets synscan; do
    cn=tagger-$inp
    cap="$real/corsarotagger-chain-$inp.pcap"
    count=$(sed -n 's/.*Accepted packets:[^0-9]*\([0-9]*\).*/\1/p' "$real/corsarotagger-chain-$inp.tracestats.txt")
    want="$real/corsarotagger-chain-$inp.tracepktdump.txt"
    if [ -e "$want.gz" ]; then gzip -dc "$want.gz" >"$TMP/$cn.want"; else cp "$want" "$TMP/$cn.want"; fi
    run "$cn" "$cap" 225.44.0.2 44001 "$count" 1
    expect_eq "$cn: packets" "$(grep -c '^ Capture:' "$TMP/$cn.out")" "$count"
    strip_tags "$TMP/$cn.out" >"$TMP/$cn.got.s"
    strip_tags "$TMP/$cn.want" >"$TMP/$cn.want.s"
    check "$cn: packet decodes match tracepktdump" cmp -s "$TMP/$cn.got.s" "$TMP/$cn.want.s"
    expect_eq "$cn: missing" "$(total missing "$cn")" 0
done

# Bad interfaces and groups fail at once with a clear message, exit 1.
bad() { # NAME URI EXPECTED-MESSAGE-PART
    rc=0
    timeout 10 sd-dump "$2" >/dev/null 2>"$TMP/bad.err" || rc=$?
    expect_eq "$1: exit status" "$rc" 1
    check "$1: message" grep -qF "$3" "$TMP/bad.err"
}
bad "unknown interface" ndag:sd-no-such0,225.44.0.1,44000 "unknown interface 'sd-no-such0'"
bad "unicast group" ndag:lo,10.1.2.3,44000 "10.1.2.3 is not a multicast group"
bad "missing group" ndag:lo "Bad ndag URI 'ndag:lo'"
ip link set lo multicast off
bad "interface without multicast" ndag:lo,225.44.0.1,44000 "interface 'lo' has multicast turned off"
ip link set lo multicast on
finish
