#!/bin/sh
# sd-dump throughput on a 2-million-packet pcap (synscan.pcap repeated) in
# BENCH_TMP: packets per CPU second for -q (read + sd_parse + count), -q with
# --drop (+ the filter bits of every packet), -o json and the text decode, each against reading the file with cat in the same
# run (ratio = sd-dump time / cat time). One JSON line per figure.
set -eu
: "${SD_BUILDDIR:?run through make bench}"
SRC="${SD_DATA:-$SD_SRCDIR/../shared/data}/ndag/real/input/synscan.pcap"
[ -f "$SRC" ] || { echo "bench-dump: $SRC missing" >&2; exit 1; }
exec python3 - "$SD_BUILDDIR/cli/sd-dump" "$SRC" "$BENCH_TMP" <<'EOF'
import json, os, resource, subprocess, sys
dump, src, tmp = sys.argv[1:4]
REPEAT = 1000
data = open(src, 'rb').read()
path = os.path.join(tmp, 'sd-bench-dump.pcap')
with open(path, 'wb') as f:
    f.write(data[:24])
    for _ in range(REPEAT):
        f.write(data[24:])
packets = 2011 * REPEAT

# CPU time (user + system) of the child, best of runs: wall time swings
# with whatever else the machine runs.
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def best(cmd, runs=3):
    t = None
    for _ in range(runs):
        t0 = cpu()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        d = cpu() - t0
        t = d if t is None or d < t else t
    return max(t, 1e-6)

try:
    base = best(['cat', path])
    for name, args, goal in (('quiet', ['-q'], '>= 1e6 pps'),
                             ('quiet_drop', ['-q', '--drop', 'spoofed,erratic'], None),
                             ('json', ['-o', 'json'], None),
                             ('text', [], None)):
        t = best([dump] + args + [path], runs=3 if name.startswith('quiet') else 1)
        line = {'bench': 'dump', 'metric': name + '_packets_per_cpu_s', 'value': round(packets / t),
                'baseline': 'cat_file', 'baseline_value': round(packets / base),
                'ratio': round(t / base, 2)}
        if goal:
            line['goal'] = goal
        print(json.dumps(line))
finally:
    os.unlink(path)
EOF
