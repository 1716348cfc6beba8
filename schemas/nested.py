"""A nested dialect's mapping to ``logs`` columns, declared as data (OTLP's resource → scope → record).

A request is a tree of messages. The declaration names each message's members as the protobuf spells them
(OTLP/JSON spells them in lowerCamelCase: proto3's JSON mapping, ``json_name``), the form each value takes,
and the column it fills. One member of a message may be ``repeated``: its elements are the next level. The
elements of the innermost level are the rows; a column filled at an outer level is repeated on every row
below the element that filled it. Members not mapped are read and checked in their form, then dropped.

Two things execute the declaration and must agree row for row (tests/unit/test_hot_path_otlp.py): the
worker's hot path over record values, JSON or protobuf (hotpath/src/nested*.rs) and the reference mapping
(``schemas.rows.nested.nested_rows``) over decoded requests, protobuf or the msgspec mirror, which also
judges the records the hot path declines.

Forms: ``string``; ``int`` (64 bits; JSON writes it as a number or a string); ``enum`` (a number, or in JSON
the value's name); ``any_value`` (an OTLP AnyValue); ``key_values`` (a KeyValue list, flattened as
``schemas.rows.normalize.flatten`` does); ``hex_id`` (bytes; ``size`` of them, lower-case hex in JSON);
``message`` (an object of its own ``members``); ``repeated`` (a list of the next level's elements).

Roles, by where they may be (each exactly once: every row gets every column):

* on a row: ``time`` (int nanoseconds; 0 is unset), ``observed_time`` (the fallback: a row's time is its
  ``time``, else its ``observed_time``, else the receive time), ``severity_number`` (enum; 0 is unset: the
  number the level's text names, schemas/severity.py), ``level`` (string → ``SeverityText``), ``body``
  (any_value; none is "", a string as it is, anything else its JSON), ``attributes`` (key_values →
  ``LogAttributes``), ``trace_flags`` (int, ``& 0xFF``), ``trace_id``, ``span_id`` (hex_id);
* on an outer level: ``resource_attributes`` (key_values → ``ResourceAttributes``; ``ServiceName`` is its
  ``service_key``, "" without it), ``scope_name``, ``scope_version`` (string), ``scope_attributes``
  (key_values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

Form = Literal["string", "int", "enum", "any_value", "key_values", "hex_id", "message", "repeated"]
FORMS: frozenset[str] = frozenset(get_args(Form))
#: How deep messages may nest (the hot path refuses deeper declarations too).
MAX_DEPTH = 16

#: The form each role's member must have.
ROLE_FORMS: dict[str, str] = {
    "time": "int", "observed_time": "int", "severity_number": "enum", "level": "string", "body": "any_value",
    "attributes": "key_values", "trace_flags": "int", "trace_id": "hex_id", "span_id": "hex_id",
    "resource_attributes": "key_values", "scope_name": "string", "scope_version": "string",
    "scope_attributes": "key_values",
}
ROW_ROLES: frozenset[str] = frozenset(
    {"time", "observed_time", "severity_number", "level", "body", "attributes", "trace_flags", "trace_id", "span_id"})
LEVEL_ROLES: frozenset[str] = frozenset(ROLE_FORMS) - ROW_ROLES


@dataclass(frozen=True)
class Member:
    name: str  # as the protobuf message spells it
    form: Form
    role: str = ""  # the column it fills; "" for a member read and dropped
    members: tuple[Member, ...] = ()  # a message's, or a repeated element's
    size: int = 0  # a hex_id's bytes

    @property
    def json_name(self) -> str:
        """The member's name in JSON: lowerCamelCase (``time_unix_nano`` → ``timeUnixNano``)."""
        head, *rest = self.name.split("_")
        return head + "".join(word[:1].upper() + word[1:] for word in rest)


@dataclass(frozen=True)
class Nested:
    """How requests become rows whose ``Source`` is ``source``: ``members`` are the request's own."""

    source: str
    members: tuple[Member, ...]
    service_key: str = ""  # the resource attribute that is ``ServiceName``
    # The request's protobuf message (its ``DESCRIPTOR``), where a format sends it in protobuf's binary form:
    # the hot path reads the fields by the numbers and types it gives the declared names (sluice/hotpath.py).
    protobuf: Any = None

    def __post_init__(self) -> None:
        roles: list[tuple[str, bool]] = []  # (role, on a row)
        _check(self.source, self.members, roles, row=False, depth=0)
        for role, on_row in roles:
            if on_row != (role in ROW_ROLES):
                raise ValueError(f"{self.source}: {role!r} belongs {'on a row' if role in ROW_ROLES else 'above'}")
        names = [role for role, _ in roles]
        if sorted(names) != sorted(ROLE_FORMS):
            missing, twice = set(ROLE_FORMS) - set(names), {r for r in names if names.count(r) > 1}
            raise ValueError(f"{self.source}: every role exactly once (missing {sorted(missing)}, "
                             f"repeated {sorted(twice)})")

    def levels(self) -> int:
        """How many ``repeated`` members lead from the request to a row."""
        return _depth(self.members)


def _depth(members: tuple[Member, ...]) -> int:
    inner = [1 + _depth(m.members) for m in members if m.form == "repeated"]
    inner += [_depth(m.members) for m in members if m.form == "message"]
    return max(inner, default=0)


def _check(source: str, members: tuple[Member, ...], roles: list[tuple[str, bool]], row: bool, depth: int) -> None:
    """Checks one message's members, collecting the roles found (``row``: inside a row)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{source}: messages nested deeper than {MAX_DEPTH}")
    names = [m.json_name for m in members]  # distinct as JSON spells them, which is how the hot path reads them
    if len(set(names)) != len(names) or len(members) > 32:  # the hot path marks members seen in a u32
        raise ValueError(f"{source}: a message's members are distinct, 32 at most: {names}")
    if sum(m.form == "repeated" for m in _flat(members)) > 1:
        raise ValueError(f"{source}: one repeated member per message: {names}")
    for m in members:
        if m.form not in FORMS:
            raise ValueError(f"{source}: {m.name!r}: the form {m.form!r} is none of {sorted(FORMS)}")
        if (m.form in ("message", "repeated")) != bool(m.members) or (m.form == "hex_id") != (m.size > 0):
            raise ValueError(f"{source}: {m.name!r}: members belong to messages, a size to hex ids")
        if m.role and ROLE_FORMS.get(m.role) != m.form:
            raise ValueError(f"{source}: {m.name!r}: role {m.role!r} takes the form {ROLE_FORMS.get(m.role)}")
        if m.form == "repeated":
            if row:
                raise ValueError(f"{source}: {m.name!r}: a row holds no level below it")
            _check(source, m.members, roles, row=not any(x.form == "repeated" for x in _flat(m.members)),
                   depth=depth + 1)
        elif m.form == "message":
            _check(source, m.members, roles, row, depth + 1)
        elif m.role:
            roles.append((m.role, row))


def _flat(members: tuple[Member, ...]) -> list[Member]:
    """The members of a message and of the messages inside it, not of the levels below."""
    out = []
    for m in members:
        out.append(m)
        if m.form == "message":
            out += _flat(m.members)
    return out
