"""The dialect registry (schemas/dialects/) is the one list: every format decodes through exactly one
dialect and maps through exactly one worker mapping, the gateway's routes and OpenAPI paths are its
endpoints, and the docs' endpoint table states its paths, limits and statuses."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from gateway import openapi
from gateway.routes import PREPARE, QUOTAS, RENDER_ERROR, ROUTES
from gateway import dispatch
from schemas import dialect
from schemas.dialect import AuthStyle, Endpoint
from schemas.dialects import COLUMNS, DECODINGS, DIALECTS, ENDPOINTS
from schemas.formats import Format
from workers.records import MAPPINGS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "dialects.md"
# The gateway's own endpoints in the table, which no dialect declares (gateway/dispatch.py routes them).
GATEWAY_OWN = set(dispatch.OWN)


def test_every_format_decodes_through_exactly_one_dialect():
    declared = [fmt for d in DIALECTS for fmt in d.formats]
    assert sorted(declared) == sorted(Format), "each Format is declared by exactly one dialect folder"
    assert set(DECODINGS) == set(Format)
    for d in DIALECTS:
        assert {fmt.dialect for fmt in d.formats} == {d.name}


def test_dialect_names_are_unique_and_each_has_exactly_one_mapping():
    names = [d.name for d in DIALECTS]
    assert len(names) == len(set(names))
    assert set(MAPPINGS) == set(names)
    assert {fmt.dialect for fmt in Format} == set(MAPPINGS), "every format reaches one mapping"


def test_the_declared_columns_are_the_hot_paths_and_their_dialects_need_no_code():
    from sluice import hotpath
    from workers.records import _declared

    declared = {fmt: c for d in DIALECTS for fmt, c in d.columns.items()}
    assert declared == COLUMNS and set(hotpath.MAPPERS) == set(COLUMNS)
    for d in DIALECTS:
        if d.columns and d.columns.keys() == d.formats.keys():  # every format declared: no code of its own
            assert MAPPINGS[d.name] is _declared, d.name


def test_every_kind_of_declared_mapping_is_dispatched_by_its_kind_with_no_code_of_the_dialects_own():
    """Free-form, nested and access-log declarations reach the workers through the registry alone."""
    from workers import records

    kinds = {"free_form": records._free_form, "nested": records._nested, "http_columns": records._http}
    found = set()
    for d in DIALECTS:
        for kind, mapping in kinds.items():
            if getattr(d, kind):
                assert MAPPINGS[d.name] is mapping, (d.name, kind)
                found.add(kind)
    assert found == set(kinds)  # each kind is in use: Logstash, OTLP, Profound
    # Only what needs code of its own is named by hand: LogFlux's decryption, native Arrow.
    assert {d.name for d in DIALECTS if MAPPINGS[d.name] not in (*kinds.values(), records._declared)} == {
        "logflux", "native"}


def test_columns_for_a_format_the_dialect_does_not_decode_are_refused():
    logtrace = next(d for d in DIALECTS if d.name == "logtrace")
    with pytest.raises(ValueError, match="does not decode"):
        dialect.Dialect("astralog", {Format.ASTRALOG_DRAIN: DECODINGS[Format.ASTRALOG_DRAIN]},
                        columns=logtrace.columns)


def test_a_format_of_another_dialect_is_refused_at_declaration():
    with pytest.raises(ValueError, match="does not belong to the otlp dialect"):
        dialect.Dialect("otlp", {Format.LOGTRACE_INGEST: DECODINGS[Format.LOGTRACE_INGEST]})


@pytest.mark.parametrize("field, value", [("prepare", "stream"), ("render_error", "xml"), ("quota", "hour")])
def test_an_endpoint_naming_an_unknown_kind_is_refused(field, value):
    with pytest.raises(ValueError, match=f"'{value}' is not one of"):
        Endpoint("/x", Format.LOGTRACE_INGEST, AuthStyle.BEARER, 1, 200, **{field: value})


def test_an_endpoint_that_counts_entries_needs_a_maximum():
    with pytest.raises(ValueError, match="needs max_entries"):
        Endpoint("/x", Format.LOGTRACE_INGEST, AuthStyle.BEARER, None, 200)


def test_the_gateway_runs_every_kind_a_dialect_may_name():
    assert set(PREPARE) == set(dialect.PREPARE_KINDS)
    assert set(RENDER_ERROR) == set(dialect.ERROR_STYLES)
    assert set(QUOTAS) == set(dialect.QUOTAS)
    assert set(openapi.ERROR_STYLES) == set(dialect.ERROR_STYLES)


def test_routes_and_openapi_paths_are_the_registry_endpoints():
    paths = [e.path for e in ENDPOINTS]
    assert len(paths) == len(set(paths)), "two endpoints share a path"
    assert list(ROUTES) == paths
    for e in ENDPOINTS:
        route = ROUTES[e.path]
        assert (route.format, route.max_entries, route.success_status, route.auth) == (
            e.format, e.max_entries, e.success_status, e.auth)
    document = msgspec.json.decode(openapi.document())
    for e in ENDPOINTS:
        operations = document["paths"][e.path]
        assert set(operations) == {m.lower() for m in e.methods}
        for operation in operations.values():
            assert str(e.success_status) in operation["responses"]


def test_declared_success_bodies_match_their_schemas():
    """Each body an endpoint declares decodes as the JSON its OpenAPI schema names (required fields, consts)."""
    for e in ENDPOINTS:
        if e.prepare != "whole_body":
            continue  # built by the gateway with the request's outcome (gateway/profound.py, gateway/otlp.py)
        body = msgspec.json.decode(e.success_body(3, "req_1"))
        schema = e.success_schema
        assert set(schema["required"]) <= set(body), e.path
        for name, prop in schema["properties"].items():
            if "const" in prop:
                assert body[name] == prop["const"], (e.path, name)


def _table() -> list[list[str]]:
    """The first table of docs/dialects.md, as rows of cells."""
    rows, started = [], False
    for line in DOCS.read_text().splitlines():
        if line.startswith("|"):
            started = True
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif started:
            break
    return rows[2:]  # past the header and the rule


def test_the_docs_endpoint_table_is_the_registry():
    documented: dict[str, tuple[tuple[str, ...], int | None, int]] = {}
    success = None
    for _dialect, path_cell, _auth, max_cell, success_cell in _table():
        found = re.findall(r"`((?:[A-Z]+`/`)*[A-Z]+) (/[^` ]*)", path_cell)
        assert len(found) == 1, f"one path per row: {path_cell}"
        (methods, path), = found
        if path in GATEWAY_OWN:
            continue
        if success_cell != "same":
            success = int(re.match(r"`(\d{3})", success_cell).group(1))
        assert path not in documented, f"{path} is listed twice"
        documented[path] = (tuple(methods.split("`/`")), int(max_cell.replace(",", "")) if max_cell else None, success)
    declared = {e.path: (e.methods, e.max_entries, e.success_status) for e in ENDPOINTS}
    assert documented == declared
