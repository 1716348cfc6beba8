"""Native Kafka formats (docs/native.md): producers write ``sluice.record.v1``, ``sluice.batch.v1``
(JSON, ``wire.py``) or ``sluice.arrow.v1`` (an Arrow IPC stream, ``arrow.py``) straight to the
records topic. No HTTP endpoint.
"""

from __future__ import annotations

from schemas.dialect import Decoding, Dialect
from schemas.dialects.native import arrow
from schemas.dialects.native.columns import COLUMNS
from schemas.dialects.native.wire import LogBatch, LogRecord
from schemas.formats import Format, InvalidBody
from schemas.json_body import json_decoding


def decode_arrow(body: bytes, limits: arrow.Limits = arrow.Limits()) -> list:
    """``[table]``: one conformed ``pyarrow.Table``, within ``limits``."""
    try:
        return [arrow.read(body, limits)]
    except arrow.ArrowRecordError as exc:
        raise InvalidBody(exc.code, exc.message) from None


DIALECT = Dialect(
    "native",
    {
        Format.NATIVE_RECORD: json_decoding(LogRecord, None),
        Format.NATIVE_BATCH: json_decoding(LogBatch, "records"),
        Format.NATIVE_ARROW: Decoding(decode_arrow),
    },
    columns=COLUMNS,
)
