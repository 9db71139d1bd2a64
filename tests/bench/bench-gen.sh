#!/bin/sh
# sd-gen write rate into tmpfs (generator + writer + file system), pcap and
# ERF, against writing the same number of bytes with dd in the same run.
set -eu
: "${SD_BIN:?run through make bench}"
BENCH_TMP=${BENCH_TMP:-/dev/shm}
n=${SD_BENCH_GEN_PACKETS:-10000000}
out="$BENCH_TMP/sd-bench-gen.$$"
trap 'rm -f "$out.pcap" "$out.erf" "$out.dd"' EXIT INT TERM
now() { date +%s.%N; }

for fmt in pcap erf; do
    t0=$(now)
    "$SD_BIN/sd-gen" -n "$n" -o "$out.$fmt"
    t1=$(now)
    bytes=$(wc -c < "$out.$fmt")
    rm -f "$out.$fmt"
    t2=$(now)
    dd if=/dev/zero of="$out.dd" bs=1048576 count=$(((bytes + 1048575) / 1048576)) 2>/dev/null
    t3=$(now)
    rm -f "$out.dd"
    awk -v n="$n" -v fmt="$fmt" -v bytes="$bytes" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" 'BEGIN {
        v = n / (t1 - t0) / 1e6; b = n / (t3 - t2) / 1e6
        printf "{\"bench\":\"sd-gen\",\"metric\":\"mpps_%s_tmpfs\",\"value\":%.2f,", fmt, v
        printf "\"baseline\":\"dd_same_bytes\",\"baseline_value\":%.2f,\"ratio\":%.3f,", b, v / b
        printf "\"goal\":\">=5 Mpps\",\"packets\":%d,\"bytes\":%d}\n", n, bytes
    }'
done
