"""Three real Kafka brokers (sluice/local/cluster.py): durable topics, a weak topic refused, and
the broker-failure scenario of issue 26 (one broker killed: still 202; two: 503; both back: 202,
and every record answered 2xx stored exactly once).

The scenario runs about two minutes: it is in ``make test-faults`` (marker ``faults``); the
topic checks run in ``make test``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from sluice.kafka.clients import ensure_topics
from sluice.kafka.durability import TopicDurabilityError, wanted
from sluice.local import kafka as local
from sluice.local.cluster import ClusterConfig, LocalCluster
from sluice.secrets import master_key
from sluice.settings import Settings, load_settings
from tests.integration.conftest import pipeline_settings
from tests.integration.test_faults import Load, audit, report
from tests.support import free_port, post, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kafka_cluster(tmp_path_factory):
    """Three brokers (each also a controller) on free loopback ports; the fault test kills and restarts nodes."""
    base = load_settings(environ={})
    config = ClusterConfig(tmp_path_factory.mktemp("kafka-cluster"), ports=tuple(free_port() for _ in range(3)),
                           controller_ports=tuple(free_port() for _ in range(3)))
    cluster = LocalCluster(config, local.fetch(base.cache_dir, base.kafka_version))
    cluster.start()
    yield cluster
    cluster.stop()


async def _admin(settings: Settings, work):
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="test-cluster")
    await admin.start()
    try:
        return await work(admin)
    finally:
        await admin.close()


def describe(settings: Settings, topics: list[str]) -> dict[str, tuple[list[dict], str | None]]:
    """Each topic's partitions (leader, replicas, isr) and its effective min.insync.replicas
    (None while the broker asked does not know the topic's configuration yet)."""
    async def work(admin):
        metadata = {t["topic"]: t["partitions"] for t in await admin.describe_topics(topics)}
        resources = [ConfigResource(ConfigResourceType.TOPIC, t, configs={"min.insync.replicas": None})
                     for t in topics]
        configs = {}
        for response in await admin.describe_configs(resources):
            for resource in response.to_object()["resources"]:
                entries = resource["config_entries"]
                configs[resource["resource_name"]] = entries[0]["config_value"] if entries else None
        return {t: (metadata[t], configs.get(t)) for t in topics}
    return asyncio.run(_admin(settings, work))


def test_topics_are_created_with_three_copies_two_of_them_required(kafka_cluster, tmp_path):
    s = pipeline_settings(kafka_cluster.config.bootstrap, tmp_path, topic_replication=3)
    asyncio.run(ensure_topics(s))
    topics = wanted(s)

    def described() -> dict | None:
        # A broker learns of a new topic from the controller a moment after its creation was
        # acknowledged: until then it describes the topic with no partitions, or no configuration.
        found = describe(s, list(topics))
        return found if all(partitions and min_insync for partitions, min_insync in found.values()) else None

    found = wait_for(described, 30, what="every broker to know the new topics' partitions")
    for topic, (partitions, min_insync) in found.items():
        assert len(partitions) == topics[topic].partitions, topic
        assert all(sorted(p["replicas"]) == [1, 2, 3] for p in partitions), (topic, partitions)
        assert min_insync == "2", topic
    asyncio.run(ensure_topics(s))  # a second start finds them as wanted


def _create(settings: Settings, topic: str, replication: int, min_insync: int) -> None:
    async def work(admin):
        await admin.create_topics([NewTopic(topic, settings.topic_partitions, replication,
                                            topic_configs={"min.insync.replicas": str(min_insync)})])
    asyncio.run(_admin(settings, work))


@pytest.mark.parametrize("replication, min_insync, complaint", [
    (3, 1, "has min.insync.replicas=1, configured 2"),
    (1, 1, "has replication factor 1, configured 3"),
])
def test_ensure_topics_refuses_an_existing_weaker_topic(kafka_cluster, tmp_path, replication, min_insync, complaint):
    s = pipeline_settings(kafka_cluster.config.bootstrap, tmp_path, topic_replication=3)
    _create(s, s.ingest_topic, replication, min_insync)
    with pytest.raises(TopicDurabilityError) as refused:
        asyncio.run(ensure_topics(s))
    message = str(refused.value)
    assert message.startswith(f"topic {s.ingest_topic} {complaint}: ") and "\n" not in message


@pytest.mark.parametrize("role", ["worker", "gateway"])
def test_services_refuse_to_start_against_a_weak_topic_with_one_line(kafka_cluster, tmp_path, role):
    s = pipeline_settings(kafka_cluster.config.bootstrap, tmp_path, topic_replication=3)
    _create(s, s.ingest_topic, 3, 1)
    master_key(s, create=True)
    done = subprocess.run([sys.executable, "-m", "sluice", role], env=s.to_env() | _path_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"sluice {role}: topic {s.ingest_topic} has min.insync.replicas=1, configured 2: " in done.stderr
    assert "Traceback" not in done.stderr


def _path_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}


# --- the fault scenario -------------------------------------------------------------------------------


class Probe:
    """One client sending requests one at a time, each retried under its own Idempotency-Key until
    a 2xx (as the SDKs do); what it is told 2xx joins ``load``'s acknowledged set for the audit."""

    def __init__(self, settings: Settings, key: str, load: Load):
        self.settings, self.key, self.load = settings, key, load
        self.r = 1_000_000  # above the load's request numbers
        self.attempts = 0

    def send(self) -> tuple[int, float]:
        """Send the current request once: its status and how long the answer took."""
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json",
                   "Idempotency-Key": f"load-{self.r}"}
        started = time.monotonic()
        status = post(self.settings.gateway_url + "/v1/logs/ingest", self.load.body(self.r), headers, timeout=30)[0]
        elapsed = time.monotonic() - started
        self.attempts += 1
        with self.load.lock:
            if status == 202:
                self.load.acknowledged.add(self.r)
                self.r, self.attempts = self.r + 1, 0
            else:  # sent again until a 2xx
                self.load.retried.add(self.r)
        return status, elapsed


