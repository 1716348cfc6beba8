"""The hot path (workers/hot.py, hotpath/) against the reference mapping (schemas.rows.normalize.mapped): for every
body of every dialect that declares its columns, the hot path either declines the record or gives exactly the
rows decode + reference give; what the reference refuses, the hot path declines; ordinary bodies are mapped,
not declined. Bodies are edge-case fixtures and Hypothesis-drawn JSON text (varied spelling, escapes,
repeated members, numbers msgspec prints its own way, timestamps at and beyond every bound)."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from schemas.dialects import decode
from schemas.envelope import Envelope
from schemas.formats import Format, InvalidBody
from sluice import hotpath
from workers import hot
from schemas.rows.columnar import to_table
from schemas.rows.normalize import mapped

ENV = Envelope("x", "acme", "req-1", 1_795_429_321_123_456_789, "staging")
ENV2 = Envelope("x", "beta", "req-2", -5, "production")


def reference(fmt: Format, body: bytes, env: Envelope) -> pa.Table | None:
    """decode + the reference mapping, as one table; None when decode refuses the body."""
    try:
        entries = decode(fmt, body)
    except InvalidBody:
        return None
    return to_table([mapped(hot.COLUMNS[fmt], entries, env)])


def differs(fmt: Format, bodies: list[bytes], envs: list[Envelope]) -> str | None:
    """Why the hot path disagrees with the reference on ``bodies`` mapped in one call, or None."""
    out = hot.map_values(fmt, bodies, envs)
    for index, (body, env, rows) in enumerate(zip(bodies, envs, out.rows)):
        want = reference(fmt, body, env)
        checked = hotpath.entries(fmt, body)
        if rows is None:
            if checked is not None:
                return f"body {index}: declined by the worker's call, counted by the gateway's"
            continue  # declined: the reference judges it, so nothing can differ
        if want is None:
            return f"body {index}: mapped by the hot path, refused by the reference"
        if checked != want.num_rows or len(rows) != want.num_rows:
            return f"body {index}: {checked} entries counted, {len(rows)} mapped, {want.num_rows} in the reference"
        got = rows.table.slice(rows.start, rows.length)
        if not got.equals(want):
            for name in want.column_names:
                if not got.column(name).equals(want.column(name)):
                    return (f"body {index}: column {name}: hot {got.column(name).to_pylist()[:3]} "
                            f"reference {want.column(name).to_pylist()[:3]}")
            return f"body {index}: tables differ"
    return None


def _body(*entries, raw: str | None = None) -> bytes:
    return raw.encode() if raw is not None else json.dumps({"logs": list(entries)}).encode()


def _e(ts="2026-01-02T03:04:05Z", **kw) -> dict:
    return {"timestamp": ts, "level": "INFO", "message": "m", **kw}


FIXTURES: list[tuple[str, bytes]] = [
    ("plain", _body(_e())),
    ("empty logs", _body()),
    ("all fields", _body(_e(service="s", host="h", trace_id="t", span_id="p", attributes={"a": "b"}))),
    ("attributes null", _body(_e(attributes=None))),
    ("attributes empty", _body(_e(attributes={}))),
    ("host empty", _body(_e(host=""))),
    ("nested", _body(_e(attributes={"a": {"b": {"c": 1}, "d": {}}, "e": []}))),
    ("floats", _body(_e(attributes={"f": [1.0, 1e16, 1e15, -0.0, 5e-324, 1e-5, 1.5e-7, 0.1, 1.7976931348623157e308,
                                         123456789.123, 1e22, 2.5e-5, 99999999999999990.0]}))),
    ("float scalars", _body(_e(attributes={"a": 1.0, "b": 1e16, "c": -0.0, "d": 5e-324, "e": 0.00001}))),
    # two shortest spellings equally near: msgspec (Ryu) takes the even last digit
    ("float ties", _body(_e(attributes={"f": [562949953421312.25, 281474976710656.125, 140737488355328.0625,
                                              1125899906842624.125, 4503599627370496.5, 0.5e-323]}))),
    ("ints", _body(_e(attributes={"a": 2**70, "b": -(2**64), "c": 0, "d": [2**65, -1]}))),
    ("int -0", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":-0,"b":[-0]}}]}')),
    ("exp forms", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":1E2,"b":1e+2,"c":1.50,"d":[0e0,-1E-400]}}]}')),
    ("bools null", _body(_e(attributes={"t": True, "f": False, "n": None, "arr": [True, None, {"k": False}]}))),
    ("escapes", _body(_e(message="a\"b\\c\n\t\x00\x1f\x7f é 😀 \u2028", attributes={"k\n": ["\x00\"\\/é\x7f\x1f\b\f"]}))),
    ("escaped keys", _body(raw='{"logs":[{"\\u0074imestamp":"2026-01-02T03:04:05Z","le\\u0076el":"x","message":"\\ud83d\\ude00 \\/"}]}')),
    ("dup attr keys", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":1,"b":2,"a":3}}]}')),
    ("dup nested", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":{"x":1},"b":0,"a":{"y":2}}}]}')),
    ("dotted collide", _body(_e(attributes={"a.b": 1, "c": 2, "a": {"b": 3, "": 4}, "a.": 5}))),
    ("dup in array obj", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":[{"k":1,"j":2,"k":3}]}}]}')),
    ("dup fields", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","level":"ERROR","host":"h","host":"","attributes":{"a":1},"attributes":{"b":2}}]}')),
    ("dup logs", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m"}],"other":{"x":[1,2]},"logs":[]}')),
    ("unknown fields", _body(raw='{"extra":[1,{"a":"\\u00e9"}],"logs":[{"timestamp":"2026-01-02T03:04:05Z","x":null,"level":"x","message":"m","y":1e999}]}')),
    ("whitespace", _body(raw=' \r\n\t{ "logs" : [ { "timestamp" : "2026-01-02T03:04:05Z" , "level" : "x" , "message" : "m" , "attributes" : { "a" : [ 1 , { } ] , "b" : { } } } ] } \n')),
    ("levels", _body(*[_e(level=lv) for lv in ["info", " Warning ", "\u2003ERROR\x1c", "crit", "emerg", "panic", "notice", "nope",
                                                "", "ınfo", "\u212aill", "INFORMATIONAL", "err\u0085", "\x1ffatal\x0b"]])),
    ("timestamps", _body(*[_e(ts) for ts in [
        "2026-01-02T03:04:05", "2026-01-02t03:04:05z", "2026-01-02 03:04:05+01:30", "2026-01-02T03:04:05-0130",
        "2026-01-02T03:04:05.1", "2026-01-02T03:04:05.123456789Z", "2026-01-02T03:04:05.9999995Z",
        "2026-12-31T23:59:59.99999951+00:00", "2024-02-29T00:00:00Z", "1900-01-01T00:00:00Z",
        "1900-01-01T01:00:00+01:00", "2262-04-11T23:47:16.854775Z", "2262-04-11T23:47:16.8547754Z",
        "2026-01-02T03:04:05-00:00", "2026-01-02T03:04:05+23:59"]])),
    # rejections: both chains must raise
    ("ts out of range low", _body(_e("1899-12-31T23:59:59Z"))),
    ("ts out of range offset", _body(_e("1900-01-01T00:00:00+00:01"))),
    ("ts out of range high", _body(_e("2262-04-11T23:47:16.8547755Z"))),
    ("ts feb 29", _body(_e("2025-02-29T00:00:00Z"))),
    ("ts bad offset", _body(_e("2026-01-02T03:04:05+24:00"))),
    ("ts second 60", _body(_e("2026-01-02T03:04:60Z"))),
    ("ts dot", _body(_e("2026-01-02T03:04:05.Z"))),
    ("ts short", _body(_e("2026-01-02T03:04"))),
    ("ts nul", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05\\u0000","level":"x","message":"m"}]}')),
    ("ts trailing", _body(_e("2026-01-02T03:04:05Zx"))),
    ("ts number", _body(_e(1767323045))),
    ("missing level", _body({"timestamp": "2026-01-02T03:04:05Z", "message": "m"})),
    ("level null", _body(_e(level=None))),
    ("host null", _body(_e(host=None))),
    ("attributes list", _body(_e(attributes=[1]))),
    ("logs null", _body(raw='{"logs":null}')),
    ("no logs", _body(raw='{"x":[]}')),
    ("trailing comma", _body(raw='{"logs":[],}')),
    ("trailing chars", _body(raw='{"logs":[]} x')),
    ("lone surrogate", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"\\ud800","message":"m"}]}')),
    # In a member no column takes, skipped: msgspec checks the pairs there too.
    ("lone surrogate skipped", _body(raw='{"x":"\\ud800x","logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m"}]}')),
    ("low surrogate skipped", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","x":["\\udc00"]}]}')),
    ("mismatched pair skipped", _body(raw='{"logs":[{"x":{"y":"\\ud800\\u0041"},"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m"}]}')),
    ("pair skipped", _body(raw='{"x":"\\ud83d\\ude00","logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m"}]}')),
    ("bad utf8", b'{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"\xff","message":"m"}]}'),
    ("control char", b'{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"\x01","message":"m"}]}'),
    ("float overflow", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":1e999}}]}')),
    ("int 4300 digits", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":' + "9" * 4300 + '}}]}')),
    ("int 4301 digits", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":' + "9" * 4301 + '}}]}')),
    ("neg int 4300 digits", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":-' + "9" * 4300 + '}}]}')),
    ("leading zero", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":01}}]}')),
    ("1000 attributes", _body(_e(attributes={f"k{i}": i for i in range(1000)}))),
    ("1001 attributes", _body(_e(attributes={f"k{i}": i for i in range(1001)}))),
    ("1001 nested", _body(_e(attributes={"a": {f"k{i}": i for i in range(1000)}, "b": 1}))),
]


def _nest(n: int, leaf=1):
    value = leaf
    for _ in range(n):
        value = {"k": value}
    return value


FIXTURES += [
    ("depth 32 objects", _body(_e(attributes=_nest(32)))),
    ("depth 33 objects", _body(_e(attributes=_nest(33)))),
    ("depth 33 empty leaf", _body(_e(attributes=_nest(32, {})))),
    ("depth 33 array", _body(_e(attributes=_nest(32, [])))),
    ("depth 32 array", _body(_e(attributes=_nest(31, [])))),
    ("array depth", _body(_e(attributes={"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}))),
    ("repeated timestamp, first out of range", _body(raw='{"logs":[{"timestamp":"2262-04-21T00:00:00Z","level":"x","message":"m","timestamp":"2026-01-02T03:04:05Z"}]}')),
    ("repeated timestamp, last out of range", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","timestamp":"1800-01-01T00:00:00Z"}]}')),
    ("repeated timestamp, first malformed", _body(raw='{"logs":[{"timestamp":"2026-13-02T03:04:05Z","level":"x","message":"m","timestamp":"2026-01-02T03:04:05Z"}]}')),
    ("repeated attributes, first too deep", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":' + json.dumps(_nest(40)) + ',"attributes":{"a":1}}]}')),
    ("repeated key drops a deep branch", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":' + json.dumps(_nest(40)) + ',"a":1}}]}')),
    ("repeated key drops a deep array", _body(raw='{"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"x","message":"m","attributes":{"a":' + json.dumps(_nest(31, [[[]]])) + ',"a":1}}]}')),
    ("unstorable entry in a replaced logs", _body(raw='{"logs":[{"timestamp":"2262-06-02T00:00:00Z","level":"x","message":"m","service":"s"}],"logs":[{"timestamp":"2026-01-02T03:04:05Z","level":"y","message":"n"}]}')),
    ("unstorable entry, then more entries", _body(raw='{"logs":[{"timestamp":"2262-06-02T00:00:00Z","level":"x","message":"m","service":"s"},{"timestamp":"2026-01-02T03:04:05Z","level":"y","message":"n"}]}')),
    ("array depth ok", _body(_e(attributes={"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}))),
]


# --- Hypothesis: JSON text drawn with varied spelling ----------------------------------------------------

WS = st.text(" \t\n\r", max_size=2)
KEYS = st.one_of(st.sampled_from(["a", "b", "a.b", "", "a.", ".", "user", "id", "k\u00e9", "x.y.z"]), st.text(max_size=6))
FLOATS = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                   st.sampled_from([-0.0, 0.0, 1e16, 1e15, 5e-324, 1e-5, 1e-4, 1.5e-7, 1e22, 1e21, 0.1, 2.5, 1e308]))
INTS = st.one_of(st.integers(-1000, 1000), st.integers(-(2**70), 2**70), st.integers(-(10**60), 10**60))


@st.composite
def jstring(draw, text=None) -> str:
    s = draw(st.text(max_size=12)) if text is None else text
    mode = draw(st.sampled_from(["ascii", "raw", "u", "mixed"]))
    if mode == "ascii":
        return json.dumps(s, ensure_ascii=True)
    if mode == "raw":
        return json.dumps(s, ensure_ascii=False)
    out = []
    for ch in s:
        if mode == "u" or draw(st.booleans()):
            code = ord(ch)
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04X}")
            elif ch == "/" and draw(st.booleans()):
                out.append("\\/")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(json.dumps(ch, ensure_ascii=False)[1:-1])
    return '"' + "".join(out) + '"'


@st.composite
def jnumber(draw) -> str:
    kind = draw(st.sampled_from(["int", "float", "float", "odd"]))
    if kind == "int":
        return str(draw(INTS))
    f = draw(FLOATS)
    if kind == "float":
        return repr(f)
    form = draw(st.sampled_from(["{:e}", "{:.17g}", "{:E}", "{:.3e}", "{:f}"]))
    text = form.format(f)
    return draw(st.sampled_from([text, "-0", "1E2", "1e+2", "1.50", "0e0", "-0.0e-0", "1e-400", "12345678901234567890123"]))


def jvalue(max_leaves=12):
    leaf = st.one_of(jstring(), jnumber(), st.sampled_from(["true", "false", "null"]))
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.lists(kids, max_size=4).map(lambda xs: ("arr", xs)),
            st.lists(st.tuples(KEYS, kids), max_size=5).map(lambda kv: ("obj", kv)),
        ),
        max_leaves=max_leaves,
    )


@st.composite
def render(draw, node) -> str:
    w = lambda: draw(WS)  # noqa: E731
    if isinstance(node, str):
        return node
    kind, items = node
    if kind == "arr":
        return "[" + w() + ("," + w()).join([draw(render(x)) + w() for x in items]) + "]"
    parts = [draw(jstring(k)) + w() + ":" + w() + draw(render(v)) + w() for k, v in items]
    return "{" + w() + ("," + w()).join(parts) + "}"


def _rare(draw, n: int) -> bool:
    """True once in about ``n + 1`` draws (Hypothesis favours the least integer, so that one means "usual")."""
    return draw(st.integers(0, n)) == n


def _mostly(draw, usual, odd):
    """``usual`` nine times in ten, else one of ``odd`` (values a parser must reject or that sit on a bound)."""
    return draw(usual) if not _rare(draw, 29) else draw(st.sampled_from(odd))


@st.composite
def timestamp(draw) -> str:
    if _rare(draw, 40):
        return draw(st.text(max_size=30))
    year = _mostly(draw, st.integers(1900, 2262), [1, 1899, 1900, 2262, 2263, 9999, 2024, 2000, 2100])
    month = _mostly(draw, st.integers(1, 12), [0, 13, 2])
    day = _mostly(draw, st.integers(1, 28), [0, 29, 30, 31, 32])
    hour = _mostly(draw, st.integers(0, 23), [0, 23, 24])
    minute = _mostly(draw, st.integers(0, 59), [59, 60])
    second = _mostly(draw, st.integers(0, 59), [59, 60])
    sep = draw(st.sampled_from("TTt "))
    text = f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}"
    if draw(st.booleans()):
        text += "." + _mostly(draw, st.text("0123456789", min_size=1, max_size=9),
                              ["9999995", "9999994", "99999950", "0000005", "", "999999999999"])
    tz = draw(st.sampled_from(["", "Z", "z", "+", "-", "+00:00", "-00:00", "Z", "+", "-"]))
    if tz in ("+", "-"):
        oh = _mostly(draw, st.integers(0, 23), [24, 99])
        om = _mostly(draw, st.integers(0, 59), [60])
        tz += f"{oh:02d}" + draw(st.sampled_from([":", ""])) + f"{om:02d}"
    elif _rare(draw, 30):
        tz += draw(st.sampled_from(["x", " ", "+1", "+01:3"]))
    return text + tz


LEVEL = st.one_of(st.sampled_from(["INFO", "info", " Warn ", "ERROR", "\u2003error\x1c", "critical", "Fatal", "notice",
                                   "nonsense", "", "\u0131nfo", "\u212a", "debug\u0085", "TRACE\t"]), st.text(max_size=8))


def _text(draw, role: str) -> str:
    if role == "level":
        return draw(LEVEL)
    return draw(st.one_of(st.just(""), st.text(max_size=10)))


@st.composite
def entry(draw, fmt: Format) -> str:
    """One entry of ``fmt``'s dialect as JSON text, drawn from its declared members."""
    fields = []
    for m in hot.COLUMNS[fmt].members:
        if _rare(draw, 40 if hot.COLUMNS[fmt].required(m.name) else 2):
            continue  # missing
        if m.role in ("severity_number", "trace_flags"):
            value = draw(st.one_of(st.integers(0, 30).map(str), st.sampled_from(["-0", "1.0", "1e1", "255", "256",
                                                                                  "-1", "null", "true", '"3"'])))
        elif m.role in ("attributes", "resource_attributes"):
            attrs = draw(st.lists(st.tuples(KEYS, jvalue()), max_size=6))
            value = draw(render(("obj", attrs))) if not _rare(draw, 30) else draw(
                st.sampled_from(["null", "[]", "1", '{"exception.stacktrace":"x"}', '{"exception":{"stacktrace":1}}']))
        elif m.role == "time":
            value = draw(jstring(draw(timestamp()))) if not _rare(draw, 30) else draw(st.sampled_from(["null", "1"]))
        elif choices := hot.COLUMNS[fmt].choices(m.name):
            value = draw(jstring(_mostly(draw, st.sampled_from(choices), ["info", "INFO", "Verbose", ""])))
        else:
            value = draw(jstring(_text(draw, m.role))) if not _rare(draw, 60) else draw(st.sampled_from(["null", "7"]))
        fields.append((m.name, value))
    if _rare(draw, 4):  # an unknown member, or a known one repeated (the last one wins)
        name = draw(st.sampled_from(["extra", "x"] + [m.name for m in hot.COLUMNS[fmt].members]))
        fields.append((name, draw(render(draw(jvalue(4)))) if name in ("extra", "x") else fields[-1][1] if fields else "1"))
    fields = draw(st.permutations(fields))
    w = lambda: draw(WS)  # noqa: E731
    return "{" + w() + ("," + w()).join(f"{draw(jstring(k))}{w()}:{w()}{v}{w()}" for k, v in fields) + "}"


