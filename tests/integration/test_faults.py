"""Fault injection under sustained load: whatever was answered 2xx is stored exactly once.

Opt-in (``make test-faults``; marker ``faults``): these run minutes, not seconds.
Each case prints one line of the reliability table (README: Reliability).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from tests.integration.test_native import native, produce
from tests.support import Process, post, sql, wait_for

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
    A request that got no 2xx is retried (as a client would) until ``deadline_s``."""

    def __init__(self, url: str, key: str, requests: int, per_request: int, threads: int = 4):
        self.url, self.key, self.per = url, key, per_request
        self.todo = list(range(requests))
        self.lock = threading.Lock()
        self.acknowledged: set[int] = set()
        self.retried: set[int] = set()  # requests that needed more than one attempt
        self.refused = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def body(self, r: int) -> dict:
        return {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": f"f-{r}-{i}"}
                         for i in range(self.per)]}

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        while True:
            with self.lock:
                if not self.todo:
                    return
                r = self.todo.pop()
            status = None
            while status != 202:
                try:
                    status = post(self.url + "/v1/logs/ingest", self.body(r), headers, timeout=10)[0]
                except OSError:
                    status = None
                if status != 202:
                    with self.lock:
                        self.refused += 1
                        self.retried.add(r)
                    time.sleep(0.5)
            with self.lock:
                self.acknowledged.add(r)

    def start(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "the load did not finish"


def audit(settings, load: Load, timeout_s: float) -> dict:
    """Lost and duplicated among acknowledged records, once everything has landed."""
    expected = len(load.acknowledged) * load.per
    count = lambda: sql(settings, "SELECT count() FROM sluice.logs")[0][0]  # noqa: E731
    try:
        wait_for(lambda: count() >= expected, timeout_s, 1, what="every acknowledged record")
    except AssertionError:
        pass  # the audit below says what is missing
    time.sleep(2 * settings.batch_max_wait_s + 2)  # anything duplicated would land by now
    total, distinct = sql(settings, "SELECT count(), uniqExact(Body) FROM sluice.logs")[0]
    acknowledged_distinct = sql(settings, "SELECT uniqExact(Body) FROM sluice.logs WHERE "
                                f"toUInt64(splitByChar('-', Body)[2]) IN ({','.join(map(str, load.acknowledged))})"
                                )[0][0] if load.acknowledged else 0
    # A request answered 503 may still land (its write was under way when the deadline passed);
    # the client's retry then stores it a second time. Counted apart from first-attempt requests.
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
    assert all(status == 503 for status in down_answers)
    assert load.refused > 0, "the outage did not hit the load"
    assert (figures["lost"], figures["duplicated_first_attempt"]) == (0, 0)


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
    assert (figures["lost"], figures["duplicated_first_attempt"]) == (0, 0)


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
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs")[0][0] >= expected, 300, 1, what="every good record")
    time.sleep(2 * s.batch_max_wait_s + 2)
    total, distinct = sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs")[0]
    dead = sum(float(line.split()[-1]) for line in _metrics(s.worker_url).splitlines()
               if line.startswith("sluice_worker_dead_letters_total{"))
    report("poison records mixed into the native topic", sent=len(records), poison=len(poison),
           dead_lettered=int(dead), acknowledged=expected, stored=total, lost=expected - distinct,
           duplicated=total - distinct)
    assert (total, distinct) == (expected, expected)
    assert dead == len(poison)


def _metrics(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url + "/metrics") as resp:
        return resp.read().decode()
