"""The hot path's mappers: one per JSON format whose dialect declares its mapping as data: its columns
(``schemas.dialects.COLUMNS``), its free-form names (Logstash's) or its nested request (OTLP/JSON's).

Shared by both services: the worker maps records with them (workers/hot.py) and the gateway checks
bodies with them (gateway/prepare.py). Either way a value the ``sluice_hot`` extension (hotpath/)
maps is one the dialect's msgspec decoding accepts, with the same entries
(tests/unit/test_hot_path.py); what it declines goes through that decoding, which says why.

Nested requests are mapped by the extension (hotpath/src/nested*.rs) running their dialect's declaration of
levels (``NESTED``, from ``schemas.dialects.NESTED``; schemas/nested.py) as ``schemas.rows.nested.nested_rows``
would (tests/unit/test_hot_path_otlp.py), and the gateway counts a JSON request's records with ``entries``
before it falls back to the dialect's decoding (gateway/otlp.py; tests/unit/test_hot_path_otlp_entries.py).
Binary formats (OTLP/protobuf) stay with the reference mapping. Free-form events (Logstash's batches) are
mapped by the extension (hotpath/src/free_form*.rs) running their dialect's declaration of names (``FREE_FORM``,
from ``schemas.dialects.FREE_FORMS``) as ``schemas.rows.free_form.free_form_rows`` would
(tests/unit/test_hot_path_logstash.py, tests/unit/test_free_form.py).
"""

from __future__ import annotations

from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

import sluice_hot
from schemas.columns import Columns
from schemas.dialects import COLUMNS, FREE_FORMS, NESTED as DECLARED, body_type
from schemas.formats import Format
from schemas.free_form import FreeForm
from schemas.nested import Member, Nested
from schemas.severity import SEVERITY_NUMBERS
from schemas.storable import TIMESTAMP

__all__ = ["COLUMNS", "FREE_FORM", "MAPPERS", "NESTED", "entries", "free_form", "mapper", "messages", "nested"]


def mapper(columns: Columns) -> sluice_hot.Mapper:
    """The extension's mapper for ``columns``."""
    members = [(m.name, m.role, m.key, columns.required(m.name), columns.nullable(m.name),
                list(columns.choices(m.name)), *columns.bounds(m.name)) for m in columns.members]
    return sluice_hot.Mapper(columns.source, columns.entries or "", members, sorted(SEVERITY_NUMBERS.items()))


def free_form(fields: FreeForm) -> sluice_hot.FreeForm:
    """The extension's mapper for a free-form declaration (schemas/free_form.py)."""
    return sluice_hot.FreeForm(fields.source, sorted(SEVERITY_NUMBERS.items()), list(fields.dropped), fields.time,
                               fields.host, [(role, list(names)) for role, names in fields.columns.items()])


def messages(declared: Nested) -> list[list[tuple[str, str, str, int, int]]]:
    """A nested declaration as the extension takes it: its messages numbered depth first, the request
    first, each member as (JSON name, form, role or "", its message's number or -1, hex id size)."""
    table: list[list[tuple[str, str, str, int, int]]] = []

    def number(members: tuple[Member, ...]) -> int:
        index = len(table)
        table.append([])
        table[index] = [(m.json_name, m.form, m.role, number(m.members) if m.members else -1, m.size)
                        for m in members]
        return index

    number(declared.members)
    return table


def nested(declared: Nested) -> sluice_hot.Nested:
    """The extension's mapper for a nested declaration (schemas/nested.py)."""
    return sluice_hot.Nested(declared.source, sorted(SEVERITY_NUMBERS.items()), list(SeverityNumber.items()),
                             (TIMESTAMP.low, TIMESTAMP.high), messages(declared), declared.service_key)


MAPPERS: dict[Format, sluice_hot.Mapper] = {fmt: mapper(c) for fmt, c in COLUMNS.items()}

#: Each JSON format of nested requests to its mapper, with ``Mapper.map``'s contract.
NESTED: dict[Format, sluice_hot.Nested] = {fmt: nested(n) for fmt, n in DECLARED.items() if body_type(fmt)}

#: Each format of free-form events to its mapper, with ``Mapper.map``'s contract.
FREE_FORM: dict[Format, sluice_hot.FreeForm] = {fmt: free_form(f) for fmt, f in FREE_FORMS.items()}


def entries(fmt: Format, body: bytes) -> int | None:
    """How many entries ``body`` holds when the hot path maps it whole, else None (it may still be valid:
    decode it to know). A nested request's entries are its rows (OTLP's log records, ``record_count``)."""
    mapper_ = MAPPERS.get(fmt) or NESTED.get(fmt)
    return None if mapper_ is None else mapper_.entries(body)
