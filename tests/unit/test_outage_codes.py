"""A transient failure is answered with the status each dialect's docs name and its clients retry."""

from __future__ import annotations

import pytest

from gateway import errors
from gateway.routes import ROUTES
from schemas.dialect import AuthStyle, Endpoint
from schemas.formats import Format
from tests.unit.test_access import LOGFLUX
from tests.unit.test_dialect_limits import PROFOUND
from tests.unit.test_gateway import ASTRA, INFORMANT, TRACE, make_gateway
from tests.unit.test_otlp import OTLP_JSON

# logtrace.txt: "500 ... transient failure"; profound.txt: unexpected errors "Return a 500".
# LogInformant ("5xx: retry with backoff"), LogFlux (its SDKs retry 500/502/503/504), OTLP/HTTP (retries
# 429, 502, 503, 504 but not 500) and AstraLog (no word: generic senders retry 503) keep 503.
EXPECTED = {"/v1/drain": 503, "/v1/logs/ingest": 500, "/api/ingest/batch": 503, "/api/ingest": 503,
            "/v1/ingest": 503, "/v1/batch": 503, "/v1/logs/custom": 500, "/v1/logs": 503}

BODIES = {"/v1/drain": ASTRA, "/v1/logs/ingest": TRACE, "/api/ingest/batch": INFORMANT,
          "/api/ingest": INFORMANT["logs"][0], "/v1/ingest": LOGFLUX, "/v1/batch": {"entries": [LOGFLUX]},
          "/v1/logs/custom": PROFOUND, "/v1/logs": OTLP_JSON}


def test_each_endpoint_declares_its_dialects_outage_status():
    assert {path: route.endpoint.outage_status for path, route in ROUTES.items()} == EXPECTED


@pytest.mark.parametrize("path", sorted(EXPECTED))
async def test_kafka_down_is_answered_with_the_declared_status_and_a_retry_after(path):
    client, (key, lf_key), publisher = make_gateway(prefixes=("slk_", "lf_"))
    publisher.fail = True
    auth = ROUTES[path].auth
    secret = lf_key if path in ("/v1/ingest", "/v1/batch") else key
    headers = {AuthStyle.AUTHORIZATION: {"Authorization": secret},
               AuthStyle.API_KEY: {"X-API-Key": secret}}.get(auth, {"Authorization": f"Bearer {secret}"})
    r = await client.post(path, json=BODIES[path], headers=headers)
    assert r.status_code == EXPECTED[path], r.text
    assert r.headers["retry-after"] == "7"
    if path == "/v1/logs/custom":
        assert "retry" in r.json()["detail"]  # Profound's {"detail": ...}
    else:
        assert r.json()["error"]["code"].lower() == "kafka_unavailable"


def test_only_transient_refusals_take_the_outage_status():
    down = errors.unavailable(5)
    assert errors.as_outage(down, 500).status == 500 and errors.as_outage(down, 500).code == "kafka_unavailable"
    assert errors.as_outage(down, 503) is down
    assert errors.as_outage(errors.body_too_large(10), 500).status == 413
    assert errors.as_outage(errors.body_buffer_full(5), 500).status == 500


def test_an_outage_status_must_be_a_server_error():
    with pytest.raises(ValueError, match="outage_status 429 is not a 5xx status"):
        Endpoint("/x", Format.LOGTRACE_INGEST, AuthStyle.BEARER, 1, 200, outage_status=429)


def test_openapi_documents_each_routes_outage_status():
    import msgspec

    from gateway import openapi

    document = msgspec.json.decode(openapi.document())
    for path, status in EXPECTED.items():
        responses = document["paths"][path]["post"]["responses"]
        assert str(status) in responses and str(1003 - status) not in responses, path  # 500 xor 503
