#!/bin/sh
# nDAG end to end, inside tests/netns-run (loopback multicast only): sd-mcast
# sends SD_E2E_PACKETS packets of sd-gen's telescope mix on SD_E2E_STREAMS
# streams at a ladder of rates, received in turn by
#   (a) tests/bench/ndag_count, a plain recvmmsg loop that only reads the
#       recordcount field (the baseline), and
#   (b) the stardust receiver: sd-dump -q over ndag:lo,GROUP,PORT.
# For each receiver the ladder stops at the first rate with loss. Prints one
# JSON line per figure: the highest zero-loss rate of each receiver, the
# records/s per receive thread at that rate, and the ratio stardust /
# ndag_count (goal >= 0.8).
#
# A benchmark, not a test: when sd-mcast or the receiver is not built yet,
# or no network namespace can be made, it says so and exits 0.
#
# Environment: SD_E2E_PACKETS (default 500000), SD_E2E_STREAMS (1),
# SD_E2E_RATES (pps list, default "250000 500000 1000000 2000000 4000000 top"),
# SD_E2E_MCAST_ARGS (extra sd-mcast options), SD_E2E_RECV_ARGS (extra
# sd-dump options).
set -eu
: "${SD_BUILDDIR:?run through make bench}" "${SD_SRCDIR:?run through make bench}"
BENCH_TMP=${BENCH_TMP:-/dev/shm}
[ -d "$BENCH_TMP" ] || BENCH_TMP=${TMPDIR:-/tmp}

skip() {
    echo "bench-ndag-e2e: SKIPPED: $*" >&2
    exit 0
}

if [ "${SD_IN_NETNS:-}" != 1 ]; then
    [ -x "$SD_BUILDDIR/cli/sd-mcast" ] || skip "cli/sd-mcast is not built yet (nDAG sender)"
    [ -f "$SD_SRCDIR/include/stardust/ndag_recv.h" ] ||
        skip "the stardust nDAG receiver (include/stardust/ndag_recv.h) is not built yet"
    [ -x "$SD_BUILDDIR/tests/bench/ndag_count" ] || skip "tests/bench/ndag_count is not built (make bench)"
    "$SD_SRCDIR/tests/netns-run" true 2>/dev/null || skip "cannot create a network namespace (needs root or user namespaces)"
    export BENCH_TMP
    exec "$SD_SRCDIR/tests/netns-run" sh "$0" "$@"
fi

exec python3 - "$SD_BUILDDIR" "$BENCH_TMP" <<'EOF'
import json, os, re, signal, subprocess, sys, time
build, tmp = sys.argv[1:3]
mcast = os.path.join(build, 'cli', 'sd-mcast')
dump = os.path.join(build, 'cli', 'sd-dump')
gen = os.path.join(build, 'cli', 'sd-gen')
count = os.path.join(build, 'tests', 'bench', 'ndag_count')
packets = int(os.environ.get('SD_E2E_PACKETS', '500000'))
streams = int(os.environ.get('SD_E2E_STREAMS', '1'))
rates = os.environ.get('SD_E2E_RATES', '250000 500000 1000000 2000000 4000000 top').split()
extra_send = os.environ.get('SD_E2E_MCAST_ARGS', '').split()
extra_recv = os.environ.get('SD_E2E_RECV_ARGS', '').split()
group, beacon = '225.44.0.1', 44000
ports = ','.join(str(beacon + 1 + i) for i in range(streams))

trace = os.path.join(tmp, 'sd-bench-e2e.%d.pcap' % os.getpid())
subprocess.run([gen, '-n', str(packets), '-o', trace], check=True)

def send(rate):
    cmd = [mcast, '-g', group, '-p', str(beacon), '-s', '127.0.0.1', '-m', '1', '-t', str(streams)]
    cmd += ['--top'] if rate == 'top' else ['--pps', rate]
    subprocess.run(cmd + extra_send + [trace], check=True, stdout=subprocess.DEVNULL)

def run_count(rate):
    p = subprocess.Popen([count, 'lo', group, ports, '--until-idle', '1500'], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    t0 = time.monotonic()
    send(rate)
    send_s = time.monotonic() - t0
    out, _ = p.communicate(timeout=120)
    j = json.loads(out)
    return j['records'], j['active_seconds'] or send_s

def run_stardust(rate):
    p = subprocess.Popen([dump, '-q', '--stats', '-c', str(packets)] + extra_recv +
                         ['ndag:lo,%s,%d' % (group, beacon)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # the first beacon, then the stream joins
    t0 = time.monotonic()
    send(rate)
    send_s = time.monotonic() - t0
    try:
        out, err = p.communicate(timeout=max(3.0, send_s))
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    got = None
    for line in (out + '\n' + err).splitlines():
        line = line.strip()
        if line.startswith('{'):
            try:
                j = json.loads(line)
            except ValueError:
                continue
            for k in ('received', 'packets', 'records'):
                if isinstance(j.get(k), int):
                    got = j[k]
                    break
        if got is None:
            m = re.search(r'(\d+)\s+packets', line)
            if m:
                got = int(m.group(1))
    if got is None:
        sys.exit('bench-ndag-e2e: cannot find the packet count in sd-dump output:\n' + out + err)
    return got, time.monotonic() - t0

def ladder(name, fn):
    best = None
    for rate in rates:
        got, secs = fn(rate)
        lossless = got >= packets
        print('bench-ndag-e2e: %s at %s pps: %d of %d records in %.2f s' %
              (name, rate, got, packets, secs), file=sys.stderr)
        if not lossless:
            break
        best = (rate, packets / secs if secs > 0 else 0.0)
    return best

try:
    base = ladder('ndag_count', run_count)
    sd = ladder('stardust', run_stardust)
finally:
    os.unlink(trace)

def rate_value(b):
    if b is None:
        return 0.0
    return b[1] if b[0] == 'top' else float(b[0])

for name, b in (('ndag_count', base), ('stardust', sd)):
    print(json.dumps({'bench': 'ndag_e2e', 'metric': name + '_zero_loss_pps',
                      'value': round(rate_value(b)), 'rate_setting': b[0] if b else None,
                      'streams': streams, 'packets': packets}))
bv, sv = rate_value(base), rate_value(sd)
print(json.dumps({'bench': 'ndag_e2e', 'metric': 'records_per_s_per_receive_thread',
                  'value': round(sd[1] if sd else 0), 'baseline': 'ndag_count_recvmmsg',
                  'baseline_value': round(base[1] if base else 0),
                  'ratio': round((sd[1] if sd else 0) / base[1], 3) if base and base[1] else None,
                  'goal': '>= 0.8', 'threads': 1}))
print(json.dumps({'bench': 'ndag_e2e', 'metric': 'zero_loss_rate_ratio', 'value': round(sv),
                  'baseline': 'ndag_count_recvmmsg', 'baseline_value': round(bv),
                  'ratio': round(sv / bv, 3) if bv else None, 'goal': '>= 0.8'}))
EOF
