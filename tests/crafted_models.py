"""Builders of hostile model files: zip bombs, huge declared shapes, odd payloads.

Used by ``tests/test_io_safety.py`` and ``asv_benchmarks/load_malicious_models.py``.
A model file is a zip of ``.npy`` members; :func:`write_zip` writes one from
members given as raw bytes, so a member can be anything (a lying header, a
deflated stream of gigabytes of zeros) without building it in memory.
Independent of fastgmm: plain numpy, zlib and struct.
"""

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np

STORED, DEFLATED = 0, 8
_MIB = 1 << 20


@dataclass
class Member:
    """One zip member as it lies in the archive."""

    name: str
    data: bytes  # as stored: compressed when method is DEFLATED
    crc: int
    file_size: int  # uncompressed
    method: int = STORED


def npy_bytes(array):
    """`array` as the bytes of a ``.npy`` file (what ``np.savez`` stores)."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=True)
    return buffer.getvalue()


def npy_header(shape, dtype, fortran_order=False):
    """The header of a ``.npy`` file declaring `shape` and `dtype`, without data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                 "fortran_order": fortran_order, "shape": tuple(shape)})
    return buffer.getvalue()


def stored(name, payload):
    return Member(name, payload, zlib.crc32(payload), len(payload), STORED)


def deflated(name, payload):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(payload) + compressor.flush()
    return Member(name, data, zlib.crc32(payload), len(payload), DEFLATED)


def deflated_zeros(name, prefix, n_zeros):
    """`prefix` then `n_zeros` zero bytes, deflated, built in O(1 MiB) memory.

    A deflate block written after a full flush does not refer to earlier
    data, so the compressed form of 1 MiB of zeros can be repeated.
    """
    def flushed(payload):
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(payload) + compressor.flush(zlib.Z_FULL_FLUSH)

    zeros = bytes(_MIB)
    n_blocks, rest = divmod(n_zeros, _MIB)
    block = flushed(zeros)
    last = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = (flushed(prefix) + block * n_blocks
            + last.compress(bytes(rest)) + last.flush())
    crc = zlib.crc32(prefix)
    for _ in range(n_blocks):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(rest), crc)
    return Member(name, data, crc, len(prefix) + n_zeros, DEFLATED)


def write_zip(path, members):
    """Write `members` as a zip archive (no zip64: every size below 4 GiB)."""
    central = []
    with open(path, "wb") as f:
        for m in members:
            name = m.name.encode()
            offset = f.tell()
            f.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, m.method, 0, 0x21,
                                m.crc, len(m.data), m.file_size, len(name), 0))
            f.write(name)
            f.write(m.data)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, m.method, 0,
                                       0x21, m.crc, len(m.data), m.file_size, len(name), 0,
                                       0, 0, 0, 0o644 << 16, offset) + name)
        start = f.tell()
        f.write(b"".join(central))
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                            f.tell() - start, start, 0))
    return path


def model_members(entries, method=STORED):
    """The members of a model file holding `entries` (name -> array)."""
    pack = stored if method == STORED else deflated
    return [pack(f"{key}.npy", npy_bytes(value)) for key, value in entries.items()]


def replace(members, member):
    """`members` with the one of the same name replaced (or `member` added)."""
    kept = [m for m in members if m.name != member.name]
    return kept + [member]
