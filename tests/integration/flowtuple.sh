#!/bin/sh
# sd-flowtuple: records equal to corsarotrace's golden FT3 files (every
# field, as sets; the one deliberate difference listed in flowtuple_cmp.py),
# golden file names, packet conservation, threads and interim files,
# rotation, codecs, SIGTERM mid-run, a full disk and an unwritable directory.
. "$SD_SRCDIR/tests/integration/lib.sh"
CMP="$SD_SRCDIR/tests/integration/flowtuple_cmp.py"
PYAVRO=
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import avro.datafile' 2>/dev/null; then PYAVRO=$p; break; fi
done
[ -n "$PYAVRO" ] || { echo "FAIL: python3-avro missing (scripts/install-deps)" >&2; exit 1; }

# cat_dir DIR PATTERN: the records of DIR's files matching PATTERN as JSON lines.
cat_dir() {
    for f in "$1"/$2; do sd-avro cat "$f" || return 1; done
}
# stat_of FILE KEY: a number of the --stats --json line.
stat_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }

# conservation NAME STATSFILE JSONL: in = dropped + counted + not_ipv4 +
# previnterval, and the records' packets sum to counted.
conservation() {
    in=$(stat_of "$2" packets_in)
    sum=$(( $(stat_of "$2" dropped) + $(stat_of "$2" counted) + $(stat_of "$2" not_ipv4) + \
        $(stat_of "$2" previnterval) ))
    expect_eq "$1: packets in = dropped + counted + not IPv4 + previnterval" "$sum" "$in"
    expect_eq "$1: records' packets = counted" "$(python3 "$CMP" packets "$3")" \
        "$(stat_of "$2" counted)"
}

