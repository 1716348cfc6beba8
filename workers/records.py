"""From one Kafka record (ingest or native topic) to the rows it holds, and what cannot be stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple, Sequence

from schemas.dialects import DIALECTS, FREE_FORMS, HTTP_COLUMNS, NESTED, decode
from schemas.dialects.logflux.rows import entry_values
from schemas.dialects.native import arrow as native_arrow
from schemas.envelope import Envelope, EnvelopeError, from_headers
from schemas.formats import Format, InvalidBody
from schemas.rows import normalize
from schemas.rows.columnar import ArrowRows, LogColumns, normalize_arrow
from schemas.rows.declared_http import HttpRows
from schemas.rows.free_form import free_form_rows
from schemas.rows.nested import nested_rows
from sluice import metrics
from workers import hot, logflux_hot
from workers.budget import TokenBuckets
from workers.decrypt import Decryptor
from workers.logflux import normalize_logflux


class Rejected(NamedTuple):
    reason: str  # machine-readable: the metric label and the dead-letter header
    detail: str  # for the operator; never holds secrets or record contents beyond a path
    entry: int | None = None  # the entry's index, when one entry of a batch record is rejected


class Outcome(NamedTuple):
    # HotRows for what the hot path mapped, ArrowRows for records that arrived in Arrow, HttpRows for
    # Profound's http_logs rows; an empty list when nothing of the record is stored
    rows: HttpRows | LogColumns | ArrowRows | hot.HotRows | list
    # What to dead-letter: the whole value when the record is unreadable, or
    # one value per failed entry (LogFlux), each with why.
    rejected: list[tuple[bytes | None, Rejected]]
    # The tenant whose budget of key derivations this record exceeds: move it
    # to the slow lane instead (workers/slowlane.py).
    divert_for: str | None = None


@dataclass(frozen=True)
class Context:
    """What judging a record needs beyond the record."""

    tenant_known: Callable[[str], bool] = lambda tenant: True
    decryptor: Decryptor | None = None
    # Per-tenant budget of new key derivations; None in the slow lane itself.
    kdf_budget: TokenBuckets | None = None
    # How much one sluice.arrow.v1 record may decode to before it is dead-lettered unread.
    arrow_limits: native_arrow.Limits = native_arrow.Limits()


def hot_outcomes(records: Sequence[tuple[bytes | None, Iterable[tuple[str, bytes]] | dict, int | None]],
                 context: Context = Context()) -> list[Outcome | None]:
    """The outcomes of the (value, headers, timestamp_ns) records the hot path maps (workers/hot.py, and
    workers/logflux_hot.py for LogFlux records whose keys are cached), each format's in one call; None for
    every other record, to be judged by ``rows_of`` (which also names what is wrong with a record the hot
    path declined)."""
    out: list[Outcome | None] = [None] * len(records)
    runs: dict[Format, tuple[list[int], list[bytes], list[Envelope]]] = {}
    for index, (value, headers, timestamp_ns) in enumerate(records):
        if value is None:
            continue
        try:
            envelope = from_headers(headers, timestamp_ns)
            fmt = Format(envelope.format)
        except (EnvelopeError, ValueError):
            continue
        hot_format = fmt in hot.FORMATS or (fmt in logflux_hot.FORMATS and context.decryptor is not None)
        if hot_format and context.tenant_known(envelope.tenant):
            indexes, values, envelopes = runs.setdefault(fmt, ([], [], []))
            indexes.append(index)
            values.append(value)
            envelopes.append(envelope)
    for fmt, (indexes, values, envelopes) in runs.items():
        if fmt in logflux_hot.FORMATS:
            mapped = logflux_hot.map_values(fmt, values, envelopes, context.decryptor)
        else:
            mapped = hot.map_values(fmt, values, envelopes)
        for index, rows in zip(indexes, mapped.rows):
            if rows is not None:
                out[index] = Outcome(rows, [])
        metrics.WORKER_RECORDS_CONSUMED.labels(fmt.value).inc(len(indexes) - len(mapped.declined))
        if mapped.declined:
            metrics.WORKER_HOT_DECLINED.labels(fmt.dialect).inc(len(mapped.declined))
    return out


def _refuse(value: bytes | None, reason: str, detail: str) -> Outcome:
    return Outcome([], [(value, Rejected(reason, detail))])


def rows_of(value: bytes | None, headers: Iterable[tuple[str, bytes]] | dict,
            timestamp_ns: int | None = None, context: Context = Context()) -> Outcome:
    """The normalized rows of one record, and what of it cannot be stored.

    ``timestamp_ns`` is the Kafka record's timestamp, the receive time of
    native records that carry none in their headers.
    """
    try:
        envelope = from_headers(headers, timestamp_ns)
    except EnvelopeError as exc:
        return _refuse(value, "bad_envelope", str(exc))
    try:
        fmt = Format(envelope.format)
    except ValueError:
        return _refuse(value, "unknown_format", f"unknown format {envelope.format!r}")
    if not context.tenant_known(envelope.tenant):
        return _refuse(value, "unknown_tenant", f"no tenant named {envelope.tenant!r}")
    if value is None:
        return _refuse(value, "empty_value", "record has no value")
    try:
        entries = decode(fmt, value, context.arrow_limits)
    except InvalidBody as exc:
        return _refuse(value, exc.code.lower(), exc.message)
    metrics.WORKER_RECORDS_CONSUMED.labels(fmt.value).inc()
    try:
        return _normalize(fmt, entries, envelope, value, context)
    except Exception as exc:  # a record no normalizer foresaw must not stop the partition
        return _refuse(value, "normalize_failed", f"{type(exc).__name__}: {exc}"[:500])


def _normalize(fmt: Format, entries: list, envelope: Envelope, value: bytes, context: Context) -> Outcome:
    return MAPPINGS[fmt.dialect](fmt, entries, envelope, value, context)


def _logflux(fmt: Format, entries: list, envelope: Envelope, value: bytes, context: Context) -> Outcome:
    """Decrypt-verify entry by entry: a failed entry is dead-lettered alone, the rest stored; a record
    that needs more new key derivations than the tenant's budget allows goes to the slow lane."""
    if context.decryptor is None:
        return _refuse(value, "no_encryption_secret", "this worker has no master key for tenants' secrets")
    if context.kdf_budget is not None:
        needed = context.decryptor.derivations_needed(envelope.tenant, {e.salt for e in entries})
        if needed and not context.kdf_budget.take(envelope.tenant, needed):
            return Outcome([], [], divert_for=envelope.tenant)
    rows, failures = normalize_logflux(entries, envelope, context.decryptor)
    batch = fmt is Format.LOGFLUX_BATCH
    values = entry_values(batch, value, [f.index for f in failures]) if failures else []
    return Outcome(rows, [(kept, Rejected(f.reason, f.detail, f.index if batch else None))
                          for kept, f in zip(values, failures)])


