"""OTLP/protobuf on the hot path (hotpath/src/pb.rs and nested_pb.rs: the binary request written as the JSON
the nested walk reads) against the reference (protobuf's decoding + schemas.rows.nested.nested_rows): every
request is declined or mapped to exactly the reference's rows, and what protobuf might read another way than
one JSON member per field is declined. Bodies: the JSON suite's fixtures and drawn requests re-encoded as
protobuf, requests written field by field on the wire, and mutations of both."""

from __future__ import annotations

import json
import struct
from dataclasses import replace

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings, strategies as st

from bench.tools import otlp_protobuf
from schemas.dialects import decode
from schemas.dialects.otlp.wire import record_count
from schemas.formats import Format, InvalidBody
from schemas.nested import Member
from sluice import hotpath
from tests.unit.test_hot_path_otlp import ENV, ENV2, EXAMPLES, FIXTURES, declined, differs, otlp_body, reference
from tests.unit.test_otlp import every_kind_of_value, request
from workers import hot

PB = Format.OTLP_PROTOBUF


def as_protobuf(body: bytes) -> bytes | None:
    """An OTLP/JSON body as the same request in protobuf, or None where protobuf's JSON parser refuses it."""
    try:
        return otlp_protobuf(json.loads(body), ignore_unknown_fields=True)
    except (ValueError, json_format.ParseError, TypeError, AttributeError):
        return None


# --- the wire, field by field --------------------------------------------------------------------------------

def varint(x: int) -> bytes:
    x &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append(x & 0x7F | (0x80 if x > 0x7F else 0))
        x >>= 7
        if not x:
            return bytes(out)


def vi(n: int, x: int) -> bytes:
    return varint(n << 3) + varint(x)


def ld(n: int, payload: bytes) -> bytes:
    return varint(n << 3 | 2) + varint(len(payload)) + payload


def f64(n: int, x: int) -> bytes:
    return varint(n << 3 | 1) + struct.pack("<Q", x)


def f32(n: int, x: int) -> bytes:
    return varint(n << 3 | 5) + struct.pack("<I", x)


def records(*logs: bytes) -> bytes:
    """A request of one resource and scope holding these LogRecords."""
    return ld(1, ld(2, b"".join(ld(2, r) for r in logs)))


def kv(key: bytes, value: bytes | None = None) -> bytes:
    return ld(1, key) + (ld(2, value) if value is not None else b"")


def dbl(x: float) -> bytes:
    return f64(4, struct.unpack("<Q", struct.pack("<d", x))[0])


