"""Kafka topic ids: which incarnation of a topic name a worker reads.

A topic deleted and created again under the same name starts its offsets at 0
again. Bookkeeping keyed by the name alone (intents, stored marks, claims,
idempotency-key offsets and insert tokens, workers/batches.py) would take the
new topic's records for replays of the old one's and drop them. Kafka gives a
topic a random id when it is created (KIP-516), so the workers key their
bookkeeping by ``name@<id>`` (``key``): a recreated topic starts clean.

aiokafka speaks Metadata only up to v5, which carries no ids; ``TopicIdsRequest``
is Metadata v12 (Kafka 3.1 and later), the first version whose topic names may be
null, built from aiokafka's own protocol types.
"""

from __future__ import annotations

import base64
import logging
import uuid
from io import BytesIO
from typing import Any, Awaitable, Callable

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.abstract import AbstractType
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Boolean, CompactArray, CompactString, Int16, Int32, Schema, TaggedFields

log = logging.getLogger(__name__)

#: Kafka's id of "no id" (a broker that does not know the topic's id answers it).
ZERO = uuid.UUID(int=0)


class Uuid(AbstractType[uuid.UUID]):
    """Kafka's ``uuid`` field: 16 bytes, most significant first."""

    @classmethod
    def encode(cls, value: uuid.UUID) -> bytes:
        return value.bytes

    @classmethod
    def decode(cls, data: BytesIO) -> uuid.UUID:
        raw = data.read(16)
        if len(raw) != 16:
            raise ValueError("Buffer underrun decoding a uuid")
        return uuid.UUID(bytes=raw)


class MetadataResponse_v12(Response):
    API_KEY = 3
    API_VERSION = 12
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("brokers", CompactArray(("node_id", Int32), ("host", CompactString("utf-8")), ("port", Int32),
                                 ("rack", CompactString("utf-8")), ("tags", TaggedFields))),
        ("cluster_id", CompactString("utf-8")),
        ("controller_id", Int32),
        ("topics", CompactArray(
            ("error_code", Int16),
            ("name", CompactString("utf-8")),
            ("topic_id", Uuid),
            ("is_internal", Boolean),
            ("partitions", CompactArray(
                ("error_code", Int16), ("partition_index", Int32), ("leader_id", Int32), ("leader_epoch", Int32),
                ("replica_nodes", CompactArray(Int32)), ("isr_nodes", CompactArray(Int32)),
                ("offline_replicas", CompactArray(Int32)), ("tags", TaggedFields))),
            ("topic_authorized_operations", Int32),
            ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class MetadataRequest_v12(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 3
    API_VERSION = 12
    RESPONSE_TYPE = MetadataResponse_v12
    SCHEMA = Schema(
        ("topics", CompactArray(("topic_id", Uuid), ("name", CompactString("utf-8")), ("tags", TaggedFields))),
        ("allow_auto_topic_creation", Boolean),
        ("include_topic_authorized_operations", Boolean),
        ("tags", TaggedFields),
    )


class TopicIdsRequest(Request[MetadataRequest_v12]):
    """Metadata of ``names``, ids included; never creates a topic."""

    API_KEY = 3

    def __init__(self, names: list[str]):
        self.names = names

    def build(self, request_struct_class: type[MetadataRequest_v12]) -> MetadataRequest_v12:
        return request_struct_class([(ZERO, name, {}) for name in self.names], False, False, {})


def text(topic_id: uuid.UUID) -> str:
    """An id as Kafka's tools print it (``kafka-topics --describe``): URL-safe base64, unpadded."""
    return base64.urlsafe_b64encode(topic_id.bytes).rstrip(b"=").decode()


def ids_of(response: dict[str, Any]) -> dict[str, str]:
    """{name: id} of the topics a Metadata response describes with an id (no error, not the zero id)."""
    return {t["name"]: text(t["topic_id"]) for t in response["topics"]
            if t["error_code"] == 0 and t["name"] and t["topic_id"] != ZERO}


def key(name: str, topic_id: str | None) -> str:
    """The name a topic's bookkeeping is written under: ``name@id``, the name alone when the id is unknown."""
    return f"{name}@{topic_id}" if topic_id else name


async def topic_ids(bootstrap: str, names: list[str], timeout_s: float = 5.0) -> dict[str, str]:
    """{name: id} of the topics of ``names`` that exist. Raises when no broker answers, or when
    the brokers are older than Kafka 3.1 (no Metadata v12)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, client_id="sluice-topic-ids",
                            request_timeout_ms=int(timeout_s * 1000))
    await client.bootstrap()
    try:
        response = await client.send(client.get_random_node(), TopicIdsRequest(names))
    finally:
        await client.close()
    return ids_of(response.to_object())


Lookup = Callable[[str, list[str]], Awaitable[dict[str, str]]]


class TopicKeys:
    """Each topic name's bookkeeping key (``key``), read from Kafka when ``refresh`` is called: when
    a partition starts, which is when a worker can first meet a recreated topic's records.

    When Kafka does not answer, or does not know the topic (yet), the key read last stays: the
    records in hand were read from that topic a moment ago. A name never resolved is its own key
    (``resolved`` says which are), as before topic ids were read, unless the caller ``adopt``s the
    key its bookkeeping was last written under."""

    def __init__(self, bootstrap: str, lookup: Lookup = topic_ids):
        self.bootstrap = bootstrap
        self._lookup = lookup
        self._keys: dict[str, str] = {}

    async def refresh(self, names: set[str] | list[str]) -> None:
        names = sorted(set(names))
        try:
            ids = await self._lookup(self.bootstrap, names)
        except Exception as exc:
            log.warning("topic ids of %s not read from Kafka, keeping the last known: %r", names, exc)
            return
        for name in names:
            if name in ids:
                new = key(name, ids[name])
                old = self._keys.get(name)
                if old is not None and old != new:
                    log.warning("topic %s was recreated (%s, was %s): its bookkeeping starts again", name, new, old)
                self._keys[name] = new

    def key(self, name: str) -> str:
        return self._keys.get(name, name)

    def resolved(self, name: str) -> bool:
        return name in self._keys

    def adopt(self, name: str, key: str) -> None:
        """Take ``key`` for ``name`` until Kafka gives an id (one already read is kept)."""
        self._keys.setdefault(name, key)
