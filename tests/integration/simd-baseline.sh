#!/bin/sh
# The filter bits and tags are computed in vector lanes, with AVX2 where the
# processor has it: run their unit suites again on the baseline path
# (STARDUST_SIMD=baseline, 16-byte vectors), which machines without AVX2 take.
. "$SD_SRCDIR/tests/integration/lib.sh"
for t in check_filterbits check_tag; do
    check "$t on the baseline path" env STARDUST_SIMD=baseline "$SD_BUILDDIR/tests/unit/$t"
done
finish
