"""The hot path's mappers, one per format whose dialect declares its columns (schemas/columns.py).

Shared by both services: the worker maps records with them (workers/hot.py) and the gateway checks
bodies with them (gateway/prepare.py). Either way a value the ``sluice_hot`` extension (hotpath/)
maps is one the dialect's msgspec decoding accepts, with the same entries
(tests/unit/test_hot_path.py); what it declines goes through that decoding, which says why.
"""

from __future__ import annotations

import sluice_hot
from schemas.columns import Columns
from schemas.dialects.astralog.columns import COLUMNS as ASTRALOG
from schemas.dialects.loginformant.columns import COLUMNS as LOGINFORMANT
from schemas.dialects.logtrace.columns import COLUMNS as LOGTRACE
from schemas.dialects.native.columns import COLUMNS as NATIVE
from schemas.formats import Format
from schemas.severity import SEVERITY_NUMBERS

#: Every format the hot path maps, with its dialect's declared columns.
COLUMNS: dict[Format, Columns] = {**ASTRALOG, **LOGTRACE, **LOGINFORMANT, **NATIVE}


def mapper(columns: Columns) -> sluice_hot.Mapper:
    """The extension's mapper for ``columns``."""
    members = [(m.name, m.role, m.key, columns.required(m.name), columns.nullable(m.name),
                list(columns.choices(m.name)), *columns.bounds(m.name)) for m in columns.members]
    return sluice_hot.Mapper(columns.source, columns.entries or "", members, sorted(SEVERITY_NUMBERS.items()))


MAPPERS: dict[Format, sluice_hot.Mapper] = {fmt: mapper(c) for fmt, c in COLUMNS.items()}

def entries(fmt: Format, body: bytes) -> int | None:
    """How many entries ``body`` holds when the hot path maps it whole, else None (it may still be valid:
    decode it to know)."""
    mapper_ = MAPPERS.get(fmt)
    return None if mapper_ is None else mapper_.entries(body)
