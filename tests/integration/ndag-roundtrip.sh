#!/bin/sh
# stardust to stardust over nDAG (ndag.md 18, row 6): sd-mcast sends a trace,
# sd-dump ndag: receives it inside a private network namespace, and the
# received packets (sd-dump -o json -x: bytes, ns timestamps, caplen,
# wirelen, decode) must be those of sd-dump -o json -x of the trace itself.
# Several traces and stream counts, a million packets, IPv6, two senders on
# one group, a sender restart and keepalives while idle.
#
# Readiness: sd-dump joins the beacon group before it reads; the sender is
# started once `ip maddr` lists the group on the device (a bounded wait),
# and its first data waits --join-delay after its first beacon, so the
# receiver has joined the streams: 1500 ms here, not the default 500, which
# a receiver starved by a loaded machine (make -j, CI) once missed, losing
# the first run of the restart case on one stream. No timing asserts:
# timeouts only catch hangs.
if [ "${SD_IN_NETNS:-}" != 1 ]; then
    : "${SD_SRCDIR:?run through make check}"
    exec sh "$SD_SRCDIR/tests/netns-run" sh "$0" "$@"
fi
. "$SD_SRCDIR/tests/integration/lib.sh"
command -v python3 >/dev/null || { echo "FAIL: python3 missing (scripts/install-deps)" >&2; exit 1; }
CMP="$SD_SRCDIR/tests/integration/ndag_compare.py"
# The interpreter itself, not a version-manager shim (a shim can cost a
# second per start, and this test starts python often).
python3() { "$PY" "$@"; }
PY=$(command python3 -c 'import sys; print(sys.executable)')

# joined DEV GROUP: wait until GROUP is joined on DEV (at most 10 s).
joined() {
    i=0
    while ! ip maddr show dev "$1" | grep -q " $2\$"; do
        i=$((i + 1))
        [ $i -lt 200 ] || { fail "receiver never joined $2 on $1"; return 1; }
        sleep 0.05
    done
}

# recv NAME COUNT DEV GROUP BPORT [SD-DUMP-OPTIONS]: start sd-dump -c COUNT
# -o json -x --stats in the background ($rpid), wait until it has joined.
recv() {
    rn=$1 rc_count=$2 rdev=$3 rgroup=$4 rbport=$5
    shift 5
    timeout 120 sd-dump -c "$rc_count" -o json -x --stats "$@" "ndag:$rdev,$rgroup,$rbport" \
        >"$TMP/$rn.json" 2>"$TMP/$rn.err" &
    rpid=$!
    joined "$rdev" "$rgroup"
}

# recv_wait NAME: wait for the receiver; the packets go to NAME.pkts, its
# --stats objects to NAME.stats.
recv_wait() {
    st=0
    wait "$rpid" || st=$?
    expect_eq "$1: sd-dump exit status" "$st" 0
    grep '^{"stream"' "$TMP/$1.err" >"$TMP/$1.stats" || true
    mv "$TMP/$1.json" "$TMP/$1.pkts"
}

# stat NAME STREAM FIELD: FIELD of the --stats object of STREAM ("total" or
# "group:port").
stat() {
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    name = "total" if o["stream"] == "total" else "%s:%d" % (o["stream"], o["port"])
    if name == sys.argv[2]:
        print(o[sys.argv[3]])
        break
' "$TMP/$1.stats" "$2" "$3"
}

# file_json NAME FILE: the file's own packets.
file_json() {
    sd-dump -o json -x "$2" >"$TMP/$1.want"
}

# sender NAME ARGS...: run sd-mcast, keep its stderr, check its exit status.
sender() {
    sn=$1
    shift
    st=0
    sd-mcast --join-delay 1500 "$@" 2>"$TMP/$sn.snd" || st=$?
    expect_eq "$sn: sd-mcast exit status" "$st" 0
}

# skipped NAME: the sender's skipped count.
skipped() {
    sed -n 's/.* \([0-9]*\) skipped,.*/\1/p' "$TMP/$1.snd"
}

P100=$(data pcap/libtrace/100_packets.pcap)
E100=$(data pcap/libtrace/100_packets.erf)
COMPLEX=$(data pcap/libtrace/complex.pcapng)
SYN=$(data ndag/real/input/synscan.pcap)
RAW=$(data pcap/zeek/tcp_payload-syn.pcap)
VLAN=$(data pcap/libtrace/vlan.pcap)
JUMBO=$(data ndag/vectors/vectors.pcap)

