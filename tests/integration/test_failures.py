"""What happens when things die: a worker killed mid-stream, a broker stopped under load."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support import Process, post, sql, wait_for

pytestmark = pytest.mark.integration


class Sender(threading.Thread):
    """Sends LogTrace batches with unique messages; remembers which were answered 2xx."""

    def __init__(self, sluice, n_requests: int, per_request: int, pause_s: float = 0.0):
        super().__init__(daemon=True)
        self.sluice, self.n, self.per, self.pause = sluice, n_requests, per_request, pause_s
        self.accepted: list[str] = []
        self.statuses: list[int] = []
        self.retry_after: set[str] = set()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.sluice.key}", "Content-Type": "application/json"}
        for r in range(self.n):
            messages = [f"m-{r}-{i}" for i in range(self.per)]
            body = {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": m} for m in messages]}
            status, _, resp_headers = post(self.sluice.url("/v1/logs/ingest"), body, headers)
            self.statuses.append(status)
            if status == 202:
                self.accepted.extend(messages)
            elif status == 500:  # LogTrace names its transient failures 500
                self.retry_after.add(resp_headers.get("retry-after", ""))
            time.sleep(self.pause)


def test_worker_killed_mid_stream_leaves_exactly_one_row_per_record(sluice):
    s = sluice.settings
    sender = Sender(sluice, n_requests=300, per_request=50, pause_s=0.005)
    sender.start()
    # Kill while batches are being inserted: some rows stored, more in flight.
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] >= 2000, 60, 0.05, "first rows")
    sluice.worker.kill()
    time.sleep(1)
    sluice.worker = Process(s, "worker", sluice.worker.log_path.parent).start()
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] >= 5000, 60, 0.05, "more rows")
    sluice.worker.kill()
    sluice.worker = Process(s, "worker", sluice.worker.log_path.parent).start()
    sender.join(120)
    assert set(sender.statuses) == {202}
    expected = len(sender.accepted)
    assert expected == 15_000
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE TenantId != ''")[0][0] >= expected, 120, what="all rows")
    time.sleep(2 * s.batch_max_wait_s + 1)  # anything duplicated would land by now
    total, distinct = sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE TenantId != ''")[0]
    assert (total, distinct) == (expected, expected)


def test_stopped_broker_gets_503_and_nothing_acknowledged_is_lost(own_broker, make_sluice):
    broker = own_broker
    sluice = make_sluice(broker.config.bootstrap)
    before = Sender(sluice, 20, 20)
    before.run()
    assert set(before.statuses) == {202}

    broker.stop()
    during = Sender(sluice, 3, 20)
    during.run()
    assert set(during.statuses) == {500} and during.retry_after == {"2"}

    broker.start()
    after = Sender(sluice, 1, 20)
    wait_for(lambda: (after.run(), after.statuses[-1] == 202)[1], 60, 1, "gateway recovered")

    accepted = before.accepted + after.accepted
    stored = lambda: {r[0] for r in sql(sluice.settings, "SELECT Body FROM sluice.logs WHERE TenantId != ''")}  # noqa: E731
    wait_for(lambda: set(accepted) <= stored(), 120, 1, "every acknowledged record stored")
