"""A stats request to tenant-scoped aggregate SQL: a count, the top groups and a histogram.

``POST /v1/logs/stats`` takes the search's filter and time range (the same KQL,
compiled by the same code, with the same limits) and answers with:

- ``count``: the rows that match (unless ``count`` is false and nothing else asks for it);
- ``groups``: with ``group_by`` (1 to ``MAX_GROUP_FIELDS`` fields or attribute paths), the
  ``top`` most frequent value combinations, most frequent first, ties by value; an
  attribute a row lacks groups as ``""``, and levels group upper-cased, as they match;
- ``histogram``: with ``interval`` (``30s``, ``1m``, ``1h``, ``1d``), one bucket per interval
  from the one holding ``from`` to the one holding ``to``, empty ones included, each aligned
  to a multiple of the interval since the epoch (as VictoriaLogs' ``stats by (_time:1m)``).

Each part is one statement whose every value is a bound parameter; with a histogram the
count is the histogram's sum (every matching row is in one bucket), so it costs no query.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import msgspec

from sluice.query.errors import QueryError
from sluice.query.limits import FilterLimits
from sluice.query.search import TABLES, Selection, compile_filter
from sluice.query.sql import Compiled
from sluice.query.sql import resolve as resolve_field  # the filter's own field resolution, so both agree
from sluice.query.times import time_range

MAX_GROUP_FIELDS, DEFAULT_TOP, MAX_TOP = 4, 10, 1000
MAX_BUCKETS = 10_000  # (to - from) / interval, so a histogram answer stays small
_INTERVAL = re.compile(r"^(\d{1,9})(ms|s|m|h|d)$")
_UNIT_NS = {"ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
            "d": 86_400_000_000_000}


class StatsRequest(Selection):
    """Fields a client may send; any other is ignored (and named by the API in ``meta.ignored``)."""

    #: whether to answer the number of matching rows
    count: bool = True
    #: fields or attribute paths (``service``, ``level``, ``metadata.user``) to count each value combination of
    group_by: list[str] = []
    #: how many of the most frequent combinations to answer, 1 to MAX_TOP
    top: int = DEFAULT_TOP
    #: a histogram's bucket width: a number and ms, s, m, h or d (``1m``); none when absent
    interval: str | None = None


#: The names a request's fields have on the wire.
FIELDS = frozenset(f.encode_name for f in msgspec.structs.fields(StatsRequest))



class Plan(msgspec.Struct, frozen=True):
    """The statements of one stats request, and what the answer needs to shape their rows."""

    count: tuple[str, dict] | None  # one row: the count; None when the histogram's sum gives it, or none is asked
    groups: tuple[str, dict] | None  # rows: the group's values..., its count
    histogram: tuple[str, dict] | None  # rows: bucket index (start // step), its count
    group_by: list[str]
    top: int
    first_bucket: int  # bucket indexes first_bucket..last_bucket, each step_ns wide
    last_bucket: int
    step_ns: int
    want_count: bool


def interval_ns(text: str) -> int:
    """A bucket width in nanoseconds; QueryError 400 ``invalid_interval`` for anything else."""
    match = _INTERVAL.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise QueryError(400, "invalid_interval", f"interval {text[:40]!r} is not a duration: give a number and "
                         "ms, s, m, h or d, such as 30s, 1m or 1h.")
    return int(match.group(1)) * _UNIT_NS[match.group(2)]


def _group_expression(name: str, c: Compiled) -> str:
    """The SQL an answer groups ``name`` by; QueryError for a field that cannot be grouped."""
    if not name.strip() or len(name) > 200:
        raise QueryError(400, "invalid_group_by", "group_by names fields such as service, level or metadata.user.")
    expr, kind = resolve_field(name, c)
    if kind in ("time", "text"):
        raise QueryError(400, "invalid_group_by", f"{name} cannot be grouped by: it is a {kind} field; group by "
                         "fields and attributes, and use interval for counts over time.")
    if kind == "level":
        return f"upper({expr})"
    return f"toString({expr})" if kind in ("number", "ip") else expr


def plan(request: StatsRequest, tenant: str, database: str, now_ns: int,
         environment: str | None = None, limits: FilterLimits | None = None) -> Plan:
    """The statements for ``tenant``'s rows (and only ``environment``'s, when given); QueryError for a bad request."""
    table = TABLES.get(request.table)
    if table is None:
        raise QueryError(400, "invalid_table", f"table must be one of {', '.join(TABLES)}")
    if len(request.group_by) > MAX_GROUP_FIELDS:
        raise QueryError(400, "invalid_group_by", f"group_by names at most {MAX_GROUP_FIELDS} fields.",
                         details=f"max_group_fields={MAX_GROUP_FIELDS}")
    if not 1 <= request.top <= MAX_TOP:
        raise QueryError(400, "invalid_top", f"top must be between 1 and {MAX_TOP}", details=f"max_top={MAX_TOP}")
    start, end = time_range(request.from_, request.to, now_ns)
    step = interval_ns(request.interval) if request.interval is not None else 0
    first, last = (start // step, end // step) if step else (0, -1)
    if step and last - first + 1 > MAX_BUCKETS:
        raise QueryError(400, "too_many_buckets", f"from..to in steps of {request.interval} makes "
                         f"{last - first + 1} buckets; at most {MAX_BUCKETS} are allowed. Widen the interval "
                         "or narrow the time range.", details=f"max_buckets={MAX_BUCKETS}")
    condition, filter_params = compile_filter(request.filter, table.fields, limits)
    c = Compiled(table.fields, dict(filter_params))
    keys = [_group_expression(name, c) for name in request.group_by]
    params = {**filter_params, "tenant": tenant, "start": start, "end": end}
    scope = "TenantId = {tenant:String}"
    if environment is not None:
        scope += " AND Environment = {environment:String}"
        params["environment"] = environment
    source = (f"FROM {database}.{table.name} WHERE {scope} "
              "AND Timestamp >= fromUnixTimestamp64Nano({start:Int64}) "
              "AND Timestamp <= fromUnixTimestamp64Nano({end:Int64}) "
              f"AND ({condition})")
    groups = histogram = count = None
    if keys:
        names = ", ".join(f"g{i}" for i in range(len(keys)))
        selected = ", ".join(f"{k} AS g{i}" for i, k in enumerate(keys))
        groups = (f"SELECT {selected}, count() AS c {source} GROUP BY {names} "
                  f"ORDER BY c DESC, {names} LIMIT {{top:UInt32}}", {**params, **c.params, "top": request.top + 1})
    if step:
        histogram = (f"SELECT intDiv(toUnixTimestamp64Nano(Timestamp), {{step:Int64}}) AS b, count() {source} "
                     "GROUP BY b ORDER BY b", {**params, "step": step})
    elif request.count:
        count = (f"SELECT count() {source}", params)
    return Plan(count, groups, histogram, list(request.group_by), request.top, first, last, step, request.count)


def _iso(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:09d}Z"


def answer(p: Plan, run) -> dict:
    """The stats answer, running each of ``p``'s statements with ``run(sql, params) -> rows``."""
    out: dict = {}
    if p.histogram is not None:
        counts = {int(b): int(n) for b, n in run(*p.histogram)}
        out["histogram"] = [{"start": _iso(b * p.step_ns), "count": counts.get(b, 0)}
                            for b in range(p.first_bucket, p.last_bucket + 1)]
        if p.want_count:
            out["count"] = sum(counts.values())
    elif p.count is not None:
        out["count"] = int(run(*p.count)[0][0])
    if p.groups is not None:
        rows = run(*p.groups)
        out["groups"] = [{"values": dict(zip(p.group_by, r[:-1])), "count": int(r[-1])} for r in rows[:p.top]]
        out["groups_truncated"] = len(rows) > p.top
    return out
