#!/bin/sh
# make demo: the main job end to end on built-in synthetic telescope traffic.
# Today: generate a minute of darknet-like traffic, decode and summarise it,
# then multicast it as nDAG and receive it. Later stages (tagging,
# flowtuples, RSDOS) join here.
set -eu
: "${SD_BIN:?run through make demo}"
PATH="$SD_BIN:$PATH"
export TZ=UTC
# The trace stays in the build tree so you can explore it afterwards.
work="${SD_BUILDDIR:-.}/demo"
mkdir -p "$work"
trace="$work/telescope.pcap"

if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold= plain=; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

say "1. Synthetic telescope traffic: 60 s at 20 kpps towards 44.0.0.0/9 (sd-gen)"
sd-gen --duration 60 --pps 20000 --seed 2026 --stats -o "$trace"
ls -l "$trace" | awk '{printf "wrote %s (%d bytes)\n", $NF, $5}'

say "2. What arrived (sd-dump -q)"
sd-dump -q "$trace"

say "3. TCP SYNs only, via a BPF filter (sd-dump -q -f 'tcp[13] & 2 != 0 and tcp[13] & 16 == 0')"
sd-dump -q -f 'tcp[13] & 2 != 0 and tcp[13] & 16 == 0' "$trace"

say "4. Backscatter: SYN-ACKs and RSTs from DoS victims, first 3 decoded (sd-dump -c 3)"
sd-dump -c 3 -f 'tcp[13] & 18 == 18 or tcp[13] & 4 != 0' "$trace"

say "5. The same as JSON, one object per packet, for jq and scripts (sd-dump -o json -c 2)"
sd-dump -o json -c 2 "$trace"

say "6. The same minute as a live nDAG multicast feed, 10x faster, in a private network namespace"
printf 'sd-mcast -g 225.44.0.1 -p 44000 -t 2 --speed 10 sends it (2 streams, beacons every second);\n'
printf 'sd-dump -q --stats ndag:lo,225.44.0.1,44000 receives it and prints its loss table.\n\n'
# Nothing leaves the machine: tests/netns-run gives the two tools a
# namespace of their own whose only interface is a multicast loopback.
sh "$SD_SRCDIR/tests/netns-run" sh -c '
    sd-dump -q --stats "ndag:lo,225.44.0.1,44000" &
    rx=$!
    # Send once the receiver has joined the beacon group (bounded wait).
    i=0
    while ! ip maddr show dev lo | grep -q 225.44.0.1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    sd-mcast -g 225.44.0.1 -p 44000 -t 2 --speed 10 --no-progress "$1"
    sleep 0.5
    # sd-dump stops on SIGTERM (SIGINT is ignored by background jobs).
    kill -TERM $rx
    wait $rx' sh "$trace"

printf '\nDone. The trace is kept for you: try\n  %s/sd-dump -c 10 %s\n' "$SD_BIN" "$trace"
