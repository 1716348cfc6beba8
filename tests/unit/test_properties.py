"""Property-based tests: parsers and decoders meet any input with a result or their own
documented error, never an unhandled exception; round trips hold where they exist."""

from __future__ import annotations

import gzip
import zlib
from datetime import datetime, timedelta, timezone

import msgspec
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import encoding
from gateway.errors import ApiError
from schemas.dialects.logflux import wire as lf
from schemas.envelope import Envelope
from schemas.dialects import decode
from schemas.formats import Format, InvalidBody
from schemas.storable import Unstorable
from sluice.query import kql
from sluice.query.search import QueryError, compile_filter
from sluice.query.times import instant_ns
from schemas.rows.columnar import IsoTimes, LogColumns, to_table
from schemas.dialects.logflux.rows import body_and_attributes
from schemas.severity import severity_number

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMIT = 1 << 16

printable = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
field = st.sampled_from(["level", "service", "message", "host", "attributes.user", "status", "tenant"])
value = st.one_of(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,11}", fullmatch=True)
                  .filter(lambda w: w.upper() not in ("AND", "OR", "NOT")),
                  # a quoted phrase needs something to search for: at least one letter
                  st.text(alphabet="abc \"\\*:()[]{}-", min_size=1, max_size=8).filter(lambda s: any(c in "abc" for c in s))
                  .map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'))


@st.composite
def filters(draw, depth=0):
    """Well-formed filter strings of the query language."""
    if depth >= 3 or draw(st.booleans()):
        kind = draw(st.sampled_from(["match", "compare", "text", "list", "range"]))
        if kind == "match":
            return f"{draw(field)}:{draw(value)}"
        if kind == "list":
            return f"{draw(field)}:({draw(value)} {draw(st.sampled_from(['OR', 'AND', '']))} {draw(value)})"
        if kind == "range":
            ends = st.one_of(st.integers(-999, 999).map(str), st.just("*"))
            return f"{draw(st.sampled_from(['status', 'attributes.user']))}:{draw(st.sampled_from('[{'))}" \
                   f"{draw(ends)} TO {draw(ends)}{draw(st.sampled_from(']}'))}"
        if kind == "compare":
            return f"{draw(st.sampled_from(['status', 'level']))}{draw(st.sampled_from(['>', '>=', '<', '<=']))}" \
                   f"{draw(st.integers(0, 999))}"
        return draw(value)
    op = draw(st.sampled_from(["AND", "OR", "NOT", "-"]))
    if op in ("NOT", "-"):
        return f"{op if op == '-' else 'NOT '}{draw(filters(depth + 1))}"
    return f"({draw(filters(depth + 1))} {op} {draw(filters(depth + 1))})"


@EXAMPLES
@given(printable)
def test_any_filter_text_parses_or_fails_with_a_kql_error(text):
    try:
        kql.parse(text)
    except kql.KqlError as exc:
        assert str(exc)


@EXAMPLES
@given(filters())
def test_well_formed_filters_compile_to_parameterized_sql(text):
    condition, params = compile_filter(text)
    assert condition
    for name, bound in params.items():
        # Values travel as parameters, never inside the SQL text.
        assert f"{{{name}:" in condition
        if isinstance(bound, str) and len(bound) > 3:
            assert bound not in condition


@EXAMPLES
@given(printable)
def test_any_filter_text_compiles_or_is_a_400(text):
    try:
        compile_filter(text)
    except QueryError as exc:
        assert exc.status == 400 and exc.code == "invalid_filter"


@EXAMPLES
@given(printable)
def test_query_times_are_an_instant_or_a_value_error(text):
    try:
        assert isinstance(instant_ns(text, now_ns=10**18), int)
    except ValueError as exc:
        assert "is not a time" in str(exc) or "out of range" in str(exc) or "year" in str(exc)


@EXAMPLES
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc)))
def test_iso_instants_round_trip(moment):
    ns = instant_ns(moment.isoformat(), now_ns=0)
    assert datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=ns // 1000) == moment


