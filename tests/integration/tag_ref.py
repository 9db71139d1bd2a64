#!/usr/bin/env python3
"""Independent reference for stardust's packet tags (tags.md §1, §4, §5.1).

  tag_ref.py extra --json CITY.json --pfx2as FILE.gz --out X.pcap
      write an Ethernet pcap whose sources sit on prefix boundaries: the
      first, last, one-before and one-after addresses of every IPv4 network
      of the MaxMind source JSON and of a sample of pfx2as prefixes.
  tag_ref.py check --pcap P --tags T.jsonl --pfx2as FILE.gz --mmdb DB
      parse P itself, compute basic tags, prefixasn (a plain scan of the
      pfx2as file, longest prefix, single origin only) and the MaxMind
      country/continent (mmdblookup), and compare with T.jsonl (tag_query
      output) packet by packet. Prints a summary; exit 1 on a difference.

Python standard library and mmdblookup only: nothing of stardust is used.
"""
import argparse
import gzip
import ipaddress
import json
import random
import struct
import subprocess
import sys


def ft_hash(s, d, sp, dp, ttl, fl, proto, ln):
    m = 0xFFFFFFFF

    def mix(h, v):
        return (h ^ (((h << 5) & m) + (h >> 27) + v)) & m

    h = (s * 59) & m
    h = mix(h, d)
    h = mix(h, (sp << 16) & m)
    h = mix(h, dp)
    h = mix(h, (ttl << 24 | fl << 16) & m)
    h = mix(h, (proto << 8 | ln) & m)
    return h


def read_pcap(path):
    with open(path, 'rb') as f:
        hdr = f.read(24)
        magic = struct.unpack('<I', hdr[:4])[0]
        end = '<' if magic in (0xA1B2C3D4, 0xA1B23C4D) else '>'
        link = struct.unpack(end + 'I', hdr[20:24])[0]
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            _, _, incl, _ = struct.unpack(end + 'IIII', rh)
            yield link, f.read(incl)


def load_pfx2as(path):
    """(len, network int) -> set of origin ASNs, the later line winning."""
    table = {}
    with gzip.open(path, 'rt') as f:
        for line in f:
            a, ln, origin = line.rstrip('\n').split('\t')
            if ':' in a:
                continue
            ln = int(ln)
            net = int(ipaddress.IPv4Address(a)) & ((0xFFFFFFFF << (32 - ln)) & 0xFFFFFFFF)
            asns = []
            for x in origin.replace(',', '_').split('_'):
                if '.' in x:
                    hi, lo = x.split('.')
                    x = int(hi) << 16 | int(lo)
                asns.append(int(x))
            table[(ln, net)] = set(asns)
    return table


def pfx2as_lookup(table, addr):
    for ln in range(32, -1, -1):
        net = addr & ((0xFFFFFFFF << (32 - ln)) & 0xFFFFFFFF)
        if (ln, net) in table:
            return table[(ln, net)]
    return None


MMDB_CACHE = {}


def mmdb_get(db, ip, *path):
    r = subprocess.run(['mmdblookup', '--file', db, '--ip', ip] + list(path),
                       capture_output=True, text=True)
    out = r.stdout + r.stderr
    if 'Could not find an entry' in out:
        return 'noentry'
    for ln in r.stdout.splitlines():
        ln = ln.strip()
        if ln.startswith('"') and ln.endswith('<utf8_string>'):
            return ln.split('"')[1]
    return None


def mmdb_lookup(db, ip):
    """(found, country, continent); continent None = not in the record."""
    if ip not in MMDB_CACHE:
        c = mmdb_get(db, ip, 'country', 'iso_code')
        if c == 'noentry':
            MMDB_CACHE[ip] = (False, None, None)
        else:
            if c is None:
                c = mmdb_get(db, ip, 'registered_country', 'iso_code')
            k = mmdb_get(db, ip, 'continent', 'code')
            MMDB_CACHE[ip] = (True, c, k)
    return MMDB_CACHE[ip]


def reference(link, b):
    """Basic tags of one frame: dict or None for NOTIP."""
    if link == 1:
        if len(b) < 14:
            return None
        et, off = struct.unpack('>H', b[12:14])[0], 14
        while et in (0x8100, 0x88A8) and len(b) >= off + 4:
            et, off = struct.unpack('>H', b[off + 2:off + 4])[0], off + 4
        if et != 0x0800:
            return None
    elif link in (101, 12, 228):
        off = 0
    else:
        return None
    ip = b[off:]
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 15) * 4
    iplen = struct.unpack('>H', ip[2:4])[0]
    frag = struct.unpack('>H', ip[6:8])[0] & 0x1FFF
    ttl, proto = ip[8], ip[9]
    s, d = struct.unpack('>II', ip[12:20])
    r = {'src': s, 'basic': False, 'protocol': 0, 'sport': 0, 'dport': 0, 'ft_hash': 0}
    if ihl < 20 or frag != 0 or len(ip) < ihl:
        return r
    t = ip[ihl:]
    sp = dp = fl = 0
    if proto in (6, 17) and len(t) >= 4:
        sp, dp = struct.unpack('>HH', t[:4])
    elif proto == 1 and len(t) >= 2:
        sp, dp = t[0], t[1]
    if proto == 6 and len(t) >= 20:
        fl = t[13]
    r.update(basic=True, protocol=proto, sport=sp, dport=dp,
             ft_hash=ft_hash(s, d, sp, dp, ttl, fl, proto, iplen))
    return r


