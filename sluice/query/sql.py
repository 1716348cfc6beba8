"""KQL syntax trees to ClickHouse WHERE clauses, with every value a bound parameter.

Field names of every dialect map onto the normalized columns; ``a.b`` paths
under ``metadata``/``properties``/``attributes`` reach ``LogAttributes``,
under ``resource`` reach ``ResourceAttributes``, and any other unknown field
is looked up in ``LogAttributes``. Nothing from the filter is ever pasted
into the SQL text: values, attribute keys and patterns are all parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schemas import tables
from schemas.tables import Table
from sluice.query.kql import And, Compare, KqlError, Match, Node, Not, Or, Range, Text
from sluice.query.times import instant_ns

# How the query language reads a declared column, by its ClickHouse type: its kind decides
# the comparisons a field allows. Two columns read in their own way: SeverityText
# matches case-insensitively (levels), Body is searched for words (text).
_OWN_KINDS = {"SeverityText": "level", "Body": "text"}
_KINDS = (("String", "string"), ("UInt", "number"), ("Int", "number"), ("Float", "number"),
          ("DateTime64", "time"), ("IPv6", "ip"), ("UUID", "string"))


def _column(table: Table, name: str) -> tuple[str, str]:
    """(SQL expression, kind) of the column ``name`` of ``table``: KeyError for a column the table
    does not declare, ValueError for a type fields do not read (maps are reached by paths)."""
    declared = table.column(name).type
    inner = declared.removeprefix("Nullable(").removeprefix("LowCardinality(")
    kind = _OWN_KINDS.get(name) or next((kind for prefix, kind in _KINDS if inner.startswith(prefix)), None)
    if kind is None:
        raise ValueError(f"no query field reads {table.name}.{name} ({declared})")
    return (f"toString({name})" if inner == "UUID" else name), kind


def _fields(table: Table, aliases: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, str]]:
    """Field name -> (SQL expression, kind), for every alias of each column of ``table``."""
    return {alias: _column(table, name) for name, names in aliases.items() for alias in names}


# The names a filter may give each column; shared by both tables.
_SHARED = {
    "SeverityText": ("level", "severity", "severity_text"),
    "SeverityNumber": ("severity_number",),
    "Body": ("message", "msg", "body"),
    "RequestId": ("request_id",),
    "Source": ("dialect",),
    "Environment": ("environment", "env"),
    "TenantId": ("tenant",),
    "Timestamp": ("timestamp", "@timestamp", "time"),
}
# field name -> (SQL expression, kind)
COLUMNS: dict[str, tuple[str, str]] = _fields(tables.LOGS, {
    **_SHARED,
    "SeverityText": (*_SHARED["SeverityText"], "levelname"),
    "ServiceName": ("service", "service_name", "source", "node", "logger_name"),
    "TraceId": ("trace_id",),
    "SpanId": ("span_id",),
})
# Fields of sluice.http_logs (access logs) beyond the shared ones.
ACCESS_COLUMNS: dict[str, tuple[str, str]] = _fields(tables.HTTP_LOGS, {
    **_SHARED,
    "ServiceName": ("service", "service_name"),
    "Method": ("method",), "Host": ("host",), "Path": ("path",), "Status": ("status", "status_code"),
    "ClientIP": ("ip", "client_ip"), "UserAgent": ("user_agent",), "Referer": ("referer",),
    "Bytes": ("bytes", "bytes_sent"), "DurationMs": ("duration_ms",), "VisitId": ("visit_id",),
    "Browser": ("browser",), "BrowserVersion": ("browser_version",), "OS": ("os",), "Device": ("device",),
    "BotName": ("bot_name",), "BotKind": ("bot_kind",), "ReferralSource": ("referral_source",),
    "ReferralName": ("referral_name",),
})
_LOG_PREFIXES = ("metadata.", "properties.", "attributes.", "attr.", "log.")


@dataclass(frozen=True)
class Fields:
    """How one table names its fields: columns, map-valued paths and aliases into maps."""

    columns: dict[str, tuple[str, str]]
    prefixes: tuple[tuple[str, str], ...]  # ("resource.", "ResourceAttributes"): path prefix -> map column
    aliases: dict[str, tuple[str, str]]  # "host" -> ("ResourceAttributes", "host.name")
    fallback: str = "LogAttributes"  # the map any other name is looked up in


LOGS = Fields(COLUMNS, (("resource.", "ResourceAttributes"), *((p, "LogAttributes") for p in _LOG_PREFIXES)),
              {"host": ("ResourceAttributes", "host.name"), "hostname": ("ResourceAttributes", "host.name"),
               "project_id": ("ResourceAttributes", "project_id")})
ACCESS = Fields(ACCESS_COLUMNS, (("query.", "QueryParams"), ("query_params.", "QueryParams"),
                                 *((p, "LogAttributes") for p in _LOG_PREFIXES)), {})
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_TOKEN_SPLIT = re.compile(r"[^0-9A-Za-z\u0080-\U0010ffff]+")
LONG_TOKEN = 4  # characters: a phrase's shorter words are left to the position check when longer ones exist


@dataclass
class Compiled:
    """A WHERE fragment's parameters, named p0, p1, ..., for the table whose ``fields`` it uses."""

    fields: Fields = LOGS
    params: dict[str, object] = field(default_factory=dict)

    def bind(self, value: object, type_: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:{type_}}}"


