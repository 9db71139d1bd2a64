#!/usr/bin/env python3
"""Minimal nDAG receiver and checker for the sd-mcast tests (spec/ndag.md).

  ndag_recv.py recv --group G --beacon-port P --ports P1,P2 --out FILE
               [--records N] [--keepalives K] [--timeout S] [--ready FILE]
      Joins the beacon and the given stream ports (before the sender
      starts, so nothing is missed), collects every datagram until N records
      and K keepalives have arrived (and at least one beacon), writes JSON.
  ndag_recv.py check FILE [--pcap TRACE] [--count N] [--streams N]
               [--max-datagram M] [--monitor ID] [--first-port P]
      Decodes everything with struct and checks it; prints one line per
      failure and exits 1 on any.
Runs only inside tests/netns-run.
"""
import json
import select
import socket
import struct
import sys
import time


def arg(name, default=None, conv=str):
    if name in sys.argv:
        return conv(sys.argv[sys.argv.index(name) + 1])
    return default


def open_sock(group, port, family):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for opt in (33, socket.SO_RCVBUF):  # SO_RCVBUFFORCE (root), then the capped one
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 64 << 20)
            break
        except OSError:
            pass
    s.bind((group, port))
    if family == socket.AF_INET:
        mreq = socket.inet_aton(group) + socket.inet_aton("0.0.0.0")
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    else:
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", socket.if_nametoindex(arg("--iface", "lo")))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    s.setblocking(False)
    return s


def recv():
    group = arg("--group")
    family = socket.AF_INET6 if ":" in group else socket.AF_INET
    bport = arg("--beacon-port", conv=int)
    ports = [int(p) for p in arg("--ports").split(",")]
    want_records = arg("--records", 0, int)
    want_ka = arg("--keepalives", 0, int)
    timeout = arg("--timeout", 60, float)
    socks = {open_sock(group, p, family): p for p in [bport] + ports}
    ready = arg("--ready")
    if ready:
        open(ready, "w").close()
    out = {"beacons": [], "data": [], "keepalives": []}
    records = 0
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if records >= want_records and len(out["keepalives"]) >= want_ka and out["beacons"]:
            break
        r, _, _ = select.select(list(socks), [], [], 0.2)
        for s in r:
            while True:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    break
                port = socks[s]
                if port == bport:
                    out["beacons"].append(d.hex())
                elif len(d) >= 6 and d[5] == 5:
                    out["keepalives"].append([port, d.hex()])
                else:
                    out["data"].append([port, d.hex()])
                    if len(d) >= 24:
                        records += struct.unpack_from(">H", d, 22)[0] & 0x7FFF
    out["timed_out"] = time.monotonic() >= end
    with open(arg("--out"), "w") as f:
        json.dump(out, f)


