"""The canonical log record that Kafka-native producers write (topic ``sluice-records``).

Versioned by the ``sluice-format`` header: ``sluice.record.v1`` (one record)
or ``sluice.batch.v1`` (``{"records": [...]}``). Every field added after v1
gets a default, and unknown fields are ignored, so old producers keep working
and new producers can talk to old workers. Values the ``logs`` table cannot
hold (schemas/storable.py) are refused by ``schemas.dialects.decode``, so the
worker dead-letters such a record alone. The JSON Schema files under
``schemas/json/`` are generated from these types (``python -m schemas.dialects.native``).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from schemas.storable import LOGS

JSON_DIR = Path(__file__).parents[2] / "json"


class LogRecord(msgspec.Struct, kw_only=True):
    """One log record, named after the OpenTelemetry log data model."""

    body: Annotated[str, Meta(description="The log message.")]
    timestamp: Annotated[datetime | None, Meta(
        description="When the event happened, RFC 3339. Absent: the Kafka record's timestamp.")] = None
    severity_text: Annotated[str, Meta(description="The level as the producer names it, e.g. INFO.")] = ""
    severity_number: Annotated[Annotated[int, Meta(ge=0, le=24)] | None, Meta(
        description="OTel SeverityNumber 0-24. Absent: derived from severity_text.")] = None
    service_name: str = ""
    trace_id: Annotated[str, Meta(description="W3C trace id, 32 hex characters.")] = ""
    span_id: Annotated[str, Meta(description="W3C span id, 16 hex characters.")] = ""
    trace_flags: Annotated[int, Meta(ge=LOGS["TraceFlags"].low, le=LOGS["TraceFlags"].high)] = 0
    resource_attributes: Annotated[dict[str, Any], Meta(
        description="Describes the emitter (host, deployment). Nested objects are flattened to dotted keys.")] = {}
    scope_name: str = ""
    scope_version: str = ""
    attributes: Annotated[dict[str, Any], Meta(
        description="The record's own structured data. Nested objects are flattened to dotted keys.")] = {}


class LogBatch(msgspec.Struct):
    """Several records in one Kafka record, the efficient way to produce."""

    records: list[LogRecord]


def json_schemas() -> dict[str, dict]:
    """The JSON Schema of each native format, keyed by its file name under schemas/json/."""
    return {
        "sluice.record.v1.json": msgspec.json.schema(LogRecord),
        "sluice.batch.v1.json": msgspec.json.schema(LogBatch),
    }


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"

