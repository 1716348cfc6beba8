"""The live tail against the real stack: complete under a burst, capped per key, ended by revocation and quota."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from urllib.parse import quote

import msgspec
import pytest

from schemas.registry import TenantRecord
from sluice import registry as registry_topic
from sluice.keys import new_key, now_iso
from tests.support import post, wait_for

pytestmark = pytest.mark.integration


class Tail:
    """One ``GET /v1/logs/tail`` read on a thread of its own: its records and its closing event."""

    def __init__(self, settings, key: str, filter_text: str):
        self.conn = http.client.HTTPConnection(settings.gateway_host, settings.gateway_port, timeout=60)
        self.conn.request("GET", "/v1/logs/tail?filter=" + quote(filter_text), headers={"Authorization": f"Bearer {key}"})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.records: list[dict] = []
        self.closing: dict | None = None
        self.ended = threading.Event()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.error = json.loads(self.response.read())["error"]

    def _read(self) -> None:
        event = ""
        try:
            for line in self.response:
                if line.startswith(b"event: "):
                    event = line[7:].strip().decode()
                elif line.startswith(b"data: "):
                    data = json.loads(line[6:])
                    if event == "close":
                        self.closing = data
                    else:
                        self.records.append(data)
                    event = ""
        except (OSError, ValueError, AttributeError):
            pass  # the test closed the connection
        self.ended.set()

    def close(self) -> None:
        # Shut the socket down first: closing the response would wait for the reader's blocked read.
        if self.conn.sock is not None:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


def logs(service: str, messages: list[str]) -> dict:
    return {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "service": service, "message": m}
                     for m in messages]}


def ingest(sluice, key: str, body: dict) -> None:
    status, payload, _ = post(sluice.url("/v1/logs/ingest"), body,
                              {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert status == 202, payload


def mint(sluice, tenant: str, count: int, tier: str = "standard") -> list[tuple[str, object]]:
    """``count`` fresh keys of ``tenant`` (created with ``tier``), known to the gateway when this returns."""
    minted = [new_key(tenant) for _ in range(count)]
    asyncio.run(registry_topic.publish(sluice.settings, TenantRecord(tenant, now_iso(), tier), *(r for _, r in minted)))
    wait_for(lambda: post(sluice.url("/v1/logs/query"), {"limit": 1},
                          {"Authorization": f"Bearer {minted[-1][0]}"})[0] == 200, 20, what="new keys at the gateway")
    return minted


def test_a_burst_of_matching_rows_is_delivered_whole_and_once(sluice):
    tail = Tail(sluice.settings, sluice.key, "service:burst")
    assert tail.status == 200
    sent = []
    for second in range(4):  # 1,000 matching rows a second, each second's in one request
        batch = [f"burst-{second}-{i}" for i in range(1000)]
        ingest(sluice, sluice.key, {"logs": logs("burst", batch)["logs"] + logs("other", ["noise"] * 100)["logs"]})
        sent += batch
        time.sleep(1)  # pace the requests a second apart, as a steady sender would
    wait_for(lambda: len(tail.records) >= len(sent), 90, what="every burst row tailed")
    ingest(sluice, sluice.key, logs("burst", ["end"]))  # whatever follows the end marker was sent twice
    wait_for(lambda: tail.records and tail.records[-1]["message"] == "end", 30, what="the end marker")
    messages = [r["message"] for r in tail.records]
    assert sorted(messages) == sorted(sent + ["end"])
    tail.close()


def test_fifty_tails_each_get_a_posted_record_and_a_key_holds_at_most_five(sluice):
    keys = [key for key, _ in mint(sluice, "many", 10)]
    tails = [Tail(sluice.settings, key, "service:fanout") for key in keys for _ in range(5)]
    assert [t.status for t in tails] == [200] * 50
    sixth = Tail(sluice.settings, keys[0], "service:fanout")
    assert (sixth.status, sixth.error["code"], sixth.error["details"]) == (429, "too_many_tails", "tail_max_per_key=5")
    ingest(sluice, keys[3], logs("fanout", ["to everyone"]))
    wait_for(lambda: all(t.records for t in tails), 60, what="the record at every tail")
    assert {r["message"] for t in tails for r in t.records} == {"to everyone"}
    assert all(len(t.records) == 1 for t in tails)
    tails[0].close()  # a slot comes back once the gateway sees the client go

    def reopened():
        t = Tail(sluice.settings, keys[0], "service:fanout")
        t.close()
        return t.status == 200
    wait_for(reopened, 15, interval_s=0.5, what="the freed slot")
    for t in tails[1:]:
        t.close()


def test_a_revoked_keys_tail_ends_with_a_close_event(sluice):
    (key, record), = mint(sluice, "ops", 1)
    tail = Tail(sluice.settings, key, "")
    assert tail.status == 200
    ingest(sluice, key, logs("svc", ["before revocation"]))
    wait_for(lambda: tail.records, 30, what="a record before revocation")
    asyncio.run(registry_topic.publish(sluice.settings, msgspec.structs.replace(record, revoked_at=now_iso())))
    wait_for(tail.ended.is_set, 15, what="the revoked key's tail to end")
    assert tail.closing is not None and tail.closing["reason"] == "key_revoked"


def test_a_tail_over_the_query_quota_ends_with_a_close_event(broker, make_sluice):
    sluice = make_sluice(broker.config.bootstrap, standard_query_per_hour=3, tail_charge_every_s=1.0)
    tail = Tail(sluice.settings, sluice.key, "")
    assert tail.status == 200  # the first query of the hour; each second of streaming counts one more
    wait_for(tail.ended.is_set, 20, what="the tail over its quota to end")
    assert tail.closing is not None and tail.closing["reason"] == "rate_limit_exceeded"
    status, body, _ = post(sluice.url("/v1/logs/query"), {"limit": 1}, {"Authorization": f"Bearer {sluice.key}"})
    assert (status, body["error"]["code"]) == (429, "rate_limit_exceeded")
