"""The cluster form of the schema: generated from the same migrations, checked in, and valid ClickHouse SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.clickhouse import MIGRATIONS
from schemas.clickhouse_cluster import cluster_migrations, render

pytestmark = pytest.mark.integration
CHECKED_IN = Path(__file__).parents[2] / "deploy" / "clickhouse" / "cluster.sql"


def statements(script: str) -> list[str]:
    code = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [s.strip() for s in code.split(";\n") if s.strip()]


def test_the_checked_in_cluster_schema_is_what_the_migrations_generate():
    assert CHECKED_IN.read_text() == render("sluice"), "run: sluice migrate --print-cluster sluice > " + str(CHECKED_IN)


def test_every_table_is_replicated_behind_a_distributed_table():
    for single, clustered in zip(MIGRATIONS, cluster_migrations("c1")):
        assert clustered.version == single.version
        creates = [s for s in clustered.forwards if s.startswith("CREATE TABLE")]
        assert all("ON CLUSTER 'c1'" in s for s in clustered.forwards + clustered.backwards)
        for local, distributed in zip(creates[::2], creates[1::2]):
            assert "ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{db}/" in local
            assert "non_replicated" not in local
            assert "ENGINE = Distributed('c1', '{db}'" in distributed


def test_the_cluster_schema_parses_in_the_clickhouse_engine(storage):
    script = render("sluice")
    found = statements(script)
    assert len(found) == 1 + 2 + sum(len(m.forwards) for m in cluster_migrations("sluice"))

    def parse_all(client):
        return [client.query("EXPLAIN AST " + statement).result_rows for statement in found]

    asts = storage.run_sync(parse_all)
    assert all(rows for rows in asts)
    joined = "\n".join(str(r) for rows in asts for r in rows)
    assert "ReplicatedMergeTree" in joined and "Distributed" in joined
