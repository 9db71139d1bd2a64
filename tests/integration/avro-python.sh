#!/bin/sh
# Avro files written by stardust read back by python3-avro (Debian) with
# equal records and the schema of ../shared/spec/schemas; sd-avro cat of the
# corsarotrace golden files equals their JSON dumps; sd-avro stats/check.
. "$SD_SRCDIR/tests/integration/lib.sh"
PY=
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import avro.datafile' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "FAIL: python3-avro missing (scripts/install-deps)" >&2; exit 1; }
W="$SD_BUILDDIR/tests/integration/avro_write"
[ -x "$W" ] || { echo "FAIL: $W not built" >&2; exit 1; }
SCHEMAS="$SD_DATA/../spec/schemas"
ref="$SD_SRCDIR/tests/integration/avro_py.py"

for kind in ft3 ft4; do
    avsc="$SCHEMAS/flowtuple3.avsc"
    [ $kind = ft4 ] && avsc="$SCHEMAS/flowtuple4.avsc"
    for codec in deflate null; do
        for bs in 0 300; do
            f="$TMP/$kind-$codec-$bs.avro"
            check "$kind $codec block $bs: written" sh -c "'$W' $kind $codec $bs 3000 '$f' > '$f.jsonl'"
            check "$kind $codec block $bs: .done companion" test -f "$f.done" -a ! -s "$f.done"
            out=$("$PY" "$ref" records "$f" "$f.jsonl" "$avsc") || out=FAILED
            case $out in
            *'"records": 3000'*) ok "$kind $codec block $bs: python3-avro reads every record, schema equal" ;;
            *) fail "$kind $codec block $bs: python3-avro: $out" ;;
            esac
            if [ $kind = ft4 ]; then
                expect_eq "$kind $codec: metadata" "$(echo "$out" | sed 's/.*"meta": //')" \
                    '{"stardust.ft4.dst_prefix_len": "24", "stardust.ft4.interval": "300"}, "records": 3000}'
            fi
            # sd-avro cat reads what it wrote the same way.
            cat_ok=$(sd-avro cat "$f" | "$PY" -c '
import json, sys
a = [json.loads(l) for l in sys.stdin]
b = [json.loads(l) for l in open(sys.argv[1])]
print("same" if a == b else "differ")' "$f.jsonl")
            expect_eq "$kind $codec block $bs: sd-avro cat" "$cat_ok" same
        done
    done
done

# The corsarotrace golden files: sd-avro cat equals the .jsonl dumps.
for f in flowtuple/offline/synscan/oracle-flowtuple-1278275056.avro--0 \
         flowtuple/offline/filters-input/oracle-flowtuple-1700000000.avro--0 \
         flowtuple/offline/filters-input/oracle-flowtuple-1700000040.avro--1 \
         flowtuple/tagged/synscan/oracle-flowtuple-1278275056.avro--0 \
         flowtuple/tagged/filters-input/oracle-flowtuple-1700000000.avro--0 \
         flowtuple/tagged/filters-input/oracle-flowtuple-1700000040.avro--1; do
    a=$(data "$f")
    j=$(data "$f.jsonl")
    check "sd-avro cat $f equals its .jsonl" sh -c "sd-avro cat '$a' | '$PY' '$ref' golden '$j'"
done
syn=$(data flowtuple/offline/synscan/oracle-flowtuple-1278275056.avro--0)
expect_eq "cat --csv: header" "$(sd-avro cat --csv "$syn" | head -1)" \
    "time,src_ip,dst_ip,src_port,dst_port,protocol,ttl,tcp_flags,ip_len,tcp_synlen,tcp_synwinlen,packet_cnt,is_spoofed,is_masscan,maxmind_continent,maxmind_country,netacq_continent,netacq_country,prefix2asn"
expect_eq "cat --csv: rows" "$(sd-avro cat --csv "$syn" | wc -l)" 2003
expect_eq "stats --json" "$(sd-avro stats --json "$syn" | sed 's/"file":"[^"]*",//')" \
    '{"schema":"org.caida.corsaro.flowtuple","kind":"FT3","codec":"deflate","blocks":6,"records":2002,"bytes":8356,"packets":2011,"time_min":1278275056,"time_max":1278275056}'
expect_eq "stats of FT4 shows the metadata" \
    "$(sd-avro stats "$TMP/ft4-deflate-0.avro" | grep -c -e 'ft4 dst prefix /24' -e 'ft4 interval 300 s')" 2

# The generic path: quickstop files in three codecs give the same JSON.
q=$(sd-avro cat "$(data avro/quickstop-null.avro)" | cksum)
expect_eq "cat quickstop deflate = null" "$(sd-avro cat "$(data avro/quickstop-deflate.avro)" | cksum)" "$q"
expect_eq "cat quickstop snappy = null" "$(sd-avro cat "$(data avro/quickstop-snappy.avro)" | cksum)" "$q"
expect_eq "cat quickstop: 6001 lines" "$(sd-avro cat "$(data avro/quickstop-null.avro)" | wc -l)" 6001
expect_eq "cat quickstop: first record" "$(sd-avro cat "$(data avro/quickstop-null.avro)" | head -1 | "$PY" -c '
import json, sys; d = json.load(sys.stdin); print(d["ID"], d["First"], d["Last"], d["Phone"], d["Age"])')" \
    "1 Dante Hicks (0) 32"
expect_eq "cat reads standard input" "$(sd-avro cat - < "$syn" | wc -l)" 2002

# A file python3-avro writes (deflate, with the 3 stray checksum bytes its
# writer leaves after each deflate stream) reads back equal through sd-avro.
"$PY" - "$TMP/py.avro" <<'PYEOF'
import sys, avro.schema, avro.datafile, avro.io
s = avro.schema.parse('{"type":"record","name":"R","fields":[{"name":"a","type":"long"},'
                      '{"name":"s","type":"string"},{"name":"d","type":"double"},{"name":"b","type":"boolean"},'
                      '{"name":"m","type":{"type":"map","values":"int"}},{"name":"l","type":{"type":"array","items":"long"}}]}')
w = avro.datafile.DataFileWriter(open(sys.argv[1], "wb"), avro.io.DatumWriter(), s, codec="deflate")
for i in range(3000):
    w.append({"a": i * 7919 - 10**12, "s": "r\u00e9cord %d \"q\"" % i, "d": i / 8, "b": i % 3 == 0,
              "m": {"k%d" % j: j - i for j in range(i % 4)}, "l": list(range(i % 5))})
w.close()
PYEOF
same=$(sd-avro cat "$TMP/py.avro" | "$PY" -c '
import json, sys, avro.datafile, avro.io
a = [json.loads(l) for l in sys.stdin]
b = list(avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader()))
print("same" if a == b else "differ: %d/%d records" % (len(a), len(b)))' "$TMP/py.avro")
expect_eq "python3-avro deflate file read by sd-avro cat" "$same" same

# A string that is not UTF-8 (written by another tool) still gives JSON:
# each byte that starts no UTF-8 sequence becomes U+FFFD, valid sequences
# stay. python3-avro writes only valid strings, so its bytes are patched.
"$PY" - "$TMP/bad-utf8.avro" <<'PYEOF'
import sys, io, avro.schema, avro.datafile, avro.io
s = avro.schema.parse('{"type":"record","name":"R","fields":[{"name":"s","type":"string"}]}')
buf = io.BytesIO()
w = avro.datafile.DataFileWriter(buf, avro.io.DatumWriter(), s, codec="null")
w.append({"s": "QQQQQQQQ"})
w.flush()
raw = buf.getvalue()
w.close()
assert raw.count(b"QQQQQQQQ") == 1
open(sys.argv[1], "wb").write(raw.replace(b"QQQQQQQQ", b"\xffA\xc0\xe2\x82\xac\xe2\x82"))
PYEOF
expect_eq "cat: a string that is not UTF-8 gives valid JSON" \
    "$(sd-avro cat "$TMP/bad-utf8.avro" | "$PY" -c 'import json, sys; print(ascii(json.loads(sys.stdin.read())["s"]))')" \
    "'\\ufffdA\\ufffd\\u20ac\\ufffd\\ufffd'"

# check: exit status and one line per file.
check "check: good files" sd-avro check -q "$syn" "$(data avro/quickstop-snappy.avro)"
for bad in bad-header blockCountExceedsMaxBlockCount secondBlockCountZero syncMarkerMismatch; do
    f=$(data "avro/$bad.avro")
    out=$(sd-avro check "$f" || echo "rc=$?")
    case $out in
    *"$f: BAD: "*"rc=1") ok "check $bad: reported, exit 1" ;;
    *) fail "check $bad: $out" ;;
    esac
done
out=$(sd-avro check "$(data avro/syncMarkerMismatch.avro)" || true)
case $out in *"block 1 at offset 50: sync marker"*) ok "check names block and offset" ;;
*) fail "check message: $out" ;; esac
rc=0; sd-avro cat "$(data avro/syncMarkerMismatch.avro)" > /dev/null 2> "$TMP/err" || rc=$?
expect_eq "cat of a bad file exits 1" "$rc" 1
check "cat of a bad file says why" grep -q "sync marker" "$TMP/err"
rc=0; sd-avro bogus x 2> /dev/null || rc=$?
expect_eq "unknown command: usage error" "$rc" 2
rc=0; sd-avro cat 2> /dev/null || rc=$?
expect_eq "no file: usage error" "$rc" 2
check "--help" sh -c 'sd-avro --help | grep -q "sd-avro cat"'
finish
