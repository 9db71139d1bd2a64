#!/usr/bin/env python3
"""Compare sd-dump -o json -x output of a trace file with that of the same
packets received over nDAG (tests/integration/ndag-roundtrip.sh).

  ndag_compare.py same FILE.json RECV.json [--order one|flow|rr:N] [--cut N]
      the two are the same multiset of packets (after normalise()); --order
      checks that the received order keeps the order each stream must keep:
      one = the file's order, flow = per flow (flow spreading keeps a flow on
      one stream), rr:N = per stream of round robin over N streams (packet i
      of the file on stream i mod N). --cut N: the sender cut packets to at
      most N captured bytes (ndag.md 6.1); the received one must be the
      file's prefix with SD_PKT_TRUNCATED_BY_SENDER set.
  ndag_compare.py digest [FILE]
      read JSON lines from FILE or stdin; print "count digest" where digest
      is an order-independent sum of the lines' SHA-256 (mod 2^256). The
      lines are taken as they are (normalise() costs too much for a million
      lines): for sources whose packets need no normalising (gen: makes
      Ethernet frames on interface 0 without flags). Nothing is stored.
Exit status 0 when equal, 1 with a message otherwise.
"""
import hashlib
import json
import sys

NO_TIMESTAMP = 0x0010
LINK_RAW, LINK_IPV4, LINK_IPV6 = 101, 228, 229


def normalise(line):
    """Only what an ERF-over-nDAG source legitimately reports differently
    from a pcap/pcapng/ERF file source; everything else must be equal."""
    p = json.loads(line)
    # ERF has no raw-IP type: the sender writes ERF type IPv4 or IPv6 from
    # the version nibble (erf.c sd__erf_type_for), so the receiver reports
    # link type 228/229 for a file's 101.
    if p["linktype"] == LINK_RAW:
        p["linktype"] = LINK_IPV6 if p.get("data", "")[:1] == "6" else LINK_IPV4
    # ERF flags keep 2 interface bits (ERF flags & 3); pcapng interface
    # indexes above 3 cannot be carried.
    p["iface"] &= 3
    # A pcapng simple packet block has no time: ERF has no such flag.
    flags = p.get("pktflags", 0) & ~NO_TIMESTAMP
    if flags:
        p["pktflags"] = flags
    else:
        p.pop("pktflags", None)
    return json.dumps(p, sort_keys=True, separators=(",", ":"))


def flow_key(p):
    """Packets with equal keys are on one stream under flow spreading
    (ndag_send.c sd__ndag_flow_stream: address pair, protocol and port pair;
    fragments without ports; non-IP all on stream 0)."""
    ip = p.get("ipv4") or p.get("ipv6")
    if ip is None:
        return ("non-ip",)
    addrs = tuple(sorted((ip["src"], ip["dst"])))
    frag = ("ipv4" in p and (p["ipv4"]["mf"] or p["ipv4"]["frag_off"])) or "frag" in ip
    l4 = p.get("tcp") or p.get("udp")
    ports = () if frag or l4 is None else tuple(sorted((l4["sport"], l4["dport"])))
    return (addrs, ip["proto"], ports)


def read(path):
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def same(args):
    want_raw, got_raw = read(args[0]), read(args[1])
    order, cut = None, None
    i = 2
    while i < len(args):
        if args[i] == "--order":
            order = args[i + 1]
        elif args[i] == "--cut":
            cut = int(args[i + 1])
        i += 2
    want = [normalise(x) for x in want_raw]
    got = [normalise(x) for x in got_raw]
    if cut is not None:
        # The sender cut packets longer than fit one datagram to N captured
        # bytes, flag clear (ndag.md 6.1, recommended sender behaviour):
        # such a packet must be the file's packet (same time and wire
        # length) cut to N; its decode may differ (headers now truncated),
        # so times, lengths and bytes are compared.
        def brief(p, c):
            return json.dumps({"ts_ns": p["ts_ns"], "wirelen": p["wirelen"], "caplen": c,
                               "data": p["data"][:2 * c]}, sort_keys=True, separators=(",", ":"))
        long_ones = {}
        for i, w in enumerate(want):
            p = json.loads(w)
            if p["caplen"] > cut:
                long_ones[(p["ts_ns"], p["wirelen"])] = i
                want[i] = brief(p, cut)
        if not long_ones:
            print(f"no packet in the file is longer than {cut}")
            return 1
        for i, g in enumerate(got):
            p = json.loads(g)
            if (p["ts_ns"], p["wirelen"]) in long_ones and p["caplen"] == cut:
                got[i] = brief(p, cut)
    if sorted(want) != sorted(got):
        print(f"packets differ: file {len(want)}, received {len(got)}")
        ws, gs = set(want), set(got)
        for x in [w for w in want if w not in gs][:3]:
            print("  only in file:    ", x[:300])
        for x in [g for g in got if g not in ws][:3]:
            print("  only received:   ", x[:300])
        return 1
    if order is None:
        return 0
    # Index in the file of every received packet (equal lines in file order).
    where = {}
    for i, w in enumerate(want):
        where.setdefault(w, []).append(i)
    taken = {}
    idx = []
    for g in got:
        k = taken.get(g, 0)
        idx.append(where[g][k])
        taken[g] = k + 1
    if order == "one":
        key = lambda i: 0  # noqa: E731
    elif order == "flow":
        parsed = [json.loads(x) for x in want_raw]
        key = lambda i: flow_key(parsed[i])  # noqa: E731
    elif order.startswith("rr:"):
        n = int(order[3:])
        key = lambda i: i % n  # noqa: E731
    else:
        print("bad --order", order)
        return 2
    last = {}
    for i in idx:
        k = key(i)
        if last.get(k, -1) > i:
            print(f"order not kept: file packet {i} received after {last[k]} ({order}, key {k})")
            return 1
        last[k] = i
    return 0


def digest(args):
    f = open(args[0]) if args else sys.stdin
    total, n = 0, 0
    for line in f:
        if not line.strip():
            continue
        total += int.from_bytes(hashlib.sha256(line.rstrip("\n").encode()).digest(), "big")
        n += 1
    print(n, format(total % (1 << 256), "064x"))
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "same":
        sys.exit(same(sys.argv[2:]))
    if cmd == "digest":
        sys.exit(digest(sys.argv[2:]))
    print(__doc__)
    sys.exit(2)
