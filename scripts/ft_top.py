#!/usr/bin/env python3
"""Top sources and destination ports, by packets, of FT3 records given as
JSON lines on standard input (sd-avro cat FILE...). Used by make demo.

  sd-avro cat DIR/*.avro | python3 ft_top.py [N]
"""
import collections
import json
import sys


def ip(n):
    return "%d.%d.%d.%d" % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def main():
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    src, port = collections.Counter(), collections.Counter()
    records = packets = 0
    for line in sys.stdin:
        r = json.loads(line)
        n = r["packet_cnt"]
        records += 1
        packets += n
        src[r["src_ip"]] += n
        if r["protocol"] in (6, 17):  # ICMP keeps type/code in the port fields
            port[("tcp" if r["protocol"] == 6 else "udp", r["dst_port"])] += n
    print("flowtuples: %d records, %d packets" % (records, packets))
    print("top %d sources by packets:" % top)
    for a, n in src.most_common(top):
        print("  %-15s %10d  %5.1f%%" % (ip(a), n, 100.0 * n / max(packets, 1)))
    print("top %d destination ports by packets (TCP and UDP):" % top)
    for (proto, p), n in port.most_common(top):
        print("  %-15s %10d  %5.1f%%" % ("%s/%d" % (proto, p), n, 100.0 * n / max(packets, 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
