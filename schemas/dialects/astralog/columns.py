"""AstraLog's entries as ``logs`` rows (schemas/columns.py): ``project_id`` is a resource attribute of
every row, ``metadata`` is flattened into the row's attributes."""

from schemas.columns import Columns, Member
from schemas.dialects.astralog.wire import AstraLogEntry
from schemas.formats import Format

ENTRY = Columns("astralog", AstraLogEntry, "logs", (
    Member("project_id", "resource", "project_id"),
    Member("timestamp", "time"),
    Member("level", "level"),
    Member("service", "service"),
    Member("message", "body"),
    Member("metadata", "attributes"),
))

#: Each format's bodies: where their entries are.
COLUMNS = {Format.ASTRALOG_DRAIN: ENTRY}