def busiest_leader(settings: Settings) -> int:
    """The node id leading the ingest partition with the most records."""
    async def go():
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
        await consumer.start()
        try:
            return await consumer.end_offsets([TopicPartition(settings.ingest_topic, p)
                                               for p in range(settings.topic_partitions)])
        finally:
            await consumer.stop()
    ends = asyncio.run(go())
    busiest = max(ends, key=ends.get).partition
    (partitions, _), = describe(settings, [settings.ingest_topic]).values()
    return next(p["leader"] for p in partitions if p["partition"] == busiest)


def led_by(settings: Settings, node_id: int) -> bool:
    """Whether ``node_id`` still leads or is in the ISR of any ingest partition (True while the
    metadata still names the dead node, whose requests then fail)."""
    try:
        (partitions, _), = describe(settings, [settings.ingest_topic]).values()
    except KafkaError:
        return True
    return any(p["leader"] == node_id or node_id in p["isr"] for p in partitions)


@pytest.mark.faults
def test_two_of_three_brokers_killed_answers_503_and_loses_nothing_acknowledged(kafka_cluster, make_sluice):
    cluster = kafka_cluster
    sluice = make_sluice(cluster.config.bootstrap, topic_replication=3)
    s = sluice.settings
    load = Load(s.gateway_url, sluice.key, requests=1_000_000, per_request=50, threads=4, pause_s=0.02).start()
    probe = Probe(s, sluice.key, load)
    wait_for(lambda: len(load.acknowledged) >= 20, 60, what="202s with three brokers")
    assert probe.send()[0] == 202

    first = busiest_leader(s)
    killed_at = time.monotonic()
    cluster.kill(first - 1)
    # The controller fences the node (broker.session.timeout.ms) and moves its leaderships and ISR places.
    wait_for(lambda: not led_by(s, first), 60, 0.5, what=f"node {first} out of every leadership and ISR")
    elected_s = time.monotonic() - killed_at
    one_down = [probe.send()[0] for _ in range(5)]
    assert one_down == [202] * 5
    acknowledged_one_down = len(load.acknowledged)
    wait_for(lambda: len(load.acknowledged) >= acknowledged_one_down + 20, 60, what="the load going on")

    second = busiest_leader(s)
    cluster.kill(second - 1)
    status, first_503_s = probe.send()
    two_down = [status] + [probe.send()[0] for _ in range(2)]
    assert two_down == [500] * 3  # LogTrace's transient 500: one copy is not enough, no quorum left

    restarted_at = time.monotonic()
    cluster.start()  # both, launched together
    up_s = time.monotonic() - restarted_at
    wait_for(lambda: probe.send()[0] == 202, 120, 0.5, what="202 after both brokers are back")
    recovered_s = time.monotonic() - restarted_at
    wait_for(lambda: len(load.acknowledged) >= acknowledged_one_down + 60, 120, what="the load going on again")
    with load.lock:
        load.todo.clear()
    load.join(120)
    figures = audit(s, load, 300)
    report("2 of 3 brokers SIGKILLed (leaders of the busiest partition) and restarted", killed=[first, second],
           leadership_moved_s=round(elected_s, 1), first_503_s=round(first_503_s, 2),
           answers_one_down=one_down, answers_two_down=two_down, restart_s=round(up_s, 1),
           first_202_after_restart_s=round(recovered_s, 1), refused_requests=load.refused, **figures)
    assert load.refused > 0, "the outage did not hit the load"
    assert (figures["lost"], figures["duplicated"]) == (0, 0)
