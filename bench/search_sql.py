"""The SQL of each query shape on each table layout of bench/search_layouts.py.

``production``, and every variant of production's table (``base="production"``: a
codec, a type or an index parameter changed), runs what production runs:
sluice/query/search.py's ``build`` and stats.py's ``plan``, unchanged, so the table
alone differs. Every other layout runs the same query with its own tiebreak and its
own way of checking a searched text in ``Body``.

Body checks, by variant (``v`` the searched text, lower-cased for the index):

* ``check``   — before migration 7: ``hasAllTokens(lower(Body), v) AND positionCaseInsensitiveUTF8(Body, v) > 0``;
* ``proven``  — production since migration 7: the position check only for several words (a phrase, ``rid=N``): a single
  word is proven by ``hasAllTokens`` (the index's own tokenizer), so ``Body`` is not read;
* ``phrase``  — ``proven``, with ``hasPhrase(lower(Body), v)`` (the index's token positions) for several words;
* ``tokenbf`` — ``hasToken`` per word (what ``tokenbf_v1`` answers), the position check for several;
* ``ngram``   — ``lower(Body) LIKE '%v%'`` (what ``ngrambf_v1`` answers) and ``hasAllTokens`` as the row check.
"""

from __future__ import annotations

import re

from bench.search_corpus import iso
from sluice.query.search import TABLES, SearchRequest, build
from sluice.query.stats import StatsRequest, plan

TENANT, ENVIRONMENT = "bench", "production"
_RID = re.compile(r"rid=(\d+)")


def _text(value: str, style: str, params: dict) -> str:
    """The check of one searched text in ``style``, its values bound in ``params``."""
    i = len(params)
    lower, words = value.lower(), re.findall(r"[0-9a-z]+", value.lower())
    params[f"t{i}"], params[f"v{i}"] = lower, value
    position = f"positionCaseInsensitiveUTF8(Body, {{v{i}:String}}) > 0"
    several = len(words) > 1
    if style == "check" or (style == "proven" and several):
        return f"(hasAllTokens(lower(Body), {{t{i}:String}}) AND {position})"
    if style in ("proven", "phrase"):
        return f"has{'Phrase' if several else 'AllTokens'}(lower(Body), {{t{i}:String}})"
    if style == "tokenbf":
        for j, word in enumerate(words):
            params[f"w{i}_{j}"] = word
        tokens = " AND ".join(f"hasToken(lower(Body), {{w{i}_{j}:String}})" for j in range(len(words)))
        return f"({tokens} AND {position})" if several else tokens
    params[f"l{i}"] = f"%{lower}%"
    return f"(lower(Body) LIKE {{l{i}:String}} AND hasAllTokens(lower(Body), {{t{i}:String}}))"


def _condition(name: str, filter_text: str, style: str, params: dict) -> str:
    """The WHERE condition of shape ``name`` in body-check ``style``."""
    if name in ("rare_token", "phrase"):
        return _text(filter_text.strip('"'), style, params)
    if name in ("frequent_word", "count_word"):
        return _text(filter_text, style, params)
    if name == "field_filters":
        params.update(svc="HDFS", lvl="ERROR")
        return "ServiceName = {svc:String} AND upper(SeverityText) = {lvl:String}"
    if name == "field_and_not_word":
        params["svc"] = "Linux"
        return f"ServiceName = {{svc:String}} AND NOT ({_text('authentication', style, params)})"
    return "1"


def statement(v: Variant, db: str, shape, start_ns: int, end_ns: int, now_ns: int) -> tuple[str, dict]:
    """The SQL of ``shape`` on variant ``v``: the production compiler's on production's table, else the variant's."""
    window = {"from_": iso(start_ns), "to": iso(end_ns)}
    if v.base == "production":
        if shape.kind == "rows":
            return build(SearchRequest(filter=shape.sluice["filter"], limit=100, **window), TENANT, db, now_ns,
                         ENVIRONMENT)
        p = plan(StatsRequest(filter=shape.sluice.get("filter", ""), interval=shape.sluice.get("interval"), **window),
                 TENANT, db, now_ns, ENVIRONMENT)
        return p.histogram or p.count
    params = {"tenant": TENANT, "environment": ENVIRONMENT, "start": start_ns, "end": end_ns}
    condition = _condition(shape.name, shape.sluice.get("filter", ""), v.body, params)
    source = (f"FROM {db}.logs WHERE TenantId = {{tenant:String}} AND Environment = {{environment:String}} "
              "AND Timestamp >= fromUnixTimestamp64Nano({start:Int64}) "
              f"AND Timestamp <= fromUnixTimestamp64Nano({{end:Int64}}) AND ({condition})")
    if shape.kind == "rows":
        return (f"SELECT {TABLES['logs'].columns}, {v.tiebreak} AS row_key {source} "
                "ORDER BY Timestamp DESC, row_key DESC LIMIT 101", params)
    if shape.kind == "count":
        return f"SELECT count() {source}", params
    return (f"SELECT intDiv(toUnixTimestamp64Nano(Timestamp), 60000000000) AS b, count() {source} "
            "GROUP BY b ORDER BY b", params)


def normalized(shape, rows: list) -> object:
    """Rows as what is compared: rids in order (the first 100), the count, or {bucket: count}."""
    if shape.kind == "rows":
        return [int(_RID.search(r[4]).group(1)) for r in rows[:100]]
    if shape.kind == "count":
        return int(rows[0][0])
    return {int(b): int(n) for b, n in rows if int(n)}