TIME = f64(1, 1_700_000_000_123_456_789)
MAPPED = [
    ("scope logs around a schema url", ld(1, ld(2, ld(2, ld(3, b"first"))) + ld(3, b"https://s")
                                         + ld(2, ld(1, ld(1, b"scope-b")) + ld(2, ld(3, b"second") + TIME)))),
    ("unknown fields skipped", records(TIME + vi(99, 5) + ld(100, b"\xff\xfe") + f32(101, 1) + f64(102, 2))),
    ("every scalar", records(TIME + f64(11, 5) + vi(2, 17) + ld(3, b"ERROR") + ld(5, ld(1, b"body \xc3\xa9\n\""))
                             + f32(8, 0xFFFFFFFF) + ld(9, bytes(range(16))) + ld(10, bytes(8)) + ld(12, b"event")
                             + vi(7, 3))),
    ("attribute values", records(ld(6, kv(b"i", vi(3, -5))) + ld(6, kv(b"b", vi(2, 7))) + ld(6, kv(b"f", vi(2, 0)))
                                 + ld(6, kv(b"d", dbl(0.1))) + ld(6, kv(b"z", dbl(-0.0))) + ld(6, kv(b"t", dbl(5e-324)))
                                 + ld(6, kv(b"by", ld(7, b"\x00\xff\x10"))) + ld(6, kv(b"e", b"")) + ld(6, kv(b"n"))
                                 + ld(6, ld(2, ld(1, b"no key")))
                                 + ld(6, kv(b"a", ld(5, ld(1, ld(1, b"x")) + ld(1, vi(3, 2)) + ld(1, b""))))
                                 + ld(6, kv(b"k", ld(6, ld(1, kv(b"x", ld(1, b"y"))) + ld(1, kv(b"y"))))))),
    ("empty body and no times", records(ld(5, b"") + ld(3, b"warn"))),
    ("empty ids", records(ld(9, b"") + ld(10, b""))),
    ("resource with service name", ld(1, ld(1, ld(1, kv(b"service.name", ld(1, b"svc"))) + vi(2, 4))
                                      + ld(2, ld(1, ld(1, b"n") + ld(2, b"v") + vi(4, 1)) + ld(2, TIME)))),
    ("empty request", b""),
    ("a tag and a length in 5 bytes", records(bytes([0x9A, 0x80, 0x80, 0x80, 0x00, 0x81, 0x80, 0x80, 0x80, 0x00]) + b"x")),
]
DECLINED = [
    ("a string twice", records(ld(3, b"a") + ld(3, b"b"))),
    ("a body twice", records(ld(5, ld(1, b"a")) + ld(5, vi(3, 1)))),
    ("a resource twice (protobuf merges)", ld(1, ld(1, b"") + ld(1, b"") + ld(2, ld(2, b"")))),
    ("two values of the oneof", records(ld(5, ld(1, b"s") + vi(3, 3)))),
    ("a value's newer field", records(ld(5, vi(8, 1)))),
    ("a key's index", records(ld(6, kv(b"k", ld(1, b"v")) + vi(3, 1)))),
    ("a resource's entity refs", ld(1, ld(1, ld(3, b"")) + ld(2, ld(2, b"")))),
    ("a level that is not UTF-8", records(ld(3, b"\xff"))),
    ("an event name that is not UTF-8", records(ld(12, b"\xc3"))),
    ("an attribute key that is not UTF-8", records(ld(6, kv(b"\xed\xa0\x80", ld(1, b"v"))))),
    ("a trace id of 5 bytes", records(ld(9, b"12345"))),
    ("a time on the varint wire", records(vi(1, 5))),
    ("a group", records(varint(99 << 3 | 3) + varint(99 << 3 | 4))),
    ("cut short", records(TIME)[:-3]),
    ("a double that is not a number", records(ld(5, dbl(float("nan"))))),
    ("a time past Int64", records(f64(1, 1 << 63))),
    ("severity beyond UInt8", records(vi(2, 256))),
    ("a negative severity", records(vi(2, -1))),
    ("not protobuf", b"\xff\xff\xff"),
    # Tags and lengths protobuf's decoding refuses: more than 5 bytes, or past 32 bits.
    ("a tag in 6 bytes", records(bytes([0x9A, 0x80, 0x80, 0x80, 0x80, 0x00]) + b"\x01x")),
    ("a tag past 32 bits", records(bytes([0x9A, 0x80, 0x80, 0x80, 0x10]) + b"\x01x")),
    ("a length in 6 bytes", records(bytes([0x1A, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00]) + b"x")),
]
JSON_FIXTURES = [(name, pb) for name, body in FIXTURES if (pb := as_protobuf(body)) is not None]
EXPORTERS = [("exporter request", request().SerializeToString()),
             ("exporter every kind", every_kind_of_value().SerializeToString())]


def test_the_json_fixtures_reencode_enough_to_matter():
    assert len(JSON_FIXTURES) >= 40, [name for name, _ in JSON_FIXTURES]


@pytest.mark.parametrize("name,body", EXPORTERS + JSON_FIXTURES + MAPPED + DECLINED,
                         ids=[name for name, _ in EXPORTERS + JSON_FIXTURES + MAPPED + DECLINED])
def test_protobuf_requests_map_as_the_reference_does(name, body):
    assert differs([body], [ENV], PB) is None


@pytest.mark.parametrize("name,body", EXPORTERS + MAPPED, ids=[name for name, _ in EXPORTERS + MAPPED])
def test_ordinary_and_odd_but_plain_requests_take_the_hot_path(name, body):
    assert not declined(body, PB)


@pytest.mark.parametrize("name,body", DECLINED, ids=[name for name, _ in DECLINED])
def test_what_protobuf_might_read_another_way_is_declined(name, body):
    assert declined(body, PB)


def test_a_declined_request_the_reference_accepts_is_still_stored_by_it():
    body = dict(DECLINED)["a trace id of 5 bytes"]
    assert reference(body, ENV, PB).column("TraceId").to_pylist() == ["3132333435"]


def test_the_gateway_counts_what_the_hot_path_maps_and_decodes_the_rest():
    for name, body in EXPORTERS + MAPPED + DECLINED:
        count = hotpath.entries(PB, body)
        if name in dict(DECLINED):
            assert count is None, name
        else:
            assert count == record_count(decode(PB, body)[0]), name


def test_one_call_keeps_each_requests_rows_and_envelope():
    bodies = [body for _, body in EXPORTERS + MAPPED + DECLINED]
    envs = [ENV if i % 2 == 0 else ENV2 for i in range(len(bodies))]
    assert differs(bodies, envs, PB) is None


