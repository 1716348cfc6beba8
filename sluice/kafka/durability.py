"""How durable each Sluice topic must be, and whether an existing one is: pure decisions, no I/O.

A record the gateway answered 2xx for was acknowledged by Kafka with
``acks=all``: it is on every in-sync replica, and ``min.insync.replicas`` is
the least number of those Kafka accepts before it refuses writes. A topic
created earlier with a lower replication factor or a lower min.insync.replicas
than configured would quietly break that promise, so ``ensure_topics``
(sluice/kafka/clients.py) refuses to start against one, with ``weakness``'s
one-line message. Fewer partitions than configured weaken no promise, only the
workers' parallelism (a topic a client auto-created, one an operator sized on
purpose): ``narrower`` words a warning and Sluice starts, as ``idle_workers`` does
for a topic with fewer partitions than workers to share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sluice.settings import Settings

MIN_INSYNC = "min.insync.replicas"


class TopicDurabilityError(ValueError):
    """An existing topic is weaker than configured, or a topic could not be created as configured.
    Its message is one line a person can act on; services exit with status 2 on it."""


@dataclass(frozen=True)
class Durability:
    partitions: int
    replication: int
    min_insync: int


def min_insync_replicas(settings: Settings) -> int:
    """The configured min.insync.replicas: the setting, or when it is 0 (the default) 2 for a
    replication factor of 3 or more and 1 below (where 2 would stop writes at the first broker down)."""
    replication = settings.topic_replication
    if replication < 1:
        raise ValueError(f"setting topic_replication: expected 1 or more, got {replication}")
    wanted = settings.topic_min_insync_replicas or (2 if replication >= 3 else 1)
    if not 1 <= wanted <= replication:
        raise ValueError(f"setting topic_min_insync_replicas: expected 1 to topic_replication ({replication}), "
                         f"got {wanted}: more would refuse every write")
    return wanted


def wanted(settings: Settings) -> dict[str, Durability]:
    """Every Sluice topic with the durability the settings ask for. The compacted ones (registry,
    secrets) have one partition: their readers replay them whole, in order."""
    min_insync = min_insync_replicas(settings)
    streams = (settings.ingest_topic, settings.native_topic, settings.dlq_topic, settings.slow_topic,
               settings.overflow_topic)
    topics = {name: Durability(settings.topic_partitions, settings.topic_replication, min_insync)
              for name in streams}
    topics.update((name, Durability(1, settings.topic_replication, min_insync))
                  for name in (settings.registry_topic, settings.secrets_topic))
    return topics


def found(metadata: Mapping[str, Any], configs: Mapping[str, str]) -> Durability | None:
    """An existing topic's durability from its metadata (aiokafka's ``describe_topics`` entry: the
    partitions with their replica lists) and its effective configs (name to value). None when the
    metadata lists no partitions, e.g. a topic being deleted: nothing to judge."""
    partitions = metadata.get("partitions") or []
    if not partitions:
        return None
    return Durability(
        partitions=len(partitions),
        replication=min(len(p["replicas"]) for p in partitions),
        min_insync=int(configs.get(MIN_INSYNC, "1")),  # absent: Kafka's default, 1
    )


def weakness(topic: str, have: Durability, want: Durability, bootstrap: str) -> str | None:
    """None when ``have`` is at least ``want`` on every count; else one line naming the topic, the
    setting, the value found and the one configured, and the two ways out."""
    admin = f"--bootstrap-server {bootstrap.split(',')[0]}"
    if have.replication < want.replication:
        return (f"topic {topic} has replication factor {have.replication}, configured {want.replication}: "
                f"add replicas with kafka-reassign-partitions {admin} --execute, "
                f"or set SLUICE_TOPIC_REPLICATION={have.replication}")
    if have.min_insync < want.min_insync:
        return (f"topic {topic} has {MIN_INSYNC}={have.min_insync}, configured {want.min_insync}: "
                f"raise it with kafka-configs {admin} --alter --entity-type topics --entity-name {topic} "
                f"--add-config {MIN_INSYNC}={want.min_insync}, "
                f"or set SLUICE_TOPIC_MIN_INSYNC_REPLICAS={have.min_insync}")
    return None


def narrower(topic: str, have: Durability, want: Durability, bootstrap: str) -> str | None:
    """None unless ``have`` has fewer partitions than ``want``; then one line for a warning: at most
    that many workers share the topic, until partitions are added."""
    if have.partitions >= want.partitions:
        return None
    admin = f"--bootstrap-server {bootstrap.split(',')[0]}"
    return (f"topic {topic} has {have.partitions} partitions, configured {want.partitions}: at most "
            f"{have.partitions} workers share it; add partitions with kafka-topics {admin} --alter --topic {topic} "
            f"--partitions {want.partitions}, or set SLUICE_TOPIC_PARTITIONS={have.partitions}")


def idle_workers(topic: str, partitions: int, workers: int) -> str | None:
    """None unless ``topic`` has fewer partitions than there are workers; then one line for a warning:
    a partition is consumed by one member of the group, so the workers beyond that many idle on it."""
    if partitions >= workers:
        return None
    return (f"topic {topic} has {partitions} partitions for {workers} workers: {workers - partitions} of them "
            f"get none of it; add partitions (kafka-topics --alter --topic {topic} --partitions {workers}) "
            f"or run at most {partitions} workers")
