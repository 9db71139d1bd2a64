#!/bin/sh
# sd-avro merge and ft3to4, sd-flowtuple --format ft4: FT4 from packets
# equals FT4 from the FT3 files of the same traffic (record for record);
# merging interim files equals the merged run; merging the golden
# corsarotrace interim files gives corsaroftmerge's output; ft3to4 ignores
# the order of its inputs; bad inputs fail with exit 1 and leave no file.
. "$SD_SRCDIR/tests/integration/lib.sh"

# cat_files FILE...: the records of the files as JSON lines, in file order.
cat_files() {
    for f in "$@"; do sd-avro cat "$f" || return 1; done
}
# same_dirs NAME A B: the same FT4 file names in A and B, and every file
# byte-identical records.
same_dirs() {
    la=$(cd "$2" && ls | tr '\n' ' ')
    lb=$(cd "$3" && ls | tr '\n' ' ')
    if [ "$la" != "$lb" ] || [ -z "$la" ]; then fail "$1: file names '$la' vs '$lb'"; return; fi
    for f in $(cd "$2" && ls | grep -v '\.done$'); do
        sd-avro cat "$2/$f" > "$TMP/sa" || { fail "$1: $f unreadable"; return; }
        sd-avro cat "$3/$f" > "$TMP/sb" || { fail "$1: $f unreadable"; return; }
        if ! cmp -s "$TMP/sa" "$TMP/sb"; then
            diff "$TMP/sa" "$TMP/sb" | head -5 >&2
            fail "$1: $f differs"
            return
        fi
    done
    ok "$1 ($(echo "$la" | wc -w) files)"
}

# ------------------------------------------------ FT4 from packets = from FT3
# 10 minutes of sd-gen traffic from few sources (groups of several
# tuples), 60 s FT3 intervals: two full FT4 intervals and a partial one.
GEN=gen:count=60k,pps=100,sources=50,seed=11
mkdir "$TMP/p" "$TMP/f3" "$TMP/f4"
sd-flowtuple -q -o "$TMP/p" -m t --format ft4 --stats --json "$GEN" 2> "$TMP/p.stats" ||
    { cat "$TMP/p.stats" >&2; fail "sd-flowtuple --format ft4 runs"; }
