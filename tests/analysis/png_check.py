#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that a screenshot shows charts: png_check.py SHOT.png X,Y,W,H[:MIN] ...

Decodes the PNG with zlib alone (8-bit greyscale/RGB/RGBA, not interlaced),
and for each box counts the "ink" pixels: coloured ones (channel spread >= 48,
i.e. chart fills, not the white/grey page, gridlines or black text). Prints
one line per box; exits 1 when a box has fewer than MIN (default 500).
"""
import struct, sys, zlib

def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    chans = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or chans is None or interlace:
        sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    raw, stride, rows, prev = zlib.decompress(idat), w * chans, [], bytearray(w * chans)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - chans] if i >= chans else 0
            b, c = prev[i], prev[i - chans] if i >= chans else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, chans, rows

def main():
    w, h, chans, rows = decode(sys.argv[1])
    bad = 0
    for spec in sys.argv[2:]:
        box, _, least = spec.partition(":")
        x0, y0, bw, bh = (int(v) for v in box.split(","))
        least = int(least or 500)
        ink = 0
        for y in range(max(0, y0), min(h, y0 + bh)):
            line = rows[y]
            for x in range(max(0, x0), min(w, x0 + bw)):
                px = line[x * chans:x * chans + min(3, chans)]
                if max(px) - min(px) >= 48:
                    ink += 1
        ok = ink >= least
        bad += not ok
        print(f"box {box}: {ink} coloured pixels (want >= {least}) {'ok' if ok else 'TOO FEW'}")
    print(f"image {w}x{h}")
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main())
