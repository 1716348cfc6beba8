"""The hot path hands its column buffers to Arrow without a copy (hotpath/src/owned.rs): each buffer is the
memory the mapping wrote, lent read-only through the buffer protocol and kept alive by the table built on it."""

from __future__ import annotations

import ctypes
import gc
import json
import sys

import pyarrow as pa
import pytest

from schemas.envelope import Envelope
from schemas.formats import Format
from sluice.hotpath import MAPPERS
from workers import hot

ENV = Envelope("x", "acme", "req-1", 1_795_429_321_123_456_789, "staging")


def _body(n: int) -> bytes:
    return json.dumps({"logs": [{"message": f"line {i} " + "x" * 500, "level": "error", "service": "api",
                                 "attributes": {"i": i}} for i in range(n)]}).encode()


def test_each_buffer_is_lent_read_only_and_the_table_reads_the_memory_the_mapping_wrote():
    counts, declined, buffers = MAPPERS[Format.LOGTRACE_INGEST].map([_body(50)], hot.envelope_tuples([ENV]))
    assert declined == [] and {type(b).__name__ for b in buffers} == {"Owned"}
    body_data = buffers[16]  # the bodies' characters (the order: hotpath/src/lib.rs ``buffers``)
    view = memoryview(body_data)
    assert view.readonly and len(view) == len(body_data) > 50 * 500
    with pytest.raises(TypeError, match="not writable"):
        ctypes.c_char.from_buffer(body_data)
    table = hot.from_buffers(counts, declined, buffers, [ENV]).rows[0].table
    assert table.column("Body").chunk(0).buffers()[2].address == pa.py_buffer(body_data).address
    assert table.column("Body").to_pylist() == [f"line {i} " + "x" * 500 for i in range(50)]


def test_the_table_holds_each_lent_buffer_until_its_last_slice_is_dropped():
    counts, declined, buffers = MAPPERS[Format.LOGTRACE_INGEST].map([_body(200)], hot.envelope_tuples([ENV]))
    body_data = buffers[16]
    alone = sys.getrefcount(body_data)
    mapped = hot.from_buffers(counts, declined, buffers, [ENV])
    table = mapped.rows[0].table.slice(3, 5)
    del mapped, buffers
    gc.collect()
    assert sys.getrefcount(body_data) == alone  # the tuple's reference went, the Arrow buffer's came
    assert table.column("Body").to_pylist() == [f"line {i} " + "x" * 500 for i in range(3, 8)]
    assert table.column("LogAttributes").to_pylist()[0] == [("i", "3")]
    del table
    gc.collect()
    assert sys.getrefcount(body_data) == alone - 1  # the last slice gone: only this test holds it
