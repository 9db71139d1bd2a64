#!/bin/sh
# sd-gen end to end: pcap and ERF read back by Wireshark's tools, valid
# checksums, determinism, signals and exit codes.
. "$SD_SRCDIR/tests/integration/lib.sh"
for t in capinfos tshark; do
    command -v $t >/dev/null || { echo "FAIL: $t missing (scripts/install-deps)" >&2; exit 1; }
done

# packets FILE: the exact packet count capinfos reads.
packets() { capinfos -M -c "$1" | awk -F': *' '/Number of packets/ {print $2}'; }
field() { capinfos -M "$2" | awk -F': *' -v k="$1" '$1 == k {print $2}'; }
# tshark_bad FILE [tshark options]: packets with a bad checksum or that
# Wireshark finds malformed.
tshark_bad() {
    f=$1; shift
    tshark -r "$f" "$@" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
        -o udp.check_checksum:TRUE \
        -Y 'ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 ||
            icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || _ws.malformed' \
        2>/dev/null | wc -l | tr -d ' '
}

# --- pcap: a million packets, read back
check "sd-gen -n 1000000 -o a.pcap" sd-gen -n 1000000 -o "$TMP/a.pcap"
expect_eq "capinfos counts 1000000 packets" "$(packets "$TMP/a.pcap")" 1000000
expect_eq "pcap: Ethernet" "$(field 'File encapsulation' "$TMP/a.pcap")" "ether"
expect_eq "no temporary file left" "$(ls "$TMP" | grep -c tmp || true)" 0
expect_eq "tshark reads the first 100000 packets" \
    "$(tshark -r "$TMP/a.pcap" -c 100000 2>/dev/null | wc -l | tr -d ' ')" 100000
expect_eq "tshark: no bad checksum in 100000 packets" "$(tshark_bad "$TMP/a.pcap" -c 100000)" 0
first=$(tshark -r "$TMP/a.pcap" -c 1 -T fields -e frame.time_epoch 2>/dev/null)
expect_eq "first timestamp is the default start" "$first" "1767225600.000000000"

# --- determinism
sd-gen -n 200000 -s 9 -o "$TMP/b1.pcap"
sd-gen -n 200000 -s 9 -o "$TMP/b2.pcap"
sd-gen -n 200000 -s 10 -o "$TMP/b3.pcap"
h1=$(sha256sum < "$TMP/b1.pcap")
expect_eq "same seed: same sha256" "$(sha256sum < "$TMP/b2.pcap")" "$h1"
check "another seed: another file" test "$(sha256sum < "$TMP/b3.pcap")" != "$h1"
sd-gen -n 200000 -s 9 > "$TMP/b4.pcap"
check "standard output gives the same bytes as -o" cmp -s "$TMP/b1.pcap" "$TMP/b4.pcap"
sd-gen -n 1000 -o "$TMP/p1000.pcap"
head -c "$(wc -c < "$TMP/p1000.pcap")" "$TMP/a.pcap" > "$TMP/a-head.pcap"
check "-n 1000 is the start of -n 1000000" cmp -s "$TMP/p1000.pcap" "$TMP/a-head.pcap"

# A FIFO (or a device such as /dev/null) is written in place, never
# replaced by a renamed temporary file.
mkfifo "$TMP/fifo"
cat "$TMP/fifo" > "$TMP/from-fifo.pcap" &
check "-o FIFO" sd-gen -n 1000 -o "$TMP/fifo"
wait
check "the FIFO is still a FIFO" test -p "$TMP/fifo"
check "the FIFO carried the same bytes as a file" cmp -s "$TMP/p1000.pcap" "$TMP/from-fifo.pcap"

# --- ERF, gzip, raw, nsec
check "sd-gen -o a.erf" sd-gen -n 100000 -o "$TMP/a.erf"
expect_eq "ERF: capinfos counts 100000 packets" "$(packets "$TMP/a.erf")" 100000
expect_eq "ERF: file type" "$(field 'File type' "$TMP/a.erf")" "erf"
expect_eq "ERF: tshark finds no bad checksum" "$(tshark_bad "$TMP/a.erf" -c 20000)" 0
check "sd-gen -o a.erf.gz --raw" sd-gen -n 20000 --raw -o "$TMP/a.erf.gz"
check "a.erf.gz is gzip" sh -c "gzip -t '$TMP/a.erf.gz'"
expect_eq "ERF raw gz: 20000 packets" "$(packets "$TMP/a.erf.gz")" 20000
expect_eq "ERF raw gz: tshark finds no bad checksum" "$(tshark_bad "$TMP/a.erf.gz")" 0
check "sd-gen -F erf to standard output" sh -c "sd-gen -n 500 -F erf > '$TMP/c.erf'"
expect_eq "ERF on standard output: 500 packets" "$(packets "$TMP/c.erf")" 500
sd-gen -n 20000 --raw --nsec -z -o "$TMP/r.pcap"
expect_eq "--raw: Raw IP" "$(field 'File encapsulation' "$TMP/r.pcap")" "rawip"
expect_eq "--nsec: nanosecond pcap" "$(field 'File timestamp precision' "$TMP/r.pcap")" "nanoseconds (9)"
check "-z compresses" sh -c "gzip -t '$TMP/r.pcap'"
expect_eq "raw pcap: tshark finds no bad checksum" "$(tshark_bad "$TMP/r.pcap")" 0

