"""Profound (profound.txt): ``POST /v1/logs/custom`` with a JSON array of HTTP access-log entries.

Entries are accepted one by one: the valid ones go on with a visit id each
(the gateway's "per_entry" preparation), the rest are reported in the 200's
``errors``; errors are Profound's ``{"detail": ...}`` ("profound_detail").
What is published is a ``wire.Published``, decoded by the workers with
this module's decoding and mapped to ``http_logs`` rows by the mapping declared as data in
``columns.py`` (each column from a member, the envelope, the visit id or a named derivation),
which schemas/rows/declared_http.py runs. The derivations are the time and address forms
(``wire.py``), the enrichment (``enrich.py``) and the Combined Log Format body (``rows.py``).
"""

from __future__ import annotations

from schemas import storable
from schemas.dialect import NULLABLE_STRING, STRING, AuthStyle, Dialect, Endpoint, json_object
from schemas.dialects.profound import wire as pf
from schemas.dialects.profound.columns import ENTRY
from schemas.formats import Format, InvalidBody
from schemas.json_body import json_decoding


def _check_published(published: pf.Published, where: object) -> None:
    """The gateway judged each entry, against the clock too; the worker checks again
    what the tables cannot hold (a record from a gateway that knew fewer bounds)."""
    for index, entry in enumerate(published.entries):
        found = pf.unstorable(entry)
        if found is not None:
            raise InvalidBody(storable.OUT_OF_RANGE, f"entry {index}: {found.message}", f"$.entries[{index}]")


SUCCESS_SCHEMA = json_object({"status": {"const": "accepted"}, "message": STRING, "first_visit_id": NULLABLE_STRING,
                              "errors": {"type": "array", "items": STRING}, "request_id": STRING})

DIALECT = Dialect(
    "profound",
    {Format.PROFOUND_CUSTOM: json_decoding(pf.Published, None, check=_check_published)},
    (Endpoint("/v1/logs/custom", Format.PROFOUND_CUSTOM, AuthStyle.API_KEY, pf.MAX_ENTRIES, 200,
              success_schema=SUCCESS_SCHEMA, prepare="per_entry", render_error="profound_detail",
              # profound.txt documents no rate limit: only the operator's tenant budget when one is set.
              request_type=list[pf.AccessLog], quota="budget",
              # profound.txt: unexpected errors "Return a 500 status code" with a `detail`; clients retry those.
              outage_status=500),),
    http_columns={Format.PROFOUND_CUSTOM: ENTRY},
)
