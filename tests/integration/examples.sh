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
if [ "$(id -u)" -eq 0 ] || unshare -r -n true 2>/dev/null; then
    out=$(LD_LIBRARY_PATH="$libdir" sh "$SD_SRCDIR/tests/netns-run" "$TMP/ndag_send" \
        "$(data pcap/libtrace/100_packets.pcap)" 225.44.0.77 44770)
    expect_eq "ndag_send example multicasts the trace (in a private namespace)" "$out" \
        "100 packets in 1 datagrams"
fi
finish