# ---------------------------------------------------------------- traces
# case NAME FILE COUNT ORDER SKIPPED SENDER-OPTIONS...: one trace over
# 225.44.1.1:44000; COUNT packets expected (file packets minus skipped).
case_trace() {
    cn=$1 cf=$2 cc=$3 co=$4 cs=$5
    shift 5
    file_json "$cn" "$cf"
    recv "$cn" "$cc" lo 225.44.1.1 44000
    sender "$cn" -g 225.44.1.1 -p 44000 "$@" "$cf"
    recv_wait "$cn"
    if [ "$cs" = 0 ]; then
        check "$cn: same packets as the file (order $co)" \
            python3 "$CMP" same "$TMP/$cn.want" "$TMP/$cn.pkts" --order "$co"
    fi
    expect_eq "$cn: sender skipped" "$(skipped "$cn")" "$cs"
    expect_eq "$cn: missing" "$(stat "$cn" total missing)" 0
    expect_eq "$cn: records" "$(stat "$cn" total records)" "$cc"
}

case_trace p100-t1 "$P100" 100 one 0 --top
case_trace p100-t3-rr "$P100" 100 rr:3 0 -t 3 --spread rr -M 536 --top
case_trace erf-t3-flow "$E100" 100 flow 0 -t 3 --pps 20000
case_trace syn-t3-flow-536 "$SYN" 2011 flow 0 -t 3 -M 536 --top
case_trace syn-t1-rr "$SYN" 2011 one 0 --spread rr --pps 50000
case_trace vlan-t3-rr "$VLAN" 395 rr:3 0 -t 3 --spread rr --top
# Raw IP (link type 101) travels as ERF IPv4/IPv6 records.
case_trace rawip-t3 "$RAW" 6 flow 0 -t 3 --top
# complex.pcapng: 4 Ethernet packets on interfaces 0 and 2, one BSD
# loopback packet that ERF cannot carry (skipped by the sender), one
# packet without a timestamp.
case_trace pcapng-t3 "$COMPLEX" 4 flow 1 -t 3 --top
sd-dump -o json -x "$COMPLEX" | grep -v '"linktype":0,' >"$TMP/pcapng-eth.want"
expect_eq "pcapng-t3: 4 Ethernet packets in the file" "$(wc -l <"$TMP/pcapng-eth.want")" 4
check "pcapng-t3: the 4 Ethernet packets of complex.pcapng" \
    python3 "$CMP" same "$TMP/pcapng-eth.want" "$TMP/pcapng-t3.pkts" --order flow

# vectors.pcap holds a 9042-byte frame: one datagram cannot carry it, the
# sender cuts it to fill 8900 bytes (8900 - 24 - 18 captured bytes).
file_json jumbo "$JUMBO"
n=$(wc -l <"$TMP/jumbo.want")
recv jumbo "$n" lo 225.44.1.1 44000
sender jumbo -g 225.44.1.1 -p 44000 -t 3 --top "$JUMBO"
recv_wait jumbo
check "jumbo: same packets, the jumbo frame cut to 8858 bytes" \
    python3 "$CMP" same "$TMP/jumbo.want" "$TMP/jumbo.pkts" --order flow --cut 8858
check "jumbo: sender counted 1 truncated" grep -q ' 1 truncated,' "$TMP/jumbo.snd"
expect_eq "jumbo: missing" "$(stat jumbo total missing)" 0

# ---------------------------------------------------------------- IPv6
# sd6a: one end of netns-run's veth pair (lo does not loop IPv6 multicast).
if ip link show sd6a >/dev/null 2>&1; then
    file_json v6 "$SYN"
    recv v6 2011 sd6a ff15::44 44000
    sender v6 -g ff15::44 -i sd6a -p 44000 -t 2 --top "$SYN"
    recv_wait v6
    check "IPv6 ff15::44, 2 streams: same packets" \
        python3 "$CMP" same "$TMP/v6.want" "$TMP/v6.pkts" --order flow
    expect_eq "IPv6: streams" "$(stat v6 total streams)" 2
    expect_eq "IPv6: missing" "$(stat v6 total missing)" 0
else
    fail "IPv6: tests/netns-run could not make the sd6a device"
fi

