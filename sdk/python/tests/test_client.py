"""The SDK's batching, backoff, failsafe queue and encryption, with a fake clock and a fake server."""

from __future__ import annotations

import base64
import gzip
import json
import logging
from pathlib import Path

import pytest

from sluice_sdk import Client, SluiceHandler
from sluice_sdk import retry
from sluice_sdk.dialects import LogFlux, LogTrace
from sluice_sdk.logflux import Session, derive, seal
from sluice_sdk.transport import Response

VECTORS = json.loads((Path(__file__).parents[3] / "schemas" / "vectors" / "logflux.json").read_text())


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Server:
    """Answers with the queued statuses (then 202) and keeps every request."""

    def __init__(self, *answers: tuple[int | None, dict]):
        self.answers = list(answers)
        self.requests: list[tuple[str, bytes, dict]] = []

    def __call__(self, url: str, body: bytes, headers: dict, timeout_s: float) -> Response:
        self.requests.append((url, body, headers))
        status, answer_headers = self.answers.pop(0) if self.answers else (202, {})
        return Response(status, answer_headers, b"")

    def logs(self, i: int = -1) -> list[dict]:
        _, body, headers = self.requests[i]
        raw = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
        return json.loads(raw)["logs"]


def client(server: Server, clock: Clock, **kw) -> Client:
    return Client("http://sluice", "slk_key", send=server, clock=clock, sleep=clock.sleep, start=False, **kw)


def test_a_batch_leaves_when_full_or_when_its_oldest_record_is_old_enough():
    server, clock = Server(), Clock()
    c = client(server, clock, batch_size=3, flush_interval_s=1.0)
    c.info("a")
    c.info("b")
    assert c.pump() == 0  # neither full nor old
    c.info("c", order_id=7)
    assert c.pump() == 3
    assert [e["message"] for e in server.logs()] == ["a", "b", "c"]
    assert server.logs()[2]["attributes"] == {"order_id": 7}
    assert server.requests[0][0] == "http://sluice/v1/logs/ingest"
    assert server.requests[0][2]["Authorization"] == "Bearer slk_key"
    c.warning("d")
    clock.now += 0.5
    assert c.pump() == 0
    clock.now += 0.5
    assert c.pump() == 1 and server.logs()[0]["level"] == "WARNING"


def test_retries_back_off_and_honour_retry_after_and_rate_limit_reset():
    server, clock = Server((503, {"Retry-After": "7"}), (None, {}), (429, {"X-RateLimit-Remaining": "0",
                                                                          "X-RateLimit-Reset": "1700000100"})), Clock()
    c = client(server, clock, batch_size=1, backoff_base_s=1.0, backoff_cap_s=300.0)
    c.error("boom")
    assert c.pump() == 1
    assert len(server.requests) == 4 and c.stats.retries == 3 and c.stats.sent == 1
    assert clock.slept[0] == 7.0  # Retry-After
    assert 0 <= clock.slept[1] <= 2.0  # network error: jittered backoff, attempt 1
    assert clock.slept[2] == pytest.approx(1_700_000_100 - (1_700_000_000 + 7 + clock.slept[1]))
    keys = {headers["Idempotency-Key"] for _, _, headers in server.requests}
    assert len(keys) == 1  # every attempt of the batch under one key: the gateway stores it once
    c.error("next")
    c.pump()
    assert server.requests[-1][2]["Idempotency-Key"] not in keys


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_requests_that_cannot_succeed_are_not_retried(status):
    server, clock = Server((status, {})), Clock()
    c = client(server, clock, batch_size=2)
    c.info("a")
    c.info("b")
    assert c.pump() == 0
    assert len(server.requests) == 1 and c.stats.rejected == 2 and clock.slept == []


