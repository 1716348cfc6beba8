"""OTLP/JSON on the hot path (hotpath/src/nested*.rs through workers/hot.py) against the reference (decode +
schemas.rows.nested.nested_rows of schemas/dialects/otlp/columns.py): every request is either declined or mapped to exactly the reference's rows;
what the reference refuses, or might read another way, is declined; ordinary exporter bodies are mapped.
Bodies are the OTLP fixtures of tests/unit/test_otlp.py, edge cases, and Hypothesis-drawn requests."""

from __future__ import annotations

import base64
import json
import os

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from schemas.dialects import decode
from schemas.envelope import Envelope, to_headers
from schemas.formats import Format, InvalidBody
from tests.unit.test_otlp import OTLP_JSON, SPAN, TRACE, as_otlp_json, every_kind_of_value, one_record, request
from workers import hot
from schemas.rows.columnar import LogColumns, to_table
from schemas.dialects.otlp.columns import REQUEST
from schemas.rows.nested import nested_rows
from workers.records import hot_outcomes, rows_of

JSON = Format.OTLP_JSON
ENV = Envelope(JSON.value, "acme", "req-1", 1_795_429_321_123_456_789, "staging")
ENV2 = Envelope(JSON.value, "beta", "req-2", -5, "production")


def reference(body: bytes, env: Envelope, fmt: Format = JSON) -> pa.Table | None:
    """decode + the reference mapping, as one table; None when decode refuses the body."""
    try:
        requests = decode(fmt, body)
    except InvalidBody:
        return None
    return to_table([nested_rows(REQUEST, requests, env)])


def differs(bodies: list[bytes], envs: list[Envelope], fmt: Format = JSON) -> str | None:
    """Why the hot path disagrees with the reference on ``bodies`` (in ``fmt``) mapped in one call, or None."""
    out = hot.map_values(fmt, bodies, envs)
    assert {i for i, _ in out.declined} == {i for i, r in enumerate(out.rows) if r is None}
    for index, (body, env, rows) in enumerate(zip(bodies, envs, out.rows)):
        if rows is None:
            continue  # declined: the reference judges it, so nothing can differ
        want = reference(body, env, fmt)
        if want is None:
            return f"body {index}: mapped by the hot path, refused by the reference"
        if len(rows) != want.num_rows:
            return f"body {index}: {len(rows)} rows mapped, {want.num_rows} in the reference"
        got = rows.table.slice(rows.start, rows.length)
        if not got.equals(want):
            for name in want.column_names:
                if not got.column(name).equals(want.column(name)):
                    return (f"body {index}: column {name}: hot {got.column(name).to_pylist()[:3]} "
                            f"reference {want.column(name).to_pylist()[:3]}")
            return f"body {index}: tables differ"
    return None


def declined(body: bytes, fmt: Format = JSON) -> bool:
    return hot.map_values(fmt, [body], [ENV]).rows[0] is None


def _request(*records, resource=None, scope=None) -> bytes:
    scope_logs = {"logRecords": list(records), **({"scope": scope} if scope is not None else {})}
    resource_logs = {"scopeLogs": [scope_logs], **({"resource": resource} if resource is not None else {})}
    return json.dumps({"resourceLogs": [resource_logs]}).encode()


def _kv(key, value) -> dict:
    return {"key": key, "value": value}


