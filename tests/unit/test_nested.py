"""Nested declarations (schemas/nested.py): what a declaration must hold, and that both executors (the hot
path's hotpath/src/nested*.rs and the reference schemas.rows.nested) run any declaration, not only OTLP's: a
made-up two-level dialect maps alike in both, whatever order its members come in."""

from __future__ import annotations

import json

import msgspec
import pytest

import sluice_hot
from schemas.dialects.otlp import json_mirror
from schemas.dialects.otlp.columns import REQUEST
from schemas.envelope import Envelope
from schemas.nested import Member, Nested
from schemas.rows.columnar import to_table
from schemas.rows.nested import nested_rows
from sluice.hotpath import messages, nested
from workers.hot import envelope_tuples, from_buffers

ENV = Envelope("toy.v1", "acme", "req-1", 1_795_429_321_123_456_789, "staging")


def test_otlp_is_declared_in_three_levels_with_proto3_json_names():
    assert REQUEST.levels() == 3
    names = {m.name: m.json_name for m in REQUEST.members[0].members}
    assert names == {"resource": "resource", "scope_logs": "scopeLogs", "schema_url": "schemaUrl"}
    assert Member("observed_time_unix_nano", "int").json_name == "observedTimeUnixNano"
    assert Member("foo_barBaz", "int").json_name == "fooBarBaz"  # as protoc spells it: the rest as written


# --- a made-up dialect: batches of entries, the batch's scope and resource fields beside its entries --------

_ENTRY = (
    Member("when", "int", "time"), Member("seen", "int", "observed_time"),
    Member("sev", "enum", "severity_number"), Member("level", "string", "level"),
    Member("message", "any_value", "body"), Member("attrs", "key_values", "attributes"),
    Member("flags", "int", "trace_flags"), Member("trace", "hex_id", "trace_id", size=16),
    Member("span", "hex_id", "span_id", size=8),
    Member("meta", "message", members=(Member("note", "string"),)),
)
TOY = Nested("toy", (Member("batches", "repeated", members=(
    Member("resource_attrs", "key_values", "resource_attributes"),
    Member("origin", "message", members=(
        Member("scope", "string", "scope_name"), Member("version", "string", "scope_version"))),
    Member("scope_attrs", "key_values", "scope_attributes"),
    Member("entries", "repeated", members=_ENTRY),
)),), service_key="svc")


class _Meta(msgspec.Struct, rename="camel"):
    note: str = ""


class _Entry(msgspec.Struct, rename="camel"):
    when: int = 0
    seen: int = 0
    sev: int = 0
    level: str = ""
    message: json_mirror.AnyValue | None = None
    attrs: list[json_mirror.KeyValue] = []
    flags: int = 0
    trace: str = ""
    span: str = ""
    meta: _Meta = msgspec.field(default_factory=_Meta)


class _Origin(msgspec.Struct, rename="camel"):
    scope: str = ""
    version: str = ""


class _Batch(msgspec.Struct, rename="camel"):
    resource_attrs: list[json_mirror.KeyValue] = []
    origin: _Origin = msgspec.field(default_factory=_Origin)
    scope_attrs: list[json_mirror.KeyValue] = []
    entries: list[_Entry] = []


class _Toy(msgspec.Struct, rename="camel"):
    batches: list[_Batch] = []


def _kv(key: str, value: str) -> dict:
    return {"key": key, "value": {"stringValue": value}}


BATCHES = [
    {"entries": [  # the entries before the batch's own fields: they are repeated onto the rows afterwards
        {"when": "1700000000000000001", "level": "warn", "message": {"stringValue": "disk low"},
         "attrs": [_kv("disk", "sda")], "trace": "0AF7651916CD43DD8448EB211C80319C", "meta": {"note": "x"}},
        {"seen": 1700000000000000002, "sev": 17, "message": {"kvlistValue": {"values": [_kv("a", "b")]}},
         "flags": 257, "span": "b7ad6b7169203331"},
     ],
     "resourceAttrs": [_kv("svc", "billing"), _kv("host", "h1")],
     "origin": {"version": "2.0", "scope": "lib"}, "scopeAttrs": [_kv("tier", "gold")]},
    {"scopeAttrs": [], "entries": [{}]},  # nothing set: the receive time, "" and {} everywhere
]


def _hot(declared: Nested, body: bytes):
    counts, declined, buffers = nested(declared).map([body], envelope_tuples([ENV]))
    (rows,) = from_buffers(counts, declined, buffers, [ENV]).rows
    return rows