def check(a):
    pfx = load_pfx2as(a.pfx2as)
    tags = [json.loads(x) for x in open(a.tags)]
    n = diffs = basic = asn_hits = mm_hits = notip = 0
    for i, (link, b) in enumerate(read_pcap(a.pcap)):
        g = tags[i]
        assert g['i'] == i
        r = reference(link, b)
        want = {}
        if r is None:
            notip += 1
            want = {'providers': 0, 'protocol': 0, 'sport': 0, 'dport': 0, 'ft_hash': 0,
                    'prefixasn': 0, 'mm_country': None, 'mm_continent': None,
                    'filterbits': 1 << 28}
        else:
            prov = 1 if r['basic'] else 0
            asns = pfx2as_lookup(pfx, r['src'])
            asn = 0
            if asns is not None and len(asns) == 1:
                asn = next(iter(asns))
                prov |= 8
                asn_hits += 1
            ip = str(ipaddress.IPv4Address(r['src']))
            found, cc, cont = mmdb_lookup(a.mmdb, ip)
            if found:
                prov |= 2
                mm_hits += 1
                want['mm_country'] = cc
                if cont is not None:
                    want['mm_continent'] = cont
            else:
                want['mm_country'] = None
                want['mm_continent'] = None
            basic += r['basic']
            want.update(providers=prov, protocol=r['protocol'], sport=r['sport'],
                        dport=r['dport'], ft_hash=r['ft_hash'], prefixasn=asn)
        for k, v in want.items():
            if g[k] != v:
                diffs += 1
                if diffs <= 10:
                    print('packet %d: %s = %r, reference %r' % (i, k, g[k], v))
        n += 1
    if n != len(tags):
        print('packet count: capture %d, tags %d' % (n, len(tags)))
        diffs += 1
    print('%d packets: %d basic, %d notip, %d with a single-origin ASN, %d MaxMind matches, '
          '%d differences' % (n, basic, notip, asn_hits, mm_hits, diffs))
    if a.min_mm and mm_hits < a.min_mm:
        print('too few MaxMind matches (%d < %d)' % (mm_hits, a.min_mm))
        diffs += 1
    return 1 if diffs else 0


def frame(src, i):
    """Ethernet/IPv4 TCP SYN, UDP or ICMP echo from src to 44.1.2.3."""
    kind = i % 3
    if kind == 0:
        l4 = struct.pack('>HHIIBBHHH', 40000 + i % 1000, 23, i, 0, 0x50, 0x02, 1024, 0, 0)
        proto = 6
    elif kind == 1:
        l4 = struct.pack('>HHHH', 53, 33333, 12, 0) + b'abcd'
        proto = 17
    else:
        l4 = struct.pack('>BBHHH', 8, 0, 0, 1, i & 0xFFFF) + b'ping'
        proto = 1
    ip = struct.pack('>BBHHHBBHII', 0x45, 0, 20 + len(l4), i & 0xFFFF, 0, 64 + i % 190,
                     proto, 0, src, 0x2C010203)
    return b'\x00\x11\x22\x33\x44\x55\x00\x66\x77\x88\x99\xaa\x08\x00' + ip + l4


def extra(a):
    srcs = set()
    for rec in json.load(open(a.json)):
        net = next(iter(rec))
        if '.' not in net:
            continue
        addr, ln = net.split('/')
        ln = int(ln)
        if addr.startswith('::'):  # IPv4 in the IPv6 tree: ::a.b.c.d/96+n
            addr, ln = addr[2:], ln - 96
        n = ipaddress.IPv4Network('%s/%d' % (addr, ln), strict=False)
        first, last = int(n.network_address), int(n.broadcast_address)
        srcs.update({first, last, (first - 1) & 0xFFFFFFFF, (last + 1) & 0xFFFFFFFF})
    pfx = sorted(load_pfx2as(a.pfx2as))
    rnd = random.Random(5)
    for ln, net in rnd.sample(pfx, a.sample):
        last = net | ((1 << (32 - ln)) - 1)
        srcs.update({net, last, (net - 1) & 0xFFFFFFFF, (last + 1) & 0xFFFFFFFF})
    with open(a.out, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, s in enumerate(sorted(srcs)):
            fr = frame(s, i)
            f.write(struct.pack('<IIII', 1700000000 + i, 0, len(fr), len(fr)) + fr)
    print('%d packets' % len(srcs))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('extra')
    e.add_argument('--json', required=True)
    e.add_argument('--pfx2as', required=True)
    e.add_argument('--out', required=True)
    e.add_argument('--sample', type=int, default=150)
    c = sub.add_parser('check')
    c.add_argument('--pcap', required=True)
    c.add_argument('--tags', required=True)
    c.add_argument('--pfx2as', required=True)
    c.add_argument('--mmdb', required=True)
    c.add_argument('--min-mm', type=int, default=0)
    a = p.parse_args()
    return extra(a) if a.cmd == 'extra' else check(a)


if __name__ == '__main__':
    sys.exit(main())
