"""bench/sql_floor.py, issue #25's floor for the worker's CPU, against the real engine: it stores what the hot
path stores. In the integration suite because it writes to the shared engine of its test process (chDB allows one
engine a process, so a test that opened its own beside it failed in whichever process had opened the shared one)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_the_engines_own_mapping_stores_the_hot_paths_rows_but_for_nested_attributes(storage, tmp_path):
    """bench/sql_floor.py is the peer of the worker's CPU goal, so it must do the worker's work: the same
    columns from the same values. It flattens no nested attribute (``user`` stays one JSON string where the
    hot path writes ``user.id`` and ``user.tier``), which makes it the cheaper of the two."""
    import pyarrow as pa

    from bench import sql_floor
    from bench.hot_path import workload
    from schemas.formats import Format
    from workers import hot

    values, envelopes = workload("logtrace", 3, 7)
    envelopes = [e._replace(tenant=f"sql-floor-{i}") for i, e in enumerate(envelopes)]  # rows of this test only
    sql_floor.write_chunk(tmp_path / "chunk.ndjson", values, envelopes)
    storage.run_sync(lambda c: c.command(sql_floor.insert_sql(tmp_path / "chunk.ndjson")))
    names = ("TenantId", "Environment", "Source", "RequestId", "ReceivedAt", "Timestamp", "TraceId", "SpanId",
             "SeverityText", "SeverityNumber", "ServiceName", "Body", "ResourceAttributes", "LogAttributes")
    selected = ", ".join(f"toUnixTimestamp64Nano({n})" if n in ("ReceivedAt", "Timestamp") else n for n in names)
    floor = storage.run_sync(lambda c: c.query(
        f"SELECT {selected} FROM sluice.logs WHERE TenantId LIKE 'sql-floor-%' ORDER BY RequestId, Timestamp, Body"
    ).result_rows)
    out = hot.map_values(Format.LOGTRACE_INGEST, values, envelopes)
    table = hot.joined([r for r in out.rows if r is not None])[0]
    columns = [table.column(n).cast(pa.int64()) if n in ("ReceivedAt", "Timestamp") else table.column(n)
               for n in names]
    rows = sorted(zip(*(c.to_pylist() for c in columns)), key=lambda r: (r[3], r[5], r[11]))
    assert len(floor) == len(rows) == 21
    for got, want in zip(floor, rows):
        assert got[:12] == want[:12]
        assert got[12] == dict(want[12])
        attributes = dict(want[13])
        assert {k: v for k, v in got[13].items() if k not in ("user", "tags")} == \
            {k: v for k, v in attributes.items() if not k.startswith(("user.", "tags"))}
        assert json.loads(got[13]["user"]) == {"id": attributes["user.id"], "tier": attributes["user.tier"]}
        assert json.loads(got[13]["tags"]) == json.loads(attributes["tags"])  # the same array, spaced otherwise
