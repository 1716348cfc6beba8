"""LogTrace (logtrace.txt): ``POST /v1/logs/ingest`` with ``{"logs": [...]}``, a Bearer key, 202.

Folder: ``wire.py`` the request types; this module the decoding and the HTTP surface.
"""

from __future__ import annotations

from schemas.dialect import ACCEPTED_SCHEMA, AuthStyle, Dialect, Endpoint, accepted
from schemas.dialects.logtrace.wire import LogTraceIngest
from schemas.dialects.logtrace.columns import COLUMNS
from schemas.formats import Format
from schemas.json_body import json_decoding

DIALECT = Dialect(
    "logtrace",
    {Format.LOGTRACE_INGEST: json_decoding(LogTraceIngest, "logs")},
    # logtrace.txt: "Standard tier: 10,000 requests per hour for ingestion ... Enterprise tier: 50,000 ...
    # reset at the top of each UTC hour". It says neither per account nor per key; tiers count per key
    # (gateway/ratelimit.py INGEST), so a team's keys keep the budgets their clients were tuned to.
    # logtrace.txt lists "500 Internal Server Error — Cluster maintenance or transient failure" and no 503.
    (Endpoint("/v1/logs/ingest", Format.LOGTRACE_INGEST, AuthStyle.BEARER, 5_000, 202, accepted, ACCEPTED_SCHEMA,
              quota="ingest", outage_status=500),),
    columns=COLUMNS,
)
