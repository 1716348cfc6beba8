import base64
import json
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.auth import customer_of
from schemas.envelope import Envelope
from schemas.dialects import decode
from schemas.formats import Format, InvalidBody
from sluice.local.logflux_client import entry
from tests.unit.test_gateway import make_gateway
from workers.decrypt import DecryptError, Decryptor, KeyCache, derive
from schemas.dialects.logflux.rows import body_and_attributes, entry_value
from workers.logflux import normalize_logflux
from tests.rows import log_rows
from schemas.rows.normalize import to_ns

VECTORS = json.loads((Path(__file__).parents[2] / "schemas" / "vectors" / "logflux.json").read_text())["vectors"]
SALT = bytes(range(32))


def fast_cache():
    """Real PBKDF2 is tested with the vectors; elsewhere 1,000 iterations keep tests quick."""
    return KeyCache(100, lambda secret, salt: derive(secret, salt, iterations=1000))


def fast_entry(message, secret, **kw):
    key = derive(secret.encode(), SALT, iterations=1000)
    iv = bytes(12)
    payload = AESGCM(key).encrypt(iv, message.encode(), None)
    return {"node": kw.get("node", "web-1"), "loglevel": kw.get("loglevel", 7), "timestamp": "2024-01-17T10:30:45Z",
            "encryption_mode": 1, "iv": base64.b64encode(iv).decode(), "salt": base64.b64encode(SALT).decode(),
            "payload": base64.b64encode(payload).decode()}


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vectors_decrypt_with_the_real_kdf(v):
    salt, iv, payload = (base64.b64decode(v[k]) for k in ("salt", "iv", "payload"))
    assert derive(v["secret"].encode(), salt).hex() == v["key"]
    assert AESGCM(bytes.fromhex(v["key"])).encrypt(iv, v["plaintext"].encode(), None) == payload
    decryptor = Decryptor(lambda t: [(1, v["secret"].encode())], KeyCache(10))
    assert decryptor.decrypt("acme", iv, salt, payload).decode() == v["plaintext"]


def test_doc_snippet_entries_pass_the_gateway_checks():
    body = json.dumps({"entries": [entry("User login successful", "your-secret")]}).encode()
    (e,) = decode(Format.LOGFLUX_BATCH, body)
    assert e.node == "app-server" and e.loglevel == 7


@pytest.mark.parametrize("change, code, status", [
    ({"loglevel": 0}, "INVALID_LOG_LEVEL", 400),
    ({"loglevel": 9}, "INVALID_LOG_LEVEL", 400),
    ({"encryption_mode": 2}, "INVALID_ENCRYPTION_MODE", 400),
    ({"timestamp": "2024-01-17T10:30:45"}, "INVALID_TIMESTAMP", 400),
    ({"timestamp": "yesterday"}, "INVALID_TIMESTAMP", 400),
    # what the store's nanosecond columns cannot hold: once accepted, such an entry stalled its partition
    ({"timestamp": "0001-01-01T00:00:00Z"}, "INVALID_TIMESTAMP", 400),
    ({"timestamp": "2262-06-01T00:00:00+00:00"}, "INVALID_TIMESTAMP", 400),
    ({"iv": base64.b64encode(bytes(16)).decode()}, "INVALID_IV_LENGTH", 400),
    ({"salt": base64.b64encode(bytes(31)).decode()}, "INVALID_SALT_LENGTH", 400),
    ({"iv": "not base64!"}, "INVALID_BASE64", 400),
    ({"payload": base64.b64encode(bytes(15)).decode()}, "INVALID_PAYLOAD", 400),
    ({"payload": base64.b64encode(bytes(1024 * 1024 + 1)).decode()}, "PAYLOAD_TOO_LARGE", 413),
    ({"node": ""}, "INVALID_NODE", 400),
    ({"node": "x" * 256}, "INVALID_NODE", 400),
    ({"loglevel": "7"}, "INVALID_FIELD", 400),
])
def test_each_bad_field_gets_its_code_and_path(change, code, status):
    good = fast_entry("m", "s")
    body = json.dumps({"entries": [good, {**good, **change}]}).encode()
    with pytest.raises(InvalidBody) as info:
        decode(Format.LOGFLUX_BATCH, body)
    assert (info.value.code, info.value.status) == (code, status)
    assert info.value.details.startswith("$.entries[1]")


