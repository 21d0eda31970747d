"""png_check - facts about a PNG that zbarimg does not tell, for run.sh

usage: png_check.py size FILE                 prints "WIDTHxHEIGHT"
       png_check.py centred FILE Y0_MM Y1_MM DOTS_PER_MM TOLERANCE_DOTS
           exits 1 unless the dark pixels in the band of rows Y0..Y1 mm
           (the Code 128) have left and right margins that differ by at
           most TOLERANCE dots; prints the margins

Reads 8-bit non-interlaced grey, RGB and RGBA PNGs with the standard
library only (no imaging package on the build machines).
"""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, head = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = head
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or interlace or not channels:
        raise SystemExit(f"{path}: only 8-bit non-interlaced grey/RGB/RGBA PNGs are read here")
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def dark(row, x, channels):
    px = row[x * channels:x * channels + channels]
    if channels in (2, 4) and px[-1] < 128:  # transparent is paper
        return False
    return min(px[:3] if channels >= 3 else px[:1]) < 128


def main(argv):
    if len(argv) == 3 and argv[1] == "size":
        w, h, _, _ = read_png(argv[2])
        print(f"{w}x{h}")
        return 0
    if len(argv) == 7 and argv[1] == "centred":
        w, h, ch, rows = read_png(argv[2])
        y0, y1, dpmm, tol = float(argv[3]), float(argv[4]), float(argv[5]), int(argv[6])
        left, right = w, -1
        for y in range(int(y0 * dpmm), min(h, int(y1 * dpmm))):
            for x in range(w):
                if dark(rows[y], x, ch):
                    left = min(left, x)
                    right = max(right, x)
        if right < 0:
            print("no bars found")
            return 1
        lm, rm = left, w - 1 - right
        print(f"margins {lm} and {rm} dots")
        return 0 if abs(lm - rm) <= tol else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