# --- amount, timing and the mix
sd-gen -d 2 -r 5000 --start 1000000000 -o "$TMP/d.pcap"
n=$(packets "$TMP/d.pcap")
check "-d 2 -r 5000: about 10000 packets ($n)" test "$n" -gt 9600 -a "$n" -lt 10400
expect_eq "--start sets the first timestamp" \
    "$(tshark -r "$TMP/d.pcap" -c 1 -T fields -e frame.time_epoch 2>/dev/null)" "1000000000.000000000"
check "-n 0 writes an empty trace" sd-gen -n 0 -o "$TMP/e.pcap"
expect_eq "empty trace: 0 packets" "$(packets "$TMP/e.pcap")" 0
mirai=$(sd-gen -n 5000 --mix mirai=1 |
    tshark -r - -Y 'tcp.flags == 0x002 && (tcp.dstport == 23 || tcp.dstport == 2323)' \
        -T fields -e tcp.seq_raw -e ip.dst 2>/dev/null |
    awk '{ split($2, o, "."); if ($1 == ((o[1] * 256 + o[2]) * 256 + o[3]) * 256 + o[4]) n++ } END { print n + 0 }')
expect_eq "--mix mirai=1: 5000 Mirai SYNs (seq = destination)" "$mirai" 5000
zmap=$(sd-gen -n 2000 --mix scan=1 --scan 0 --zmap 1 -p 192.0.2.0/24 |
    tshark -r - -Y 'ip.id == 54321 && tcp.window_size_value == 65535 && ip.dst == 192.0.2.0/24' 2>/dev/null |
    wc -l | tr -d ' ')
expect_eq "--mix then --KIND, --prefix: 2000 ZMap SYNs in 192.0.2.0/24" "$zmap" 2000

# --- statistics
sd-gen -n 1000 --stats --json -o "$TMP/s.pcap" 2> "$TMP/stats.json"
check "--stats --json: one object with the packets" grep -q '^{"packets":1000,"bytes":[0-9]*,' "$TMP/stats.json"
check "--stats --json: per-kind counts" grep -q '"kinds":{"scan":[0-9]*,"masscan":' "$TMP/stats.json"
sd-gen -n 1000 --stats -o "$TMP/s.pcap" 2> "$TMP/stats.txt"
check "--stats: text summary" grep -q '^sd-gen: 1000 packets' "$TMP/stats.txt"

# --- signals: stop, close and rename the output, exit 0
sd-gen -d 0 -z -o "$TMP/sig.pcap.gz" &
pid=$!
sleep 1
kill -TERM $pid
st=0
wait $pid || st=$?
expect_eq "SIGTERM: exit 0" "$st" 0
n=$(packets "$TMP/sig.pcap.gz")
check "SIGTERM: a complete, readable trace ($n packets)" test "$n" -gt 0
expect_eq "SIGTERM: no temporary file left" "$(ls "$TMP" | grep -c 'sig.*tmp' || true)" 0

# --- help, version, usage and runtime errors
sd-gen --help > "$TMP/help" 2>&1
expect_eq "--help: exit 0" "$?" 0
check "--help: usage on standard output" grep -q '^Usage: sd-gen' "$TMP/help"
v=$(sd-gen --version | head -n 1)
expect_eq "--version" "$v" "sd-gen (stardust) $(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$SD_BUILDDIR/config.h")"
usage() { # usage NAME ARGS...: exit 2, first stderr line "sd-gen: ..."
    name=$1; shift
    st=0
    sd-gen "$@" > /dev/null 2> "$TMP/err" || st=$?
    expect_eq "$name: exit 2" "$st" 2
    check "$name: 'sd-gen: ' on the first line" sh -c "head -n 1 '$TMP/err' | grep -q '^sd-gen: '"
}
usage "unknown option" --bogus
usage "unknown short option" -q
usage "missing value" -n
usage "bad number" -n many
usage "bad rate" --pps 0
check "bad rate: the message names pps" grep -q '^sd-gen: pps: ' "$TMP/err"
usage "bad prefix" -p 44.1.0.0/9
usage "bad format" -F pcapng
usage "bad mix" --mix tcp=1
usage "count and duration" -n 5 -d 1
usage "stray argument" out.pcap
usage "--nsec with ERF" --nsec -o "$TMP/x.erf"
if command -v script >/dev/null 2>&1; then
    script -qec "sd-gen -n 1; echo status=\$?" "$TMP/typescript" > "$TMP/tty.out" 2>&1 || true
    check "binary to a terminal: refused" grep -q '^sd-gen: refusing to write binary data to a terminal' "$TMP/tty.out"
    check "binary to a terminal: exit 2" grep -q 'status=2' "$TMP/tty.out"
fi
st=0
sd-gen -n 10 -o "$TMP/no/such/dir/x.pcap" 2> "$TMP/err" || st=$?
expect_eq "unwritable output: exit 1" "$st" 1
check "unwritable output: 'sd-gen: ' and the path" grep -q "^sd-gen: .*no/such/dir" "$TMP/err"
finish