EVERY_VALUE = [_kv("s", {"stringValue": "é\n\"x\u2028"}), _kv("t", {"boolValue": True}), _kv("f", {"boolValue": False}),
               _kv("i", {"intValue": "-42"}), _kv("i2", {"intValue": 7}), _kv("i0", {"intValue": "-0"}),
               _kv("d", {"doubleValue": 2.5}), _kv("d1", {"doubleValue": 1}), _kv("dz", {"doubleValue": -0.0}),
               _kv("dbig", {"doubleValue": 1e16}), _kv("dint", {"doubleValue": 9007199254740993}),
               _kv("dnan", {"doubleValue": "NaN"}), _kv("dinf", {"doubleValue": "-Infinity"}), _kv("dtiny", {"doubleValue": 5e-324}), _kv("d5", {"doubleValue": 1e-5}),
               _kv("b", {"bytesValue": "AP8="}), _kv("b0", {"bytesValue": ""}), _kv("empty", {}), _kv("null", None),
               {"key": "missing"}, {"value": {"stringValue": "no key"}},
               _kv("arr", {"arrayValue": {"values": [{"stringValue": "x"}, {"intValue": "3"}, {}, {"bytesValue": "AQ=="},
                                                     {"kvlistValue": {"values": [_kv("k", {"doubleValue": 0.1})]}},
                                                     {"arrayValue": {}}]}}),
               _kv("kv", {"kvlistValue": {"values": [_kv("a", {"intValue": 1}), _kv("b", {"kvlistValue": {}}),
                                                     _kv("c", {"kvlistValue": {"values": [_kv("d", None)]}})]}}),
               _kv("nulls", {"stringValue": None, "intValue": "5", "arrayValue": None})]

