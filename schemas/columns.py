"""A JSON dialect's mapping to ``logs`` columns, declared as data.

Each JSON dialect states once, in its folder (``schemas/dialects/<name>/columns.py``), which member of
an entry fills which column. Two things execute the declaration and must agree row for row
(tests/unit/test_hot_path.py holds them to it over every dialect's fixtures and drawn bodies):

* the worker's hot path, the ``sluice_hot`` extension (hotpath/), which reads record values straight into
  Arrow buffers with no Python object per entry;
* the reference mapping (``schemas.rows.normalize.mapped``), which maps what msgspec decoded, and judges the
  records the hot path declines (they do not decode, or need dict semantics it leaves to Python).

Roles, and what a missing member means (members the entry's wire type marks required must be present):

``time``            RFC 3339 text → ``Timestamp``; missing or null: the gateway's receive time
``level``           ``SeverityText``; ``SeverityNumber`` from schemas/severity.py's table
``service``, ``body``, ``trace_id``, ``span_id``   the string columns; missing: ""
``attributes``      an object (or null) flattened into ``LogAttributes`` (schemas.rows.normalize.flatten)
``resource``        a string under ``key`` in ``ResourceAttributes``, "" when missing
``resource_if_set`` a string under ``key`` in ``ResourceAttributes`` only when not empty
``attribute``       a string (or null) added to ``LogAttributes`` under ``key`` when not null
``severity_number`` an integer (or null) → ``SeverityNumber``; missing or null: derived from the level
``trace_flags``     an integer → ``TraceFlags``; missing: 0
``scope_name``, ``scope_version``   the instrumentation scope's strings; missing: ""
``resource_attributes``  an object flattened into ``ResourceAttributes``

Null is a value only where the wire type is Optional; integers keep their ``Meta(ge=…, le=…)`` bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

Role = Literal["time", "level", "service", "body", "trace_id", "span_id", "attributes", "resource",
               "resource_if_set", "attribute", "severity_number", "trace_flags", "scope_name", "scope_version",
               "resource_attributes"]

#: The roles that fill one column each: a mapping gives each to one member at most.
#: The roles whose member is a string column (a ``Literal`` wire type is checked for these).
STRINGS: frozenset[str] = frozenset({"level", "service", "body", "trace_id", "span_id", "scope_name", "scope_version"})
#: The constraints a ``msgspec.Meta`` may set that the hot path does not check (it checks ``ge``/``le``).
_CHECKS = ("gt", "lt", "multiple_of", "pattern", "min_length", "max_length", "tz")
#: The roles whose member is an integer column (UInt8).
INTEGERS: frozenset[str] = frozenset({"severity_number", "trace_flags"})
SINGLE: frozenset[str] = STRINGS | INTEGERS | {"time", "attributes", "resource_attributes"}


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
            metas = [x for kind in _union(self._type(m.name)) for x in _metas(kind)]
            checks = {k for meta in metas for k in _CHECKS if getattr(meta, k) is not None}
            if checks:  # what the hot path would not check must not be declared
                raise ValueError(f"{self.source}: {m.name!r} has constraints the hot path does not check: {checks}")
            if self.choices(m.name) and m.role not in STRINGS:
                raise ValueError(f"{self.source}: choices are checked for string columns only, not {m.name!r}")
        roles = {m.role for m in self.members}
        if "resource_attributes" in roles and roles & {"resource", "resource_if_set"}:
            raise ValueError(f"{self.source}: a resource object, or resource keys, not both")
        singles = [m.role for m in self.members if m.role in SINGLE]
        if len(set(singles)) != len(singles) or not {"level", "body"} <= set(singles):
            raise ValueError(f"{self.source}: one member per column, and a level and a body")

    def required(self, name: str) -> bool:
        """Whether the wire type refuses an entry without ``name``."""
        return next(f.required for f in msgspec.structs.fields(self.wire) if f.name == name)

    def choices(self, name: str) -> tuple[str, ...]:
        """The values the wire type allows ``name`` (a ``Literal``), empty when any string goes."""
        kind = _bare(self._type(name))
        return tuple(get_args(kind)) if get_origin(kind) is Literal else ()

    def nullable(self, name: str) -> bool:
        """Whether the wire type takes null for ``name``."""
        return type(None) in _union(self._type(name))

    def bounds(self, name: str) -> tuple[int, int]:
        """The least and greatest value of an integer member (``Meta(ge=…, le=…)``), else the UInt8 range."""
        low, high = 0, 255
        for kind in _union(self._type(name)):
            for meta in _metas(kind):
                low = max(low, meta.ge) if meta.ge is not None else low
                high = min(high, meta.le) if meta.le is not None else high
        return low, high

    def _type(self, name: str) -> Any:
        return next(f.type for f in msgspec.structs.fields(self.wire) if f.name == name)

    def with_entries(self, entries: str | None) -> Columns:
        """The same entries, for a body that holds them under ``entries`` (None: the body is one)."""
        return Columns(self.source, self.wire, entries, self.members)


def _bare(kind: Any) -> Any:
    """``kind`` without its ``Annotated`` metadata."""
    while get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    return kind


def _union(kind: Any) -> tuple:
    """The members of a union (``X | None``), each with its metadata; ``(kind,)`` for another type."""
    bare = _bare(kind)
    if get_origin(bare) in (Union, types.UnionType):
        return get_args(bare)
    return (kind,)


def _metas(kind: Any) -> list[msgspec.Meta]:
    """Every ``msgspec.Meta`` of ``kind``'s (nested) ``Annotated`` layers."""
    out = []
    while get_origin(kind) is Annotated:
        kind, *extra = get_args(kind)
        out += [m for m in extra if isinstance(m, msgspec.Meta)]
    return out
