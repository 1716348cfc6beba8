"""A real Apache Kafka broker for local use and tests, assembled from Maven Central.

``fetch`` resolves ``org.apache.kafka:kafka_2.13`` with Maven into a flat
classpath, cached per version. ``LocalBroker`` formats KRaft storage once
(broker and controller in one JVM, loopback only), starts it, waits for
"Kafka Server started" and stops it by pid. Alone it is a single-node cluster;
with ``voters`` it is one node of a static quorum (sluice/local/cluster.py).
The broker runs with umask 077: its segments hold tenants' logs (sluice/private.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sluice import private

READY_LINE = "Kafka Server started"
_JVM_OPTS = ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]


class BrokerError(RuntimeError):
    pass


def fetch(cache_dir: Path, version: str) -> Path:
    """Download the broker's jars (once) and return the directory holding them."""
    home = cache_dir / f"kafka-{version}"
    libs = home / "libs"
    if (home / ".complete").exists():
        return libs
    if shutil.which("mvn") is None:
        raise BrokerError("Maven (mvn) is needed to fetch the Kafka broker; install it first")
    home.mkdir(parents=True, exist_ok=True)
    pom = home / "pom.xml"
    pom.write_bytes(resources.files("sluice.local").joinpath("pom.xml").read_bytes())
    tmp = home / "libs.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [
        "mvn", "-q", "-B", "-f", str(pom),
        f"-Dkafka.version={version}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}",
        "-DincludeScope=runtime",
    ]
    print(f"sluice: fetching Apache Kafka {version} from Maven Central ...", file=sys.stderr)
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BrokerError(f"mvn failed to fetch Kafka {version}:\n{result.stdout}{result.stderr}")
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    (home / ".complete").write_text(version)
    return libs


@dataclass(frozen=True)
class BrokerConfig:
    state_dir: Path
    port: int = 9092
    controller_port: int = 9093
    partitions: int = 4
    max_record_bytes: int = 16 * 1024 * 1024
    # A node of a cluster: its id, the static quorum "1@127.0.0.1:9093,2@..." and the
    # cluster id every node is formatted with. Empty voters: a single node (--standalone).
    node_id: int = 1
    voters: str = ""
    cluster_id: str = ""
    # The replication factor and min.insync.replicas of Kafka's own topics (offsets,
    # transactions) and of topics created without them; a cluster node sets both.
    replication: int = 1
    min_insync: int = 1

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def server_properties(self) -> str:
        listeners = f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
        quorum = (("controller.quorum.voters", self.voters) if self.voters else
                  ("controller.quorum.bootstrap.servers", f"127.0.0.1:{self.controller_port}"))
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            quorum[0]: quorum[1],
            "listeners": listeners,
            "advertised.listeners": listeners,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str((self.state_dir / "data").resolve()),
            "num.partitions": str(self.partitions),
            "offsets.topic.replication.factor": str(self.replication),
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": str(self.replication),
            "transaction.state.log.min.isr": str(self.min_insync),
            "share.coordinator.state.topic.replication.factor": str(self.replication),
            "share.coordinator.state.topic.min.isr": str(self.min_insync),
            "group.initial.rebalance.delay.ms": "0",
            # Two cores: keep the thread pools and the cleaner's buffer small.
            "num.network.threads": "2",
            "num.io.threads": "2",
            "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
            "message.max.bytes": str(self.max_record_bytes),
            "replica.fetch.max.bytes": str(self.max_record_bytes),
            "auto.create.topics.enable": "false",
        }
        if self.voters:  # Kafka's defaults for topics created elsewhere (the consumer offsets too)
            props["default.replication.factor"] = str(self.replication)
            props["min.insync.replicas"] = str(self.min_insync)
        return "".join(f"{k}={v}\n" for k, v in props.items())


class LocalBroker:
    """Owns one broker process whose state lives under ``config.state_dir``."""

    def __init__(self, config: BrokerConfig, libs: Path):
        self.config = config
        self.libs = libs
        self.dir = config.state_dir
        self.pid_file = self.dir / "broker.pid"
        self.log_file = self.dir / "broker.log"
        self.process: subprocess.Popen | None = None  # the broker this object started, if any

    def _java(self, *args: str) -> list[str]:
        log4j = resources.files("sluice.local").joinpath("log4j2.properties")
        return [
            "java", *_JVM_OPTS,
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.dir / 'logs'}",
            "-cp", f"{self.libs}/*",
            *args,
        ]

    def _format(self) -> None:
        props = self.dir / "server.properties"
        private.write_text(props, self.config.server_properties())
        if (self.dir / "data" / "meta.properties").exists():
            return
        cluster_id = self.config.cluster_id or subprocess.run(
            self._java("kafka.tools.StorageTool", "random-uuid"),
            capture_output=True, text=True, check=True, umask=private.UMASK,
        ).stdout.strip().splitlines()[-1]
        # A static quorum (controller.quorum.voters) is formatted without --standalone.
        standalone = [] if self.config.voters else ["--standalone"]
        result = subprocess.run(
            self._java("kafka.tools.StorageTool", "format", *standalone, "-t", cluster_id,
                       "-c", str(props), "--ignore-formatted"),
            capture_output=True, text=True, umask=private.UMASK,
        )
        if result.returncode != 0:
            raise BrokerError(f"formatting KRaft storage failed:\n{result.stderr[-4000:]}")

    def running_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        _reap(pid)  # a killed broker we started is a zombie until collected, and would look alive
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def start(self, timeout_s: float = 90.0) -> None:
        """Format (once) and start the broker; return when it serves requests.
        Starting an already running broker is a no-op."""
        offset = self.launch()
        if offset is not None:
            self.wait_ready(offset, time.monotonic() + timeout_s)

    def launch(self) -> int | None:
        """Format (once) and start the JVM without waiting; the offset of its log where this run's
        lines begin (for ``wait_ready``), or None when it was running already. A cluster launches
        every node before it waits: a node is ready only once a quorum of controllers is up."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=private.DIR_MODE)
        if self.running_pid() is not None:
            return None
        self._format()
        log = os.fdopen(private.open_private(self.log_file, append=True), "ab")
        offset = self.log_file.stat().st_size
        proc = subprocess.Popen(
            self._java("kafka.Kafka", str(self.dir / "server.properties")),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, umask=private.UMASK, env=private.without_settings(os.environ),
        )
        log.close()  # the broker holds its own copy
        self.process = proc
        private.write_text(self.pid_file, str(proc.pid))
        return offset

    def wait_ready(self, offset: int, deadline: float) -> None:
        """Return once the broker launched at log ``offset`` logged "Kafka Server started";
        BrokerError (and the broker stopped) when it exits or the monotonic ``deadline`` passes."""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BrokerError(f"Kafka exited with {self.process.returncode}; see {self.log_file}")
            with open(self.log_file, "rb") as fh:
                fh.seek(offset)
                if READY_LINE.encode() in fh.read():
                    return
            time.sleep(0.25)
        self.stop()
        raise BrokerError(f"Kafka did not start in time; see {self.log_file}")

    def poll(self) -> int | None:
        """None while the broker runs; once it has ended, its exit status (-1 when another process started it)."""
        if self.process is not None:
            return self.process.poll()
        return None if self.running_pid() is not None else -1

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the broker this state directory's pid file names, if it runs."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            _reap(pid)
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
        self.pid_file.unlink(missing_ok=True)


def _reap(pid: int) -> None:
    """Collect the exit status when the broker is our child, so it is not a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
