"""Migration 9 (the logs table's default codec) against the real engine: the table names ZSTD(1), a
part written after it stores its text index smaller than the same rows written before it, and a
part written before it keeps its rows and takes the codec when it is merged again."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from bench.search_corpus import HOUR_NS
from bench.search_layouts import arrow_batch
from schemas.clickhouse import LOGS_DEFAULT_CODEC, MIGRATIONS

pytestmark = pytest.mark.integration

(CODEC,) = [m for m in MIGRATIONS if m.name == "logs_index_codec"]
DAY_NS = 86_400 * 10**9
ROWS = 20_000


def _apply(storage, statements) -> None:
    for statement in statements:
        storage.run_sync(lambda c: c.command(statement.format(db="sluice")))


def _create(storage, table: str) -> str:
    return storage.run_sync(lambda c: c.command(f"SHOW CREATE TABLE sluice.{table}"))


def _corpus(tenant: str, received_ns: int) -> pa.Table:
    """Log lines with a unique token each (the text index's costliest kind), received on one day of their
    own: the rows of each call fill one part of a partition no other test writes to."""
    start = (received_ns // HOUR_NS - 2) * HOUR_NS
    batch = arrow_batch(ROWS, start, 0, ROWS, received_ns)
    return batch.set_column(batch.schema.get_field_index("TenantId"), "TenantId", pa.array([tenant] * ROWS))


def _part(storage, partition: str) -> tuple[int, int]:
    """The one active part of the partition of id ``partition``: its rows and its skip indexes' compressed bytes."""
    (part,) = storage.run_sync(lambda c: c.query(
        "SELECT rows, secondary_indices_compressed_bytes FROM system.parts WHERE database = 'sluice' "
        "AND table = 'logs' AND partition_id = {p:String} AND active", parameters={"p": partition}).result_rows)
    return int(part[0]), int(part[1])


def _content(storage, tenant: str) -> list[tuple]:
    return storage.run_sync(lambda c: c.query(
        "SELECT Seq, Body, toUnixTimestamp64Nano(Timestamp), LogAttributes FROM sluice.logs "
        "WHERE TenantId = {t:String} ORDER BY Seq", parameters={"t": tenant}).result_rows)


def _found(storage, tenant: str, token: str) -> int:
    return storage.run_sync(lambda c: c.query(
        "SELECT count() FROM sluice.logs WHERE TenantId = {t:String} AND hasAllTokens(lower(Body), {w:String})",
        parameters={"t": tenant, "w": token}).result_rows[0][0])


def test_the_logs_table_names_zstd_as_its_default_codec_and_the_access_logs_keep_theirs(storage):
    setting = f"default_compression_codec = \\'{LOGS_DEFAULT_CODEC}\\'"
    assert setting in _create(storage, "logs")
    assert "default_compression_codec" not in _create(storage, "http_logs")
    _apply(storage, CODEC.backwards)
    assert "default_compression_codec" not in _create(storage, "logs")
    _apply(storage, CODEC.forwards)
    _apply(storage, CODEC.forwards)  # as after a crash right before the migration was recorded
    assert setting in _create(storage, "logs")


def test_the_text_index_of_a_part_shrinks_with_the_codec_and_an_older_part_takes_it_when_merged(storage):
    # Days ahead, not behind (rows older than the retention would be the TTL's to drop meanwhile), and
    # beyond those other tests write to.
    now = time.time_ns()
    before_ns, after_ns = now + 400 * DAY_NS, now + 401 * DAY_NS
    before_day, after_day = (time.strftime("%Y%m%d", time.gmtime(ns // 10**9)) for ns in (before_ns, after_ns))

    _apply(storage, CODEC.backwards)
    try:
        storage.run_sync(lambda c: c.insert_arrow("sluice.logs", _corpus("codec-before", before_ns)))
    finally:
        _apply(storage, CODEC.forwards)
    storage.run_sync(lambda c: c.insert_arrow("sluice.logs", _corpus("codec-after", after_ns)))

    rows, lz4 = _part(storage, before_day)
    assert (rows, _part(storage, after_day)[0]) == (ROWS, ROWS)
    zstd = _part(storage, after_day)[1]
    # The same lines (the tenant aside), the same index: only the codec tells the two parts apart.
    assert zstd < 0.95 * lz4, (zstd, lz4)

    kept = _content(storage, "codec-before")
    storage.run_sync(lambda c: c.command(f"OPTIMIZE TABLE sluice.logs PARTITION ID '{before_day}' FINAL"))
    assert _part(storage, before_day) == (ROWS, zstd)
    assert _content(storage, "codec-before") == kept and len(kept) == ROWS
    token = f"rid {ROWS // 3}"
    assert _found(storage, "codec-before", token) == _found(storage, "codec-after", token) >= 1
