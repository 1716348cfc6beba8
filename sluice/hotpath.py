"""The hot path's mappers: one per format whose dialect declares its mapping as data: its columns
(``schemas.dialects.COLUMNS``), its free-form names (Logstash's) or its nested request (OTLP's, JSON and
protobuf).

Shared by both services: the worker maps records with them (workers/hot.py) and the gateway checks
bodies with them (gateway/prepare.py). Either way a value the ``sluice_hot`` extension (hotpath/)
maps is one the dialect's msgspec decoding accepts, with the same entries
(tests/unit/test_hot_path.py); what it declines goes through that decoding, which says why.

Nested requests are mapped by the extension (hotpath/src/nested*.rs) running their dialect's declaration of
levels (``NESTED``, from ``schemas.dialects.NESTED``; schemas/nested.py) as ``schemas.rows.nested.nested_rows``
would (tests/unit/test_hot_path_otlp.py), and the gateway counts a request's records with ``entries`` before
it falls back to the dialect's decoding (gateway/otlp.py; tests/unit/test_hot_path_otlp_entries.py). A binary
format (OTLP/protobuf) is read by the numbers and types of its declaration's protobuf message (``wire``) and
written as the JSON the same walk reads (hotpath/src/nested_pb.rs). Free-form events (Logstash's batches) are
mapped by the extension (hotpath/src/free_form*.rs) running their dialect's declaration of names (``FREE_FORM``,
from ``schemas.dialects.FREE_FORMS``) as ``schemas.rows.free_form.free_form_rows`` would
(tests/unit/test_hot_path_logstash.py, tests/unit/test_free_form.py).
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

import sluice_hot
from schemas.columns import Columns
from schemas.dialects import COLUMNS, FREE_FORMS, NESTED as DECLARED, body_type
from schemas.formats import Format
from schemas.free_form import FreeForm
from schemas.nested import Member, Nested
from schemas.severity import SEVERITY_NUMBERS
from schemas.storable import TIMESTAMP

__all__ = ["COLUMNS", "FREE_FORM", "MAPPERS", "NESTED", "entries", "free_form", "mapper", "messages", "nested",
           "wire"]


def mapper(columns: Columns) -> sluice_hot.Mapper:
    """The extension's mapper for ``columns``."""
    members = [(m.name, m.role, m.key, columns.required(m.name), columns.nullable(m.name),
                list(columns.choices(m.name)), *columns.bounds(m.name)) for m in columns.members]
    return sluice_hot.Mapper(columns.source, columns.entries or "", members, sorted(SEVERITY_NUMBERS.items()))


def free_form(fields: FreeForm) -> sluice_hot.FreeForm:
    """The extension's mapper for a free-form declaration (schemas/free_form.py)."""
    return sluice_hot.FreeForm(fields.source, sorted(SEVERITY_NUMBERS.items()), list(fields.dropped), fields.time,
                               fields.host, [(role, list(names)) for role, names in fields.columns.items()])


def messages(declared: Nested) -> list[list[tuple[str, str, str, int, int]]]:
    """A nested declaration as the extension takes it: its messages numbered depth first, the request
    first, each member as (JSON name, form, role or "", its message's number or -1, hex id size)."""
    table: list[list[tuple[str, str, str, int, int]]] = []

    def number(members: tuple[Member, ...]) -> int:
        index = len(table)
        table.append([])
        table[index] = [(m.json_name, m.form, m.role, number(m.members) if m.members else -1, m.size)
                        for m in members]
        return index

    number(declared.members)
    return table


_PB_TYPES = {FieldDescriptor.TYPE_STRING: "string", FieldDescriptor.TYPE_BYTES: "bytes",
             FieldDescriptor.TYPE_FIXED64: "fixed64", FieldDescriptor.TYPE_FIXED32: "fixed32",
             FieldDescriptor.TYPE_UINT32: "uint32", FieldDescriptor.TYPE_INT32: "int32",
             FieldDescriptor.TYPE_ENUM: "enum", FieldDescriptor.TYPE_INT64: "int64",
             FieldDescriptor.TYPE_UINT64: "uint64", FieldDescriptor.TYPE_MESSAGE: "message"}
