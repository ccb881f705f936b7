#!/usr/bin/env python3
"""Build one large EVTX file from the chunks of small real ones.

usage: grow.py OUT.evtx SIZE_MIB IN.evtx [IN.evtx ...]

EVTX files cannot be concatenated (one file header, then 64 KiB chunks),
so this copies the header of the first input, repeats the chunks of all
inputs until SIZE_MIB is reached, and patches the header's chunk count,
last chunk number and checksum. Chunks keep their own checksums; record
ids repeat, which readers accept. Used by bench/evtx/compare.sh.
"""
import struct, sys, zlib

out, mib, inputs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
HEADER, CHUNK = 4096, 65536
chunks = []
for p in inputs:
    data = open(p, "rb").read()
    for off in range(HEADER, len(data) - CHUNK + 1, CHUNK):
        if data[off:off + 8] == b"ElfChnk\0":
            chunks.append(data[off:off + CHUNK])
if not chunks:
    sys.exit("no chunks in the inputs")
count = max(1, int(mib * (1 << 20) / CHUNK))
if count > 0xFFFF:
    sys.exit("at most 65535 chunks (4 GiB)")
header = bytearray(open(inputs[0], "rb").read()[:HEADER])
struct.pack_into("<Q", header, 16, count - 1)  # last chunk number
struct.pack_into("<H", header, 42, count)  # chunk count
header[120:124] = b"\0\0\0\0"  # flags: clean, not full
struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
with open(out, "wb") as f:
    f.write(header)
    for i in range(count):
        f.write(chunks[i % len(chunks)])
print(f"{out}: {count} chunks from {len(chunks)} real ones", file=sys.stderr)