@pytest.mark.parametrize("fmt, prefix", [(Format.LOGFLUX_SINGLE, "$"), (Format.LOGFLUX_BATCH, "$.entries[0]")])
def test_an_out_of_range_number_before_malformed_json_is_still_an_invalid_body(fmt, prefix):
    # The typed decoder stops at the out-of-range mode; the rest of the body (a leading zero) is not JSON.
    entry = json.dumps(fast_entry("m", "s"))[1:-1]
    raw = '{"encryption_mode": 2, "loglevel": 07, ' + entry + "}"
    body = (raw if fmt is Format.LOGFLUX_SINGLE else '{"entries": [' + raw + "]}").encode()
    with pytest.raises(InvalidBody) as info:
        decode(fmt, body)
    assert (info.value.code, info.value.status) == ("INVALID_ENCRYPTION_MODE", 400)
    assert info.value.details == f"{prefix}.encryption_mode"


def test_missing_field_and_bad_json_codes():
    good = fast_entry("m", "s")
    del good["salt"]
    with pytest.raises(InvalidBody) as info:
        decode(Format.LOGFLUX_SINGLE, json.dumps(good).encode())
    assert info.value.code == "MISSING_FIELD" and "salt" in info.value.message
    with pytest.raises(InvalidBody) as info:
        decode(Format.LOGFLUX_SINGLE, b"{")
    assert info.value.code == "INVALID_JSON"


def test_decryptor_tries_secrets_newest_first_and_rejects_tampering():
    cache = fast_cache()
    old = fast_entry("from old secret", "old")
    iv, salt, payload = (base64.b64decode(old[k]) for k in ("iv", "salt", "payload"))
    rotated = Decryptor(lambda t: [(2, b"new"), (1, b"old")], cache)
    assert rotated.decrypt("acme", iv, salt, payload) == b"from old secret"
    tampered = payload[:-1] + bytes([payload[-1] ^ 1])
    with pytest.raises(DecryptError) as info:
        rotated.decrypt("acme", iv, salt, tampered)
    assert info.value.reason == "decrypt_failed"
    with pytest.raises(DecryptError) as info:
        Decryptor(lambda t: [], cache).decrypt("acme", iv, salt, payload)
    assert info.value.reason == "no_encryption_secret"


def test_key_cache_is_bounded_and_keyed_by_tenant_version_and_salt():
    calls = []
    cache = KeyCache(2, lambda secret, salt: calls.append(salt) or bytes(32))
    cache.cipher("a", 1, b"s", b"x")
    cache.cipher("a", 1, b"s", b"x")
    assert calls == [b"x"]
    cache.cipher("a", 2, b"s", b"x")
    cache.cipher("b", 1, b"s", b"x")
    assert len(cache) == 2 and len(calls) == 3
    cache.cipher("a", 1, b"s", b"x")  # evicted as least recently used
    assert len(calls) == 4


def test_key_cache_counts_hits_and_misses():
    from sluice import metrics

    def count(result: str) -> float:
        return metrics.WORKER_KDF_CACHE.labels(result)._value.get()

    cache = KeyCache(2, lambda secret, salt: bytes(32))
    hits, misses = count("hit"), count("miss")
    for salt in (b"x", b"x", b"y", b"x"):
        cache.cipher("a", 1, b"s", salt)
    assert (count("hit") - hits, count("miss") - misses) == (2, 2)


def test_plaintext_mapping():
    assert body_and_attributes(b'{"message": "hi", "user": {"id": 7}, "ok": true}') == ("hi", {"user.id": "7", "ok": "true"})
    assert body_and_attributes(b'{"event": "login", "msg": 5}') == ("login", {"msg": "5"})
    assert body_and_attributes(b"plain \xff text") == ("plain \ufffd text", {})
    assert body_and_attributes(b"{not json") == ("{not json", {})


