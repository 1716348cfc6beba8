"""Native JSON records as ``logs`` rows (schemas/columns.py): the OpenTelemetry log data model, one
member per column. (``sluice.arrow.v1`` arrives in columns already: workers/columnar.normalize_arrow.)"""

from schemas.columns import Columns, Member
from schemas.dialects.native.wire import LogRecord
from schemas.formats import Format

RECORD = Columns("native", LogRecord, None, (
    Member("body", "body"),
    Member("timestamp", "time"),
    Member("severity_text", "level"),
    Member("severity_number", "severity_number"),
    Member("service_name", "service"),
    Member("trace_id", "trace_id"),
    Member("span_id", "span_id"),
    Member("trace_flags", "trace_flags"),
    Member("resource_attributes", "resource_attributes"),
    Member("scope_name", "scope_name"),
    Member("scope_version", "scope_version"),
    Member("attributes", "attributes"),
))

#: Each format's values: one record, or a batch of them under ``records``.
COLUMNS = {Format.NATIVE_RECORD: RECORD, Format.NATIVE_BATCH: RECORD.with_entries("records")}