FIXTURES: list[tuple[str, bytes]] = [
    ("otlp json", json.dumps(OTLP_JSON).encode()),
    ("exporter request", as_otlp_json(request())),
    ("exporter every kind", as_otlp_json(every_kind_of_value())),
    ("unknown fields, numbers as strings", one_record(timeUnixNano="17", severityNumber="SEVERITY_NUMBER_WARN",
                                                      futureField={"x": 1}, body={"intValue": "42"})),
    ("every value kind", _request({"attributes": EVERY_VALUE, "body": {"kvlistValue": {"values": EVERY_VALUE[:-3]}}},
                                  resource={"attributes": EVERY_VALUE}, scope={"name": "n", "attributes": EVERY_VALUE})),
    *[(f"body {i}", _request({"body": kv.get("value")})) for i, kv in enumerate(EVERY_VALUE)],
    ("ids upper", one_record(traceId=TRACE.upper(), spanId=SPAN.upper())),
    ("ids empty", one_record(traceId="", spanId="")),
    ("observed only", one_record(observedTimeUnixNano="1700000001000000000")),
    ("time wins", one_record(timeUnixNano=1, observedTimeUnixNano=2)),
    ("no times", one_record(severityText="x")),
    ("negative time", one_record(timeUnixNano="-2208988800000000000")),
    ("latest time", one_record(timeUnixNano="9223372036854775807")),
    ("severity names", _request(*[{"severityNumber": n} for n in ("SEVERITY_NUMBER_UNSPECIFIED", "SEVERITY_NUMBER_FATAL4",
                                                                  "SEVERITY_NUMBER_INFO", "0", "255", 255, 0)])),
    ("severity texts", _request(*[{"severityText": t} for t in ("warn", " Warning ", "\u2003ERROR\x1c", "nope", "",
                                                                "ınfo", "INFORMATIONAL", "err\u0085", "x" * 40)])),
    ("flags", _request(*[{"flags": f} for f in (0, 1, 257, -1, "511", 4294967295)])),
    ("resource after scopes", json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{}, {}], "scope": {"name": "late"}}],
                                                            "resource": {"attributes": [_kv("service.name", {"stringValue": "svc"})]}}]}).encode()),
    ("several resources and scopes", json.dumps({"resourceLogs": [
        {"resource": {"attributes": [_kv("service.name", {"intValue": 5})]},
         "scopeLogs": [{"scope": {"name": "a", "version": "1"}, "logRecords": [{"body": {"stringValue": "1"}}]},
                       {"logRecords": []}, {"scope": {"attributes": [_kv("x", {"boolValue": True})]}, "logRecords": [{}, {}]}]},
        {"scopeLogs": [{"logRecords": [{"severityText": "error"}]}]}, {},
        {"resource": {"attributes": [_kv("service", {"kvlistValue": {"values": [_kv("name", {"stringValue": "n"})]}})]},
         "scopeLogs": [{"logRecords": [{}]}], "schemaUrl": "https://x"}]}).encode()),
    ("empty request", b"{}"),
    ("empty resource logs", b'{"resourceLogs":[]}'),
    ("snake case is unknown", one_record(severity_text="x", time_unix_nano=5)),
    ("whitespace and escapes", b' {\n "resourceLogs" : [ { "scopeLogs" : [ { "logRecords" : [ { "body" : { "stringValue"'
                               b' : "\\u00e9\\ud83d\\ude00\\/" } , "severity\\u0054ext" : "INFO" } ] } ] } ] } \r\n'),
    ("unicode keys", _request({"attributes": [_kv("kl\u00e9.\U0001F600", {"stringValue": "v"})]})),
    ("dotted keys", _request({"attributes": [_kv("a.b", {"intValue": 1}), _kv("c", {"kvlistValue": {"values": [_kv("d.e", {})]}})]})),
    ("many attributes", _request({"attributes": [_kv(f"k{i}", {"intValue": i}) for i in range(1000)]})),
    ("body nests 32 arrays", _request({"body": json.loads('{"arrayValue":{"values":[' * 32 + '{}' + ']}}' * 32)})),
    # refused by the reference: declined
    ("bad trace id", one_record(traceId="zz")),
    ("short span id", one_record(spanId="abcd")),
    ("severity name unknown", one_record(severityNumber="LOUD")),
    ("severity 256", one_record(severityNumber=256)),
    ("severity -1", one_record(severityNumber="-1")),
    ("time words", one_record(timeUnixNano="yesterday")),
    ("time too early", one_record(timeUnixNano="-2208988800000000001")),
    ("time past int64", one_record(observedTimeUnixNano="9223372036854775808")),
    ("int body object", one_record(body={"intValue": {"n": 1}})),
    ("resource logs null", b'{"resourceLogs":null}'),
    ("array element null", one_record(body={"arrayValue": {"values": [None]}})),
    ("bad base64", one_record(body={"bytesValue": "AAE"})),
    ("string as number", one_record(severityText=5)),
    ("1001 attributes", _request({"attributes": [_kv(f"k{i}", {"intValue": i}) for i in range(1001)]})),
    ("1001 nested attributes", _request({"attributes": [_kv("n", {"kvlistValue": {"values": [
        _kv(f"k{i}", {"intValue": i}) for i in range(1000)]}}), _kv("m", {})]})),
    ("body nests 33 arrays", _request({"body": json.loads('{"arrayValue":{"values":[' * 33 + '{}' + ']}}' * 33)})),
    ("attributes nest 32 lists", _request({"attributes": [_kv("a", json.loads(
        '{"kvlistValue":{"values":[{"key":"k","value":' * 31 + '{}' + '}]}}' * 31))]})),
    ("attributes nest 33 lists", _request({"attributes": [_kv("a", json.loads(
        '{"kvlistValue":{"values":[{"key":"k","value":' * 32 + '{}' + '}]}}' * 32))]})),
    ("trailing characters", b'{"resourceLogs":[]} x'),
    ("not an object", b"[1]"),
    ("truncated", b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x'),
    ("bad utf8", b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityText":"\xff"}]}]}]}'),
]

#: Bodies the reference reads (some of them in ways a plain reading would not): the hot path declines them.
ODD = [
    ("repeated attribute key", _request({"attributes": [_kv("a", {"intValue": 1}), _kv("a", {"intValue": 2})]})),
    ("repeated kvlist key", _request({"body": {"kvlistValue": {"values": [_kv("a", {}), _kv("a", {"boolValue": True})]}}})),
    ("flattened keys collide", _request({"attributes": [_kv("a.b", {"intValue": 1}),
                                                        _kv("a", {"kvlistValue": {"values": [_kv("b", {"intValue": 2})]}})]})),
    ("repeated member", b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityText":"a","severityText":"b"}]}]}]}'),
    ("repeated resourceLogs", b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}],"resourceLogs":[]}'),
    ("two values set", one_record(body={"stringValue": "s", "intValue": 3})),
    ("time with exponent", one_record(timeUnixNano="1e3")),
    ("time as float", one_record(timeUnixNano=42.0)),
    ("int as float", one_record(body={"intValue": 42.0})),
    ("int past 19 digits", one_record(body={"intValue": "99999999999999999999999"})),
    ("double as string", one_record(body={"doubleValue": "nan"})),
    ("double as long integer", one_record(body={"doubleValue": 12345678901234567890123})),
    ("bool as string", one_record(body={"boolValue": "true"})),
    ("bool as number", one_record(body={"boolValue": 1})),
    ("non-canonical base64", one_record(body={"bytesValue": "AAF="})),
    ("id with spaces", one_record(spanId="ee e1 9b 7e c3 c1 b1 74")),
    ("severity with leading zeros", one_record(severityNumber="0009")),
    ("severity as float", one_record(severityNumber=9.0)),
    ("severity text Kelvin", one_record(severityText="\u212aill")),
    ("int string with escapes", b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"flags":"\\u0031"}]}]}]}'),
]


