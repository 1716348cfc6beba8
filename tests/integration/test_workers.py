"""``sluice up --workers N``: several worker processes in one consumer group, supervised, against one
ClickHouse store, and the worker-failover scenario of issue 26.

No ClickHouse server runs here and the embedded engine opens its data directory
in one process only (sluice/local/worker_group.py), so the workers share the
store through sluice/local/chdb_server.py: the same chDB engine behind the HTTP
interface, with its deduplication semantics. ``sluice up`` runs with
``SLUICE_LOCAL_WORKERS`` (what ``--workers`` sets), its gateway and workers as
children it supervises, against the session's broker.

The failover scenarios (one of two or three workers SIGKILLed again and again
under load; one paused past the session timeout and resumed) run minutes: they
are in ``make test-faults`` (marker ``faults``). A lost record or a duplicate
fails them (``exactly_once``): an old owner that resumes after its partitions
moved is fenced by the new owner's claim (workers/claims.py), and the figures
count the batches it dropped (``fenced_batches``). docs/reliability.md has them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import clickhouse_connect
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.group import MemberAssignment

from sluice.failpoints import CLICKHOUSE_AFTER_INSERT
from sluice.settings import Settings, load_settings
from tests.integration.conftest import pipeline_settings
from tests.integration.test_faults import Load, caught_up, committed, lags_of, metric, report
from tests.integration.test_up import environ, pids_of, start_up, stop_up
from sluice.local.chdb_server import engine_process
from tests.support import Process, free_port, post, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(tmp_path):
    """One chDB engine on its own data directory behind the HTTP interface; its URL."""
    with engine_process(tmp_path / "engine") as (url, _):
        yield url


def group_env(broker, engine: str, tmp_path: Path, workers: int, **overrides) -> tuple[dict[str, str], Settings]:
    """``sluice up``'s environment: the session's broker, per-test topics and group, ``workers`` workers."""
    settings = pipeline_settings(broker.config.bootstrap, tmp_path / "state", clickhouse_url=engine,
                                 local_workers=workers, **overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")} | settings.to_env()
    return env, load_settings(env)


def members(settings: Settings) -> dict[str, dict[str, list[int]]]:
    """The worker group's members by member id, each with the partitions of each topic it was assigned
    (empty while the group rebalances). A member keeps its id across rebalances until it leaves."""
    async def go():
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="test-workers")
        await admin.start()
        try:
            (response,) = await admin.describe_consumer_groups([settings.worker_group])
        except KafkaError:  # no coordinator yet (a fresh broker), or it moved: not stable either
            return {}
        finally:
            await admin.close()
        (group,) = response.to_object()["groups"]
        if group["state"] != "Stable":
            return {}
        found = {}
        for member in group["members"]:
            assignment = MemberAssignment.decode(member["member_assignment"])
            found[member["member_id"]] = {topic: sorted(partitions) for topic, partitions in assignment.assignment}
        return found
    return asyncio.run(go())


def ingest_owners(settings: Settings) -> dict[str, list[int]]:
    """The ingest partitions of each member of a stable group by member id, or {} while it rebalances."""
    return {member: topics.get(settings.ingest_topic, []) for member, topics in members(settings).items()}


def worker_pids(up: subprocess.Popen) -> dict[int, int]:
    """Each running worker's pid by the port it serves on."""
    return {int(environ(pid)["SLUICE_WORKER_PORT"]): pid for pid in pids_of(up, "worker")}


def healthy(url: str) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def stored(engine: str, settings: Settings, where: str = "1") -> tuple[int, int]:
    """Rows of ``<db>.logs`` matching ``where``: all of them, and distinct bodies."""
    client = clickhouse_connect.get_client(dsn=engine, autogenerate_session_id=False)
    try:
        total, distinct = client.query(f"SELECT count(), uniqExact(Body) FROM {settings.clickhouse_database}.logs "
                                       f"WHERE {where}").result_rows[0]
        return int(total), int(distinct)
    finally:
        client.close()


def regrouped(engine: str, settings: Settings) -> int:
    """Pairs of recorded batch intents of one partition whose offset ranges overlap without being equal:
    two owners planned the same records into different batches, whose different deduplication
    tokens then both insert (issue 26's rebalance race, which claims fence: an intent recorded by a
    fenced old owner can still overlap, and is harmless since its batch was not inserted)."""
    client = clickhouse_connect.get_client(dsn=engine, autogenerate_session_id=False)
    try:
        return int(client.query(
            f"SELECT count() FROM {settings.clickhouse_database}.ingest_batches AS a "
            f"JOIN {settings.clickhouse_database}.ingest_batches AS b ON a.Topic = b.Topic AND a.Partition = b.Partition "
            "WHERE (a.FirstOffset, a.LastOffset) < (b.FirstOffset, b.LastOffset) "
            "AND a.LastOffset >= b.FirstOffset AND b.LastOffset >= a.FirstOffset").result_rows[0][0])
    finally:
        client.close()


