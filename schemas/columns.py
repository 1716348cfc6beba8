"""A JSON dialect's mapping to ``logs`` columns, declared as data.

Each JSON dialect states once, in its folder (``schemas/dialects/<name>/columns.py``), which member of
an entry fills which column. Two things execute the declaration and must agree row for row
(tests/unit/test_hot_path.py holds them to it over every dialect's fixtures and drawn bodies):

* the worker's hot path, the ``sluice_hot`` extension (hotpath/), which reads record values straight into
  Arrow buffers with no Python object per entry;
* the reference mapping (``workers.normalize.mapped``), which maps what msgspec decoded, and judges the
  records the hot path declines (they do not decode, or need dict semantics it leaves to Python).

Roles, and what a missing member means (members the entry's wire type marks required must be present):

``time``            RFC 3339 text → ``Timestamp``; missing or null: the gateway's receive time
``level``           ``SeverityText``; ``SeverityNumber`` from workers/severity.py's table
``service``, ``body``, ``trace_id``, ``span_id``   the string columns; missing: ""
``attributes``      an object (or null) flattened into ``LogAttributes`` (workers.normalize.flatten)
``resource``        a string under ``key`` in ``ResourceAttributes``, "" when missing
``resource_if_set`` a string under ``key`` in ``ResourceAttributes`` only when not empty
``attribute``       a string (or null) added to ``LogAttributes`` under ``key`` when not null
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args, get_origin

import msgspec

Role = Literal["time", "level", "service", "body", "trace_id", "span_id", "attributes", "resource",
               "resource_if_set", "attribute"]

#: The roles that fill one column each: a mapping gives each to one member at most.
#: The roles whose member is a string column (a ``Literal`` wire type is checked for these).
STRINGS: frozenset[str] = frozenset({"level", "service", "body", "trace_id", "span_id"})
SINGLE: frozenset[str] = frozenset({"time", "level", "service", "body", "trace_id", "span_id", "attributes"})


@dataclass(frozen=True)
class Member:
    name: str  # the member of an entry, as the dialect's doc spells it
    role: Role
    key: str = ""  # the map key, for the resource and attribute roles


@dataclass(frozen=True)
class Columns:
    """How entries of ``wire`` (a msgspec Struct) become rows whose ``Source`` is ``source``; ``entries`` is
    the body's member holding the array of entries, None when the body is one entry."""

    source: str
    wire: type
    entries: str | None
    members: tuple[Member, ...]

    def __post_init__(self) -> None:
        fields = {f.name: f for f in msgspec.structs.fields(self.wire)}
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.source}: a member is mapped twice")
        for m in self.members:
            if m.name not in fields:
                raise ValueError(f"{self.source}: {m.name!r} is not a member of {self.wire.__name__}")
        unmapped = [f.name for f in fields.values() if f.required and f.name not in names]
        if unmapped:  # the hot path checks presence only of what it maps
            raise ValueError(f"{self.source}: required members {unmapped} are not mapped")
        for m in self.members:
            if self.choices(m.name) and m.role not in STRINGS:
                raise ValueError(f"{self.source}: choices are checked for string columns only, not {m.name!r}")
        singles = [m.role for m in self.members if m.role in SINGLE]
        if len(set(singles)) != len(singles) or not {"level", "body"} <= set(singles):
            raise ValueError(f"{self.source}: one member per column, and a level and a body")

    def required(self, name: str) -> bool:
        """Whether the wire type refuses an entry without ``name``."""
        return next(f.required for f in msgspec.structs.fields(self.wire) if f.name == name)

    def choices(self, name: str) -> tuple[str, ...]:
        """The values the wire type allows ``name`` (a ``Literal``), empty when any string goes."""
        kind = next(f.type for f in msgspec.structs.fields(self.wire) if f.name == name)
        return tuple(get_args(kind)) if get_origin(kind) is Literal else ()

    def with_entries(self, entries: str | None) -> Columns:
        """The same entries, for a body that holds them under ``entries`` (None: the body is one)."""
        return Columns(self.source, self.wire, entries, self.members)
