"""schemathesis against a real gateway, from the gateway's own OpenAPI document.

Every operation of ``/openapi.json`` gets generated requests, valid and not;
each answer must be no 5xx and must match the document: a documented status,
its content type, and a body of its schema. ``SLUICE_FUZZ_EXAMPLES`` sets
the examples per operation (``make test`` runs a few; ``make test-fuzz``
runs enough for more than 1,000 cases).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from gateway import openapi
from tests.integration.conftest import pipeline_settings
from tests.support import Process

pytestmark = [pytest.mark.integration, pytest.mark.serial]
EXAMPLES = int(os.environ.get("SLUICE_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CASES: list[tuple[str, str, int]] = []
_lock = threading.Lock()

schema = schemathesis.openapi.from_dict(json.loads(openapi.document()))
DOCUMENTED = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}


@schemathesis.serializer("application/x-protobuf")
def raw_bytes(context, value) -> bytes:
    """OTLP protobuf bodies go out as generated (mostly not valid protobuf: a 400)."""
    return value if isinstance(value, bytes) else str(value).encode()


@pytest.fixture(scope="module")
def target(broker, tmp_path_factory):
    """A gateway and worker whose tenant has no rate limits, and one key of each dialect's format."""
    import asyncio

    from schemas.registry import ADMIN, READ, WRITE, TenantRecord
    from sluice import registry as registry_topic
    from sluice.kafka.clients import ensure_topics
    from sluice.keys import new_key, now_iso

    tmp = tmp_path_factory.mktemp("fuzz")
    s = pipeline_settings(broker.config.bootstrap, tmp / "state")
    plain, plain_record = new_key("fuzz", scopes=(WRITE, READ, ADMIN))
    logflux, logflux_record = new_key("fuzz", prefix="lf_")

    async def go():
        await ensure_topics(s)
        await registry_topic.publish(s, TenantRecord("fuzz", now_iso(), tier="unlimited"), plain_record,
                                     logflux_record)

    asyncio.run(go())
    worker = Process(s, "worker", tmp).start()
    gateway = Process(s, "gateway", tmp).start()
    session = requests.Session()
    yield s.gateway_url, {"plain": plain, "logflux": logflux}, session
    session.close()
    gateway.stop()
    worker.stop()


def credentials(path: str, keys: dict[str, str]) -> dict[str, str]:
    key = keys["logflux"] if path in ("/v1/ingest", "/v1/batch") else keys["plain"]
    return {"Authorization": f"Bearer {key}", "X-API-Key": key}


@schema.exclude(path="/v1/logs/tail").parametrize()  # an endless event stream; tests/integration/test_end_to_end.py
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_document(case, target):
    url, keys, session = target
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-api-key")}
    response = case.call(base_url=url, session=session, headers={**headers, **credentials(case.path, keys)},
                         timeout=30)
    with _lock:
        CASES.append((case.method, case.path, response.status_code))
    case.validate_response(response, checks=CHECKS)


def test_the_document_is_served_and_the_cases_counted(target):
    url, _, session = target
    served = session.get(url + "/openapi.json", timeout=10)
    assert served.status_code == 200 and served.content == openapi.document()
    covered = {(m, p) for m, p, _ in CASES} & DOCUMENTED
    assert covered == DOCUMENTED - {("GET", "/v1/logs/tail")}
    statuses = Counter(status for _, _, status in CASES)
    print(f"\nschemathesis: {len(CASES)} cases over {len(covered)} documented operations "
          f"(and undocumented methods on them); statuses {dict(sorted(statuses.items()))}")
    assert any(200 <= s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
