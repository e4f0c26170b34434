"""Hostile files built in the tests, small on disk: zip, gzip and PNG bombs, forged headers.

Deflated zeros are made by repetition rather than by compressing gigabytes:
after a full flush, zlib's state is reset, so compressing the same block of
zeros again gives the same bytes, and a stream for N MiB is one compressed
MiB repeated N times (about 1,000 : 1).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

MiB = 1 << 20


def deflated_zeros(n_bytes: int, prefix: bytes = b"", wbits: int = -15) -> bytes:
    """A deflate stream of ``prefix`` then ``n_bytes`` zeros: raw, or zlib with ``wbits=15``."""
    assert wbits < 0 or not prefix, "a zlib stream here holds zeros only"
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    out = [c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)]
    whole, rest = divmod(n_bytes, MiB)
    if whole:
        out.append(c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH))  # a zlib header, if any
        block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
        out.append(block * (whole - 1))
    out.append(c.compress(bytes(rest)) + c.flush())
    stream = b"".join(out)
    if wbits > 0:  # the Adler-32 of n zeros: a = 1, b = n (mod 65521)
        stream = stream[:-4] + struct.pack(">I", ((n_bytes % 65521) << 16) | 1)
    return stream


def crc_of_zeros(n_bytes: int, prefix: bytes = b"") -> int:
    crc = zlib.crc32(prefix)
    whole, rest = divmod(n_bytes, MiB)
    block = bytes(MiB)
    for _ in range(whole):
        crc = zlib.crc32(block, crc)
    return zlib.crc32(bytes(rest), crc)


def npy_header(shape, descr: str = "<f8") -> bytes:
    """The header ``numpy.save`` writes for an array of ``shape`` and dtype ``descr``."""
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


def zip_archive(entries, directory=None, comment: bytes = b"") -> bytes:
    """A zip file written by hand, so that its directory may lie.

    ``entries``: dicts with ``name``, ``data`` (bytes as stored), and optionally
    ``method`` (0 stored, 8 deflated, 12 bzip2), ``size`` (declared uncompressed
    size, default ``len(data)``), ``crc``, ``flags``. ``directory``: the list of
    (name, index of the entry whose local header it points at), default one
    record per entry.
    """
    body, records = bytearray(), []
    for e in entries:
        name = e["name"].encode()
        size = e.get("size", len(e["data"]))
        fields = (
            20,
            e.get("flags", 0),
            e.get("method", 0),
            0,
            0x21,
            e.get("crc", zlib.crc32(e["data"])),
            len(e["data"]),
            size,
        )
        records.append((len(body), fields))
        body += struct.pack("<4sHHHHHIII", b"PK\x03\x04", *fields)
        body += struct.pack("<HH", len(name), 0) + name + e["data"]
    if directory is None:
        directory = [(e["name"], i) for i, e in enumerate(entries)]
    cd = bytearray()
    for name, index in directory:
        offset, fields = records[index]
        raw = name.encode()
        cd += struct.pack("<4sH", b"PK\x01\x02", 20) + struct.pack("<HHHHHIII", *fields)
        cd += struct.pack("<HHHHHII", len(raw), 0, 0, 0, 0, 0, offset) + raw
    n = min(len(directory), 0xFFFF)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(cd), len(body), len(comment))
    return bytes(body + cd + end + comment)


def npz_bomb(shape, declared_shape=None) -> bytes:
    """A data .npz whose ``X`` is deflated zeros of ``shape`` (float64), with a real ``y``.

    ``declared_shape`` (default ``shape``) is what the .npy header and the zip
    sizes claim, so the two may disagree as in a forged file.
    """
    declared = shape if declared_shape is None else declared_shape
    header = npy_header(declared)
    n_real = int(np.prod(shape, dtype=np.int64)) * 8
    stream = deflated_zeros(n_real, prefix=header)
    crc = crc_of_zeros(n_real, header) if n_real <= 512 * MiB else 0  # else left wrong
    size = len(header) + int(np.prod(declared, dtype=np.int64)) * 8
    y_header = npy_header((declared[0],), "<i8")
    y = deflated_zeros(8 * declared[0], prefix=y_header)
    y_size = len(y_header) + 8 * declared[0]
    y_crc = crc_of_zeros(8 * declared[0], y_header) if y_size <= 64 * MiB else 0
    return zip_archive(
        [
            {"name": "X.npy", "data": stream, "method": 8, "size": size, "crc": crc},
            {"name": "y.npy", "data": y, "method": 8, "size": y_size, "crc": y_crc},
        ]
    )


def gzip_idx(shape, n_payload: int, magic: int = 2051) -> bytes:
    """A gzipped IDX file whose header declares ``shape``, then ``n_payload`` zero bytes."""
    head = struct.pack(">I", magic) + struct.pack(f">{len(shape)}I", *shape)
    gz_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", 0, (len(head) + n_payload) & 0xFFFFFFFF)  # CRC left wrong
    return gz_header + deflated_zeros(n_payload, prefix=head) + trailer


def png(width: int, height: int, idat: bytes | None = None, colour: int = 0) -> bytes:
    """A PNG of zeros (grey when ``colour`` is 0, RGBA when 6) with an honest zlib stream."""
    channels = {0: 1, 6: 4}[colour]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    if idat is None:
        idat = deflated_zeros(height * (1 + width * channels), wbits=15)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()
