#!/usr/bin/env python3
"""Independent reference for stardust's FT4 fold (flowtuple.md §2 with the
choices of §2.6.5 as stardust makes them, stardust-ft4(5)).

  ft4_ref.py tsv [--interval S] [--shuffle SEED] FT3.jsonl...
      print the FT3 records of the files (decoded Avro dumps: line 1 is the
      schema) as the tab-separated lines tests/integration/ft4_fold reads;
      with --shuffle, records are shuffled within each FT4 interval.
  ft4_ref.py fold [--prefix 16|24] [--interval S] [--version V] FT3.jsonl...
      fold the records and print the FT4 records as ft4_fold prints them.

Python standard library only: nothing of stardust is used.
"""
import argparse
import json
import random
import sys
from collections import Counter, OrderedDict
from fractions import Fraction

FT3_FIELDS = ["time", "src_ip", "dst_ip", "src_port", "dst_port", "protocol", "ttl",
              "tcp_flags", "ip_len", "tcp_synlen", "tcp_synwinlen", "packet_cnt",
              "is_spoofed", "is_masscan", "maxmind_continent", "maxmind_country",
              "netacq_continent", "netacq_country", "prefix2asn"]


def load(paths):
    recs = []
    for p in paths:
        with open(p) as f:
            for i, line in enumerate(f):
                obj = json.loads(line)
                if i == 0 and "__schema__" in obj:
                    continue
                recs.append(obj)
    return recs


def family(r):
    """(family rank, port key) of flowtuple.md §2.1."""
    if r["protocol"] == 1:
        return 0, (r["src_port"] & 0xFF) * 256 + (r["dst_port"] & 0xFF)
    if r["protocol"] == 6:
        return 1, r["dst_port"]
    if r["protocol"] == 17:
        return 2, r["dst_port"]
    return 3, r["protocol"]


def ratio(p, d):
    if p < 10:
        return Fraction(1) if d < 4 else Fraction(1, 2) if d < 7 else Fraction(33, 100)
    return Fraction(33, 100) if d < 15 else Fraction(1, 5)


def common(hist, p):
    """Distinct count and the ascending values with count >= ratio * p (<= 5)."""
    r = ratio(p, len(hist))
    keep = [v for v in sorted(hist) if hist[v] >= r * p][:5]
    return len(hist), keep, [hist[v] for v in keep]


def order_key(r):
    return (r["time"], r["ttl"], r["tcp_flags"], r["dst_ip"], r["src_port"], r["dst_port"],
            r["ip_len"])


def fold_interval(start, recs, prefix, version, out):
    hostmask = 0xFFFF if prefix == 16 else 0xFF
    groups = {}
    for r in recs:
        fam, port = family(r)
        key = (fam, r["src_ip"], r["dst_ip"] & ~hostmask & 0xFFFFFFFF, port)
        groups.setdefault(key, []).append(r)
    for key in sorted(groups):
        fam, src, net, port = key
        rs = groups[key]
        p = sum(r["packet_cnt"] for r in rs)
        o = OrderedDict()
        o["time"] = start
        o["src_ip"] = src
        o["dst_net"] = net
        o["dst_port"] = 0 if fam == 3 else port
        o["protocol"] = rs[0]["protocol"]
        o["packet_cnt"] = p
        o["uniq_dst_ips"] = len({r["dst_ip"] & hostmask for r in rs})
        lists = {}
        for name, field, fams in (("pktsize", "ip_len", (0, 1, 2, 3)), ("ttl", "ttl", (0, 1, 2, 3)),
                                  ("srcport", "src_port", (1, 2)), ("tcpflag", "tcp_flags", (1,))):
            hist = Counter()
            if fam in fams:
                for r in rs:
                    hist[r[field]] += r["packet_cnt"]
            lists[name] = common(hist, p)
        o["uniq_pkt_sizes"] = lists["pktsize"][0]
        o["uniq_ttls"] = lists["ttl"][0]
        o["uniq_src_ports"] = lists["srcport"][0]
        o["uniq_tcp_flags"] = lists["tcpflag"][0]
        syns = [r for r in rs if r["tcp_flags"] == 2]
        if syns:
            s = min(syns, key=lambda r: order_key(r) + (r["tcp_synlen"], r["tcp_synwinlen"]))
            o["first_syn_length"], o["first_tcp_rwin"] = s["tcp_synlen"], s["tcp_synwinlen"]
        else:
            o["first_syn_length"], o["first_tcp_rwin"] = 0, 0
        for name in ("pktsize", "ttl", "srcport", "tcpflag"):
            _, vals, freqs = lists[name]
            o["common_%ss" % name] = vals
            o["common_%s_freqs" % name] = freqs
        t = min(rs, key=lambda r: (-r["packet_cnt"],) + order_key(r) +
                (r["maxmind_continent"] + r["maxmind_country"] + r["netacq_continent"] +
                 r["netacq_country"], r["prefix2asn"]))
        o["maxmind_continent"] = t["maxmind_continent"] if version >= 1 else "??"
        o["maxmind_country"] = t["maxmind_country"] if version >= 1 else "??"
        o["netacq_continent"] = t["netacq_continent"]
        o["netacq_country"] = t["netacq_country"]
        o["prefix2asn"] = t["prefix2asn"]
        o["spoofed_packet_cnt"] = sum(r["packet_cnt"] for r in rs if r["is_spoofed"]) if version >= 2 else 0
        o["masscan_packet_cnt"] = sum(r["packet_cnt"] for r in rs if r["is_masscan"]) if version >= 2 else 0
        out.write(json.dumps(o) + "\n")
    out.write(json.dumps({"interval_last": start}) + "\n")


def fold(recs, prefix, interval, version, out):
    cur, batch, floor = None, [], 0
    for r in recs:
        s = r["time"] - r["time"] % interval
        if cur is not None and s > cur:
            fold_interval(cur, batch, prefix, version, out)
            floor, cur, batch = cur + interval, None, []
        if (cur is not None and s < cur) or s < floor:
            continue  # early: dropped
        cur = s
        batch.append(r)
    if cur is not None:
        fold_interval(cur, batch, prefix, version, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["tsv", "fold"])
    ap.add_argument("--prefix", type=int, default=16)
    ap.add_argument("--interval", type=int, default=300)
    ap.add_argument("--version", type=int, default=2)
    ap.add_argument("--shuffle", type=int)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    recs = load(a.files)
    if a.cmd == "fold":
        fold(recs, a.prefix, a.interval, a.version, sys.stdout)
        return
    if a.shuffle is not None:
        rnd = random.Random(a.shuffle)
        parts, out = OrderedDict(), []
        for r in recs:
            parts.setdefault(r["time"] - r["time"] % a.interval, []).append(r)
        for part in parts.values():
            rnd.shuffle(part)
            out.extend(part)
        recs = out
    for r in recs:
        print("\t".join(str(r[f]) for f in FT3_FIELDS))


if __name__ == "__main__":
    main()
