"""Arrow building blocks shared by the tables' column builders (the fastest chDB insert path)."""

from __future__ import annotations

from itertools import accumulate, chain
from typing import Iterable, Sequence

import pyarrow as pa

from schemas.tables import ATTRIBUTES, HTTP_LOGS, LOGS, TIMESTAMP

#: The Arrow layout of an insert into ``logs``; every builder of ``logs`` rows produces exactly this.
LOGS_SCHEMA = LOGS.arrow_schema
#: The same for ``http_logs`` (schemas/rows/declared_http.py).
HTTP_LOGS_SCHEMA = HTTP_LOGS.arrow_schema


def timestamps(ns: Iterable[int]) -> pa.Array:
    return pa.array(ns, pa.int64()).cast(TIMESTAMP)


def map_array(maps: Sequence[dict[str, str]]) -> pa.MapArray:
    # Built from flat key/value arrays, gathered by itertools in C: several times
    # faster than lists of pairs, or than extending lists map by map.
    offsets = [0]
    offsets.extend(accumulate(map(len, maps)))
    keys = list(chain.from_iterable(maps))
    values = list(chain.from_iterable(m.values() for m in maps))
    return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(keys, pa.string()),
                                   pa.array(values, pa.string()))


def column(values: Sequence, type_: pa.DataType) -> pa.Array:
    """Python values as an Arrow column of a declared type: times as nanoseconds since the epoch, maps as dicts."""
    if type_ == TIMESTAMP:
        return timestamps(values)
    if type_ == ATTRIBUTES:
        return map_array(values)
    return pa.array(values, type_)