@pytest.mark.parametrize("name,body", FIXTURES + ODD, ids=[name for name, _ in FIXTURES + ODD])
def test_fixtures_map_as_the_reference_does(name, body):
    assert differs([body], [ENV]) is None


def test_the_fixtures_in_one_call_keep_each_records_rows_and_envelope():
    bodies = [body for _, body in FIXTURES + ODD]
    envs = [ENV if i % 2 else ENV2 for i in range(len(bodies))]
    assert differs(bodies, envs) is None
    out = hot.map_values(JSON, bodies, envs)
    refused = [i for i, b in enumerate(bodies) if reference(b, ENV) is None]
    assert refused and all(out.rows[i] is None for i in refused)


@pytest.mark.parametrize("name,body", ODD, ids=[name for name, _ in ODD])
def test_what_the_reference_might_read_another_way_is_declined(name, body):
    assert reference(body, ENV) is not None, "the reference reads it"
    assert declined(body)


def test_ordinary_bodies_take_the_hot_path():
    """What exporters send every day is mapped in Rust, not handed back: the declines are the odd cases."""
    plain = [name for name, body in FIXTURES if reference(body, ENV) is not None and declined(body)]
    assert plain == [], plain
    assert not declined(as_otlp_json(every_kind_of_value()))
    rows = hot.map_values(JSON, [as_otlp_json(request())], [ENV]).rows[0]
    table = rows.table.slice(rows.start, rows.length)
    assert table.column("ScopeAttributes").to_pylist() == [[("sampled", "true")]] * 2
    assert table.column("TraceId").to_pylist() == [TRACE, ""]


def test_other_formats_rows_have_no_scope_attributes():
    text = json.dumps({"logs": [{"level": "info", "message": "m"}] * 2}).encode()
    rows = hot.map_values(Format.LOGTRACE_INGEST, [text], [ENV]).rows[0]
    assert rows.table.column("ScopeAttributes").to_pylist() == [[], []]


def _record(value: bytes, env: Envelope = ENV) -> tuple[bytes, list, int]:
    return value, to_headers(env), 0


def test_declined_requests_are_stored_or_dead_lettered_by_the_reference():
    good, odd, bad = as_otlp_json(request()), ODD[0][1], one_record(traceId="zz")
    out = hot_outcomes([_record(good), _record(odd), _record(bad), _record(request().SerializeToString(),
                                                                           ENV._replace(format="otlp.logs.v1.protobuf"))])
    assert out[0] is not None and len(out[0].rows) == 2 and isinstance(out[0].rows, hot.HotRows)
    assert out[1:3] == [None, None], "declined"
    assert isinstance(out[3].rows, hot.HotRows) and len(out[3].rows) == 2, "OTLP/protobuf on the hot path too"
    stored = rows_of(*_record(odd))
    assert isinstance(stored.rows, LogColumns) and len(stored.rows) == 1 and stored.rejected == []
    refused = rows_of(*_record(bad))
    assert refused.rows == [] and [r.reason for _, r in refused.rejected] == ["invalid_otlp"]
    assert refused.rejected[0][0] == bad


# --- Hypothesis: OTLP/JSON requests ------------------------------------------------------------------------

