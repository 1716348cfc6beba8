"""Free-form events to ``logs`` columns (the reference mapping): events come split and checked by their
dialect's declaration (``schemas.free_form.FreeForm.split`` and ``unstorable``); the hot path
(hotpath/src/free_form*.rs) writes the same rows."""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.envelope import Envelope
from schemas.free_form import Event, FreeForm
from schemas.rows.columnar import LogColumns
from schemas.rows.normalize import flatten

_json = msgspec.json.Encoder()


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else _json.encode(value).decode()


def free_form_rows(fields: FreeForm, batches: list[list[Event]], env: Envelope) -> LogColumns:
    """The rows of one record's events, in order; an event without a time has the receive time."""
    times, levels, services, bodies, resources, attrs, scopes = [], [], [], [], [], [], []
    for events in batches:
        for event in events:
            times.append(event.timestamp)
            levels.append(_text(event.level))
            host = event.host
            if isinstance(host, dict):  # the ECS shape: {"name": ..., ...}
                host = host.get("name") or host.get("hostname")
            resources.append({"host.name": str(host)} if host else {})
            services.append(_text(event.service))
            bodies.append(_text(event.body))
            attrs.append(flatten(event.attributes))
            scopes.append(_text(event.scope_name))
    return LogColumns(env, fields.source, times, levels, services, bodies, attrs, resource=resources,
                      scope_name=scopes)
