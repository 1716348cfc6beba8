"""Which insert failures are retried and which split the batch."""

from __future__ import annotations

import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from sluice.failpoints import FailpointError
from workers.insert_errors import is_permanent, summary


@pytest.mark.parametrize("exc", [
    DatabaseError("Code: 676. DB::Exception: Invalid IPv6 value: while converting column `ClientIP`"),
    DatabaseError("Code: 6. DB::Exception: Cannot parse string 'x' as UInt8"),
    DatabaseError("Code: 252. DB::Exception: Too many partitions for single INSERT block (more than 100)."),
    OverflowError("Python int too large to convert to C long"),
    pa.ArrowInvalid("Value 300 too large to fit in C integer type"),
    pa.ArrowTypeError("Expected bytes, got a 'int' object"),
])
def test_the_rows_fault_is_permanent(exc):
    assert is_permanent(exc)


@pytest.mark.parametrize("exc", [
    DatabaseError("Code: 252. DB::Exception: Too many parts (3000). Merges are processing significantly slower"),
    DatabaseError("Code: 241. DB::Exception: Memory limit (total) exceeded"),
    DatabaseError("Code: 60. DB::Exception: Table sluice.logs does not exist"),
    DatabaseError("Code: 159. DB::Exception: Timeout exceeded"),
    OperationalError("Error HTTPConnectionPool(host='ch', port=8123): Max retries exceeded"),
    ConnectionError("ClickHouse is down"),
    FailpointError("failpoint clickhouse-insert is active"),
    RuntimeError("something without a code"),
])
def test_the_server_s_trouble_is_retried(exc):
    assert not is_permanent(exc)


def test_summary_is_one_bounded_line():
    text = summary(DatabaseError("Code: 6. DB::Exception: bad\n" + "stack " * 500), limit=80)
    assert text.startswith("DatabaseError: Code: 6.") and "\n" not in text and len(text) <= 80
