"""``http_logs`` rows from decoded entries, by a mapping declared as data (``HttpColumns``).

A dialect that stores access logs states once, in its folder, where each inserted ``http_logs`` column
comes from (schemas/dialects/profound/columns.py). ``HttpColumns.table`` runs that declaration over a
record's decoded batches (``Published``-like: ``.visit_ids`` and ``.entries``, in step) and its envelope,
and returns one Arrow table in ``HTTP_LOGS_SCHEMA``, the layout the sink inserts into ``http_logs``.

What a column (or a derivation's argument) may be made of:

``Member(name, null)``   the entry's member as it is; a null becomes ``null`` (by default it stays null)
``EnvelopeField(name)``  the record's envelope: ``tenant``, ``environment``, ``request_id``, ``received_ns``
``VisitId()``            the visit id the gateway gave the entry
``Constant(value)``      the same value in every row (the dialect's name as ``Source``)
``Derived(name, index)`` the named derivation's value, or its ``index``-th value when it yields several

A ``Derivation(name, fn, args)`` applies ``fn`` to its arguments (at least one), which may read
derivations declared before it. Each runs once per entry, however many columns read it (the client
classification fills six); a derivation of several values returns a tuple.
``by_threshold`` makes the function of a table declared as data (the level of a status class).

Contract, checked when the declaration is built (``ValueError`` naming what is wrong): every column of
``HTTP_LOGS_SCHEMA`` is declared exactly once and no other; members are members of the wire type;
envelope fields are the envelope's; derivations have distinct names, read at least one source and only
derivations before them, and each is read by something.
Rows come out batch after batch, entry after entry, in the order they were published.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, Callable, Literal, Sequence

import pyarrow as pa

from schemas.envelope import Envelope
from schemas.rows.arrow import HTTP_LOGS_SCHEMA, column
from schemas.rows.columnar import TableRows


@dataclass(frozen=True)
class Member:
    name: str
    null: Any = None  # what a null member is read as


@dataclass(frozen=True)
class EnvelopeField:
    name: Literal["tenant", "environment", "request_id", "received_ns"]


@dataclass(frozen=True)
class VisitId:
    pass


@dataclass(frozen=True)
class Constant:
    value: Any


@dataclass(frozen=True)
class Derived:
    name: str
    index: int | None = None  # which of its values, when the derivation yields several


Source = Member | EnvelopeField | VisitId | Constant | Derived


@dataclass(frozen=True)
class Derivation:
    name: str
    fn: Callable[..., Any]
    args: tuple[Source, ...]


def by_threshold(table: Sequence[tuple[float, Any]], otherwise: Any) -> Callable[[float], Any]:
    """The value of the first ``(least, value)`` row of ``table`` (highest least first) that a number
    reaches, else ``otherwise``."""
    if any(a <= b for (a, _), (b, _) in zip(table, table[1:])):
        raise ValueError(f"thresholds must be listed highest first: {[least for least, _ in table]}")
    rows = tuple(table)

    def look_up(value: float) -> Any:
        return next((found for least, found in rows if value >= least), otherwise)
    return look_up


def nanoseconds(seconds: float) -> int:
    """A time in seconds since the epoch as whole nanoseconds (the ``Timestamp`` column's unit)."""
    return round(seconds * 1e9)


class HttpRows(TableRows):
    """One record's rows for the ``http_logs`` table, as Arrow (its own type, so a batch tells them from
    ``logs`` rows)."""

    __slots__ = ()


_SOURCES = (Member, EnvelopeField, VisitId, Constant, Derived)


class _Run:
    """One record's run of a declaration: each source's values, one per entry, in entry order."""

    def __init__(self, entries: list, visit_ids: list[str], env: Envelope):
        self.entries, self.visit_ids, self.env = entries, visit_ids, env
        self.derived: dict[str, list] = {}
        self._members: dict[str, list] = {}  # a member is read once however many sources name it

    def values(self, source: Source) -> list:
        kind, n = type(source), len(self.entries)
        if kind is Member:
            values = self._members.get(source.name)
            if values is None:
                values = self._members[source.name] = list(map(attrgetter(source.name), self.entries))
            return values if source.null is None else [source.null if v is None else v for v in values]
        if kind is EnvelopeField:
            return [getattr(self.env, source.name)] * n
        if kind is Constant:
            return [source.value] * n
        if kind is VisitId:
            return self.visit_ids
        values = self.derived[source.name]
        return values if source.index is None else list(map(itemgetter(source.index), values))


@dataclass(frozen=True)
class HttpColumns:
    """How entries of ``wire`` (a msgspec Struct) become ``http_logs`` rows: ``columns`` pairs each
    inserted column with its source, ``derivations`` are computed once per entry, in order."""

    wire: type
    derivations: tuple[Derivation, ...]
    columns: tuple[tuple[str, Source], ...]

    def __post_init__(self) -> None:
        members = set(self.wire.__struct_fields__)
        names = [name for name, _ in self.columns]
        for name in HTTP_LOGS_SCHEMA.names:
            if names.count(name) != 1:
                raise ValueError(f"http_logs column {name!r} is declared {names.count(name)} times, not once")
        extra = sorted(set(names) - set(HTTP_LOGS_SCHEMA.names))
        if extra:
            raise ValueError(f"{extra[0]!r} is not an inserted http_logs column")
        known: set[str] = set()
        read: set[str] = set()
        for d in self.derivations:
            if d.name in known:
                raise ValueError(f"derivation {d.name!r} is declared twice")
            if not d.args:  # what reads nothing of the entry is a Constant
                raise ValueError(f"derivation {d.name!r} reads nothing")
            self._check(d.args, members, known, f"derivation {d.name!r}")
            read.update(a.name for a in d.args if type(a) is Derived)
            known.add(d.name)
        for name, source in self.columns:
            self._check((source,), members, known, f"column {name!r}")
        read.update(s.name for _, s in self.columns if type(s) is Derived)
        unread = sorted(known - read)
        if unread:
            raise ValueError(f"derivation {unread[0]!r} is read by nothing")

    @staticmethod
    def _check(sources: tuple[Source, ...], members: set[str], known: set[str], where: str) -> None:
        for s in sources:
            if type(s) is Member and s.name not in members:
                raise ValueError(f"{where}: {s.name!r} is not a member of the entry")
            if type(s) is Derived and s.name not in known:
                raise ValueError(f"{where}: reads {s.name!r}, which is not derived before it")
            if type(s) is EnvelopeField and s.name not in Envelope._fields:
                raise ValueError(f"{where}: the envelope has no {s.name!r}")
            if type(s) not in _SOURCES:
                raise ValueError(f"{where}: {s!r} is not a source")

    def table(self, published: Sequence[Any], env: Envelope) -> pa.Table:
        """The rows of ``published`` (each with ``visit_ids`` and ``entries``) as one table in ``HTTP_LOGS_SCHEMA``."""
        entries: list = []
        visit_ids: list[str] = []
        for batch in published:
            pairs = list(zip(batch.visit_ids, batch.entries))  # zip: as many as both have
            visit_ids += [v for v, _ in pairs]
            entries += [e for _, e in pairs]
        run = _Run(entries, visit_ids, env)
        # Derivation by derivation over all the entries (a ``map`` each, not a Python loop per entry and
        # column): each runs once per entry, in declared order, so later ones read earlier ones' values.
        for d in self.derivations:
            run.derived[d.name] = list(map(d.fn, *(run.values(a) for a in d.args)))
        # The schema orders the columns, whatever order they are declared in.
        return pa.table({name: column(run.values(source), HTTP_LOGS_SCHEMA.field(name).type)
                         for name, source in self.columns}, schema=HTTP_LOGS_SCHEMA)

    def rows(self, published: Sequence[Any], env: Envelope) -> HttpRows:
        """``table``, as the rows of one record (workers/records.py)."""
        return HttpRows(self.table(published, env))
