"""The dialects Sluice speaks, one folder each, listed once: the registry.

Each folder ``schemas/dialects/<name>/`` holds the dialect's wire types
(``wire.py``: what the gateway validates and the workers decode) and, in its
``__init__.py``, its ``DIALECT`` (schemas/dialect.py): how each of its Kafka
formats decodes, and its HTTP endpoints as data (path, methods, auth header,
max entries, success status and body, error codes and rendering style, key
prefix, quota family, media types, OpenAPI success schema).

Derived from ``DIALECTS`` below: the gateway's ingest routes
(gateway/routes.py), ``/openapi.json`` (gateway/openapi.py), ``decode`` here
(the gateway and the workers validate with it), the workers' dispatch
(workers/records.MAPPINGS, keyed by dialect name), the hot path's mappers
(sluice/hotpath.py, from ``COLUMNS``, ``FREE_FORMS`` and ``NESTED``), and the docs' endpoint table
(docs/dialects.md, compared by tests/unit/test_dialects.py).

Adding a dialect: write its folder, add one line to ``DIALECTS``, and name its
formats in ``schemas.formats.Format`` (their values travel in the
``sluice-format`` header, so they are spelled out on purpose). A dialect that
declares its columns (``Dialect.columns``: entries of declared members), its
free-form names (``Dialect.free_form``: events that are any JSON object), its
nested request (``Dialect.nested``: OTLP's resource → scope → record) or its
access logs' ``http_logs`` columns (``Dialect.http_columns``: Profound's) is
mapped by the workers with nothing more; one whose rows need code (LogFlux's
decryption, native Arrow) names that code in workers/records.MAPPINGS, and
tests fail while it is missing.
"""

from __future__ import annotations

from schemas.columns import Columns
from schemas.dialect import Decoding, Dialect, Endpoint
from schemas.dialects import astralog, logflux, loginformant, logstash, logtrace, native, otlp, profound
from schemas.dialects.native.arrow import Limits
from schemas.formats import Format
from schemas.free_form import FreeForm
from schemas.nested import Nested
from schemas.rows.declared_http import HttpColumns

DIALECTS: tuple[Dialect, ...] = (
    astralog.DIALECT,
    logtrace.DIALECT,
    loginformant.DIALECT,
    logflux.DIALECT,
    profound.DIALECT,
    otlp.DIALECT,
    logstash.DIALECT,
    native.DIALECT,
)

DECODINGS: dict[Format, Decoding] = {fmt: how for d in DIALECTS for fmt, how in d.formats.items()}
#: Every format whose mapping to ``logs`` rows is declared as data, with its columns.
COLUMNS: dict[Format, Columns] = {fmt: c for d in DIALECTS for fmt, c in d.columns.items()}
#: Every format of free-form events, with its declaration of names.
FREE_FORMS: dict[Format, FreeForm] = {fmt: f for d in DIALECTS for fmt, f in d.free_form.items()}
#: Every format whose requests nest their entries, with its declaration.
NESTED: dict[Format, Nested] = {fmt: n for d in DIALECTS for fmt, n in d.nested.items()}
#: Every format of access logs for ``http_logs``, with its declaration of columns.
HTTP_COLUMNS: dict[Format, HttpColumns] = {fmt: c for d in DIALECTS for fmt, c in d.http_columns.items()}
#: Every HTTP ingest endpoint, in the registry's order.
ENDPOINTS: tuple[Endpoint, ...] = tuple(e for d in DIALECTS for e in d.endpoints)


def decode(fmt: Format, body: bytes, arrow_limits: Limits = Limits()) -> list:
    """Decode ``body`` into its entries, or raise ``schemas.formats.InvalidBody``.

    Every value is checked against the storability contract (schemas/storable.py):
    what decodes is what the tables can hold. Error messages name the JSON
    path of the offending value, such as ``$.logs[3].timestamp``, and the bound,
    so a client can find the entry and the field.
    OTLP bodies decode to one ExportLogsServiceRequest (protobuf, or its msgspec
    mirror), Logstash records to one list of events, Arrow bodies to one
    conformed ``pyarrow.Table`` (within ``arrow_limits``).
    """
    return DECODINGS[fmt].decode(body, arrow_limits)


def body_type(fmt: Format) -> object:
    """The msgspec type a JSON body of ``fmt`` decodes to (the OpenAPI request schema), or None."""
    return DECODINGS[fmt].body_type