@st.composite
def body(draw, fmt: Format) -> bytes:
    w = lambda: draw(WS)  # noqa: E731
    key = hot.COLUMNS[fmt].entries
    if key is None:
        return (w() + draw(entry(fmt)) + w()).encode()
    entries = draw(st.lists(entry(fmt), max_size=4))
    text = "{" + w() + draw(jstring(key)) + w() + ":" + w() + "[" + w() + ("," + w()).join(e + w() for e in entries) + "]"
    if _rare(draw, 8):
        text += "," + w() + draw(jstring("other")) + ":" + draw(render(draw(jvalue(3))))
    if _rare(draw, 8):  # a repeated entries member: the last one wins
        text += "," + draw(jstring(key)) + ":[" + ",".join(draw(st.lists(entry(fmt), max_size=2))) + "]"
    return (text + "}" + w()).encode()


FORMATS = sorted(hot.COLUMNS, key=lambda f: f.value)
#: Drawn examples per format: a quick pass in ``make test``, more in ``make test-fuzz``.
EXAMPLES = int(os.environ.get("SLUICE_HOT_PATH_EXAMPLES", "60"))


@pytest.mark.parametrize("name,text", FIXTURES, ids=[name for name, _ in FIXTURES])
def test_logtrace_fixtures_map_as_the_reference_does(name, text):
    assert differs(Format.LOGTRACE_INGEST, [text], [ENV]) is None


