#!/usr/bin/env python3
"""Driver of ndag-inject.sh (one Python process: interpreter start-up is
slow on loaded CI machines). For each scenario: edit a real capture with
tests/ndag-edit.py, take its --expect counters, replay the edited capture
(beacons until every announced stream is joined, then the data as fast as
possible, like tools/ndag-replay.py --top) into
`sd-dump -q -o json --stats -c RECORDS`, and compare every counter.

Usage: ndag-inject.py SRCDIR DATADIR TMPDIR
Prints "ok NAME", "not ok NAME: why" and "# comment" lines."""
import contextlib
import importlib.util
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

SRC, DATA, TMP = sys.argv[1:4]
GROUP, BPORT = "225.44.0.1", 44000


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


edit = load("ndag_edit", os.path.join(SRC, "tests", "ndag-edit.py"))


def out(line):
    print(line, flush=True)


def ndag_edit(*args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = edit.main([str(a) for a in args])
    if rc:
        raise RuntimeError("ndag-edit.py %s: exit %s" % (" ".join(map(str, args)), rc))
    return buf.getvalue()


def pcap_frames(path):
    with open(path, "rb") as f:
        raw = f.read()
    off, res = 24, []
    while off < len(raw):
        incl = struct.unpack("<I", raw[off + 8:off + 12])[0]
        res.append(raw[off:off + 16 + incl])
        off += 16 + incl
    return raw[:24], res


def udp_of(rec):
    """(group, port, payload) of a pcap record of Ethernet/IPv4/UDP."""
    d = rec[16:]
    ihl = (d[14] & 0x0F) * 4
    u = 14 + ihl
    dport, ulen = struct.unpack("!HH", d[u + 2:u + 6])
    return socket.inet_ntoa(d[30:34]), dport, d[u + 8:u + ulen]


def merge(dst, a, b):
    """Interleave the frames of two captures (order inside each kept)."""
    hdr, fa = pcap_frames(a)
    _, fb = pcap_frames(b)
    with open(dst, "wb") as f:
        f.write(hdr)
        for i in range(max(len(fa), len(fb))):
            for lst in (fa, fb):
                if i < len(lst):
                    f.write(lst[i])


SOCK = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
SOCK.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
SOCK.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))

KEYS = ("datagrams", "records", "missing", "duplicates", "reordered", "late", "restarts", "resyncs",
        "dropped", "truncated", "keepalives", "foreign", "malformed")


def compare(want, objs, summary):
    got = {(o["monitor"], o["port"]): o for o in objs if o.get("stream") != "total" and "port" in o}
    total = [o for o in objs if o.get("stream") == "total"]
    diff, wkeys = [], set()
    for w in want["streams"]:
        k = (w["monitor"], w["port"])
        wkeys.add(k)
        g = got.get(k)
        if g is None:
            diff.append("stream %d/%d not reported" % (k[1], k[0]))
            continue
        for c in KEYS:
            if g[c] != w[c]:
                diff.append("%d/%d %s: got %d want %d" % (k[1], k[0], c, g[c], w[c]))
        for cl in set(g["malformed_class"]) | set(w["malformed_class"]):
            if g["malformed_class"].get(cl) != w["malformed_class"].get(cl, 0):
                diff.append("%d/%d %s: got %s want %d" % (k[1], k[0], cl, g["malformed_class"].get(cl),
                                                          w["malformed_class"].get(cl, 0)))
    for k in set(got) - wkeys:
        diff.append("unexpected stream %d/%d" % (k[1], k[0]))
    if len(total) != 1:
        diff.append("%d total objects" % len(total))
    else:
        t, wt = total[0], want["totals"]
        if t["streams"] != len(want["streams"]):
            diff.append("total streams: got %d want %d" % (t["streams"], len(want["streams"])))
        # malformed: per port in want, per stream in got (a port may carry several)
        for c in KEYS + ("sender_restarts",):
            if c != "malformed" and t[c] != wt[c]:
                diff.append("total %s: got %d want %d" % (c, t[c], wt[c]))
        if t["beacons_malformed"] != 0:
            diff.append("beacons_malformed %d" % t["beacons_malformed"])
    pk = [s["packets"] for s in summary if "packets" in s and "uri" not in s]
    if pk != [want["totals"]["records"]]:
        diff.append("packets delivered: got %s want %d" % (pk, want["totals"]["records"]))
    return diff


