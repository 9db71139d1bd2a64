#!/usr/bin/env python3
"""Compare FT3 records given as JSON lines (sd-avro cat, or the golden
*.jsonl dumps whose first line is {"__schema__": ...}).

  flowtuple_cmp.py golden RUN OURS.jsonl GOLDEN.jsonl...
      every field, as multisets; the deliberate differences of RUN (listed
      below, as in tests/unit/check_flowtuple.c golden_diffs) are applied to
      the golden records first and must each show; any other difference fails.
  flowtuple_cmp.py same A.jsonl B.jsonl      every field, as multisets
  flowtuple_cmp.py sumkey A.jsonl B.jsonl    packet_cnt summed per (time, key)
  flowtuple_cmp.py packets A.jsonl           print the sum of packet_cnt
"""
import collections
import json
import sys

FIELDS = ("time", "src_ip", "dst_ip", "src_port", "dst_port", "protocol", "ttl",
          "tcp_flags", "ip_len", "tcp_synlen", "tcp_synwinlen", "packet_cnt",
          "is_spoofed", "is_masscan", "maxmind_continent", "maxmind_country",
          "netacq_continent", "netacq_country", "prefix2asn")
KEY = ("time", "protocol", "ttl", "tcp_flags", "src_ip", "dst_ip", "src_port",
       "dst_port", "ip_len")

# (run, match on the golden record, what stardust writes instead, why)
DIFFS = [
    ("filters-input",
     {"protocol": 6, "ttl": 64, "src_ip": 0x0b6d0102, "src_port": 0, "dst_port": 0,
      "tcp_flags": 2, "tcp_synlen": 24, "tcp_synwinlen": 65535},
     {"tcp_flags": 0, "tcp_synlen": 0, "tcp_synwinlen": 0},
     "IPv4 header claiming version 5: upstream read a TCP header behind it; "
     "stardust reads TCP only behind a version-4 header (flowtuple.md 1.1)"),
]


def load(paths):
    recs = []
    for p in paths:
        with open(p) as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if "__schema__" in r:
                    continue
                recs.append(r)
    return recs


def full(r):
    return tuple(r[k] for k in FIELDS)


def diff_sets(a, b, na, nb):
    ca, cb = collections.Counter(map(full, a)), collections.Counter(map(full, b))
    bad = 0
    for t in sorted((ca - cb).elements()):
        print("only in %s: %s" % (na, dict(zip(FIELDS, t))))
        bad += 1
    for t in sorted((cb - ca).elements()):
        print("only in %s: %s" % (nb, dict(zip(FIELDS, t))))
        bad += 1
    return bad


def main(argv):
    mode = argv[1]
    if mode == "golden":
        run, ours, golden = argv[2], load([argv[3]]), load(argv[4:])
        if not golden:
            print("no golden records")
            return 1
        used = collections.Counter()
        for g in golden:
            for i, (drun, match, repl, _why) in enumerate(DIFFS):
                if drun == run and all(g[k] == v for k, v in match.items()):
                    g.update(repl)
                    used[i] += 1
        bad = diff_sets(ours, golden, "stardust", "golden")
        for i, (drun, _m, _r, why) in enumerate(DIFFS):
            if drun == run:
                if used[i] != 1:
                    print("listed difference did not show once (%d): %s" % (used[i], why))
                    bad += 1
                else:
                    print("known difference: " + why)
        print("%d records, %d unexpected differences" % (len(ours), bad))
        return 1 if bad else 0
    if mode == "same":
        bad = diff_sets(load([argv[2]]), load([argv[3]]), argv[2], argv[3])
        return 1 if bad else 0
    if mode == "sumkey":
        sums = []
        for p in argv[2:4]:
            s = collections.Counter()
            for r in load([p]):
                s[tuple(r[k] for k in KEY)] += r["packet_cnt"]
            sums.append(s)
        if sums[0] != sums[1]:
            print("per-key sums differ: %d vs %d keys" % (len(sums[0]), len(sums[1])))
            return 1
        return 0
    if mode == "packets":
        print(sum(r["packet_cnt"] for r in load(argv[2:])))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
