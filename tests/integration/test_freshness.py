"""A record arriving at idle is inserted at once, as a batch of its own (workers/take.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.support import post, sql, wait_for

pytestmark = pytest.mark.integration


def test_a_record_at_idle_is_inserted_alone_without_waiting_for_the_time_bound(broker, make_sluice):
    # With an hour as the time bound, only "nothing more buffered" can close the chunk before
    # the deadlines below: the old count-or-time chunks would hold each record for the hour.
    sluice = make_sluice(broker.config.bootstrap, batch_max_wait_s=3600.0)
    auth = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}
    topic = sluice.settings.ingest_topic
    for n in (1, 2):
        body = {"logs": [{"timestamp": datetime.now(timezone.utc).isoformat(), "level": "INFO",
                          "message": f"idle-{n}", "service": "fresh"}]}
        status, answer, _ = post(sluice.url("/v1/logs/ingest"), body, auth)
        assert status == 202, answer
        wait_for(lambda: sql(sluice.settings, f"SELECT count() FROM sluice.logs WHERE Body = 'idle-{n}'")[0][0] == 1,
                 60, what=f"record {n} queryable")
    batches = sql(sluice.settings, "SELECT FirstOffset, LastOffset, Rows FROM sluice.ingest_batches "
                                   f"WHERE splitByChar('@', Topic)[1] = '{topic}' ORDER BY CreatedAt, LastOffset")
    assert len(batches) == 2, batches
    assert all(first == last and rows == 1 for first, last, rows in batches), batches
