"""``/v1/logs/query`` (POST JSON, or GET with query-string parameters): LogTrace's search API.

The filter's size is checked on the event loop (one length check); its terms,
the compilation, the query and the rows' conversion run on a worker thread, so
a search never holds the gateway's other requests.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl

import msgspec

from gateway.errors import ApiError
from schemas.registry import KeyRecord
from sluice.query.backend import QueryBackend
from sluice.query.limits import FilterLimits
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


def api_error(exc: QueryError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, details=exc.details)


async def search(settings: Settings, backend: QueryBackend, key: KeyRecord, request: SearchRequest) -> bytes:
    """The response body for one page of the key's tenant and environment; QueryError becomes an ApiError."""
    started = time.perf_counter()
    limits = FilterLimits.of(settings)

    def run() -> tuple[list[dict], bool, str | None]:
        sql, params = build(request, key.tenant, settings.clickhouse_database, time.time_ns(), key.environment,
                            limits)
        return page(backend.rows_sync(sql, params), request.limit, request.table)

    try:
        limits.check_size(request.filter)
        records, more, cursor = await asyncio.to_thread(run)
    except QueryError as exc:
        raise api_error(exc) from None
    meta = {"count": len(records), "has_more": more, "next_cursor": cursor,
            "took_ms": round((time.perf_counter() - started) * 1000, 1)}
    return msgspec.json.encode({"logs": records, "meta": meta})
