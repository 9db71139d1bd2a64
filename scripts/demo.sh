#!/bin/sh
# make demo: the main job end to end on built-in synthetic telescope traffic.
# Today: generate a minute of darknet-like traffic, then decode and summarise
# it. Later stages (nDAG multicast, tagging, flowtuples, RSDOS) join here.
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

printf '\nDone. The trace is kept for you: try\n  %s/sd-dump -c 10 %s\n' "$SD_BIN" "$trace"
