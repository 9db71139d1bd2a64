#!/usr/bin/env python3
"""Split a pcap of nDAG traffic into BEACONS.pcap (datagrams to the beacon
port) and DATA.pcap (everything else), keeping the order inside each, so a
test can replay the beacons, wait for the receiver to join the streams,
then replay the data with ndag-replay.py --top.

Usage: ndag-split.py CAPTURE.pcap BEACON_PORT BEACONS.pcap DATA.pcap"""
import struct, sys

def main():
    cap, port, bout, dout = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with open(cap, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        linktype = struct.unpack(end + "I", hdr[20:24])[0]
        if linktype != 1:
            sys.exit(f"{cap}: only Ethernet captures are supported")
        outs = [open(bout, "wb"), open(dout, "wb")]
        for o in outs:
            o.write(hdr)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            incl = struct.unpack(end + "I", rec[8:12])[0]
            data = f.read(incl)
            dport = None
            if len(data) >= 14 + 20 + 8 and data[12:14] == b"\x08\x00" and data[23] == 17:
                ihl = (data[14] & 0x0F) * 4
                dport = struct.unpack("!H", data[14 + ihl + 2:14 + ihl + 4])[0]
            o = outs[0] if dport == port else outs[1]
            o.write(rec)
            o.write(data)
        for o in outs:
            o.close()

if __name__ == "__main__":
    main()
