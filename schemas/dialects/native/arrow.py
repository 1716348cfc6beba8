"""The compact binary native format, ``sluice.arrow.v1``: log records as an Arrow IPC stream.

Same records as ``sluice.batch.v1`` (schemas/dialects/native/wire.py), laid out in columns:
the value of one Kafka record is an Arrow IPC *stream* (schema message, one
or more record batches, end-of-stream marker) whose columns are named after
the JSON fields. Headers as for every native record, with ``content-type:
application/vnd.apache.arrow.stream`` (or none).

Rules that keep old producers and old workers compatible:

* columns are matched by name, in any order; columns this version does not
  know are ignored, so a newer producer can talk to an older worker;
* only ``body`` is required; a missing column takes its default (empty
  string, 0, empty map; a null ``timestamp`` or ``severity_number`` is
  derived as in the JSON format);
* a column of another but compatible type is cast safely (``large_string``,
  dictionary-encoded strings, other timestamp units or zones, any integer
  type whose values fit): a value that does not fit rejects the record;
* attributes are ``map<string, string>``: unlike the JSON format, nested
  values are not flattened, because a producer writing columns already holds
  flat strings; a dictionary inside a map is not part of the contract;
* a record decodes to at most ``Limits.max_bytes`` bytes (dictionaries
  expanded) and ``Limits.max_rows`` rows, checked from the stream's metadata
  before anything is decompressed (schemas/dialects/native/arrow_size.py); every value is
  within what its ``logs`` column holds (schemas/storable.py).

Columnar records skip Python objects per record in the workers: they are
cast, completed with the envelope's columns and inserted as they are.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.dialects.native import arrow_size
from schemas import storable
from schemas.tables import ATTRIBUTES, TIMESTAMP

CONTENT_TYPE = "application/vnd.apache.arrow.stream"

#: The columns of ``sluice.arrow.v1``, each with its contract type.
RECORD_SCHEMA = pa.schema([
    pa.field("body", pa.string(), nullable=False),
    pa.field("timestamp", TIMESTAMP),  # null: the Kafka record's timestamp
    pa.field("severity_text", pa.string()),
    pa.field("severity_number", pa.uint8()),  # 0-24; null: derived from severity_text
    pa.field("service_name", pa.string()),
    pa.field("trace_id", pa.string()),
    pa.field("span_id", pa.string()),
    pa.field("trace_flags", pa.uint8()),
    pa.field("resource_attributes", ATTRIBUTES),
    pa.field("scope_name", pa.string()),
    pa.field("scope_version", pa.string()),
    pa.field("attributes", ATTRIBUTES),
])
REQUIRED = frozenset({"body"})
_MAPS = ("resource_attributes", "attributes")


class Limits(NamedTuple):
    """How much one record may decode to (``Settings.native_arrow_max_bytes``, ``native_arrow_max_rows``)."""

    max_bytes: int = 64 * 1024 * 1024
    max_rows: int = 1_000_000


class ArrowRecordError(ValueError):
    """A value that is not a ``sluice.arrow.v1`` stream: a machine-readable code and a message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def encode(table: pa.Table | pa.RecordBatch) -> bytes:
    """One Kafka record's value: ``table`` as an Arrow IPC stream (a producer-side helper)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write(table)
    return sink.getvalue().to_pybytes()


def read(value: bytes, limits: Limits = Limits()) -> pa.Table:
    """The records of one value, conformed to ``RECORD_SCHEMA`` (every column present, cast).

    Raises ``ArrowRecordError`` for a value that is not an Arrow IPC stream,
    would decode to more than ``limits`` allow (before it is decompressed),
    lacks ``body``, holds a null body, or has a value that cannot take its
    column's contract type or that its ``logs`` column cannot hold.
    """
    try:
        size = arrow_size.measure(value)
    except arrow_size.Malformed as exc:
        raise ArrowRecordError("malformed_arrow", f"not an Arrow IPC stream: {exc}") from None
    _within(size.bytes, size.rows, limits)
    try:
        table = pa.ipc.open_stream(value).read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise ArrowRecordError("malformed_arrow", f"not an Arrow IPC stream: {exc}") from None
    missing = sorted(REQUIRED - set(table.column_names))
    if missing:
        raise ArrowRecordError("missing_column", f"required column {missing[0]!r} is missing")
    known = [field for field in RECORD_SCHEMA if field.name in table.column_names]
    _within(size.bytes + sum(_expansion(table.column(field.name), field) for field in known), size.rows, limits)
    columns = []
    for field in RECORD_SCHEMA:
        if field.name in table.column_names:
            columns.append(_cast(table.column(field.name), field))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    conformed = pa.Table.from_arrays(columns, schema=RECORD_SCHEMA.with_metadata(None))
    _check(conformed)
    return conformed


def _within(decoded: int, rows: int, limits: Limits) -> None:
    if rows > limits.max_rows:
        raise ArrowRecordError("arrow_too_large", f"the record holds {rows} rows; at most {limits.max_rows} "
                                                  "are accepted in one record (native_arrow_max_rows)")
    if decoded > limits.max_bytes:
        raise ArrowRecordError("arrow_too_large", f"the record decodes to {decoded} bytes; at most "
                                                  f"{limits.max_bytes} are accepted (native_arrow_max_bytes)")


def _expansion(column: pa.ChunkedArray, field: pa.Field) -> int:
    """Bytes that casting a dictionary-encoded column to its contract type adds, computed
    without casting: a dictionary of one long string repeated on every row is a bomb too."""
    kind = column.type
    if not pa.types.is_dictionary(kind):
        if _holds_dictionary(kind):
            raise ArrowRecordError("invalid_column", f"column {field.name!r} of type {kind} has a dictionary "
                                                     "inside; only top-level columns may be dictionary-encoded")
        return 0
    values = kind.value_type
    if pa.types.is_string(values) or pa.types.is_large_string(values) or pa.types.is_binary(values) \
            or pa.types.is_large_binary(values):
        total = 0
        for chunk in column.chunks:
            lengths = pc.take(pc.binary_length(chunk.dictionary), chunk.indices)
            total += (pc.sum(lengths).as_py() or 0) + 8 * len(chunk)
        return total
    if _holds_dictionary(values) or not pa.types.is_primitive(values):
        raise ArrowRecordError("invalid_column", f"column {field.name!r} is a dictionary of {values}; only "
                                                 "strings and numbers may be dictionary-encoded")
    return values.bit_width // 8 * len(column)


def _holds_dictionary(kind: pa.DataType) -> bool:
    return pa.types.is_dictionary(kind) or any(_holds_dictionary(kind.field(i).type)
                                               for i in range(kind.num_fields))


def _cast(column: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if column.type.equals(field.type):
        return column
    if pa.types.is_timestamp(column.type) and column.type.tz is None:
        column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))  # naive times are UTC
    try:
        return column.cast(field.type)  # safe: overflow and truncation raise
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ArrowRecordError("invalid_column", f"column {field.name!r} of type {column.type} "
                                                 f"does not fit {field.type}: {exc}") from None


def _check(table: pa.Table) -> None:
    if table.column("body").null_count:
        raise ArrowRecordError("invalid_column", "column 'body' holds nulls")
    numbers = pc.max(table.column("severity_number")).as_py()
    if numbers is not None and numbers > 24:
        raise ArrowRecordError("invalid_column", f"severity_number {numbers} is outside 0-24")
    bounds = pc.min_max(table.column("timestamp").cast(pa.int64()))
    for end in ("min", "max"):
        ns = bounds[end].as_py()
        if ns is not None and not storable.TIMESTAMP.holds(ns):
            raise ArrowRecordError("invalid_column", f"column 'timestamp' holds {ns} ns since the epoch, outside "
                                                     f"{storable.TIMESTAMP}")
    for name in _MAPS:
        column = table.column(name)
        if column.num_chunks:
            most = max(int(np.diff(chunk.offsets.to_numpy()).max(initial=0)) for chunk in column.chunks)
            if most > storable.MAX_ENTRIES:
                raise ArrowRecordError("too_many_attributes", f"column {name!r} holds a map of {most} entries; "
                                                              f"at most {storable.MAX_ENTRIES} per row")
