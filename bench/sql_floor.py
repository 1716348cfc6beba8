"""Issue #25's floor for the JSON dialects: the Kafka values handed to the engine as they are.

The issue measured what a worker would cost if C++ did all the per-entry work: the chunk's record
values written to a file and inserted with one ``INSERT … SELECT <the dialect's mapping as SQL> FROM
file(…, JSONEachRow) ARRAY JOIN``, everything included (3.8 µs a row that day, against 8.3 for the
Python chain), and set the worker's goal, 4 µs a row, at that floor. ``bench.hot_path`` runs this as
its ``engine+insert`` variant beside the hot path, so the ratio between the two is measured in one run
on one table layout.

The SQL mapping is LogTrace's, and it is lighter than the real one: ``attributes`` is read as a
``Map(String, String)`` (a nested object or an array stays one JSON string instead of being flattened
to dotted keys), the level goes through one ``transform`` and the time through
``parseDateTime64BestEffortOrNull``. A floor measured with less work than the worker does is a
conservative peer: the hot path's ratio to it can only look worse than a like-for-like one.
"""

from __future__ import annotations

from pathlib import Path

#: The formats this floor has a SQL mapping for.
DIALECTS = ("logtrace",)

_ENTRY = ("Tuple(timestamp String, level String, message String, service String, host Nullable(String), "
          "trace_id String, span_id String, attributes Map(String, String))")


def insert_sql(path: Path) -> str:
    """One chunk's insert: the lines of ``path`` (see :func:`write_chunk`) mapped to ``logs`` rows."""
    return f"""INSERT INTO sluice.logs (TenantId, Environment, Source, RequestId, ReceivedAt, Timestamp,
        TraceId, SpanId, SeverityText, SeverityNumber, ServiceName, Body, ResourceAttributes, LogAttributes)
    SELECT tenant, environment, 'logtrace', request_id, fromUnixTimestamp64Nano(received, 'UTC'),
        ifNull(parseDateTime64BestEffortOrNull(e.timestamp, 9, 'UTC'), fromUnixTimestamp64Nano(received, 'UTC')),
        e.trace_id, e.span_id, upper(e.level),
        transform(upper(e.level), ['TRACE', 'DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'FATAL'],
                  [1, 5, 9, 13, 13, 17, 21], 0),
        e.service, e.message, if(e.host IS NULL, map(), map('host.name', assumeNotNull(e.host))), e.attributes
    FROM file('{path}', 'JSONEachRow',
              'tenant String, environment String, request_id String, received Int64, logs Array({_ENTRY})')
    ARRAY JOIN logs AS e
    SETTINGS insert_deduplicate = 0"""


def write_chunk(path: Path, values: list[bytes], envelopes: list) -> None:
    """The chunk's values, one a line, each with its envelope spliced in front of its ``logs`` member:
    per record, never per entry, as a worker handing values to the engine would."""
    with open(path, "wb") as out:
        for value, env in zip(values, envelopes):
            head = b'{"tenant":"%s","environment":"%s","request_id":"%s","received":%d,' % (
                env.tenant.encode(), env.environment.encode(), env.request_id.encode(), env.received_ns)
            out.write(head + value[1:] + b"\n")