sd-flowtuple -q -o "$TMP/f3" -m t "$GEN"
# shellcheck disable=SC2046
sd-avro ft3to4 -o "$TMP/f4" $(ls "$TMP"/f3/*.avro)
expect_eq "ft4: file names" "$(cd "$TMP/p" && ls | head -2 | tr '\n' ' ')" \
    "v3_5min_1767225600.ft4.avro v3_5min_1767225600.ft4.avro.done "
check "ft4: several FT4 files" test "$(ls "$TMP/p" | grep -c 'ft4.avro$')" -ge 2
check "ft4: groups of several FT3 records" \
    test "$(sed -n 's/.*"ft4_records":\([0-9]*\).*/\1/p' "$TMP/p.stats")" -lt \
    "$(sed -n 's/.*"records":\([0-9]*\).*/\1/p' "$TMP/p.stats")"
same_dirs "ft4 from packets = ft3to4 of the FT3 files" "$TMP/p" "$TMP/f4"
sd-avro stats --json "$TMP"/p/*.ft4.avro > "$TMP/p.json"
check "ft4: metadata stardust.ft4.dst_prefix_len 16, interval 300" \
    sh -c '! grep -v "\"ft4_dst_prefix_len\":\"16\",\"ft4_interval\":\"300\"" "$1"' _ "$TMP/p.json"
expect_eq "ft4: packets = counted packets" \
    "$(sed -n 's/.*"packets":\([0-9]*\).*/\1/p' "$TMP/p.json" | awk '{s += $1} END {print s}')" \
    "$(sed -n 's/.*"counted":\([0-9]*\).*/\1/p' "$TMP/p.stats")"

# Two threads, /24, 120 s FT4 intervals, a template.
mkdir "$TMP/p2" "$TMP/f42" "$TMP/i2"
sd-flowtuple -q -o "$TMP/p2" -m t -n 2 --format ft4 --ft4-prefix 24 --ft4-interval 120 \
    -t 'x-%s-%Y.ft4' "$GEN"
sd-flowtuple -q -o "$TMP/i2" -m t -n 2 --interim "$GEN"
# shellcheck disable=SC2046
sd-avro ft3to4 --prefix 24 --interval 120 -o "$TMP/f42/x-%s-%Y.ft4" $(ls "$TMP"/i2/*.avro--?)
same_dirs "ft4 /24 120 s, 2 threads = ft3to4 of the interim files" "$TMP/p2" "$TMP/f42"
check "ft4 template: %s and strftime" test -f "$TMP/p2/x-1767225600-2026.ft4"
expect_eq "ft4 template: metadata" \
    "$(sd-avro stats --json "$TMP/p2/x-1767225600-2026.ft4" | sed 's/.*"ft4_dst_prefix_len"/"ft4_dst_prefix_len"/')" \
    '"ft4_dst_prefix_len":"24","ft4_interval":"120"}'

# ------------------------------------------------ ft3to4: any input order
mkdir "$TMP/rev" "$TMP/shuf"
# shellcheck disable=SC2046
sd-avro ft3to4 -o "$TMP/rev" $(ls -r "$TMP"/f3/*.avro)
# shellcheck disable=SC2046
sd-avro ft3to4 -o "$TMP/shuf" $(ls "$TMP"/f3/*.avro | awk '{print NR % 3, $0}' | sort -s -k1,1 | cut -d' ' -f2)
same_dirs "ft3to4: reversed input order" "$TMP/f4" "$TMP/rev"
same_dirs "ft3to4: shuffled input order" "$TMP/f4" "$TMP/shuf"
sd-avro ft3to4 -o "$TMP/missing" "$TMP"/f3/*.avro 2> /dev/null &&
    fail "ft3to4: missing output directory accepted" || ok "ft3to4: missing output directory refused"

# ------------------------------------------------ merge = merged run
for src in gen synscan; do
    case $src in
    gen) in=$GEN ;;
    *) in=$(data ndag/real/input/synscan.pcap) ;;
    esac
    mkdir "$TMP/m1-$src" "$TMP/m2-$src" "$TMP/mm-$src"
    sd-flowtuple -q -o "$TMP/m1-$src" -m t "$in"
    sd-flowtuple -q -o "$TMP/m2-$src" -m t -n 2 --interim "$in"
    # shellcheck disable=SC2046
    sd-avro merge -o "$TMP/mm-$src/all.avro" $(ls "$TMP/m2-$src"/*.avro--?)
    # shellcheck disable=SC2046
    cat_files $(ls "$TMP/m1-$src"/*.avro) > "$TMP/want"
    cat_files "$TMP/mm-$src/all.avro" > "$TMP/got"
    check "merge ($src): interim files of --threads 2 = --threads 1, byte-identical records" \
        cmp -s "$TMP/got" "$TMP/want"
    check "merge ($src): .done beside the output" test -f "$TMP/mm-$src/all.avro.done"
done
# Provenance metadata of each writer: tool and version, the command line
# (its program name here), and the interval and prefix the readers need.
meta_of() {
    /usr/bin/python3 -c '
import sys, avro.datafile, avro.io
r = avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader())
print(" ".join("%s=%s" % (k, r.meta[k].decode()) for k in sorted(r.meta)
               if k.startswith("stardust.") and k != "stardust.command"),
      "command=" + r.meta.get("stardust.command", b"-").decode().split(" ")[0]
                   .rsplit("/", 1)[-1].replace("lt-", "", 1))' "$1" |
        sed -E 's/ [0-9]+[.][0-9][^ ]* / V /'
}
f3=$(ls "$TMP"/m1-gen/*.avro | head -1)
expect_eq "provenance: sd-flowtuple FT3" "$(meta_of "$f3")" \
    "stardust.ft3.interval=60 stardust.tool=sd-flowtuple V command=sd-flowtuple"
expect_eq "provenance: sd-avro merge" "$(meta_of "$TMP/mm-gen/all.avro")" \
    "stardust.ft3.interval=60 stardust.tool=sd-avro merge V command=sd-avro"
f4=$(ls "$TMP"/p/*.avro | head -1)
expect_eq "provenance: sd-flowtuple FT4" "$(meta_of "$f4")" \
    "stardust.ft4.dst_prefix_len=16 stardust.ft4.interval=300 stardust.tool=sd-flowtuple V command=sd-flowtuple"
f4=$(ls "$TMP"/f4/*.avro | head -1)
expect_eq "provenance: sd-avro ft3to4" "$(meta_of "$f4")" \
    "stardust.ft4.dst_prefix_len=16 stardust.ft4.interval=300 stardust.tool=sd-avro ft3to4 V command=sd-avro"

# synscan: its keys are split over the interim files, so records combine.
# shellcheck disable=SC2046
check "merge (synscan): interim files hold more records than the merge" \
    test "$(cat_files $(ls "$TMP"/m2-synscan/*.avro--?) | wc -l)" -gt "$(cat_files "$TMP/mm-synscan/all.avro" | wc -l)"
# A memory bound writes early chunks: keys repeat inside one file, out of order.
mkdir "$TMP/mt" "$TMP/mtm"
sd-flowtuple -q -o "$TMP/mt" -m t --max-tuples 1024 --stats --json "$GEN" 2> "$TMP/mt.stats"
check "merge: --max-tuples run flushed early" \
    test "$(sed -n 's/.*"early_flushes":\([0-9]*\).*/\1/p' "$TMP/mt.stats")" -gt 0
# shellcheck disable=SC2046
sd-avro merge -o "$TMP/mtm/all.avro" $(ls "$TMP"/mt/*.avro)
cat_files "$TMP/mtm/all.avro" > "$TMP/got"
# shellcheck disable=SC2046
cat_files $(ls "$TMP"/m1-gen/*.avro) > "$TMP/want"
check "merge: files with early chunks = the unbounded run" cmp -s "$TMP/got" "$TMP/want"
# A file merged with itself: every count doubled, nothing else changes.
f=$(ls "$TMP"/m1-synscan/*.avro | head -1)
sd-avro merge --no-done -o "$TMP/dbl.avro" "$f" "$f"
check "merge --no-done: no .done" test ! -e "$TMP/dbl.avro.done"
sd-avro cat "$f" | sed 's/"packet_cnt":\([0-9]*\)/"packet_cnt":X\1/' > "$TMP/a"
sd-avro cat "$TMP/dbl.avro" | sed 's/"packet_cnt":\([0-9]*\)/"packet_cnt":X\1/' > "$TMP/b"
expect_eq "merge: a file with itself, packets doubled" \
    "$(sd-avro stats --json "$TMP/dbl.avro" | sed 's/.*"packets":\([0-9]*\).*/\1/')" \
    "$(( $(sd-avro stats --json "$f" | sed 's/.*"packets":\([0-9]*\).*/\1/') * 2 ))"
check "merge: a file with itself, the same keys" \
    test "$(sed 's/"packet_cnt":X[0-9]*//' "$TMP/a" | md5sum)" = "$(sed 's/"packet_cnt":X[0-9]*//' "$TMP/b" | md5sum)"

# ------------------------------------------------ golden corsaroftmerge output
for cap in synscan filters-input; do
    gdir=$(data flowtuple/offline/$cap)
    for g in "$gdir"/*.avro--?; do
        base=${g%.avro--*}
        sd-avro merge -o "$TMP/g.avro" "$g"
        sd-avro cat "$TMP/g.avro" | sort > "$TMP/got"
        sd-avro cat "$base.merged.avro" | sort > "$TMP/want"
        check "golden $cap $(basename "$g"): merge = corsaroftmerge's $(basename "$base").merged.avro ($(wc -l < "$TMP/want") records)" \
            cmp -s "$TMP/got" "$TMP/want"
        rm -f "$TMP/g.avro" "$TMP/g.avro.done"
    done
    # shellcheck disable=SC2046
    sd-avro merge -o "$TMP/g.avro" $(ls -r "$gdir"/*.avro--?)
    sd-avro cat "$TMP/g.avro" | sort > "$TMP/got"
    # shellcheck disable=SC2046
    cat_files $(ls "$gdir"/*.merged.avro) | sort > "$TMP/want"
    check "golden $cap: all interim files at once = all merged files" cmp -s "$TMP/got" "$TMP/want"
    rm -f "$TMP/g.avro" "$TMP/g.avro.done"
done

# ------------------------------------------------ bad input: exit 1, no file
# is_empty DIR: nothing at all (no output, .done or temporary file).
is_empty() { [ -z "$(ls -A "$1")" ]; }
good=$(ls "$TMP"/f3/*.avro | head -1)
for bad in $(ls "$(data avro)"/*.avro); do
    b=$(basename "$bad")
    mkdir "$TMP/bad"
    rc=0; sd-avro merge -o "$TMP/bad/out.avro" "$good" "$bad" 2> "$TMP/err" || rc=$?
    expect_eq "merge $b: exit 1" "$rc" 1
    check "merge $b: the error names the file" grep -q "$b" "$TMP/err"
    check "merge $b: no output file" is_empty "$TMP/bad"
    rc=0; sd-avro ft3to4 -o "$TMP/bad" "$good" "$bad" 2> "$TMP/err" || rc=$?
    expect_eq "ft3to4 $b: exit 1" "$rc" 1
    check "ft3to4 $b: the error names the file" grep -q "$b" "$TMP/err"
    check "ft3to4 $b: no output file" is_empty "$TMP/bad"
    rm -rf "$TMP/bad"
done
# A damaged FT3 file whose intervals come last: the FT4 files of the
# earlier intervals were written before the damage was found; they go.
last=$(ls "$TMP"/f3/*.avro | tail -1)
size=$(stat -c %s "$last")
head -c $((size - 100)) "$last" > "$TMP/trunc.avro"
mkdir "$TMP/bad"
rc=0
# shellcheck disable=SC2046
sd-avro ft3to4 -o "$TMP/bad" $(ls "$TMP"/f3/*.avro | sed '$d') "$TMP/trunc.avro" 2> "$TMP/err" || rc=$?
expect_eq "ft3to4 truncated last file: exit 1" "$rc" 1
check "ft3to4 truncated last file: the error names it" grep -q trunc.avro "$TMP/err"
check "ft3to4 truncated last file: earlier FT4 files removed" is_empty "$TMP/bad"
rc=0; sd-avro merge -o "$TMP/bad/m.avro" "$TMP/trunc.avro" 2> /dev/null || rc=$?
expect_eq "merge truncated file: exit 1" "$rc" 1
check "merge truncated file: no output file" is_empty "$TMP/bad"
# A file whose time goes back (records of two intervals, later one first).
/usr/bin/python3 - "$TMP/f3" "$TMP/back.avro" <<'EOF'
import glob, sys
import avro.datafile, avro.io
files = sorted(glob.glob(sys.argv[1] + "/*.avro"))[:2]
recs, schema = [], None
for f in reversed(files):
    with avro.datafile.DataFileReader(open(f, "rb"), avro.io.DatumReader()) as r:
        schema = r.datum_reader.writers_schema
        recs += list(r)
with avro.datafile.DataFileWriter(open(sys.argv[2], "wb"), avro.io.DatumWriter(), schema,
                                  codec="deflate") as w:
    for x in recs:
        w.append(x)
EOF
rc=0; sd-avro merge -o "$TMP/bad/m.avro" "$TMP/back.avro" 2> "$TMP/err" || rc=$?
expect_eq "merge: file not in time order: exit 1" "$rc" 1
check "merge: file not in time order: says so" grep -q 'back.avro: record [0-9]*: time .* time order' "$TMP/err"
check "merge: file not in time order: no output file" is_empty "$TMP/bad"
# A bound on the records held.
rc=0; sd-avro merge --max-records 100 -o "$TMP/bad/m.avro" "$good" 2> "$TMP/err" || rc=$?
expect_eq "merge --max-records exceeded: exit 1" "$rc" 1
check "merge --max-records exceeded: says so" grep -q 'raise --max-records' "$TMP/err"
check "merge --max-records exceeded: no output file" is_empty "$TMP/bad"

# ------------------------------------------------ usage
for args in "ft3to4 --prefix 20 -o $TMP/bad $good" "ft3to4 --interval 0 -o $TMP/bad $good" \
    "merge $good" "merge --prefix 24 -o $TMP/bad/x $good" "cat -o $TMP/bad/x $good"; do
    rc=0; sd-avro $args 2> /dev/null || rc=$?
    expect_eq "usage: sd-avro $args: exit 2" "$rc" 2
done
for args in "--format ft5" "--format ft4 --interim" "--format ft4 -r 2" "--ft4-prefix 24" \
    "--format ft4 -t name"; do
    rc=0; sd-flowtuple -o "$TMP/bad" $args gen:count=10 2> /dev/null || rc=$?
    expect_eq "usage: sd-flowtuple $args: exit 2" "$rc" 2
done
check "usage errors wrote nothing" is_empty "$TMP/bad"
finish
