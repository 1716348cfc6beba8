"""``logs`` rows as Arrow columns, built without a Python object per row.

``LogColumns`` keeps one record's per-column lists (what the JSON dialects'
and LogFlux's normalizers collect) and ``to_table`` makes a whole batch of
them into one insertable table; ``normalize_arrow`` does the same for records
that arrive in columns (``sluice.arrow.v1``). In both, the envelope fills the
constant columns, a missing timestamp becomes
the receive time and a missing severity number is derived from the text
with the table every dialect uses (schemas/severity.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import NamedTuple, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.envelope import Envelope
from schemas.tables import ATTRIBUTES, ENVELOPE, TIMESTAMP
from schemas.rows.arrow import LOGS_SCHEMA, column, map_array
from schemas.severity import severity_number


_TYPES = {f.name: f.type for f in LOGS_SCHEMA}  # each inserted column's declared Arrow type
_ENVELOPE = tuple(c.name for c in ENVELOPE)


class TableRows:
    """One record's rows as an Arrow table; sized like a list of rows. A batch tells which table they
    are for by their exact type (workers/insert_rows.py ``split``), never by ``isinstance``."""

    __slots__ = ("table",)

    def __init__(self, table: pa.Table):
        self.table = table

    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def tenant(self) -> str:
        """The tenant of these rows (one record's rows are one tenant's); "" when there are none."""
        return self.table.column("TenantId")[0].as_py() if self.table.num_rows else ""


class ArrowRows(TableRows):
    """The rows of one columnar record, ready for the ``logs`` table."""

    __slots__ = ()


def normalize_arrow(records: pa.Table, env: Envelope) -> ArrowRows:
    """``records`` (conformed by ``schemas.native_arrow.read``) as ``logs`` rows of the envelope's tenant."""
    n = records.num_rows
    text = _strings(records.column("severity_text"))
    columns = {
        **_envelope_columns(env, "native", n),
        "Timestamp": pc.fill_null(records.column("timestamp"), _received_at(env)),
        "SeverityText": text,
        "SeverityNumber": pc.coalesce(records.column("severity_number"), _severities(text)),
        "ServiceName": _strings(records.column("service_name")),
        "Body": records.column("body"),
        "TraceId": _strings(records.column("trace_id")),
        "SpanId": _strings(records.column("span_id")),
        "TraceFlags": pc.fill_null(records.column("trace_flags"), _ZERO),
        "ScopeName": _strings(records.column("scope_name")),
        "ScopeVersion": _strings(records.column("scope_version")),
        "ResourceAttributes": _maps(records.column("resource_attributes")),
        "LogAttributes": _maps(records.column("attributes")),
        "ScopeAttributes": _empty_maps(n),
    }
    return ArrowRows(pa.table(columns, schema=LOGS_SCHEMA))


class IsoTimes(NamedTuple):
    """Timestamps as ISO 8601 text with a timezone, already checked (``datetime.fromisoformat``
    parses each), kept unparsed: ``to_table`` parses a batch's at once in Arrow. A
    timezone-aware datetime per row cost 0.3 µs to parse and 0.6 µs more to become a column."""

    text: Sequence[str]


class NsTimes(NamedTuple):
    """Timestamps as nanoseconds since the epoch (None: the receive time), as OTLP carries them."""

    ns: Sequence[int | None]


class SameKeys(NamedTuple):
    """Maps that give every one of ``keys`` the row's value (see ``same_keys``), kept unbuilt."""

    keys: tuple[str, ...]
    values: Sequence[str]


@dataclass(slots=True)
class LogColumns:
    """One record's ``logs`` rows as plain per-column sequences, one value per row.

    A column given as None takes its default in every row ("" or 0, empty
    maps, severity numbers derived from ``severity_text``). A None timestamp
    (naive ones are UTC) is the envelope's receive time; so is a None
    severity number derived. ``resource`` may also be ``SameKeys``.

    They become Arrow together with the other records of their batch
    (``to_table``): a pyarrow call costs microseconds whatever its length, so
    building a record of 100 rows on its own cost several times what the rows do.
    """

    env: Envelope
    source: str
    timestamps: Sequence[datetime | None] | IsoTimes | NsTimes
    severity_text: Sequence[str]
    service: Sequence[str]
    body: Sequence[str]
    attributes: Sequence[dict[str, str]]
    resource: Sequence[dict[str, str]] | SameKeys | None = None
    severity_number: Sequence[int | None] | None = None
    trace_id: Sequence[str] | None = None
    span_id: Sequence[str] | None = None
    trace_flags: Sequence[int] | None = None
    scope_name: Sequence[str] | None = None
    scope_version: Sequence[str] | None = None
    scope_attributes: Sequence[dict[str, str]] | None = None

    def __len__(self) -> int:
        return len(self.body)

    @property
    def tenant(self) -> str:
        return self.env.tenant

    @property
    def table(self) -> pa.Table:
        return to_table([self])


