#!/bin/sh
# make fuzz: build every tests/fuzz/fuzz_*.c harness with clang's libFuzzer,
# ASan and UBSan, and run each over its seed corpus for SD_FUZZ_SECONDS
# (default 60) seconds, or SD_FUZZ_SECONDS_<target> for fuzz_<target>.c
# (CI: SD_FUZZ_SECONDS=10 SD_FUZZ_SECONDS_ndag=60). The library is compiled
# once, SD_FUZZ_JOBS (default 2) files at a time. New inputs go to a scratch
# copy of the corpus; a crash leaves its reproducer in
# $SD_BUILDDIR/tests/fuzz/ and fails the run.
set -eu
: "${SD_SRCDIR:?run through make fuzz}" "${SD_BUILDDIR:?run through make fuzz}"
out="$SD_BUILDDIR/tests/fuzz"
mkdir -p "$out"
cc=${FUZZ_CC:-clang}
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
incs="-I$SD_BUILDDIR -I$SD_BUILDDIR/include -I$SD_SRCDIR/include -I$SD_SRCDIR/lib"
libs="-lpcap -lwandio -ltrace -lz -lmaxminddb -lyaml -lm -pthread"
# lib/avro.c: avro-c, and libsnappy when config.h says it was found.
libs="$libs $(pkg-config --libs avro-c)"
grep -q '^#define HAVE_SNAPPY 1' "$SD_BUILDDIR/config.h" && libs="$libs $(pkg-config --libs snappy)"
status=0
# The library once, with coverage but without libFuzzer's main().
objs="$out/obj"
rm -rf "$objs" && mkdir -p "$objs"
libflags=$(echo "$flags" | sed 's/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,/')
echo "fuzz: building the library"
export cc libflags incs objs
# shellcheck disable=SC2016
ls "$SD_SRCDIR"/lib/*.c | xargs -P "${SD_FUZZ_JOBS:-2}" -I{} sh -c \
    '$cc $libflags $incs -DSD_BUILDING -c "$1" -o "$objs/$(basename "$1" .c).o"' sh {}
for h in "$SD_SRCDIR"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$h" .c)
    target=${name#fuzz_}
    eval "seconds=\${SD_FUZZ_SECONDS_$target:-\${SD_FUZZ_SECONDS:-60}}"
    echo "fuzz: building $name"
    # shellcheck disable=SC2086
    $cc $flags $incs -DSD_BUILDING \
        "$h" "$objs"/*.o -o "$out/$name" $libs
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
