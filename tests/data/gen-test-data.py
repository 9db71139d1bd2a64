#!/usr/bin/env python3
"""Writes the hand-made ERF and pcapng test files under tests/data/.

bad/<format>/NAME.<ext> is a damaged file; NAME.expect holds three lines:
the sd_errname the reader must return, a substring of its sd_errmsg, and
"open" (sd_source_open fails) or "read N" (N packets come first, then the
error). pcapng/*.pcapng are valid files for positive tests.
Run from the top of the source tree: python3 tests/data/gen-test-data.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# A 60-byte Ethernet frame: IPv4/TCP SYN 192.0.2.1 -> 44.0.0.1:80, padded.
FRAME = (bytes.fromhex("00005e0001aa0000c0a80101" "0800")
         + bytes.fromhex("45000028000100004006" "0000" "c0000201" "2c000001")
         + bytes.fromhex("30390050" "00000001" "00000000" "5002ffff" "00000000")
         + b"\0" * 6)
assert len(FRAME) == 60


def erf_record(frame=FRAME, ts_sec=1577836800, frac=0, type_byte=2, flags=4, rlen=None,
               lctr=0, wlen=None, ext=b"", pad=True):
    body = ext + (b"\0\0" if pad else b"") + frame
    if rlen is None:
        rlen = 16 + len(body)
    if wlen is None:
        wlen = len(frame)
    return struct.pack("<Q", (ts_sec << 32) | frac) + struct.pack(
        ">BBHHH", type_byte, flags, rlen, lctr, wlen) + body


def write(path, data, expect=None):
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(data)
    if expect is not None:
        base = os.path.splitext(path)[0]
        with open(os.path.join(HERE, base + ".expect"), "w") as f:
            f.write("\n".join(expect) + "\n")


def erf_files():
    good = erf_record()
    n = len(good)  # 78
    write("bad/erf/truncated-header.erf", good + good[:10],
          ["SD_ERR_TRUNCATED", "record 2 at offset %d: file ends inside the record header (10 of 16" % n,
           "read 1"])
    write("bad/erf/rlen-8.erf", good + erf_record(rlen=8) ,
          ["SD_ERR_FORMAT", "record 2 at offset %d: rlen 8 is shorter than the 16-byte ERF header" % n,
           "read 1"])
    write("bad/erf/rlen-8-first.erf", erf_record(rlen=8),
          ["SD_ERR_FORMAT", "record 1 at offset 0: rlen 8 is shorter than the 16-byte ERF header",
           "open"])
    write("bad/erf/rlen-past-end.erf", good + good + erf_record(rlen=200),
          ["SD_ERR_TRUNCATED", "record 3 at offset %d: file ends inside the record (78 of rlen 200" % (2 * n),
           "read 2"])
    # Type 0x82: one extension header whose "more" bit promises a second one
    # that rlen (24) has no room for.
    write("bad/erf/ext-past-rlen.erf",
          good + erf_record(type_byte=0x82, ext=bytes([0x91]) + b"\0" * 7, frame=b"", pad=False, rlen=24),
          ["SD_ERR_FORMAT", "record 2 at offset %d: extension headers (type byte 0x82) run past rlen 24" % n,
           "read 1"])
    # One extension header and then no room for the Ethernet pad.
    write("bad/erf/framing-past-rlen.erf",
          good + erf_record(type_byte=0x82, ext=bytes([0x11]) + b"\0" * 7, frame=b"", pad=False, rlen=24),
          ["SD_ERR_FORMAT", "record 2 at offset %d: framing of 26 bytes (type 2, 1 extension header) exceeds rlen 24" % n,
           "read 1"])


def block(bo, btype, body, length=None, trailer=None):
    pad = (-len(body)) % 4
    body += b"\0" * pad
    if length is None:
        length = 12 + len(body)
    if trailer is None:
        trailer = length
    return struct.pack(bo + "II", btype, length) + body + struct.pack(bo + "I", trailer)


def shb(bo, major=1, bom=0x1A2B3C4D):
    return block(bo, 0x0A0D0D0A, struct.pack(bo + "IHHq", bom, major, 0, -1))


def opt(bo, code, value):
    return struct.pack(bo + "HH", code, len(value)) + value + b"\0" * ((-len(value)) % 4)


def idb(bo, linktype=1, snaplen=0, options=b""):
    if options:
        options += struct.pack(bo + "HH", 0, 0)
    return block(bo, 1, struct.pack(bo + "HHI", linktype, 0, snaplen) + options)


def epb(bo, iface, ts, frame=FRAME, origlen=None, caplen=None, **kw):
    if origlen is None:
        origlen = len(frame)
    if caplen is None:
        caplen = len(frame)
    return block(bo, 6, struct.pack(bo + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, caplen, origlen)
                 + frame, **kw)


def spb(bo, origlen, frame=FRAME):
    return block(bo, 3, struct.pack(bo + "I", origlen) + frame)


def isb(bo, iface):
    return block(bo, 5, struct.pack(bo + "III", iface, 0, 0))


def pcapng_files():
    le = "<"
    ts = 1577836800 * 1000000
    head = shb(le) + idb(le)
    pkt = epb(le, 0, ts)
    off = len(head) + len(pkt)  # offset of the block after the first packet
    nb = 4  # its block number (SHB, IDB, EPB, then this one)

    write("bad/pcapng/truncated-shb.pcapng", shb(le)[:8],
          ["SD_ERR_TRUNCATED", "block 1 at offset 0: file ends inside the block header (8 of 12 bytes)",
           "open"])
    write("bad/pcapng/not-pcapng.pcapng", idb(le) + pkt,
          ["SD_ERR_FORMAT", "not a pcapng file (first block type 0x01000000", "open"])
    write("bad/pcapng/bad-bom.pcapng", shb(le, bom=0x11223344) + idb(le) + pkt,
          ["SD_ERR_FORMAT", "block 1 at offset 0: section header byte-order magic", "open"])
    write("bad/pcapng/version-2.pcapng", shb(le, major=2) + idb(le) + pkt,
          ["SD_ERR_VERSION", "pcapng version 2.0 is not supported", "open"])
    write("bad/pcapng/block-length-8.pcapng",
          head + pkt + struct.pack("<II", 6, 8) + pkt,
          ["SD_ERR_FORMAT", "block %d at offset %d: block length 8 is below the minimum of 12" % (nb, off),
           "read 1"])
    write("bad/pcapng/block-length-odd.pcapng",
          head + pkt + struct.pack("<II", 6, 30) + b"\0" * 22,
          ["SD_ERR_FORMAT", "block %d at offset %d: block length 30 is not a multiple of 4" % (nb, off),
           "read 1"])
    write("bad/pcapng/block-length-huge.pcapng",
          head + pkt + struct.pack("<II", 6, 0x7FFFFFFC) + pkt,
          ["SD_ERR_FORMAT", "block length 2147483644 exceeds the 16 MiB limit", "read 1"])
    write("bad/pcapng/trailing-mismatch.pcapng",
          head + pkt + epb(le, 0, ts, trailer=0x40) + pkt,
          ["SD_ERR_FORMAT", "block %d at offset %d: trailing block length 64 differs from the leading 92" % (nb, off),
           "read 1"])
    write("bad/pcapng/epb-caplen.pcapng",
          head + pkt + epb(le, 0, ts, caplen=200),
          ["SD_ERR_FORMAT", "enhanced packet block caplen 200 exceeds the 60 bytes of the block", "read 1"])
    write("bad/pcapng/unknown-iface.pcapng",
          head + pkt + epb(le, 3, ts),
          ["SD_ERR_FORMAT", "block %d at offset %d: enhanced packet block refers to interface 3 but the section has 1 interface" % (nb, off),
           "read 1"])
    # A new section forgets the interfaces of the previous one.
    write("bad/pcapng/section-resets-ifaces.pcapng",
          head + pkt + shb(">") + epb(">", 0, ts),
          ["SD_ERR_FORMAT", "enhanced packet block refers to interface 0 but the section has 0 interfaces",
           "read 1"])
    write("bad/pcapng/spb-no-iface.pcapng", shb(le) + spb(le, 60),
          ["SD_ERR_FORMAT", "block 2 at offset 28: simple packet block refers to interface 0", "read 0"])
    write("bad/pcapng/idb-option-overrun.pcapng",
          shb(le) + block(le, 1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 9, 200) + b"\x06\0\0\0")
          + pkt,
          ["SD_ERR_FORMAT", "block 2 at offset 28: interface option 9 of length 200 runs past the block",
           "read 0"])
    write("bad/pcapng/tsresol-range.pcapng",
          shb(le) + idb(le, options=opt(le, 9, b"\x14")) + pkt,
          ["SD_ERR_FORMAT", "if_tsresol 0x14 is out of range", "read 0"])
    whole = head + pkt + pkt
    write("bad/pcapng/truncated-block.pcapng", whole[:-50],
          ["SD_ERR_TRUNCATED", "block %d at offset %d: file ends inside the block (42 of 92 bytes)" % (nb, off),
           "read 1"])

    # Valid: two sections in opposite byte orders with different link types
    # and timestamp resolutions, skipped blocks and a simple packet block.
    base = 1577836800  # 2020-01-01 00:00:00 UTC
    ipv4 = FRAME[14:]
    sec1 = (shb("<")
            + idb("<", linktype=1, snaplen=60, options=opt("<", 9, b"\x09"))        # ns
            + idb("<", linktype=101, snaplen=40, options=opt("<", 9, b"\x03"))      # ms
            + epb("<", 0, base * 10**9 + 123456789)
            + isb("<", 0)
            + epb("<", 1, base * 1000 + 250, frame=ipv4)
            + block("<", 0x00000BAD, b"PEN\0custom")
            + spb("<", 80, frame=FRAME))                                            # iface 0
    null_frame = b"\x02\0\0\0" + ipv4  # BSD loopback, AF_INET in host order
    sec2 = (shb(">")
            + idb(">", linktype=0, snaplen=40,
                  options=opt(">", 9, b"\x94") + opt(">", 14, struct.pack(">q", 100)))  # 2^-20 s, +100 s
            + epb(">", 0, ((base - 100) << 20) | (1 << 19), frame=null_frame[:40], origlen=50)  # .5 s
            + spb(">", 50, frame=null_frame[:40])                                             # snapped
            + block(">", 4, b"\0\0\0\0"))                                                   # NRB
    write("pcapng/sections.pcapng", sec1 + sec2)


if __name__ == "__main__":
    erf_files()
    pcapng_files()
