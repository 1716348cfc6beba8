"""Logstash batches on the hot path (hotpath/src/free_form*.rs through workers/hot.py) against the reference
(decode + schemas.rows.free_form.free_form_rows): every record is either declined or mapped to exactly the
reference's rows; what the reference refuses, or might read another way, is declined; what shippers send
(python-logstash, logstash-logback-encoder, Logstash's json_lines output) is mapped. Records are fixtures of
those shapes, edge cases, and Hypothesis-drawn batches."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from schemas.dialects import decode
from schemas.envelope import Envelope, to_headers
from schemas.formats import Format, InvalidBody
from workers import hot
from schemas.rows.columnar import LogColumns, to_table
from schemas.dialects.logstash.columns import EVENT
from schemas.rows.free_form import free_form_rows
from workers.records import hot_outcomes, rows_of

LINES = Format.LOGSTASH_LINES
ENV = Envelope(LINES.value, "acme", "req-1", 1_795_429_321_123_456_789, "staging")
ENV2 = Envelope(LINES.value, "beta", "req-2", -5, "production")


def reference(body: bytes, env: Envelope) -> pa.Table | None:
    """decode + the reference mapping, as one table; None when decode refuses the record."""
    try:
        events = decode(LINES, body)
    except InvalidBody:
        return None
    return to_table([free_form_rows(EVENT, events, env)])


def differs(bodies: list[bytes], envs: list[Envelope]) -> str | None:
    """Why the hot path disagrees with the reference on ``bodies`` mapped in one call, or None."""
    out = hot.map_values(LINES, bodies, envs)
    assert {i for i, _ in out.declined} == {i for i, r in enumerate(out.rows) if r is None}
    for index, (body, env, rows) in enumerate(zip(bodies, envs, out.rows)):
        if rows is None:
            continue  # declined: the reference judges it, so nothing can differ
        want = reference(body, env)
        if want is None:
            return f"record {index}: mapped by the hot path, refused by the reference"
        if len(rows) != want.num_rows:
            return f"record {index}: {len(rows)} rows mapped, {want.num_rows} in the reference"
        got = rows.table.slice(rows.start, rows.length)
        if not got.equals(want):
            for name in want.column_names:
                if not got.column(name).equals(want.column(name)):
                    return (f"record {index}: column {name}: hot {got.column(name).to_pylist()[:3]} "
                            f"reference {want.column(name).to_pylist()[:3]}")
            return f"record {index}: tables differ"
    return None


def declined(body: bytes) -> bool:
    return hot.map_values(LINES, [body], [ENV]).rows[0] is None


def batch(*events) -> bytes:
    return json.dumps(list(events)).encode()


PYTHON_LOGSTASH = {  # python-logstash's LogstashFormatterVersion1, with an ``extra``
    "@timestamp": "2026-11-23T10:22:01.123Z", "@version": "1", "message": "user logged in", "host": "web-1",
    "path": "/srv/app/views.py", "tags": [], "type": "logstash", "level": "INFO", "logger_name": "app.views",
    "stack_info": None, "line": 42, "func_name": "login", "thread_name": "MainThread", "process_name": "MainProcess",
    "user_id": 7, "elapsed": 0.25}
LOGBACK = {  # logstash-logback-encoder's LogstashEncoder, with MDC fields
    "@timestamp": "2026-11-23T11:22:01.123+01:00", "@version": "1", "message": "Started Application in 3.2 s",
    "logger_name": "com.example.Application", "thread_name": "main", "level": "WARN", "level_value": 30000,
    "HOSTNAME": "pod-7", "app": "orders", "traceId": "4bf92f3577b34da6", "stack_trace":
    "java.lang.IllegalStateException: x\n\tat com.example.A.b(A.java:1)\n"}
JSON_LINES = {  # Logstash's json_lines output of a Beats event (ECS)
    "@timestamp": "2026-11-23T10:22:01.123456789Z", "@version": "1", "message": "GET /api/orders 200",
    "host": {"name": "web-2", "hostname": "web-2.local", "os": {"family": "debian"}},
    "event": {"original": "10.0.0.1 - - GET /api/orders 200"}, "log": {"file": {"path": "/var/log/a.log"}, "offset": 9},
    "service": {"type": "nginx"}, "tags": ["beats_input_codec_plain_applied"], "agent": {"type": "filebeat"},
    "ecs": {"version": "8.0.0"}}
STRINGS = {"@timestamp": "2026-11-23T10:22:01Z", "message": "m", "level": "error", "service": "billing", "host": "h",
           "logger": "l", "user": "u", "region": "eu"}
BENCH = [{"@timestamp": "2026-11-23T10:22:01.123Z", "@version": "1", "message": f"tcp {i} GET /api/orders/{i}",
          "level": "ERROR" if i % 10 == 0 else "INFO", "logger_name": f"app.module{i % 8}", "host": f"web-{i % 4}",
          "tags": ["bench"], "user_id": i % 1000, "duration_ms": i % 250} for i in range(20)]

FIXTURES: list[tuple[str, bytes]] = [
    ("python-logstash", batch(PYTHON_LOGSTASH, {**PYTHON_LOGSTASH, "level": "ERROR", "exc_info": "Traceback"})),
    ("logback encoder", batch(LOGBACK)),
    ("json_lines ECS", batch(JSON_LINES)),
    ("string fields", batch(STRINGS)),
    ("bench events", batch(*BENCH)),
    ("test_otlp's events", batch({"@timestamp": "2026-11-23T10:00:00Z", "@version": "1", "message": "m",
                                  "level": "INFO", "logger_name": "app", "service": "billing", "host": "h1",
                                  "extra": {"k": 1}, "sluice_token": "x"},
                                 {"message": "no time", "host": {"hostname": "h2"}})),
    ("empty batch", b"[]"),
    ("empty event", batch({})),
    ("whitespace", b' [\n {\n "message" : "m" , "level" : "info" } ,\t{ } ] \r\n'),
    ("nulls before the level", batch({"level": None, "levelname": "ERROR", "severity": "x", "log.level": None})),
    ("candidates after the level stay", batch({"log.level": "debug", "level": "info", "severity": None, "app": "a",
                                               "service_name": "s", "application": None, "logger": "x"})),
    ("all null", batch({"level": None, "message": None, "logger_name": None, "service": None, "host": None})),
    ("columns that are no strings", batch({"level": 40, "message": {"a": [1, 2.5, True, None], "b": {}},
                                           "logger": ["x", 1e16], "service": False, "app": "kept"},
                                          {"message": 1.0, "level": -0.0, "logger_name": 2**70, "service": {}})),
    ("levels", batch(*[{"level": t} for t in ("warn", " Warning ", "\u2003ERROR\x1c", "nope", "", "ınfo",
                                              "INFORMATIONAL", "err\u0085", "x" * 40, "Fatal", "notice")])),
    ("times", batch(*[{"@timestamp": t} for t in (
        "2026-11-23T10:22:01", "2026-11-23 10:22:01.5", "2026-11-23T10:22:01+0530", "2026-11-23T10:22:01-00:00",
        "2026-11-23T10:22:01.1234567Z", "2026-11-23T10:22:01.999999999+23:59", "1900-01-01T00:00:00Z",
        "2262-04-11T23:47:16.854775Z", "2262-04-11T23:47:16.8547759Z", "2024-02-29T23:59:59.000001-01:00")])),
    ("times that are no strings", batch({"@timestamp": 1_700_000_000_000}, {"@timestamp": None},
                                        {"@timestamp": {"t": [1]}}, {"@timestamp": True})),
    ("hosts", batch(*[{"host": h} for h in ("", None, {}, {"name": ""}, {"hostname": "h"},
                                            {"name": None, "hostname": "h"}, {"name": "n", "hostname": "h"},
                                            {"os": {"x": 1}}, {"name": "", "hostname": None}, "h\u00e9")])),
    ("dropped fields", batch({"@version": {"a": [1, {"b": None}]}, "sluice_token": 5, "message": "m"},
                             {"@version": None, "sluice_token": ["t"]})),
    ("attributes nest", batch({"a": {"b": {"c": 1}, "d": {}}, "e": [], "f": [{"g": 1}], "h": {}})),
    ("attribute values", batch({"s": "é\n\"x\u2028", "t": True, "f": False, "n": None, "i": -42, "z": -0, "big": 2**70,
                                "d": 2.5, "one": 1.0, "tiny": 5e-324, "e": 1e16, "small": 1e-5, "x": 1.5e-7})),
    ("dotted attributes collide", batch({"a.b": 1, "a": {"b": 2}, "log.level": "kept"},
                                        {"level": "info", "log.level": "x", "log": {"level": "y"}})),
    ("unicode keys", batch({"kl\u00e9.\U0001F600": "v", "": "empty key", "a.": {"": 1}})),
    ("escaped keys", b'[{"\\u006cevel":"WARN","m\\u00e9ssage":"not the message","\\/":"slash",'
                     b'"message":"\\ud83d\\ude00"}]'),
    ("ascii escapes", json.dumps([{"message": "é\U0001F600", "k\u00e9": "\u2028"}], ensure_ascii=True).encode()),
    ("repeated attribute", b'[{"a":1,"b":2,"a":{"c":3},"level":"info"}]'),
    ("repeated timestamp", b'[{"@timestamp":"2026-01-01T00:00:00Z","@timestamp":"2026-02-01T00:00:00Z"},'
                           b'{"@timestamp":"2026-01-01T00:00:00Z","@timestamp":7}]'),
    ("repeated dropped field", b'[{"@version":"1","@version":2,"sluice_token":"a","sluice_token":null}]'),
    ("many attributes", batch({f"k{i}": i for i in range(1000)})),
    ("many attributes with kept candidates", batch({"level": "info", "severity": "s",
                                                    **{f"k{i}": i for i in range(999)}})),
    ("attributes nest 32 levels", batch({"a": json.loads('{"k":' * 31 + "1" + "}" * 31)})),
    ("message nests deeply", batch({"message": json.loads("[" * 20 + "]" * 20)})),
    # refused by the reference: declined
    ("not an array", b'{"message":"m"}'),
    ("a string", b'"x"'),
    ("an event not an object", b"[1]"),
    ("a null event", b'[{"message":"m"},null]'),
    ("a list of lists", b"[[]]"),
    ("truncated", b'[{"message":"m"'),
    ("trailing characters", b"[] x"),
    ("two arrays", b"[][]"),
    ("empty", b""),
    ("trailing comma", b'[{"a":1},]'),
    ("bad utf8 in an attribute", b'[{"a":"\xff"}]'),
    ("bad utf8 in a key", b'[{"\xff":1}]'),
    ("bad utf8 in the message", b'[{"message":"\xff"}]'),
    ("bad utf8 in a dropped field", b'[{"@version":"\xff"}]'),
    ("bad utf8 in a null-dropped field", b'[{"level":null,"levelname":"x","severity":"\xff"}]'),
    ("bad utf8 in the host", b'[{"host":{"os":"\xff"}}]'),
    ("bad escape", b'[{"message":"\\x"}]'),
    ("lone surrogate", b'[{"message":"\\ud800"}]'),
    ("number out of range", b'[{"a":1e400}]'),
    ("year 9999", batch({"@timestamp": "9999-12-31T00:00:00Z", "message": "m"})),
    ("before 1900", batch({"@timestamp": "1899-12-31T23:59:59.999999Z"})),
    ("before 1900 by its offset", batch({"@timestamp": "1900-01-01T00:00:00+01:00"})),
    ("after 2262", batch({"@timestamp": "2262-04-11T23:47:16.854776Z"})),
    ("1001 attributes", batch({f"k{i}": i for i in range(1001)})),
    ("1001 attributes with a kept candidate", batch({"level": "info", "severity": "s",
                                                     **{f"k{i}": i for i in range(1000)}})),
    ("1001 nested attributes", batch({"n": {f"k{i}": i for i in range(1000)}, "m": {}})),
    ("attributes nest 33 levels", batch({"a": json.loads('{"k":' * 32 + "1" + "}" * 32)})),
    ("attributes nest 33 lists", batch({"a": json.loads("[" * 32 + "]" * 32)})),
    ("the second event refused", batch({"message": "ok"}, {"@timestamp": "9999-12-31T00:00:00Z"})),
]

#: Records the reference reads (some in ways a plain reading would not): the hot path declines them.
ODD = [
    ("repeated level", b'[{"level":"a","level":"b"}]'),
    ("repeated message", b'[{"message":"a","x":1,"message":null}]'),
    ("repeated host", b'[{"host":"a","host":"b"}]'),
    ("date only", batch({"@timestamp": "2026-11-23"})),
    ("comma before the fraction", batch({"@timestamp": "2026-11-23T10:22:01,5Z"})),
    ("empty fraction", batch({"@timestamp": "2026-11-23T10:22:01.Z"})),
    ("ten fraction digits", batch({"@timestamp": "2026-11-23T10:22:01.1234567890Z"})),
    ("offset with seconds", batch({"@timestamp": "2026-11-23T10:22:01+01:00:30"})),
    ("lower-case z", batch({"@timestamp": "2026-11-23T10:22:01z"})),  # fromisoformat refuses: the receive time
    ("not a time", batch({"@timestamp": "not a time"})),
    ("no such day", batch({"@timestamp": "2026-02-30T00:00:00Z"})),
    ("hour 24", batch({"@timestamp": "2026-11-23T24:00:00Z"})),
    ("host a number", batch({"host": 5})),
    ("host a list", batch({"host": ["a"]})),
    ("host true", batch({"host": True})),
    ("host name a number", batch({"host": {"name": 5}})),
    ("host name false", batch({"host": {"name": False, "hostname": "h"}})),
    ("level Kelvin", batch({"level": "\u212aill"})),
    ("message nests 33 levels", batch({"message": json.loads("[" * 33 + "]" * 33)})),
]


@pytest.mark.parametrize("name,body", FIXTURES + ODD, ids=[name for name, _ in FIXTURES + ODD])
def test_fixtures_map_as_the_reference_does(name, body):
    assert differs([body], [ENV]) is None


def test_the_fixtures_in_one_call_keep_each_records_rows_and_envelope():
    bodies = [body for _, body in FIXTURES + ODD]
    envs = [ENV if i % 2 else ENV2 for i in range(len(bodies))]
    assert differs(bodies, envs) is None
    out = hot.map_values(LINES, bodies, envs)
    refused = [i for i, b in enumerate(bodies) if reference(b, ENV) is None]
    assert refused and all(out.rows[i] is None for i in refused)


@pytest.mark.parametrize("name,body", ODD, ids=[name for name, _ in ODD])
def test_what_the_reference_might_read_another_way_is_declined(name, body):
    assert reference(body, ENV) is not None, "the reference reads it"
    assert declined(body)


REFUSED = FIXTURES[FIXTURES.index(("not an array", b'{"message":"m"}')):]


@pytest.mark.parametrize("name,body", REFUSED, ids=[name for name, _ in REFUSED])
def test_what_the_reference_refuses_is_declined(name, body):
    assert reference(body, ENV) is None, "the reference refuses it"
    assert declined(body)


def test_ordinary_records_take_the_hot_path():
    """What shippers send every day is mapped in Rust, not handed back: the declines are the odd cases."""
    plain = [name for name, body in FIXTURES if reference(body, ENV) is not None and declined(body)]
    assert plain == [], plain
    rows = hot.map_values(LINES, [batch(PYTHON_LOGSTASH, LOGBACK, JSON_LINES)], [ENV]).rows[0]
    table = rows.table.slice(rows.start, rows.length)
    assert table.column("ScopeName").to_pylist() == ["app.views", "com.example.Application", ""]
    assert table.column("ServiceName").to_pylist() == ["", "orders", '{"type":"nginx"}']
    assert table.column("ResourceAttributes").to_pylist() == [[("host.name", "web-1")], [], [("host.name", "web-2")]]
    assert table.column("SeverityNumber").to_pylist() == [9, 13, 0]
    utc = (datetime(2026, 11, 23, 10, 22, 1, 123000, tzinfo=timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc))
    assert table.column("Timestamp").cast(pa.int64()).to_pylist()[1] == utc // timedelta(microseconds=1) * 1000
    assert ("log.file.path", "/var/log/a.log") in table.column("LogAttributes").to_pylist()[2]
    assert table.column("ScopeAttributes").to_pylist() == [[], [], []]


def _record(value: bytes, env: Envelope = ENV) -> tuple[bytes, list, int]:
    return value, to_headers(env), 0


def test_declined_records_are_stored_or_dead_lettered_by_the_reference():
    good, odd, bad = batch(STRINGS, LOGBACK), ODD[0][1], FIXTURES[-1][1]
    out = hot_outcomes([_record(good), _record(odd), _record(bad)])
    assert out[0] is not None and len(out[0].rows) == 2 and isinstance(out[0].rows, hot.HotRows)
    assert out[1:] == [None, None], "declined: left to rows_of"
    stored = rows_of(*_record(odd))
    assert isinstance(stored.rows, LogColumns) and len(stored.rows) == 1 and stored.rejected == []
    refused = rows_of(*_record(bad))
    assert refused.rows == [] and [r.reason for _, r in refused.rejected] == ["invalid_field"]


# --- Hypothesis: batches of events ------------------------------------------------------------------------

def _rare(draw, n: int) -> bool:
    """True once in about ``n + 1`` draws."""
    return draw(st.integers(0, n)) == n


KEYS = st.one_of(st.sampled_from(["a", "b", "a.b", "", "a.", "k\u00e9", "user", "log.level", "level", "message",
                                  "host", "tags", "x.y.z"]), st.text(max_size=6))
LEVEL = st.sampled_from(["INFO", "info", " Warn ", "ERROR", "critical", "Fatal", "notice", "nonsense", "", "DEBUG",
                         "\u0131nfo", "debug\u0085", "TRACE\t", "warning"])
SCALARS = st.one_of(st.text(max_size=8), st.integers(-(2**70), 2**70), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([-0.0, 1e16, 5e-324, 1e-5, 0.1]))
JSON = st.recursive(SCALARS, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                     st.dictionaries(KEYS, kids, max_size=3)), max_leaves=8)
EARLIEST, LATEST = datetime(1900, 1, 1), datetime(2262, 4, 11, 23, 47, 16, 854775)


@st.composite
def stamp(draw):
    """``@timestamp`` as shippers write it (a zone, a fraction of 0 to 9 digits); rarely another form or type."""
    if _rare(draw, 30):
        odd = ["2026-11-23", "not a time", "2026-11-23T10:22:01z", "", "2026-11-23T10"]
        return draw(st.one_of(st.sampled_from(odd), JSON))
    near = st.sampled_from([EARLIEST, LATEST, EARLIEST - timedelta(microseconds=1), LATEST + timedelta(microseconds=1)])
    when = draw(st.one_of(st.datetimes(datetime(1890, 1, 1), datetime(2270, 1, 1)), near))
    minutes = draw(st.sampled_from([0, 0, 60, -300, 330, 23 * 60 + 59, -(23 * 60 + 59)]))
    text = when.isoformat(sep=draw(st.sampled_from(["T", "T", " "])),
                          timespec=draw(st.sampled_from(["seconds", "milliseconds", "microseconds"])))
    text += draw(st.sampled_from(["", "", "789"])) if "." in text else ""
    zone = draw(st.sampled_from(["Z", "offset", "offset", "naive", "basic"]))
    if zone == "naive":
        return text
    sign, hours, mins = "-" if minutes < 0 else "+", abs(minutes) // 60, abs(minutes) % 60
    if zone == "Z" or minutes == 0 and zone != "basic":
        return text + draw(st.sampled_from(["Z", "+00:00", "-00:00"]))
    return text + (f"{sign}{hours:02d}:{mins:02d}" if zone == "offset" else f"{sign}{hours:02d}{mins:02d}")


@st.composite
def column_value(draw, texts):
    """A column's field: mostly text, sometimes null, rarely any JSON."""
    if _rare(draw, 6):
        return None
    return draw(JSON) if _rare(draw, 15) else draw(texts)


