"""Profound's ``http_logs`` mapping declared as data (schemas/dialects/profound/columns.py), run by
schemas/rows/declared_http.py: the rows it makes are, value for value and in order, those the mapping
written in code made (``reference_rows``/``reference_table``, kept here as the readable model), and a
declaration that misses or repeats a column is refused when it is built."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import urlencode

import pyarrow as pa
import pytest

from schemas.dialects import decode
from schemas.dialects.profound.columns import ENTRY
from schemas.dialects.profound.enrich import classify, referral
from schemas.dialects.profound.wire import AccessLog, Published, client_ip, timestamp_s
from schemas.envelope import Envelope
from schemas.formats import Format
from schemas.rows.arrow import HTTP_LOGS_SCHEMA, column
from schemas.rows.declared_http import Derivation, Derived, EnvelopeField, HttpColumns, Member, by_threshold
from schemas.rows.normalize import flatten
from schemas.storable import ipv6_bytes
from tests.unit.test_profound import DOC_EXAMPLE, good, readable

ENV = Envelope("profound.custom.v1", "acme", "req-1", 1_700_000_000_123_456_789, "staging")


class HttpRow(NamedTuple):
    """One ``http_logs`` row as the mapping written in code made it: the readable model of the declaration."""

    tenant: str
    environment: str
    request_id: str
    received_ns: int
    visit_id: str
    timestamp_ns: int
    severity_text: str  # from the status class: 5xx ERROR, 4xx WARN, else INFO
    severity_number: int
    body: str  # the request as a Combined Log Format line
    host: str
    method: str
    path: str
    status: int
    client_ip: str  # the first address of the entry's ip, "" when it names none (stored as ``::``)
    user_agent: str
    referer: str
    query_params: dict[str, str]
    bytes_sent: int | None
    duration_ms: float | None
    browser: str
    browser_version: str
    os: str
    device: str
    bot_name: str
    bot_kind: str
    referral_source: str
    referral_name: str
    log_attributes: dict[str, str]  # {"forwarded_for": the ip as sent} when it is not one address


def _severity(status: int) -> tuple[str, int]:
    if status >= 500:
        return "ERROR", 17
    if status >= 400:
        return "WARN", 13
    return "INFO", 9


def _line(ts_s: float, ip: str, method: str, path: str, query: dict[str, str], status: int,
          bytes_sent: int | None, referer: str, user_agent: str) -> str:
    when = datetime.fromtimestamp(ts_s, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    target = f"{path}?{urlencode(query)}" if query else path
    size = "-" if bytes_sent is None else str(bytes_sent)
    return f'{ip} - - [{when}] "{method} {target} HTTP/1.1" {status} {size} "{referer or "-"}" "{user_agent}"'


def reference_rows(published: list[Published], env: Envelope) -> list[HttpRow]:
    rows = []
    for batch in published:
        for visit_id, e in zip(batch.visit_ids, batch.entries):
            ts = timestamp_s(e.timestamp)
            query = flatten(e.query_params)
            address, original = client_ip(e.ip)
            size = None if e.bytes_sent is None else int(e.bytes_sent)
            rows.append(HttpRow(
                env.tenant, env.environment, env.request_id, env.received_ns, visit_id, round(ts * 1e9),
                *_severity(e.status_code),
                _line(ts, address or "-", e.method, e.path, query, e.status_code, size, e.referer or "", e.user_agent),
                e.host, e.method, e.path, e.status_code, address, e.user_agent, e.referer or "", query,
                size, e.duration_ms, *classify(e.user_agent), *referral(e.referer, query, e.host),
                {"forwarded_for": original} if original else {},
            ))
    return rows


#: The HttpRow field each inserted column is, as it is; ``Source`` and ``ClientIP`` are made by ``reference_table``.
HTTP_ROW_FIELDS: dict[str, str] = {
    "TenantId": "tenant", "Environment": "environment", "RequestId": "request_id", "ReceivedAt": "received_ns",
    "VisitId": "visit_id", "Timestamp": "timestamp_ns", "ServiceName": "host", "SeverityText": "severity_text",
    "SeverityNumber": "severity_number", "Body": "body", "Host": "host", "Method": "method", "Path": "path",
    "Status": "status", "UserAgent": "user_agent", "Referer": "referer",
    "QueryParams": "query_params", "Bytes": "bytes_sent", "DurationMs": "duration_ms", "Browser": "browser",
    "BrowserVersion": "browser_version", "OS": "os", "Device": "device", "BotName": "bot_name",
    "BotKind": "bot_kind", "ReferralSource": "referral_source", "ReferralName": "referral_name",
    "LogAttributes": "log_attributes",
}


def reference_table(rows: list[HttpRow]) -> pa.Table:
    c = dict(zip(HttpRow._fields, zip(*rows))) if rows else {name: () for name in HttpRow._fields}
    table = {name: column(c[field], HTTP_LOGS_SCHEMA.field(name).type) for name, field in HTTP_ROW_FIELDS.items()}
    table["Source"] = pa.array(["profound"] * len(rows), pa.string())
    table["ClientIP"] = pa.array([ipv6_bytes(ip) if ip else bytes(16) for ip in c["client_ip"]],
                                 HTTP_LOGS_SCHEMA.field("ClientIP").type)
    return pa.table(table, schema=HTTP_LOGS_SCHEMA)


def published(*batches: list[dict]) -> list[Published]:
    """Batches of entries as the worker decodes them, each entry with its own visit id."""
    out = []
    for b, entries in enumerate(batches):
        body = {"visit_ids": [f"00000000-0000-4000-8000-{b:06d}{i:06d}" for i in range(len(entries))],
                "entries": entries}
        out += decode(Format.PROFOUND_CUSTOM, json.dumps(body).encode())
    return out


T = 1_700_000_000
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
# (changes to ``good``, the expected SeverityText, SeverityNumber, ClientIP, LogAttributes, Bytes), written out.
VARIED = [
    (dict(timestamp=T, status_code=100), "INFO", 9, ipv6_bytes("192.168.1.1"), {}, None),
    (dict(timestamp=T * 1000, status_code=302, ip="10.0.0.1, 10.0.0.2", bytes_sent=0), "INFO", 9,
     ipv6_bytes("10.0.0.1"), {"forwarded_for": "10.0.0.1, 10.0.0.2"}, 0),
    (dict(timestamp=T + 0.25, status_code=399, ip="unknown", bytes_sent=10.0), "INFO", 9, bytes(16),
     {"forwarded_for": "unknown"}, 10),
    (dict(timestamp="2023-11-14T22:13:20+02:00", status_code=400, ip="2001:db8:1:2::3a", bytes_sent=2**40),
     "WARN", 13, ipv6_bytes("2001:db8:1:2::3a"), {}, 2**40),
    (dict(timestamp="2023-11-14T22:13:20", status_code=499, ip="", referer="https://www.google.com/search?q=x",
          query_params={"page": "2", "utm_source": "chatgpt.com"}), "WARN", 13, bytes(16), {}, None),
    (dict(timestamp="2023-11-14T22:13:20Z", status_code=500, ip="::ffff:1.2.3.4", referer="",
          query_params={"f": {"a": 1, "b": [1, 2]}, "n": None, "t": True}, duration_ms=0),
     "ERROR", 17, ipv6_bytes("::ffff:1.2.3.4"), {}, None),
    (dict(timestamp=T, status_code=599, ip="2001:db8::1,10.0.0.2", referer="https://example.com/a", bytes_sent=512,
          duration_ms=12.5, user_agent=GPTBOT), "ERROR", 17, ipv6_bytes("2001:db8::1"),
     {"forwarded_for": "2001:db8::1,10.0.0.2"}, 512),
    (dict(timestamp=T, status_code=404, ip="999.1.1.1", referer="t.co/abc", query_params={}), "WARN", 13,
     bytes(16), {"forwarded_for": "999.1.1.1"}, None),
]


def assert_same(new: pa.Table, old: pa.Table) -> None:
    assert new.schema == old.schema == HTTP_LOGS_SCHEMA
    for name in HTTP_LOGS_SCHEMA.names:  # column by column, so a difference names its column
        assert new.column(name).equals(old.column(name)), (name, new.column(name), old.column(name))


FIXTURES = {
    "doc-example": [DOC_EXAMPLE],
    "enriched": [[good(timestamp=T, status_code=503, ip="2001:db8::1", query_params={"utm_source": "chatgpt.com"},
                       referer="https://chatgpt.com/", bytes_sent=512, duration_ms=12.5, user_agent=GPTBOT)]],
    "forwarded": [[good(ip=ip, bytes_sent=10.0) for ip in
                   ("192.168.1.1", "10.0.0.1, 10.0.0.2", "2001:db8::1,10.0.0.2", "unknown", "999.1.1.1", "")]],
    "varied": [[good(**changes) for changes, *_ in VARIED[:5]], [], [good(**changes) for changes, *_ in VARIED[5:]]],
}


@pytest.mark.parametrize("batches", FIXTURES.values(), ids=FIXTURES.keys())
def test_the_declaration_makes_the_rows_the_code_made(batches):
    decoded = published(*batches)
    assert_same(ENTRY.table(decoded, ENV), reference_table(reference_rows(decoded, ENV)))


def test_varied_entries_take_the_values_written_out():
    table = ENTRY.table(published([good(**changes) for changes, *_ in VARIED]), ENV)
    rows = readable(table)
    assert [(r["SeverityText"], r["SeverityNumber"], r["ClientIP"], r["LogAttributes"], r["Bytes"]) for r in rows] \
        == [tuple(expected) for _, *expected in VARIED]
    assert {r["Source"] for r in rows} == {"profound"}
    assert [r["VisitId"] for r in rows] == [f"00000000-0000-4000-8000-000000{i:06d}" for i in range(len(VARIED))]
    assert rows[0]["Timestamp"] == rows[1]["Timestamp"] == T * 10**9  # seconds and milliseconds
    assert rows[2]["Timestamp"] == 1_700_000_000_249_999_872  # float seconds: to the double's precision
    assert rows[3]["Timestamp"] == (T - 2 * 3600) * 10**9 and rows[4]["Timestamp"] == T * 10**9  # naive: UTC
    assert rows[4]["QueryParams"] == {"page": "2", "utm_source": "chatgpt.com"}
    assert (rows[4]["ReferralSource"], rows[4]["ReferralName"]) == ("ai_assistant", "chatgpt")  # utm_source first
    assert rows[5]["QueryParams"] == {"f.a": "1", "f.b": "[1,2]", "n": "null", "t": "true"}
    assert (rows[6]["ReferralSource"], rows[6]["BotName"], rows[6]["DurationMs"]) == ("internal", "GPTBot", 12.5)
    assert rows[0]["DurationMs"] is None and rows[5]["Referer"] == rows[0]["Referer"] == ""
    assert rows[4]["Body"].startswith('- - - [14/Nov/2023:22:13:20 +0000] "GET /products?page=2&utm_source=')
    assert (rows[7]["ReferralSource"], rows[7]["ReferralName"]) == ("social", "x")
    assert {r["TenantId"] for r in rows} == {"acme"} and {r["ReceivedAt"] for r in rows} == {ENV.received_ns}


def test_no_entries_make_an_empty_table_of_the_layout():
    assert ENTRY.table([], ENV).equals(HTTP_LOGS_SCHEMA.empty_table())
    assert ENTRY.table(published([]), ENV).equals(HTTP_LOGS_SCHEMA.empty_table())
    rows = ENTRY.rows(published([]), ENV)
    assert (len(rows), bool(rows), rows.tenant) == (0, False, "")
    rows = ENTRY.rows(published([good(), good()]), ENV)
    assert (len(rows), rows.tenant) == (2, "acme")


def test_a_derivation_of_several_columns_runs_once_per_entry():
    calls = []

    def counted(user_agent: str):
        calls.append(user_agent)
        return classify(user_agent)

    declared = HttpColumns(AccessLog, tuple(replace(d, fn=counted) if d.name == "client" else d
                                            for d in ENTRY.derivations), ENTRY.columns)
    assert sum(type(s) is Derived and s.name == "client" for _, s in ENTRY.columns) == 6
    decoded = published([good(), good(user_agent=GPTBOT)], [good()])
    assert_same(declared.table(decoded, ENV), ENTRY.table(decoded, ENV))
    assert len(calls) == 3


def _without(name: str) -> tuple:
    return tuple(pair for pair in ENTRY.columns if pair[0] != name)


@pytest.mark.parametrize("columns, derivations, named", [
    (_without("Browser"), ENTRY.derivations, "'Browser'"),
    (_without("Source"), ENTRY.derivations, "'Source'"),
    (ENTRY.columns + (("Host", Member("host")),), ENTRY.derivations, "'Host'"),
    (ENTRY.columns + (("Port", Member("host")),), ENTRY.derivations, "'Port'"),
    (_without("Method") + (("Method", Member("verb")),), ENTRY.derivations, "'verb'"),
    (_without("Bytes") + (("Bytes", Derived("bytes")),), ENTRY.derivations, "'bytes'"),
    (ENTRY.columns, ENTRY.derivations + (Derivation("client", classify, (Member("user_agent"),)),), "'client'"),
    (ENTRY.columns, ENTRY.derivations + (Derivation("unused", len, (Member("path"),)),), "'unused'"),
    (ENTRY.columns, tuple(reversed(ENTRY.derivations)), "'seconds'"),  # the body read before it is derived
    (_without("Source") + (("Source", Derived("dialect")),), ENTRY.derivations + (Derivation("dialect", str, ()),),
     "'dialect'"),  # reads nothing: a Constant
    (_without("Path") + (("Path", "path"),), ENTRY.derivations, "'path'"),
    (_without("RequestId") + (("RequestId", EnvelopeField("request")),), ENTRY.derivations, "'request'"),
], ids=["missing", "missing-envelope", "twice", "not-inserted", "not-a-member", "not-derived",
        "derived-twice", "derived-unread", "read-before-derived", "derived-from-nothing", "not-a-source",
        "not-in-the-envelope"])
def test_a_declaration_that_does_not_cover_each_column_once_is_refused(columns, derivations, named):
    with pytest.raises(ValueError, match=named):
        HttpColumns(AccessLog, derivations, columns)


def test_the_declaration_covers_every_inserted_column_once():
    names = [name for name, _ in ENTRY.columns]
    assert sorted(names) == sorted(HTTP_LOGS_SCHEMA.names) and len(set(names)) == len(names)


def test_a_level_table_is_read_highest_threshold_first():
    level = by_threshold(((500, "E"), (400, "W")), "I")
    assert [level(s) for s in (100, 399, 400, 499, 500, 599)] == ["I", "I", "W", "W", "E", "E"]
    with pytest.raises(ValueError, match="highest first"):
        by_threshold(((400, "W"), (500, "E")), "I")
