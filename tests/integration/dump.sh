#!/bin/sh
# sd-dump: tracepktdump-compatible text (against real libtrace output),
# golden text/JSON decodes of edge-case traces, filters, counts, summaries,
# JSON validity, and exit status + one clear error line for bad input.
# SD_UPDATE_GOLDEN=1 rewrites tests/integration/golden/dump-*.out.
. "$SD_SRCDIR/tests/integration/lib.sh"
GOLDEN="$SD_SRCDIR/tests/integration/golden"
command -v python3 >/dev/null || { echo "FAIL: python3 missing (scripts/install-deps)" >&2; exit 1; }

# ------------------------------------------------------------ tracepktdump
# The libtrace 4.0.34 output for the file itself: byte for byte.
sd-dump "$(data ndag/real/input/100_packets.pcap)" > "$TMP/100.txt" || true
check "100_packets.pcap: text == tracepktdump" \
    cmp -s "$TMP/100.txt" "$(data ndag/real/tracepktdump-100_packets.from-file.txt)"

# The goldens read through nDAG show Direction Value 0 instead of -1 and,
# with two streams or a sender restart, another order or repeated packets:
# compare them as multisets of packet blocks (the golden's count of each
# block must be the count in our output times `times`).
same_blocks() { # MINE GOLDEN TIMES
    python3 - "$1" "$2" "$3" <<'EOF'
import collections, gzip, sys
def blocks(path):
    op = gzip.open if path.endswith('.gz') else open
    with op(path, 'rt') as f:
        text = f.read()
    return collections.Counter(
        b.strip('\n').replace('Direction Value: 0\n', 'Direction Value: -1\n')
        for b in text.split('\n\n') if b.strip())
mine, gold, times = blocks(sys.argv[1]), blocks(sys.argv[2]), int(sys.argv[3])
extra = [b for b in gold if gold[b] > mine[b] * times]
if extra or sum(gold.values()) == 0:
    print('golden block not produced:\n' + (extra[0] if extra else '(empty golden)'), file=sys.stderr)
    sys.exit(1)
EOF
}
check "100_packets.pcap: blocks == tracepktdump over nDAG (1 stream)" \
    same_blocks "$TMP/100.txt" "$(data ndag/real/tracepktdump-100_packets.txt)" 1
check "100_packets.pcap: blocks == tracepktdump over nDAG (2 streams)" \
    same_blocks "$TMP/100.txt" "$(data ndag/real/tracepktdump-100_packets-2streams-mtu1400.txt)" 1
sd-dump "$(data ndag/real/input/synscan.pcap)" > "$TMP/syn.txt" || true
check "synscan.pcap: blocks == tracepktdump over nDAG (2 streams, sent twice)" \
    same_blocks "$TMP/syn.txt" "$(data ndag/real/tracepktdump-synscan-2streams-restart.txt.gz)" 2
expect_eq "synscan.pcap: 2011 packets" "$(grep -c '^ Capture:' "$TMP/syn.txt")" 2011
sd-dump "$(data ndag/real/input/100_seconds.pcap)" > "$TMP/s100.txt" || true
check "100_seconds.pcap: blocks == tracepktdump over nDAG (restart)" \
    same_blocks "$TMP/s100.txt" "$(data ndag/real/tracepktdump-100_seconds-restart.txt)" 2
expect_eq "text output: leading and final empty line" \
    "$(head -n 1 "$TMP/100.txt")|$(tail -n 1 "$TMP/100.txt")|$(grep -c '^$' "$TMP/100.txt")" "||101"

# The same bytes through standard input, a gzip stream and a libtrace-style
# format prefix.
P100=$(data ndag/real/input/100_packets.pcap)
check "'-' reads standard input" sh -c 'sd-dump - < "$1" | cmp -s - "$2"' sh "$P100" "$TMP/100.txt"
gzip -c "$P100" > "$TMP/100.pcap.gz"
check "gzip-compressed input" sh -c 'sd-dump "$1" | cmp -s - "$2"' sh "$TMP/100.pcap.gz" "$TMP/100.txt"
check "pcapfile: URI" sh -c 'sd-dump "pcapfile:$1" | cmp -s - "$2"' sh "$P100" "$TMP/100.txt"

