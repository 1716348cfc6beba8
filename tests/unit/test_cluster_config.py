"""The local Kafka cluster's configuration and the topic durability decision, without a broker."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from sluice.cli import parser
from sluice.kafka import durability
from sluice.kafka.durability import Durability, found, min_insync_replicas, wanted, weakness
from sluice.local import cluster, kafka, topology
from sluice.settings import load_settings


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_a_single_broker_stays_a_standalone_node_with_one_copy(tmp_path):
    single = props(kafka.BrokerConfig(state_dir=tmp_path, port=9092, controller_port=9093).server_properties())
    assert single["node.id"] == "1"
    assert single["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert "controller.quorum.voters" not in single
    assert single["offsets.topic.replication.factor"] == single["transaction.state.log.min.isr"] == "1"
    # Kafka's own default (1) stays: the single-broker path is what it was.
    assert "min.insync.replicas" not in single and "default.replication.factor" not in single


def test_three_nodes_share_one_static_quorum_and_keep_two_copies(tmp_path):
    config = cluster.ClusterConfig(tmp_path, ports=(9100, 9102, 9104), controller_ports=(9101, 9103, 9105))
    nodes = [props(config.node(i, "abc").server_properties()) for i in range(3)]
    assert config.bootstrap == "127.0.0.1:9100,127.0.0.1:9102,127.0.0.1:9104"
    assert [n["node.id"] for n in nodes] == ["1", "2", "3"]
    assert {n["controller.quorum.voters"] for n in nodes} == {"1@127.0.0.1:9101,2@127.0.0.1:9103,3@127.0.0.1:9105"}
    assert all("controller.quorum.bootstrap.servers" not in n for n in nodes)
    assert nodes[1]["listeners"] == "PLAINTEXT://127.0.0.1:9102,CONTROLLER://127.0.0.1:9103"
    assert len({n["log.dirs"] for n in nodes}) == 3
    for n in nodes:
        assert n["offsets.topic.replication.factor"] == n["default.replication.factor"] == "3"
        assert n["min.insync.replicas"] == n["transaction.state.log.min.isr"] == "2"
    assert config.node(2, "abc").cluster_id == "abc"


@pytest.mark.parametrize("nodes, replication, min_insync", [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 3, 2)])
def test_replication_grows_to_three_copies_and_two_must_acknowledge_from_three_nodes(nodes, replication, min_insync):
    assert (cluster.replication_for(nodes), cluster.min_insync_for(nodes)) == (replication, min_insync)


@pytest.mark.parametrize("ports, controllers", [((9100, 9102), (9101,)), ((), ()), ((9100, 9101), (9101, 9103))])
def test_a_cluster_with_missing_or_shared_ports_is_refused(tmp_path, ports, controllers):
    with pytest.raises(ValueError, match="ports"):
        cluster.ClusterConfig(tmp_path, ports=ports, controller_ports=controllers)


def test_cluster_ids_look_like_kafkas_and_are_kept(tmp_path):
    ids = {cluster.new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for text in ids:
        assert len(text) == 22 and not text.startswith("-")
        assert len(base64.urlsafe_b64decode(text + "==")) == 16
    config = cluster.ClusterConfig(tmp_path / "k", ports=(1, 3), controller_ports=(2, 4))
    first = cluster.LocalCluster(config, Path("/nonexistent"))
    again = cluster.LocalCluster(config, Path("/nonexistent"))
    assert first.nodes[0].config.cluster_id == again.nodes[1].config.cluster_id
    assert ((tmp_path / "k" / "cluster.id").stat().st_mode & 0o777) == 0o600


def test_sluice_up_with_three_brokers_names_them_all_and_asks_for_two_copies(tmp_path, monkeypatch):
    base = load_settings(environ={}, state_dir=tmp_path, kafka_bootstrap="127.0.0.1:19092",
                         local_broker_controller_port=19093)
    three = topology.with_local_brokers(base, 3)
    assert three.kafka_bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert (three.local_brokers, three.topic_replication, min_insync_replicas(three)) == (3, 3, 2)
    two = topology.with_local_brokers(base, 2)
    assert (two.topic_replication, min_insync_replicas(two)) == (2, 1)
    assert topology.with_local_brokers(base, 1) == base
    monkeypatch.setattr(kafka, "fetch", lambda cache_dir, version: tmp_path / "libs")
    built = topology.broker_for(three)
    assert isinstance(built, cluster.LocalCluster)
    assert [n.config.port for n in built.nodes] == [19092, 19094, 19096]
    assert [n.config.controller_port for n in built.nodes] == [19093, 19095, 19097]
    assert isinstance(topology.broker_for(base), kafka.LocalBroker)
    assert parser().parse_args(["up", "--brokers", "3"]).brokers == 3


def test_brokers_must_be_local_and_at_least_one(tmp_path):
    base = load_settings(environ={}, state_dir=tmp_path)
    with pytest.raises(ValueError, match="--brokers"):
        topology.with_local_brokers(base, 0)
    with pytest.raises(ValueError, match="SLUICE_LOCAL_BROKER is false"):
        topology.with_local_brokers(base.replace(local_broker=False), 3)


def test_the_start_says_what_a_2xx_survives():
    one = load_settings(environ={})
    assert "replication factor 1: one copy" in topology.durability_line(one)
    assert "disk loss loses data" in topology.durability_line(one)
    three = one.replace(topic_replication=3)
    assert "replication factor 3 and min.insync.replicas 2" in topology.durability_line(three)


@pytest.mark.parametrize("replication, setting, resolved", [(1, 0, 1), (2, 0, 1), (3, 0, 2), (5, 0, 2), (3, 3, 3),
                                                            (3, 1, 1)])
def test_min_insync_replicas_defaults_to_two_from_three_copies(replication, setting, resolved):
    s = load_settings(environ={"SLUICE_TOPIC_REPLICATION": str(replication),
                               "SLUICE_TOPIC_MIN_INSYNC_REPLICAS": str(setting)})
    assert min_insync_replicas(s) == resolved


@pytest.mark.parametrize("replication, setting", [(1, 2), (3, 4), (0, 0), (3, -1)])
def test_min_insync_replicas_beyond_the_copies_is_a_settings_error(replication, setting):
    s = load_settings(environ={}, topic_replication=replication, topic_min_insync_replicas=setting)
    with pytest.raises(ValueError, match="setting topic_"):
        min_insync_replicas(s)


def test_every_topic_is_wanted_with_the_settings_durability_and_compacted_ones_whole():
    s = load_settings(environ={}, topic_replication=3, topic_partitions=8)
    topics = wanted(s)
    assert topics[s.ingest_topic] == topics[s.overflow_topic] == Durability(8, 3, 2)
    assert topics[s.registry_topic] == topics[s.secrets_topic] == Durability(1, 3, 2)
    assert len(topics) == 7


def test_found_reads_replicas_partitions_and_the_effective_config():
    metadata = {"topic": "t", "error_code": 0, "partitions": [
        {"partition": 0, "leader": 1, "replicas": [1, 2, 3], "isr": [1, 2]},
        {"partition": 1, "leader": 2, "replicas": [2, 3], "isr": [2, 3]}]}
    assert found(metadata, {"min.insync.replicas": "2"}) == Durability(2, 2, 2)
    assert found(metadata, {}) == Durability(2, 2, 1)
    assert found({"topic": "t", "error_code": 3, "partitions": []}, {}) is None


WANT = Durability(partitions=4, replication=3, min_insync=2)


@pytest.mark.parametrize("have", [WANT, Durability(8, 3, 2), Durability(4, 5, 3), Durability(1, 3, 2)])
def test_a_topic_as_durable_or_more_passes(have):
    assert weakness("sluice-ingest", have, WANT, "127.0.0.1:9092") is None


def test_fewer_partitions_are_a_warning_naming_the_parallelism_not_a_refusal():
    assert durability.narrower("sluice-ingest", WANT, WANT, "127.0.0.1:9092") is None
    message = durability.narrower("sluice-ingest", Durability(2, 3, 2), WANT, "127.0.0.1:9092,127.0.0.1:9094")
    assert message is not None and "\n" not in message
    assert message.startswith("topic sluice-ingest has 2 partitions, configured 4: at most 2 workers")
    assert "SLUICE_TOPIC_PARTITIONS=2" in message and "--bootstrap-server 127.0.0.1:9092 " in message


@pytest.mark.parametrize("have, setting, numbers, env", [
    (Durability(4, 1, 1), "replication factor", ("1", "3"), "SLUICE_TOPIC_REPLICATION=1"),
    (Durability(4, 3, 1), "min.insync.replicas", ("=1", "2"), "SLUICE_TOPIC_MIN_INSYNC_REPLICAS=1"),
])
def test_a_weaker_topic_gets_one_line_naming_topic_setting_found_and_wanted(have, setting, numbers, env):
    message = weakness("sluice-ingest", have, WANT, "127.0.0.1:9092,127.0.0.1:9094")
    assert message is not None and "\n" not in message
    assert message.startswith("topic sluice-ingest has ")
    assert setting in message and f"configured {numbers[1]}" in message and numbers[0] in message
    assert env in message and "--bootstrap-server 127.0.0.1:9092 " in message


def test_the_durability_error_is_a_settings_error():
    # The CLI turns ValueError into one line and exit status 2 (sluice/cli.py main).
    assert issubclass(durability.TopicDurabilityError, ValueError)