def to_table(parts: Sequence[LogColumns]) -> pa.Table:
    """The rows of ``parts``, in order, as one insertable table of one chunk."""
    n = sum(map(len, parts))

    def joined(name: str, default: object) -> list:
        out: list = []
        for part in parts:
            values = getattr(part, name)
            out.extend(values if values is not None else [default] * len(part))
        return out

    envelopes = [_envelope(part.env, part.source) for part in parts]
    columns = {name: column(list(chain.from_iterable([e[name]] * len(part) for e, part in zip(envelopes, parts))),
                            _TYPES[name])
               for name in _ENVELOPE}
    text = pa.array(joined("severity_text", ""), _TYPES["SeverityText"])
    numbers = pa.array(joined("severity_number", None), _TYPES["SeverityNumber"])
    if numbers.null_count:
        numbers = pc.coalesce(numbers, _severities(text))
    stamps = _timestamps(parts)
    if stamps.null_count:
        stamps = pc.coalesce(stamps, columns["ReceivedAt"])
    plain = {"ServiceName": joined("service", ""), "Body": joined("body", ""), "TraceId": joined("trace_id", ""),
             "SpanId": joined("span_id", ""), "TraceFlags": joined("trace_flags", 0),
             "ScopeName": joined("scope_name", ""), "ScopeVersion": joined("scope_version", "")}
    columns.update((name, pa.array(values, _TYPES[name])) for name, values in plain.items())
    attributes = joined("attributes", {})
    scope = joined("scope_attributes", {})
    columns.update({
        "Timestamp": stamps,
        "SeverityText": text,
        "SeverityNumber": numbers,
        "ResourceAttributes": _resources(parts, n),
        "LogAttributes": map_array(attributes) if any(attributes) else _empty_maps(n),
        "ScopeAttributes": map_array(scope) if any(scope) else _empty_maps(n),
    })
    return pa.table(columns, schema=LOGS_SCHEMA)


def _timestamps(parts: Sequence[LogColumns]) -> pa.Array:
    """The parts' timestamps as one column: each run of parts that give them in one form becomes
    Arrow in one call (a batch is mostly one dialect's records, so mostly one run)."""
    runs: list[tuple[type, list]] = []
    for part in parts:
        kind = type(part.timestamps)
        values = part.timestamps.text if kind is IsoTimes else part.timestamps.ns if kind is NsTimes else (
            part.timestamps if part.timestamps is not None else [None] * len(part))
        if runs and runs[-1][0] is kind:
            runs[-1][1].extend(values)
        else:
            runs.append((kind, list(values)))
    arrays = [_times(kind, values) for kind, values in runs]
    return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)


def _times(kind: type, values: list) -> pa.Array:
    if kind is NsTimes:
        return pa.array(values, pa.int64()).cast(TIMESTAMP)
    if kind is IsoTimes:
        parsed = iso_times(values)
        if parsed is not None:
            return parsed
        values = list(map(datetime.fromisoformat, values))
    return pa.array(values, pa.timestamp("us", tz="UTC")).cast(TIMESTAMP)


def iso_times(text: Sequence[str]) -> pa.Array | None:
    """``text`` (ISO 8601 with timezones) parsed by Arrow in one call, to the microsecond
    like ``datetime.fromisoformat``; None when Arrow reads one of them not at all
    (ISO has forms only Python reads, such as week dates): the caller parses them itself."""
    try:
        parsed = pa.array(text, pa.string()).cast(TIMESTAMP)
    except pa.ArrowInvalid:
        return None
    return pc.floor_temporal(parsed, unit="microsecond")


def _resources(parts: Sequence[LogColumns], n: int) -> pa.Array:
    kinds = {type(part.resource) for part in parts}
    if kinds == {SameKeys} and len({part.resource.keys for part in parts}) == 1:
        values: list[str] = []
        for part in parts:
            values.extend(part.resource.values)
        return same_keys(parts[0].resource.keys, values)
    maps: list[dict[str, str]] = []
    for part in parts:
        r = part.resource
        if r is None:
            maps.extend([{}] * len(part))
        elif type(r) is SameKeys:
            maps.extend(dict.fromkeys(r.keys, value) for value in r.values)
        else:
            maps.extend(r)
    return map_array(maps) if any(maps) else _empty_maps(n)


_ZERO = pa.scalar(0, pa.uint8())


def same_keys(keys: Sequence[str], values: Sequence[str]) -> pa.MapArray:
    """One map per value, each mapping every one of ``keys`` to that value, built without a dict per row."""
    n, k = len(values), len(keys)
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    items = pc.take(pa.array(values, pa.string()), pa.array(np.repeat(np.arange(n, dtype=np.int32), k)))
    names = pc.take(pa.array(keys, pa.string()), pa.array(np.tile(np.arange(k, dtype=np.int32), n)))
    return pa.MapArray.from_arrays(offsets, names, items, type=ATTRIBUTES)


def _envelope(env: Envelope, source: str) -> dict[str, object]:
    """The value of each of the envelope's columns (schemas/tables.ENVELOPE) in every row of a record."""
    return {"TenantId": env.tenant, "Environment": env.environment, "Source": source,
            "RequestId": env.request_id, "ReceivedAt": env.received_ns}


def _envelope_columns(env: Envelope, source: str, n: int) -> dict[str, pa.Array]:
    return {name: pa.repeat(pa.scalar(value, _TYPES[name]), n) for name, value in _envelope(env, source).items()}


def _received_at(env: Envelope) -> pa.Scalar:
    return pa.scalar(env.received_ns, TIMESTAMP)


def _strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(column, "") if column.null_count else column


def _severities(text: pa.ChunkedArray) -> pa.Array:
    # Levels repeat: map each distinct name once, then look every row up.
    names = pc.unique(text)
    numbers = pa.array([severity_number(name) for name in names.to_pylist()], pa.uint8())
    return pc.take(numbers, pc.index_in(text, value_set=names))


def _maps(column: pa.ChunkedArray) -> pa.Array:
    """A map column with nulls read as empty maps and null values as empty strings (ClickHouse's Map has neither)."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not array.null_count and not array.items.null_count:
        return array
    items = pc.fill_null(array.items, "")
    return pa.MapArray.from_arrays(array.offsets, array.keys, items, type=ATTRIBUTES)


def _empty_maps(n: int) -> pa.Array:
    return pa.MapArray.from_arrays(pa.array([0] * (n + 1), pa.int32()), pa.array([], pa.string()),
                                   pa.array([], pa.string()), type=ATTRIBUTES)
