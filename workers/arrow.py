"""Arrow building blocks shared by the tables' column builders (the fastest chDB insert path)."""

from __future__ import annotations

from itertools import accumulate, chain
from typing import Iterable, Sequence

import pyarrow as pa

TIMESTAMP_NS = pa.timestamp("ns", tz="UTC")
ATTRIBUTES = pa.map_(pa.string(), pa.string())

#: The Arrow layout of an insert into ``logs``; every builder of ``logs`` rows produces exactly this.
LOGS_SCHEMA = pa.schema([
    ("TenantId", pa.string()),
    ("Environment", pa.string()),
    ("Source", pa.string()),
    ("RequestId", pa.string()),
    ("ReceivedAt", TIMESTAMP_NS),
    ("Timestamp", TIMESTAMP_NS),
    ("SeverityText", pa.string()),
    ("SeverityNumber", pa.uint8()),
    ("ServiceName", pa.string()),
    ("Body", pa.string()),
    ("TraceId", pa.string()),
    ("SpanId", pa.string()),
    ("TraceFlags", pa.uint8()),
    ("ScopeName", pa.string()),
    ("ScopeVersion", pa.string()),
    ("ResourceAttributes", ATTRIBUTES),
    ("LogAttributes", ATTRIBUTES),
    ("ScopeAttributes", ATTRIBUTES),
])


def timestamps(ns: Iterable[int]) -> pa.Array:
    return pa.array(ns, pa.int64()).cast(TIMESTAMP_NS)


def map_array(maps: Sequence[dict[str, str]]) -> pa.MapArray:
    # Built from flat key/value arrays, gathered by itertools in C: several times
    # faster than lists of pairs, or than extending lists map by map.
    offsets = [0]
    offsets.extend(accumulate(map(len, maps)))
    keys = list(chain.from_iterable(maps))
    values = list(chain.from_iterable(m.values() for m in maps))
    return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(keys, pa.string()),
                                   pa.array(values, pa.string()))
