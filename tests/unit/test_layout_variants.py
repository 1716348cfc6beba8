"""The layout benchmark against production: its production table is the one the migrations leave,
a variant of it differs in the table alone, and the engine numbers the rows as in production."""

from __future__ import annotations

from bench.search import shapes
from bench.search_layouts import VARIANTS, arrow_batch, ddl
from bench.search_sql import statement
from schemas.clickhouse import LOGS_DEFAULT_CODEC, MIGRATIONS

BY_NAME = {v.name: v for v in VARIANTS}


def test_production_names_the_default_codec_of_the_last_migration_and_migration_7_the_engines():
    (codec,) = [m for m in MIGRATIONS if m.name == "logs_index_codec"]
    assert f"default_compression_codec = '{LOGS_DEFAULT_CODEC}'" in codec.forwards[0]
    assert ddl(BY_NAME["production"], "db").endswith(f"SETTINGS default_compression_codec = '{LOGS_DEFAULT_CODEC}'")
    assert ddl(BY_NAME["migration_7"], "db").endswith("SETTINGS default_compression_codec = 'LZ4'")
    assert ddl(BY_NAME["prod_index_zstd3"], "db").count("default_compression_codec") == 1
    assert "default_compression_codec" not in ddl(BY_NAME["before"], "db")


def test_a_variant_of_productions_table_asks_productions_sql():
    for shape in shapes(1000):
        sql, params = statement(BY_NAME["production"], "db", shape, 0, 10, 5)
        assert statement(BY_NAME["migration_7"], "db", shape, 0, 10, 5) == (sql, params)
        assert "row_key" not in sql  # the production compiler's page order, not the benchmark's spelling


def test_the_benchmark_leaves_seq_to_the_engine_as_the_worker_does():
    assert "Seq" not in arrow_batch(1000, 0, 0, 10, 1).column_names