def test_normalize_stores_good_entries_and_reports_bad_ones_alone():
    good = fast_entry('{"message": "Payment failed", "order": "ORD-1"}', "s", loglevel=4, node="pay-1")
    bad = {**fast_entry("x", "s"), "payload": fast_entry("other", "wrong")["payload"]}
    body = json.dumps({"entries": [good, bad]}).encode()
    entries = decode(Format.LOGFLUX_BATCH, body)
    env = Envelope(Format.LOGFLUX_BATCH.value, "acme", "req_1", 1)
    rows, failures = normalize_logflux(entries, env, Decryptor(lambda t: [(1, b"s")], fast_cache()))
    (row,) = log_rows(rows)
    assert (row.timestamp_ns, row.received_ns, row.source, row.request_id) == (
        to_ns(datetime.fromisoformat(good["timestamp"])), 1, "logflux", "req_1")
    assert (row.body, row.severity_text, row.severity_number, row.service) == ("Payment failed", "ERROR", 17, "pay-1")
    assert row.resource_attributes == {"host.name": "pay-1", "service.name": "pay-1"}
    assert row.log_attributes == {"order": "ORD-1"}
    assert [(f.index, f.reason) for f in failures] == [(1, "decrypt_failed")]
    dead = entry_value(True, body, 1)
    assert json.loads(dead) == {"entries": [bad]}


def test_a_record_looks_each_salt_up_once_and_an_old_secret_only_where_needed():
    lookups = []

    class Counting(KeyCache):
        def cipher(self, tenant, version, secret, salt, before_derive=None, run=None):
            lookups.append((version, salt))
            return super().cipher(tenant, version, secret, salt, before_derive, run)

    entries = [fast_entry(f"m{i}", "new") for i in range(50)] + [fast_entry("rotated", "old")]
    body = json.dumps({"entries": entries}).encode()
    decryptor = Decryptor(lambda t: [(2, b"new"), (1, b"old")], Counting(10, lambda s, salt: derive(s, salt, 1000)))
    rows, failures = normalize_logflux(decode(Format.LOGFLUX_BATCH, body), Envelope("b", "acme", "r", 1), decryptor)
    assert failures == [] and [r.body for r in log_rows(rows)] == [f"m{i}" for i in range(50)] + ["rotated"]
    assert lookups == [(2, SALT), (1, SALT)]


def test_customer_host_names():
    assert customer_of(b"c12345.ingest.us.logflux.io") == "c12345"
    assert customer_of(b"C12345.ingest.eu.example.com:8080") == "c12345"
    assert customer_of(b"127.0.0.1:8080") is None
    assert customer_of(b"ingest.us.logflux.io") is None


@pytest.fixture
def gateway():
    client, (lf_key, plain_key), publisher = make_gateway("c12345", ("lf_", "slk_"))
    return client, lf_key, plain_key, publisher


async def test_logflux_endpoints_answer_as_documented(gateway):
    client, key, plain_key, publisher = gateway
    h = {"Authorization": f"Bearer {key}"}
    r = await client.post("/v1/ingest", json=fast_entry("hi", "s"), headers=h)
    assert r.status_code == 200
    assert r.json() == {"status": "success", "message": "Log entry processed successfully",
                        "request_id": r.headers["x-request-id"]}
    r = await client.post("/v1/batch", json={"entries": [fast_entry("a", "s"), fast_entry("b", "s")]}, headers=h)
    assert r.status_code == 200 and r.json()["message"] == "2 log entries processed successfully"
    assert [e.format for _, e in publisher.published] == ["logflux.ingest.v1", "logflux.batch.v1"]

    r = await client.post("/v1/ingest", json={**fast_entry("hi", "s"), "loglevel": 9}, headers=h)
    assert r.status_code == 400
    assert r.json()["error"] == {"code": "INVALID_LOG_LEVEL", "message": "Log level out of range (1-8)",
                                 "details": "$.loglevel = 9"}
    r = await client.post("/v1/batch", json={"entries": [fast_entry("a", "s")] * 101}, headers=h)
    assert (r.status_code, r.json()["error"]["code"]) == (413, "TOO_MANY_ENTRIES")


async def test_logflux_keys_and_customer_hosts(gateway):
    client, key, plain_key, _ = gateway
    body = fast_entry("hi", "s")
    r = await client.post("/v1/ingest", json=body, headers={"Authorization": f"Bearer {plain_key}"})
    assert r.status_code == 401 and r.json()["error"] == {
        "code": "INVALID_API_KEY", "message": "The provided API key is invalid", "details": "API key must start with 'lf_'"}
    r = await client.post("/v1/ingest", json=body)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "INVALID_API_KEY")
    ok = {"Authorization": f"Bearer {key}", "Host": "c12345.ingest.us.logflux.io"}
    assert (await client.post("/v1/ingest", json=body, headers=ok)).status_code == 200
    other = {"Authorization": f"Bearer {key}", "Host": "c99999.ingest.us.logflux.io"}
    r = await client.post("/v1/ingest", json=body, headers=other)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "INVALID_API_KEY")