def test_a_declaration_of_another_shape_maps_alike_in_both_executors():
    body = json.dumps({"batches": BATCHES}).encode()
    want = to_table([nested_rows(TOY, [msgspec.json.decode(body, type=_Toy, strict=False)], ENV)])
    rows = _hot(TOY, body)
    got = rows.table.slice(rows.start, rows.length)
    assert got.equals(want), got.to_pylist()
    first, second, empty = want.to_pylist()
    assert (first["ServiceName"], first["ScopeName"], first["ScopeVersion"]) == ("billing", "lib", "2.0")
    assert first["ResourceAttributes"] == [("svc", "billing"), ("host", "h1")]
    assert first["ScopeAttributes"] == [("tier", "gold")] == second["ScopeAttributes"]
    assert first["TraceId"] == "0af7651916cd43dd8448eb211c80319c" and first["SeverityNumber"] == 13
    assert second["Body"] == '{"a":"b"}' and second["TraceFlags"] == 1 and second["SeverityNumber"] == 17
    assert (empty["ServiceName"], empty["Body"], empty["LogAttributes"]) == ("", "", [])
    assert want.column("Source").to_pylist() == ["toy"] * 3


def test_a_member_given_twice_or_in_another_form_is_declined():
    twice = b'{"batches": [{"entries": [{"level": "a", "level": "b"}]}]}'
    wrong = b'{"batches": [{"origin": {"scope": 5}, "entries": [{}]}]}'
    assert _hot(TOY, twice) is None and _hot(TOY, wrong) is None
    assert _hot(TOY, b'{"batches": [{"entries": [{"unknown": [1, {"x": null}]}]}]}') is not None


def _deep(levels: int) -> Member:
    """A member holding ``levels`` messages, one inside the other."""
    member = Member("leaf", "string")
    for _ in range(levels):
        member = Member("m", "message", members=(member,))
    return member


def _without(role: str) -> tuple[Member, ...]:
    return tuple(m for m in _ENTRY if m.role != role)


@pytest.mark.parametrize("members, why", [
    ((Member("entries", "repeated", members=_without("body")),), "every role exactly once"),
    ((Member("scope", "string", "scope_name"), Member("entries", "repeated", members=_ENTRY)), "every role"),
    ((Member("entries", "repeated", members=(*_ENTRY, Member("scope", "string", "scope_name"))),), "belongs"),
    ((Member("a", "repeated", members=_ENTRY), Member("b", "repeated", members=_ENTRY)), "one repeated"),
    ((Member("entries", "repeated", members=(*_without("trace_id"), Member("trace", "string", "trace_id"))),),
     "takes the form"),
    ((Member("entries", "repeated", members=(*_without("span_id"), Member("span", "hex_id", "span_id"))),),
     "a size to hex ids"),
    ((Member("entries", "repeated", members=(*_ENTRY, Member("extra", "strng"))),), "none of"),
    ((Member("entries", "repeated", members=(*_ENTRY, Member("trace_", "string"))),), "distinct"),  # "trace"
    ((Member("entries", "repeated", members=(*_ENTRY, _deep(17))),), "deeper than 16"),
])
def test_a_declaration_that_cannot_fill_every_column_is_refused(members, why):
    with pytest.raises(ValueError, match=why):
        Nested("bad", members)


@pytest.mark.parametrize("change, why", [
    # Messages: 0 the request, 1 a batch, 2 its origin, 3 an entry, 4 an entry's meta.
    (lambda t: t[3].pop(4), "every role exactly once"),  # the body gone
    (lambda t: t[3].append(("x", "string", "scope_name", -1, 0)), "wrong side"),
    (lambda t: t[1].__setitem__(1, ("origin", "message", "", 9, 0)), "no such message"),
    (lambda t: t[3].extend(("m%d" % i, "int", "", -1, 0) for i in range(30)), "32 members"),
    (lambda t: t[3].__setitem__(0, ("when", "string", "time", -1, 0)), "another form"),
    (lambda t: t[0].__setitem__(0, ("batches", "repeated", "", 0, 0)), "never reach a row"),
    (lambda t: t[0].__setitem__(0, ("batches", "string", "", -1, 0)), "the request itself cannot be a row"),
    # a second way down to the entries, inside the batch's origin: two levels below one message
    (lambda t: t[2].append(("again", "repeated", "", 3, 0)), "more than one level"),
    (lambda t: t[4].append(("loop", "message", "", 4, 0)), "nested too deep"),  # the meta holds itself
])
def test_the_extension_refuses_a_message_table_it_could_not_fill_every_column_from(change, why):
    tables = messages(TOY)
    sluice_hot.Nested("toy", [("info", 9)], [], (0, 1), tables, "svc")  # the unchanged table is taken
    change(tables)
    with pytest.raises(ValueError, match=why):
        sluice_hot.Nested("toy", [("info", 9)], [], (0, 1), tables, "svc")
