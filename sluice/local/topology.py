"""``sluice up``: the whole pipeline on one machine.

Processes: the Kafka broker (JVM; with ``--brokers N`` a KRaft cluster of N,
sluice/local/cluster.py), one gateway process and one worker process (and
Redis, with several gateways). The worker owns the embedded
ClickHouse engine, since chDB allows one engine per data directory and the
worker is the one that writes; everything else reads through it. Two Python
processes keep both cores busy: the gateway parses and publishes while the
worker normalizes and inserts (``--workers N``: sluice/local/worker_group.py).

Whichever process exits is started again (sluice/local/supervisor.py). All of them
run with umask 077 in a 0700 state directory (sluice/private.py), and gateways
never get the master key.
"""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Callable, Mapping

from sluice import registry as registry_topic
from sluice import private, secrets
from sluice.kafka.clients import ensure_topics
from sluice.kafka.durability import TopicDurabilityError, min_insync_replicas
from sluice.keys import new_key, now_iso
from sluice.local import cluster, kafka, worker_group
from sluice.local import redis as local_redis
from sluice.local.supervisor import Supervised
from sluice.settings import Secret, Settings
from schemas.registry import TenantRecord


def broker_for(settings: Settings) -> kafka.LocalBroker | cluster.LocalCluster:
    """The local broker the settings describe: one node (``local_brokers`` 1), else a cluster whose
    node i listens on the bootstrap port + 2i and the controller port + 2i."""
    port = int(settings.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])
    libs = kafka.fetch(settings.cache_dir, settings.kafka_version)
    if settings.local_brokers > 1:
        nodes = range(settings.local_brokers)
        config = cluster.ClusterConfig(
            state_dir=settings.state_dir / "kafka-cluster",
            ports=tuple(port + 2 * i for i in nodes),
            controller_ports=tuple(settings.local_broker_controller_port + 2 * i for i in nodes),
            partitions=settings.topic_partitions,
            max_record_bytes=settings.max_record_bytes,
        )
        return cluster.LocalCluster(config, libs)
    config = kafka.BrokerConfig(
        state_dir=settings.state_dir / "kafka",
        port=port,
        controller_port=settings.local_broker_controller_port,
        partitions=settings.topic_partitions,
        max_record_bytes=settings.max_record_bytes,
    )
    return kafka.LocalBroker(config, libs)


def with_local_brokers(settings: Settings, brokers: int) -> Settings:
    """The settings for ``sluice up --brokers N``: the bootstrap names every node, topics get
    replication min(3, N) and min.insync.replicas 2 from three nodes on (sluice/local/cluster.py).
    One broker keeps the settings as they are."""
    if brokers < 1:
        raise ValueError(f"--brokers: expected 1 or more, got {brokers}")
    if brokers == 1:
        return settings.replace(local_brokers=1)
    if not settings.local_broker:
        raise ValueError(f"--brokers {brokers} runs local brokers, but SLUICE_LOCAL_BROKER is false: "
                         "set the remote cluster's SLUICE_KAFKA_BOOTSTRAP and SLUICE_TOPIC_REPLICATION instead")
    host, port = settings.kafka_bootstrap.split(",")[0].rsplit(":", 1)
    bootstrap = ",".join(f"{host}:{int(port) + 2 * i}" for i in range(brokers))
    return settings.replace(local_brokers=brokers, kafka_bootstrap=bootstrap,
                            topic_replication=cluster.replication_for(brokers),
                            topic_min_insync_replicas=cluster.min_insync_for(brokers))


def durability_line(settings: Settings) -> str:
    """What an acknowledged write survives with these settings, said once at start."""
    replication = settings.topic_replication
    if replication == 1:
        return ("topics have replication factor 1: one copy of each record, so a broker's disk loss loses "
                "data (`sluice up --brokers 3` keeps three copies)")
    return (f"topics have replication factor {replication} and min.insync.replicas "
            f"{min_insync_replicas(settings)}: a 2xx means that many copies at least")


def redis_for(settings: Settings) -> local_redis.LocalRedis:
    home = local_redis.fetch(settings.cache_dir)
    return local_redis.LocalRedis(home, settings.local_redis_port, settings.state_dir / "redis")


