"""The formats a Kafka ingest record can carry, and one decoder per format.

A format names both the dialect and the body's shape (a batch, or one entry).
``decode`` turns a body into the list of entries it holds; the gateway and the
workers share it, so both sides agree on what a valid body is.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Any, Callable

import msgspec

from schemas import dialects as d
from schemas import logstash
from schemas import logflux as lf
from schemas import native as n
from schemas import native_arrow
from schemas import otlp
from schemas import otlp_bounds
from schemas import profound as pf
from schemas import storable


class Format(str, enum.Enum):
    ASTRALOG_DRAIN = "astralog.drain.v1"
    LOGTRACE_INGEST = "logtrace.ingest.v1"
    LOGINFORMANT_BATCH = "loginformant.batch.v1"
    LOGINFORMANT_SINGLE = "loginformant.single.v1"
    LOGFLUX_BATCH = "logflux.batch.v1"
    LOGFLUX_SINGLE = "logflux.ingest.v1"
    PROFOUND_CUSTOM = "profound.custom.v1"
    OTLP_PROTOBUF = "otlp.logs.v1.protobuf"
    OTLP_JSON = "otlp.logs.v1.json"
    LOGSTASH_LINES = "logstash.lines.v1"
    NATIVE_RECORD = "sluice.record.v1"
    NATIVE_BATCH = "sluice.batch.v1"
    NATIVE_ARROW = "sluice.arrow.v1"

    @property
    def dialect(self) -> str:
        """The label for metrics and the ``Source`` column: the HTTP dialect, or ``native``."""
        prefix = self.value.split(".", 1)[0]
        return "native" if prefix == "sluice" else prefix


class InvalidBody(ValueError):
    """A body that does not match its format: an HTTP status, a machine-readable
    code, a message for a person and, where useful, details (a JSON path)."""

    def __init__(self, code: str, message: str, details: str = "", status: int = 400):
        super().__init__(message)
        self.code, self.message, self.details, self.status = code, message, details, status


class JsonPath:
    """``$.<field>[<index>]``, formatted only when an error message needs it: a batch's
    checks run once per entry, and almost every entry passes."""

    __slots__ = ("field", "index")

    def __init__(self, field: str):
        self.field, self.index = field, 0

    def __str__(self) -> str:
        return f"$.{self.field}[{self.index}]"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


_ATTRIBUTE_FIELDS = ("metadata", "attributes", "properties", "resource_attributes")


check_tree = storable.check_tree


def _unstorable(exc: storable.Unstorable, path: str) -> InvalidBody:
    return InvalidBody(exc.code, f"{exc.message} - at `{path}`", path)


def _check_entry(entry: Any, where: object) -> None:
    """The storability contract (schemas/storable.py) for a JSON dialect's entry."""
    ts = entry.timestamp
    if ts is not None and not storable.time_fits(ts):
        path = f"{where}.timestamp"
        raise InvalidBody(storable.OUT_OF_RANGE, f"`timestamp` {ts.isoformat()} is outside {storable.TIMESTAMP} "
                                                 f"- at `{path}`", path)
    for name, reserved in _attribute_fields(type(entry)):
        values = getattr(entry, name)
        if values:
            try:
                check_tree(values, reserved=reserved and entry.exception is not None)
            except storable.Unstorable as exc:
                raise _unstorable(exc, f"{where}.{name}") from None


@functools.cache
def _attribute_fields(kind: type) -> tuple[tuple[str, bool], ...]:
    """The attribute fields of ``kind``, each with whether LogInformant's ``exception``, stored as one
    more attribute, counts against the same cap."""
    fields = getattr(kind, "__struct_fields__", ())
    return tuple((name, "exception" in fields) for name in _ATTRIBUTE_FIELDS if name in fields)


def _check_published(published: pf.Published, where: object) -> None:
    """Profound: the gateway judged each entry, against the clock too; the worker checks again
    what the tables cannot hold (a record from a gateway that knew fewer bounds)."""
    for index, entry in enumerate(published.entries):
        found = pf.unstorable(entry)
        if found is not None:
            raise InvalidBody(storable.OUT_OF_RANGE, f"entry {index}: {found.message}", f"$.entries[{index}]")


def _invalid(exc: lf.EntryError) -> InvalidBody:
    return InvalidBody(exc.code, exc.message, exc.details, exc.status)


def _check_logflux(entry: lf.LogFluxEntry, where: object) -> None:
    try:
        lf.check(entry, where)
    except lf.EntryError as exc:
        raise _invalid(exc) from None


def _explain_logflux(text: str, path: str, body: bytes) -> InvalidBody | None:
    exc = lf.explain(text, path, body)
    return None if exc is None else _invalid(exc)


