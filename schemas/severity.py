"""Level names of every dialect mapped onto OpenTelemetry severity numbers.

OTel ranges: TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16, ERROR 17-20, FATAL 21-24.
Syslog levels that OTel has no name for take a higher number inside the
nearest range (notice → INFO2, critical → ERROR2, alert → ERROR3,
emergency → FATAL). Unknown names keep their text with number 0 (UNSPECIFIED).
"""

from __future__ import annotations

SEVERITY_NUMBERS: dict[str, int] = {
    "trace": 1,
    "debug": 5,
    "info": 9,
    "information": 9,
    "informational": 9,
    "notice": 10,
    "warn": 13,
    "warning": 13,
    "error": 17,
    "err": 17,
    "critical": 18,
    "crit": 18,
    "alert": 19,
    "fatal": 21,
    "emergency": 21,
    "emerg": 21,
    "panic": 21,
}


def severity_number(level: str) -> int:
    """The OTel SeverityNumber for a level name, case-insensitively; 0 when unknown."""
    return SEVERITY_NUMBERS.get(level.strip().lower(), 0)