# TZ applies to the time line (ctime(3) is local time).
expect_eq "TZ moves the time line" \
    "$(TZ=Pacific/Auckland sd-dump -c 1 "$(data ndag/real/input/100_packets.pcap)" | sed -n 2p)" \
    "Thu Sep 16 12:00:01 2004"

# ------------------------------------------------------------ golden decodes
# Each case: name | arguments (data paths relative to SD_DATA, marked @).
# The text and JSON goldens were checked by eye against tshark -V.
golden() { # NAME ARGS...
    name=$1; shift
    args=""
    for a in "$@"; do
        case $a in @*) a=$(data "${a#@}") ;; esac
        args="$args '$a'"
    done
    eval "sd-dump $args" > "$TMP/$name.out" 2> "$TMP/$name.err"
    st=$?
    if [ "${SD_UPDATE_GOLDEN:-0}" = 1 ]; then
        cp "$TMP/$name.out" "$GOLDEN/dump-$name.out"
    fi
    if [ "$st" -ne 0 ]; then
        fail "golden $name: exit $st: $(cat "$TMP/$name.err")"
    elif cmp -s "$TMP/$name.out" "$GOLDEN/dump-$name.out"; then
        ok "golden $name"
    else
        fail "golden $name differs:"
        diff "$GOLDEN/dump-$name.out" "$TMP/$name.out" | head -20 >&2
    fi
}
set +e
for fmt in text json; do
    golden "vlan-$fmt" -o $fmt -c 12 @pcap/libtrace/vlan.pcap
    golden "qinq-$fmt" -o $fmt @pcap/libtrace/qinq.pcap
    golden "zeek-q-in-q-$fmt" -o $fmt @pcap/zeek/q-in-q.pcap
    golden "vlan-qinqinq-$fmt" -o $fmt -c 4 @pcap/zeek/vlan-qinqinq.pcap
    golden "mpls-in-vlan-$fmt" -o $fmt @pcap/zeek/mpls-in-vlan.pcap
    golden "ip-in-mpls-$fmt" -o $fmt -c 6 @pcap/libtrace/ip-in-mpls.pcap.gz
    golden "tcpreplay-$fmt" -o $fmt @pcap/tcpreplay/test.pcap
    golden "pcapng-$fmt" -o $fmt -c 5 @pcap/libtrace/100_packets.pcapng
    golden "complex-pcapng-$fmt" -o $fmt @pcap/libtrace/complex.pcapng
    golden "erf-$fmt" -o $fmt @pcap/libtrace/5_packets.erf.gz
    golden "sll2-$fmt" -o $fmt @pcap/zeek/linux_dlt_sll2.pcap
    golden "null-$fmt" -o $fmt @pcap/zeek/udp-multiple-source-ports.pcap
    golden "raw-$fmt" -o $fmt @pcap/zeek/tcp_payload-syn.pcap
    golden "tcp-options-$fmt" -o $fmt @pcap/zeek/tcp_options.pcap
    golden "ipv6-hbh-routing0-$fmt" -o $fmt @pcap/zeek/ipv6-hbh-routing0.pcap
    golden "ipv6-frag-$fmt" -o $fmt @pcap/zeek/ipv6-fragmented-dns.pcap
    golden "ipv4-frag-$fmt" -o $fmt @pcap/zeek/ipv4_fragmented-syn.pcap
    golden "icmp-unreach-$fmt" -o $fmt @pcap/zeek/icmp_icmp-destunreach-udp.pcap
    golden "icmp-ttl-$fmt" -o $fmt @pcap/zeek/icmp_icmp-timeexceeded.pcap
    golden "icmp6-$fmt" -o $fmt @pcap/zeek/icmp_icmp6-destunreach-ip6ext-udp.pcap
    golden "6in4-$fmt" -o $fmt @pcap/zeek/tunnels_6in4.pcap
    golden "4in6-$fmt" -o $fmt @pcap/zeek/tunnels_4in6.pcap
    golden "bogus-header-$fmt" -o $fmt @pcap/zeek/ip-bogus-header-len.pcap
    golden "unknown-proto-$fmt" -o $fmt @pcap/zeek/unknown-ip-short-payload.pcap
    for t in trunc-hdr ip4-trunc ip6-trunc ip6-ext-trunc icmp-header-trunc \
             icmp-payload-trunc ipv4-internally-truncated-header \
             ipv4-truncated-broken-header; do
        golden "trunc-$t-$fmt" -o $fmt "@pcap/zeek/trunc_$t.pcap"
    done