def test_the_fixtures_in_one_call_keep_each_records_rows_and_envelope():
    bodies = [text for _, text in FIXTURES]
    envs = [ENV if i % 2 else ENV2 for i in range(len(bodies))]
    assert differs(Format.LOGTRACE_INGEST, bodies, envs) is None
    out = hot.map_values(Format.LOGTRACE_INGEST, bodies, envs)
    refused = [i for i, b in enumerate(bodies) if reference(Format.LOGTRACE_INGEST, b, ENV) is None]
    assert refused and all(out.rows[i] is None for i in refused)
    assert {i for i, _ in out.declined} == {i for i, r in enumerate(out.rows) if r is None}


def test_ordinary_bodies_take_the_hot_path():
    """What clients send every day is mapped in Rust, not handed back: the declines are the odd cases."""
    plain = {"timestamp": "2026-01-02T03:04:05.123Z", "level": "Error", "message": "disk full",
             "attributes": {"user": {"id": 7, "roles": ["a"]}, "ms": 12.5, "ok": True, "none": None}}
    bodies = {
        Format.LOGTRACE_INGEST: {"logs": [{**plain, "service": "api", "host": "web-1", "trace_id": "ab"}] * 3},
        Format.ASTRALOG_DRAIN: {"logs": [{"project_id": "p", "timestamp": "2026-01-02 03:04:05", "level": "info",
                                          "service": "api", "message": "m", "metadata": {"a": 1.0}}] * 3},
        Format.LOGINFORMANT_BATCH: {"logs": [{"level": "Warning", "message": "m", "source": "svc",
                                              "exception": "Traceback", "properties": {"p": [1, 2]}}] * 3},
        Format.LOGINFORMANT_SINGLE: {"level": "Information", "message": "m", "properties": {"x": "y"}},
    }
    native = {"body": "m", "timestamp": "2026-01-02T03:04:05Z", "severity_text": "WARN", "severity_number": 13,
              "service_name": "api", "trace_flags": 1, "resource_attributes": {"host": {"name": "h"}},
              "scope_name": "lib", "scope_version": "1.0", "attributes": {"a": [1.5]}}
    bodies[Format.NATIVE_RECORD] = native
    bodies[Format.NATIVE_BATCH] = {"records": [native, {"body": "only a body"}]}
    assert set(bodies) == set(hot.COLUMNS), "every hot format has an ordinary body here"
    for fmt, value in bodies.items():
        text = json.dumps(value).encode()
        out = hot.map_values(fmt, [text], [ENV])
        assert out.declined == [], (fmt, out.declined)
        assert differs(fmt, [text], [ENV]) is None


