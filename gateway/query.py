"""``/v1/logs/query`` (POST JSON, or GET with query-string parameters): LogTrace's search API;
``/v1/logs/stats`` (POST JSON): counts, top groups and histograms over the same filter.

Fields the API does not know (a client written for another service may send
``page`` or ``size``) are ignored and named back in ``meta.ignored``, so a
migrating client still gets its results and can see what it sent in vain.

The filter's size is checked on the event loop (one length check); its terms,
the compilation, the query and the rows' conversion run on a worker thread, so
a search never holds the gateway's other requests.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

import msgspec

from gateway.errors import ApiError
from schemas.registry import KeyRecord
from sluice.query.backend import QueryBackend
from sluice.query.limits import FilterLimits
from sluice.query import stats as stats_query
from sluice.query.search import FIELDS, SearchRequest, QueryError, build, page
from sluice.settings import Settings

_body = msgspec.json.Decoder(dict)
_INTEGERS = ("limit", "offset")  # query-string fields read as numbers
# meta.ignored names at most this many fields, each cut to _IGNORED_CHARS: it echoes the client's input.
_IGNORED_NAMES, _IGNORED_CHARS = 32, 64


@dataclass(frozen=True)
class Search:
    """A search request and the names of the fields it sent that the API ignored."""

    request: SearchRequest
    ignored: list[str]


def _ignored(names, known: frozenset = FIELDS) -> list[str]:
    unknown = sorted(str(n) for n in names if n not in known)[:_IGNORED_NAMES]
    return [n if len(n) <= _IGNORED_CHARS else n[:_IGNORED_CHARS - 1] + "…" for n in unknown]


def parse_request(method: str, query_string: bytes, body: bytes) -> Search:
    """The request of a GET's query string or a POST's JSON object; ApiError 400 when a known field is wrong."""
    try:
        if method == "GET":
            fields: dict = dict(parse_qsl(query_string.decode("latin-1")))
            for name in _INTEGERS:
                if name in fields:
                    fields[name] = int(fields[name])
        else:
            fields = _body.decode(body or b"{}")
        ignored = _ignored(fields)
        known = {k: v for k, v in fields.items() if k in FIELDS}
        return Search(msgspec.convert(known, SearchRequest), ignored)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_request", f"Bad search request: {exc}") from None


@dataclass(frozen=True)
class Stats:
    """A stats request and the names of the fields it sent that the API ignored."""

    request: stats_query.StatsRequest
    ignored: list[str]


def parse_stats(body: bytes) -> Stats:
    """A POST's JSON object as a stats request; ApiError 400 when a known field is wrong."""
    try:
        fields = _body.decode(body or b"{}")
        known = {k: v for k, v in fields.items() if k in stats_query.FIELDS}
        return Stats(msgspec.convert(known, stats_query.StatsRequest), _ignored(fields, stats_query.FIELDS))
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_request", f"Bad stats request: {exc}") from None


def api_error(exc: QueryError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, details=exc.details)


async def search(settings: Settings, backend: QueryBackend, key: KeyRecord, parsed: Search) -> bytes:
    """The response body for one page of the key's tenant and environment; QueryError becomes an ApiError."""
    started = time.perf_counter()
    request = parsed.request
    limits = FilterLimits.of(settings)

    def run() -> tuple[list[dict], bool, str | None]:
        sql, params = build(request, key.tenant, settings.clickhouse_database, time.time_ns(), key.environment,
                            limits)
        return page(backend.rows_sync(sql, params), request.limit, request.table, request.sort)

    try:
        limits.check_size(request.filter)
        records, more, cursor = await asyncio.to_thread(run)
    except QueryError as exc:
        raise api_error(exc) from None
    meta = {"count": len(records), "has_more": more, "next_cursor": cursor,
            "took_ms": round((time.perf_counter() - started) * 1000, 1), "ignored": parsed.ignored}
    return msgspec.json.encode({"logs": records, "meta": meta})


async def stats(settings: Settings, backend: QueryBackend, key: KeyRecord, parsed: Stats) -> bytes:
    """The stats answer over the key's tenant and environment; QueryError becomes an ApiError."""
    started = time.perf_counter()
    request = parsed.request
    limits = FilterLimits.of(settings)

    def run() -> dict:
        plan = stats_query.plan(request, key.tenant, settings.clickhouse_database, time.time_ns(),
                                key.environment, limits)
        return stats_query.answer(plan, backend.rows_sync)

    try:
        limits.check_size(request.filter)
        body = await asyncio.to_thread(run)
    except QueryError as exc:
        raise api_error(exc) from None
    body["meta"] = {"took_ms": round((time.perf_counter() - started) * 1000, 1), "ignored": parsed.ignored}
    return msgspec.json.encode(body)
