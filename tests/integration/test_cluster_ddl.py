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
        statements = clustered.forwards + clustered.backwards
        # A rebuild's copy is an INSERT between two Distributed tables, which each shard runs on its own rows.
        copies = [s for s in statements if s.startswith("INSERT")]
        assert all("parallel_distributed_insert_select = 2" in s for s in copies)
        assert all("ON CLUSTER 'c1'" in s for s in statements if s not in copies)
        for create in (s for s in statements if s.startswith("CREATE TABLE")):
            if "_local ON CLUSTER" in create.split("(")[0]:
                assert "ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{db}/" in create
                assert "non_replicated" not in create
            else:
                assert "ENGINE = Distributed('c1', '{db}'" in create


def test_a_rebuild_makes_the_distributed_table_again_over_the_exchanged_replicated_one():
    (layout,) = [m for m in cluster_migrations("c1") if m.name == "search_layout"]
    exchange = layout.forwards.index("EXCHANGE TABLES {db}.logs_local AND {db}.logs_v7_local ON CLUSTER 'c1'")
    assert layout.forwards[exchange + 1] == "DROP TABLE IF EXISTS {db}.logs ON CLUSTER 'c1' SYNC"
    assert layout.forwards[exchange + 2].startswith("CREATE TABLE IF NOT EXISTS {db}.logs ON CLUSTER 'c1' AS "
                                                    "{db}.logs_local ENGINE = Distributed('c1', '{db}', 'logs_local'")
    # The reversal copies into a table of another name: a replicated table's path outlives its name.
    assert any("{db}.logs_v6_local" in s for s in layout.backwards)
    assert not any("logs_v7" in s for s in layout.backwards)


def test_index_changes_go_to_the_replicated_tables_alone():
    # A Distributed table has no skip indexes: ALTER … INDEX on it would fail on a real cluster.
    (keys,) = [m for m in cluster_migrations("c1") if m.name == "attribute_key_blooms"]
    assert len(keys.forwards) == len(keys.backwards) == 2
    for statement in keys.forwards + keys.backwards:
        assert statement.startswith("ALTER TABLE {db}.logs_local ON CLUSTER 'c1' "), statement
        assert " INDEX " in statement


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


def test_migrate_refuses_a_cluster_the_server_does_not_define(storage):
    from sluice.storage import ClusterError, check_cluster

    with pytest.raises(ClusterError, match="'nowhere' is not defined on this server"):
        storage.run_sync(check_cluster, "nowhere")


class _Clusters:
    """A client whose system.clusters holds the given (shard, internal_replication) rows."""

    def __init__(self, rows):
        self.rows = rows

    def query(self, sql, parameters=None):
        assert "system.clusters" in sql and parameters == {"c": "c1"}
        return type("Result", (), {"result_rows": self.rows})()


def test_migrate_refuses_shards_without_internal_replication_and_accepts_a_safe_cluster():
    from sluice.storage import ClusterError, check_cluster

    with pytest.raises(ClusterError, match=r"internal_replication=false on shard\(s\) 2, 3"):
        check_cluster(_Clusters([(1, 1), (1, 1), (2, 0), (2, 0), (3, 0)]), "c1")
    check_cluster(_Clusters([(1, 1), (1, 1), (2, 1), (2, 1)]), "c1")  # returns: nothing to refuse
