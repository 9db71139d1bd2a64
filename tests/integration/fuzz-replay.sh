#!/bin/sh
# Every fuzz harness runs over its seed corpus (and the shared damaged files)
# without crashing, also when libFuzzer is not available.
. "$SD_SRCDIR/tests/integration/lib.sh"
for h in "$SD_BUILDDIR"/tests/fuzz/replay_*; do
    [ -x "$h" ] || continue
    name=${h##*/replay_}
    check "fuzz corpus replay: $name" "$h" "$SD_SRCDIR/tests/fuzz/corpus/$name"
done
finish