# ---------------------------------------------------------------- two senders
# Monitors 1 and 2 on one group and beacon port, stream ports 45000.. and
# 46000.., at the same time.
cat "$TMP/p100-t1.want" "$TMP/syn-t3-flow-536.want" >"$TMP/two.want"
recv two 2111 lo 225.44.1.2 44100
sd-mcast --join-delay 1500 -g 225.44.1.2 -p 44100 --first-port 45000 -m 1 -t 2 --pps 5000 "$P100" 2>"$TMP/two1.snd" &
s1=$!
sender two2 -g 225.44.1.2 -p 44100 --first-port 46000 -m 2 -t 3 --pps 50000 "$SYN"
st=0
wait $s1 || st=$?
expect_eq "two senders: first sd-mcast exit status" "$st" 0
recv_wait two
check "two senders: all packets of both" python3 "$CMP" same "$TMP/two.want" "$TMP/two.pkts"
expect_eq "two senders: streams" "$(stat two total streams)" 5
expect_eq "two senders: missing" "$(stat two total missing)" 0
expect_eq "two senders: monitor of 45001" "$(stat two 225.44.1.2:45001 monitor)" 1
expect_eq "two senders: monitor of 46002" "$(stat two 225.44.1.2:46002 monitor)" 2
expect_eq "two senders: monitor 1 records" \
    "$(($(stat two 225.44.1.2:45000 records) + $(stat two 225.44.1.2:45001 records)))" 100
expect_eq "two senders: monitor 2 records" \
    "$(($(stat two 225.44.1.2:46000 records) + $(stat two 225.44.1.2:46001 records) + $(stat two 225.44.1.2:46002 records)))" 2011

# ---------------------------------------------------------------- restart
# The same sender twice (same ports): a new started token (ms clock) on
# every stream; sleep 0.01 makes sure the token changes.
cat "$TMP/p100-t1.want" "$TMP/p100-t1.want" >"$TMP/restart.want"
recv restart 200 lo 225.44.1.3 44200
sender restart1 -g 225.44.1.3 -p 44200 -t 2 --spread rr --top "$P100"
sleep 0.01
sender restart2 -g 225.44.1.3 -p 44200 -t 2 --spread rr --top "$P100"
recv_wait restart
check "restart: both runs' packets" python3 "$CMP" same "$TMP/restart.want" "$TMP/restart.pkts"
expect_eq "restart: sender_restarts" "$(stat restart total sender_restarts)" 1
expect_eq "restart: restarts of 44201" "$(stat restart 225.44.1.3:44201 restarts)" 1
expect_eq "restart: restarts of 44202" "$(stat restart 225.44.1.3:44202 restarts)" 1
expect_eq "restart: missing" "$(stat restart total missing)" 0

# ---------------------------------------------------------------- keepalives
# 4 packets at 1 per second, keepalives after 500 ms idle.
file_json ka "$P100"
head -n 4 "$TMP/ka.want" >"$TMP/ka.want4"
recv ka 4 lo 225.44.1.4 44300
sender ka -g 225.44.1.4 -p 44300 --pps 1 -c 4 --keepalive-ms 500 --flush-ms 10 "$P100"
recv_wait ka
check "keepalives: the 4 packets" python3 "$CMP" same "$TMP/ka.want4" "$TMP/ka.pkts" --order one
ka=$(stat ka 225.44.1.4:44301 keepalives)
check "keepalives: counted by the receiver ($ka)" test "$ka" -ge 2
expect_eq "keepalives: missing" "$(stat ka total missing)" 0

# ---------------------------------------------------------------- a million
# 1,000,000 sd-gen packets over 2 streams at 200,000 packets/s: all
# received, none missing, and the same multiset of packets (a digest, the
# lines are not printed). A sanitizer build (make check-sanitize sets
# ASAN_OPTIONS) decodes about 5 times slower: 50,000 packets/s there, or the
# receiver's socket buffers overflow.
G=gen:count=1000000,seed=11
RATE=200000
[ -z "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}${TSAN_OPTIONS:-}" ] || RATE=50000
recv gen 1000000 lo 225.44.1.5 44400
sender gen -g 225.44.1.5 -p 44400 -t 2 --pps "$RATE" "$G"
recv_wait gen
expect_eq "gen 1M: missing" "$(stat gen total missing)" 0
expect_eq "gen 1M: records" "$(stat gen total records)" 1000000
expect_eq "gen 1M: dropped" "$(stat gen total dropped)" 0
expect_eq "gen 1M: packets and digest" "$(python3 "$CMP" digest "$TMP/gen.pkts")" \
    "$(sd-dump -o json -x "$G" | python3 "$CMP" digest)"
rm -f "$TMP/gen.json" "$TMP/gen.pkts"

finish
