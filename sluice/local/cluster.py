"""Several real Kafka brokers on this machine: a KRaft cluster from the same jars as ``LocalBroker``.

Every node is broker and controller in one JVM (combined mode) with its own
port, controller port, node id and state directory ``<state_dir>/node-<id>``;
the controllers form a static quorum (``controller.quorum.voters``), so all
nodes are formatted with one cluster id, kept in ``<state_dir>/cluster.id``
(0600) until the directory is removed. Kafka's own topics and the default for
new topics get replication min(3, N) and min.insync.replicas 2 from three
nodes on: a write acknowledged with acks=all is then on two disks.

``kill(i)`` and ``start(i)`` act on one node (by index, 0-based) for fault
drills; ``start()`` brings up every node that is not running.
"""

from __future__ import annotations

import base64
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sluice import private
from sluice.local.kafka import BrokerConfig, BrokerError, LocalBroker


def replication_for(nodes: int) -> int:
    """The replication factor a cluster of ``nodes`` brokers gives its topics."""
    return min(3, nodes)


def min_insync_for(nodes: int) -> int:
    """min.insync.replicas for that cluster: 2 from three nodes on (one may fail, and an
    acknowledged write is still on two disks); 1 below, where 2 would stop writes at the first failure."""
    return 2 if nodes >= 3 else 1


@dataclass(frozen=True)
class ClusterConfig:
    state_dir: Path
    ports: tuple[int, ...]  # one client port per node
    controller_ports: tuple[int, ...]  # one controller port per node
    partitions: int = 4
    max_record_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if not self.ports or len(self.ports) != len(self.controller_ports):
            raise ValueError(f"a local Kafka cluster needs as many controller ports as ports, and at least one: "
                             f"got {list(self.ports)} and {list(self.controller_ports)}")
        every = [*self.ports, *self.controller_ports]
        if len(set(every)) != len(every):
            raise ValueError(f"the local Kafka cluster's ports must differ: {every}")

    @property
    def size(self) -> int:
        return len(self.ports)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    @property
    def voters(self) -> str:
        return ",".join(f"{i + 1}@127.0.0.1:{port}" for i, port in enumerate(self.controller_ports))

    def node(self, index: int, cluster_id: str) -> BrokerConfig:
        """The configuration of node ``index`` (node id ``index + 1``)."""
        return BrokerConfig(
            state_dir=self.state_dir / f"node-{index + 1}",
            port=self.ports[index],
            controller_port=self.controller_ports[index],
            partitions=self.partitions,
            max_record_bytes=self.max_record_bytes,
            node_id=index + 1,
            voters=self.voters,
            cluster_id=cluster_id,
            replication=replication_for(self.size),
            min_insync=min_insync_for(self.size),
        )


def new_cluster_id() -> str:
    """A Kafka cluster id as ``StorageTool random-uuid`` prints it: 16 random bytes, URL-safe base64
    without padding, never starting with '-' (Kafka's Uuid.randomUuid avoids those: they read as options)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


class LocalCluster:
    """Owns ``config.size`` broker processes whose state lives under ``config.state_dir``."""

    def __init__(self, config: ClusterConfig, libs: Path):
        self.config = config
        self.dir = config.state_dir
        self.dir.mkdir(parents=True, exist_ok=True, mode=private.DIR_MODE)
        cluster_id = self._cluster_id()
        self.nodes = [LocalBroker(config.node(i, cluster_id), libs) for i in range(config.size)]

    @property
    def log_files(self) -> str:
        return str(self.dir / "node-*" / "broker.log")

    def _cluster_id(self) -> str:
        path = self.dir / "cluster.id"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            cluster_id = new_cluster_id()
            private.write_text(path, cluster_id)
            return cluster_id

    def start(self, index: int | None = None, timeout_s: float = 120.0) -> None:
        """Start node ``index``, or every node not running; return once each started one serves.
        All are launched before any is waited for: a node is ready only once a quorum of controllers runs.
        On failure the nodes this call launched are stopped again."""
        chosen = self.nodes if index is None else [self.nodes[index]]
        launched = [(node, offset) for node in chosen if (offset := node.launch()) is not None]
        deadline = time.monotonic() + timeout_s
        try:
            for node, offset in launched:
                node.wait_ready(offset, deadline)
        except BrokerError:
            for node, _ in launched:
                node.stop()
            raise

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` (no controlled shutdown, as in a crash) and collect it."""
        node = self.nodes[index]
        pid = node.running_pid()
        if pid is None:
            raise BrokerError(f"Kafka node {index + 1} is not running")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while node.running_pid() is not None:  # collects our child; gone within milliseconds
            if time.monotonic() > deadline:
                raise BrokerError(f"Kafka node {index + 1} (pid {pid}) survived SIGKILL")
            time.sleep(0.02)

    def stop(self, index: int | None = None, timeout_s: float = 30.0) -> None:
        """Stop node ``index``, or every node. All are sent SIGTERM at once: stopped one after another,
        the last ones would wait for a quorum that is gone before they give up."""
        chosen = self.nodes if index is None else [self.nodes[index]]
        for node in chosen:
            if (pid := node.running_pid()) is not None:
                os.kill(pid, signal.SIGTERM)
        for node in chosen:
            node.stop(timeout_s)

    def running(self) -> list[bool]:
        """Whether each node's process runs, by index."""
        return [node.running_pid() is not None for node in self.nodes]

    def poll(self) -> int | None:
        """None while every node runs; else the exit status of the first that ended (-1 when unknown).
        A supervisor that sees it restarts the cluster with ``start()``, which starts only the missing nodes."""
        for node in self.nodes:
            status = node.poll()
            if status is not None:
                return status
        return None
