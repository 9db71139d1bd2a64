#!/bin/sh
# The filter bits and tags are computed in vector lanes with AVX2, and the
# LPM counts bits with POPCNT, where the processor has them: run their unit
# suites again on the baseline path (STARDUST_SIMD=baseline), which machines
# without them take.
. "$SD_SRCDIR/tests/integration/lib.sh"
for t in check_filterbits check_tag check_lpm; do
    check "$t on the baseline path" env STARDUST_SIMD=baseline "$SD_BUILDDIR/tests/unit/$t"
done
finish
