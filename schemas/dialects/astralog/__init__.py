"""AstraLog (astralog.txt): ``POST /v1/drain`` with ``{"logs": [...]}``, the key in ``Authorization``.

Folder: ``wire.py`` the request types; this module the decoding and the HTTP surface.
"""

from __future__ import annotations

from schemas.dialect import AuthStyle, Dialect, Endpoint, json_object
from schemas.dialects.astralog.wire import AstraLogDrain
from schemas.dialects.astralog.columns import COLUMNS
from schemas.formats import Format
from schemas.json_body import json_decoding


def _success(entries: int, request_id: str) -> bytes:
    return b'{"status":"accepted"}'


DIALECT = Dialect(
    "astralog",
    {Format.ASTRALOG_DRAIN: json_decoding(AstraLogDrain, "logs")},
    # astralog.txt documents no rate limit (it recommends batches of 100-500 and many connections
    # at high volume): no request quota, only the operator's tenant budget when one is set.
    (Endpoint("/v1/drain", Format.ASTRALOG_DRAIN, AuthStyle.AUTHORIZATION, 10_000, 200, _success,
              json_object({"status": {"const": "accepted"}}), quota="budget"),),
    columns=COLUMNS,
)
