"""Topic ids read from the real broker (sluice/kafka/topic_ids.py): a recreated topic gets a new one."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from sluice.kafka.topic_ids import TopicKeys, topic_ids

pytestmark = pytest.mark.integration


async def recreate(bootstrap: str, name: str, partitions: int, timeout_s: float = 30.0) -> None:
    """Delete ``name`` and create it again with ``partitions``, waiting until both took effect."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-recreate")
    await admin.start()
    try:
        await admin.delete_topics([name])
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:  # deletion is asynchronous: creating too early fails with TopicAlreadyExists
            (described,) = await admin.describe_topics([name])
            if described["error_code"]:
                break
            assert asyncio.get_running_loop().time() < deadline, f"{name} still exists"
            await asyncio.sleep(0.2)
        while True:
            response = (await admin.create_topics([NewTopic(name, partitions, 1)])).to_object()
            (error,) = response["topic_errors"]
            if error["error_code"] == 0:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{name} not created again: {error}"
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def create(bootstrap: str, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-create")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


async def id_of(bootstrap: str, name: str, timeout_s: float = 30.0) -> str:
    """The topic's id once the broker answers with it (a new topic reaches the metadata a moment later)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while name not in (ids := await topic_ids(bootstrap, [name])):
        assert asyncio.get_running_loop().time() < deadline, f"no id for {name}"
        await asyncio.sleep(0.2)
    return ids[name]


async def test_a_recreated_topic_has_a_new_id_and_a_new_key(broker):
    bootstrap, name = broker.config.bootstrap, f"ids-{uuid.uuid4().hex[:8]}"
    await create(bootstrap, name, 2)
    first = await id_of(bootstrap, name)
    assert len(first) == 22  # Kafka's printed form: 16 bytes in URL-safe base64
    assert await topic_ids(bootstrap, [name, f"missing-{name}"]) == {name: first}  # an unknown topic: no id
    keys = TopicKeys(bootstrap)
    await keys.refresh([name])
    assert keys.key(name) == f"{name}@{first}"

    await recreate(bootstrap, name, 2)
    second = await id_of(bootstrap, name)
    assert second != first
    await keys.refresh([name])
    assert keys.key(name) == f"{name}@{second}"


async def test_without_a_broker_the_last_known_key_stays(broker):
    bootstrap, name = broker.config.bootstrap, f"ids-{uuid.uuid4().hex[:8]}"
    await create(bootstrap, name, 1)
    known = await id_of(bootstrap, name)
    keys = TopicKeys(bootstrap)
    await keys.refresh([name])
    keys.bootstrap = "127.0.0.1:1"  # nothing listens there
    await keys.refresh([name, "never-seen"])
    assert keys.key(name) == f"{name}@{known}"
    assert keys.key("never-seen") == "never-seen"
