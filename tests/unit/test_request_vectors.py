"""schemas/vectors/requests.json from the workers' side: what the SDKs send is stored as the vectors say.
Both SDKs' tests check that they produce these requests (sdk/python/tests, sdk/js/test)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import msgspec

from schemas.dialects.logflux import wire as lf
from schemas.envelope import Envelope
from schemas.dialects import decode
from schemas.formats import Format
from workers.decrypt import Decryptor, KeyCache
from workers.logflux import normalize_logflux
from tests.rows import log_rows
from workers.records import entries_rows as normalize

VECTORS = json.loads((Path(__file__).parents[2] / "schemas" / "vectors" / "requests.json").read_text(encoding="utf-8"))


def stored(rows) -> list[dict]:
    return [{"body": r.body, "severity_text": r.severity_text, "service": r.service,
             "attributes": dict(r.log_attributes)} for r in rows]


def test_logtrace_requests_are_stored_as_the_vectors_say():
    env = Envelope(Format.LOGTRACE_INGEST.value, "t", "r", time.time_ns())
    body = json.dumps(VECTORS["logtrace"]["body"]).encode()
    rows = log_rows(normalize(Format.LOGTRACE_INGEST, decode(Format.LOGTRACE_INGEST, body), env))
    assert stored(rows) == VECTORS["logtrace"]["stored"]
    assert rows[0].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_logflux_requests_decrypt_and_are_stored_as_the_vectors_say():
    v = VECTORS["logflux"]
    env = Envelope(Format.LOGFLUX_BATCH.value, "t", "r", time.time_ns())
    entries = msgspec.convert(v["entries"], list[lf.LogFluxEntry])
    decryptor = Decryptor(lambda tenant: [(1, v["secret"].encode())], KeyCache(10))
    rows, failures = normalize_logflux(entries, env, decryptor)
    assert failures == []
    assert stored(log_rows(rows)) == v["stored"]