@EXAMPLES
@given(st.integers(0, 10**6), st.sampled_from("smhdw"))
def test_relative_instants_are_before_now(amount, unit):
    now = 2 * 10**18
    assert instant_ns(f"-{amount}{unit}", now_ns=now) <= now


@EXAMPLES
@given(printable)
def test_level_mapping_is_total_and_within_otel_range(level):
    assert 0 <= severity_number(level) <= 24


@EXAMPLES
@given(st.sampled_from([b"gzip", b"deflate", b"zstd", b"identity", b"", b"br", b"gzip, zstd"]), st.binary(max_size=4096))
def test_decompression_of_arbitrary_bytes_is_a_body_or_an_api_error(name, body):
    try:
        out = encoding.decode(name, body, LIMIT)
    except ApiError as err:
        assert err.status in (400, 413, 415)
    else:
        assert len(out) <= max(LIMIT, len(body))


@EXAMPLES
@given(st.binary(max_size=8192))
def test_compression_round_trips(data):
    for name, packed in ((b"gzip", gzip.compress(data)), (b"deflate", zlib.compress(data)),
                         (b"zstd", zstandard.ZstdCompressor().compress(data))):
        assert encoding.decode(name, packed, LIMIT) == data


@EXAMPLES
@given(st.binary(max_size=2048))
def test_request_decoders_meet_any_bytes_with_invalid_body(body):
    for fmt in Format:
        if fmt in (Format.OTLP_PROTOBUF,):
            continue  # protobuf accepts most byte strings; tests/unit/test_otlp.py covers it
        try:
            decode(fmt, body)
        except InvalidBody as exc:
            assert exc.code and str(exc)


entry_fields = st.fixed_dictionaries({
    "node": st.one_of(printable, st.integers()),
    "payload": st.one_of(st.binary(max_size=64).map(lambda b: __import__("base64").b64encode(b).decode()), printable),
    "loglevel": st.one_of(st.integers(-5, 15), printable),
    "timestamp": st.one_of(st.datetimes().map(lambda d: d.isoformat()), printable),
    "encryption_mode": st.integers(-1, 3),
    "iv": st.one_of(st.binary(min_size=0, max_size=16).map(lambda b: __import__("base64").b64encode(b).decode()),
                    printable),
    "salt": st.one_of(st.binary(min_size=0, max_size=40).map(lambda b: __import__("base64").b64encode(b).decode()),
                      printable),
})


@EXAMPLES
@given(entry_fields)
def test_logflux_entries_pass_or_fail_with_a_named_field(raw):
    try:
        decode(Format.LOGFLUX_SINGLE, msgspec.json.encode(raw))
    except InvalidBody as exc:
        assert exc.code.isupper() and exc.message and exc.details.startswith("$.")


@EXAMPLES
@given(st.binary(max_size=512))
def test_any_decrypted_plaintext_becomes_a_body_and_string_attributes(plaintext):
    try:
        body, attributes = body_and_attributes(plaintext)
    except Unstorable as exc:  # an object past the attribute caps: its entry is dead-lettered
        assert exc.code in ("too_many_attributes", "nested_too_deeply")
        return
    assert isinstance(body, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())


@EXAMPLES
@given(st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.text(max_size=20), max_size=5),
       st.text(min_size=1, max_size=40))
def test_json_plaintext_round_trips_its_message_and_fields(fields, message):
    fields.pop("message", None)
    fields.pop("msg", None)
    fields.pop("event", None)
    body, attributes = body_and_attributes(msgspec.json.encode({"message": message, **fields}))
    assert body == message
    assert attributes == fields


