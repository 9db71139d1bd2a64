#!/bin/sh
# Avro reading against python3-avro (Debian) on the same FT3 file, in the
# same run: our typed reader (bench_avro --read) and python3-avro's
# DataFileReader, records/s (goal >= 20x); then JSON lines: sd-avro cat
# against python3-avro reading + json.dumps of every record.
set -eu
: "${SD_BUILDDIR:?run through make bench}"
: "${SD_BIN:?run through make bench}"
BENCH_TMP=${BENCH_TMP:-/dev/shm}
n=${SD_BENCH_AVRO_RECORDS:-200000}
f="$BENCH_TMP/sd-bench-avro-py.$$.avro"
trap 'rm -f "$f"' EXIT INT TERM
PY=
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import avro.datafile' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "bench-avro.sh: python3-avro missing (scripts/install-deps)" >&2; exit 1; }
"$SD_BUILDDIR/tests/bench/bench_avro" --make "$f" "$n"
ours=$("$SD_BUILDDIR/tests/bench/bench_avro" --read "$f" | cut -d' ' -f1)
py=$("$PY" - "$f" <<'PYEOF'
import sys, time
import avro.datafile, avro.io
t = time.perf_counter()
n = sum(1 for _ in avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader()))
print("%.0f" % (n / (time.perf_counter() - t)))
PYEOF
)
awk -v v="$ours" -v b="$py" -v n="$n" 'BEGIN {
    printf "{\"bench\":\"avro\",\"figure\":\"read_ft3_deflate_vs_python\",\"metric\":\"records_per_s\",\"value\":%.0f,", v
    printf "\"baseline\":\"python3-avro_DataFileReader\",\"baseline_value\":%.0f,\"ratio\":%.1f,", b, v / b
    printf "\"goal\":\">=20x\",\"records\":%d}\n", n
}'
now() { date +%s.%N; }
t0=$(now)
"$SD_BIN/sd-avro" cat "$f" > /dev/null
t1=$(now)
pyjson=$("$PY" - "$f" <<'PYEOF'
import json, sys, time
import avro.datafile, avro.io
t = time.perf_counter()
out = open("/dev/null", "w")
n = 0
for rec in avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader()):
    out.write(json.dumps(rec) + "\n")
    n += 1
print("%.0f" % (n / (time.perf_counter() - t)))
PYEOF
)
awk -v n="$n" -v t0="$t0" -v t1="$t1" -v b="$pyjson" 'BEGIN {
    v = n / (t1 - t0)
    printf "{\"bench\":\"avro\",\"figure\":\"json_lines_ft3\",\"metric\":\"records_per_s\",\"value\":%.0f,", v
    printf "\"baseline\":\"python3-avro_plus_json.dumps\",\"baseline_value\":%.0f,\"ratio\":%.1f,\"records\":%d}\n", b, v / b, n
}'
