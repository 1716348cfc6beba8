"""Accepted means storable: the bounds a value must meet to go into a column of ``logs`` or ``http_logs``.

The bounds are derived from the column types declared in schemas/clickhouse.py
(``bound_of``): an ``UInt8`` holds 0 to 255, a ``DateTime64(9)`` nanoseconds
from 1900-01-01 to 2262-04-11T23:47:16.854775807Z (the engine's range, cut by
Int64 ticks), an ``IPv6`` an address without a zone id, a ``Map`` at most
``MAX_ENTRIES`` entries. Two caps are the project's own, not the engine's:
``MAX_ENTRIES`` and ``MAX_DEPTH`` bound what one entry's attributes may carry.

Every dialect's decoder (schemas/json_body.py and the dialects' folders) checks its fields against these
before the gateway answers, and the workers run the same decoder, plus the
checks of what only they see (decrypted LogFlux payloads). A value that is out
of bounds raises ``Unstorable``, which each dialect turns into its own error.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from schemas.clickhouse import HTTP_LOGS_COLUMNS, LOGS_COLUMNS

#: Entries one map value may hold: attributes after flattening (nested keys count
#: one each), Profound's query parameters. More is a bug or an attack on the
#: map columns' dictionaries.
MAX_ENTRIES = 1000
#: Levels of objects and arrays an attribute set or a structured body may nest, the
#: outermost counting one. The workers flatten and encode them by recursion.
MAX_DEPTH = 32

# What ClickHouse's documentation gives as DateTime64's range, before its Int64 ticks cut it.
_DATETIME64_RANGE = (datetime(1900, 1, 1, tzinfo=timezone.utc),
                     datetime(2299, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc))
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_INTEGER = re.compile(r"(U?)Int(8|16|32|64|128|256)$")
_DATETIME64 = re.compile(r"DateTime64\((\d)\s*(?:,.*)?\)$")

# The codes of ``Unstorable``; a dialect may name the first its own way (LogFlux: INVALID_TIMESTAMP).
OUT_OF_RANGE, TOO_MANY_ENTRIES, TOO_DEEP = "invalid_field", "too_many_attributes", "nested_too_deeply"


@dataclass(frozen=True)
class Bound:
    """What a column of one declared type holds."""

    column: str
    type: str  # as declared, e.g. "Nullable(UInt64)"
    kind: str  # "int", "float", "time", "ip", "map", "string", "uuid"
    low: int | None = None  # int: the least value; time: nanoseconds since the epoch
    high: int | None = None
    max_entries: int | None = None  # map

    def holds(self, value: int) -> bool:
        return self.low <= value <= self.high

    @property
    def range(self) -> str:
        """The bound in words, for error messages: ``0 to 255``, ``1900-01-01T00:00:00Z to …``."""
        if self.kind == "time":
            return f"{_iso(self.low)} to {_iso(self.high)}"
        if self.kind == "map":
            return f"at most {self.max_entries} entries"
        if self.kind == "ip":
            return "an IPv4 or IPv6 address without a zone id"
        if self.kind == "int":
            return f"{self.low} to {self.high}"
        return f"any {self.kind}"

    def __str__(self) -> str:
        return f"{self.column} ({self.type}): {self.range}"


def _ticks(when: datetime, per_second: int) -> int:
    delta = when - _EPOCH
    return (delta.days * 86400 + delta.seconds) * per_second + delta.microseconds * per_second // 10**6


def _iso(ns: int) -> str:
    seconds, rest = divmod(ns, 10**9)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{rest:09d}Z" if rest else f"{text}Z"


def _unwrap(type_name: str) -> str:
    for wrapper in ("Nullable(", "LowCardinality("):
        if type_name.startswith(wrapper):
            return _unwrap(type_name[len(wrapper):-1])
    return type_name


def bound_of(column: str, declared: str) -> Bound:
    """The bound of a column declared as ``declared``; ValueError for a type this contract has no rule for,
    so a new column type in schemas/clickhouse.py is a decision, not a silent pass."""
    inner = _unwrap(declared)
    if match := _INTEGER.match(inner):
        bits = int(match.group(2))
        low, high = (0, 2**bits - 1) if match.group(1) else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        return Bound(column, declared, "int", low, high)
    if match := _DATETIME64.match(inner):
        precision = int(match.group(1))
        per_second, scale = 10**precision, 10 ** (9 - precision)
        low = max(_ticks(_DATETIME64_RANGE[0], per_second), -(2**63))
        high = min(_ticks(_DATETIME64_RANGE[1], per_second), 2**63 - 1)
        return Bound(column, declared, "time", low * scale, high * scale)
    if inner == "DateTime" or inner.startswith("DateTime("):  # UInt32 seconds
        return Bound(column, declared, "time", 0, (2**32 - 1) * 10**9)
    if inner in ("IPv6", "IPv4"):
        return Bound(column, declared, "ip")
    if inner.startswith("Map("):
        return Bound(column, declared, "map", max_entries=MAX_ENTRIES)
    if inner in ("Float32", "Float64"):
        return Bound(column, declared, "float")
    if inner == "String":
        return Bound(column, declared, "string")
    if inner == "UUID":
        return Bound(column, declared, "uuid")
    raise ValueError(f"no storability rule for column {column} of type {declared}")


def _declared_type(rest: str) -> str:
    """The type at the start of a column declaration's rest: up to the first space outside parentheses."""
    depth = 0
    for i, char in enumerate(rest):
        depth += (char == "(") - (char == ")")
        if char == " " and depth == 0:
            return rest[:i]
    return rest


