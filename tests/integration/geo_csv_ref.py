#!/usr/bin/env python3
"""Independent reference for the CSV geolocation loaders (tags.md §4, §5.2,
§5.3), standard library only.

  geo_csv_ref.py maxmind BLOCKS LOCATIONS   expected lookups, MaxMind legacy CSV
  geo_csv_ref.py netacq DIR                 expected lookups, Net Acuity Edge set
  geo_csv_ref.py gen DIR SEED               write random data sets (both kinds)

For every blocks row the addresses start-1, start, end and end+1 are looked
up: the answer is the record of the longest CIDR prefix covering the
address, the later row winning on equal prefixes. Output lines match
tests/unit/geo_lookup.c: addr, country and continent bytes in hex,
region code, polygon words, region, city, latitude, longitude (or addr -)."""
import csv
import glob
import io
import ipaddress
import os
import random
import sys

# The spec's examples (§5.2) plus the codes of the synthetic fixtures;
# deliberately not generated from lib/geo.c.
CONTINENT = {
    'US': 'NA', 'CA': 'NA', 'MX': 'NA', 'BR': 'SA', 'AR': 'SA', 'GB': 'EU', 'DE': 'EU',
    'FR': 'EU', 'RU': 'EU', 'JP': 'AS', 'CN': 'AS', 'IN': 'AS', 'KR': 'AS', 'AU': 'OC',
    'NZ': 'OC', 'ZA': 'AF', 'NG': 'AF', 'EG': 'AF', 'AQ': 'AN', 'AP': 'AS', 'EU': 'EU',
    'O1': '??', 'A1': '??', 'A2': '??', '??': '??', 'NL': 'EU',
}
NA_CONTINENT = ['??', 'AF', 'AN', 'OC', 'AS', 'EU', 'NA', 'SA']


