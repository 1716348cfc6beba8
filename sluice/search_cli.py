"""``sluice query`` and ``sluice tail``: an operator's search, through the same compiler and limits as the API.

A key holder searches as its API key, read from ``--key-file PATH`` (``-``:
stdin) or the ``SLUICE_API_KEY`` variable, never from the command line, which
every local user sees (``ps``, /proc/<pid>/cmdline).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Callable, TypeVar

from sluice.settings import Settings

T = TypeVar("T")


def render(records: list[dict], fmt: str) -> str:
    """Search results as a readable table, JSON lines or CSV."""
    if fmt == "json":
        return "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    columns = ("timestamp", "level", "service", "message") if "message" in (records or [{"message": 1}])[0] else (
        "timestamp", "status_code", "method", "path")
    if fmt == "csv":
        import csv
        import io
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
        return out.getvalue().rstrip("\n")
    widths = {c: max([len(c)] + [len(str(r[c])) for r in records]) for c in columns[:-1]}
    lines = ["  ".join(c.upper().ljust(widths.get(c, 0)) for c in columns).rstrip()]
    for r in records:
        lines.append("  ".join(str(r[c]).ljust(widths.get(c, 0)) for c in columns[:-1]) + "  " + r["message"])
    return "\n".join(lines)


class ScopeError(ValueError):
    pass


def api_key(args) -> str:
    """The API key to search as: ``--key-file`` (``-``: stdin, asked for on a terminal), else
    ``SLUICE_API_KEY`` (``args.env_key``); empty when neither names one."""
    if not args.key_file:
        return args.env_key or ""
    if args.key_file == "-" and sys.stdin.isatty():
        import getpass
        return getpass.getpass("API key: ").strip()
    try:
        text = sys.stdin.read() if args.key_file == "-" else Path(args.key_file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScopeError(f"cannot read the API key from {args.key_file}: {getattr(exc, 'strerror', None) or exc}")
    key = text.strip()
    if not key or "\n" in key:
        raise ScopeError(f"{args.key_file} must hold the API key alone, on one line")
    return key


def scope_of(s: Settings, args) -> tuple[str, str | None]:
    """(tenant, environment) to search: ``--tenant`` for an operator, or what the API key may read.

    A key is held to its own tenant and environment, exactly as on the HTTP API.
    """
    key = api_key(args)
    if not key:
        return args.tenant or "dev", None
    from schemas.registry import READ
    from sluice.registry import load_registry
    record = asyncio.run(load_registry(s)).authenticate(key)
    if record is None:
        raise ScopeError("the API key is not valid, has expired or has been revoked")
    if READ not in record.scopes:
        raise ScopeError(f"the API key lacks the {READ} scope")
    if args.tenant not in (None, record.tenant):
        raise ScopeError("--tenant names another tenant than the API key's; a key reads only its own tenant")
    return record.tenant, record.environment


def stats_options(parser) -> None:
    """``sluice query --stats``: counts, top groups and a histogram instead of records."""
    parser.add_argument("--stats", action="store_true", help="answer counts instead of records")
    parser.add_argument("--group-by", dest="group_by", action="append", default=[],
                        help="with --stats: a field or attribute to count each value of (repeat for several)")
    parser.add_argument("--top", type=int, default=10, help="with --group-by: how many of the most frequent values")
    parser.add_argument("--interval", help="with --stats: a histogram's bucket width, such as 1m or 1h")


def render_stats(answer: dict, fmt: str) -> str:
    """A stats answer as JSON, or as readable lines: the count, then groups, then buckets."""
    if fmt == "json":
        return json.dumps(answer, ensure_ascii=False)
    lines = [f"count  {answer['count']}"] if "count" in answer else []
    for group in answer.get("groups", []):
        lines.append("  ".join(f"{k}={v}" for k, v in group["values"].items()) + f"  {group['count']}")
    if answer.get("groups_truncated"):
        lines.append("(more values; raise --top)")
    lines += [f"{bucket['start']}  {bucket['count']}" for bucket in answer.get("histogram", [])]
    return "\n".join(lines)


def _scoped(s: Settings, args, ask: Callable[[str, str | None], T]) -> tuple[int, T | None]:
    """(0, ``ask(tenant, environment)``) in the caller's scope, or the exit code after saying why not:
    1 for what the API would refuse (QueryError), 2 for a scope the caller cannot have."""
    from sluice.query.errors import QueryError
    try:
        tenant, environment = scope_of(s, args)
        return 0, ask(tenant, environment)
    except QueryError as exc:
        print(f"sluice: {exc.message}", file=sys.stderr)
        return 1, None
    except ScopeError as exc:
        print(f"sluice: {exc}", file=sys.stderr)
        return 2, None


def stats(s: Settings, args) -> int:
    """``sluice query --stats``: the stats API's answer, through the same planner and limits."""
    import time
    from sluice.query.backend import QueryBackend
    from sluice.query.limits import FilterLimits
    from sluice.query.stats import StatsRequest, answer, plan
    request = StatsRequest(filter=args.filter, table=args.table, from_=args.from_, to=args.to,
                           group_by=args.group_by, top=args.top, interval=args.interval)
    code, result = _scoped(s, args, lambda tenant, environment: answer(
        plan(request, tenant, s.clickhouse_database, time.time_ns(), environment, FilterLimits.of(s)),
        QueryBackend(s).rows_sync))
    if code:
        return code
    print(render_stats(result, args.format))
    return 0


def query(s: Settings, args) -> int:
    """An operator's search (any tenant), or a key holder's (its own), through the same compiler and limits as the API."""
    if getattr(args, "stats", False):
        return stats(s, args)
    import time
    from sluice.query.backend import QueryBackend
    from sluice.query.search import SearchRequest, build, page
    request = SearchRequest(filter=args.filter, table=args.table, from_=args.from_, to=args.to, limit=args.limit)
    code, rows = _scoped(s, args, lambda tenant, environment: QueryBackend(s).rows_sync(
        *build(request, tenant, s.clickhouse_database, time.time_ns(), environment)))
    if code:
        return code
    records, more, _ = page(rows, args.limit, args.table)
    print(render(records, args.format))
    if more:
        print(f"(more than {args.limit} matches; raise --limit or narrow the filter)", file=sys.stderr)
    return 0


def tail(s: Settings, args) -> int:
    """Print matching records as they arrive, until Ctrl-C."""
    from sluice.query.backend import QueryBackend
    from sluice.query.follow import follow
    from sluice.query.search import QueryError

    try:
        tenant, environment = scope_of(s, args)
    except ScopeError as exc:
        print(f"sluice: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        async for item in follow(QueryBackend(s), tenant, args.filter, s.clickhouse_database, asyncio.Event(),
                                 environment=environment):
            if item is not None:
                print(render([item], args.format).splitlines()[-1], flush=True)

    try:
        asyncio.run(run())
    except QueryError as exc:
        print(f"sluice: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
