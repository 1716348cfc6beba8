"""The dead-letter topic's contract (``sluice-dlq``).

A dead letter is the original record — key, value and headers untouched —
with these headers added. ``sluice dlq replay`` re-publishes it to its source
topic with ``sluice-replay-of`` and then appends a marker record (no value,
header ``sluice-dlq-replayed``) so the letter is not replayed again.
"""

REASON = "sluice-dlq-reason"  # machine-readable, e.g. unknown_tenant, malformed_json
DETAIL = "sluice-dlq-detail"  # for a person; at most 1 KiB
SOURCE_TOPIC = "sluice-dlq-topic"
SOURCE_PARTITION = "sluice-dlq-partition"
SOURCE_OFFSET = "sluice-dlq-offset"
#: On the dead letter of one entry of a batch record (LogFlux): the entry's index in it.
SOURCE_ENTRY = "sluice-dlq-entry"
TIME = "sluice-dlq-time"  # ISO 8601, UTC
DLQ_HEADERS = (REASON, DETAIL, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, SOURCE_ENTRY, TIME)

#: On a re-published record: "topic:partition:offset" of its first life, with
#: "#<entry>" when it was one entry of a batch record.
REPLAY_OF = "sluice-replay-of"
#: On a marker record: "partition:offset" of the dead letter that was replayed.
REPLAYED = "sluice-dlq-replayed"