#: common.proto's messages as the extension reads them (hotpath/src/nested_pb.rs): field names by number. A
#: request setting any other field of these (``string_value_strindex``, ``key_strindex``) is declined.
COMMON = {
    "AnyValue": {1: "string_value", 2: "bool_value", 3: "int_value", 4: "double_value", 5: "array_value",
                 6: "kvlist_value", 7: "bytes_value"},
    "KeyValue": {1: "key", 2: "value"},
    "ArrayValue": {1: "values"},
    "KeyValueList": {1: "values"},
}


def wire(declared: Nested) -> list[tuple[list[tuple[int, str]], list[int]]]:
    """A nested declaration's protobuf fields, message by message in ``messages``' order: each member's
    (field number, type) from ``declared.protobuf``, and the numbers of the message's fields it does not
    name (the extension declines a request that sets one: protobuf's decoding checks what they hold).

    Raises ValueError where the installed protobuf messages are not what the extension reads: a declared
    name the message lacks, a type it does not take, a list declared of a single field or the reverse, or a field of common.proto's AnyValue, KeyValue,
    ArrayValue or KeyValueList that the extension reads renumbered."""
    table: list[tuple[list[tuple[int, str]], list[int]]] = []

    def number(members: tuple[Member, ...], descriptor) -> int:
        index = len(table)
        table.append(([], []))
        fields = []
        for m in members:
            field = descriptor.fields_by_name.get(m.name)
            if field is None or field.type not in _PB_TYPES:
                raise ValueError(f"{descriptor.full_name}.{m.name}: no such field of a type the hot path reads")
            # protobuf 7 has is_repeated and no label; earlier versions have the label only
            listed = field.is_repeated if hasattr(field, "is_repeated") else field.label == FieldDescriptor.LABEL_REPEATED
            if (m.form in ("repeated", "key_values")) != listed:
                raise ValueError(f"{descriptor.full_name}.{m.name}: declared {m.form}, but the field is "
                                 f"{'' if listed else 'not '}repeated")
            if m.form in ("any_value", "key_values"):
                _common(field.message_type)
            if m.members:
                number(m.members, field.message_type)
            fields.append((field.number, _PB_TYPES[field.type]))
        named = {m.name for m in members}
        table[index] = (fields, sorted(f.number for f in descriptor.fields if f.name not in named))
        return index

    number(declared.members, declared.protobuf)
    return table


def _common(descriptor) -> None:
    """Checks common.proto's messages below an AnyValue or KeyValue against ``COMMON``."""
    found: dict[str, dict[int, str]] = {}
    stack = [descriptor]
    while stack:
        d = stack.pop()
        if d.name in found:
            continue
        found[d.name] = {f.number: f.name for f in d.fields}
        stack.extend(f.message_type for f in d.fields if f.message_type is not None)
    if any({n: fields.get(n) for n in COMMON.get(name, {})} != COMMON.get(name) for name, fields in found.items()):
        raise ValueError(f"common.proto's messages changed: {found}; the hot path reads {COMMON}")


def nested(declared: Nested, binary: bool = False) -> sluice_hot.Nested:
    """The extension's mapper for a nested declaration (schemas/nested.py); ``binary``: for requests in
    protobuf's binary form."""
    return sluice_hot.Nested(declared.source, sorted(SEVERITY_NUMBERS.items()), list(SeverityNumber.items()),
                             (TIMESTAMP.low, TIMESTAMP.high), messages(declared), declared.service_key,
                             wire(declared) if binary else None)


MAPPERS: dict[Format, sluice_hot.Mapper] = {fmt: mapper(c) for fmt, c in COLUMNS.items()}

#: Each format of nested requests to its mapper, with ``Mapper.map``'s contract: a JSON format's, and a
#: binary one's whose declaration names its protobuf message.
NESTED: dict[Format, sluice_hot.Nested] = {fmt: nested(n, binary=not body_type(fmt)) for fmt, n in DECLARED.items()
                                           if body_type(fmt) or n.protobuf is not None}

#: Each format of free-form events to its mapper, with ``Mapper.map``'s contract.
FREE_FORM: dict[Format, sluice_hot.FreeForm] = {fmt: free_form(f) for fmt, f in FREE_FORMS.items()}


def entries(fmt: Format, body: bytes) -> int | None:
    """How many entries ``body`` holds when the hot path maps it whole, else None (it may still be valid:
    decode it to know). A nested request's entries are its rows (OTLP's log records, ``record_count``)."""
    mapper_ = MAPPERS.get(fmt) or NESTED.get(fmt)
    return None if mapper_ is None else mapper_.entries(body)
