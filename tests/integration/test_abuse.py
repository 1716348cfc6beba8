"""Abusive clients against one real gateway: each gets its 4xx, and the gateway's memory stays bounded.

The bound (docs/reliability.md) is on the gateway's resident memory across
the whole module: at most ``RSS_BOUND_MIB`` above what it used at start.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time


import aiohttp
import pytest

from tests import support
from tests.integration.conftest import pipeline_settings, provision
from tests.support import Process, post, wait_for

pytestmark = pytest.mark.integration
RSS_BOUND_MIB = 100
HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 6.0
BODY_BUFFER_BYTES = 16 << 20
ENTRY = {"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": "m"}


class Gateway:
    def __init__(self, settings, key: str, process: Process):
        self.settings, self.key, self.process = settings, key, process
        self.host, self.port = settings.gateway_host, settings.gateway_port
        self.baseline = self.rss_mib()
        self.peak = self.baseline

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}

    def rss_mib(self) -> float:
        with open(f"/proc/{self.process.proc.pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024

    def sample(self) -> float:
        self.peak = max(self.peak, self.rss_mib())
        return self.peak

    def ingest(self, body: bytes | dict) -> tuple[int, dict]:
        status, payload, _ = post(self.settings.gateway_url + "/v1/logs/ingest", body, self.headers)
        self.sample()
        return status, payload

    def metric(self, line_start: str) -> float:
        """A sample of the gateway's /metrics by its name and labels, as exposed; 0 when absent."""
        return support.metric(self.settings.gateway_url, line_start)

    def slow_body(self, declared: int, key: str | None = None) -> bytes:
        """The head of an ingest request declaring ``declared`` body bytes."""
        return (b"POST /v1/logs/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n") % ((key or self.key).encode(), declared)

    def raw(self, data: bytes, timeout_s: float = 10) -> bytes:
        """Send ``data`` on a fresh connection (the server may cut it short) and read the answer."""
        with socket.create_connection((self.host, self.port), timeout=timeout_s) as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            # Headers and body may come in separate segments: read until the server closes.
            answer = b""
            try:
                while chunk := s.recv(65536):
                    answer += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        self.sample()
        return answer


