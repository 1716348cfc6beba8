"""Topic ids without a broker: the Metadata v12 wire form, and the keys a recreation changes."""

from __future__ import annotations

import uuid
from io import BytesIO

from sluice.kafka.topic_ids import (ZERO, MetadataResponse_v12, TopicIdsRequest, TopicKeys, ids_of, key,
                                    text)


def test_the_request_names_the_topics_and_never_creates_one():
    struct = TopicIdsRequest(["a", "b"]).prepare({3: (4, 13)})
    assert struct.API_VERSION == 12 and struct.FLEXIBLE_VERSION
    decoded = type(struct).SCHEMA.decode(BytesIO(struct.encode()))
    assert decoded == ([(ZERO, "a", {}), (ZERO, "b", {})], False, False, {})


def test_ids_come_from_a_response_and_errors_or_zero_ids_are_left_out():
    known, internal = uuid.uuid4(), uuid.uuid4()
    partition = (0, 0, 1, 0, [1], [1], [], {})
    wire = MetadataResponse_v12.SCHEMA.encode((
        0, [(1, "localhost", 9092, None, {})], "cluster", 1,
        [(0, "logs", known, False, [partition], 0, {}),
         (3, "missing", ZERO, False, [], 0, {}),  # UNKNOWN_TOPIC_OR_PARTITION
         (0, "old-broker", ZERO, False, [partition], 0, {}),
         (0, "__consumer_offsets", internal, True, [partition], 0, {})],
        {}))
    response = MetadataResponse_v12(*MetadataResponse_v12.SCHEMA.decode(BytesIO(wire)))
    assert ids_of(response.to_object()) == {"logs": text(known), "__consumer_offsets": text(internal)}


def test_an_id_prints_as_kafka_prints_it():
    assert text(uuid.UUID(int=0)) == "AAAAAAAAAAAAAAAAAAAAAA"
    assert text(uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")) == "_____________________w"
    assert key("logs", "abc") == "logs@abc" and key("logs", None) == "logs"


async def test_keys_follow_a_recreation_and_survive_an_unanswered_lookup():
    answers: list[dict[str, str] | Exception] = [{"logs": "one"}, {"logs": "two"}, OSError("refused"), {}]
    asked: list[list[str]] = []

    async def lookup(bootstrap, names):
        asked.append(names)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    keys = TopicKeys("kafka:9092", lookup)
    assert keys.key("logs") == "logs"  # never resolved: the bare name
    await keys.refresh(["logs", "logs"])
    assert keys.key("logs") == "logs@one" and asked == [["logs"]]
    await keys.refresh({"logs"})
    assert keys.key("logs") == "logs@two"  # recreated
    await keys.refresh(["logs"])  # Kafka did not answer
    assert keys.key("logs") == "logs@two"
    await keys.refresh(["logs"])  # Kafka does not know it (being deleted)
    assert keys.key("logs") == "logs@two"
