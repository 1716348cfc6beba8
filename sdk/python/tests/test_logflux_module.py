"""``import logflux`` as the LogFlux doc writes it: module-level functions, the resilient client's
failsafe mode and queue size, entries that decrypt to what was logged."""

from __future__ import annotations

import base64
import json
import threading

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import logflux
from logflux.resilient import LogFluxError, ResilientClient, base_url
from sluice_sdk.logflux import LEVELS, derive
from sluice_sdk.transport import Response


class Server:
    """Answers with the queued statuses (then 202), keeps every request, decrypts entries."""

    def __init__(self, *statuses: int | None):
        self.statuses = list(statuses)
        self.requests: list[tuple[str, dict, dict]] = []
        self.lock = threading.Lock()

    def __call__(self, url: str, body: bytes, headers: dict, timeout_s: float) -> Response:
        with self.lock:
            self.requests.append((url, json.loads(body), headers))
            status = self.statuses.pop(0) if self.statuses else 202
        return Response(status, {}, b"")

    def entries(self) -> list[dict]:
        return [e for _, body, _ in self.requests for e in body["entries"]]

    def plaintexts(self, secret: str) -> list[str]:
        out, keys = [], {}
        for e in self.entries():
            salt = base64.b64decode(e["salt"])
            key = keys.setdefault(salt, derive(secret.encode(), salt))
            out.append(AESGCM(key).decrypt(base64.b64decode(e["iv"]), base64.b64decode(e["payload"]), None).decode())
        return out


@pytest.fixture(autouse=True)
def no_global_client():
    yield
    logflux.close(1.0)


def test_the_doc_sequence_sends_encrypted_entries_with_every_level():
    server = Server()
    logflux.init("https://c12345.ingest.us.logflux.io", "my-app", "lf_your_api_key", "your-secret", send=server)
    for level in ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"):
        assert getattr(logflux, level)(f"{level} message") is True
    logflux.close()
    url, _, headers = server.requests[0]
    assert url == "https://c12345.ingest.us.logflux.io/v1/batch"
    assert headers["Authorization"] == "Bearer lf_your_api_key" and "Content-Encoding" not in headers
    entries = server.entries()
    assert [(e["node"], e["loglevel"], e["encryption_mode"]) for e in entries] == \
        [("my-app", LEVELS[level], 1) for level in ("debug", "info", "notice", "warning", "error", "critical",
                                                    "alert", "emergency")]
    assert server.plaintexts("your-secret")[1] == "info message"


def test_fields_travel_as_a_json_plaintext_whose_message_is_the_body():
    server = Server()
    logflux.init("https://h/v1/", "api", "lf_k", "s", send=server)
    logflux.error("payment failed", order_id="ORD-1", amount=12.5)
    logflux.close()
    assert server.requests[0][0] == "https://h/v1/batch"  # the doc's /v1 endpoint spelling works too
    assert json.loads(server.plaintexts("s")[0]) == {"message": "payment failed", "order_id": "ORD-1", "amount": 12.5}


def test_logging_before_init_is_a_programming_error_with_a_code():
    with pytest.raises(LogFluxError) as raised:
        logflux.info("too early")
    assert raised.value.code == "NOT_INITIALIZED" and "logflux.init" in str(raised.value)
    logflux.close()  # closing without a client is harmless


def test_init_again_closes_the_previous_client_after_delivering_it():
    first, second = Server(), Server()
    logflux.init("http://h", "a", "lf_k", "s", send=first, flush_interval_s=60)
    logflux.info("to the first")
    logflux.init("http://h", "b", "lf_k", "s", send=second)
    logflux.info("to the second")
    logflux.close()
    assert first.plaintexts("s") == ["to the first"] and second.plaintexts("s") == ["to the second"]


def test_failsafe_mode_drops_and_counts_a_full_queue_and_never_raises():
    server = Server(401)
    client = ResilientClient("http://h", "n", "lf_k", "s", failsafe_mode=True, queue_size=3, send=server,
                             start=False)
    assert [client.info(str(i)) for i in range(5)] == [True, True, True, False, False]
    assert client.stats.dropped == 2
    assert client.client.pump(force=True) == 0  # the 401 refuses the batch: counted, not raised
    client.info("queued, never sent")
    client.close(0.2)  # no sending thread here: what is left is abandoned, and close does not raise
    assert (client.stats.rejected, client.stats.abandoned) == (3, 1)
    assert client.info("after close") is False


def test_without_failsafe_mode_a_full_queue_and_lost_entries_raise():
    server = Server(400)
    client = ResilientClient("http://h", "n", "lf_k", "s", failsafe_mode=False, queue_size=2, send=server,
                             start=False)
    client.info("a")
    client.info("b")
    with pytest.raises(LogFluxError) as full:
        client.info("c")
    assert full.value.code == "QUEUE_FULL" and "queue_size" in str(full.value)
    assert client.client.pump(force=True) == 0  # the server refuses the batch for good
    with pytest.raises(LogFluxError) as lost:
        client.close(1.0)
    assert lost.value.code == "UNDELIVERED" and "2 entries" in str(lost.value)
    with pytest.raises(LogFluxError) as closed:
        client.info("d")
    assert closed.value.code == "CLOSED"


def test_a_batch_holds_at_most_the_doc_limit_of_100_entries():
    server = Server()
    client = ResilientClient("http://h", "n", "lf_k", "s", batch_size=500, queue_size=1000, send=server,
                             start=False)
    for i in range(150):
        client.debug(str(i))
    assert client.client.pump(force=True) == 100 and client.client.pump(force=True) == 50
    assert [len(body["entries"]) for _, body, _ in server.requests] == [100, 50]


def test_base_url_accepts_the_host_or_the_v1_endpoint():
    assert base_url("https://c1.ingest.us.logflux.io") == "https://c1.ingest.us.logflux.io"
    assert base_url("https://c1.ingest.us.logflux.io/v1/") == "https://c1.ingest.us.logflux.io"


@pytest.mark.parametrize("url, key, secret", [("c12345.ingest.us.logflux.io", "lf_k", "s"), ("ftp://h", "lf_k", "s"),
                                              ("https://h", "", "s"), ("https://h", "lf_k", "")])
def test_a_config_that_could_never_work_is_refused_at_init(url, key, secret):
    with pytest.raises(LogFluxError) as raised:
        logflux.init(url, "n", key, secret)
    assert raised.value.code == "INVALID_CONFIG"
    with pytest.raises(LogFluxError):
        logflux.info("still not initialized")
