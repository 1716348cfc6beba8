"""Profound access-log entries to ``HttpRow``s for ``sluice.http_logs``, enriched."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import urlencode

import pyarrow as pa

from schemas.envelope import Envelope
from schemas.dialects.profound.wire import Published, client_ip, timestamp_s
from schemas.storable import ipv6_bytes
from schemas.rows.arrow import HTTP_LOGS_SCHEMA, column
from schemas.dialects.profound.enrich import classify, referral
from schemas.rows.normalize import flatten


class HttpRow(NamedTuple):
    tenant: str
    environment: str
    request_id: str
    received_ns: int
    visit_id: str  # assigned by the gateway, returned to the client as first_visit_id
    timestamp_ns: int
    severity_text: str  # from the status class: 5xx ERROR, 4xx WARN, else INFO
    severity_number: int
    body: str  # the request as a Combined Log Format line
    host: str
    method: str
    path: str
    status: int
    client_ip: str  # the first address of the entry's ip, "" when it names none (stored as ``::``)
    user_agent: str
    referer: str
    query_params: dict[str, str]
    bytes_sent: int | None
    duration_ms: float | None
    browser: str
    browser_version: str
    os: str
    device: str
    bot_name: str
    bot_kind: str
    referral_source: str
    referral_name: str
    # {"forwarded_for": the entry's ip as sent} when that is not one address (a list, "unknown"), else {}
    log_attributes: dict[str, str]


def _severity(status: int) -> tuple[str, int]:
    if status >= 500:
        return "ERROR", 17
    if status >= 400:
        return "WARN", 13
    return "INFO", 9


def combined_log_line(ts_s: float, ip: str, method: str, path: str, query: dict[str, str], status: int,
                      bytes_sent: int | None, referer: str, user_agent: str) -> str:
    when = datetime.fromtimestamp(ts_s, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    target = f"{path}?{urlencode(query)}" if query else path
    size = "-" if bytes_sent is None else str(bytes_sent)
    return f'{ip} - - [{when}] "{method} {target} HTTP/1.1" {status} {size} "{referer or "-"}" "{user_agent}"'


def normalize_profound(published: list[Published], env: Envelope) -> list[HttpRow]:
    rows = []
    for batch in published:
        for visit_id, e in zip(batch.visit_ids, batch.entries):
            ts = timestamp_s(e.timestamp)
            query = flatten(e.query_params)
            client = classify(e.user_agent)
            source = referral(e.referer, query, e.host)
            address, original = client_ip(e.ip)
            size = None if e.bytes_sent is None else int(e.bytes_sent)  # integral: checked at the gateway
            rows.append(HttpRow(
                env.tenant, env.environment, env.request_id, env.received_ns, visit_id, round(ts * 1e9),
                *_severity(e.status_code),
                combined_log_line(ts, address or "-", e.method, e.path, query, e.status_code, size,
                                  e.referer or "", e.user_agent),
                e.host, e.method, e.path, e.status_code, address, e.user_agent, e.referer or "", query,
                size, e.duration_ms, *client, *source, {"forwarded_for": original} if original else {},
            ))
    return rows


#: The HttpRow field each inserted ``http_logs`` column is made of, as it is; ``Source`` (the
#: dialect's name) and ``ClientIP`` (the address's bytes) are made by ``http_arrow``.
HTTP_ROW_FIELDS: dict[str, str] = {
    "TenantId": "tenant", "Environment": "environment", "RequestId": "request_id", "ReceivedAt": "received_ns",
    "VisitId": "visit_id", "Timestamp": "timestamp_ns", "ServiceName": "host", "SeverityText": "severity_text",
    "SeverityNumber": "severity_number", "Body": "body", "Host": "host", "Method": "method", "Path": "path",
    "Status": "status", "UserAgent": "user_agent", "Referer": "referer",
    "QueryParams": "query_params", "Bytes": "bytes_sent", "DurationMs": "duration_ms", "Browser": "browser",
    "BrowserVersion": "browser_version", "OS": "os", "Device": "device", "BotName": "bot_name",
    "BotKind": "bot_kind", "ReferralSource": "referral_source", "ReferralName": "referral_name",
    "LogAttributes": "log_attributes",
}


def http_arrow(rows: list[HttpRow]) -> pa.Table:
    """Rows as an Arrow table of the ``http_logs`` insert layout."""
    c = dict(zip(HttpRow._fields, zip(*rows))) if rows else {name: () for name in HttpRow._fields}
    table = {name: column(c[field], HTTP_LOGS_SCHEMA.field(name).type) for name, field in HTTP_ROW_FIELDS.items()}
    table["Source"] = pa.array(["profound"] * len(rows), pa.string())
    # The address's 16 bytes: ClickHouse would read a 16-character text (2001:db8:1:2::3a) as bytes.
    # No address: the column's default, ``::``.
    table["ClientIP"] = pa.array([ipv6_bytes(ip) if ip else bytes(16) for ip in c["client_ip"]],
                                 HTTP_LOGS_SCHEMA.field("ClientIP").type)
    return pa.table(table, schema=HTTP_LOGS_SCHEMA)
