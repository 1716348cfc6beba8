"""The gateway's check of OTLP/JSON bodies on the hot path (``sluice.hotpath.entries``, gateway/otlp.py) against the
dialect's decoding: a body is counted only when decode accepts it, with ``record_count``'s number, and the
gateway answers every body as it answers with decoding alone. Bodies are those of tests/unit/test_hot_path_otlp.py:
the OTLP fixtures, odd spellings, and Hypothesis-drawn and mutated requests."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from gateway import otlp
from gateway.errors import ApiError
from gateway.prepare import Prepared
from schemas.dialects import decode
from schemas.dialects.otlp.wire import record_count
from schemas.formats import Format, InvalidBody
from sluice import hotpath
from sluice.settings import load_settings
from tests.unit.test_hot_path_otlp import EXAMPLES, FIXTURES, ODD, mutated, otlp_body
from tests.unit.test_otlp import as_otlp_json, every_kind_of_value, request

JSON = Format.OTLP_JSON
SETTINGS = load_settings({})
BODIES = FIXTURES + ODD


def decoded_count(body: bytes) -> int | None:
    """``record_count`` of the decoded request, or None when decode refuses the body."""
    try:
        (parsed,) = decode(JSON, body)
    except InvalidBody:
        return None
    return record_count(parsed)


def disagrees(body: bytes) -> str | None:
    """Why ``entries`` breaks its contract on ``body`` (a count only where decode gives the same), or None."""
    got = hotpath.entries(JSON, body)
    if got is None:
        return None
    want = decoded_count(body)
    if want is None:
        return f"counted {got}, refused by decode"
    return None if got == want else f"counted {got}, decode counts {want}"


def answer(prepare: Any, body: bytes) -> tuple:
    """What the gateway makes of ``body``: the published value and success body, or the error it answers."""
    try:
        prepared: Prepared = prepare(None, JSON, body, SETTINGS)
    except ApiError as exc:
        return ("error", exc.status, exc.body("req-1"))
    return ("ok", prepared.value, prepared.count, prepared.response("req-1"), prepared.content_type)


def by_decoding(route: Any, fmt: Format, body: bytes, settings: Any) -> Prepared:
    """``accept_otlp`` with the hot path declining everything: decoding alone judges the body."""
    original = hotpath.entries
    hotpath.entries = lambda fmt, body: None
    try:
        return otlp.accept_otlp(route, fmt, body, settings)
    finally:
        hotpath.entries = original


def same_answer(body: bytes) -> str | None:
    ours, theirs = answer(otlp.accept_otlp, body), answer(by_decoding, body)
    return None if ours == theirs else f"answered {ours!r}, decoding alone {theirs!r}"


@pytest.mark.parametrize("name,body", BODIES, ids=[name for name, _ in BODIES])
def test_fixtures_are_counted_as_decode_counts_them_or_declined(name, body):
    assert disagrees(body) is None
    assert same_answer(body) is None


def test_refused_bodies_are_never_counted_and_ordinary_ones_are():
    refused = [body for _, body in BODIES if decoded_count(body) is None]
    assert refused and all(hotpath.entries(JSON, body) is None for body in refused)
    for body in (as_otlp_json(request()), as_otlp_json(every_kind_of_value())):
        assert hotpath.entries(JSON, body) == decoded_count(body) > 0
    counted = [name for name, body in FIXTURES if hotpath.entries(JSON, body) is not None]
    assert len(counted) >= len([b for _, b in FIXTURES if decoded_count(b) is not None]) // 2, counted


def test_what_decode_might_read_another_way_is_left_to_it():
    for name, body in ODD:
        assert decoded_count(body) is not None and hotpath.entries(JSON, body) is None, name


def test_protobuf_bodies_are_counted_by_the_hot_path_and_what_it_declines_decoded():
    body = request().SerializeToString()
    assert hotpath.entries(Format.OTLP_PROTOBUF, body) == 2
    prepared = otlp.accept_otlp(None, Format.OTLP_PROTOBUF, body, SETTINGS)
    assert (prepared.count, prepared.content_type) == (2, b"application/x-protobuf")
    with pytest.raises(ApiError) as refused:
        otlp.accept_otlp(None, Format.OTLP_PROTOBUF, b"\xff\xff\xff", SETTINGS)
    assert refused.value.status == 400 and "ExportLogsServiceRequest" in refused.value.message


def _drawn(strategy, least_counted: int) -> None:
    seen = {"counted": 0}

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(body):
        assert disagrees(body) is None
        assert same_answer(body) is None
        seen["counted"] += hotpath.entries(JSON, body) is not None

    run()
    # Enough bodies are counted that the comparisons above do not hold vacuously.
    assert seen["counted"] >= least_counted, seen


def test_drawn_requests_are_counted_as_decode_counts_them_or_declined():
    _drawn(otlp_body(), EXAMPLES // 2)


def test_mutated_requests_are_counted_as_decode_counts_them_or_declined():
    _drawn(mutated(), EXAMPLES // 10)


def test_empty_and_broken_json_bodies_answer_as_decoding_does():
    for body in (b"", b" ", b"{", b"[]", b"null", b'{"resourceLogs":[]}', b'{"resourceLogs":null}', b"{}",
                 b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]} x', b"\xff"):
        assert disagrees(body) is None, body
        assert same_answer(body) is None, body
