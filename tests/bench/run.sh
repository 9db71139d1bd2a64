#!/bin/sh
# make bench: run every benchmark; each prints one JSON line per figure,
# with the baseline it is compared against measured in the same run.
set -eu
: "${SD_BUILDDIR:?run through make bench}"
export SD_SRCDIR SD_BUILDDIR SD_BIN
BENCH_TMP=${BENCH_TMP:-/dev/shm}
[ -d "$BENCH_TMP" ] || BENCH_TMP=${TMPDIR:-/tmp}
export BENCH_TMP
for b in "$SD_SRCDIR"/tests/bench/bench-*.sh; do
    [ -f "$b" ] || continue
    sh "$b"
done
for b in "$SD_BUILDDIR"/tests/bench/bench_*; do
    [ -x "$b" ] || continue
    "$b"
done
