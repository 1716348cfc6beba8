"""The worker's hot path: records of the JSON dialects, free-form events (Logstash's) and OTLP/JSON to ``logs`` rows
with no Python object per entry.

The ``sluice_hot`` extension (hotpath/, its mappers in sluice/hotpath.py) runs each dialect's declared
mapping (schemas/columns.py, schemas/free_form.py or schemas/nested.py, in ``schemas/dialects/<name>/columns.py``) over a run
of record values at once and hands back Arrow buffers;
this module makes them one pyarrow table per run and gives each record its slice (``HotRows``).

Exactness: the hot path declines any record it cannot map exactly as the reference mapping would (it
does not decode with the wire type, a value is out of the tables' bounds, dict semantics it leaves to
Python); the caller judges those with ``workers.records.rows_of``, which stores or dead-letters them as
before. So records from native producers, which no gateway checked, are validated here too.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import pyarrow as pa

from schemas.envelope import Envelope
from schemas.formats import Format
from sluice.hotpath import COLUMNS, FREE_FORM, MAPPERS, NESTED
from schemas.rows.arrow import LOGS_SCHEMA

__all__ = ["COLUMNS", "FORMATS", "HotRows", "Mapped", "envelope_tuples", "from_buffers", "joined", "map_values"]

#: A column buffer from the extension: an object lending its memory through the buffer protocol
#: (hotpath/src/owned.rs), which ``pa.py_buffer`` wraps without a copy.
Buffer = object

_MAPPERS = {**MAPPERS, **FREE_FORM, **NESTED}
#: Every format ``map_values`` maps.
FORMATS = frozenset(_MAPPERS)

_ATTRIBUTES = LOGS_SCHEMA.field("LogAttributes").type
_TIMESTAMP = LOGS_SCHEMA.field("Timestamp").type
_ENTRY_FIELDS = [_ATTRIBUTES.key_field, _ATTRIBUTES.item_field]


class HotRows:
    """One record's rows: ``length`` rows of ``table`` from ``start``, one tenant's."""

    __slots__ = ("table", "start", "length", "tenant")

    def __init__(self, table: pa.Table, start: int, length: int, tenant: str):
        self.table, self.start, self.length, self.tenant = table, start, length, tenant

    def __len__(self) -> int:
        return self.length


class Mapped(NamedTuple):
    rows: list[HotRows | None]  # per value: its rows, or None when declined
    declined: list[tuple[int, str]]  # (index, why) of each declined value


def map_values(fmt: Format, values: Sequence[bytes], envelopes: Sequence[Envelope]) -> Mapped:
    """The rows of ``values`` (all of format ``fmt``, one envelope each), mapped in one call."""
    counts, declined, buffers = _MAPPERS[fmt].map(list(values), envelope_tuples(envelopes))
    return from_buffers(counts, declined, buffers, envelopes)


def envelope_tuples(envelopes: Sequence[Envelope]) -> list[tuple[str, str, str, int]]:
    """The envelopes as the extension takes them: (tenant, environment, request id, receive time in ns)."""
    return [(e.tenant, e.environment, e.request_id, e.received_ns) for e in envelopes]


def from_buffers(counts: bytes, declined: list[tuple[int, str]], buffers: tuple[Buffer, ...],
                 envelopes: Sequence[Envelope]) -> Mapped:
    """What one of the extension's ``map`` calls gave, one record of ``envelopes`` each, as ``Mapped``."""
    sizes = memoryview(counts).cast("i")
    table = _table(sum(n for n in sizes if n > 0), buffers)
    rows: list[HotRows | None] = []
    start = 0
    for n, env in zip(sizes, envelopes):
        if n < 0:
            rows.append(None)
        else:
            rows.append(HotRows(table, start, n, env.tenant))
            start += n
    return Mapped(rows, declined)


def joined(parts: Sequence[HotRows]) -> list[pa.Table]:
    """The rows of ``parts``, in order, as few slices as their tables allow (contiguous parts join)."""
    runs: list[list] = []  # [table, start, length]
    for part in parts:
        if runs and part.table is runs[-1][0] and part.start == runs[-1][1] + runs[-1][2]:
            runs[-1][2] += part.length
        else:
            runs.append([part.table, part.start, part.length])
    return [table.slice(start, length) for table, start, length in runs]


def _table(n: int, buffers: tuple[Buffer, ...]) -> pa.Table:
    """The ``logs`` table of ``n`` rows from the extension's buffers (their order: hotpath/src/lib.rs)."""
    it = iter(map(pa.py_buffer, buffers))

    def strings(length: int = n) -> pa.Array:
        offsets, data = next(it), next(it)
        return pa.Array.from_buffers(pa.string(), length, [None, offsets, data])

    def fixed(kind: pa.DataType) -> pa.Array:
        return pa.Array.from_buffers(kind, n, [None, next(it)])

    def maps() -> pa.Array:
        offsets = next(it)
        entries = int.from_bytes(offsets[-4:].to_pybytes(), "little", signed=True)
        struct = pa.StructArray.from_arrays([strings(entries), strings(entries)], fields=_ENTRY_FIELDS)
        return pa.Array.from_buffers(_ATTRIBUTES, n, [None, offsets], children=[struct])

    columns = {
        "TenantId": strings(), "Environment": strings(), "Source": strings(), "RequestId": strings(),
        "ReceivedAt": fixed(_TIMESTAMP), "Timestamp": fixed(_TIMESTAMP),
        "SeverityText": strings(), "SeverityNumber": fixed(pa.uint8()),
        "ServiceName": strings(), "Body": strings(), "TraceId": strings(), "SpanId": strings(),
        "ResourceAttributes": maps(), "LogAttributes": maps(),
    }
    columns.update({"TraceFlags": fixed(pa.uint8()), "ScopeName": strings(), "ScopeVersion": strings(),
                    "ScopeAttributes": maps()})
    return pa.Table.from_arrays([columns[f.name] for f in LOGS_SCHEMA], schema=LOGS_SCHEMA)
