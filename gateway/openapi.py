"""The gateway's OpenAPI 3.1 document, served at ``/openapi.json``.

Built from what the gateway runs on: the request bodies are the msgspec
types each route decodes with, the paths, statuses and success bodies are
what each dialect declares (schemas/dialects/, through ``gateway.routes.ROUTES``),
and the error bodies are the envelopes
``gateway.errors`` and the dialects' renderers write. Nothing is maintained
by hand twice, so the document cannot drift from the code; the fuzz suite
(tests/integration/test_openapi_fuzz.py) checks every answer against it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec

from gateway.keys_api import CreateKey, ImportKey
from gateway.routes import ROUTES, IngestRoute
from schemas.dialect import NULLABLE_STRING as _NULLABLE_STR
from schemas.dialect import STRING as _STR
from schemas.dialect import AuthStyle, json_object as _object
from schemas.dialects import body_type
from sluice.query.search import SearchRequest
from sluice.query.stats import StatsRequest

_REF = "#/components/schemas/{name}"

ERROR = _object({"status": {"const": "error"},
                 "error": _object({"code": _STR, "message": _STR}, {"details": _STR}),
                 "request_id": _STR})
PROFOUND_ERROR = _object({"detail": _STR, "request_id": _STR})
# Each error rendering style (gateway/routes.RENDER_ERROR): its body's schema, and the statuses it
# answers in place of ours (none now: a transient failure's status is the endpoint's ``outage_status``).
ERROR_STYLES: dict[str, tuple[dict, dict[int, int]]] = {
    "envelope": (ERROR, {}),
    "profound_detail": (PROFOUND_ERROR, {}),
}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "Send the same key on every attempt of one request: it is stored once.",
                   "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}}
# What any ingest route may answer besides success: bad body, key, scope, method,
# size, media type, rate limit, and Kafka not confirming in time.
INGEST_ERRORS = (400, 401, 403, 405, 408, 413, 415, 429, 503)
SECURITY = {
    AuthStyle.AUTHORIZATION: [{"authorization": []}, {"bearer": []}],
    AuthStyle.BEARER: [{"bearer": []}],
    AuthStyle.API_KEY: [{"apiKey": []}],
    AuthStyle.BEARER_OR_API_KEY: [{"bearer": []}, {"apiKey": []}],
}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(success: int, success_schema: dict | None, errors: tuple[int, ...], error_schema: dict = ERROR,
               media: str = "application/json") -> dict:
    out: dict[str, dict] = {}
    if success_schema is None:
        out[str(success)] = {"description": "Accepted"}
    else:
        out[str(success)] = {"description": "Accepted", "content": {media: {"schema": success_schema}}}
    for status in errors:
        out[str(status)] = {"description": "Refused; the body says why", **_json(error_schema)}
    return out


def _request_type(route: IngestRoute) -> object:
    """The type documented for the route's JSON request body."""
    return route.endpoint.request_type or body_type(route.format)


_BINARY = {"type": "string", "format": "binary"}


def _ingest(route: IngestRoute, refs: dict[Any, dict]) -> dict:
    error_schema, replaced = ERROR_STYLES[route.endpoint.render_error]
    # A 503 is a transient failure, answered with the dialect's status for one (LogTrace, Profound: 500).
    outage = {503: route.endpoint.outage_status}
    errors = tuple(outage.get(s, replaced.get(s, s)) for s in INGEST_ERRORS)
    operation: dict[str, Any] = {
        "operationId": route.format.value.replace(".", "_"),
        "summary": f"{route.dialect} ingestion ({route.format.value})",
        "security": SECURITY[route.auth],
        "parameters": [IDEMPOTENCY_KEY],
        "responses": _responses(route.success_status, route.endpoint.success_schema, errors, error_schema),
    }
    if route.media:  # one body per content type: JSON ones documented by their type, the others binary
        operation["requestBody"] = {"required": True, "content": {
            media.decode(): {"schema": refs[body_type(fmt)] if media == b"application/json" else _BINARY}
            for media, fmt in route.media}}
        operation["responses"][str(route.success_status)] = {"description": "Accepted", "content": {
            media.decode(): {"schema": route.endpoint.success_schema if media == b"application/json" else _BINARY}
            for media, _ in route.media}}
    else:
        operation["requestBody"] = {"required": True, **_json(refs[_request_type(route)])}
    return operation


SEARCH_PAGE = _object({"logs": {"type": "array", "items": {"type": "object"}},
                       "meta": _object({"count": {"type": "integer"}, "has_more": {"type": "boolean"},
                                        "next_cursor": _NULLABLE_STR, "took_ms": {"type": "number"},
                                        # request fields the API does not know, ignored
                                        "ignored": {"type": "array", "items": _STR}})})
STATS = _object({"meta": _object({"took_ms": {"type": "number"}, "ignored": {"type": "array", "items": _STR}})},
               {"count": {"type": "integer"},
                "groups": {"type": "array", "items": _object({"values": {"type": "object"},
                                                             "count": {"type": "integer"}})},
                "groups_truncated": {"type": "boolean"},  # more combinations than `top`
                "histogram": {"type": "array", "items": _object({"start": _STR, "count": {"type": "integer"}})}})