WIDE = {f"k{i % 45}": i for i in range(60)}  # 45 keys, 15 of them repeated: past the fast path's pairwise scan


@pytest.mark.parametrize("attributes", [
    WIDE, {"outer": WIDE, "n": 1}, {"a": [WIDE, {"b": WIDE}]}, {f"k{i}": {"x": i} for i in range(40)},
], ids=["wide", "nested wide", "wide in arrays", "wide of objects"])
def test_wide_objects_with_repeated_keys_map_as_the_reference_does(attributes):
    pairs = ",".join(f'"{k}":{v}' for k, v in [(f"k{i % 45}", i) for i in range(60)])
    raw = ('{"logs":[{"level":"info","message":"m","attributes":' + json.dumps(attributes) + '},'
           '{"level":"info","message":"m","attributes":{' + pairs + '}}]}').encode()
    assert differs(Format.LOGTRACE_INGEST, [raw], [ENV]) is None
    assert hot.map_values(Format.LOGTRACE_INGEST, [raw], [ENV]).rows[0] is not None


def test_an_object_of_600000_keys_is_declined_in_linear_time():
    """Looking repeated keys up by scanning would take hours here; the hot path hands the body back."""
    attributes = ",".join(f'"k{i}":1' for i in range(600_000))
    raw = ('{"logs":[{"level":"info","message":"m","attributes":{' + attributes + '}}]}').encode()
    out = hot.map_values(Format.LOGTRACE_INGEST, [raw, raw.replace(b"k1", b"k0", 1)], [ENV, ENV])
    assert out.rows == [None, None] and "attributes" in out.declined[0][1].lower()
    assert hotpath.entries(Format.LOGTRACE_INGEST, raw) is None