def exactly_once(figures: dict) -> None:
    """Nothing acknowledged is lost and nothing is stored twice."""
    assert figures["lost"] == 0, figures
    assert figures["duplicated"] == 0, figures


def fenced_batches(log: str) -> int:
    """Batches the workers dropped because a newer owner had claimed their partition (their warnings)."""
    return log.count("dropped unacknowledged, its owner re-reads it")


def test_three_workers_share_the_partitions_of_narrow_topics_and_store_once(broker, engine, tmp_path):
    env, s = group_env(broker, engine, tmp_path, workers=3, topic_partitions=2)
    up, key = start_up(tmp_path, env)
    log = lambda: (tmp_path / "up.log").read_text()  # noqa: E731
    try:
        pids = worker_pids(up)
        assert sorted(pids) == [s.worker_port, s.worker_port + 1, s.worker_port + 2]
        assert all(healthy(f"http://127.0.0.1:{port}") for port in pids)
        # Two partitions for three workers: said once per consumed topic, and the group still forms.
        for topic in (s.ingest_topic, s.native_topic, s.slow_topic, s.overflow_topic):
            assert f"sluice: warning: topic {topic} has 2 partitions for 3 workers: 1 of them get none of it" in log()
        group = wait_for(lambda: len(m := members(s)) == 3 and m, 60, 0.5, what="three members in a stable group")
        owned = [p for m in group.values() for p in m.get(s.ingest_topic, [])]
        assert sorted(owned) == [0, 1], group  # every ingest partition to exactly one member
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Connection": "close"}
        for r in range(40):
            body = {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": f"w-{r}-{i}"}
                             for i in range(5)]}
            status = post(s.gateway_url + "/v1/logs/ingest", body, headers | {"Idempotency-Key": f"w-{r}"})[0]
            assert status == 202
        wait_for(lambda: stored(engine, s)[0] >= 200, 60, 0.5, what="the 200 records stored")
        wait_for(lambda: caught_up(s), 60, 0.5, what="the group's commits at every topic's end")
        assert stored(engine, s) == (200, 200)
    finally:
        code = stop_up(up)
    assert code == 0, log()[-3000:]