KEY = _object({"key_id": _STR, "environment": _STR, "scopes": {"type": "array", "items": _STR},
               "created_at": _STR, "expires_at": _NULLABLE_STR, "revoked_at": _NULLABLE_STR})
HEALTH = _object({"status": {"enum": ["healthy", "degraded"]}, "uptime_s": {"type": "number"},
                  "ingestion_rps": {"type": "number"}, "workers": {"type": ["integer", "null"]}},
                 {"down": {"type": "array", "items": _STR}})


def _others(refs: dict[Any, dict]) -> dict[str, dict]:
    bearer = [{"bearer": []}]
    search = {"security": bearer, "responses": _responses(200, SEARCH_PAGE, (400, 401, 403, 408, 413, 422, 429, 503))}
    query_params = [{"name": n, "in": "query", "schema": s} for n, s in (
        ("filter", _STR), ("table", {"enum": ["logs", "access"]}), ("from", _STR), ("to", _STR),
        ("limit", {"type": "integer"}), ("cursor", _STR), ("offset", {"type": "integer"}),
        ("sort", {"enum": ["desc", "asc"]}))]
    return {
        "/v1/logs/query": {
            "get": {"operationId": "search_get", "parameters": query_params, **search},
            "post": {"operationId": "search_post", "requestBody": _json(refs[SearchRequest]), **search},
        },
        "/v1/logs/stats": {
            "post": {"operationId": "stats", "requestBody": _json(refs[StatsRequest]), "security": bearer,
                     "responses": _responses(200, STATS, (400, 401, 403, 405, 408, 413, 422, 429, 503))},
        },
        "/v1/keys": {
            "get": {"operationId": "keys_list", "security": bearer,
                    "responses": _responses(200, _object({"keys": {"type": "array", "items": KEY}}), (401, 403, 429))},
            "post": {"operationId": "keys_create", "security": bearer, "requestBody": _json(refs[CreateKey]),
                     "responses": _responses(201, {**KEY, "properties": {**KEY["properties"], "key": _STR}},
                                             (400, 401, 403, 408, 409, 413, 429, 503))},
        },
        "/v1/keys/{key_id}": {
            "delete": {"operationId": "keys_revoke", "security": bearer,
                       "parameters": [{"name": "key_id", "in": "path", "required": True, "schema": _STR}],
                       "responses": _responses(200, KEY, (401, 403, 404, 429, 503))},
        },
        "/v1/keys/import": {  # an existing key of another service, registered unchanged; never echoed
            "post": {"operationId": "keys_import", "security": bearer, "requestBody": _json(refs[ImportKey]),
                     "responses": _responses(201, KEY, (400, 401, 403, 405, 408, 409, 413, 429, 503))},
        },
        "/v1/health": {
            "get": {"operationId": "health_detail", "security": bearer,
                    "responses": {"200": {"description": "Healthy", **_json(HEALTH)},
                                  "503": {"description": "Kafka or ClickHouse unreachable", **_json(HEALTH)},
                                  "401": {"description": "No valid key", **_json(ERROR)},
                                  "403": {"description": "Key of another environment", **_json(ERROR)},
                                  "429": {"description": "Over the key's control quota", **_json(ERROR)}}},
        },
        "/health": {"get": {"operationId": "liveness", "responses": {
            "200": {"description": "The process is serving", **_json(_object({"status": {"const": "ok"}}))}}}},
        "/v1/logs/tail": {"get": {
            "operationId": "tail", "security": bearer,
            "parameters": [{"name": "filter", "in": "query", "schema": _STR}],
            "responses": {"200": {"description": "Server-Sent Events, one `data:` line per record",
                                  "content": {"text/event-stream": {"schema": _STR}}},
                          **{str(s): {"description": "Refused", **_json(ERROR)}
                             for s in (400, 401, 403, 429, 503)}}}},
    }


@lru_cache(maxsize=1)
def document() -> bytes:
    """The OpenAPI document as JSON bytes (built once per process)."""
    kinds = sorted({_request_type(r) for r in ROUTES.values() if not r.media and not r.endpoint.request_type},
                   key=lambda t: t.__name__)
    kinds += [r.endpoint.request_type for r in ROUTES.values() if r.endpoint.request_type]
    kinds += [SearchRequest, StatsRequest, CreateKey]
    kinds += [body_type(fmt) for r in ROUTES.values() for media, fmt in r.media if media == b"application/json"]
    kinds.append(ImportKey)
    schemas, components = msgspec.json.schema_components(kinds, ref_template=_REF)
    refs = dict(zip(kinds, schemas))
    paths: dict[str, dict] = {route.path: {method.lower(): _ingest(route, refs) for method in route.methods}
                             for route in ROUTES.values()}
    paths.update(_others(refs))
    return msgspec.json.encode({
        "openapi": "3.1.0",
        "info": {"title": "Sluice gateway", "version": "1",
                 "description": "Five hosted-log dialects, OTLP/HTTP, search and keys on one gateway."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "authorization": {"type": "apiKey", "in": "header", "name": "Authorization"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }},
    })