def test_backoff_is_capped_full_jitter():
    assert retry.backoff(10, 0.5, 30.0, rand=lambda: 1.0) == 30.0
    assert retry.backoff(2, 0.5, 30.0, rand=lambda: 0.5) == 1.0
    assert retry.server_delay({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0) == 10.0
    assert retry.server_delay({"X-RateLimit-Reset": "100", "X-RateLimit-Remaining": "3"}, now=0) is None


def test_a_full_queue_drops_and_counts_instead_of_blocking():
    server, clock = Server(), Clock()
    c = client(server, clock, batch_size=10, max_queue=5)
    results = [c.info(str(i)) for i in range(8)]
    assert results == [True] * 5 + [False] * 3 and c.stats.dropped == 3
    assert c.pump(force=True) == 5
    assert [e["message"] for e in server.logs()] == ["0", "1", "2", "3", "4"]


def test_close_delivers_what_is_queued_and_counts_what_it_could_not():
    server = Server()
    c = Client("http://sluice", "k", send=server, batch_size=100, flush_interval_s=60)
    for i in range(250):
        c.info(f"m{i}")
    c.close(5.0)
    assert c.stats.sent == 250 and c.stats.abandoned == 0
    assert sum(len(json.loads(gzip.decompress(b))["logs"]) for _, b, _ in server.requests) == 250
    assert not c.info("after close") and c.stats.dropped == 1

    down = Server(*[(None, {})] * 10_000)
    c = Client("http://sluice", "k", send=down, batch_size=10, backoff_base_s=0.01, backoff_cap_s=0.01)
    for i in range(25):
        c.info(f"m{i}")
    c.close(0.3)  # the server never answers: everything is accounted for, nothing hangs
    assert c.stats.sent == 0 and c.stats.abandoned == 25


def test_logging_handler_sends_extra_fields_and_the_logger_name():
    server, clock = Server(), Clock()
    c = client(server, clock, batch_size=1)
    logger = logging.getLogger("shop.payments")
    logger.propagate = False
    handler = SluiceHandler(c)
    logger.addHandler(handler)
    try:
        logger.error("card %s declined", "visa", extra={"order_id": 42})
    finally:
        logger.removeHandler(handler)
    c.pump()
    entry = server.logs()[0]
    assert entry["message"] == "card visa declined" and entry["level"] == "ERROR"
    assert entry["attributes"] == {"order_id": 42, "logger": "shop.payments"}


@pytest.mark.parametrize("v", VECTORS["vectors"], ids=[v["name"] for v in VECTORS["vectors"]])
def test_encryption_matches_the_shared_vectors(v):
    salt, iv = base64.b64decode(v["salt"]), base64.b64decode(v["iv"])
    key = derive(v["secret"].encode(), salt)
    assert key.hex() == v["key"]
    assert base64.b64encode(seal(key, iv, v["plaintext"].encode())).decode() == v["payload"]


def test_a_logflux_session_derives_once_and_uses_a_fresh_iv_per_entry():
    dialect = LogFlux("your-secret", node="api-1", salt=bytes(32))
    body = json.loads(dialect.body([("2026-01-01T00:00:00.000Z", "error", "m1", {}),
                                    ("2026-01-01T00:00:00.000Z", "info", "m2", {"user": "u1"})]))
    first, second = body["entries"]
    assert first["salt"] == second["salt"] == base64.b64encode(bytes(32)).decode()
    assert first["iv"] != second["iv"]
    assert (first["loglevel"], second["loglevel"], first["node"]) == (4, 7, "api-1")
    assert dialect.path == "/v1/batch" and dialect.max_batch == 100
    assert isinstance(dialect.session, Session)


REQUESTS = json.loads((Path(__file__).parents[3] / "schemas" / "vectors" / "requests.json").read_text(encoding="utf-8"))


def test_requests_match_the_shared_request_vectors():
    records = [tuple(r) for r in REQUESTS["records"]]
    assert json.loads(LogTrace(service=REQUESTS["logtrace"]["service"]).body(records)) == REQUESTS["logtrace"]["body"]
    v = REQUESTS["logflux"]
    session = Session(v["secret"], base64.b64decode(v["salt"]))
    entries = [session.entry(f.get("service", v["node"]), level, message, ts,
                             {k: x for k, x in f.items() if k != "service"}, iv=bytes([i] * 12))
               for i, (ts, level, message, f) in enumerate(records, 1)]
    assert entries == v["entries"]


def test_structlog_processor_sends_the_event_and_passes_it_on():
    from sluice_sdk.handler import structlog_processor

    server, clock = Server(), Clock()
    c = client(server, clock, batch_size=1)
    event = {"event": "user signed in", "level": "info", "timestamp": "t", "user_id": 7}
    assert structlog_processor(c)(None, "info", dict(event)) == event
    c.pump()
    assert server.logs()[0] == {"timestamp": server.logs()[0]["timestamp"], "level": "INFO",
                                "message": "user signed in", "service": "", "host": "", "attributes": {"user_id": 7}}


def test_zstd_bodies_and_uncompressed_bodies():
    import zstandard

    server, clock = Server(), Clock()
    c = client(server, clock, batch_size=1, compression="zstd")
    c.info("packed")
    c.pump()
    _, body, headers = server.requests[0]
    assert headers["Content-Encoding"] == "zstd"
    assert json.loads(zstandard.ZstdDecompressor().decompress(body))["logs"][0]["message"] == "packed"
    c = client(server, clock, batch_size=1, compression=None)
    c.info("plain")
    c.pump()
    assert "Content-Encoding" not in server.requests[1][2] and server.logs(1)[0]["message"] == "plain"