def test_up_refuses_several_workers_on_the_embedded_engine(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    env |= {"SLUICE_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-m", "sluice", "up", "--workers", "2"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"sluice: --workers 2 needs a ClickHouse server: the embedded engine opens {tmp_path / 'state' / 'clickhouse'} "
        "in one process only; set SLUICE_CLICKHOUSE_URL to a server, or run one worker"]
    assert not (tmp_path / "state").exists()


# --- the fault scenarios ------------------------------------------------------------------------------


class Drill:
    """``sluice up`` with ``workers`` workers and ``partitions`` partitions under sustained load (each
    request under its Idempotency-Key, retried until a 2xx); faults on one worker at a time, each timed
    until the group has moved the worker's partitions and every partition commits again."""

    def __init__(self, broker, engine: str, tmp_path: Path, workers: int, partitions: int = 6):
        self.engine, self.tmp_path, self.workers, self.partitions = engine, tmp_path, workers, partitions
        env, self.s = group_env(broker, engine, tmp_path, workers=workers, topic_partitions=partitions)
        self.up, key = start_up(tmp_path, env)
        self.load = Load(self.s.gateway_url, key, requests=1_000_000, per_request=100, threads=2,
                         pause_s=0.02).start()
        self.times: dict[str, list[float]] = {"partitions_reassigned_s": [], "every_partition_committing_s": [],
                                              "back_in_group_s": []}
        wait_for(lambda: len(ingest_owners(self.s)) == workers, 60, 0.5, what=f"{workers} members in a stable group")

    def target(self, k: int) -> tuple[int, int]:
        """The port and pid of the worker for fault ``k``: each in turn, so the supervisor's backoff
        stays at its first step; once the load has moved on since the last fault and the group is whole
        (``members_before`` then holds its member ids)."""
        progress = len(self.load.acknowledged)
        wait_for(lambda: len(self.load.acknowledged) >= progress + 50, 120, what="the load going on")
        port = self.s.worker_port + k % self.workers
        wait_for(lambda: port in worker_pids(self.up) and healthy(f"http://127.0.0.1:{port}"), 120,
                 what=f"the worker on port {port} serving")
        self.members_before = set(wait_for(lambda: len(o := ingest_owners(self.s)) == self.workers and o, 120, 0.2,
                                   what="the whole group, stable"))
        return port, worker_pids(self.up)[port]

    def survivors_take_over(self, before: dict, since: float) -> None:
        """Wait until the group has dropped the lost worker (a member from before the fault is gone; a
        restarted one may have joined meanwhile, under a new id) and its members hold every ingest
        partition, then until every partition (the lost worker's included) has committed past
        ``before``; time both from ``since``."""
        every = list(range(self.partitions))
        wait_for(lambda: len(set(o := ingest_owners(self.s)) & self.members_before) < self.workers
                 and sorted(sum(o.values(), [])) == every, 120, 0.2, what="the other workers holding every partition")
        self.times["partitions_reassigned_s"].append(round(time.monotonic() - since, 1))
        wait_for(lambda: all(committed(self.s).get(tp, -1) > offset for tp, offset in before.items()), 120, 0.2,
                 what="every partition committing again")
        self.times["every_partition_committing_s"].append(round(time.monotonic() - since, 1))

    def rejoined(self, since: float, port: int, gone: int | None) -> None:
        """Wait until the worker on ``port`` (a new process unless ``gone`` is None) is a member again."""
        wait_for(lambda: worker_pids(self.up).get(port) not in (None, gone)
                 and len(ingest_owners(self.s)) == self.workers, 120, 0.2, what="the worker back in the group")
        self.times["back_in_group_s"].append(round(time.monotonic() - since, 1))

    def diagnosis(self) -> str:
        """A stalled drill as seen from outside: each partition's lag, the group's owners, and every
        worker's threads (``py-spy dump``), for a failure that does not repeat at will."""
        topics = (self.s.ingest_topic, self.s.native_topic, self.s.slow_topic, self.s.overflow_topic)
        lines = [f"lag by partition: {lags_of(self.s, topics)}", f"ingest partitions by member: {ingest_owners(self.s)}"]
        spy = Path(sys.executable).parent / "py-spy"
        for port, pid in sorted(worker_pids(self.up).items()):
            try:
                dump = subprocess.run([str(spy), "dump", "--pid", str(pid)], capture_output=True, text=True,
                                      timeout=60)
                stacks = dump.stdout or dump.stderr
            except (OSError, subprocess.SubprocessError) as exc:  # one worker's stacks missing, not the others'
                stacks = repr(exc)
            lines.append(f"--- worker on port {port} (pid {pid}) ---\n{stacks}")
        return "\n".join(lines)

    def finish(self) -> tuple[dict, str, int]:
        """Stop the load, audit every acknowledged record once nothing more can land, stop ``sluice up``:
        the figures, ``sluice up``'s output and its exit status."""
        load, s, engine = self.load, self.s, self.engine
        try:
            with load.lock:
                load.todo.clear()
            load.join(120)
            expected = len(load.acknowledged) * load.per
            try:
                wait_for(lambda: stored(engine, s)[0] >= expected, 300, 1, what="every acknowledged record")
                wait_for(lambda: caught_up(s), 300, 1, what="the group's commits at every topic's end")
            except AssertionError:
                try:
                    print(self.diagnosis())  # pytest shows it with the failure
                except Exception as exc:  # the timeout is the failure to report, not the diagnosis's
                    print(f"no diagnosis: {exc!r}")
                raise
            total, distinct = stored(engine, s)
            acked = ",".join(map(str, load.acknowledged))
            acknowledged_distinct = stored(engine, s, f"toUInt64(splitByChar('-', Body)[2]) IN ({acked})")[1]
            overlapping = regrouped(engine, s)
        finally:
            with load.lock:
                load.todo.clear()
            code = stop_up(self.up)
        figures = {**self.times, "refused_requests": load.refused, "retried_requests": len(load.retried),
                   "acknowledged": expected, "stored": total, "lost": expected - acknowledged_distinct,
                   "duplicated": total - distinct, "regrouped_intents": overlapping}
        return figures, (self.tmp_path / "up.log").read_text(), code


@pytest.mark.faults
@pytest.mark.parametrize("workers", [2, 3])
def test_one_worker_killed_again_and_again_loses_and_repeats_nothing(broker, engine, tmp_path, workers):
    kills = int(os.environ.get("SLUICE_FAULTS_WORKER_KILLS", "6"))
    drill = Drill(broker, engine, tmp_path, workers)
    try:
        for k in range(kills):
            port, victim = drill.target(k)
            before, killed_at = committed(drill.s), time.monotonic()
            os.kill(victim, signal.SIGKILL)
            drill.survivors_take_over(before, killed_at)
            drill.rejoined(killed_at, port, gone=victim)  # restarted by sluice up
    finally:
        figures, log, code = drill.finish()
    report(f"1 of {workers} workers SIGKILLed repeatedly (sluice up --workers {workers})", kills=kills,
           fenced_batches=fenced_batches(log), **figures)
    assert code == 0
    assert log.count("exited with signal SIGKILL") == kills
    exactly_once(figures)


@pytest.mark.faults
def test_a_worker_paused_past_the_session_timeout_and_resumed_stores_nothing_twice(broker, engine, tmp_path):
    pauses = int(os.environ.get("SLUICE_FAULTS_WORKER_PAUSES", "3"))
    drill = Drill(broker, engine, tmp_path, workers=3)
    try:
        for k in range(pauses):
            port, victim = drill.target(k)
            before, paused_at = committed(drill.s), time.monotonic()
            os.kill(victim, signal.SIGSTOP)  # mid-batch perhaps: its partitions move while it holds one
            try:
                drill.survivors_take_over(before, paused_at)
            finally:
                os.kill(victim, signal.SIGCONT)  # it resumes where it stopped, then learns it was left out
            drill.rejoined(paused_at, port, gone=None)
    finally:
        figures, log, code = drill.finish()
    report("1 of 3 workers SIGSTOPped past the session timeout and resumed", pauses=pauses,
           fenced_batches=fenced_batches(log), **figures)
    assert code == 0
    assert "exited with" not in log  # paused, never restarted
    exactly_once(figures)


class TunedDrill(Drill):
    """A ``Drill`` whose ``sluice up`` runs with settings of the scenario's own (``overrides``)."""

    def __init__(self, broker, engine: str, tmp_path: Path, workers: int, partitions: int = 6, **overrides):
        self.engine, self.tmp_path, self.workers, self.partitions = engine, tmp_path, workers, partitions
        env, self.s = group_env(broker, engine, tmp_path, workers=workers, topic_partitions=partitions, **overrides)
        self.up, key = start_up(tmp_path, env)
        self.load = Load(self.s.gateway_url, key, requests=1_000_000, per_request=100, threads=2,
                         pause_s=0.02).start()
        self.times = {"partition_committing_again_s": []}
        wait_for(lambda: len(ingest_owners(self.s)) == workers, 60, 0.5, what=f"{workers} members in a stable group")


def intents_elsewhere(engine: str, settings: Settings, tp: tuple[str, int]) -> int:
    """Batch intents recorded for partitions other than ``tp``: about one insert into ``logs`` each."""
    client = clickhouse_connect.get_client(dsn=engine, autogenerate_session_id=False)
    try:
        return int(client.query(f"SELECT count() FROM {settings.clickhouse_database}.ingest_batches "
                                # Topic is "name@<topic id>" (workers/batches.py)
                                "WHERE NOT (splitByChar('@', Topic)[1] = {t:String} AND Partition = {p:UInt32})",
                                parameters={"t": tp[0], "p": tp[1]}).result_rows[0][0])
    finally:
        client.close()


def retries_by_port(drill: Drill) -> dict[int, float]:
    """Each worker's insert retries so far, by its port."""
    return {port: metric(f"http://127.0.0.1:{port}", "sluice_worker_insert_retries_total")
            for port in worker_pids(drill.up)}


@pytest.mark.faults
def test_one_partition_s_ambiguous_outage_outlasting_the_dedup_window_stores_nothing_twice(broker, engine, tmp_path):
    """One partition's inserts commit while its worker hears errors, for far longer than the dedup window
    (4 inserts here) while the other partitions go on inserting; its owner retries the stored batch each
    time. The second outage ends with the owner SIGKILLed, so the partition's new owner replays it over
    its intents from the committed offset. Neither stores twice: the window long forgot the tokens."""
    points = tmp_path / "failpoints"
    points.mkdir()
    window = 4
    drill = TunedDrill(broker, engine, tmp_path, workers=3, dedup_window=window, failpoints_dir=str(points),
                       insert_retry_max_backoff_s=1.0)
    tp = (drill.s.ingest_topic, 0)
    switch = points / f"{CLICKHOUSE_AFTER_INSERT}@{tp[0]}:{tp[1]}"
    inserts_during, killed = [], 0
    try:
        for outage in range(2):
            progress = len(drill.load.acknowledged)
            wait_for(lambda: len(drill.load.acknowledged) >= progress + 50, 120, what="the load going on")
            wait_for(lambda: len(ingest_owners(drill.s)) == drill.workers, 120, 0.2, what="the whole group, stable")
            elsewhere, retries = intents_elsewhere(engine, drill.s, tp), retries_by_port(drill)
            switch.write_text("error\n")
            time.sleep(15)
            inserts_during.append(intents_elsewhere(engine, drill.s, tp) - elsewhere)
            if outage == 1:  # its owner dies mid-outage: the partition moves, the stored batch replays
                owner = max(retries_by_port(drill).items(), key=lambda kv: kv[1] - retries.get(kv[0], 0))[0]
                os.kill(worker_pids(drill.up)[owner], signal.SIGKILL)
                killed += 1
            before = committed(drill.s).get(tp, -1)
            switch.unlink()
            ended = time.monotonic()
            wait_for(lambda: committed(drill.s).get(tp, -1) > before, 120, 0.2, what="the partition committing again")
            drill.times["partition_committing_again_s"].append(round(time.monotonic() - ended, 1))
        # the SIGKILLed worker is restarted by `sluice up` and serves its metrics once it is up again
        wait_for(lambda: all(healthy(f"http://127.0.0.1:{port}") for port in worker_pids(drill.up)), 120, 0.2,
                 what="every worker serving again")
        skipped = sum(metric(f"http://127.0.0.1:{port}", "sluice_worker_skipped_stored_batches_total")
                      for port in worker_pids(drill.up))
    finally:
        switch.unlink(missing_ok=True)
        figures, log, code = drill.finish()
    unheard = log.count("not inserted again")  # attempts that found the batch stored by its keys
    report(f"one partition's inserts commit unheard for 15 s, dedup window {window}, twice (the 2nd: owner SIGKILLed)",
           other_inserts_during_outages=inserts_during, retries_finding_their_batch_stored=unheard,
           replayed_batches_skipped_as_marked=int(skipped), fenced_batches=fenced_batches(log), **figures)
    assert code == 0
    assert unheard > 0, "no retry found its batch stored"
    assert log.count(f"failpoint {switch.name} is active") >= 2, "the outages did not hit the partition's inserts"
    assert min(inserts_during) > 10 * window, "the other partitions did not outrun the dedup window"
    assert log.count("exited with signal SIGKILL") == killed
    exactly_once(figures)


@pytest.mark.faults
def test_scaling_from_one_worker_to_three_and_back_under_load_stores_each_record_once(broker, engine, tmp_path):
    """``sluice up`` with one worker, two more worker processes joining its group under load, then both
    stopped (SIGTERM) under load: every partition moves twice, nothing is lost or stored twice."""
    drill = Drill(broker, engine, tmp_path, workers=1)
    added = [Process(drill.s.replace(worker_port=free_port()), "worker", tmp_path / f"added-{i}") for i in (1, 2)]
    times = drill.times = {}  # the figures: how long each move took

    def load_going_on() -> None:
        progress = len(drill.load.acknowledged)
        wait_for(lambda: len(drill.load.acknowledged) >= progress + 50, 120, what="the load going on")

    def settled(members: int, since: float) -> None:
        """Wait until ``members`` workers hold every ingest partition and each partition commits again."""
        owners = wait_for(lambda: len(o := ingest_owners(drill.s)) == members and o, 120, 0.2,
                          what=f"{members} members in a stable group")
        assert sorted(sum(owners.values(), [])) == list(range(drill.partitions)), owners
        before = committed(drill.s)
        wait_for(lambda: all(committed(drill.s).get(tp, -1) > offset for tp, offset in before.items()), 120, 0.2,
                 what="every partition committing again")
        times[f"to_{members}_workers_every_partition_committing_s"] = round(time.monotonic() - since, 1)

    try:
        load_going_on()
        since = time.monotonic()
        for worker in added:
            worker.log_path.parent.mkdir()
            worker.start()
        settled(3, since)
        load_going_on()
        since = time.monotonic()
        for worker in added:
            worker.proc.send_signal(signal.SIGTERM)
        stopped = [worker.proc.wait(120) for worker in added]
        settled(1, since)
    finally:
        for worker in added:
            worker.stop()
        figures, log, code = drill.finish()
    report("workers scaled 1 -> 3 -> 1 under load (sluice up --workers 1, 2 workers added, then SIGTERMed)",
           **figures)
    assert code == 0 and stopped == [0, 0]
    exactly_once(figures)
