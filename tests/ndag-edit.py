#!/usr/bin/env python3
"""ndag-edit: edit a pcap of nDAG datagrams for fault injection, and compute
the per-stream counters a conforming receiver must report for it.

Reads a classic pcap of Ethernet (or Linux cooked) / IPv4 / UDP frames
carrying nDAG datagrams (e.g. data/ndag/real/tracemcast-*.pcap), applies the
edits, and writes a pcap for tools/ndag-replay.py. IPv4 total length, header
checksum, UDP length and UDP checksum are recomputed for every frame written;
timestamps are kept non-decreasing.

Streams and datagrams are named STREAM:INDEX. STREAM is a UDP destination port
(44001) or @N, the N-th stream port (0-based) in order of its first data
datagram; INDEX is the 0-based position of a *data* datagram (ENCAPERF or
CORSAROTAG) of that stream in the input capture. Ranges I-J are inclusive.
Every edit refers to input indices, whatever the other edits do.

  --drop S:I[-J]           drop data datagram(s)
  --dup S:I[xK]            send datagram I K more times (default 1) right after it
  --swap S:I:J             exchange the positions of datagrams I and J
  --delay S:I:K            send datagram I after the K following datagrams of S
  --seq S:I:VALUE          set the seqno of datagram I (0x... allowed)
  --renumber S:I:BASE      seqnos of datagrams I, I+1, ... become BASE, succ(BASE), ...
                           (succ skips 0, spec 12.1; --tracemcast-wrap keeps 0)
  --restart S:I            sender restart before datagram I: new started token
                           (+1000 ms) from I on and seqnos from 1 again
  --insert S:I:KIND        put a datagram of KIND on port S before data datagram I
                           (I = number of datagrams: after the last). KIND:
                           garbage (bad_magic), short (truncated_header, 6 bytes),
                           version (bad_version), type (bad_type: 3), encap
                           (truncated_encap: 20 bytes), count (bad_record_count:
                           recordcount + 1), rlen (bad_rlen: rlen 8), truncated
                           (record_overrun: the next datagram cut inside its
                           last record), keepalive8, keepalive24, foreign
                           (a valid datagram of monitor 4242 with its own token)
  --lctr S:I:R:V           set the ERF lctr of record R of datagram I to V
  --pad S:I:R:V            set the 2-byte Ethernet pad of record R to V (16-bit)
  --flag S:I               set the truncation flag (0x8000) of a 1-record datagram
  --monitor ID             set the monitor ID of every nDAG datagram of the input
                           (beacons, data, keepalives; not --insert foreign), e.g.
                           to merge two captures as two senders on one group

  --expect                 print the expected counters (JSON) of the output
  --list                   print every datagram of the output, one line each
  --check-seq-vectors F    replay seq-loss.json scenarios through the 12.2
                           accounting and check every verdict and counter

Expected counters (spec ndag.md 12.2, 12.4, 10) are computed here, independently
of the C library: per stream (monitor, port) datagrams, records, missing,
duplicates, reordered, late, restarts, resyncs, dropped (sum of lctr, 12.4),
truncated (flagged records), keepalives; per port the malformed datagrams by
error class (spec 10).
"""
import argparse
import json
import random
import struct
import sys

MAGIC = 0x4E444147
BEACON, ENCAPERF, KEEPALIVE, CORSAROTAG = 1, 2, 5, 6
DATA_TYPES = (ENCAPERF, CORSAROTAG)
COLOUR_TYPES = {10, 11, 15, 16, 19, 20}
ETH_TYPES = {2, 11, 16, 20}
WINDOW = 64
COUNTERS = ("missing", "restarts", "resyncs", "duplicates", "reordered", "late")


def die(msg):
    sys.exit("ndag-edit: " + msg)


# ---------------------------------------------------------------- pcap I/O