@st.composite
def host(draw):
    kind = draw(st.sampled_from(["string", "string", "ecs", "empty", "null"]))
    if _rare(draw, 30):
        return draw(JSON)
    if kind == "string":
        return draw(st.text(min_size=1, max_size=8))
    if kind == "ecs":
        fields = {"name": draw(st.one_of(st.text(max_size=5), st.none())), "hostname": draw(st.text(max_size=5)),
                  "os": {"family": "debian"}}
        return {name: fields[name] for name in draw(st.lists(st.sampled_from(sorted(fields)), unique=True))}
    return "" if kind == "empty" else None


@st.composite
def event(draw) -> dict:
    fields = {
        "@timestamp": lambda: draw(stamp()),
        "@version": lambda: draw(st.sampled_from(["1", 1, None])),
        "sluice_token": lambda: draw(st.text(max_size=4)),
        "level": lambda: draw(column_value(LEVEL)),
        "levelname": lambda: draw(column_value(LEVEL)),
        "severity": lambda: draw(column_value(LEVEL)),
        "log.level": lambda: draw(column_value(LEVEL)),
        "message": lambda: draw(column_value(st.text(max_size=12))),
        "logger_name": lambda: draw(column_value(st.text(max_size=6))),
        "logger": lambda: draw(column_value(st.text(max_size=6))),
        "service": lambda: draw(column_value(st.text(max_size=6))),
        "service_name": lambda: draw(column_value(st.text(max_size=6))),
        "app": lambda: draw(column_value(st.text(max_size=6))),
        "application": lambda: draw(column_value(st.text(max_size=6))),
        "host": lambda: draw(host()),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=8))
    items = [(name, fields[name]()) for name in chosen]
    items += draw(st.lists(st.tuples(KEYS, JSON), max_size=5, unique_by=lambda kv: kv[0]))
    return dict(draw(st.permutations(items)))


