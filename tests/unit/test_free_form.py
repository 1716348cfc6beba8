"""Free-form declarations (schemas/free_form.py): what a declaration may say, and that the hot path runs the
declaration it is given, not names of its own: a declaration with other names than Logstash's maps other
members, row for row as the reference (``FreeForm.split`` + the rows it feeds) does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sluice_hot
from schemas.dialects.logstash.columns import EVENT
from schemas.envelope import Envelope
from schemas.formats import Format
from schemas.free_form import COLUMN_ROLES, FreeForm
from schemas.rows.columnar import to_table
from schemas.rows.free_form import free_form_rows
from schemas.severity import SEVERITY_NUMBERS
from sluice.hotpath import free_form
from workers.hot import envelope_tuples, from_buffers

ENV = Envelope(Format.LOGSTASH_LINES.value, "acme", "req-1", 1_795_429_321_123_456_789, "staging")

#: The same roles under other names, as a team's own JSON logger might spell them.
OTHER = FreeForm("logstash", dropped=("schema",), time="ts", host="node",
                 columns={"level": ("lvl", "sev"), "body": ("text", "msg"), "scope_name": ("component",),
                          "service": ("svc",)})

EVENTS = [
    {"ts": "2026-11-23T10:00:00Z", "lvl": "WARN", "text": "disk 91%", "component": "fs", "svc": "billing",
     "node": "h1", "schema": 3, "message": "an attribute here", "level": "not the level"},
    {"lvl": None, "sev": "error", "msg": "second name wins", "node": {"name": "h2"}, "@timestamp": "2026-01-01T00:00:00Z"},
    {"text": None, "msg": None, "extra": {"k": [1, 2]}},
    {},
]


def hot_rows(fields: FreeForm, events: list[dict]):
    counts, declined, buffers = free_form(fields).map([json.dumps(events).encode()], envelope_tuples([ENV]))
    mapped = from_buffers(counts, declined, buffers, [ENV])
    assert mapped.declined == [], mapped.declined
    rows = mapped.rows[0]
    return rows.table.slice(rows.start, rows.length)


def reference_rows(fields: FreeForm, events: list[dict]):
    split = [fields.split(e) for e in events]
    assert all(fields.unstorable(e) is None for e in split)
    return to_table([free_form_rows(fields, [split], ENV)])


@pytest.mark.parametrize("fields", [EVENT, OTHER], ids=["logstash", "other names"])
def test_the_hot_path_runs_the_declaration_it_is_given(fields):
    got, want = hot_rows(fields, EVENTS), reference_rows(fields, EVENTS)
    assert got.equals(want), [(n, got.column(n).to_pylist(), want.column(n).to_pylist())
                              for n in want.column_names if not got.column(n).equals(want.column(n))]


def test_other_names_fill_the_columns_and_logstash_names_become_attributes():
    rows = hot_rows(OTHER, EVENTS).to_pylist()
    first, second = rows[0], rows[1]
    assert (first["SeverityText"], first["Body"], first["ScopeName"], first["ServiceName"]) == \
        ("WARN", "disk 91%", "fs", "billing")
    assert dict(first["ResourceAttributes"]) == {"host.name": "h1"}
    assert dict(first["LogAttributes"]) == {"message": "an attribute here", "level": "not the level"}
    assert (second["SeverityText"], second["SeverityNumber"], second["Body"]) == ("error", 17, "second name wins")
    assert dict(second["LogAttributes"]) == {"@timestamp": "2026-01-01T00:00:00Z"}  # not this declaration's time
    assert second["Timestamp"] == rows[3]["Timestamp"]  # both without a time: the receive time


@pytest.mark.parametrize("change, why", [
    (dict(columns={"level": ("l",), "body": ("b",), "scope_name": ("s",)}), "exactly"),
    (dict(columns={"level": ("l",), "body": ("b",), "scope_name": ("s",), "service": ("s",)}), "two meanings"),
    (dict(time="l"), "two meanings"),
    (dict(columns={"level": (), "body": ("b",), "scope_name": ("s",), "service": ("v",)}), "1 to 8"),
    (dict(columns={"level": tuple(f"n{i}" for i in range(9)), "body": ("b",), "scope_name": ("s",), "service": ("v",)}),
     "1 to 8"),
])
def test_a_declaration_that_cannot_be_read_one_way_is_refused(change, why):
    base = dict(source="x", dropped=("d",), time="t", host="h",
                columns={"level": ("l",), "body": ("b",), "scope_name": ("s",), "service": ("v",)})
    with pytest.raises(ValueError, match=why):
        FreeForm(**{**base, **change})


@pytest.mark.parametrize("columns, why", [
    ([("level", ["l"]), ("body", ["b"]), ("scope_name", ["s"])], "needs names"),
    ([("level", ["l"]), ("body", ["b"]), ("scope_name", ["s"]), ("service", ["v"]), ("level", ["m"])], "twice"),
    ([("level", ["l"]), ("body", ["b"]), ("scope_name", ["s"]), ("service", ["l"])], "two meanings"),
    ([("level", ["l"]), ("body", ["b"]), ("scope_name", ["s"]), ("colour", ["v"])], "no column role"),
    ([("level", [f"n{i}" for i in range(9)]), ("body", ["b"]), ("scope_name", ["s"]), ("service", ["v"])], "1 to 8"),
])
def test_the_extension_refuses_what_python_would(columns, why):
    """The extension checks what it is handed too: it keeps candidates in fixed arrays."""
    with pytest.raises(ValueError, match=why):
        sluice_hot.FreeForm("x", sorted(SEVERITY_NUMBERS.items()), ["d"], "t", "h", columns)


def test_roles_are_the_columns_the_extension_numbers():
    assert COLUMN_ROLES == ("level", "body", "scope_name", "service")
    assert set(EVENT.columns) == set(COLUMN_ROLES)


def test_the_docs_name_every_member_logstash_reads():
    section = Path(__file__).parents[2].joinpath("docs", "dialects.md").read_text().split(
        "## Logstash-compatible TCP and UDP")[1].split("\n## ")[0]
    names = [EVENT.time, EVENT.host, *(n for names in EVENT.columns.values() for n in names)]
    assert [n for n in names if f"`{n}`" not in section] == []