# ------------------------------------------------ golden runs (offline)
for cap in synscan filters-input; do
    case $cap in
    synscan) pcap=$(data ndag/real/input/synscan.pcap) ;;
    *) pcap=$(data tags/filters-input.pcap) ;;
    esac
    gdir=$(data flowtuple/offline/$cap)
    out="$TMP/$cap"
    mkdir "$out"
    if sd-flowtuple -o "$out" -m oracle --interval 60 --codec deflate --stats --json "$pcap" \
        2> "$TMP/$cap.stats"; then ok "$cap: runs"; else cat "$TMP/$cap.stats" >&2; fail "$cap: runs"; fi
    # Golden names, merged: NAME.avro--N becomes NAME.avro, plus NAME.avro.done.
    want=$(cd "$gdir" && ls *.avro--? | sed 's/--[0-9]*$//' | while read -r n; do
        printf '%s\n%s.done\n' "$n" "$n"; done | sort | tr '\n' ' ')
    expect_eq "$cap: file names" "$(cd "$out" && ls | sort | tr '\n' ' ')" "$want"
    cat_dir "$out" '*.avro' > "$TMP/$cap.jsonl"
    if python3 "$CMP" golden "$cap" "$TMP/$cap.jsonl" "$gdir"/*.jsonl > "$TMP/$cap.cmp"; then
        ok "$cap: records equal the golden ones, every field ($(tail -1 "$TMP/$cap.cmp"))"
    else cat "$TMP/$cap.cmp" >&2; fail "$cap: records equal the golden ones"; fi
    # File by file: the same packets per file as the golden file of that name.
    for g in "$gdir"/*.avro--?.jsonl; do
        b=$(basename "$g" .jsonl); b=${b%--*}
        expect_eq "$cap: $b: packets" "$(sd-avro cat "$out/$b" | python3 "$CMP" packets /dev/stdin)" \
            "$(python3 "$CMP" packets "$g")"
    done
    expect_eq "$cap: packets in = capture ($pcap)" "$(stat_of "$TMP/$cap.stats" packets_in)" \
        "$(capinfos -M -c "$pcap" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')"
    conservation "$cap" "$TMP/$cap.stats" "$TMP/$cap.jsonl"
    # python3-avro (Debian) reads them: deflate, FT3 schema, every record.
    if "$PYAVRO" - "$out"/*.avro > "$TMP/$cap.py" 2>&1 <<'PY'
import sys, avro.datafile, avro.io
for p in sys.argv[1:]:
    with open(p, "rb") as f:
        r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        assert r.meta["avro.codec"] == b"deflate", r.meta["avro.codec"]
        assert r.datum_reader.writers_schema.name == "flowtuple", r.datum_reader.writers_schema.name
        n = sum(1 for _ in r)
        assert r.meta["stardust.tool"].startswith(b"sd-flowtuple "), r.meta
        print(p, n)
PY
    then ok "$cap: python3-avro reads every file"; else cat "$TMP/$cap.py" >&2; fail "$cap: python3-avro reads"; fi

    # --threads 2: the same records, every field.
    mkdir "$out.t2"
    sd-flowtuple -o "$out.t2" -m oracle -n 2 "$pcap"
    cat_dir "$out.t2" '*.avro' > "$TMP/$cap.t2.jsonl"
    check "$cap: --threads 2 gives the records of --threads 1" \
        python3 "$CMP" same "$TMP/$cap.jsonl" "$TMP/$cap.t2.jsonl"
    expect_eq "$cap: --threads 2 file names" "$(cd "$out.t2" && ls | tr '\n' ' ')" \
        "$(cd "$out" && ls | tr '\n' ' ')"
done

# ------------------------------------------------ untagged input + providers
# The providers of tags/tagger.yaml given on the command line: sd-flowtuple
# tags synscan itself and writes what corsarotrace wrote behind the real
# tagger (tagged/). (filters-input is left out here: its malformed packets
# were tagged from bytes the two paths see differently, README of the data.)
out="$TMP/prov"
mkdir "$out"
sd-flowtuple -o "$out" -m oracle --maxmind-csv "$(data maxmind-csv)" --netacq "$(data netacq)" \
    --pfx2as "$(data pfx2as/routeviews-rv2-20170329-0200.pfx2as.gz)" "$(data ndag/real/input/synscan.pcap)"
cat_dir "$out" '*.avro' > "$TMP/prov.jsonl"
if python3 "$CMP" golden synscan "$TMP/prov.jsonl" "$(data flowtuple/tagged/synscan)"/*.jsonl > "$TMP/prov.cmp"; then
    ok "providers: synscan tagged in process equals the tagged golden run ($(tail -1 "$TMP/prov.cmp"))"
else cat "$TMP/prov.cmp" >&2; fail "providers: synscan equals the tagged golden run"; fi
check "providers: geo tags present" grep -q '"maxmind_country":"ZA","netacq_continent":"SA"' "$TMP/prov.jsonl"
check "providers: AS tags present" grep -q '"prefix2asn":11404' "$TMP/prov.jsonl"

# ------------------------------------------------ a tagged nDAG stream
# sd-tagger (providers of tags/tagger.yaml, one stream) multicasts synscan as
# CORSAROTAG nDAG in a private network namespace; sd-flowtuple reads it
# (--count stops it after the capture's packets) and uses the stream's tags:
# the tagged golden records again.
out="$TMP/ndag"
mkdir "$out"
rc=0
timeout 120 sh "$SD_SRCDIR/tests/netns-run" sh -c '
    sd-flowtuple -o "$1" -m oracle --count 2011 --stats --json ndag:lo,225.44.0.2,44001 2> "$1.stats" &
    rx=$!
    i=0
    while ! ip maddr show dev lo | grep -q 225.44.0.2 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    sd-tagger -q -n 1 -g 225.44.0.2 -p 44001 --maxmind-csv "$2/maxmind-csv" --netacq "$2/netacq" \
        --pfx2as "$2/pfx2as/routeviews-rv2-20170329-0200.pfx2as.gz" "$3"
    wait $rx' sh "$out" "$SD_DATA" "$(data ndag/real/input/synscan.pcap)" || rc=$?
expect_eq "tagged ndag: sd-flowtuple read the whole stream and stopped" "$rc" 0
expect_eq "tagged ndag: packets in" "$(stat_of "$out.stats" packets_in)" 2011
cat_dir "$out" '*.avro' > "$TMP/ndag.jsonl"
if python3 "$CMP" golden synscan "$TMP/ndag.jsonl" "$(data flowtuple/tagged/synscan)"/*.jsonl > "$TMP/ndag.cmp"; then
    ok "tagged ndag: the tagged golden records ($(tail -1 "$TMP/ndag.cmp"))"
else cat "$TMP/ndag.cmp" >&2; fail "tagged ndag: the tagged golden records"; fi
expect_eq "tagged ndag: file names" "$(cd "$out" && ls | tr '\n' ' ')" \
    "oracle-flowtuple-1278275056.avro oracle-flowtuple-1278275056.avro.done "

# ------------------------------------------------ interim files
pcap=$(data ndag/real/input/synscan.pcap)
mkdir "$TMP/interim"
sd-flowtuple -o "$TMP/interim" -m oracle -n 2 --interim "$pcap"
expect_eq "interim: one file per worker, .avro--<n>" "$(cd "$TMP/interim" && ls | tr '\n' ' ')" \
    "oracle-flowtuple-1278275056.avro--0 oracle-flowtuple-1278275056.avro--0.done oracle-flowtuple-1278275056.avro--1 oracle-flowtuple-1278275056.avro--1.done "
cat_dir "$TMP/interim" '*.avro--?' > "$TMP/interim.jsonl"
check "interim: per-key sums equal the merged output" \
    python3 "$CMP" sumkey "$TMP/interim.jsonl" "$TMP/synscan.jsonl"
check "interim: a key is split over the files" \
    test "$(wc -l < "$TMP/interim.jsonl")" -gt "$(wc -l < "$TMP/synscan.jsonl")"

# ------------------------------------------------ memory bound: early chunks
mkdir "$TMP/bound"
sd-flowtuple -o "$TMP/bound" -m oracle --max-tuples 1024 --stats --json "$pcap" 2> "$TMP/bound.stats"
check "max-tuples: an early (non-final) chunk was written" \
    test "$(stat_of "$TMP/bound.stats" early_flushes)" -ge 1
expect_eq "max-tuples: early chunks go into the interval's one file" \
    "$(cd "$TMP/bound" && ls | tr '\n' ' ')" \
    "oracle-flowtuple-1278275056.avro oracle-flowtuple-1278275056.avro.done "
cat_dir "$TMP/bound" '*.avro' > "$TMP/bound.jsonl"
check "max-tuples: per-key sums equal the unbounded output" \
    python3 "$CMP" sumkey "$TMP/bound.jsonl" "$TMP/synscan.jsonl"

# ------------------------------------------------ rotation, codecs, no .done
pcap=$(data tags/filters-input.pcap)
mkdir "$TMP/rot"
sd-flowtuple -o "$TMP/rot" -m oracle --interval 20 --rotate 3 --no-done "$pcap"
expect_eq "rotate 3 x 20 s: files start on the first interval written, no .done" \
    "$(cd "$TMP/rot" && ls | tr '\n' ' ')" \
    "oracle-flowtuple-1700000000.avro oracle-flowtuple-1700000040.avro "
expect_eq "rotate: intervals of the first file" \
    "$(sd-avro cat "$TMP/rot/oracle-flowtuple-1700000000.avro" | sed 's/{"time":\([0-9]*\),.*/\1/' | sort -u | tr '\n' ' ')" \
    "1700000000 1700000020 "
