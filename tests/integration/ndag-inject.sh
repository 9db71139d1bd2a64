#!/bin/sh
# Fault injection end to end (issue 4 point 5): real upstream nDAG captures
# (data/ndag/real) are edited with tests/ndag-edit.py (loss, duplicates,
# reordering, late datagrams, restarts, renumbering, wraps, every malformed
# class, keepalives, lctr, the truncation flag, a second sender), replayed
# inside a private network namespace into `sd-dump -q -o json --stats`, and
# every per-stream counter the receiver reports must equal what
# ndag-edit.py --expect computes independently from the spec (ndag.md 10,
# 12.2, 12.4). The scenarios and the replay are in ndag-inject.py (one
# Python process for all: start-up is slow on busy machines);
# NDAG_INJECT_ONLY=NAME runs one scenario.
if [ "${SD_IN_NETNS:-}" != 1 ]; then
    : "${SD_SRCDIR:?run through make check}"
    exec sh "$SD_SRCDIR/tests/netns-run" sh "$0" "$@"
fi
. "$SD_SRCDIR/tests/integration/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
data ndag/real/tracemcast-100_seconds-restart.pcap >/dev/null
data ndag/real/tracemcast-synscan-2streams-restart.pcap >/dev/null
data ndag/real/tracemcast-100_packets-2streams-mtu1400.pcap >/dev/null

n=0
python3 "$SD_SRCDIR/tests/integration/ndag-inject.py" "$SD_SRCDIR" "$SD_DATA" "$TMP" >"$TMP/log" 2>&1 || true
while IFS= read -r line; do
    case $line in
    "ok "*) ok "${line#ok }"; n=$((n + 1)) ;;
    "not ok "*) fail "${line#not ok }"; n=$((n + 1)) ;;
    *) echo "$line" ;;
    esac
done <"$TMP/log"
if [ -z "${NDAG_INJECT_ONLY:-}" ]; then
    # 20 scenarios + 2 two-sender runs, 2 checks each, + the merge check
    expect_eq "checks run" "$n" 45
fi
finish
