"""Logstash events as ``logs`` rows (schemas/free_form.py): the names Logstash's outputs and the common Python
and Java logging handlers (python-logstash, logstash-logback-encoder) give the time, level, message, logger,
service and host; every other field an attribute."""

from schemas.dialects.logstash.wire import TOKEN_FIELD
from schemas.free_form import FreeForm

EVENT = FreeForm(
    "logstash",
    dropped=("@version", TOKEN_FIELD),  # the token is never stored, even if a producer left it in
    time="@timestamp",
    host="host",
    columns={
        "level": ("level", "levelname", "severity", "log.level"),
        "body": ("message",),
        "scope_name": ("logger_name", "logger"),
        "service": ("service", "service_name", "app", "application"),
    },
)