KEYS = st.one_of(st.sampled_from(["service.name", "host.name", "a", "b", "a.b", "", "a.", "k\u00e9"]), st.text(max_size=6))
LEVEL = st.one_of(st.sampled_from(["INFO", "info", " Warn ", "ERROR", "critical", "Fatal", "notice", "nonsense", "",
                                   "\u0131nfo", "debug\u0085", "TRACE\t"]), st.text(max_size=8))
TIMES = st.one_of(st.integers(0, 2**63 - 1), st.sampled_from([0, 1, 2**63 - 1, 2**63, -2208988800 * 10**9,
                                                              -2208988800 * 10**9 - 1, -1, 1_700_000_000_123_456_789]))


def _rare(draw, n: int) -> bool:
    """True once in about ``n + 1`` draws."""
    return draw(st.integers(0, n)) == n


@st.composite
def int_form(draw, values) -> int | str:
    """An integer as OTLP/JSON writes it: a number, or (64-bit fields) a string; rarely an odd spelling."""
    n = draw(values)
    if _rare(draw, 20):
        return draw(st.sampled_from([f"{n}.0", f"0{n}", f" {n}", float(n), f"{n}e0", True, None]))
    return str(n) if draw(st.booleans()) else n


@st.composite
def scalar(draw) -> dict:
    kind = draw(st.sampled_from(["string", "bool", "int", "double", "bytes", "empty"]))
    if kind == "string":
        return {"stringValue": draw(st.text(max_size=10))}
    if kind == "bool":
        return {"boolValue": draw(st.booleans())}
    if kind == "int":
        return {"intValue": draw(int_form(st.integers(-(2**63), 2**63 - 1)))}
    if kind == "double":
        number = draw(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**63), 2**63),
                                st.sampled_from([-0.0, 1e16, 5e-324, 1e-5, 1.5e-7, 1e22, 0.1])))
        if _rare(draw, 10):
            return {"doubleValue": draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "nan", "1e3", str(number)]))}
        return {"doubleValue": number}
    if kind == "bytes":
        return {"bytesValue": base64.b64encode(draw(st.binary(max_size=8))).decode()}
    return {}


def key_values(values, unique: bool = True):
    entry = st.tuples(KEYS, values, st.integers(0, 12)).map(
        lambda t: {"key": t[0]} if t[2] == 0 else {"value": t[1]} if t[2] == 1 else
        {"key": t[0], "value": None} if t[2] == 2 else {"key": t[0], "value": t[1]})
    return st.lists(entry, max_size=5, unique_by=(lambda kv: kv.get("key", "")) if unique else None)


def any_value(max_leaves: int = 10):
    return st.recursive(scalar(), lambda kids: st.one_of(
        st.lists(kids, max_size=4).map(lambda xs: {"arrayValue": {"values": xs}}),
        key_values(kids).map(lambda kvs: {"kvlistValue": {"values": kvs}}),
    ), max_leaves=max_leaves)


def attributes():
    """Mostly with distinct keys; one set in ten repeats a key (dict semantics: declined)."""
    return st.integers(0, 9).flatmap(lambda n: key_values(any_value(), unique=n > 0))


@st.composite
def hex_id(draw, size: int) -> str:
    if _rare(draw, 20):
        return draw(st.sampled_from(["zz", "ab", " " + "a" * (2 * size), "A" * (2 * size - 1)]))
    text = draw(st.binary(min_size=size, max_size=size)).hex() if draw(st.integers(0, 4)) else ""
    return text.upper() if draw(st.booleans()) else text