def describe(want):
    res = []
    for s in want["streams"]:
        kv = " ".join("%s=%s" % (k, v) for k, v in sorted(s.items())
                      if v and k not in ("port", "monitor", "datagrams", "records"))
        res.append("%d/%d %d/%d%s" % (s["port"], s["monitor"], s["datagrams"], s["records"],
                                      " " + kv if kv else ""))
    return "  ".join(res)


def json_lines(path):
    res = []
    with open(path) as f:
        for ln in f:
            if ln.startswith("{") and ln.endswith("}\n"):
                res.append(json.loads(ln))
    return res


def replay(name, cap, want, until_match=False):
    """sd-dump on the group while cap is replayed; returns the differences.

    sd-dump stops after the expected number of records (-c), so a datagram
    without records after the last data datagram of its socket may be left
    unread. With until_match (streams sharing a port, where each socket sees
    the other monitor's last datagrams as trailing foreign ones), sd-dump
    prints its table every second instead and is stopped by SIGINT once the
    table equals the expectation (or after 10 s)."""
    _, frames = pcap_frames(cap)
    beacons, data = [], []
    for rec in frames:
        g, p, pl = udp_of(rec)
        (beacons if p == BPORT else data).append((g, p, pl))
    nstreams = len(want["streams"])
    records = want["totals"]["records"]
    errp, outp = os.path.join(TMP, name + ".err"), os.path.join(TMP, name + ".out")
    with open(errp, "wb") as ef, open(outp, "wb") as of:
        stop = ["--stats=1"] if until_match else ["--stats", "-c", str(records)]
        # No timeout(1) around it: timeout forwards a SIGINT to the child
        # and to its process group, and a second signal makes sd-dump exit
        # at once with status 1. The waits below are bounded instead.
        proc = subprocess.Popen(["sd-dump", "-q", "-o", "json"] + stop +
                                ["ndag:lo,%s,%d" % (GROUP, BPORT)], stdout=of, stderr=ef)
    # Beacons until every announced stream was joined (bounded: 10 s).
    for _ in range(200):
        with open(errp, "rb") as f:
            added = sum(1 for ln in f if ln.startswith(b"Added new stream"))
        if added >= nstreams or proc.poll() is not None:
            break
        for g, p, pl in beacons:
            SOCK.sendto(pl, (g, p))
        time.sleep(0.05)
    for g, p, pl in data:
        SOCK.sendto(pl, (g, p))
    if until_match:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            objs = json_lines(errp)
            # the last table: the objects after the last-but-one total
            tot = [i for i, o in enumerate(objs) if o.get("stream") == "total"]
            last = objs[tot[-2] + 1:tot[-1] + 1] if len(tot) > 1 else objs[:tot[-1] + 1] if tot else []
            if last and not compare(want, last, [{"packets": records}]):
                break
            time.sleep(0.2)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # too few records: the counters still print
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.wait()
        rc = "stopped after 20 s"
    diff = []
    if rc != 0:
        with open(errp) as f:
            msgs = [ln.strip() for ln in f if ln.startswith("sd-dump:")]
        diff.append("sd-dump exit status %s %s" % (rc, msgs[-2:]))
    if added != nstreams:
        diff.append("streams added: %d want %d" % (added, nstreams))
    objs, summary = json_lines(errp), json_lines(outp)
    if until_match:
        # the final table: after the last periodic one and the source counters
        tot = [i for i, o in enumerate(objs) if o.get("stream") == "total"]
        objs = objs[tot[-2] + 1:] if len(tot) > 1 else objs
    return diff + compare(want, objs, summary)


def check(name, cond, why=""):
    out(("ok %s" % name) if cond else ("not ok %s%s" % (name, ": " + why if why else "")))


def run(name, want, cap, prop, until_match=False):
    """prop: a condition on the expectation, so that the scenario provably
    exercises what its name says (s: streams by "port/monitor", t: totals)."""
    s = {"%d/%d" % (x["port"], x["monitor"]): x for x in want["streams"]}
    t = want["totals"]
    out("# %s: %s" % (name, describe(want)))
    check(name + ": expectation " + prop, eval(prop, {"s": s, "t": t}))
    diff = replay(name, cap, want, until_match)
    check(name + ": receiver counters = ndag-edit.py --expect", not diff, "; ".join(diff))