expect_eq "rotate: intervals of the second file" \
    "$(sd-avro cat "$TMP/rot/oracle-flowtuple-1700000040.avro" | sed 's/{"time":\([0-9]*\),.*/\1/' | sort -u | tr '\n' ' ')" \
    "1700000040 1700000060 "
mkdir "$TMP/rot0"
sd-flowtuple -o "$TMP/rot0" -m oracle --rotate 0 -t '%Y/%m/%N.%s.%P' "$pcap"
expect_eq "rotate 0: one file, strftime and subdirectories from the template" \
    "$(cd "$TMP/rot0" && find . -type f | sort | tr '\n' ' ')" \
    "./2023/11/oracle.1700000000.flowtuple.avro ./2023/11/oracle.1700000000.flowtuple.avro.done "
for codec in null snappy; do
    mkdir "$TMP/$codec"
    sd-flowtuple -o "$TMP/$codec" -m oracle --codec $codec "$pcap"
    expect_eq "codec $codec" "$(sd-avro stats --json "$TMP/$codec"/*1700000000.avro | sed 's/.*"codec":"\([a-z]*\)".*/\1/')" $codec
    cat_dir "$TMP/$codec" '*.avro' > "$TMP/$codec.jsonl"
    check "codec $codec: same records" python3 "$CMP" same "$TMP/$codec.jsonl" "$TMP/filters-input.jsonl"