Mapping = Callable[[Format, list, Envelope, bytes, Context], Outcome]


def _declared(fmt: Format, entries: list, envelope: Envelope, value: bytes, context: Context) -> Outcome:
    """The JSON dialects that declare their columns (schemas/dialects/<name>/columns.py)."""
    return Outcome(normalize.mapped(hot.COLUMNS[fmt], entries, envelope), [])


def _free_form(fmt: Format, entries: list, envelope: Envelope, value: bytes, context: Context) -> Outcome:
    """The dialects of free-form events (schemas/free_form.py): their events come split and checked."""
    return Outcome(free_form_rows(FREE_FORMS[fmt], entries, envelope), [])


def _nested(fmt: Format, entries: list, envelope: Envelope, value: bytes, context: Context) -> Outcome:
    """The dialects whose requests nest their entries (schemas/nested.py): a request is all or nothing."""
    return Outcome(nested_rows(NESTED[fmt], entries, envelope), [])


def _http(fmt: Format, entries: list, envelope: Envelope, value: bytes, context: Context) -> Outcome:
    """The dialects of access logs (schemas/rows/declared_http.py): a record is all or nothing."""
    return Outcome(HTTP_COLUMNS[fmt].rows(entries, envelope), [])


def _native(fmt: Format, entries: list, envelope: Envelope, value: bytes, context: Context) -> Outcome:
    if fmt is Format.NATIVE_ARROW:
        return Outcome(normalize_arrow(entries[0], envelope), [])
    return _declared(fmt, entries, envelope, value, context)


#: Each dialect of the registry (schemas/dialects/) to its mapping: (format, decoded entries, envelope,
#: the record's value, context) -> Outcome. tests/unit/test_dialects.py holds it to the registry.
MAPPINGS: dict[str, Mapping] = {
    **{d.name: _declared for d in DIALECTS if d.columns},
    **{d.name: _free_form for d in DIALECTS if d.free_form},
    **{d.name: _nested for d in DIALECTS if d.nested},
    **{d.name: _http for d in DIALECTS if d.http_columns},
    "logflux": _logflux,
    "native": _native,
}


def entries_rows(fmt: Format, entries: list, envelope: Envelope,
                 context: Context = Context()) -> HttpRows | LogColumns | ArrowRows:
    """The rows of entries ``decode`` gave for ``fmt``, by the dialect's mapping (what cannot be
    stored is left out): for tests and tools that map entries without a Kafka record."""
    return MAPPINGS[fmt.dialect](fmt, entries, envelope, b"", context).rows
