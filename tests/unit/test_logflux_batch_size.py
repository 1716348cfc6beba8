"""LogFlux's largest batch: 100 entries of 1 MB fit its endpoint's body limit and go to Kafka in parts."""

from __future__ import annotations

import asyncio
import base64

import msgspec
import pytest

from gateway.errors import ApiError
from gateway.publisher import Publisher
from gateway.routes import ROUTES
from schemas.dialects import decode
from schemas.dialects.logflux import MAX_ENTRY_BYTES, split_batch
from schemas.dialects.logflux.wire import MAX_PAYLOAD_BYTES
from schemas.envelope import Envelope
from schemas.formats import Format
from sluice.settings import load_settings
from tests.unit.test_access import LOGFLUX
from tests.unit.test_gateway import make_gateway


def entry(i: int, payload_bytes: int) -> dict:
    return {**LOGFLUX, "node": f"n{i}", "payload": base64.b64encode(bytes([i % 256]) * payload_bytes).decode()}


def test_the_batch_endpoint_holds_a_hundred_of_the_largest_entries():
    largest = msgspec.json.encode({"entries": [entry(i, MAX_PAYLOAD_BYTES) | {"node": "\u00e9" * 255}
                                               for i in range(100)]})
    assert len(largest) <= ROUTES["/v1/batch"].endpoint.max_body_bytes == 100 * MAX_ENTRY_BYTES
    assert len(decode(Format.LOGFLUX_BATCH, largest)) == 100  # and each of them is valid
    assert ROUTES["/v1/ingest"].endpoint.max_body_bytes is None  # one entry: the gateway's 10 MiB hold it


def test_a_batch_splits_into_batches_of_whole_entries_in_order():
    entries = [entry(i, 3000 + 100 * i) for i in range(12)]
    body = msgspec.json.encode({"entries": entries})
    parts = split_batch(body, 10_000)
    assert len(parts) > 2 and all(len(p) <= 10_000 for p in parts)
    decoded = [e for p in parts for e in msgspec.json.decode(p)["entries"]]
    assert decoded == entries
    assert [len(decode(Format.LOGFLUX_BATCH, p)) for p in parts] == [len(msgspec.json.decode(p)["entries"])
                                                                     for p in parts]
    # An entry larger than a part alone is a part of its own.
    alone = split_batch(body, 100)
    assert [len(msgspec.json.decode(p)["entries"]) for p in alone] == [1] * 12


class AckingProducer:
    def __init__(self):
        self.sent: list[tuple[bytes, dict]] = []

    async def send(self, topic, value, key=None, headers=None):
        self.sent.append((value, dict(headers)))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_a_body_beyond_one_record_is_published_as_parts_keyed_for_retries():
    publisher = Publisher(load_settings({}, max_record_bytes=80 * 1024))
    publisher._producer = producer = AckingProducer()
    body = msgspec.json.encode({"entries": [entry(i, 3000) for i in range(10)]})  # 16 KiB a record: 3 each
    envelope = Envelope(Format.LOGFLUX_BATCH.value, "acme", "req_1", 1, idempotency_key="retry-me")
    await publisher.publish(body, envelope)
    values = [value for value, _ in producer.sent]
    assert len(values) > 1 and all(len(v) <= 16 * 1024 for v in values)
    assert [e for v in values for e in msgspec.json.decode(v)["entries"]] == msgspec.json.decode(body)["entries"]
    keys = [headers["sluice-idempotency-key"].decode() for _, headers in producer.sent]
    assert keys == [f"retry-me {i}/{len(values)}" for i in range(1, len(values) + 1)]
    assert {headers["sluice-request-id"] for _, headers in producer.sent} == {b"req_1"}


async def test_a_body_beyond_one_record_that_cannot_be_split_is_413():
    publisher = Publisher(load_settings({}, max_record_bytes=80 * 1024))
    publisher._producer = producer = AckingProducer()
    with pytest.raises(ApiError) as refused:
        await publisher.publish(b"x" * (80 * 1024), Envelope(Format.LOGTRACE_INGEST.value, "acme", "req_1", 1))
    assert (refused.value.status, refused.value.code) == (413, "body_too_large")
    assert producer.sent == []


async def test_logflux_answers_200_and_its_batch_endpoint_alone_goes_beyond_the_gateway_body_limit():
    client, (key,), publisher = make_gateway(prefixes=("lf_",), max_body_bytes=4096, max_decoded_bytes=4096)
    headers = {"Authorization": f"Bearer {key}"}
    big = entry(1, 6000)
    r = await client.post("/v1/batch", json={"entries": [big, big]}, headers=headers)
    assert (r.status_code, r.json()["status"]) == (200, "success")
    r = await client.post("/v1/ingest", json=big, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (413, "BODY_TOO_LARGE")
    r = await client.post("/v1/ingest", json=LOGFLUX, headers=headers)
    assert (r.status_code, r.json()["message"]) == (200, "Log entry processed successfully")
    assert len(publisher.published) == 2
