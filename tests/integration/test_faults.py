"""Fault injection under sustained load: whatever was answered 2xx is stored exactly once.

Opt-in (``make test-faults``; marker ``faults``): these run minutes, not seconds.
Each case prints one line of the reliability table (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import threading
import time

import pytest

from schemas.registry import TenantRecord
from sluice import registry as registry_topic
from sluice.failpoints import CLICKHOUSE_AFTER_INSERT, CLICKHOUSE_BEFORE_INSERT
from sluice.keys import now_iso
from tests.integration.test_native import native, produce
from tests.support import Process, post, sql, wait_for
from workers.lag import LagMonitor

pytestmark = [pytest.mark.integration, pytest.mark.faults]
REPORT = os.environ.get("SLUICE_FAULTS_REPORT", "")


def report(case: str, **figures) -> None:
    line = {"case": case, **figures}
    print("\nRELIABILITY " + json.dumps(line))
    if REPORT:
        with open(REPORT, "a") as fh:
            fh.write(json.dumps(line) + "\n")


class Load:
    """``threads`` senders of LogTrace batches with unique messages; remembers what got 2xx.
    A request that got no 2xx is retried under the same ``Idempotency-Key``, as the SDKs do."""

    def __init__(self, url: str, key: str, requests: int, per_request: int, threads: int = 4,
                 pause_s: float = 0.0, final: frozenset[int] = frozenset()):
        self.url, self.key, self.per, self.pause_s = url, key, per_request, pause_s
        self.final = final  # statuses a request ends on, unacknowledged (a 429 past a spent budget)
        self.todo = list(range(requests))
        self.lock = threading.Lock()
        self.acknowledged: set[int] = set()
        self.retried: set[int] = set()  # requests that needed more than one attempt
        self.refused = 0
        self.overflowed = 0  # acknowledged through the overflow lane (x-sluice-overflow)
        self.ended: list[tuple[int, dict, dict]] = []  # answers with a ``final`` status: status, body, headers
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def body(self, r: int) -> dict:
        return {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": f"f-{r}-{i}"}
                         for i in range(self.per)]}

    def _run(self) -> None:
        while True:
            with self.lock:
                if not self.todo:
                    return
                r = self.todo.pop()
            self.send(r)
            time.sleep(self.pause_s)  # a sustained stream rather than a burst

    def send(self, r: int) -> dict:
        """Request ``r`` until it is answered 202 or a ``final`` status; the last answer's headers."""
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json",
                   "Idempotency-Key": f"load-{r}"}
        status = None
        while status != 202:
            try:
                status, body, answer = post(self.url + "/v1/logs/ingest", self.body(r), headers, timeout=10)
            except (OSError, http.client.HTTPException):  # refused, reset, or cut off mid-answer by a kill
                status = None
            if status in self.final:
                with self.lock:
                    self.ended.append((status, body, answer))
                return answer
            if status != 202:
                with self.lock:
                    self.refused += 1
                    self.retried.add(r)
                time.sleep(0.5)
        with self.lock:
            self.acknowledged.add(r)
            self.overflowed += answer.get("x-sluice-overflow") == "true"
        return answer

    def start(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "the load did not finish"


def lags_of(settings, topics: tuple[str, ...]) -> dict:
    """Records of ``topics`` the worker group has not committed yet, per partition, read from Kafka."""
    async def lags() -> dict:
        monitor = LagMonitor(settings, topics)
        try:
            return await monitor.sample()
        finally:
            await monitor.stop()

    return asyncio.run(lags())


def lag_of(settings, topics: tuple[str, ...]) -> int:
    """Records of ``topics`` the worker group has not committed yet, read from Kafka."""
    return sum(lags_of(settings, topics).values())


def caught_up(settings) -> bool:
    """True when the worker group has committed every record of every topic it consumes."""
    return not lag_of(settings, (settings.ingest_topic, settings.native_topic, settings.slow_topic,
                                 settings.overflow_topic))


def audit(settings, load: Load, timeout_s: float) -> dict:
    """Lost and duplicated among acknowledged records, once everything has landed."""
    expected = len(load.acknowledged) * load.per
    count = lambda: sql(settings, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0]  # noqa: E731
    try:
        wait_for(lambda: count() >= expected, timeout_s, 1, what="every acknowledged record")
        # Nothing more can land once the group's commits reach the end of every topic: a
        # duplicate would come from a record not yet committed.
        wait_for(lambda: caught_up(settings), timeout_s, 1, what="the workers' commits at every topic's end")
    except AssertionError:
        pass  # the audit below says what is missing
    total, distinct = sql(settings, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE TenantId != ''")[0]
    acknowledged_distinct = sql(settings, "SELECT uniqExact(Body) FROM sluice.logs WHERE TenantId != '' AND "
                                f"toUInt64OrNull(splitByChar('-', Body)[2]) IN ({','.join(map(str, load.acknowledged))})"
                                )[0][0] if load.acknowledged else 0
    # A request answered 503 may still land (its write was under way when the deadline passed),
    # and its retry lands again: the idempotency key must make that one copy. Counted apart too.
    retried = ",".join(map(str, load.retried)) or "-1"
    first_total, first_distinct = sql(settings, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE "
                                      f"toUInt64OrZero(splitByChar('-', Body)[2]) NOT IN ({retried}) "
                                      "AND startsWith(Body, 'f-')")[0]
    return {"acknowledged": expected, "stored": total, "lost": expected - acknowledged_distinct,
            "duplicated": total - distinct, "duplicated_first_attempt": first_total - first_distinct,
            "retried_requests": len(load.retried)}


def test_worker_killed_ten_times_during_a_million_records(sluice):
    s = sluice.settings
    load = Load(s.gateway_url, sluice.key, requests=2000, per_request=500).start()
    kills = 0
    while kills < 10:
        time.sleep(4)
        sluice.worker.kill()
        kills += 1
        sluice.worker = Process(s, "worker", sluice.worker.log_path.parent).start()
    load.join(600)
    figures = audit(s, load, 600)
    report("worker SIGKILLed 10 times", sent=2000 * 500, kills=kills, refused_requests=load.refused, **figures)
    assert figures["acknowledged"] == 1_000_000
    assert (figures["lost"], figures["duplicated"]) == (0, 0)


def test_broker_killed_and_restarted_mid_run(own_broker, make_sluice):
    broker = own_broker
    sluice = make_sluice(broker.config.bootstrap)
    s = sluice.settings
    load = Load(s.gateway_url, sluice.key, requests=4000, per_request=100, threads=2).start()
    time.sleep(3)
    os.kill(broker.running_pid(), signal.SIGKILL)
    down_answers = [post(s.gateway_url + "/v1/logs/ingest", load.body(10_000 + i),
                         {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"})[0]
                    for i in range(3)]
    time.sleep(8)
    broker.start()
    load.join(int(os.environ.get("SLUICE_FAULTS_JOIN_S", "600")))
    figures = audit(s, load, 300)
    report("broker SIGKILLed and restarted", sent=4000 * 100, answers_while_down=down_answers,
           refused_requests=load.refused, **figures)
    assert all(status == 500 for status in down_answers)
    assert load.refused > 0, "the outage did not hit the load"
    assert (figures["lost"], figures["duplicated"]) == (0, 0)


def test_gateway_killed_mid_request_loses_nothing_it_acknowledged(sluice):
    s = sluice.settings
    load = Load(s.gateway_url, sluice.key, requests=3000, per_request=100, threads=4).start()
    kills = 0
    for _ in range(3):
        time.sleep(2)
        sluice.gateway.kill()  # SIGKILL, with requests in flight
        kills += 1
        time.sleep(1)
        sluice.gateway = Process(s, "gateway", sluice.gateway.log_path.parent).start()
    load.join(600)
    figures = audit(s, load, 300)
    report("gateway SIGKILLed 3 times mid-request", sent=3000 * 100, kills=kills, refused_requests=load.refused,
           **figures)
    assert load.refused > 0, "the kills did not hit the load"
    assert (figures["lost"], figures["duplicated"]) == (0, 0)


def test_poison_records_are_dead_lettered_and_the_rest_stored(sluice):
    s = sluice.settings
    good, poison = [], []
    for b in range(1000):
        if b % 50 == 7:
            poison.append((b"{not json" if b % 100 == 7 else json.dumps({"records": [{"body": 5}]}).encode(), native()))
        else:
            good.append((json.dumps({"records": [{"body": f"ok-{b}-{i}"} for i in range(100)]}).encode(), native()))
    records = good + poison
    records.sort(key=lambda r: hash(r[0]))  # poison spread through the stream
    produce(s.kafka_bootstrap, s.native_topic, records)
    expected = len(good) * 100
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] >= expected, 300, 1, what="every good record")
    time.sleep(2 * s.batch_max_wait_s + 2)
    total, distinct = sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE TenantId != ''")[0]
    dead = sum(float(line.split()[-1]) for line in _metrics(s.worker_url).splitlines()
               if line.startswith("sluice_worker_dead_letters_total{"))
    report("poison records mixed into the native topic", sent=len(records), poison=len(poison),
           dead_lettered=int(dead), acknowledged=expected, stored=total, lost=expected - distinct,
           duplicated=total - distinct)
    assert (total, distinct) == (expected, expected)
    assert dead == len(poison)


def test_clickhouse_failing_for_60_seconds(sluice_with_failpoints):
    sluice, failpoint = sluice_with_failpoints
    s = sluice.settings
    load = Load(s.gateway_url, sluice.key, requests=3000, per_request=200, threads=2, pause_s=0.04).start()
    time.sleep(4)
    failpoint.write_text("error\n")
    time.sleep(5)  # a batch already past the failpoint may still land
    during = [(stored_rows(s), sum(committed(s).values()))]
    time.sleep(55)
    during.append((stored_rows(s), sum(committed(s).values())))
    failpoint.unlink()
    lag_at_recovery = total_lag(s)
    retries = metric(s.worker_url, "sluice_worker_insert_retries_total")
    load.join(600)
    figures = audit(s, load, 600)
    wait_for(lambda: total_lag(s) == 0, 120, 1, what="the lag to drain")
    report("ClickHouse failing for 60 s (every insert raises)", sent=3000 * 200, insert_retries=int(retries),
           lag_at_recovery=lag_at_recovery, refused_requests=load.refused, **figures)
    assert during[0] == during[1], "rows were stored or offsets committed while every insert failed"
    assert retries >= 5 and lag_at_recovery > 0
    assert (figures["lost"], figures["duplicated"]) == (0, 0)


def test_slow_clickhouse_shows_as_lag_with_bounded_memory(sluice_with_failpoints):
    sluice, failpoint = sluice_with_failpoints
    s = sluice.settings
    worker_pid = sluice.worker.proc.pid
    load = Load(s.gateway_url, sluice.key, requests=4000, per_request=200, threads=2, pause_s=0.02).start()
    time.sleep(3)
    baseline_rss = rss_mib(worker_pid)
    failpoint.write_text("delay 2\n")  # every insert: two seconds late
    peak_rss, lags = baseline_rss, []
    for _ in range(30):
        time.sleep(2)
        peak_rss = max(peak_rss, rss_mib(worker_pid))
        lags.append(total_lag(s))
    failpoint.unlink()
    load.join(600)
    figures = audit(s, load, 600)
    wait_for(lambda: total_lag(s) == 0, 120, 1, what="the lag to drain")
    report("ClickHouse slow for 60 s (every insert delayed 2 s)", sent=4000 * 200, peak_lag=max(lags),
           worker_rss_mib_before=round(baseline_rss), worker_rss_mib_peak=round(peak_rss), **figures)
    assert max(lags) > 10 * s.batch_max_records, "the slow inserts did not hold the worker back"
    assert lags[-1] > lags[len(lags) // 3], "the lag did not build up"
    # The worker holds one chunk (batch_max_records Kafka records) and the consumer's
    # fetch buffer, never the backlog: memory stays flat while the lag grows.
    assert peak_rss - baseline_rss < 256, f"worker memory grew {peak_rss - baseline_rss:.0f} MiB"
    assert (figures["lost"], figures["duplicated"]) == (0, 0)


def failing_bursts(sluice, switch, bursts: int = 3, on_s: float = 4, off_s: float = 4) -> tuple[Load, dict]:
    """Sustained load while the failpoint file ``switch`` says ``error`` for ``on_s`` seconds, ``bursts``
    times: the load and the bursts' figures (rows that landed while it failed, seconds until the worker
    committed again after each burst)."""
    s = sluice.settings
    load = Load(s.gateway_url, sluice.key, requests=2500, per_request=100, threads=2, pause_s=0.04).start()
    landed, recovered = 0, []
    for _ in range(bursts):
        time.sleep(off_s)
        rows = stored_rows(s)
        switch.write_text("error\n")
        time.sleep(on_s)
        switch.unlink()
        landed += stored_rows(s) - rows
        ended, at = sum(committed(s).values()), time.monotonic()
        wait_for(lambda: sum(committed(s).values()) > ended, 120, 0.2, what="the worker committing again")
        recovered.append(round(time.monotonic() - at, 1))
    retries = metric(s.worker_url, "sluice_worker_insert_retries_total")
    unheard = metric(s.worker_url, 'sluice_worker_unheard_commits_total{cause="retry"}')
    load.join(600)
    return load, {"bursts": bursts, "insert_retries": int(retries), "unheard_commits": int(unheard),
                  "rows_landed_while_failing": landed, "recovered_s": recovered, "refused_requests": load.refused}


def test_ambiguous_commits_mid_load_store_each_record_once(sluice_with_failpoints):
    # ClickHouse commits each attempt, the worker hears an error: it retries a batch that is stored.
    sluice, failpoint = sluice_with_failpoints
    load, bursts = failing_bursts(sluice, failpoint.parent / CLICKHOUSE_AFTER_INSERT)
    figures = audit(sluice.settings, load, 600)
    report("ClickHouse commits, the worker sees an error (clickhouse-after-insert, 3 bursts of 4 s)",
           sent=2500 * 100, **bursts, **figures)
    assert bursts["insert_retries"] >= bursts["bursts"], "the bursts did not fail any insert"
    # Found by the retries (the rows of an attempt under way when a burst began may have landed before the
    # burst's first count: rows_landed_while_failing can be 0 although the scenario happened).
    assert bursts["unheard_commits"] > 0, "no attempt committed while the worker was told it failed"
    assert (figures["lost"], figures["duplicated"]) == (0, 0)


def test_a_failure_between_intent_and_rows_mid_load_stores_each_record_once(sluice_with_failpoints):
    sluice, failpoint = sluice_with_failpoints
    load, bursts = failing_bursts(sluice, failpoint.parent / CLICKHOUSE_BEFORE_INSERT)
    figures = audit(sluice.settings, load, 600)
    report("intent recorded, rows not (clickhouse-before-insert, 3 bursts of 4 s)", sent=2500 * 100, **bursts,
           **figures)
    assert bursts["insert_retries"] >= bursts["bursts"], "the bursts did not fail any insert"
    assert (figures["lost"], figures["duplicated"]) == (0, 0)


def test_an_enterprise_tenant_past_its_overflow_budget_gets_429_and_keeps_what_it_was_told_2xx(broker, make_sluice):
    limit, budget = 50, 300
    sluice = make_sluice(broker.config.bootstrap, enterprise_ingest_per_hour=limit, overflow_budget_per_hour=budget)
    s = sluice.settings
    asyncio.run(registry_topic.publish(s, TenantRecord("acme", now_iso(), tier="enterprise")))
    load = Load(s.gateway_url, sluice.key, requests=1200, per_request=20, threads=4, pause_s=0.01,
                final=frozenset({429}))
    hour = time.gmtime().tm_hour
    # The load's own requests until the gateway applies the tier (each is acknowledged and audited).
    wait_for(lambda: load.send(load.todo.pop()).get("x-ratelimit-limit") == str(limit), 30, 0.2,
             what="the enterprise tier at the gateway")
    load.start().join(600)
    last_2xx = time.monotonic()
    wait_for(lambda: caught_up(s), 300, 0.5, what="the overflow backlog drained")
    drained_s = round(time.monotonic() - last_2xx, 1)
    figures = audit(s, load, 300)
    codes = {body["error"]["code"] for _, body, _ in load.ended}
    report("enterprise tenant far over its limit (50/h, overflow budget 300/h)", sent=1200 * 20,
           overflowed_requests=load.overflowed, refused_429=len(load.ended), backlog_drained_s=drained_s, **figures)
    assert load.overflowed > 0 and load.ended, "the load did not spend the overflow budget"
    assert codes == {"overflow_budget_exceeded"}
    assert all(int(headers["retry-after"]) >= 1 for _, _, headers in load.ended)
    if time.gmtime().tm_hour == hour:  # a new UTC hour opens a new budget
        assert load.overflowed == budget
    assert (figures["lost"], figures["duplicated"]) == (0, 0)


@pytest.fixture
def sluice_with_failpoints(broker, make_sluice, tmp_path):
    points = tmp_path / "failpoints"
    points.mkdir()
    # Small chunks, so a delayed insert holds the worker back at this load.
    sluice = make_sluice(broker.config.bootstrap, failpoints_dir=str(points), batch_max_records=20,
                         insert_retry_max_backoff_s=2.0)
    return sluice, points / "clickhouse-insert"


def stored_rows(settings) -> int:
    return sql(settings, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0]


def committed(settings) -> dict:
    from aiokafka.admin import AIOKafkaAdminClient

    async def go():
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(settings.worker_group)
        finally:
            await admin.close()
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic == settings.ingest_topic}
    return asyncio.run(go())


def total_lag(settings) -> int:
    """Records of the ingest topic the worker group has not committed yet."""
    return lag_of(settings, (settings.ingest_topic,))


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        kib = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    return kib / 1024


def metric(url: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in _metrics(url).splitlines() if line.startswith(name))


def _metrics(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url + "/metrics") as resp:
        return resp.read().decode()
