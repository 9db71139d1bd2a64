#!/bin/sh
# tests/ndag-edit.py, the capture editor for nDAG fault injection: its own
# spec 12.2 accounting reproduces every scenario of seq-loss.json, its
# validator classifies vectors.pcap as manifest.json says, and each edit
# gives the capture and the expected counters it is meant to.
. "$SD_SRCDIR/tests/integration/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
EDIT="python3 $SD_SRCDIR/tests/ndag-edit.py"
SEQ=$(data ndag/vectors/seq-loss.json)
VEC=$(data ndag/vectors/vectors.pcap)
MANIFEST=$(data ndag/vectors/manifest.json)
CAP=$(data ndag/real/tracemcast-100_seconds-restart.pcap)

# -- the accounting against the golden scenarios
out=$($EDIT --check-seq-vectors "$SEQ")
expect_eq "seq-loss.json: all scenarios" "$(echo "$out" | tail -n 1)" "16 scenarios, 0 mismatches"

# -- the validator against the manifest: malformed datagrams per port and class
want=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
c = {}
for v in m["vectors"]:
    if not v["valid"]:
        k = (str(v["udp_dst_port"]), v["error"])
        c[k] = c.get(k, 0) + 1
print(" ".join("%s:%s=%d" % (p, e, n) for (p, e), n in sorted(c.items())))' "$MANIFEST")
got=$($EDIT "$VEC" --expect | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(" ".join("%s:%s=%d" % (p, e, n) for p in sorted(j["malformed"]) for e, n in sorted(j["malformed"][p].items())))')
expect_eq "vectors.pcap: error classes as in manifest.json" "$got" "$want"

# field EDIT-ARGS... : "port/monitor key=value ..." of every stream with a
# non-zero counter, and the malformed classes, for the edited capture.
summary() {
    $EDIT "$CAP" --expect "$@" | python3 -c '
import json, sys
j = json.load(sys.stdin)
parts = []
for s in j["streams"]:
    kv = " ".join("%s=%d" % (k, v) for k, v in sorted(s.items())
                  if v and k not in ("port", "monitor", "malformed_class"))
    parts.append("%d/%d %s" % (s["port"], s["monitor"], kv))
for p in sorted(j["malformed"]):
    parts.append(p + " " + " ".join("%s=%d" % kv for kv in sorted(j["malformed"][p].items())))
print("; ".join(parts))'
}
# Instance 1 of the sender: port 12663, 7 datagrams, 41 records; instance 2
# (@1): port 32199, 17 datagrams (seqno 1-17), 100 records.
A="12663/1 datagrams=7 records=41"
expect_eq "unedited" "$(summary)" "$A; 32199/1 datagrams=17 records=100"
expect_eq "drop 2" "$(summary --drop @1:3-4)" "$A; 32199/1 datagrams=15 missing=2 records=88"
expect_eq "duplicate" "$(summary --dup @1:5)" "$A; 32199/1 datagrams=18 duplicates=1 records=106"
expect_eq "swap" "$(summary --swap @1:6:7)" "$A; 32199/1 datagrams=17 records=100 reordered=1"
expect_eq "delay" "$(summary --delay @1:2:3)" "$A; 32199/1 datagrams=17 records=100 reordered=1"
expect_eq "late beyond the window" "$(summary --renumber @1:0:100 --seq @1:5:1)" \
    "$A; 32199/1 datagrams=17 late=1 missing=1 records=100"
expect_eq "restart" "$(summary --restart 32199:8)" "$A; 32199/1 datagrams=17 records=100 restarts=1"
expect_eq "wrap, 0xffffffff lost" "$(summary --renumber @1:0:0xfffffff8 --drop @1:7)" \
    "$A; 32199/1 datagrams=16 missing=1 records=94"
expect_eq "tracemcast wrap through 0" "$(summary --renumber @1:0:0xfffffff8 --tracemcast-wrap)" \
    "$A; 32199/1 datagrams=17 records=100"
expect_eq "lctr (first record of a stream not counted)" "$(summary --lctr @1:2:0:5 --lctr @1:0:0:7)" \
    "$A; 32199/1 datagrams=17 dropped=5 records=100"
ins=""
for k in garbage short version type encap count rlen truncated keepalive8 keepalive24 foreign; do
    ins="$ins --insert @1:3:$k"
done
# shellcheck disable=SC2086
expect_eq "inserted datagrams" "$(summary $ins)" \
    "$A; 32199/1 datagrams=17 foreign=1 keepalives=2 malformed=8 records=100; 32199 bad_magic=1 bad_record_count=1 bad_rlen=1 bad_type=1 bad_version=1 record_overrun=1 truncated_encap=1 truncated_header=1"

# -- the written capture: what --list shows, and valid IPv4/UDP framing
$EDIT "$CAP" -o "$TMP/e.pcap" --drop @1:0 --swap @1:1:2 --dup @1:3 --restart @1:10 \
    --renumber @0:0:0xfffffffe --lctr @1:4:1:9 --pad @1:4:1:0xbeef --insert @1:5:garbage
$EDIT "$TMP/e.pcap" --list > "$TMP/list"
seqs=$(grep '^port 32199 type2' "$TMP/list" | sed 's/.* seq=\([0-9]*\).*/\1/' | tr '\n' ' ')
expect_eq "stream 2 seqnos after drop, swap, dup, restart" "$seqs" "3 2 4 4 5 6 7 8 9 10 1 2 3 4 5 6 7 "
seqs=$(grep '^port 12663 type2' "$TMP/list" | sed 's/.* seq=\([0-9]*\).*/\1/' | tr '\n' ' ')
expect_eq "stream 1 renumbered across the wrap" "$seqs" "4294967294 4294967295 1 2 3 4 5 "
tokens=$(grep '^port 32199 type2' "$TMP/list" | sed 's/.* started=\([0-9a-f]*\).*/\1/' | uniq | wc -l)
expect_eq "restart: a second started token" "$tokens" "2"
expect_eq "garbage datagram in the capture" "$(grep -c 'invalid bad_magic' "$TMP/list")" "1"
line=$(grep '^port 32199 type2.* seq=5 ' "$TMP/list")
expect_eq "lctr written" "$(echo "$line" | sed -n 's/.* lctr=0,9,.*/ok/p')" "ok"
expect_eq "pad written" "$(echo "$line" | sed -n 's/.* pad=[0-9a-f]*,beef,.*/ok/p')" "ok"
python3 - "$TMP/e.pcap" "$CAP" > "$TMP/frames" <<'EOF'
import struct, sys
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s
def frames(path):
    raw = open(path, "rb").read()
    off = 24
    while off < len(raw):
        incl = struct.unpack("<I", raw[off + 8:off + 12])[0]
        yield raw[off + 16:off + 16 + incl]
        off += 16 + incl
bad = 0
for f in frames(sys.argv[1]):
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack("!H", ip[2:4])[0]
    udp = ip[ihl:tot]
    ulen = struct.unpack("!H", udp[4:6])[0]
    ok = len(f) == 14 + tot and ulen == len(udp) and csum(ip[:ihl]) == 0xFFFF
    ok = ok and csum(ip[12:20] + struct.pack("!BBH", 0, 17, ulen) + udp) == 0xFFFF
    bad += not ok
print("frames %d bad %d" % (sum(1 for _ in frames(sys.argv[1])), bad))
EOF
# input: 168 frames; -1 dropped, +1 duplicate, +1 garbage
expect_eq "lengths and checksums of every frame" "$(cat "$TMP/frames")" "frames 169 bad 0"
rc=0
$EDIT "$CAP" --drop @1:99 --expect >/dev/null 2>"$TMP/err" || rc=$?
expect_eq "an edit of a datagram that does not exist fails" "$rc $(cat "$TMP/err")" \
    "1 ndag-edit: stream 32199 has no data datagram 99 (it has 17)"
finish