@dataclass(frozen=True)
class DevCredentials:
    key: str  # for AstraLog, LogTrace, LogInformant
    logflux_key: str  # LogFlux requires the lf_ prefix
    logflux_secret: str  # the tenant's encryption secret


async def bootstrap_dev_tenant(settings: Settings) -> DevCredentials | None:
    """On a registry without tenants, create tenant ``dev`` with keys and a LogFlux secret."""
    current = await registry_topic.load_registry(settings)
    if current.tenants:
        return None
    key, record = new_key("dev")
    lf_key, lf_record = new_key("dev", prefix="lf_")
    await registry_topic.publish(settings, TenantRecord("dev", now_iso()), record, lf_record)
    secret = secrets.generate()
    await secrets.add(settings, "dev", secret.encode())
    return DevCredentials(key, lf_key, secret)


# Settings a role's process must not hold. The master key opens every tenant's
# LogFlux secrets; a gateway faces the Internet and only publishes.
WITHHELD = {"gateway": frozenset({"secrets_key"})}


def child_env(settings: Settings, role: str, inherited: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment of a ``sluice <role>`` child: the inherited one without its SLUICE_* variables
    (SLUICE_CONFIG included, whose file may name the master key), plus the resolved settings
    except those ``WITHHELD`` from the role."""
    withheld = {f"SLUICE_{name.upper()}" for name in WITHHELD.get(role, ())}
    env = private.without_settings(inherited)
    env.update((name, value) for name, value in settings.to_env().items() if name not in withheld)
    return env


def _spawn(settings: Settings, role: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sluice", role], env=child_env(settings, role),
                            umask=private.UMASK)


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url} process exited with {proc.returncode}")
        try:
            # Our own child, probed for liveness: its HTTPS certificate names the public host, not 127.0.0.1.
            with urllib.request.urlopen(url, timeout=1, context=ssl._create_unverified_context()) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f}s")


def stop_process(proc: subprocess.Popen, timeout_s: float) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _say(message: str) -> None:
    print(f"sluice: {message}", file=sys.stderr, flush=True)


def _alarm(message: str) -> None:
    _say(f"ALERT: {message}")


def _started(server: kafka.LocalBroker | cluster.LocalCluster | local_redis.LocalRedis):
    server.start()
    return server


def up(settings: Settings) -> int:
    """Run the broker, Redis when gateways share limits, the worker and the gateways until SIGINT or
    SIGTERM, restarting whichever exits (sluice/local/supervisor.py). 0 after a requested stop, 1 when
    start-up failed, 2 when a topic is weaker than configured (sluice/kafka/durability.py)."""
    try:
        worker_group.check(settings)  # before anything starts: several workers need a ClickHouse server
    except worker_group.WorkerGroupError as exc:
        _say(str(exc))
        return 1
    private.restrict_umask()
    try:
        opened = private.secure_dir(settings.state_dir)
    except private.StateDirError as exc:
        _say(str(exc))
        return 1
    if opened is not None:
        _say(f"the state directory {settings.state_dir} had mode {opened:04o}, open to other users; "
             "it is 0700 again")
    units: list[tuple[Supervised, Callable[[Supervised], None]]] = []  # in start order

    def run(name: str, start: Callable, stop: Callable[[Supervised], None], impact: str,
            log: Callable[[str], None] = _say) -> Supervised:
        unit = Supervised(name, start, log, impact)
        units.append((unit, stop))
        unit.start()
        return unit

    def stop_child(timeout_s: float) -> Callable[[Supervised], None]:
        return lambda unit: unit.handle is not None and stop_process(unit.handle, timeout_s)

    stopping = False
    status = 0
    try:
        if settings.local_broker:
            broker = broker_for(settings)
            several = isinstance(broker, cluster.LocalCluster)
            _say(f"starting Kafka {settings.kafka_version} on {settings.kafka_bootstrap}"
                 + (f" ({settings.local_brokers} brokers)" if several else ""))
            impact = ("writes go on while a majority of its nodes run, else gateways answer 503; see "
                      f"{broker.log_files}" if several else
                      f"nothing is accepted (gateways answer 503) or stored until it is back; see {broker.log_file}")
            # The cluster is one unit: a node that dies is reported, and start() brings back the missing ones.
            run("a node of the Kafka cluster" if several else "the Kafka broker", lambda: _started(broker),
                lambda unit: broker.stop(), impact, log=_alarm)
        _say(durability_line(settings))
        asyncio.run(ensure_topics(settings))
        if settings.local_workers > 1:
            for line in worker_group.partition_warnings(settings, asyncio.run(worker_group.found_partitions(settings))):
                _say(f"warning: {line}")
        if settings.gateway_processes > 1 and settings.rate_limits and not settings.rate_limit_redis_url:
            redis = redis_for(settings)
            _say(f"starting Redis on {redis.url} for {settings.gateway_processes} gateways' rate limits")
            run("redis", lambda: _started(redis), lambda unit: redis.stop(),
                "until it is back, gateways fail open or answer 503 as SLUICE_RATE_LIMIT_FAIL_OPEN says")
            settings = settings.replace(rate_limit_redis_url=Secret(redis.url))
        # The worker refuses to start without the master key: create <state_dir>/secrets.key (0600) on a first run.
        secrets.master_key(settings, create=True)
        children = settings  # the settings every child gets, the shared Redis included
        if settings.local_workers > 1:
            worker_group.migrate_once(settings)
        workers = worker_group.start(children, run, lambda own: _spawn(own, "worker"))
        lost = ("the other gateways take its connections" if settings.gateway_processes > 1
                else "nothing is accepted until it is back")
        gateways = [run(f"gateway {n}", lambda: _spawn(children, "gateway"), stop_child(30), lost)
                    for n in range(1, settings.gateway_processes + 1)]
        for gateway in gateways:
            wait_http(settings.gateway_url + "/health", 60, gateway.handle)
        for own, worker in zip(worker_group.members(children), workers):
            wait_http(own.worker_url + "/health", 120, worker.handle)
        dev = asyncio.run(bootstrap_dev_tenant(settings))
        _banner(settings, dev)

        def _stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not stopping:
            for unit, _ in units:
                unit.check()
            time.sleep(0.5)
    except TopicDurabilityError as exc:  # a topic weaker than configured: no start, and no traceback
        _say(str(exc))
        status = 2
    except RuntimeError as exc:  # the broker, Redis, the master key, a child that could not start
        _say(str(exc))
        status = 1
    finally:
        _say("stopping ...")
        # Gateways first, so nothing new is accepted, then the workers flush and commit, then the servers.
        for unit, stop in reversed(units):
            stop(unit)
        restarted = ", ".join(f"{unit.name} {unit.restarts}" for unit, _ in units if unit.restarts)
        if restarted:
            _say(f"restarts while running: {restarted}")
    return status


def _banner(settings: Settings, dev: DevCredentials | None) -> None:
    url = settings.gateway_url
    key_line = (f"  dev API key (tenant dev): {dev.key}\n"
                f"  LogFlux key: {dev.logflux_key}   LogFlux encryption secret: {dev.logflux_secret}\n"
                if dev else "  create a key with: sluice keys create --tenant dev\n")
    print(
        "\nSluice is running.\n"
        f"{key_line}"
        f"  AstraLog      POST {url}/v1/drain            Authorization: <key>\n"
        f"  LogTrace      POST {url}/v1/logs/ingest      Authorization: Bearer <key>\n"
        f"  LogInformant  POST {url}/api/ingest[/batch]  X-API-Key: <key>\n"
        f"  LogFlux       POST {url}/v1/ingest, /v1/batch Authorization: Bearer <lf_ key>\n"
        f"  OTLP/HTTP     POST {url}/v1/logs               Authorization: Bearer <key>\n"
        f"  Logstash      tcp/udp {settings.logstash_host}:{settings.logstash_tcp_port} json_lines, \"sluice_token\": <key>\n"
        f"  Profound      POST {url}/v1/logs/custom        x-api-key: <key>\n"
        f"  metrics       {url}/metrics  {'  '.join(w.worker_url + '/metrics' for w in worker_group.members(settings))}\n"
        f"  search        sluice query 'level:ERROR' --from -1h    (or POST {url}/v1/logs/query)\n"
        f"  SQL           sluice sql \"SELECT count() FROM {settings.clickhouse_database}.logs WHERE TenantId != ''\"\n"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
