"""``/v1/logs/query`` (POST JSON, or GET with query-string parameters): LogTrace's search API."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

import msgspec

from gateway.errors import ApiError
from schemas.registry import KeyRecord
from sluice.query.backend import QueryBackend
from sluice.query.search import SearchRequest, QueryError, build, page
from sluice.settings import Settings

_request = msgspec.json.Decoder(SearchRequest)


def parse_request(method: str, query_string: bytes, body: bytes) -> SearchRequest:
    try:
        if method == "GET":
            fields = dict(parse_qsl(query_string.decode("latin-1")))
            if "limit" in fields:
                fields["limit"] = int(fields["limit"])
            return msgspec.convert(fields, SearchRequest)
        return _request.decode(body or b"{}")
    except (msgspec.ValidationError, ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_request", f"Bad search request: {exc}") from None


async def search(settings: Settings, backend: QueryBackend, key: KeyRecord, request: SearchRequest) -> bytes:
    """The response body for one page of the key's tenant and environment; QueryError becomes an ApiError."""
    started = time.perf_counter()
    try:
        sql, params = build(request, key.tenant, settings.clickhouse_database, time.time_ns(), key.environment)
        rows = await backend.rows(sql, params)
    except QueryError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    records, more, cursor = page(rows, request.limit, request.table)
    meta = {"count": len(records), "has_more": more, "next_cursor": cursor,
            "took_ms": round((time.perf_counter() - started) * 1000, 1)}
    return msgspec.json.encode({"logs": records, "meta": meta})