@st.composite
def logstash_body(draw) -> bytes:
    events = draw(st.lists(event(), max_size=4))
    indent = draw(st.sampled_from([None, None, 0, 2]))
    return json.dumps(events, indent=indent, ensure_ascii=draw(st.booleans())).encode()


#: Drawn examples: a quick pass in ``make test``, more in ``make test-fuzz``.
EXAMPLES = int(os.environ.get("SLUICE_HOT_PATH_EXAMPLES", "60"))


def test_drawn_records_map_as_the_reference_does():
    seen = {"accepted": 0, "mapped": 0}

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(logstash_body(), min_size=1, max_size=3))
    def run(bodies):
        envs = [ENV if i % 2 == 0 else ENV2 for i in range(len(bodies))]
        assert differs(bodies, envs) is None
        out = hot.map_values(LINES, bodies, envs)
        for body, rows in zip(bodies, out.rows):
            if reference(body, ENV) is not None:
                seen["accepted"] += 1
                seen["mapped"] += rows is not None

    run()
    # The drawing favours odd forms; still, most records the reference accepts must be mapped, or the
    # comparison above would hold vacuously.
    assert seen["accepted"] >= EXAMPLES // 2 and seen["mapped"] >= 0.6 * seen["accepted"], seen


@st.composite
def mutated(draw) -> bytes:
    """A record with a few bytes changed: mostly broken JSON, sometimes another valid spelling."""
    body = bytearray(draw(logstash_body()))
    for _ in range(draw(st.integers(1, 3))):
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        edit = draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = draw(st.sampled_from([b'"', b"{", b"}", b"[", b"]", b",", b":", b"0", b"-", b"e", b".", b"\\", b" ",
                                      b"null", b"\\u00e9", b'"x":1,', b"\xff", b'"level":"warn",', b'"host":{},',
                                      b'"@timestamp":"2026-01-01T00:00:00Z",']))
        if edit == "delete":
            del body[at]
        elif edit == "insert":
            body[at:at] = piece
        else:
            body[at:at + 1] = piece
    return bytes(body)


def test_mutated_records_are_declined_or_mapped_as_the_reference_does():
    mapped = []

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(mutated(), min_size=1, max_size=3))
    def run(bodies):
        assert differs(bodies, [ENV] * len(bodies)) is None
        mapped.extend(r for r in hot.map_values(LINES, bodies, [ENV] * len(bodies)).rows if r is not None)

    run()
    assert len(mapped) >= EXAMPLES // 10, "some mutations leave a valid record, and those are compared"