@dataclass(frozen=True)
class _Spec:
    type: Any
    field: str | None  # the list of entries in a batch body; None for a single entry
    # Raises InvalidBody for an entry at a JSON path (a str, or a JsonPath) that its type lets through.
    check: Callable[[Any, object], None] = _check_entry
    # A dialect's own error for a failed constraint (message, JSON path, body), or None for the generic one.
    explain: Callable[[str, str, bytes], InvalidBody | None] = lambda text, path, body: None
    # Error codes: LogFlux documents upper-case ones, the others use ours.
    missing: str = "invalid_field"
    invalid: str = "invalid_field"
    malformed: str = "malformed_json"

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoder", msgspec.json.Decoder(self.type))


_LOGFLUX_CODES = dict(check=_check_logflux, explain=_explain_logflux, missing="MISSING_FIELD", invalid="INVALID_FIELD",
                      malformed="INVALID_JSON")

_SPECS: dict[Format, _Spec] = {
    Format.ASTRALOG_DRAIN: _Spec(d.AstraLogDrain, "logs"),
    Format.LOGTRACE_INGEST: _Spec(d.LogTraceIngest, "logs"),
    Format.LOGINFORMANT_BATCH: _Spec(d.LogInformantBatch, "logs"),
    Format.LOGINFORMANT_SINGLE: _Spec(d.LogInformantLog, None),
    Format.LOGFLUX_BATCH: _Spec(lf.LogFluxBatch, "entries", **_LOGFLUX_CODES),
    Format.LOGFLUX_SINGLE: _Spec(lf.LogFluxEntry, None, **_LOGFLUX_CODES),
    Format.PROFOUND_CUSTOM: _Spec(pf.Published, None, check=_check_published),
    Format.NATIVE_RECORD: _Spec(n.LogRecord, None),
    Format.NATIVE_BATCH: _Spec(n.LogBatch, "records"),
}


def body_type(fmt: Format) -> Any:
    """The msgspec type a JSON body of ``fmt`` decodes to (the OpenAPI request schema)."""
    return _SPECS[fmt].type


def decode(fmt: Format, body: bytes, arrow_limits: native_arrow.Limits = native_arrow.Limits()) -> list:
    """Decode ``body`` into its entries, or raise ``InvalidBody``.

    Every value is checked against the storability contract (schemas/storable.py):
    what decodes is what the tables can hold. Error messages name the JSON
    path of the offending value, such as ``$.logs[3].timestamp``, and the bound,
    so a client can find the entry and the field.
    OTLP bodies decode to one ExportLogsServiceRequest (protobuf, not msgspec),
    Arrow bodies to one conformed ``pyarrow.Table`` (within ``arrow_limits``).
    """
    if fmt is Format.LOGSTASH_LINES:
        try:
            events = logstash.parse_batch(body)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise InvalidBody("malformed_json", f"not a JSON array of events: {exc!s:.200}") from None
        split = list(map(logstash.split, events))
        for index, event in enumerate(split):
            found = logstash.unstorable(event)
            if found is not None:
                field, why = found
                raise _unstorable(why, f"$[{index}]" + (f"[{field!r}]" if field else ""))
        return [split]
    if fmt is Format.NATIVE_ARROW:
        try:
            return [native_arrow.read(body, arrow_limits)]
        except native_arrow.ArrowRecordError as exc:
            raise InvalidBody(exc.code, exc.message) from None
    if fmt in (Format.OTLP_PROTOBUF, Format.OTLP_JSON):
        try:
            request = otlp.parse(body, as_json=fmt is Format.OTLP_JSON)
        except otlp.OtlpError as exc:
            raise InvalidBody("invalid_otlp", str(exc)) from None
        found = otlp_bounds.unstorable(request, as_json=fmt is Format.OTLP_JSON)
        if found is not None:
            path, exc = found
            code = "invalid_otlp" if exc.code == storable.OUT_OF_RANGE else exc.code
            raise InvalidBody(code, f"{exc.message} - at `{path}`", path)
        return [request]
    spec = _SPECS[fmt]
    try:
        decoded = spec.decoder.decode(body)
    except msgspec.ValidationError as exc:
        text = str(exc)
        code = spec.missing if text.startswith("Object missing required field") else spec.invalid
        path = text.rpartition(" - at ")[2].strip("`") if " - at " in text else ""
        raise (spec.explain(text, path, body) or InvalidBody(code, text, path)) from None
    except msgspec.DecodeError as exc:
        raise InvalidBody(spec.malformed, f"The body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidBody(spec.malformed, "The body's JSON is nested too deeply.") from None
    if spec.field is None:
        spec.check(decoded, "$")
        return [decoded]
    entries = getattr(decoded, spec.field)
    where = JsonPath(spec.field)  # one for the loop: a failed check formats it before the next entry
    check = spec.check
    for index, entry in enumerate(entries):
        where.index = index
        check(entry, where)
    return entries