def scenario(name, cap, args, prop):
    pc = os.path.join(TMP, name + ".pcap")
    try:
        want = json.loads(ndag_edit(cap, "-o", pc, "--expect", *args))
    except (RuntimeError, SystemExit) as e:
        check(name + ": ndag-edit.py " + " ".join(args), False, str(e))
        return
    run(name, want, pc, prop)


real = os.path.join(DATA, "ndag", "real")
R = os.path.join(real, "tracemcast-100_seconds-restart.pcap")
S = os.path.join(real, "tracemcast-synscan-2streams-restart.pcap")
M = os.path.join(real, "tracemcast-100_packets-2streams-mtu1400.pcap")

# -- 100_seconds-restart: @0 = port 12663 (7 datagrams, 41 records), @1 =
# port 32199 (17 datagrams, seqno 1..17, 100 records; the last one has 1 record).
# Nothing is put after the last data datagram of a stream: sd-dump stops at
# the expected record count, so it would never read it.
SCEN = [
    ("r-plain", R, [], 't["records"] == 141 and t["sender_restarts"] == 1'),
    ("r-drop1", R, ["--drop", "@1:5"], 's["32199/1"]["missing"] == 1'),
    ("r-droprun", R, ["--drop", "@1:3-7"], 's["32199/1"]["missing"] == 5 and t["records"] < 141'),
    ("r-dup", R, ["--dup", "@1:5", "--dup", "@1:9x3", "--dup", "@0:2"],
     's["32199/1"]["duplicates"] == 4 and s["12663/1"]["duplicates"] == 1'),
    ("r-swap", R, ["--swap", "@1:6:7", "--delay", "@1:2:3"],
     's["32199/1"]["reordered"] == 2 and s["32199/1"]["missing"] == 0'),
    ("r-late", R, ["--renumber", "@1:0:100", "--seq", "@1:5:1"],
     's["32199/1"]["late"] == 1 and s["32199/1"]["missing"] == 1'),
    ("r-restart", R, ["--restart", "@1:8", "--lctr", "@1:8:0:9", "--lctr", "@1:8:1:4"],
     's["32199/1"]["restarts"] == 1 and s["32199/1"]["dropped"] == 4 and t["sender_restarts"] == 2'),
    ("r-resync", R, ["--renumber", "@1:0:5000", "--renumber", "@1:8:10"],
     's["32199/1"]["resyncs"] == 1 and s["32199/1"]["late"] == 0'),
    ("r-wrap", R, ["--renumber", "@1:0:0xfffffff8", "--drop", "@1:3", "--renumber", "@0:0:0xfffffffd"],
     's["32199/1"]["missing"] == 1 and s["12663/1"]["missing"] == 0'),
    ("r-wrap-lost", R, ["--renumber", "@1:0:0xfffffff8", "--drop", "@1:7"], 's["32199/1"]["missing"] == 1'),
    ("r-wrap-tracemcast", R, ["--renumber", "@1:0:0xfffffff8", "--tracemcast-wrap"],
     'sum(s["32199/1"][k] for k in ("missing", "late", "duplicates", "reordered")) == 0'),
    ("r-malformed", R,
     sum([["--insert", "@1:3:" + k] for k in ("garbage", "short", "version", "type", "encap", "count", "rlen",
                                              "truncated", "keepalive8", "keepalive24", "foreign")], []) +
     ["--insert", "@0:0:garbage", "--insert", "@0:6:keepalive8"],
     'len(s["32199/1"]["malformed_class"]) == 8 and s["32199/1"]["keepalives"] == 2 and '
     's["32199/1"]["foreign"] == 1 and s["12663/1"]["malformed"] == 1'),
    ("r-lctr", R, ["--lctr", "@1:0:0:7", "--lctr", "@1:2:0:5", "--lctr", "@1:2:3:60000", "--lctr", "@0:0:0:3",
                   "--lctr", "@0:3:2:11"],
     's["32199/1"]["dropped"] == 60005 and s["12663/1"]["dropped"] == 11'),
    ("r-flag", R, ["--flag", "@1:16"], 's["32199/1"]["truncated"] == 1'),
    # tracemcast <= 4.0.22 sends seqno 1 in every datagram (ndag.md 12.1, 15):
    # all records delivered, no loss alarm, only the duplicate counter moves.
    ("r-seq-always-1", R, sum([["--seq", "@1:%d:1" % i] for i in range(1, 17)], []),
     's["32199/1"]["duplicates"] == 16 and s["32199/1"]["missing"] == 0 and '
     's["32199/1"]["late"] == 0 and t["records"] == 141'),
    ("r-combo", R, ["--drop", "@1:0", "--swap", "@1:1:2", "--dup", "@1:3", "--restart", "@1:10",
                    "--renumber", "@0:0:0xfffffffe", "--lctr", "@1:4:1:9", "--pad", "@1:4:1:0xbeef",
                    "--insert", "@1:5:garbage", "--insert", "@1:12:rlen", "--insert", "@0:4:keepalive24",
                    "--drop", "@0:2", "--delay", "@1:12:2", "--flag", "@1:16", "--lctr", "@0:5:0:2"],
     's["32199/1"]["restarts"] == 1 and s["32199/1"]["reordered"] == 2 and s["12663/1"]["missing"] == 1'),
    # -- synscan-2streams-restart: 4 streams of 9 datagrams (two sender instances)
    ("s-plain", S, [], 't["records"] == 4022 and t["sender_restarts"] == 1'),
    ("s-mixed", S, ["--drop", "@0:4", "--dup", "@1:2", "--swap", "@2:3:5", "--restart", "@3:6",
                    "--lctr", "@0:1:0:17", "--lctr", "@3:6:0:5", "--insert", "@1:1:count",
                    "--insert", "@2:8:truncated"],
     't["missing"] == 1 and t["duplicates"] == 1 and t["reordered"] == 2 and t["restarts"] == 1 and '
     't["dropped"] == 17'),
    ("s-late", S, ["--renumber", "@2:0:1000", "--seq", "@2:4:2", "--renumber", "@1:0:0xfffffffa",
                   "--drop", "@1:5-6"],
     't["late"] == 1 and t["missing"] == 3'),
    # -- 100_packets-2streams-mtu1400: 4 and 2 datagrams
    ("m-mixed", M, ["--drop", "@0:1", "--dup", "@1:0", "--swap", "@0:2:3", "--insert", "@1:1:short",
                    "--insert", "@0:3:encap", "--lctr", "@0:0:1:4", "--lctr", "@1:1:0:6"],
     't["missing"] == 1 and t["duplicates"] == 1 and t["reordered"] == 1 and t["dropped"] == 10'),
]