def test_the_installed_protobuf_messages_are_the_ones_the_extension_reads():
    from schemas.dialects.otlp.columns import REQUEST

    table = hotpath.wire(REQUEST)
    assert len(table) == len(hotpath.messages(REQUEST))
    assert [[number for number, _ in fields] for fields, _ in table][-1] == [1, 11, 2, 3, 5, 6, 7, 8, 9, 10, 12]
    levels = REQUEST.members[0].members
    with pytest.raises(ValueError, match="no such field"):
        hotpath.wire(replace(REQUEST, members=(Member("resource_logz", "repeated", members=levels),)))
    with pytest.raises(ValueError, match="declared message, but the field is repeated"):
        hotpath.wire(replace(REQUEST, members=(Member("resource_logs", "message", members=levels),)))


# --- Hypothesis ---------------------------------------------------------------------------------------------

def test_drawn_requests_map_as_the_reference_does():
    seen = {"accepted": 0, "mapped": 0}

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(otlp_body(), min_size=1, max_size=3))
    def run(json_bodies):
        bodies = [pb for body in json_bodies if (pb := as_protobuf(body)) is not None]
        if not bodies:
            return
        envs = [ENV if i % 2 == 0 else ENV2 for i in range(len(bodies))]
        assert differs(bodies, envs, PB) is None
        for body, rows in zip(bodies, hot.map_values(PB, bodies, envs).rows):
            if reference(body, ENV, PB) is not None:
                seen["accepted"] += 1
                seen["mapped"] += rows is not None

    run()
    assert seen["accepted"] >= EXAMPLES // 2 and seen["mapped"] >= 0.6 * seen["accepted"], seen


@st.composite
def mutated(draw) -> bytes:
    """A protobuf request with a few bytes changed: often still a message, read some other way."""
    body = bytearray(draw(st.sampled_from([b for _, b in EXPORTERS + MAPPED])))
    for _ in range(draw(st.integers(1, 3))):
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        edit = draw(st.sampled_from(["delete", "insert", "replace", "flip"]))
        piece = bytes([draw(st.integers(0, 255))])
        if edit == "delete":
            del body[at]
        elif edit == "insert":
            body[at:at] = piece
        elif edit == "replace":
            body[at:at + 1] = piece
        else:
            body[at] ^= 1 << draw(st.integers(0, 7))
    return bytes(body)


def test_mutated_requests_are_declined_or_mapped_as_the_reference_does():
    mapped = []

    @settings(max_examples=EXAMPLES * 4, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(mutated(), min_size=1, max_size=3))
    def run(bodies):
        assert differs(bodies, [ENV] * len(bodies), PB) is None
        mapped.extend(r for r in hot.map_values(PB, bodies, [ENV] * len(bodies)).rows if r is not None)

    run()
    assert len(mapped) >= EXAMPLES // 10, "some mutations leave a valid request, and those are compared"


def _kvlists(depth: int) -> bytes:
    value = b""
    for _ in range(depth):
        value = ld(6, ld(1, kv(b"k", value)))
    return value


def _arrays(depth: int) -> bytes:
    value = b""
    for _ in range(depth):
        value = ld(5, ld(1, value))
    return value


@pytest.mark.parametrize("depth", [20, 30, 31, 32, 33, 40])
def test_values_nested_near_protobufs_own_limit_are_declined_or_mapped_as_the_reference_does(depth):
    bodies = [records(ld(5, _kvlists(depth))), records(ld(6, kv(b"a", _kvlists(depth)))), records(ld(5, _arrays(depth))),
              ld(1, ld(1, ld(1, kv(b"r", _kvlists(depth)))) + ld(2, ld(2, b"")))]
    assert differs(bodies, [ENV] * len(bodies), PB) is None
    for body in bodies:
        try:
            decode(PB, body)
        except InvalidBody:
            assert hotpath.entries(PB, body) is None
    if depth <= 30:  # an attribute's 31 lists are 99 messages deep: past the extension's 96, declined
        assert all(hotpath.entries(PB, body) == 1 for body in bodies)


def test_a_request_the_reference_refuses_is_never_mapped():
    refused = []
    for name, body in DECLINED:
        try:
            decode(PB, body)
        except InvalidBody:
            refused.append(name)
            assert hotpath.entries(PB, body) is None, name
    assert {"a tag in 6 bytes", "a length in 6 bytes", "a level that is not UTF-8", "cut short"} <= set(refused)