def test_contiguous_records_join_into_one_slice():
    text = json.dumps({"logs": [{"level": "info", "message": "m"}] * 2}).encode()
    out = hot.map_values(Format.LOGTRACE_INGEST, [text, b"{", text, text], [ENV] * 4)
    assert [len(r) if r is not None else None for r in out.rows] == [2, None, 2, 2]
    joined = hot.joined([r for r in out.rows if r is not None])
    assert [t.num_rows for t in joined] == [6]
    assert [t.num_rows for t in hot.joined([out.rows[0], out.rows[3]])] == [2, 2]


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.value for f in FORMATS])
def test_drawn_bodies_map_as_the_reference_does(fmt):
    seen = {"accepted": 0, "mapped": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(body(fmt), min_size=1, max_size=3))
    def run(bodies):
        envs = [ENV if i % 2 == 0 else ENV2 for i in range(len(bodies))]
        assert differs(fmt, bodies, envs) is None
        out = hot.map_values(fmt, bodies, envs)
        for text, rows in zip(bodies, out.rows):
            if reference(fmt, text, ENV) is not None:
                seen["accepted"] += 1
                seen["mapped"] += rows is not None

    run()
    # The drawing favours odd spellings; still, most bodies the reference accepts must not be declined,
    # or the comparison above would hold vacuously.
    assert seen["accepted"] >= EXAMPLES // 4 and seen["mapped"] >= 0.5 * seen["accepted"], seen
