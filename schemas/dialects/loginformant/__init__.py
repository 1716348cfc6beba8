"""LogInformant (loginformant.txt): one log at ``/api/ingest``, a batch at ``/api/ingest/batch``, ``X-API-Key``.

Folder: ``wire.py`` the request types; this module the decodings and the HTTP surface.
"""

from __future__ import annotations

from schemas.dialect import ACCEPTED_SCHEMA, AuthStyle, Dialect, Endpoint, accepted
from schemas.dialects.loginformant.wire import LogInformantBatch, LogInformantLog
from schemas.dialects.loginformant.columns import COLUMNS
from schemas.formats import Format
from schemas.json_body import json_decoding

DIALECT = Dialect(
    "loginformant",
    {
        Format.LOGINFORMANT_BATCH: json_decoding(LogInformantBatch, "logs"),
        Format.LOGINFORMANT_SINGLE: json_decoding(LogInformantLog, None),
    },
    # loginformant.txt: "Rate limits are tier-based and enforced by the API", no number and neither
    # per account nor per key: the hourly tiers (INGEST), per key, as LogTrace's.
    (
        Endpoint("/api/ingest/batch", Format.LOGINFORMANT_BATCH, AuthStyle.API_KEY, 500, 200, accepted,
                 ACCEPTED_SCHEMA, quota="ingest"),
        Endpoint("/api/ingest", Format.LOGINFORMANT_SINGLE, AuthStyle.API_KEY, 1, 200, accepted, ACCEPTED_SCHEMA,
                 quota="ingest"),
    ),
    columns=COLUMNS,
)
