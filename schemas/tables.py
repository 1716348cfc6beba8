"""The ``logs`` and ``http_logs`` tables, declared once: each column's name, ClickHouse type, Arrow type and codec.

Everything else is derived from these declarations: the CREATE statements
(schemas/clickhouse.py, and from them the cluster form), the storability
bounds (schemas/storable.py), the Arrow layouts the workers insert
(``Table.arrow_schema``, used by schemas/rows/arrow.py and schemas/rows/declared_http.py) and the
columns the query language reaches (sluice/query/sql.py).

A column's ``arrow`` type is what an insert carries; a column without one is
never inserted, the engine fills it (its ``DEFAULT``, or the type's empty
value). Columns are listed in the tables' order, which is also the order of
the Arrow layouts; ClickHouse matches an Arrow insert's columns by name.

The CREATE statements of migrations 1, 4 and 7 are generated from these
declarations, so a declared table only grows with a migration: append the
column here *and* add a migration that adds it to existing tables (``ALTER
TABLE … ADD COLUMN IF NOT EXISTS``, or a rebuild like migration 7's); a column
declared here alone would reach new installations only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

#: Every time column's Arrow type: nanoseconds, UTC (``DateTime64(9)``).
TIMESTAMP = pa.timestamp("ns", tz="UTC")
#: Every attribute map's Arrow type (``Map(… String, String)``): flat string keys and values.
ATTRIBUTES = pa.map_(pa.string(), pa.string())

# Codecs as the tables use them: text compresses with ZSTD, times delta-encode first.
ZSTD, DELTA = "ZSTD(1)", "Delta(8), ZSTD(1)"
_NAME = "LowCardinality(String)"  # a value from a small set: names, levels, versions
_MAP = "Map(LowCardinality(String), String)"


@dataclass(frozen=True)
class Column:
    """One column: ``name type [DEFAULT default] [CODEC(codec)]`` in the DDL, ``arrow`` in an insert."""

    name: str
    type: str  # the ClickHouse type, as DESCRIBE TABLE shows it
    arrow: pa.DataType | None  # the Arrow type an insert carries; None: never inserted
    codec: str = ""
    default: str = ""  # a DEFAULT expression the engine computes

    @property
    def ddl(self) -> str:
        parts = [self.name, self.type]
        if self.default:
            parts.append(f"DEFAULT {self.default}")
        if self.codec:
            parts.append(f"CODEC({self.codec})")
        return " ".join(parts)


@dataclass(frozen=True)
class Table:
    """A declared table: its name and its columns in order."""

    name: str
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name} declares a column twice: {names}")

    def column(self, name: str) -> Column:
        """The column called ``name``; KeyError when the table has none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow layout of an insert: the inserted columns, in order."""
        return pa.schema([(c.name, c.arrow) for c in self.columns if c.arrow is not None])


def _string(name: str, codec: str = ZSTD) -> Column:
    return Column(name, "String", pa.string(), codec)


def _named(name: str, codec: str = ZSTD) -> Column:
    return Column(name, _NAME, pa.string(), codec)


#: What both tables start with: the envelope's columns (who sent a record, through
#: which dialect, when the gateway accepted it), the same value in every row of a record.
ENVELOPE = (
    _named("TenantId"),  # the API key's tenant
    _named("Environment"),  # the key's environment
    _named("Source"),  # the dialect the record came in through
    _string("RequestId"),  # the id the client got back
    Column("ReceivedAt", "DateTime64(9)", TIMESTAMP, DELTA),  # retention counts from here
)
# Then the event time, and the second it falls in, for OTel tools.
_TIMESTAMP = (
    Column("Timestamp", "DateTime64(9)", TIMESTAMP, DELTA),  # the entry's own time, or ReceivedAt
    Column("TimestampTime", "DateTime", None, default="toDateTime(Timestamp)"),
)
# Small numbers compress to a third with ZSTD of what LZ4 leaves (0.67 -> 0.29 bytes a row, docs/search.md).
_SEVERITY_NUMBER = Column("SeverityNumber", "UInt8", pa.uint8(), ZSTD)  # OTel's, see schemas/severity.py
#: A row's place among rows of the same nanosecond: the page order's tiebreak and the search
#: cursor's second half (sluice/query/search.py). The engine numbers rows as it stores them
#: (unique in a server process, rising with time, so it delta-encodes to under a byte), so it
#: costs the worker nothing and a query never hashes a row to order it.
SEQ = Column("Seq", "UInt64", None, DELTA, default="generateSnowflakeID()")

#: The OpenTelemetry Collector's ``otel_logs`` layout plus the envelope's columns.
LOGS = Table("logs", (
    *ENVELOPE,
    *_TIMESTAMP,
    _string("TraceId"),
    _string("SpanId"),
    Column("TraceFlags", "UInt8", pa.uint8(), ZSTD),
    _named("SeverityText"),
    _SEVERITY_NUMBER,
    _named("ServiceName"),
    _string("Body"),
    Column("ResourceSchemaUrl", _NAME, None, ZSTD),  # OTel's; no dialect carries one
    Column("ResourceAttributes", _MAP, ATTRIBUTES, ZSTD),
    Column("ScopeSchemaUrl", _NAME, None, ZSTD),
    _string("ScopeName"),
    _named("ScopeVersion"),
    Column("ScopeAttributes", _MAP, ATTRIBUTES, ZSTD),
    Column("LogAttributes", _MAP, ATTRIBUTES, ZSTD),
    SEQ,
))

#: Access logs (Profound): typed HTTP columns, their enrichment, and the OTel
#: columns a log browser expects (``Body`` is the Combined Log Format line).
HTTP_LOGS = Table("http_logs", (
    *ENVELOPE,
    Column("VisitId", "UUID", pa.string()),  # assigned by the gateway
    *_TIMESTAMP,
    _named("ServiceName"),  # the Host
    _named("SeverityText"),  # from the status class
    _SEVERITY_NUMBER,
    _string("Body"),
    # For OTel tools; an access log's fields have columns, what has none goes here (forwarded_for:
    # schemas/dialects/profound/rows.py).
    Column("LogAttributes", _MAP, ATTRIBUTES, ZSTD),
    _named("Host"),
    _named("Method", codec=""),
    _string("Path"),
    Column("Status", "UInt16", pa.uint16()),
    Column("ClientIP", "IPv6", pa.binary(16)),  # the address's 16 bytes, see schemas/storable.ipv6_bytes
    _string("UserAgent"),
    _string("Referer"),
    Column("QueryParams", "Map(String, String)", ATTRIBUTES, ZSTD),
    Column("Bytes", "Nullable(UInt64)", pa.uint64()),
    Column("DurationMs", "Nullable(Float64)", pa.float64()),
    *(_named(name, codec="") for name in ("Browser", "BrowserVersion", "OS", "Device", "BotName", "BotKind",
                                          "ReferralSource", "ReferralName")),
    SEQ,
))

TABLES = (LOGS, HTTP_LOGS)
