"""LogTrace's entries as ``logs`` rows (schemas/columns.py): the doc's fields by name, ``host`` as the
OpenTelemetry resource attribute ``host.name`` when sent, ``attributes`` flattened."""

from schemas.columns import Columns, Member
from schemas.dialects.logtrace.wire import LogTraceEvent
from schemas.formats import Format

ENTRY = Columns("logtrace", LogTraceEvent, "logs", (
    Member("timestamp", "time"),
    Member("level", "level"),
    Member("message", "body"),
    Member("service", "service"),
    Member("host", "resource_if_set", "host.name"),
    Member("trace_id", "trace_id"),
    Member("span_id", "span_id"),
    Member("attributes", "attributes"),
))

#: Each format's bodies: where their entries are.
COLUMNS = {Format.LOGTRACE_INGEST: ENTRY}
