#!/bin/sh
# Every fuzz harness runs over its seed corpus (and the shared damaged files)
# without crashing, also when libFuzzer is not available.
. "$SD_SRCDIR/tests/integration/lib.sh"
for h in "$SD_BUILDDIR"/tests/fuzz/replay_*; do
    [ -x "$h" ] || continue
    name=${h##*/replay_}
    check "fuzz corpus replay: $name" "$h" "$SD_SRCDIR/tests/fuzz/corpus/$name"
done
# The Avro reader also over the damaged and golden files of the shared data.
if [ -x "$SD_BUILDDIR/tests/fuzz/replay_avro" ]; then
    check "fuzz replay: avro over ../shared/data/avro" "$SD_BUILDDIR/tests/fuzz/replay_avro" "$(data avro)" \
        "$(data flowtuple/offline/synscan/oracle-flowtuple-1278275056.avro--0)"
else
    fail "tests/fuzz/replay_avro not built"
fi
finish
