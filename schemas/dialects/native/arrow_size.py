"""What an Arrow IPC stream decodes to, read from its message metadata without decompressing anything.

A stream's record batches may be compressed buffer by buffer (LZ4 or zstd):
each compressed buffer starts with its uncompressed length as a little-endian
int64 (-1: stored as is). A few kilobytes of zeros compressed by zstd can
claim a gigabyte, and pyarrow allocates and fills it all on ``read_all``, so
the sizes are read first, here, and a record over its limits is refused
before a byte is inflated.

The metadata of each message is a FlatBuffer (Arrow's format/Message.fbs);
the few fields needed are read by hand: ``Message.header_type`` and
``header``, ``RecordBatch.length``, ``buffers`` and ``compression``, and a
``DictionaryBatch``'s ``data``. Anything that does not read as such is
``Malformed``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import pyarrow as pa

# Message.fbs: the MessageHeader union's members and the fields read here, by their index.
_RECORD_BATCH, _DICTIONARY_BATCH = 3, 2
_MESSAGE_HEADER_TYPE, _MESSAGE_HEADER = 1, 2
_BATCH_LENGTH, _BATCH_BUFFERS, _BATCH_COMPRESSION = 0, 2, 3
_DICTIONARY_DATA = 1
_UNCOMPRESSED = -1  # the length prefix of a buffer stored as is in a compressed batch


class Malformed(ValueError):
    pass


class Size(NamedTuple):
    bytes: int  # of every buffer once decompressed, dictionaries included
    rows: int  # of the record batches (dictionary batches not counted)


class _Table:
    """One FlatBuffer table of ``buf`` at ``pos``: its fields by index, bounds-checked."""

    __slots__ = ("buf", "pos", "vtable", "vtable_size")

    def __init__(self, buf: memoryview, pos: int):
        self.buf, self.pos = buf, pos
        self.vtable = pos - _unpack("<i", buf, pos)
        self.vtable_size = _unpack("<H", buf, self.vtable)

    def _offset(self, index: int) -> int:
        slot = 4 + 2 * index
        return _unpack("<H", self.buf, self.vtable + slot) if slot + 2 <= self.vtable_size else 0

    def scalar(self, index: int, fmt: str, default: int = 0) -> int:
        off = self._offset(index)
        return _unpack(fmt, self.buf, self.pos + off) if off else default

    def table(self, index: int) -> "_Table | None":
        off = self._offset(index)
        if not off:
            return None
        at = self.pos + off
        return _Table(self.buf, at + _unpack("<I", self.buf, at))

    def structs(self, index: int, size: int) -> memoryview:
        """A vector of fixed-size structs, as its bytes."""
        off = self._offset(index)
        if not off:
            return self.buf[0:0]
        at = self.pos + off
        start = at + _unpack("<I", self.buf, at)
        count = _unpack("<I", self.buf, start)
        end = start + 4 + count * size
        if end > len(self.buf):
            raise Malformed("a vector runs past its message's metadata")
        return self.buf[start + 4:end]


def _unpack(fmt: str, buf: memoryview, at: int) -> int:
    if at < 0:
        raise Malformed("an offset points before its message's metadata")
    try:
        return struct.unpack_from(fmt, buf, at)[0]
    except struct.error:
        raise Malformed("an offset points past its message's metadata") from None


def _batch_bytes(batch: _Table, body: memoryview) -> int:
    buffers = batch.structs(_BATCH_BUFFERS, 16)
    compressed = batch.table(_BATCH_COMPRESSION) is not None
    total = 0
    for offset, length in struct.iter_unpack("<qq", buffers):
        if offset < 0 or length < 0 or offset + length > len(body):
            raise Malformed("a buffer lies outside its message's body")
        if not compressed or length == 0:
            total += length
            continue
        if length < 8:
            raise Malformed("a compressed buffer is shorter than its length prefix")
        declared = struct.unpack_from("<q", body, offset)[0]
        if declared < _UNCOMPRESSED:
            raise Malformed("a compressed buffer declares a negative length")
        total += length - 8 if declared == _UNCOMPRESSED else declared
    return total


def measure(value: bytes) -> Size:
    """The decoded size of the IPC stream ``value``; ``Malformed`` when its messages do not read."""
    total = rows = 0
    try:
        for message in pa.ipc.MessageReader.open_stream(pa.py_buffer(value)):
            if message.type not in ("record batch", "dictionary batch"):
                continue
            root = memoryview(message.metadata)
            header = _Table(root, _unpack("<I", root, 0))
            kind = header.scalar(_MESSAGE_HEADER_TYPE, "<B")
            batch = header.table(_MESSAGE_HEADER)
            if kind == _DICTIONARY_BATCH and batch is not None:
                batch = batch.table(_DICTIONARY_DATA)
            if batch is None or kind not in (_RECORD_BATCH, _DICTIONARY_BATCH):
                raise Malformed(f"a {message.type} message without its batch")
            body = memoryview(message.body) if message.body is not None else memoryview(b"")
            total += _batch_bytes(batch, body)
            if kind == _RECORD_BATCH:
                length = batch.scalar(_BATCH_LENGTH, "<q")
                if length < 0:
                    raise Malformed("a record batch of a negative length")
                rows += length
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise Malformed(str(exc)) from None
    return Size(total, rows)