done
set -e

# Linux cooked v1 (no such trace in the shared data): a pcap made here with
# an outgoing and an incoming IPv4/UDP frame. libtrace gives such frames a
# direction (0 outgoing, 1 otherwise).
python3 - "$TMP/sll.pcap" <<'EOF'
import struct, sys
ip = bytes.fromhex('4500001c000100004011f97e0a0000010a000002')  # 10.0.0.1 > 10.0.0.2 UDP
udp = struct.pack('>HHHH', 5353, 53, 8, 0)
def sll(pkttype):
    return struct.pack('>HHH8sH', pkttype, 1, 6, bytes.fromhex('0011223344550000'), 0x0800)
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 113))
    for i, t in enumerate((4, 0)):
        frame = sll(t) + ip + udp
        f.write(struct.pack('<IIII', 1700000000 + i, 0, len(frame), len(frame)) + frame)
EOF
sd-dump "$TMP/sll.pcap" > "$TMP/sll.txt" || true
expect_eq "Linux SLL: direction from the packet type" \
    "$(grep -o 'Direction Value: .*' "$TMP/sll.txt" | tr '\n' ',')" "Direction Value: 0,Direction Value: 1,"
expect_eq "Linux SLL: header line and IPv4/UDP inside" \
    "$(sed -n '4p;8p;9p' "$TMP/sll.txt")" \
    " Linux SLL: Packet Type 4 (outgoing) Address Type 1 Address 00:11:22:33:44:55 Protocol 0x0800
 IP: Source 10.0.0.1 Destination 10.0.0.2
 UDP: Source 5353 (mdns) Dest 53 (domain)"
expect_eq "Linux SLL: JSON" "$(sd-dump -c 1 --json "$TMP/sll.pcap" | python3 -c '
import json, sys
o = json.loads(sys.stdin.read())
print(o["sll"], o["ipv4"]["src"], o["udp"]["dport"])')" \
    "{'pkttype': 4, 'hatype': 1, 'addr': '00:11:22:33:44:55', 'protocol': 2048} 10.0.0.1 53"

# Cut headers are marked, not dropped, and exit 0.
expect_eq "truncated Ethernet header is marked" \
    "$(sd-dump "$(data pcap/zeek/trunc_trunc-hdr.pcap)" | grep -c 'Ethernet:\[|Truncated\]')" 1
expect_eq "JSON flags a truncated IPv4 header" \
    "$(sd-dump --json "$(data pcap/zeek/trunc_ip4-trunc.pcap)" | grep -c '"truncated":true')" 1

# ------------------------------------------------------------ JSON validity
# Every line of every readable trace must parse, with the fixed keys.
json_ok() { # FILE
    python3 - "$1" <<'EOF'
import json, sys
need = ('timestamp', 'ts_ns', 'caplen', 'wirelen', 'linktype', 'iface', 'truncated', 'malformed')
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        o = json.loads(line)
        for k in need:
            if k not in o:
                sys.exit('line %d: no key %s' % (n + 1, k))
        sec, ns = o['timestamp'].split('.')
        if len(ns) != 9 or int(sec) * 10**9 + int(ns) != o['ts_ns']:
            sys.exit('line %d: timestamp %s != ts_ns %d' % (n + 1, o['timestamp'], o['ts_ns']))
        n += 1
print(n)
EOF
}
for f in ndag/real/input/synscan.pcap pcap/tcpreplay/test.pcap pcap/zeek/wikipedia.pcap \
         pcap/zeek/tunnels_Teredo.pcap pcap/zeek/communityid_icmp6.pcap \
         pcap/libtrace/100_packets.erf pcap/libtrace/vlan.pcap; do
    sd-dump -o json "$(data "$f")" > "$TMP/j.json" || true
    want=$(sd-dump -q "$(data "$f")" | awk '$1 == "packets" { print $2 }')
    expect_eq "JSON valid, one object per packet: $f" "$(json_ok "$TMP/j.json" 2>&1)" "$want"