iso_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@st.composite
def iso_texts(draw):
    """ISO 8601 timestamps with a timezone, in the spellings clients send (and some only Python reads)."""
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2261, 12, 30), timezones=iso_offsets))
    date = draw(st.sampled_from(["%Y-%m-%d", "%G-W%V-%u", "%Y%m%d"]))
    text = moment.strftime(date + draw(st.sampled_from(["T", " "])) + "%H:%M:%S")
    digits = draw(st.integers(0, 9))
    if digits:
        text += draw(st.sampled_from(".,")) + (f"{moment.microsecond:06d}" + draw(st.text("0123456789", min_size=3, max_size=3)))[:digits]
    offset = moment.utcoffset()
    if offset == timedelta(0) and draw(st.booleans()):
        return text + "Z"
    sign, rest = ("-", -offset) if offset < timedelta(0) else ("+", offset)
    hours, minutes = divmod(int(rest.total_seconds()) // 60, 60)
    return text + sign + draw(st.sampled_from(["{:02d}:{:02d}", "{:02d}{:02d}"])).format(hours, minutes)


@given(st.lists(iso_texts(), min_size=1, max_size=5))
@EXAMPLES
def test_logflux_timestamps_parsed_in_arrow_equal_python_s(texts):
    """A batch's timestamps parsed at once (workers/columnar.IsoTimes) are those that
    ``datetime.fromisoformat`` reads one by one, whichever of them Arrow can read."""
    texts = [t for t in texts if _python_reads(t)]
    env = Envelope("x", "acme", "r", 5)
    as_text = to_table([LogColumns(env, "logflux", IsoTimes(texts), [""] * len(texts), [""] * len(texts),
                                   [""] * len(texts), [{}] * len(texts))])
    one_by_one = [datetime.fromisoformat(t) for t in texts]
    assert as_text.column("Timestamp").to_pylist() == one_by_one


def _python_reads(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


# Accepted means storable: whatever a decoder accepts, the worker turns into the tables' Arrow columns.
bound_ints = st.one_of(st.sampled_from([0, -1, 24, 25, 255, 256, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63)]),
                       st.integers())
wide_times = st.one_of(st.datetimes(timezones=st.one_of(st.none(), iso_offsets)).map(lambda d: d.isoformat()),
                       st.sampled_from(["1900-01-01T00:00:00Z", "1899-12-31T23:59:59.999999Z",
                                        "2262-04-11T23:47:16.854775Z", "2262-04-11T23:47:16.854776Z"]))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), bound_ints, printable,
                                     st.floats(allow_nan=False, allow_infinity=False)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(printable, inner,
                                                                                                  max_size=3)),
                           max_leaves=20)


@EXAMPLES
@given(st.lists(st.fixed_dictionaries({"body": printable, "timestamp": wide_times, "trace_flags": bound_ints,
                                       "severity_number": st.one_of(st.none(), bound_ints),
                                       "attributes": st.dictionaries(printable, json_values, max_size=5)}),
                min_size=1, max_size=4))
def test_native_records_that_decode_become_insertable_columns(records):
    from workers.records import entries_rows as normalize

    body = msgspec.json.encode({"records": records})
    try:
        entries = decode(Format.NATIVE_BATCH, body)
    except InvalidBody:
        return
    table = normalize(Format.NATIVE_BATCH, entries, Envelope("sluice.batch.v1", "acme", "r", 5)).table
    assert table.num_rows == len(records)


@EXAMPLES
@given(st.lists(st.fixed_dictionaries({
    "timeUnixNano": bound_ints.map(str), "observedTimeUnixNano": bound_ints.map(str),
    "severityNumber": bound_ints, "flags": bound_ints,
    "attributes": st.lists(st.fixed_dictionaries({"key": printable, "value": st.fixed_dictionaries(
        {"intValue": bound_ints.map(str)})}), max_size=3),
    "body": st.fixed_dictionaries({"stringValue": printable})}), min_size=1, max_size=4))
def test_otlp_records_that_decode_become_insertable_rows(records):
    from schemas.dialects.otlp.columns import REQUEST
    from schemas.rows.nested import nested_rows

    body = msgspec.json.encode({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]})
    try:
        (request,) = decode(Format.OTLP_JSON, body)
    except InvalidBody:
        return
    rows = nested_rows(REQUEST, [request], Envelope("otlp.logs.v1.json", "acme", "r", 5))
    assert rows.table.num_rows == len(records)