def read_pcap(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 24:
        die(path + ": not a pcap file")
    magic = struct.unpack("<I", raw[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    else:
        die(path + ": not a classic pcap file")
    linktype = struct.unpack(end + "I", raw[20:24])[0]
    if linktype not in (1, 113):
        die("%s: link type %d; only Ethernet and Linux cooked are read" % (path, linktype))
    frames, off = [], 24
    while off + 16 <= len(raw):
        sec, frac, incl, orig = struct.unpack(end + "IIII", raw[off:off + 16])
        frames.append([sec, frac, raw[off + 16:off + 16 + incl]])
        off += 16 + incl
    return raw[:24], end, linktype, frames


def write_pcap(path, header, end, frames):
    with open(path, "wb") as f:
        f.write(header)
        for sec, frac, data in frames:
            f.write(struct.pack(end + "IIII", sec, frac, len(data), len(data)))
            f.write(data)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Frame:
    """One captured frame split into link+IP header, UDP ports and payload."""

    def __init__(self, sec, frac, data, linktype):
        self.sec, self.frac, self.data = sec, frac, data
        self.payload = None
        if linktype == 1:
            off, etype = 14, struct.unpack("!H", data[12:14])[0]
            while etype in (0x8100, 0x88A8) and len(data) >= off + 4:
                etype = struct.unpack("!H", data[off + 2:off + 4])[0]
                off += 4
        else:
            off, etype = 16, struct.unpack("!H", data[14:16])[0]
        if etype != 0x0800 or len(data) < off + 20 or data[off + 9] != 17:
            return
        ihl = (data[off] & 0x0F) * 4
        u = off + ihl
        if len(data) < u + 8:
            return
        self.ip, self.udp = off, u
        self.sport, self.dport, ulen = struct.unpack("!HHH", data[u:u + 6])
        self.payload = bytes(data[u + 8:u + ulen])

    def rebuild(self, payload):
        """A copy of this frame carrying payload, lengths and checksums right."""
        f = Frame.__new__(Frame)
        f.__dict__.update(self.__dict__)
        ip, u = self.ip, self.udp
        hdr = bytearray(self.data[:u])
        struct.pack_into("!H", hdr, ip + 2, (u - ip) + 8 + len(payload))
        struct.pack_into("!H", hdr, ip + 10, 0)
        struct.pack_into("!H", hdr, ip + 10, checksum(bytes(hdr[ip:u])))
        ulen = 8 + len(payload)
        pseudo = bytes(hdr[ip + 12:ip + 20]) + struct.pack("!BBH", 0, 17, ulen)
        udp = struct.pack("!HHHH", self.sport, self.dport, ulen, 0) + payload
        c = checksum(pseudo + udp) or 0xFFFF
        f.data = bytes(hdr) + udp[:6] + struct.pack("!H", c) + payload
        f.payload = payload
        return f


# ---------------------------------------------------------------- nDAG decoding (spec 4-10)

def validate(d, on_stream=True):
    """(class, info): class is None for a valid datagram, else the spec 10
    error class. info: dict of header fields and records for data messages."""
    if len(d) < 8:
        return "truncated_header", None
    magic, version, mtype, monitor = struct.unpack("!IBBH", d[:8])
    if magic != MAGIC:
        return "bad_magic", None
    if version != 1:
        return "bad_version", None
    if on_stream and mtype not in (ENCAPERF, KEEPALIVE, CORSAROTAG):
        return "bad_type", None
    if not on_stream and mtype != BEACON:
        return "bad_type", None
    info = {"type": mtype, "monitor": monitor, "length": len(d)}
    if mtype == BEACON:
        if len(d) < 10:
            return "bad_beacon", None
        n = struct.unpack("!H", d[8:10])[0]
        if len(d) < 10 + 2 * n:
            return "bad_beacon", None
        info["ports"] = list(struct.unpack("!%dH" % n, d[10:10 + 2 * n]))
        return None, info
    if mtype == KEEPALIVE:
        return None, info
    if len(d) < 24:
        return "truncated_encap", None
    started, seq, sid, rc = struct.unpack("!8sIHH", d[8:24])
    count, flag = rc & 0x7FFF, bool(rc & 0x8000)
    info.update(started=started, seqno=seq, stream_id=sid, count=count, flag=flag)
    if count == 0 or (flag and count != 1):
        return "bad_record_count", None
    off, recs = 24, []
    for _ in range(count):
        left = len(d) - off
        if left == 0:
            return "bad_record_count", None
        if mtype == CORSAROTAG:
            if left < 94:
                return "record_overrun", None
            rlen = left if flag else 94 + struct.unpack("!H", d[off + 11:off + 13])[0]
            if rlen > left:
                return "record_overrun", None
            recs.append({"offset": off, "len": rlen, "lctr": None, "erf_type": None})
            off += rlen
            continue
        if left < 16:
            return "record_overrun", None
        tbyte = d[off + 8]
        rlen, lctr = struct.unpack("!HH", d[off + 10:off + 14])
        if flag:
            rlen = left
        if rlen < 16:
            return "bad_rlen", None
        etype = 255 if tbyte == 0xFF else tbyte & 0x7F
        framing = 16
        if tbyte & 0x80 and tbyte != 0xFF:
            while True:
                if framing + 8 > rlen:
                    return "bad_rlen", None
                more = d[off + framing] & 0x80
                framing += 8
                if not more:
                    break
        if etype in ETH_TYPES:
            framing += 2
        if framing > rlen:
            return "bad_rlen", None
        if rlen > left:
            return "record_overrun", None
        recs.append({"offset": off, "len": rlen, "lctr": lctr, "erf_type": etype, "framing": framing})
        off += rlen
    if off != len(d):
        return "bad_record_count", None
    info["records"] = recs
    return None, info


# ---------------------------------------------------------------- 12.2 accounting

def succ(q):
    return 1 if q == 0xFFFFFFFF else q + 1


def dist(a, b):
    return b - a if b >= a else ((b - a) % (1 << 32)) - 1


class SeqState:
    """Spec ndag.md 12.2, written from the text (not from lib/ndag.c)."""

    def __init__(self):
        self.started = None
        self.expected = 0
        self.seen = set()  # steps behind expected (1 = newest) of accepted seqnos
        self.probation = 0
        self.c = dict.fromkeys(COUNTERS, 0)

    def _reset(self, q):
        self.expected = succ(q)
        self.seen = {1}
        self.probation = 0

    def update(self, started, q):
        same = started == self.started
        if q == 0:
            if self.expected == 1 and same:
                return "in_order"  # tracemcast's unskipped 0 (12.1)
            q = 0xFFFFFFFF
        if self.expected == 0:
            self.started = started
            self._reset(q)
            return "first"
        if not same:
            self.c["restarts"] += 1
            self.started = started
            self._reset(q)
            return "restart"
        if self.probation and q == self.probation:
            self.c["resyncs"] += 1
            self.c["late"] -= 1
            self._reset(q)
            return "resync"
        self.probation = 0
        d = dist(self.expected, q)
        if d < (1 << 31):
            self.c["missing"] += d
            self.seen = {s + d + 1 for s in self.seen if s + d + 1 <= WINDOW} | {1}
            self.expected = succ(q)
            return "in_order" if d == 0 else "gap"
        b = dist(q, self.expected)
        if b <= WINDOW:
            if b in self.seen:
                self.c["duplicates"] += 1
                return "duplicate"
            self.seen.add(b)
            self.c["missing"] -= 1
            self.c["reordered"] += 1
            return "reordered"
        self.c["late"] += 1
        self.probation = succ(q)
        return "late"


def check_seq_vectors(path):
    with open(path) as f:
        doc = json.load(f)
    bad = 0
    for sc in doc["scenarios"]:
        st = SeqState()
        for i, ev in enumerate(sc["events"]):
            v = st.update(bytes.fromhex(ev["started"]), ev["seqno"])
            want = {k: ev["counters"][k] for k in COUNTERS}
            if v != ev["verdict"] or st.c != want or st.c["missing"] != ev["missing"]:
                print("not ok - %s event %d: verdict %s counters %s, want %s %s" %
                      (sc["name"], i, v, st.c, ev["verdict"], want))
                bad += 1
        final = {k: sc["expected"][k] for k in COUNTERS}
        if st.c != final:
            print("not ok - %s: final %s, want %s" % (sc["name"], st.c, final))
            bad += 1
        elif not bad:
            print("ok - %s" % sc["name"])
    print("%d scenarios, %d mismatches" % (len(doc["scenarios"]), bad))
    return 1 if bad else 0


def expect(frames, beacon_ports, stream_ports):
    """Counters a receiver joined to every stream port (from before the first
    datagram) must report for the frames, in order.

    A stream is a (monitor, port) pair announced by a valid beacon (11.3,
    stardust); every stream of a port has its own socket and so sees every
    datagram sent to the port: invalid ones count as malformed on each, valid
    ones of another monitor as foreign. A port no beacon announces has one
    stream per monitor seen on it (captures without beacons)."""
    announced = {}
    for fr in frames:
        if fr.payload is not None and fr.dport in beacon_ports:
            err, info = validate(fr.payload, on_stream=False)
            if err is None:
                for p in info["ports"]:
                    announced.setdefault(p, [])
                    if info["monitor"] not in announced[p]:
                        announced[p].append(info["monitor"])
    streams, malformed, beacons = {}, {}, 0
    tokens = {}  # monitor -> start tokens seen on its streams

    def get(key):
        s = streams.get(key)
        if s is None:
            s = streams[key] = {"seq": SeqState(), "datagrams": 0, "records": 0, "dropped": 0,
                                "truncated": 0, "keepalives": 0, "foreign": 0,
                                "malformed_class": {}, "skip_lctr": True}
        return s

    for fr in frames:
        if fr.payload is None:
            continue
        port = fr.dport
        if port in beacon_ports:
            err, info = validate(fr.payload, on_stream=False)
            if err is None:
                beacons += 1
            else:
                m = malformed.setdefault(str(port), {})
                m[err] = m.get(err, 0) + 1
            continue
        if port not in stream_ports and port not in announced:
            continue
        mons = announced.get(port, [])
        err, info = validate(fr.payload, on_stream=True)
        if err is not None:
            m = malformed.setdefault(str(port), {})
            m[err] = m.get(err, 0) + 1
            for mon in mons:
                mc = get((mon, port))["malformed_class"]
                mc[err] = mc.get(err, 0) + 1
            continue
        for mon in mons:
            if mon != info["monitor"]:
                get((mon, port))["foreign"] += 1
        if mons and info["monitor"] not in mons:
            continue
        s = get((info["monitor"], port))
        if info["type"] == KEEPALIVE:
            s["keepalives"] += 1
            continue
        verdict = s["seq"].update(info["started"], info["seqno"])
        if verdict in ("first", "restart"):
            s["skip_lctr"] = True  # 12.4: the first record after a join or restart
            tokens.setdefault(info["monitor"], set()).add(info["started"])
        s["datagrams"] += 1
        s["records"] += len(info["records"])
        if info["flag"]:
            s["truncated"] += 1
        for r in info["records"]:
            if r["lctr"] is None:
                continue  # tagged records carry no lctr
            if s["skip_lctr"]:
                s["skip_lctr"] = False
                continue
            if r["erf_type"] not in COLOUR_TYPES:
                s["dropped"] += r["lctr"]
    out = []
    for (mon, port), s in sorted(streams.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        row = {"monitor": mon, "port": port}
        for k in ("datagrams", "records"):
            row[k] = s[k]
        row.update(s["seq"].c)
        for k in ("dropped", "truncated", "keepalives", "foreign"):
            row[k] = s[k]
        row["malformed"] = sum(s["malformed_class"].values())
        row["malformed_class"] = s["malformed_class"]
        out.append(row)
    totals = {k: sum(r[k] for r in out) for k in
              ("datagrams", "records") + COUNTERS + ("dropped", "truncated", "keepalives", "foreign")}
    totals["malformed"] = sum(sum(m.values()) for m in malformed.values())
    # new start tokens of a known monitor (11.3 / 12.2 restarts, any stream)
    totals["sender_restarts"] = sum(len(t) - 1 for t in tokens.values())
    return {"streams": out, "malformed": malformed, "beacons": beacons, "totals": totals}


# ---------------------------------------------------------------- editing

def parse_int(s):
    return int(s, 0)


def make_insert(kind, tmpl, nxt, rng):
    """Payload of an injected datagram; tmpl is a data datagram of the stream."""
    t = bytearray(tmpl)
    if kind == "garbage":
        b = bytearray(rng.getrandbits(8) for _ in range(64))
        b[0:4] = b"GARB"
        return bytes(b)
    if kind == "short":
        return bytes(t[:6])
    if kind == "version":
        t[4] = 2
        return bytes(t)
    if kind == "type":
        t[5] = 3
        return bytes(t)
    if kind == "encap":
        return bytes(t[:20])
    if kind == "count":
        rc = struct.unpack("!H", t[22:24])[0]
        struct.pack_into("!H", t, 22, (rc & 0x8000) | ((rc & 0x7FFF) + 1))
        return bytes(t)
    if kind == "rlen":
        struct.pack_into("!H", t, 24 + 10, 8)
        return bytes(t)
    if kind == "truncated":
        src = bytearray(nxt if nxt is not None else tmpl)
        _, info = validate(bytes(src))
        last = info["records"][-1]
        return bytes(src[:last["offset"] + min(last["len"] - 1, 20)])
    if kind == "keepalive8":
        return bytes(t[:8][:5]) + bytes([KEEPALIVE]) + bytes(t[6:8])
    if kind == "keepalive24":
        k = bytearray(t[:24])
        k[5] = KEEPALIVE
        struct.pack_into("!IHH", k, 16, 0, struct.unpack("!H", t[20:22])[0], 0)
        return bytes(k)
    if kind == "foreign":
        struct.pack_into("!H", t, 6, 4242)
        t[8:16] = struct.pack("<Q", 0x0F0F0F0F0F)
        struct.pack_into("!I", t, 16, 1)
        return bytes(t)
    die("unknown --insert kind " + kind)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="ndag-edit", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("input", nargs="?")
    ap.add_argument("-o", "--output")
    for opt in ("drop", "dup", "swap", "delay", "seq", "renumber", "restart", "insert", "lctr", "pad",
                "flag"):
        ap.add_argument("--" + opt, action="append", default=[], metavar="SPEC")
    ap.add_argument("--tracemcast-wrap", action="store_true")
    ap.add_argument("--monitor", type=parse_int)
    ap.add_argument("--beacon-port", type=int, action="append", default=[],
                    help="beacon port(s); default: ports that receive beacons")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--expect", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--check-seq-vectors", metavar="FILE")
    a = ap.parse_args(argv)
    if a.check_seq_vectors:
        return check_seq_vectors(a.check_seq_vectors)
    if not a.input:
        ap.error("no input capture")
    header, end, linktype, raw = read_pcap(a.input)
    frames = [Frame(s, fr, d, linktype) for s, fr, d in raw]
    rng = random.Random(a.seed)

    # Streams: ports of valid data datagrams and ports listed in beacons.
    beacon_ports, announced, order, by_port = set(a.beacon_port), set(), [], {}
    for i, fr in enumerate(frames):
        if fr.payload is None or len(fr.payload) < 8:
            continue
        err, info = validate(fr.payload, on_stream=False)
        if err is None and info["type"] == BEACON and not a.beacon_port:
            beacon_ports.add(fr.dport)
            announced.update(info["ports"])
            continue
        err, info = validate(fr.payload, on_stream=True)
        if err is None and info["type"] in DATA_TYPES and fr.dport not in beacon_ports:
            if fr.dport not in by_port:
                by_port[fr.dport] = []
                order.append(fr.dport)
            by_port[fr.dport].append(i)
    stream_ports = set(by_port) | announced

    def stream(s):
        if s.startswith("@"):
            n = int(s[1:])
            if n >= len(order):
                die("no stream %s (%d streams with data)" % (s, len(order)))
            return order[n]
        p = int(s)
        if p not in stream_ports:
            die("port %d carries no stream" % p)
        return p

    def spec(s, parts):
        f = s.split(":")
        if len(f) != parts:
            die("bad edit spec '%s'" % s)
        return [stream(f[0])] + f[1:]

    def dg(port, idx, allow_end=False):
        idx = int(idx)
        lst = by_port.get(port, [])
        if idx < 0 or idx > len(lst) or (idx == len(lst) and not allow_end):
            die("stream %d has no data datagram %d (it has %d)" % (port, idx, len(lst)))
        return lst[idx] if idx < len(lst) else None

    payload = {i: bytearray(fr.payload) for i, fr in enumerate(frames) if fr.payload is not None}

    # Content edits first (they follow the datagram wherever it goes).
    if a.monitor is not None:
        for pl in payload.values():
            if len(pl) >= 8 and struct.unpack("!I", pl[:4])[0] == MAGIC:
                struct.pack_into("!H", pl, 6, a.monitor & 0xFFFF)
    for s in a.restart:
        port, i0 = spec(s, 2)
        lst = by_port.get(port, [])
        start = int(i0)
        dg(port, start)
        first = bytes(payload[lst[start]][8:16])
        tok = struct.pack("<Q", struct.unpack("<Q", first)[0] + 1000)
        q = 1
        for fi in lst[start:]:
            payload[fi][8:16] = tok
            struct.pack_into("!I", payload[fi], 16, q)
            q = succ(q)
    for s in a.renumber:
        port, i0, base = spec(s, 3)
        q = parse_int(base) & 0xFFFFFFFF
        dg(port, i0)
        for fi in by_port[port][int(i0):]:
            struct.pack_into("!I", payload[fi], 16, q)
            q = (q + 1) & 0xFFFFFFFF if a.tracemcast_wrap else succ(q)
    for s in a.seq:
        port, i, v = spec(s, 3)
        struct.pack_into("!I", payload[dg(port, i)], 16, parse_int(v) & 0xFFFFFFFF)
    for opt, field in ((a.lctr, 12), (a.pad, None)):
        for s in opt:
            port, i, r, v = spec(s, 4)
            fi = dg(port, i)
            err, info = validate(bytes(payload[fi]))
            recs = info["records"]
            if int(r) >= len(recs):
                die("%s: datagram has %d records" % (s, len(recs)))
            rec = recs[int(r)]
            if rec["lctr"] is None:
                die(s + ": a tagged record has no lctr or pad")
            off = rec["offset"] + (field if field is not None else rec["framing"] - 2)
            if field is None and rec["erf_type"] not in ETH_TYPES:
                die(s + ": not an Ethernet record, no pad")
            struct.pack_into("!H", payload[fi], off, parse_int(v) & 0xFFFF)
    for s in a.flag:
        port, i = spec(s, 2)
        fi = dg(port, i)
        rc = struct.unpack("!H", payload[fi][22:24])[0]
        if rc & 0x7FFF != 1:
            die(s + ": the truncation flag needs a 1-record datagram")
        struct.pack_into("!H", payload[fi], 22, rc | 0x8000)

    # Sequence edits: a list of slots (frame index or injected payload).
    seqlist = list(range(len(frames)))
    dropped = set()
    for s in a.drop:
        port, rng_ = spec(s, 2)
        lo, _, hi = rng_.partition("-")
        for k in range(int(lo), int(hi or lo) + 1):
            dropped.add(dg(port, k))
    after = {}    # frame index -> list of extra items to send right after it
    before = {}   # frame index -> injected payloads to send before it
    tail = []     # injected after the last frame: (port, payload)
    for s in a.dup:
        port, x = spec(s, 2)
        i, _, k = x.partition("x")
        fi = dg(port, i)
        after.setdefault(fi, []).extend([("dup", fi)] * int(k or 1))
    for s in a.swap:
        port, i, j = spec(s, 3)
        fa, fb = dg(port, i), dg(port, j)
        pa, pb = seqlist.index(fa), seqlist.index(fb)
        seqlist[pa], seqlist[pb] = fb, fa
    for s in a.delay:
        port, i, k = spec(s, 3)
        fi = dg(port, i)
        lst = by_port[port]
        idx = lst.index(fi)
        target = lst[min(idx + int(k), len(lst) - 1)]
        seqlist.remove(fi)
        seqlist.insert(seqlist.index(target) + 1, fi)
    for s in a.insert:
        port, i, kind = spec(s, 3)
        fi = dg(port, i, allow_end=True)
        lst = by_port[port]
        tmpl = payload[fi] if fi is not None else payload[lst[-1]]
        pl = make_insert(kind, bytes(tmpl), bytes(tmpl) if fi is not None else None, rng)
        if fi is None:
            tail.append((lst[-1], port, pl))
        else:
            before.setdefault(fi, []).append(pl)

    out = []
    for fi in seqlist:
        fr = frames[fi]
        for pl in before.get(fi, []):
            out.append(fr.rebuild(pl))
        if fi in dropped:
            continue
        if fr.payload is None:
            out.append(fr)
            continue
        nf = fr.rebuild(bytes(payload[fi]))
        out.append(nf)
        for _, src in after.get(fi, []):
            out.append(frames[src].rebuild(bytes(payload[src])))
    for ref, port, pl in tail:
        out.append(frames[ref].rebuild(pl))
    # Non-decreasing timestamps for paced replay.
    last = (0, 0)
    for fr in out:
        if (fr.sec, fr.frac) < last:
            fr.sec, fr.frac = last
        last = (fr.sec, fr.frac)

    if a.output:
        write_pcap(a.output, header, end, [(fr.sec, fr.frac, fr.data) for fr in out])
    if a.list:
        for fr in out:
            if fr.payload is None:
                print("non-udp")
                continue
            on_stream = fr.dport not in beacon_ports
            err, info = validate(fr.payload, on_stream=on_stream)
            if err:
                print("port %d invalid %s len=%d" % (fr.dport, err, len(fr.payload)))
            elif info["type"] == BEACON:
                print("port %d beacon monitor=%d ports=%s" % (fr.dport, info["monitor"], info["ports"]))
            elif info["type"] == KEEPALIVE:
                print("port %d keepalive monitor=%d len=%d" % (fr.dport, info["monitor"], len(fr.payload)))
            else:
                pads = ",".join(fr.payload[r["offset"] + r["framing"] - 2:r["offset"] + r["framing"]].hex()
                                if r["erf_type"] in ETH_TYPES else "-" for r in info["records"])
                print("port %d type%d monitor=%d started=%s seq=%d stream=%d records=%d%s lctr=%s pad=%s len=%d" %
                      (fr.dport, info["type"], info["monitor"], info["started"].hex(), info["seqno"],
                       info["stream_id"], info["count"], " flag" if info["flag"] else "",
                       ",".join(str(r["lctr"]) for r in info["records"]), pads, len(fr.payload)))
    if a.expect:
        res = expect(out, beacon_ports, stream_ports)
        print(json.dumps(res, sort_keys=True))
    if not (a.output or a.list or a.expect):
        ap.error("nothing to do: give -o, --list or --expect")
    return 0


if __name__ == "__main__":
    sys.exit(main())