done
# The URI in the --stats object: quote, backslash, newline and a byte that
# is not UTF-8 must come out escaped (U+FFFD for the stray byte).
ODD=$(printf '%s/a"b\\c\nd\377.pcap' "$TMP")
cp "$(data pcap/zeek/tcp_syn.pcap)" "$ODD"
sd-dump -q --json --stats "$ODD" 2> "$TMP/odd.err" > /dev/null || true
expect_eq "JSON string escaping (--stats uri)" "$(python3 -c '
import json, sys
o = json.loads(open(sys.argv[1], "rb").read().decode("ascii"))
print(o["uri"].split("/")[-1] == "a\"b\\c\nd\ufffd.pcap", o["packets"])' "$TMP/odd.err" 2>&1)" "True 1"

# ------------------------------------------------------------ count, filter
SYN=$(data ndag/real/input/synscan.pcap)
expect_eq "-c 3 prints 3 packets" "$(sd-dump -c 3 "$SYN" | grep -c '^ Capture:')" 3
expect_eq "--count 5 -o json prints 5 lines" "$(sd-dump --count 5 -o json "$SYN" | wc -l | tr -d ' ')" 5
# tshark -r synscan.pcap -Y 'tcp.flags.syn==1' | wc -l  ->  2006
expect_eq "-f 'tcp[13] & 2 != 0' on synscan: 2006 SYNs (tshark)" \
    "$(sd-dump -f 'tcp[13] & 2 != 0' "$SYN" | grep -c '^ Capture:')" 2006
expect_eq "-f with -q" \
    "$(sd-dump -q -f 'tcp[13] & 2 != 0' "$SYN" | awk '$1 == "packets" { print $2 }')" 2006
expect_eq "--stats counts filtered packets" \
    "$(sd-dump -q --stats -f 'tcp[13] & 2 != 0' "$SYN" 2>&1 >/dev/null)" \
    "sd-dump: $SYN: packets 2006 bytes 116372 wire_bytes 116372 filtered 5 skipped 0 malformed 0 dropped 0"

# ------------------------------------------------------------ summaries
# synscan: tshark -T fields -e frame.protocols says 2011 x eth:ethertype:ip:tcp;
# the sums of frame.cap_len and frame.len are 116672 (116372 for the SYNs).
sd-dump -q "$SYN" > "$TMP/q.txt" || true
expect_eq "-q synscan" "$(tr -s ' ' < "$TMP/q.txt" | tr '\n' ',')" \
    "packets 2011,bytes 116672,wire_bytes 116672,ipv4 2011,ipv6 0,non_ip 0,tcp 2011,udp 0,icmp 0,icmpv6 0,other 0,fragments 0,truncated 0,malformed 0,"
# tcpreplay/test.pcap per tshark (-o ip.defragment:FALSE, frame.protocols):
# 156 IPv4 (incl. 6 in MPLS) + 10 IPv4 behind an MPLS pseudowire + 10 IPv6
# + 3 other (ARP, IS-IS, loopback); TCP 106 + 10 over IPv6, UDP 28,
# ICMP 18 + 10 behind the pseudowire, other 4 (3 IGMP, 1 EIGRP); no fragments.
sd-dump -q -o json "$(data pcap/tcpreplay/test.pcap)" > "$TMP/q.json" || true
expect_eq "-q tcpreplay/test.pcap" "$(cat "$TMP/q.json")" \
    '{"packets":179,"bytes":69000,"wire_bytes":69000,"ipv4":166,"ipv6":10,"non_ip":3,"tcp":116,"udp":28,"icmp":28,"icmpv6":0,"other":4,"fragments":0,"truncated":0,"malformed":0}'
check "-q -o json is one JSON object" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/q.json"

# ------------------------------------------------------------ errors
# run_err NAME WANT_STATUS WANT_SUBSTRING ARGS...: exactly one stderr line,
# prefixed "sd-dump: ", containing the substring, and the exit status.
run_err() {
    name=$1 want=$2 sub=$3; shift 3
    set +e
    sd-dump "$@" > "$TMP/e.out" 2> "$TMP/e.err"
    st=$?
    set -e
    lines=$(wc -l < "$TMP/e.err" | tr -d ' ')
    if [ "$st" -eq "$want" ] && [ "$lines" -ge 1 ] && head -n 1 "$TMP/e.err" | grep -q "^sd-dump: " &&
       grep -qF -- "$sub" "$TMP/e.err"; then
        ok "$name (exit $st)"
    else
        fail "$name: exit $st (want $want), stderr: $(cat "$TMP/e.err")"
    fi
}
one_line() { [ "$(wc -l < "$TMP/e.err" | tr -d ' ')" = 1 ]; }

