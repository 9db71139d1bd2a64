#!/bin/sh
# make fuzz: build every tests/fuzz/fuzz_*.c harness with clang's libFuzzer,
# ASan and UBSan, and run each over its seed corpus for SD_FUZZ_SECONDS
# (default 60) seconds. New inputs go to a scratch copy of the corpus; a
# crash leaves its reproducer in $SD_BUILDDIR/tests/fuzz/ and fails the run.
set -eu
: "${SD_SRCDIR:?run through make fuzz}" "${SD_BUILDDIR:?run through make fuzz}"
seconds=${SD_FUZZ_SECONDS:-60}
out="$SD_BUILDDIR/tests/fuzz"
mkdir -p "$out"
cc=${FUZZ_CC:-clang}
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
incs="-I$SD_BUILDDIR -I$SD_BUILDDIR/include -I$SD_SRCDIR/include -I$SD_SRCDIR/lib"
libs="-lpcap -lwandio -ltrace -lz -lm -pthread"
status=0
for h in "$SD_SRCDIR"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$h" .c)
    target=${name#fuzz_}
    echo "fuzz: building $name"
    # shellcheck disable=SC2086
    $cc $flags $incs -DSD_BUILDING \
        "$h" "$SD_SRCDIR"/lib/*.c -o "$out/$name" $libs
    work=$(mktemp -d)
    cp -r "$SD_SRCDIR/tests/fuzz/corpus/$target/." "$work/" 2>/dev/null || true
    opts=""
    [ -f "$SD_SRCDIR/tests/fuzz/$name.options" ] && opts=$(cat "$SD_SRCDIR/tests/fuzz/$name.options")
    echo "fuzz: running $name for ${seconds}s"
    # shellcheck disable=SC2086
    if ! (cd "$out" && "./$name" -max_total_time="$seconds" -print_final_stats=1 $opts "$work" \
            > "$out/$name.log" 2>&1); then
        echo "fuzz: $name FAILED, see $out/$name.log" >&2
        tail -n 40 "$out/$name.log" >&2
        status=1
    else
        grep -E 'stat::number_of_executed_units' "$out/$name.log" | sed "s/^/fuzz: $name /"
    fi
    rm -rf "$work"
done
exit "$status"