def _like(value: str) -> str:
    """A KQL wildcard (``*``) as a LIKE pattern with everything else literal."""
    out = []
    for ch in value:
        if ch == "*":
            out.append("%")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def resolve(name: str, c: Compiled) -> tuple[str, str]:
    """(SQL expression, kind) of the field ``name``: a column, or a map lookup whose key is a parameter of ``c``."""
    fields = c.fields
    if name in fields.columns:
        return fields.columns[name]
    if name in fields.aliases:
        column, key = fields.aliases[name]
        return f"{column}[{c.bind(key, 'String')}]", "map"
    column, key = next(((col, name[len(p):]) for p, col in fields.prefixes if name.startswith(p)),
                       (fields.fallback, name))
    return f"{column}[{c.bind(key, 'String')}]", "map"


def _instant(value: str, pos: int) -> int:
    try:
        return instant_ns(value)
    except ValueError as exc:
        raise KqlError(str(exc), pos) from None


def _text(value: str, quoted: bool, c: Compiled, pos: int = 0) -> str:
    if not quoted and "*" in value:
        return f"Body ILIKE {c.bind(_like(value), 'String')}"
    if not _TOKEN_SPLIT.sub("", value):
        raise KqlError(f"{value!r} has nothing to search for", pos)
    if not _TOKEN_SPLIT.search(value):
        # One token: the text index proves it, and Body is not read at all.
        return f"hasAllTokens(lower(Body), {c.bind(value.lower(), 'String')})"
    # Several: the index narrows the rows, the position check keeps the words together. The index
    # reads every posting list it is given, and short words are the frequent ones (`rid` of
    # `rid=4321` is in every row of some logs: 28 ms of a 1M-row table's index alone), so it is
    # given the words of LONG_TOKEN characters or more when there are any; the check decides anyway.
    words = [w for w in _TOKEN_SPLIT.split(value.lower()) if w]
    indexed = [w for w in words if len(w) >= LONG_TOKEN] or words
    tokens = f"hasAllTokens(lower(Body), {c.bind(' '.join(indexed), 'String')})"
    return f"({tokens} AND positionCaseInsensitiveUTF8(Body, {c.bind(value, 'String')}) > 0)"


def _exists(expr: str, kind: str) -> str:
    """``field:*``: a map holds the key, a string column is not empty; other columns always hold a value."""
    if kind == "map":
        container, _, key = expr.partition("[")
        return f"mapContains({container}, {key[:-1]})"
    return "1" if kind in ("number", "time", "ip") else f"{expr} != ''"