DMG=$(data pcap/pcapfix/test_damaged.pcap)
run_err "damaged pcap" 1 "$DMG" "$DMG"
check "damaged pcap: one error line" one_line
expect_eq "damaged pcap: the packet before the damage is printed" "$(grep -c '^ Capture:' "$TMP/e.out")" 1
check "damaged pcap: text output still ends with the empty line" test -z "$(tail -n 1 "$TMP/e.out")"
NOHDR=$(data pcap/pcapfix/test_without_pcap_header.pcap)
run_err "pcap without file header" 1 "$NOHDR" "$NOHDR"
check "pcap without file header: one error line" one_line
run_err "damaged pcap, JSON mode: code named" 1 "(SD_ERR_" -o json "$DMG"
run_err "missing file" 1 "/nonexistent/trace.pcap" /nonexistent/trace.pcap
check "missing file: one error line" one_line
run_err "unknown URI scheme" 1 "nosuchscheme:" nosuchscheme:foo
run_err "directory" 1 "$SD_DATA/pcap" "$SD_DATA/pcap"
check "directory: one error line" one_line

# The hand-made broken files of the readers' tests: exit 1, one line that
# names the file (packets before the damage may be printed).
for f in "$SD_SRCDIR"/tests/data/bad/*/*.erf "$SD_SRCDIR"/tests/data/bad/*/*.pcapng; do
    [ -f "$f" ] || continue
    run_err "broken $(basename "$f")" 1 "$f" -q "$f"
    check "broken $(basename "$f"): one error line" one_line
done

EMPTY=$(data pcap/zeek/empty.pcap)
set +e
sd-dump "$EMPTY" > "$TMP/empty.out" 2> "$TMP/empty.err"
st=$?
set -e
expect_eq "empty pcap (header only): exit 0, no packets" \
    "$st|$(cat "$TMP/empty.err")|$(grep -c Capture "$TMP/empty.out")" "0||0"
for t in trunc-hdr ip4-trunc ip6-trunc ip6-ext-trunc icmp-header-trunc icmp-payload-trunc \
         ipv4-internally-truncated-header ipv4-truncated-broken-header; do
    set +e
    sd-dump -q "$(data "pcap/zeek/trunc_$t.pcap")" > /dev/null 2> "$TMP/t.err"
    st=$?
    set -e
    expect_eq "trunc_$t.pcap: decoded, exit 0" "$st|$(cat "$TMP/t.err")" "0|"
done

# Usage errors: exit 2, the error on the first line, usage after it.
run_err "unknown option" 2 "unknown option" --no-such-option "$SYN"
check "usage error: usage line follows" grep -q "^usage: sd-dump" "$TMP/e.err"
run_err "unknown short option" 2 "unknown option '-Z'" -Z "$SYN"
run_err "bad --count" 2 "invalid packet count 'x'" -c x "$SYN"
run_err "--count 0" 2 "invalid packet count '0'" -c 0 "$SYN"
run_err "bad --output" 2 "unknown output format 'xml'" -o xml "$SYN"
run_err "missing option value" 2 "needs a value" "$SYN" -c
run_err "no URI" 2 "no input URI"
run_err "two URIs" 2 "too many arguments" "$SYN" "$SYN"
run_err "filter that does not compile" 2 "(SD_ERR_FILTER)" -f "tcp[[" "$SYN"