done

# ------------------------------------------------ SIGTERM mid-run
# gen: traffic far longer than the run lasts; stop once the first file is
# out, so the kill lands mid-interval.
mkdir "$TMP/term"
sd-flowtuple -o "$TMP/term" -m t -n 2 --stats --json gen:count=1G,pps=20000 2> "$TMP/term.stats" &
pid=$!
i=0
while [ -z "$(ls "$TMP/term/"*.done 2>/dev/null)" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
rc=0; wait $pid || rc=$?
expect_eq "SIGTERM: exit status 0" "$rc" 0
n=$(ls "$TMP/term/"*.avro | wc -l)
check "SIGTERM: the interval in progress was written too ($n files)" test "$n" -ge 2
expect_eq "SIGTERM: files reported" "$(stat_of "$TMP/term.stats" files)" "$n"
bad=0
for f in "$TMP/term/"*.avro; do
    sd-avro check -q "$f" || bad=$((bad + 1))
    [ -e "$f.done" ] || bad=$((bad + 1))
done
expect_eq "SIGTERM: every file complete, with its .done" "$bad" 0
expect_eq "SIGTERM: nothing else left (no temporary file)" "$(ls -A "$TMP/term" | wc -l)" $((2 * n))
cat_dir "$TMP/term" '*.avro' > "$TMP/term.jsonl"
conservation "SIGTERM" "$TMP/term.stats" "$TMP/term.jsonl"

# ------------------------------------------------ unwritable / missing directory, full disk
# Templates: %N and %P also in FT4 names; DIR is taken literally (a % in it
# is no strftime code).
mkdir "$TMP/d%Y"
check "ft4 template with %N %P in a DIR holding %" \
    sd-flowtuple -q -o "$TMP/d%Y" -m mon --format ft4 -t '%N-%P-%s' gen:count=1000
expect_eq "ft4 template: the name" "$(ls "$TMP/d%Y" | grep -v done)" "mon-flowtuple-1767225600"
check "ft3 template in a DIR holding %" sd-flowtuple -q -o "$TMP/d%Y" -m mon -t '%Y/%N-%s' gen:count=1000
expect_eq "ft3 template: the name" "$(ls "$TMP/d%Y/2026" | grep -v done)" "mon-1767225600.avro"

# A BPF filter that does not compile is a usage error (status 2).
mkdir "$TMP/bpf"
rc=0
sd-flowtuple -o "$TMP/bpf" -m t -f 'tcp and and' gen:count=10 2> "$TMP/bpf.err" || rc=$?
expect_eq "bad -f filter: exit status 2" "$rc" 2
expect_eq "bad -f filter: no file" "$(ls -A "$TMP/bpf" | wc -l)" 0

# Root ignores permissions: a read-only or a tiny tmpfs in a private mount
# namespace stands for an unwritable directory and a full disk.
mkdir "$TMP/ro" "$TMP/full"
rc=0
unshare -m sh -c 'mount -t tmpfs -o ro tmpfs "$1" && exec sd-flowtuple -o "$1" -m t gen:count=1000' \
    sh "$TMP/ro" 2> "$TMP/ro.err" || rc=$?
expect_eq "unwritable directory: exit status 1" "$rc" 1
check "unwritable directory: clear message" grep -q "output directory .*: cannot create files: Read-only file system" "$TMP/ro.err"
expect_eq "unwritable directory: no file" "$(ls -A "$TMP/ro" | wc -l)" 0
rc=0
sd-flowtuple -o "$TMP/missing" -m t gen:count=1000 2> "$TMP/missing.err" || rc=$?
expect_eq "missing directory: exit status 1" "$rc" 1
check "missing directory: clear message" grep -q "output directory .*/missing: No such file or directory" "$TMP/missing.err"
# A blocking source shows the check happens before any packet is read.
rc=0
timeout 20 sd-flowtuple -o "$TMP/missing" ndag:lo,225.77.0.1,47000 2> /dev/null || rc=$?
expect_eq "missing directory: reported before reading (a silent ndag: source)" "$rc" 1
rc=0
unshare -m sh -c 'mount -t tmpfs -o size=1m tmpfs "$1" && sd-flowtuple -o "$1" -m t gen:count=400k,pps=500 &&
    exit 0; rc=$?; ls -A "$1" > "$1.ls"; for f in "$1"/*.avro; do sd-avro check -q "$f" || echo "bad $f"; done >> "$1.ls"; exit $rc' \
    sh "$TMP/full" 2> "$TMP/full.err" || rc=$?
expect_eq "full disk: exit status 1" "$rc" 1
check "full disk: clear message" grep -q "write: No space left on device (SD_ERR_IO)" "$TMP/full.err"
check "full disk: the complete intervals were kept" grep -q 'avro.done$' "$TMP/full.ls"
expect_eq "full disk: no truncated or temporary file" \
    "$(grep -v '^t-flowtuple-[0-9]*\.avro\(\.done\)\?$' "$TMP/full.ls" | tr '\n' ' ')" ""
expect_eq "full disk: every file has its .done" "$(grep -c 'avro$' "$TMP/full.ls")" \
    "$(grep -c 'avro.done$' "$TMP/full.ls")"

# ------------------------------------------------ progress line
# Drawn once a second: the input stalls for 1.3 s after 2.5 MB (more than
# the 1 MB blocks libwandio hands over from a pipe).
mkdir "$TMP/prog"
check "--progress: traffic written" sd-gen -n 60000 --no-progress -o "$TMP/prog.pcap"
check "--progress: runs" sh -c '(head -c 2500000 "$1.pcap"; sleep 1.3; tail -c +2500001 "$1.pcap") |
    sd-flowtuple --progress --drop spoofed -o "$1" -m t - 2> "$1.err"' sh "$TMP/prog"
check "--progress: the line counts the --drop drops" grep -q "pkts .* rate .*pps  dropped [1-9]" "$TMP/prog.err"
check "--progress: no malformed count it does not keep" sh -c '! grep -q malformed "$1"' sh "$TMP/prog.err"

# ------------------------------------------------ usage
rc=0; sd-flowtuple "$pcap" 2> /dev/null || rc=$?
expect_eq "no -o: usage error" "$rc" 2
rc=0; sd-flowtuple -o "$TMP" --codec lzma "$pcap" 2> /dev/null || rc=$?
expect_eq "bad codec: usage error" "$rc" 2
check "--help" sh -c 'sd-flowtuple --help | grep -q "^Usage: sd-flowtuple -o DIR"'
finish