def _match(node: Match, c: Compiled) -> str:
    expr, kind = resolve(node.field, c)
    if kind == "text":
        return _text(node.value, node.quoted, c, node.pos)
    if node.value == "*" and not node.quoted:
        return _exists(expr, kind)
    if kind == "ip":
        return f"{expr} = toIPv6OrNull({c.bind(node.value, 'String')})"
    if kind == "number":
        if not _NUMBER.match(node.value):
            raise KqlError(f"{node.field} takes a number, not {node.value!r}", node.pos)
        return f"{expr} = {c.bind(float(node.value), 'Float64')}"
    if kind == "time":
        return f"Timestamp = fromUnixTimestamp64Nano({c.bind(_instant(node.value, node.pos), 'Int64')})"
    if not node.quoted and "*" in node.value:
        target = f"upper({expr})" if kind == "level" else expr
        pattern = node.value.upper() if kind == "level" else node.value
        return f"{target} LIKE {c.bind(_like(pattern), 'String')}"
    if kind == "level":
        return f"upper({expr}) = {c.bind(node.value.upper(), 'String')}"
    return f"{expr} = {c.bind(node.value, 'String')}"


def _bound(expr: str, kind: str, op: str, value: str, name: str, pos: int, c: Compiled) -> str:
    """``expr op value``: as times on a time column, as numbers for a numeric value, else as strings.

    A map's value is read with toFloat64OrNull: one that is no number (or absent) fails the
    comparison, and ifNull makes that false rather than NULL, so ``-status_code:[200 TO 299]``
    keeps the rows without a numeric status code, as KQL users expect.
    """
    if kind == "time":
        return f"Timestamp {op} fromUnixTimestamp64Nano({c.bind(_instant(value, pos), 'Int64')})"
    if _NUMBER.match(value):
        if kind == "number":
            return f"{expr} {op} {c.bind(float(value), 'Float64')}"
        return f"ifNull(toFloat64OrNull({expr}) {op} {c.bind(float(value), 'Float64')}, 0)"
    if kind in ("number", "text"):
        raise KqlError(f"{name} {op} needs a number, not {value!r}", pos)
    return f"{expr} {op} {c.bind(value, 'String')}"


def _compare(node: Compare, c: Compiled) -> str:
    expr, kind = resolve(node.field, c)
    return _bound(expr, kind, node.op, node.value, node.field, node.pos, c)


def _range(node: Range, c: Compiled) -> str:
    """``field:[low TO high]`` as one or two comparisons on the field, resolved once; ``[* TO *]`` is ``field:*``."""
    expr, kind = resolve(node.field, c)
    ends = [(op, value) for op, value in ((">=" if node.include_low else ">", node.low),
                                          ("<=" if node.include_high else "<", node.high)) if value is not None]
    if not ends:
        return _exists(expr, kind)
    if kind != "time" and len({bool(_NUMBER.match(value)) for _, value in ends}) > 1:
        raise KqlError(f"the range of {node.field} mixes a number and a string; give two numbers or two strings",
                       node.pos)
    return "(" + " AND ".join(_bound(expr, kind, op, value, node.field, node.pos, c) for op, value in ends) + ")"


def _not(node: Not, c: Compiled) -> str:
    return f"NOT ({where(node.item, c)})"


def _all(node: And | Or, c: Compiled) -> str:
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(where(item, c) for item in node.items) + ")"


# One small compiler per kind of node.
_COMPILERS = {Match: _match, Compare: _compare, Range: _range, Not: _not, And: _all, Or: _all,
              Text: lambda node, c: _text(node.value, node.quoted, c, node.pos)}


def where(node: Node | None, c: Compiled) -> str:
    """The WHERE fragment for ``node``; ``1`` for an empty filter."""
    if node is None:
        return "1"
    return _COMPILERS[type(node)](node, c)