# ------------------------------------------------------------ signals
# sd-dump reads a FIFO that a held-open descriptor keeps from reaching EOF,
# so it blocks in the open; wait until it has installed its SIGTERM handler
# (SigCgt in /proc), then signal it.
catches_term() { # PID: the SIGTERM (15) bit of SigCgt is set
    m=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$m" ] && [ $(( 0x$m >> 14 & 1 )) -eq 1 ]
}
wait_catching() { # PID
    i=0
    while ! catches_term "$1"; do
        i=$((i + 1))
        [ $i -lt 600 ] || return 1
        sleep 0.1
    done
}
if [ -r /proc/self/status ]; then
    mkfifo "$TMP/fifo1" "$TMP/fifo2"
    exec 3<> "$TMP/fifo1"
    sd-dump -q - < "$TMP/fifo1" > "$TMP/sig1.out" 2> "$TMP/sig1.err" 3>&- &
    pid=$!
    wait_catching $pid || fail "sd-dump never installed its SIGTERM handler"
    kill -TERM $pid
    cat "$P100" >&3
    exec 3>&-
    set +e; wait $pid; st=$?; set -e
    expect_eq "first SIGTERM: stop cleanly, exit 0, summary printed" \
        "$st|$(cat "$TMP/sig1.err")|$(grep -c '^packets' "$TMP/sig1.out")" "0||1"

    exec 4<> "$TMP/fifo2"
    sd-dump - < "$TMP/fifo2" > /dev/null 2>&1 4>&- &
    pid=$!
    wait_catching $pid || fail "sd-dump never installed its SIGTERM handler"
    # The first signal only sets the stop flag; the next one exits at once.
    while kill -TERM $pid 2>/dev/null; do sleep 0.1; done
    set +e; wait $pid; st=$?; set -e
    exec 4>&-
    expect_eq "second SIGTERM: exit 1 at once" "$st" 1
fi

# ------------------------------------------------------------ -x / --hex
# The captured bytes of tcp_syn.pcap's one packet (78 bytes at offset 40 of
# the file, checked against the file itself too).
SYN1=$(data pcap/zeek/tcp_syn.pcap)
SYNHEX=0010db88d2efc8bcc896d2a0080045000040df8e400040066dd38d8ee405c096bb2be9d00050fe21323a00000000b002ffff3bc00000020405b4010303040101080a164add200000000004020000
expect_eq "the expected bytes are the file's" "$(od -An -v -tx1 -j40 "$SYN1" | tr -d ' \n')" "$SYNHEX"
expect_eq "-x -o json: \"data\" is the last key" \
    "$(sd-dump -x -o json "$SYN1" | sed -n 's/.*,"malformed":false,"data":"\([0-9a-f]*\)"}$/\1/p')" "$SYNHEX"
expect_eq "--hex = -x" "$(sd-dump --hex --json "$SYN1")" "$(sd-dump -x -o json "$SYN1")"
check "without -x no data key" sh -c "! sd-dump -o json '$SYN1' | grep -q '\"data\"'"
sd-dump -x "$SYN1" > "$TMP/hex.txt"
expect_eq "-x text: hex dump after the decode" "$(sed -n '/^ Hex:/,$p' "$TMP/hex.txt")" \
" Hex: 78 bytes
  00 10 db 88 d2 ef c8 bc c8 96 d2 a0 08 00 45 00    ..............E.
  00 40 df 8e 40 00 40 06 6d d3 8d 8e e4 05 c0 96    .@..@.@.m.......
  bb 2b e9 d0 00 50 fe 21 32 3a 00 00 00 00 b0 02    .+...P.!2:......
  ff ff 3b c0 00 00 02 04 05 b4 01 03 03 04 01 01    ..;.............
  08 0a 16 4a dd 20 00 00 00 00 04 02 00 00          ...J. ........      "
expect_eq "-x text: the decode itself unchanged" "$(sed '/^ Hex:/,$d' "$TMP/hex.txt")" \
    "$(sd-dump "$SYN1" | sed '$d')"
expect_eq "-x -q: summary only" "$(sd-dump -x -q "$SYN1")" "$(sd-dump -q "$SYN1")"

# ------------------------------------------------------------ help, version
sd-dump --help > "$TMP/help.out" || true
check "--help to stdout, exit 0" grep -q "^usage: sd-dump" "$TMP/help.out"
expect_eq "--version" "$(sd-dump --version | sed 's/[0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*/X.Y.Z/g')" \
    "sd-dump (stardust) X.Y.Z
libstardust X.Y.Z"
expect_eq "-V = --version" "$(sd-dump -V)" "$(sd-dump --version)"

finish
