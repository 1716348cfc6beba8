"""LogInformant's logs as ``logs`` rows (schemas/columns.py): ``source`` is the service, ``properties``
are flattened into the attributes and an ``exception`` joins them as ``exception.stacktrace``."""

from schemas.columns import Columns, Member
from schemas.dialects.loginformant.wire import LogInformantLog
from schemas.formats import Format

ENTRY = Columns("loginformant", LogInformantLog, "logs", (
    Member("timestamp", "time"),
    Member("level", "level"),
    Member("message", "body"),
    Member("source", "service"),
    Member("properties", "attributes"),
    Member("exception", "attribute", "exception.stacktrace"),
))

#: Each format's bodies: where their entries are (a single log is the whole body).
COLUMNS = {Format.LOGINFORMANT_BATCH: ENTRY, Format.LOGINFORMANT_SINGLE: ENTRY.with_entries(None)}
