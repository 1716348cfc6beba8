"""Abusive clients against one real gateway: each gets its 4xx, and the gateway's memory stays bounded.

The bound (README: Reliability) is on the gateway's resident memory across
the whole module: at most ``RSS_BOUND_MIB`` above what it used at start.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import aiohttp
import pytest

from tests.integration.conftest import pipeline_settings, provision
from tests.support import Process, post, wait_for

pytestmark = pytest.mark.integration
RSS_BOUND_MIB = 100
HEADER_TIMEOUT_S = 2.0
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

    def raw(self, data: bytes, timeout_s: float = 10) -> bytes:
        """Send ``data`` on a fresh connection (the server may cut it short) and read the answer."""
        with socket.create_connection((self.host, self.port), timeout=timeout_s) as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                answer = s.recv(65536)
            except ConnectionResetError:
                answer = b""
        self.sample()
        return answer


@pytest.fixture(scope="module")
def gateway(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("abuse")
    settings = pipeline_settings(broker.config.bootstrap, tmp / "state", header_timeout_s=HEADER_TIMEOUT_S)
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