only = os.environ.get("NDAG_INJECT_ONLY")
for name, cap, args, prop in SCEN:
    if not only or name == only:
        scenario(name, cap, args, prop)

# -- two senders (monitors) on one group and beacon port: each one's
# streams are discovered and counted separately.
if not only or only == "two":
    # disjoint ports: R as monitor 1 with a loss, M as monitor 7 with a duplicate
    a, b, m = (os.path.join(TMP, "two-%s.pcap" % x) for x in "abm")
    ndag_edit(R, "-o", a, "--drop", "@1:4", "--lctr", "@1:6:0:3")
    ndag_edit(M, "-o", b, "--monitor", 7, "--dup", "@0:1", "--insert", "@1:1:version")
    merge(m, a, b)
    want = json.loads(ndag_edit(m, "--expect"))
    parts = [json.loads(ndag_edit(x, "--expect"))["streams"] for x in (a, b)]
    check("two: merged expectation = the two captures' streams",
          sorted(map(str, parts[0] + parts[1])) == sorted(map(str, want["streams"])))
    run("two", want, m, 'sorted(s) == ["12663/1", "32199/1", "43861/7", "43862/7"] and '
        's["32199/1"]["missing"] == 1 and s["43861/7"]["duplicates"] == 1 and s["43862/7"]["malformed"] == 1')
if not only or only == "shared":
    # shared ports: the same capture from monitors 1 and 9; every stream sees
    # the other monitor's datagrams as foreign, and its losses stay its own
    a, b, m = (os.path.join(TMP, "shared-%s.pcap" % x) for x in "abm")
    ndag_edit(R, "-o", a, "--drop", "@1:4", "--insert", "@1:2:garbage")
    ndag_edit(R, "-o", b, "--monitor", 9, "--restart", "@1:5", "--dup", "@0:1")
    merge(m, a, b)
    want = json.loads(ndag_edit(m, "--expect"))
    run("shared", want, m, 'sorted(s) == ["12663/1", "12663/9", "32199/1", "32199/9"] and '
        's["32199/1"]["missing"] == 1 and s["32199/9"]["missing"] == 0 and s["32199/9"]["restarts"] == 1 and '
        's["12663/1"]["foreign"] == 8 and s["32199/9"]["malformed"] == 1 and t["sender_restarts"] == 3',
        until_match=True)