@pytest.fixture(scope="module")
def gateway(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("abuse")
    settings = pipeline_settings(broker.config.bootstrap, tmp / "state", header_timeout_s=HEADER_TIMEOUT_S,
                                 body_timeout_s=BODY_TIMEOUT_S, gateway_max_body_buffer_bytes=BODY_BUFFER_BYTES)
    key = provision(settings)
    process = Process(settings, "gateway", tmp).start()
    g = Gateway(settings, key, process)
    yield g
    process.stop()
    print(f"\ngateway RSS: {g.baseline:.0f} MiB at start, {g.peak:.0f} MiB at peak")
    assert g.peak - g.baseline < RSS_BOUND_MIB


def head(extra: bytes) -> bytes:
    return b"POST /v1/logs/ingest HTTP/1.1\r\nHost: x\r\n" + extra + b"Content-Length: 0\r\n\r\n"


def test_a_huge_header_is_431_and_never_held_whole(gateway):
    for size in (100_000, 20_000_000):
        answer = gateway.raw(head(b"X-Big: " + b"a" * size + b"\r\n"))
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "headers_too_large"
    assert gateway.sample() - gateway.baseline < 32


def test_thousands_of_headers_are_431(gateway):
    answer = gateway.raw(head(b"".join(b"X-%d: v\r\n" % i for i in range(20_000))))
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_slow_loris_connections_are_cut_and_others_still_served(gateway):
    slow = [socket.create_connection((gateway.host, gateway.port)) for _ in range(200)]
    try:
        for s in slow:
            s.sendall(b"POST /v1/logs/ingest HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert gateway.ingest({"logs": [ENTRY]})[0] == 202  # served while 200 heads hang
        for _ in range(3):  # a byte now and then does not extend the deadline
            time.sleep(HEADER_TIMEOUT_S / 4)
            for s in slow:
                s.sendall(b"a")
        answers = []
        for s in slow:
            s.settimeout(HEADER_TIMEOUT_S * 5)
            answers.append(read_to_end(s))  # the answer, then the server closes
        assert all(a.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in a for a in answers), \
            {a[:20] for a in answers}
    finally:
        for s in slow:
            s.close()


def read_to_end(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_an_idle_connection_is_closed(gateway):
    with socket.create_connection((gateway.host, gateway.port)) as s:
        s.settimeout(HEADER_TIMEOUT_S * 5)
        assert s.recv(10) == b""


def test_deeply_nested_json_is_400(gateway):
    attributes = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    body = b'{"logs":[{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","message":"m","attributes":' \
        + attributes + b"}]}"
    status, payload = gateway.ingest(body)
    assert (status, payload["error"]["code"]) == (400, "malformed_json")
    assert "nested too deeply" in payload["error"]["message"]


def test_a_hundred_thousand_entries_are_413(gateway):
    status, payload = gateway.ingest({"logs": [ENTRY] * 100_000})
    assert (status, payload["error"]["code"]) == (413, "too_many_entries")


def test_a_million_attribute_keys_are_400(gateway):
    status, payload = gateway.ingest({"logs": [ENTRY, {**ENTRY, "attributes": {f"k{i}": 1 for i in range(600_000)}}]})
    assert (status, payload["error"]["code"]) == (400, "too_many_attributes")
    assert "$.logs[1].attributes" in payload["error"]["message"]
    nested = {"user": {f"k{i}": {"v": i} for i in range(1001)}}
    assert gateway.ingest({"logs": [{**ENTRY, "attributes": nested}]})[0] == 400
    assert gateway.ingest({"logs": [{**ENTRY, "attributes": {f"k{i}": 1 for i in range(1000)}}]})[0] == 202


def test_many_small_requests_leave_memory_flat(gateway):
    body = json.dumps({"logs": [ENTRY]}).encode()
    url = gateway.settings.gateway_url + "/v1/logs/ingest"

    async def go(n: int, lanes: int) -> list[int]:
        statuses: list[int] = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=lanes)) as session:
            async def lane(count: int):
                for _ in range(count):
                    async with session.post(url, data=body, headers=gateway.headers) as resp:
                        statuses.append(resp.status)
            await asyncio.gather(*(lane(n // lanes) for _ in range(lanes)))
        return statuses

    before = gateway.sample()
    statuses = asyncio.run(go(8_000, 16))
    assert statuses.count(202) == 8_000
    wait_for(lambda: gateway.sample() is not None, 1)
    assert gateway.rss_mib() - before < 64


def test_slow_bodies_are_408_at_their_deadline_and_others_still_served(gateway):
    slow = [socket.create_connection((gateway.host, gateway.port)) for _ in range(200)]
    try:
        for s in slow:  # each promises 10 MiB and sends a few bytes of it
            s.sendall(gateway.slow_body(10 << 20) + b'{"logs": [')
        assert gateway.ingest({"logs": [ENTRY]})[0] == 202  # served while 200 bodies hang
        answers = []
        for s in slow:
            s.settimeout(BODY_TIMEOUT_S * 5)
            answers.append(read_to_end(s))  # the answer, then the server closes
        assert all(a.startswith(b"HTTP/1.1 408 ") and b'"body_timeout"' in a for a in answers), \
            {a[:20] for a in answers}
    finally:
        for s in slow:
            s.close()
    wait_for(lambda: gateway.metric("sluice_gateway_body_buffer_bytes") == 0, 10, what="the budget given back")


def test_a_body_still_trickling_after_an_early_answer_is_cut_at_the_deadline(gateway):
    before = gateway.metric('sluice_gateway_rejections_total{dialect="http",reason="body_timeout"}')
    received = b""
    with socket.create_connection((gateway.host, gateway.port)) as s:
        s.sendall(gateway.slow_body(1 << 20, key="slk_wrong") + b"{")  # answered 401 without reading the body
        s.settimeout(BODY_TIMEOUT_S / 8)  # the pace of the trickle: well inside uvicorn's keep-alive timeout
        deadline = time.monotonic() + BODY_TIMEOUT_S * 5
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                try:
                    s.sendall(b" ")  # a byte now and then, so the connection is never idle
                except (BrokenPipeError, ConnectionResetError):
                    break
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        else:
            raise AssertionError("the connection was still open long after the body's deadline")
    assert received.startswith(b"HTTP/1.1 401 ")
    assert gateway.metric('sluice_gateway_rejections_total{dialect="http",reason="body_timeout"}') == before + 1


def test_bodies_beyond_the_process_budget_are_503_at_once_and_small_requests_still_served(gateway):
    held = 4 << 20
    slow = [socket.create_connection((gateway.host, gateway.port)) for _ in range(3)]
    try:
        for s in slow:  # 12 MiB of the 16 MiB budget, held while the last MiB of each body never comes
            s.sendall(gateway.slow_body(held + (1 << 20)) + b"x" * held)
        wait_for(lambda: gateway.metric("sluice_gateway_body_buffer_bytes") >= 3 * held, 30,
                 what="the slow bodies read into the gateway")
        answer = gateway.raw(gateway.slow_body(6 << 20))  # declares more than is left: refused before any byte
        assert answer.startswith(b"HTTP/1.1 500 ") and b'"body_buffer_full"' in answer, answer[:200]
        assert b"retry-after: 2\r\n" in answer.lower()
        assert gateway.ingest({"logs": [ENTRY]})[0] == 202
        for s in slow:
            s.settimeout(BODY_TIMEOUT_S * 5)
            assert read_to_end(s).startswith(b"HTTP/1.1 408 ")
    finally:
        for s in slow:
            s.close()
    wait_for(lambda: gateway.metric("sluice_gateway_body_buffer_bytes") == 0, 10, what="the budget given back")
