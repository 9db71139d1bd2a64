#!/usr/bin/env python3
"""Independent references for `sd-tagger --lookup` (tests/integration/tagger-lookup.sh).

    tagger_ref.py pfx2as SD_TAGGER TABLE...   straightforward scan of the pfx2as lines
    tagger_ref.py mmdb SD_TAGGER DB.mmdb SOURCE.json   mmdblookup per address
    tagger_ref.py maxmind-csv SD_TAGGER DIR   DIR/expected.tsv
    tagger_ref.py netacq SD_TAGGER DIR        DIR/expected.tsv

Each mode picks addresses on and around every prefix boundary of the data,
runs sd-tagger --lookup on them (one per line on standard input), computes
the expected answer without stardust, and prints one line per mismatch.
Exit status 0 when everything matched; the last line gives the count.
"""
import gzip
import ipaddress
import json
import os
import subprocess
import sys


def run_lookup(tagger, args, addrs):
    p = subprocess.run([tagger] + args + ["--lookup"], input="".join(a + "\n" for a in addrs),
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        sys.exit("sd-tagger --lookup failed (%d): %s" % (p.returncode, p.stderr))
    out = [json.loads(line) for line in p.stdout.splitlines()]
    if len(out) != len(addrs):
        sys.exit("sd-tagger answered %d lines for %d addresses" % (len(out), len(addrs)))
    return out


def report(checked, bad):
    for b in bad[:20]:
        print("MISMATCH", b)
    print("%d addresses checked, %d mismatches" % (checked, len(bad)))
    return 1 if bad or checked == 0 else 0


def boundary_addrs(nets, small=False):
    """First and last address of every network, and the addresses just
    outside it (small: first, last and the one before)."""
    out = set()
    for n in nets:
        first, last = int(n.network_address), int(n.broadcast_address)
        top = (1 << n.max_prefixlen) - 1
        for v in (first, last, first - 1) if small else (first, last, first - 1, last + 1,
                                                          (first + last) // 2):
            if 0 <= v <= top:
                out.add(ipaddress.ip_address(v) if n.version == 4 else ipaddress.IPv6Address(v))
    return sorted(out, key=lambda a: (a.version, int(a)))


def asn_list(field):
    seen = []
    for tok in field.replace(",", "_").split("_"):
        if "." in tok:
            hi, lo = tok.split(".")
            v = int(hi) << 16 | int(lo)
        else:
            v = int(tok)
        if v not in seen:
            seen.append(v)
    return seen


def mode_pfx2as(tagger, tables):
    # Per table: {(version, prefixlen): {network int: origins}}; a repeated
    # prefix keeps the later line. Where several tables cover an address,
    # the later table answers (tag.h).
    tabs = []
    nets = []
    for path in tables:
        opener = gzip.open if path.endswith(".gz") else open
        t = {}
        with opener(path, "rt") as f:
            for line in f:
                addr, plen, origin = line.rstrip("\n").split("\t")
                n = ipaddress.ip_network("%s/%s" % (addr, plen))
                t.setdefault((n.version, n.prefixlen), {})[int(n.network_address)] = asn_list(origin)
                nets.append(n)
        tabs.append(t)
    # Every prefix boundary of small tables, every 7th prefix of large ones.
    step = 1 if len(nets) < 5000 else 7
    addrs = boundary_addrs(nets[::step])

    def expect(a):
        bits = a.max_prefixlen
        v = int(a)
        for t in reversed(tabs):
            for plen in range(bits, -1, -1):
                d = t.get((a.version, plen))
                if d is None:
                    continue
                net = v >> (bits - plen) << (bits - plen) if plen < bits else v
                if net in d:
                    return d[net]
        return []

    args = []
    for t in tables:
        args += ["--pfx2as", t]
    got = run_lookup(tagger, args, [str(a) for a in addrs])
    bad = []
    for a, g in zip(addrs, got):
        want = expect(a)
        if g["asn"] != want or g["prefixasn"] != (want[0] if len(want) == 1 else 0):
            bad.append("%s: got %s/%s want %s" % (a, g["asn"], g["prefixasn"], want))
        # providers follows the tag rule: pfx2as only for exactly one origin
        if ("pfx2as" in g["providers"]) != (len(want) == 1):
            bad.append("%s: providers %s" % (a, g["providers"]))
    return report(len(addrs), bad)


def parse_dump(text):
    """mmdblookup's dump ('{ "k": "v" <utf8_string> ... }', no commas) as
    Python values."""
    import re
    toks = re.findall(r'"(?:[^"\\]|\\.)*"|<[a-z0-9_]+>|[{}\[\]:]|[^\s{}\[\]:<]+', text)
    toks = [t for t in toks if not t.startswith("<")]
    pos = 0

    def value():
        nonlocal pos
        t = toks[pos]
        pos += 1
        if t == "{":
            d = {}
            while toks[pos] != "}":
                k = json.loads(toks[pos])
                pos += 2  # key, ':'
                d[k] = value()
            pos += 1
            return d
        if t == "[":
            arr = []
            while toks[pos] != "]":
                arr.append(value())
            pos += 1
            return arr
        if t.startswith('"'):
            return json.loads(t)
        if t in ("true", "false"):
            return t == "true"
        return float(t)

    return value() if toks else None


def mmdblookup(db, addr):
    p = subprocess.run(["mmdblookup", "--file", db, "--ip", addr], capture_output=True,
                       text=True, check=False)
    if p.returncode != 0 or not p.stdout.strip():
        return None
    return parse_dump(p.stdout)


def dig(rec, *path):
    for k in path:
        if isinstance(rec, dict) and k in rec:
            rec = rec[k]
        elif isinstance(rec, list) and isinstance(k, int) and k < len(rec):
            rec = rec[k]
        else:
            return None
    return rec


def mode_mmdb(tagger, db, source):
    with open(source) as f:
        nets = [ipaddress.ip_network(k) for item in json.load(f) for k in item]
    addrs = boundary_addrs(nets, small=True)
    compared = 0
    got = run_lookup(tagger, ["--mmdb", db], [str(a) for a in addrs])
    bad = []
    for a, g in zip(addrs, got):
        s = str(a)
        rec = mmdblookup(db, s)
        country = dig(rec, "country", "iso_code")
        continent = dig(rec, "continent", "code")
        region = dig(rec, "subdivisions", 0, "iso_code")
        city = dig(rec, "city", "names", "en")
        lat = dig(rec, "location", "latitude")
        m = g.get("maxmind")
        if country is None and continent is None and region is None and city is None:
            continue  # records without geography: nothing to compare
        if m is None:
            bad.append("%s: no maxmind answer, mmdblookup says %s/%s" % (s, country, continent))
            continue
        compared += 1
        if (country or None) != (m.get("country") if m.get("country") != "??" else None):
            bad.append("%s: country %s want %s" % (s, m.get("country"), country))
        if (continent or None) != (m.get("continent") if m.get("continent") != "??" else None):
            bad.append("%s: continent %s want %s" % (s, m.get("continent"), continent))
        if region is not None and m.get("region") != region[:7]:
            bad.append("%s: region %s want %s" % (s, m.get("region"), region))
        if city is not None and m.get("city") is not None and not city.startswith(m["city"]):
            bad.append("%s: city %s want %s" % (s, m.get("city"), city))
        if lat is not None and abs(m.get("latitude", 1e9) - lat) > 1e-6:
            bad.append("%s: latitude %s want %s" % (s, m.get("latitude"), lat))
        if g["country"] != (country if country not in (None, "??") else None):
            bad.append("%s: top-level country %s want %s" % (s, g["country"], country))
    if compared < len(addrs) // 2:
        bad.append("only %d of %d addresses had geography to compare" % (compared, len(addrs)))
    print("%d addresses with geography compared" % compared)
    return report(len(addrs), bad)


def read_tsv(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        return [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def mode_maxmind_csv(tagger, d):
    rows = read_tsv(os.path.join(d, "expected.tsv"))
    got = run_lookup(tagger, ["--maxmind-csv", d], [r["ip"] for r in rows])
    bad = []
    for r, g in zip(rows, got):
        m = g.get("maxmind")
        if r["country"] == "-":
            if m is not None:
                bad.append("%s: unexpected answer %s" % (r["ip"], m))
            continue
        if m is None:
            bad.append("%s: no answer" % r["ip"])
            continue
        want_region = "" if r["region"] == "-" else r["region"]
        want_city = "" if r["city"] == "-" else r["city"]
        if (m["country"], m["continent"], m.get("region", ""), m.get("city", "")) != (
                r["country"], r["continent"], want_region, want_city):
            bad.append("%s: got %s want %s" % (r["ip"], m, r))
    return report(len(rows), bad)


def mode_netacq(tagger, d):
    rows = read_tsv(os.path.join(d, "expected.tsv"))
    got = run_lookup(tagger, ["--netacq", d], [r["ip"] for r in rows])
    bad = []
    for r, g in zip(rows, got):
        n = g.get("netacq")
        if r["country"] == "-":
            if n is not None:
                bad.append("%s: unexpected answer %s" % (r["ip"], n))
            continue
        if n is None:
            bad.append("%s: no answer" % r["ip"])
            continue
        want_poly = [] if r["tag_polygon_words"] == "-" else r["tag_polygon_words"].split(",")
        got_t = (n["country"], n["continent"], n["region_code"], n["polygons"])
        want_t = (r["country"], r["continent"], int(r["region_code"]), want_poly)
        if got_t != want_t:
            bad.append("%s: got %s want %s" % (r["ip"], got_t, want_t))
    return report(len(rows), bad)


def main():
    mode, tagger = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    if mode == "pfx2as":
        return mode_pfx2as(tagger, rest)
    if mode == "mmdb":
        return mode_mmdb(tagger, rest[0], rest[1])
    if mode == "maxmind-csv":
        return mode_maxmind_csv(tagger, rest[0])
    if mode == "netacq":
        return mode_netacq(tagger, rest[0])
    sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    sys.exit(main())