def read_pcap(path):
    """(ts_ns, caplen, wirelen, bytes) of each packet of a classic pcap."""
    b = open(path, "rb").read()
    magic = struct.unpack_from("<I", b)[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nsec = struct.unpack_from(e + "I", b)[0] == 0xA1B23C4D
    off, pkts = 24, []
    while off + 16 <= len(b):
        sec, frac, incl, orig = struct.unpack_from(e + "IIII", b, off)
        off += 16
        pkts.append((sec * 10**9 + (frac if nsec else frac * 1000), incl, orig, b[off:off + incl]))
        off += incl
    return pkts


def decode_records(d, fails):
    """The records of an ENCAPERF datagram as (ts_ns, caplen, wlen, bytes, type, rlen)."""
    count = struct.unpack_from(">H", d, 22)[0]
    if count & 0x8000:
        fails.append("truncation flag set")
    off, recs = 24, []
    for _ in range(count & 0x7FFF):
        ts, typ, flags, rlen, lctr, wlen = struct.unpack_from("<QBBHHH", d, off)
        rlen, lctr, wlen = socket.ntohs(rlen), socket.ntohs(lctr), socket.ntohs(wlen)
        framing = 18 if typ == 2 else 16
        if typ not in (2, 22, 23) or lctr != 0 or rlen < framing or off + rlen > len(d):
            fails.append("bad record type %d lctr %d rlen %d at %d" % (typ, lctr, rlen, off))
            return recs
        ns = (ts >> 32) * 10**9 + (((ts & 0xFFFFFFFF) * 10**9) >> 32)
        cap = min(rlen - framing, wlen)
        recs.append((ns, cap, wlen, d[off + framing:off + framing + cap], typ, rlen))
        off += rlen
    if off != len(d):
        fails.append("datagram length %d != 24 + sum of rlen %d" % (len(d), off))
    return recs


def five_tuple(pkt):
    """Symmetric (addresses, ports, proto) key of an Ethernet/IPv4 frame, or None."""
    if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
        return None
    ihl = (pkt[14] & 15) * 4
    proto = pkt[23]
    a, b = pkt[26:30], pkt[30:34]
    ports = (0, 0)
    if proto in (6, 17) and len(pkt) >= 14 + ihl + 4 and not (struct.unpack_from(">H", pkt, 20)[0] & 0x3FFF):
        ports = struct.unpack_from(">HH", pkt, 14 + ihl)
    return (proto,) + tuple(sorted([(a, ports[0]), (b, ports[1])]))


def check():
    data = json.load(open(sys.argv[2]))
    streams = arg("--streams", 1, int)
    maxd = arg("--max-datagram", 8900, int)
    monitor = arg("--monitor", 1, int)
    first = arg("--first-port", None, int)
    fails = []
    if data["timed_out"]:
        fails.append("receiver timed out")
    # Beacons: exactly 10 + 2n bytes listing first_port + i (11.1, 13.4).
    if not data["beacons"]:
        fails.append("no beacon")
    for h in data["beacons"]:
        b = bytes.fromhex(h)
        magic, ver, typ, mon, n = struct.unpack_from(">IBBHH", b)
        ports = list(struct.unpack_from(">%dH" % n, b, 10))
        if (magic, ver, typ, mon, n, len(b)) != (0x4E444147, 1, 1, monitor, streams, 10 + 2 * streams):
            fails.append("bad beacon " + h)
        if first is not None and ports != [first + i for i in range(streams)]:
            fails.append("beacon ports %s" % ports)
    started = set()
    per_port = {}
    for port, h in data["data"]:
        d = bytes.fromhex(h)
        magic, ver, typ, mon = struct.unpack_from(">IBBH", d)
        seq, sid = struct.unpack_from(">IH", d, 16)
        if (magic, ver, typ, mon) != (0x4E444147, 1, 2, monitor):
            fails.append("bad data header on port %d" % port)
        if len(d) > maxd:
            fails.append("datagram of %d bytes > %d" % (len(d), maxd))
        if first is not None and sid != port - first:
            fails.append("stream id %d on port %d" % (sid, port))
        started.add(d[8:16])
        per_port.setdefault(port, []).append((seq, decode_records(d, fails)))
    if len(started) != 1 or b"\0" * 8 in started:
        fails.append("started tokens %s" % [s.hex() for s in started])
    for port, dg in per_port.items():
        seqs = [s for s, _ in dg]
        if seqs != list(range(1, len(seqs) + 1)):
            fails.append("port %d: seqnos %s" % (port, seqs[:20]))
    for port, h in data["keepalives"]:
        k = bytes.fromhex(h)
        if len(k) != 24 or k[8:16] not in started or k[16:20] != b"\0\0\0\0" or k[22:24] != b"\0\0":
            fails.append("bad keepalive " + h)
    recs = {p: [r for _, rs in dg for r in rs] for p, dg in per_port.items()}
    total = sum(len(r) for r in recs.values())
    count = arg("--count", None, int)
    if count is not None and total != count:
        fails.append("%d records received, %d sent" % (total, count))
    pcap = arg("--pcap")
    if pcap:
        src = read_pcap(pcap)
        if count is not None:
            src = src[:count]
        got = [(r[0], r[1], r[2], r[3]) for p in sorted(recs) for r in recs[p]]
        if sorted(got) != sorted(src):
            fails.append("records differ from the source packets (%d vs %d)" % (len(got), len(src)))
        # Within a stream, source order (the source's packets are distinct).
        index = {}
        for i, s in enumerate(src):
            index.setdefault(s, i)
        for p, rs in recs.items():
            pos = [index.get((r[0], r[1], r[2], r[3]), -1) for r in rs]
            if pos != sorted(pos):
                fails.append("port %d: records out of source order" % p)
        for p, rs in recs.items():
            for r in rs:
                if r[4] != 2 or r[5] != 18 + r[1]:
                    fails.append("record type %d rlen %d caplen %d" % (r[4], r[5], r[1]))
                    break
        if streams > 1 and "--rr" not in sys.argv:
            owner = {}
            for p, rs in recs.items():
                for r in rs:
                    k = five_tuple(r[3])
                    if k is not None and owner.setdefault(k, p) != p:
                        fails.append("flow %s on ports %d and %d" % (k, owner[k], p))
    if "--print" in sys.argv:
        print(json.dumps({"datagrams": len(data["data"]), "records": total,
                          "beacons": len(data["beacons"]), "keepalives": len(data["keepalives"]),
                          "ports": sorted(per_port), "sizes": [len(h) // 2 for _, h in data["data"]][:8]}))
    for f in fails[:20]:
        print("FAIL:", f)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    {"recv": recv, "check": check}[sys.argv[1]]()
