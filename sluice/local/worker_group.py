"""Several worker processes under ``sluice up --workers N``: one consumer group sharing the partitions.

Every worker joins the group ``worker_group``; Kafka spreads each consumed
topic's partitions over the members and moves a member's partitions to the
others when it stops heart-beating (``kafka_session_timeout_s``). Member i
(1-based) serves its health and metrics on ``worker_port + i - 1``; everything
else is the same settings. What a rebalance costs, and the two faults of the
worker it still exposes (issue 26), are measured in docs/reliability.md.

More than one worker needs a ClickHouse server (``clickhouse_url``). The
embedded engine (chDB) opens its data directory in one process only: a second
process on ``<state_dir>/clickhouse`` fails with "Cannot lock file
.../status. Another server instance in same directory is already running",
read-only connections (``file:...?mode=ro``) included, so two workers cannot
insert into, or even read, one embedded store, and one store per worker would
split the data that searches read. ``check`` refuses the combination before
anything starts, with one line saying what to set.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from sluice.kafka.durability import idle_workers
from sluice.local.supervisor import Supervised, stop_together
from sluice.settings import Settings


class WorkerGroupError(ValueError):
    """The worker count cannot run as configured; the message is one line saying what to set."""


def consumed_topics(settings: Settings) -> tuple[str, ...]:
    """The topics the worker group consumes, each shared out by partition."""
    return (settings.ingest_topic, settings.native_topic, settings.slow_topic, settings.overflow_topic)


def check(settings: Settings) -> None:
    """Raise WorkerGroupError unless ``local_workers`` worker processes can run with these settings."""
    workers = settings.local_workers
    if workers < 1:
        raise WorkerGroupError(f"--workers: expected 1 or more, got {workers}")
    if workers == 1:
        return
    if settings.embedded_clickhouse:
        raise WorkerGroupError(
            f"--workers {workers} needs a ClickHouse server: the embedded engine opens "
            f"{settings.state_dir / 'clickhouse'} in one process only; set SLUICE_CLICKHOUSE_URL to a server, "
            "or run one worker")
    ports = range(settings.worker_port, settings.worker_port + workers)
    taken = {"gateway_port": settings.gateway_port, "logstash_tcp_port": settings.logstash_tcp_port,
             "logstash_udp_port": settings.logstash_udp_port}
    clash = [name for name, port in taken.items() if port in ports]
    if clash or ports.stop > 65536:
        raise WorkerGroupError(
            f"--workers {workers} serves on ports {ports.start}-{ports.stop - 1} (SLUICE_WORKER_PORT and up), "
            f"which {'overlap ' + ', '.join(clash) if clash else 'run past 65535'}: set SLUICE_WORKER_PORT elsewhere")


def member(settings: Settings, index: int) -> Settings:
    """The settings of worker ``index`` (1-based) of ``local_workers``: its own port, the rest shared."""
    if not 1 <= index <= settings.local_workers:
        raise ValueError(f"worker {index} of {settings.local_workers}: expected 1 to {settings.local_workers}")
    return settings.replace(worker_port=settings.worker_port + index - 1)


def members(settings: Settings) -> list[Settings]:
    """Every worker's settings, in order."""
    return [member(settings, i) for i in range(1, settings.local_workers + 1)]


def name(settings: Settings, index: int) -> str:
    """How ``sluice up`` names worker ``index`` in what it says: plain ``worker`` when it is the only one."""
    return "worker" if settings.local_workers == 1 else f"worker {index}"


def impact(settings: Settings) -> str:
    """What one worker's exit means meanwhile, for the supervisor's line."""
    if settings.local_workers == 1:
        return "records wait in Kafka until it is back"
    return (f"the other workers take its partitions once the group notices (at most "
            f"{settings.kafka_session_timeout_s:g}s, the session timeout)")


def start(settings: Settings, run: Callable[..., Supervised], spawn: Callable[[Settings], Any],
          stop_timeout_s: float = 60) -> list[Supervised]:
    """Start the ``local_workers`` workers as supervised units through ``run(name, start, stop, impact)``
    (``sluice up``'s), each process made by ``spawn(its settings)``. ``sluice up`` stops units in reverse
    order, so the last worker's stop stops them all at once (``stop_together``: no partition moves
    between workers that are all stopping) and the others' has nothing left to do."""
    workers: list[Supervised] = []

    def stop_all(unit: Supervised) -> None:
        stop_together([w.handle for w in workers if w.handle is not None], stop_timeout_s)

    for i, own in enumerate(members(settings), start=1):
        stop = stop_all if i == settings.local_workers else (lambda unit: None)
        workers.append(run(name(settings, i), lambda own=own: spawn(own), stop, impact(settings)))
    return workers


def partition_warnings(settings: Settings, partitions: Mapping[str, int]) -> list[str]:
    """One line per consumed topic with fewer partitions than workers (``partitions``: topic to count,
    as found; a topic not given is taken at ``topic_partitions``)."""
    lines = []
    for topic in consumed_topics(settings):
        line = idle_workers(topic, partitions.get(topic, settings.topic_partitions), settings.local_workers)
        if line:
            lines.append(line)
    return lines


async def found_partitions(settings: Settings) -> dict[str, int]:
    """The partition count of each consumed topic as the brokers report it (topics not found are left out)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="sluice-up")
    await admin.start()
    try:
        described = await admin.describe_topics(list(consumed_topics(settings)))
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in described if t.get("partitions")}


def migrate_once(settings: Settings) -> None:
    """Apply the migrations before the workers start: each worker migrates at start-up, and several
    doing it at once would race between reading ``schema_migrations`` and applying a version.
    RuntimeError (one line, without the URL, which may hold a password) when the server refuses."""
    from sluice.storage import Storage, migrate

    try:
        storage = Storage(settings)
    except Exception as exc:
        raise RuntimeError(f"the ClickHouse server of SLUICE_CLICKHOUSE_URL did not answer ({type(exc).__name__}); "
                           "start it, or check the URL") from None
    try:
        storage.run_sync(migrate, settings)
    finally:
        storage.close()
