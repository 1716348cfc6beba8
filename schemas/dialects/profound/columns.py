"""Profound's entries as ``http_logs`` rows, declared as data (schemas/rows/declared_http.py runs it).

Each inserted ``http_logs`` column names its source: a member of the entry (wire.AccessLog), the record's
envelope, the visit id the gateway gave the entry, or a derivation of members: the time in seconds
(wire.timestamp_s: Unix seconds or milliseconds, or ISO 8601) as nanoseconds, the level of the status
class (``LEVELS``), the query parameters flattened, the client's address (the first of a forwarded list,
wire.client_ip), the client's classification and the referral (enrich.py), and the request as a
Combined Log Format line (rows.py).
"""

from __future__ import annotations

from schemas.dialects.profound.enrich import classify, referral
from schemas.dialects.profound.rows import address_bytes, combined_log_line, forwarded_for, whole_bytes
from schemas.dialects.profound.wire import AccessLog, client_ip, timestamp_s
from schemas.rows.declared_http import (Constant, Derivation, Derived, EnvelopeField, HttpColumns, Member, VisitId,
                                        by_threshold, nanoseconds)
from schemas.rows.normalize import flatten

#: (SeverityText, SeverityNumber) by status class: the first whose least status an access reaches, else INFO.
LEVELS = ((500, ("ERROR", 17)), (400, ("WARN", 13)))
OTHERWISE = ("INFO", 9)

ENTRY = HttpColumns(AccessLog, derivations=(
    Derivation("seconds", timestamp_s, (Member("timestamp"),)),
    Derivation("timestamp", nanoseconds, (Derived("seconds"),)),
    Derivation("level", by_threshold(LEVELS, OTHERWISE), (Member("status_code"),)),
    Derivation("query", flatten, (Member("query_params"),)),
    Derivation("size", whole_bytes, (Member("bytes_sent"),)),
    # (the address, or "" when the ip names none; the ip as sent when it is not that address)
    Derivation("ip", client_ip, (Member("ip"),)),
    Derivation("address", address_bytes, (Derived("ip", 0),)),
    Derivation("attributes", forwarded_for, (Derived("ip", 1),)),
    Derivation("client", classify, (Member("user_agent"),)),
    Derivation("referral", referral, (Member("referer"), Derived("query"), Member("host"))),
    Derivation("body", combined_log_line, (
        Derived("seconds"), Derived("ip", 0), Member("method"), Member("path"), Derived("query"),
        Member("status_code"), Derived("size"), Member("referer"), Member("user_agent"))),
), columns=(
    ("TenantId", EnvelopeField("tenant")),
    ("Environment", EnvelopeField("environment")),
    ("Source", Constant("profound")),
    ("RequestId", EnvelopeField("request_id")),
    ("ReceivedAt", EnvelopeField("received_ns")),
    ("VisitId", VisitId()),  # returned to the client as first_visit_id
    ("Timestamp", Derived("timestamp")),
    ("ServiceName", Member("host")),  # for OTel tools: the site is the service
    ("SeverityText", Derived("level", 0)),
    ("SeverityNumber", Derived("level", 1)),
    ("Body", Derived("body")),
    ("LogAttributes", Derived("attributes")),
    ("Host", Member("host")),
    ("Method", Member("method")),
    ("Path", Member("path")),
    ("Status", Member("status_code")),
    ("ClientIP", Derived("address")),
    ("UserAgent", Member("user_agent")),
    ("Referer", Member("referer", null="")),
    ("QueryParams", Derived("query")),
    ("Bytes", Derived("size")),
    ("DurationMs", Member("duration_ms")),
    ("Browser", Derived("client", 0)),
    ("BrowserVersion", Derived("client", 1)),
    ("OS", Derived("client", 2)),
    ("Device", Derived("client", 3)),
    ("BotName", Derived("client", 4)),
    ("BotKind", Derived("client", 5)),
    ("ReferralSource", Derived("referral", 0)),
    ("ReferralName", Derived("referral", 1)),
))