@st.composite
def log_record(draw) -> dict:
    fields = {
        "timeUnixNano": lambda: draw(int_form(TIMES)),
        "observedTimeUnixNano": lambda: draw(int_form(TIMES)),
        "severityNumber": lambda: draw(st.one_of(int_form(st.integers(0, 24)), st.sampled_from(
            ["SEVERITY_NUMBER_WARN", "SEVERITY_NUMBER_UNSPECIFIED", "LOUD", 256, -1, "0009"]))),
        "severityText": lambda: draw(LEVEL),
        "body": lambda: draw(any_value()) if not _rare(draw, 10) else None,
        "attributes": lambda: draw(attributes()),
        "droppedAttributesCount": lambda: draw(int_form(st.integers(0, 5))),
        "flags": lambda: draw(int_form(st.integers(-5, 2**32))),
        "traceId": lambda: draw(hex_id(16)),
        "spanId": lambda: draw(hex_id(8)),
        "eventName": lambda: draw(st.text(max_size=5)),
        "futureField": lambda: draw(any_value(3)),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=len(fields)))
    return {name: fields[name]() for name in chosen}


@st.composite
def scope_logs(draw) -> dict:
    out = {"logRecords": draw(st.lists(log_record(), max_size=3))}
    if draw(st.booleans()):
        scope = {"name": draw(st.text(max_size=5)), "version": draw(st.text(max_size=3)), "attributes": draw(attributes())}
        out["scope"] = dict(draw(st.permutations(list(scope.items()))))
    if _rare(draw, 5):
        out["schemaUrl"] = "https://opentelemetry.io/schemas/1.21.0"
    return dict(draw(st.permutations(list(out.items()))))


@st.composite
def otlp_body(draw) -> bytes:
    resource_logs = []
    for _ in range(draw(st.integers(0, 3))):
        item = {"scopeLogs": draw(st.lists(scope_logs(), max_size=3))}
        if draw(st.booleans()):
            item["resource"] = {"attributes": draw(attributes()), "droppedAttributesCount": 0}
        resource_logs.append(dict(draw(st.permutations(list(item.items())))))
    document = {"resourceLogs": resource_logs} if resource_logs or draw(st.booleans()) else {}
    indent = draw(st.sampled_from([None, None, 0, 2]))
    return json.dumps(document, indent=indent, ensure_ascii=draw(st.booleans())).encode()


#: Drawn examples: a quick pass in ``make test``, more in ``make test-fuzz``.
EXAMPLES = int(os.environ.get("SLUICE_HOT_PATH_EXAMPLES", "60"))


def test_drawn_requests_map_as_the_reference_does():
    seen = {"accepted": 0, "mapped": 0}

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(otlp_body(), min_size=1, max_size=3))
    def run(bodies):
        envs = [ENV if i % 2 == 0 else ENV2 for i in range(len(bodies))]
        assert differs(bodies, envs) is None
        out = hot.map_values(JSON, bodies, envs)
        for body, rows in zip(bodies, out.rows):
            if reference(body, ENV) is not None:
                seen["accepted"] += 1
                seen["mapped"] += rows is not None

    run()
    # The drawing favours odd forms; still, most requests the reference accepts must be mapped, or the
    # comparison above would hold vacuously.
    assert seen["accepted"] >= EXAMPLES // 2 and seen["mapped"] >= 0.4 * seen["accepted"], seen


@st.composite
def mutated(draw) -> bytes:
    """A request with a few bytes changed: mostly broken JSON, sometimes another valid spelling."""
    body = bytearray(draw(otlp_body()))
    for _ in range(draw(st.integers(1, 3))):
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        edit = draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = draw(st.sampled_from([b'"', b"{", b"}", b"[", b"]", b",", b":", b"0", b"-", b"e", b".", b"\\", b" ",
                                      b"null", b"\\u00e9", b'"x":1,', b"\xff", b'{"stringValue":"s"}']))
        if edit == "delete":
            del body[at]
        elif edit == "insert":
            body[at:at] = piece
        else:
            body[at:at + 1] = piece
    return bytes(body)


def test_mutated_requests_are_declined_or_mapped_as_the_reference_does():
    mapped = []

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(mutated(), min_size=1, max_size=3))
    def run(bodies):
        assert differs(bodies, [ENV] * len(bodies)) is None
        mapped.extend(r for r in hot.map_values(JSON, bodies, [ENV] * len(bodies)).rows if r is not None)

    run()
    assert len(mapped) >= EXAMPLES // 10, "some mutations leave a valid request, and those are compared"