def rows(path):
    """CSV rows of a (possibly gzip) file, bytes kept as latin-1."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:2] == b'\x1f\x8b':
        import gzip
        data = gzip.decompress(data)
    text = data.decode('latin-1')
    return [r for r in csv.reader(io.StringIO(text)) if r]


def cidrs(first, last):
    """Minimal CIDR list of [first, last], computed with ipaddress."""
    return [(int(n.network_address), n.prefixlen) for n in ipaddress.summarize_address_range(
        ipaddress.IPv4Address(first), ipaddress.IPv4Address(last))]


def hexb(s):
    return ''.join('%02x' % b for b in s.encode('latin-1'))


def fmt(rec):
    cc, cont, rcode, polys, region, city, lat, lon = rec
    pw = ','.join('%08x' % w for w in polys) if polys else '-'
    return '%s\t%s\t%d\t%s\t%s\t%s\t%.4f\t%.4f' % (
        hexb(cc), hexb(cont) if cont else '0000', rcode, pw, region[:7], city.encode(
            'latin-1')[:47].decode('latin-1'), lat, lon)


def answer(blocks, records):
    table = {}
    for first, last, loc in blocks:
        for net, plen in cidrs(first, last):
            table[(net, plen)] = loc
    addrs = []
    seen = set()
    for first, last, _ in blocks:
        for a in (first - 1, first, last, last + 1):
            if 0 <= a <= 0xFFFFFFFF and a not in seen:
                seen.add(a)
                addrs.append(a)
    for a in addrs:
        out = '-'
        for plen in range(32, -1, -1):
            net = a & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)
            if (net, plen) in table:
                out = fmt(records[table[(net, plen)]])
                break
        print('%s\t%s' % (ipaddress.IPv4Address(a), out))


def maxmind(blocks_path, loc_path):
    records = {}
    blocks = []
    for path in (loc_path, blocks_path):
        rs = rows(path)
        while rs and rs[0][0].startswith('Copyright'):
            rs.pop(0)
        header, body = rs[0], rs[1:]
        if header[0] == 'locId':
            for r in body:
                cc = r[1].upper() if r[1] not in ('', '--') else '??'
                records[int(r[0])] = (cc, CONTINENT.get(cc, '??'), 0, [], r[2], r[3],
                                      float(r[5]), float(r[6]))
        else:
            blocks = [(int(r[0]), int(r[1]), int(r[2])) for r in body]
    answer(blocks, records)


def netacq(d):
    tables = sorted(glob.glob(os.path.join(d, '*.polygons.csv')))
    names = [rows(t)[0][0].split('-id')[0] for t in tables]
    pmap = {}
    mp = os.path.join(d, 'netacq-4-polygon-map.csv')
    if os.path.exists(mp):
        rs = rows(mp)
        cols = [names.index(h[:-3]) for h in rs[0][1:]]
        for r in rs[1:]:
            ids = [0] * len(names)
            for c, v in zip(cols, r[1:]):
                ids[c] = int(v)
            pmap[int(r[0])] = [(i << 24) | (v & 0xFFFFFF) for i, v in enumerate(ids)]
    records = {}
    for r in rows(os.path.join(d, 'netacq-4-locations.csv'))[1:]:
        c = r[1]
        cc = '??' if c in ('?', '**') else 'GB' if c.lower() == 'uk' else c.upper()
        cont = NA_CONTINENT[int(r[13])] if r[13] != '' else ''
        region = '???' if r[2] == 'no region' else r[2].replace('*', '?').upper()
        records[int(r[0])] = (cc, cont, int(r[11]), pmap.get(int(r[0]), []), region, r[3],
                              float(r[5]), float(r[6]))
    blocks = [(int(r[0]), int(r[1]), int(r[2]))
              for r in rows(os.path.join(d, 'netacq-4-blocks.csv'))[1:]]
    answer(blocks, records)


def gen(d, seed):
    """Random overlapping, unaligned ranges in a few /16s (both kinds)."""
    rnd = random.Random(seed)
    ccs = ['US', 'CA', 'BR', 'GB', 'DE', 'JP', 'AU', 'ZA', 'AQ', 'AP', 'O1', '--']
    nloc = 60
    os.makedirs(os.path.join(d, 'mm'), exist_ok=True)
    os.makedirs(os.path.join(d, 'na'), exist_ok=True)

    def ranges():
        out = []
        for _ in range(400):
            base = rnd.choice([0x0A000000, 0xC0000200, 0xC6120000, 0xFFFF0000, 0])
            first = base + rnd.randrange(0, 1 << 16)
            size = rnd.choice([1, 2, 3, 7, 64, 100, 255, 256, 1000, 4096, 30000])
            last = min(first + size - 1, 0xFFFFFFFF)
            out.append((first, last, rnd.randrange(1, nloc + 1)))
        out.append((0, 0xFFFFFFFF, 1))
        rnd.shuffle(out)
        return out
    with open(os.path.join(d, 'mm', 'GeoLiteCity-Location.csv'), 'w', encoding='latin-1') as f:
        f.write('Copyright (c) generated\nlocId,country,region,city,postalCode,latitude,'
                'longitude,metroCode,areaCode\n')
        for i in range(1, nloc + 1):
            f.write('%d,"%s","R%d","City \xe9%d","",%.4f,%.4f,,\n' % (
                i, rnd.choice(ccs), i % 7, i, rnd.uniform(-90, 90), rnd.uniform(-180, 180)))
    with open(os.path.join(d, 'mm', 'GeoLiteCity-Blocks.csv'), 'w') as f:
        f.write('Copyright (c) generated\nstartIpNum,endIpNum,locId\n')
        for a, b, l in ranges():
            f.write('"%d","%d","%d"\n' % (a, b, l))
    na = os.path.join(d, 'na')
    with open(os.path.join(na, 'netacq-4-locations.csv'), 'w') as f:
        f.write('h' + ',h' * 21 + '\n')
        for i in range(1, nloc + 1):
            cc = rnd.choice(['us', 'uk', '**', '?', 'de', 'jp'])
            f.write('%d,%s,%s,city%d,p,%.4f,%.4f,,?,x,0,%d,0,%s,0,b,0,0,0,0,0,n\n' % (
                i, cc, rnd.choice(['ca', 'no region', '***', 'eng']), i, rnd.uniform(-90, 90),
                rnd.uniform(-180, 180), rnd.randrange(0, 65536),
                rnd.choice(['', '0', '3', '7'])))
    with open(os.path.join(na, 'netacq-4-blocks.csv'), 'w') as f:
        f.write('a,b,c\n')
        for a, b, l in ranges():
            f.write('%d,%d,%d\n' % (a, b, l))
    for t in ('t-a', 't-b', 't-c'):
        with open(os.path.join(na, t + '.polygons.csv'), 'w') as f:
            f.write('%s-id,fqid,name,usercode\n0,x,y,z\n' % t)
    with open(os.path.join(na, 'netacq-4-polygon-map.csv'), 'w') as f:
        f.write('loc,t-c-id,t-a-id\n')
        for i in range(1, nloc + 1, 2):
            f.write('%d,%d,%d\n' % (i, rnd.randrange(0, 1 << 25), rnd.randrange(0, 100)))


if __name__ == '__main__':
    # Bytes out as they came in (ISO-8859-1), like the C side prints them.
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding='latin-1', newline='\n')
    a = sys.argv[1:]
    if a[:1] == ['maxmind'] and len(a) == 3:
        maxmind(a[1], a[2])
    elif a[:1] == ['netacq'] and len(a) == 2:
        netacq(a[1])
    elif a[:1] == ['gen'] and len(a) == 3:
        gen(a[1], int(a[2]))
    else:
        sys.exit(__doc__)
