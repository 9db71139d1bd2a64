#!/bin/sh
# make install DESTDIR=... works, and a third-party program builds against
# the installed library with nothing but pkg-config, then runs.
. "$SD_SRCDIR/tests/integration/lib.sh"
dest="$TMP/root"
${MAKE:-make} -s -C "$SD_BUILDDIR" -f Makefile install DESTDIR="$dest" >"$TMP/install.log" 2>&1 ||
    { cat "$TMP/install.log" >&2; echo "FAIL: make install" >&2; exit 1; }
pc=$(find "$dest" -name libstardust.pc | head -n 1)
check "libstardust.pc installed" test -n "$pc"
check "headers installed" test -n "$(find "$dest" -path '*/include/stardust/stardust.h')"
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$dest"
libdir=$(dirname "$(dirname "$pc")")
check "example builds with pkg-config --cflags --libs libstardust" \
    ${MAKE:-make} -s -C "$SD_SRCDIR/examples" -f Makefile O="$TMP" CC="${CC:-cc}" \
    CFLAGS="-O2 -Wall -Wextra ${SD_SAN_CFLAGS:-}"
out=$(LD_LIBRARY_PATH="$libdir" "$TMP/read_trace" "$(data pcap/libtrace/100_packets.pcap)")
expect_eq "example reads the trace" "$out" "100 packets, 5984 bytes captured"
# ndag_recv: a real capture replayed in a private network namespace
real="$(data ndag/real/tracemcast-100_packets.pcap)"
out=$(LD_LIBRARY_PATH="$libdir" sh "$SD_SRCDIR/tests/netns-run" sh -c '
    timeout 30 "$1" lo 225.44.0.1 44000 2 100 >"$2/ndag.out" & pid=$!
    for i in $(seq 20); do kill -0 $pid 2>/dev/null || break; python3 "$3/../tools/ndag-replay.py" --top "$4" 2>/dev/null; sleep 0.2; done
    wait $pid; cat "$2/ndag.out"' sh "$TMP/ndag_recv" "$TMP" "$SD_DATA" "$real")
expect_eq "ndag_recv example receives the capture" "$out" "100 packets, 1 streams, 0 datagrams missing, 0 dropped"
if [ "$(id -u)" -eq 0 ] || unshare -r -n true 2>/dev/null; then
    out=$(LD_LIBRARY_PATH="$libdir" sh "$SD_SRCDIR/tests/netns-run" "$TMP/ndag_send" \
        "$(data pcap/libtrace/100_packets.pcap)" 225.44.0.77 44770)
    expect_eq "ndag_send example multicasts the trace (in a private namespace)" "$out" \
        "100 packets in 1 datagrams"
fi
finish