def columns(ddl: str) -> dict[str, Bound]:
    """The bound of every column of a ``CREATE TABLE`` column list (indexes skipped)."""
    found = {}
    for line in ddl.strip().splitlines():
        line = line.strip().rstrip(",")
        if line and not line.startswith(("INDEX ", "PROJECTION ", "CONSTRAINT ")):
            name, rest = line.split(None, 1)
            found[name] = bound_of(name, _declared_type(rest))
    return found


LOGS = columns(LOGS_COLUMNS)
HTTP_LOGS = columns(HTTP_LOGS_COLUMNS)
#: Every dialect's event time goes to ``Timestamp``; both tables declare it alike.
TIMESTAMP = LOGS["Timestamp"]
EARLIEST = _EPOCH + timedelta(microseconds=TIMESTAMP.low // 1000)
LATEST = _EPOCH + timedelta(microseconds=TIMESTAMP.high // 1000)  # datetimes stop at microseconds
_EARLIEST_NAIVE, _LATEST_NAIVE = EARLIEST.replace(tzinfo=None), LATEST.replace(tzinfo=None)


class Unstorable(ValueError):
    """A value its column cannot hold: a code (``OUT_OF_RANGE``, ``TOO_MANY_ENTRIES``,
    ``TOO_DEEP``) and a message naming the bound; the caller adds where the value was."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def time_fits(ts: datetime) -> bool:
    """True when ``ts`` (naive: UTC) is in ``Timestamp``'s range."""
    if ts.tzinfo is None:
        return _EARLIEST_NAIVE <= ts <= _LATEST_NAIVE
    return EARLIEST <= ts <= LATEST


def check_time(ts: datetime) -> None:
    if not time_fits(ts):
        raise Unstorable(OUT_OF_RANGE, f"{ts.isoformat()} is outside {TIMESTAMP}")


def check_ns(ns: int, bound: Bound = TIMESTAMP) -> None:
    """Nanoseconds since the epoch, as the OTLP and Arrow encodings carry times."""
    if not bound.low <= ns <= bound.high:
        raise Unstorable(OUT_OF_RANGE, f"{ns} ns since the epoch is outside {bound}")


def check_int(value: int, bound: Bound) -> None:
    if not bound.low <= value <= bound.high:
        raise Unstorable(OUT_OF_RANGE, f"{value} is outside {bound}")


@functools.lru_cache(maxsize=65_536)  # access logs repeat their clients' addresses
def ipv6_bytes(text: str) -> bytes:
    """The 16 bytes an ``IPv6`` column stores for ``text`` (IPv4 as ``::ffff:a.b.c.d``).

    ValueError for what is no address, and for a zone id (``fe80::1%eth0``):
    the column has no room for it. The workers insert these bytes, not text:
    ClickHouse reads any 16-byte string as a binary address, and some texts
    (``2001:db8:1:2::3a``) are 16 characters long."""
    address = ipaddress.ip_address(text)
    if address.version == 4:
        return b"\0" * 10 + b"\xff\xff" + address.packed
    if address.scope_id is not None:
        raise ValueError(f"{text[:64]!r} has a zone id, which an IPv6 column cannot store")
    return address.packed


def check_tree(values: dict, what: str = "attributes", reserved: int = 0) -> None:
    """Raise ``Unstorable`` when ``values`` (an attribute object) flattens to more than ``MAX_ENTRIES`` entries or nests deeper than ``MAX_DEPTH``.

    Entries count as the workers' ``flatten`` makes them: each leaf of nested
    objects is one, an empty object one, an array one (stored as its JSON text);
    ``reserved`` are entries the caller adds to the same map. Stops at the first
    bound passed, so its cost stays bounded by the caps."""
    limit = MAX_ENTRIES - reserved
    if len(values) > limit:
        too_many(what)
    kinds = set(map(type, values.values()))
    if dict not in kinds and list not in kinds:  # flat, the common case: no walk
        return
    count, objects, arrays = 0, [(values, 1)], []
    while objects:
        node, depth = objects.pop()
        if depth > MAX_DEPTH:
            too_deep(what)
        for value in node.values():
            kind = type(value)
            if kind is dict:
                if value:
                    objects.append((value, depth + 1))
                    continue
            elif kind is list:
                arrays.append((value, depth + 1))
            count += 1
        if count > limit:
            too_many(what)
    while arrays:  # an array is one entry, its JSON text: only its depth matters
        node, depth = arrays.pop()
        if depth > MAX_DEPTH:
            too_deep(what)
        for value in node:
            kind = type(value)
            if kind is dict:
                arrays.append((value.values(), depth + 1))
            elif kind is list:
                arrays.append((value, depth + 1))


def too_many(what: str = "attributes") -> None:
    raise Unstorable(TOO_MANY_ENTRIES, f"More than {MAX_ENTRIES} {what} in one entry (nested keys count one each)")


def too_deep(what: str = "attributes") -> None:
    raise Unstorable(TOO_DEEP, f"{what.capitalize()} nest more than {MAX_DEPTH} levels of objects and arrays")
