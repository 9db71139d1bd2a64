#!/bin/sh
# make demo: the main job end to end on built-in synthetic telescope traffic.
# Today: generate a minute of darknet-like traffic, decode and summarise it,
# then multicast it as nDAG and receive it, and tag it with origin AS and
# geolocation (sd-tagger) using the shared provider data, and count it into
# flowtuple Avro files (sd-flowtuple). Later stages (RSDOS) join here.
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

data="${SD_DATA:-$SD_SRCDIR/../shared/data}"
pfx2as="$data/pfx2as/routeviews-rv2-20170329-0200.pfx2as.gz"
say "7. Who is that? Origin AS and location of one address (sd-tagger --lookup)"
printf 'sd-tagger --pfx2as routeviews-rv2-20170329-0200.pfx2as.gz --mmdb GeoIP2-City-Test.mmdb --lookup 2.125.160.216\n'
sd-tagger --pfx2as "$pfx2as" --mmdb "$data/mmdb/GeoIP2-City-Test.mmdb" --lookup 2.125.160.216

say "8. Tag every packet and multicast the tagged stream (sd-tagger), in the namespace"
printf 'sd-tagger --pfx2as ... --maxmind-csv maxmind-csv --netacq netacq -g 225.44.0.2 -p 44001 --stats TRACE\n'
printf 'tags each packet with its filter bits, origin AS (RouteViews 2017) and location (the\n'
printf 'synthetic MaxMind/Net Acuity fixtures, so few hits), sends CORSAROTAG nDAG and prints\n'
printf 'its tag counts; sd-dump -c 2 shows the first two tagged packets it receives.\n\n'
sh "$SD_SRCDIR/tests/netns-run" sh -c '
    timeout 120 sd-dump -c 2 "ndag:lo,225.44.0.2,44001" &
    rx=$!
    i=0
    while ! ip maddr show dev lo | grep -q 225.44.0.2 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    sd-tagger -q --stats --pfx2as "$2" --maxmind-csv "$3/maxmind-csv" --netacq "$3/netacq" \
        -g 225.44.0.2 -p 44001 "$1"
    wait $rx' sh "$trace" "$pfx2as" "$data"

say "9. Flowtuples: per-minute 8-tuple counts as Avro files (sd-flowtuple), top talkers from them"
printf 'sd-flowtuple -o DIR -m demo --stats TRACE writes one file per minute, named as corsarotrace\n'
printf 'names them; sd-avro cat reads them back for the summary below.\n\n'
ftdir="$work/flowtuple"
rm -rf "$ftdir"
mkdir -p "$ftdir"
sd-flowtuple -o "$ftdir" -m demo --stats --no-progress "$trace"
ls "$ftdir" | sed 's/^/  /'
sd-avro cat "$ftdir"/*.avro | python3 "$SD_SRCDIR/scripts/ft_top.py" 10

printf '\nDone. The trace is kept for you: try\n  %s/sd-dump -c 10 %s\n' "$SD_BIN" "$trace"
