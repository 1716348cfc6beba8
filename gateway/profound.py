"""Profound's partial acceptance: valid entries go on, invalid ones are reported, the answer is 200."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import msgspec

from gateway import errors
from gateway.errors import ApiError
from gateway.prepare import Prepared
from schemas.dialects.profound.wire import AccessLog, Problem, problem
from sluice import metrics
from sluice.settings import Settings

_array = msgspec.json.Decoder(list[msgspec.Raw])
_entry = msgspec.json.Decoder(AccessLog)
_encode = msgspec.json.encode
_MISSING = re.compile(r"Object missing required field `(\w+)`")
_AT = re.compile(r"^(.*) - at `\$\.?([^`]*)`$")


def _readable(exc: msgspec.ValidationError) -> Problem:
    text = str(exc)
    if match := _MISSING.match(text):
        return Problem("invalid_entry", f"{match.group(1)} is required")
    if match := _AT.match(text):
        return Problem("invalid_entry", f"{match.group(2) or 'entry'}: {match.group(1)}")
    return Problem("invalid_entry", text)


def accept_valid_entries(route: Any, fmt: Any, body: bytes, settings: Settings) -> Prepared:
    """Publish the valid entries with a visit id each; report the rest as
    "Invalid log format: entry <i>: <what>". A body that is not a JSON array is a 400."""
    try:
        raws = _array.decode(body)
    except msgspec.ValidationError:
        raise ApiError(400, "not_an_array", "The body must be a JSON array of log entries.") from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {exc!s:.200}") from None
    if len(raws) > route.max_entries:
        raise errors.too_many_entries(len(raws), route.max_entries)
    now = time.time()
    max_age_s = settings.profound_max_age_days * 86400
    accepted: list[bytes] = []
    visit_ids: list[str] = []
    problems: list[str] = []
    for index, raw in enumerate(raws):
        try:
            why = problem(_entry.decode(raw), now, max_age_s, settings.profound_max_ahead_s)
        except msgspec.ValidationError as exc:
            why = _readable(exc)
        except RecursionError:
            why = Problem("invalid_entry", "nested too deeply")
        if why is not None:
            problems.append(f"Invalid log format: entry {index}: {why.message}")
            metrics.GATEWAY_ENTRIES_REJECTED.labels("profound", why.reason).inc()
            continue
        accepted.append(bytes(raw))
        visit_ids.append(str(uuid.uuid4()))
    # Built from the entries' own bytes: nothing is re-encoded on the way to Kafka.
    value = b'{"visit_ids":' + _encode(visit_ids) + b',"entries":[' + b",".join(accepted) + b"]}"

    def response(request_id: str) -> bytes:
        return _encode({
            "status": "accepted",
            "message": f"Processing {len(accepted)} log entries",
            "first_visit_id": visit_ids[0] if visit_ids else None,
            "errors": problems,
            "request_id": request_id,
        })

    return Prepared(value, len(accepted), response)
