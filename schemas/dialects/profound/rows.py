"""The derivations Profound's ``http_logs`` declaration (columns.py) names that are Profound's own:
the request as a Combined Log Format line, the size in whole bytes, the client's address as the
``ClientIP`` column stores it and the ``forwarded_for`` attribute. The enrichment (who is visiting,
where from) is enrich.py's; the address and time forms are wire.py's."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

from schemas.storable import ipv6_bytes


def combined_log_line(ts_s: float, ip: str, method: str, path: str, query: dict[str, str], status: int,
                      bytes_sent: int | None, referer: str | None, user_agent: str) -> str:
    """The request as an access log's Combined Log Format line; a missing address, size or referer is ``-``."""
    when = datetime.fromtimestamp(ts_s, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    target = f"{path}?{urlencode(query)}" if query else path
    size = "-" if bytes_sent is None else str(bytes_sent)
    return f'{ip or "-"} - - [{when}] "{method} {target} HTTP/1.1" {status} {size} "{referer or "-"}" "{user_agent}"'


def whole_bytes(bytes_sent: int | float | None) -> int | None:
    """The size as an integer: a float is integral here (the gateway and ``wire.unstorable`` refuse the rest)."""
    return None if bytes_sent is None else int(bytes_sent)


def address_bytes(address: str) -> bytes:
    """The address's 16 bytes, as the IPv6 ``ClientIP`` column takes them from Arrow (it would read a
    16-character text such as ``2001:db8:1:2::3a`` as the bytes themselves); no address: ``::``."""
    return ipv6_bytes(address) if address else bytes(16)


def forwarded_for(original: str) -> dict[str, str]:
    """``LogAttributes``: the entry's ip as sent when it was not one address (a list, ``unknown``), else none."""
    return {"forwarded_for": original} if original else {}
