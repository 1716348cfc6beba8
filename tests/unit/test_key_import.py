"""Importing existing keys: each dialect's format rules, the environment a LogTrace key implies, duplicates
refused, and ``POST /v1/keys/import`` through the gateway over an in-memory registry."""

from __future__ import annotations

import subprocess
import sys

import httpx
import msgspec
import pytest

from gateway.app import Gateway
from gateway.testing import RecordingPublisher
from schemas import registry as records
from schemas.registry import ADMIN, READ, WRITE, TenantRecord
from sluice import key_import, metrics
from sluice.key_import import KeyImportError, check_format, environment_for, imported_record, refuse_taken
from sluice.keys import Registry, new_key
from sluice.settings import load_settings
from tests.unit.test_gateway import TRACE

LIVE = "lt_live_8f3a9c2d1e4b5f6a7c8d9e0f1a2b3c4d"
TEST = "lt_test_8f3a9c2d1e4b5f6a7c8d9e0f1a2b3c4d"
TOKEN = "my-secret-token-123"
ASTRALOG = {"logs": [{"project_id": "p", "timestamp": "2026-01-01T00:00:00Z", "level": "info", "service": "svc", "message": "m"}]}


@pytest.mark.parametrize("dialect, key", [
    ("logtrace", LIVE), ("logtrace", TEST), ("logtrace", "lt_live_8F3A9C2D1E4B5F6A7C8D9E0F1A2B3C4D"),
    ("logflux", "lf_your_api_key_here"), ("logflux", "lf_" + "a" * 13),
    ("astralog", TOKEN), ("astralog", "x" * 16), ("loginformant", "YOUR-API-KEY-0123"),
    ("profound", "pk_" + "~!#$%&'()*+,-./:;<=>?@[]^_`{|}" + "0" * 5), ("profound", "k" * key_import.MAX_LENGTH),
])
def test_keys_of_the_documented_shape_are_accepted(dialect, key):
    check_format(dialect, key)


@pytest.mark.parametrize("dialect, key, code", [
    ("logtrace", "lt_live_8f3a9c2d1e4b5f6a7c8d9e0f1a2b3c4", "invalid_logtrace_key"),  # 31 hex
    ("logtrace", LIVE + "0", "invalid_logtrace_key"),  # 33 hex
    ("logtrace", "lt_prod_8f3a9c2d1e4b5f6a7c8d9e0f1a2b3c4d", "invalid_logtrace_key"),
    ("logtrace", "lt_live_8f3a9c2d1e4b5f6a7c8d9e0f1a2b3c4g", "invalid_logtrace_key"),  # g is no hex digit
    ("logtrace", TOKEN, "invalid_logtrace_key"),
    ("logflux", "sk_your_api_key_here", "invalid_logflux_key"),
    ("logflux", "lf_short", "key_too_short"),
    ("astralog", "my-secret-token", "key_too_short"),  # 15 characters
    ("astralog", "my secret token 123", "key_invalid_characters"),
    ("loginformant", "tab\tinside-the-token", "key_invalid_characters"),
    ("profound", "line\nbreak-in-the-token", "key_invalid_characters"),
    ("profound", "non-ascii-tökenvalue", "key_invalid_characters"),
    ("profound", "k" * (key_import.MAX_LENGTH + 1), "key_too_long"),
    ("astralog", "", "missing_key"),
    ("otlp", TOKEN, "unknown_key_format"),
])
def test_malformed_keys_are_refused_with_their_code_and_never_quoted(dialect, key, code):
    with pytest.raises(KeyImportError) as refused:
        check_format(dialect, key)
    assert (refused.value.status, refused.value.code) == (400, code)
    if key:
        assert key not in str(refused.value) and key not in refused.value.message


@pytest.mark.parametrize("key, requested, default, expected", [
    (LIVE, None, "production", "production"), (LIVE, "production", "staging", "production"),
    (TEST, None, "production", "staging"), (TEST, None, "development", "development"),
    (TEST, "development", "production", "development"), (TEST, "staging", "development", "staging"),
])
def test_a_logtrace_key_works_in_the_environment_its_prefix_names(key, requested, default, expected):
    assert environment_for("logtrace", key, requested, default) == expected


@pytest.mark.parametrize("key, requested", [(LIVE, "staging"), (LIVE, "development"), (TEST, "production")])
def test_a_logtrace_key_is_refused_for_an_environment_its_prefix_contradicts(key, requested):
    with pytest.raises(KeyImportError) as refused:
        environment_for("logtrace", key, requested, "production")
    assert refused.value.code == "environment_conflict" and key not in str(refused.value)


def test_other_keys_work_where_asked_else_in_the_default():
    assert environment_for("astralog", TOKEN, None, "staging") == "staging"
    assert environment_for("profound", TOKEN, "development", "production") == "development"
    with pytest.raises(KeyImportError) as refused:
        environment_for("astralog", TOKEN, "qa", "production")
    assert refused.value.code == "invalid_environment"


def test_an_imported_key_is_stored_as_its_hash_and_found_by_the_same_lookup():
    record = imported_record("acme", "astralog", TOKEN, requested_environment=None, default_environment="production",
                             scopes=(WRITE,), expires_at=None)
    assert TOKEN not in records.encode(record).decode()
    registry = Registry()
    registry.apply(record)
    assert registry.authenticate(TOKEN) == record
    assert registry.authenticate(TOKEN[:-1]) is None
    assert registry.active_keys("acme") == 1


def test_a_key_already_registered_live_or_revoked_in_any_tenant_is_refused():
    registry = Registry()
    mine = imported_record("acme", "astralog", TOKEN, requested_environment=None, default_environment="production",
                           scopes=(WRITE,), expires_at=None)
    registry.apply(mine)
    for tenant in ("acme", "rival"):
        again = imported_record(tenant, "profound", TOKEN, requested_environment=None,
                                default_environment="staging", scopes=(READ,), expires_at=None)
        with pytest.raises(KeyImportError) as refused:
            refuse_taken(registry.keys, again)
        assert (refused.value.status, refused.value.code) == (409, "key_exists") and TOKEN not in str(refused.value)
    registry.apply(msgspec.structs.replace(mine, revoked_at="2026-01-01T00:00:00+00:00"))
    with pytest.raises(KeyImportError):
        refuse_taken(registry.keys, mine)  # importing it again would revive it
    other = msgspec.structs.replace(mine, key_hash="0" * 64)  # a different key whose id is the same
    with pytest.raises(KeyImportError) as refused:
        refuse_taken(registry.keys, other)
    assert refused.value.code == "key_exists"
    fresh = imported_record("acme", "astralog", TOKEN + "x", requested_environment=None,
                            default_environment="production", scopes=(WRITE,), expires_at=None)
    refuse_taken(registry.keys, fresh)  # nothing holds its id: no error


class KeyedPublisher(RecordingPublisher):
    def __init__(self):
        super().__init__()
        self.put_values: list[bytes] = []

    async def put(self, topic: str, key: bytes, value: bytes) -> None:
        self.put_values.append(value)


class World:
    """A gateway over an in-memory registry; its registry-topic writes are kept for inspection."""

    def __init__(self, **settings):
        self.registry = Registry()
        self.registry.apply(TenantRecord("acme", "t"))
        self.publisher = KeyedPublisher()
        self.settings = load_settings({}, **settings)
        app = Gateway(self.settings, self.registry, self.publisher)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")

    def admin(self, environment: str = "production", scopes=(ADMIN, WRITE, READ)) -> dict[str, str]:
        key, record = new_key("acme", environment=environment, scopes=scopes)
        self.registry.apply(record)
        return {"Authorization": f"Bearer {key}"}

    async def import_key(self, headers: dict[str, str], **wanted) -> httpx.Response:
        return await self.client.post("/v1/keys/import", json=wanted, headers=headers)


def refused(code: str) -> float:
    return metrics.GATEWAY_REJECTIONS.labels("keys", code)._value.get()


async def test_the_api_imports_a_token_that_then_writes_through_its_dialect():
    w = World()
    r = await w.import_key(w.admin(), key=TOKEN, format="astralog", scopes=[WRITE])
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["environment"], body["scopes"], "key" in body) == ("production", [WRITE], False)
    assert TOKEN not in r.text and all(TOKEN.encode() not in v for v in w.publisher.put_values)
    drained = await w.client.post("/v1/drain", json=ASTRALOG, headers={"Authorization": TOKEN})
    assert drained.status_code == 200, drained.text
    assert w.publisher.published[-1][1].tenant == "acme"
    listed = (await w.client.get("/v1/keys", headers=w.admin())).json()["keys"]
    assert body["key_id"] in [k["key_id"] for k in listed]


async def test_the_api_refuses_malformed_duplicate_and_stronger_imports_with_their_codes():
    w = World()
    admin = w.admin()
    cases = [
        (dict(key="lt_live_123", format="logtrace"), 400, "invalid_logtrace_key"),
        (dict(key="sk_0123456789abcdef", format="logflux"), 400, "invalid_logflux_key"),
        (dict(key="short-token", format="astralog"), 400, "key_too_short"),
        (dict(key="two words-0123456789", format="profound"), 400, "key_invalid_characters"),
        (dict(key=TOKEN, format="splunk"), 400, "unknown_key_format"),
        (dict(key=TEST, format="logtrace", environment="production"), 400, "environment_conflict"),
        (dict(key=TEST, format="logtrace"), 403, "environment_exceeds_creator"),  # staging key, production admin
        (dict(key=TOKEN, format="astralog", expires="soon"), 400, "invalid_expires"),
        (dict(key=TOKEN, format="astralog", scopes=["root"]), 400, "invalid_request"),
        (dict(format="astralog"), 400, "invalid_request"),
    ]
    for wanted, status, code in cases:
        before = refused(code)
        r = await w.import_key(admin, **wanted)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (wanted, r.text)
        assert refused(code) == before + 1
        if "key" in wanted:
            assert wanted["key"] not in r.text
    writer = w.admin(scopes=(ADMIN, WRITE))
    r = await w.import_key(writer, key=TOKEN, format="astralog", scopes=[WRITE, READ])
    assert (r.status_code, r.json()["error"]["code"]) == (403, "scope_exceeds_creator")
    assert (await w.import_key(admin, key=TOKEN, format="astralog")).status_code == 201
    r = await w.import_key(admin, key=f" {TOKEN}\n", format="loginformant")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "key_exists") and TOKEN not in r.text
    assert (await w.client.get("/v1/keys/import", headers=admin)).status_code == 405
    assert not any(TOKEN.encode() in v for v in w.publisher.put_values)


async def test_imported_keys_count_against_the_cap_and_revoke_like_any_key():
    w = World(max_keys_per_tenant=2)
    admin = w.admin()
    r = await w.import_key(admin, key=TOKEN, format="astralog")
    assert r.status_code == 201
    r2 = await w.import_key(admin, key="another-token-4567", format="profound")
    assert (r2.status_code, r2.json()["error"]["code"]) == (409, "too_many_keys")
    assert (await w.client.delete(f"/v1/keys/{r.json()['key_id']}", headers=admin)).status_code == 200
    drained = await w.client.post("/v1/drain", json=ASTRALOG, headers={"Authorization": TOKEN})
    assert drained.status_code == 401
    r3 = await w.import_key(admin, key=TOKEN, format="astralog")  # revoked stays revoked
    assert (r3.status_code, r3.json()["error"]["code"]) == (409, "key_exists")


async def test_an_lt_test_key_is_refused_by_a_production_gateway_and_works_on_staging():
    for bound, expected in (("production", 403), ("staging", 202)):
        w = World(gateway_environment=bound)
        # One registry serves a deployment: the import goes through the staging gateway, whose admin keys work.
        importer = w if bound == "staging" else World(gateway_environment="staging")
        r = await importer.import_key(importer.admin(environment="staging"), key=TEST, format="logtrace")
        assert (r.status_code, r.json()["environment"]) == (201, "staging"), r.text
        if importer is not w:
            w.registry.apply(importer.registry.authenticate(TEST))
        r = await w.client.post("/v1/logs/ingest", json=TRACE, headers={"Authorization": f"Bearer {TEST}"})
        assert r.status_code == expected, r.text
        if expected == 403:
            assert r.json()["error"]["code"] == "environment_mismatch"


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    # Format rules are checked before the registry is read, so no broker is needed for refusals.
    return subprocess.run([sys.executable, "-m", "sluice", "keys", "import", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})


def test_the_cli_refuses_a_key_in_argv_without_echoing_it():
    for argv in (["--tenant", "acme", "--format", "astralog", TOKEN],
                 [TOKEN, "--tenant", "acme", "--format", "astralog"],
                 ["--tenant", "acme", "--format", "astralog", f"--key={TOKEN}"],
                 ["--tenant", "acme", "--format", "astralog", "--token", TOKEN],
                 ["--tenant", "acme", "--format", "astralog", f"--api-key={TOKEN}"],  # unknown options too
                 ["--tenant", "acme", "--format", "astralog", f"-{TOKEN}"]):
        done = _cli(*argv)
        assert done.returncode == 2 and "refused" in done.stderr, done.stderr
        assert TOKEN not in done.stdout + done.stderr


@pytest.mark.parametrize("fmt, key, code", [
    ("logtrace", "lt_live_0123", "invalid_logtrace_key"), ("astralog", "my-secret-token", "key_too_short"),
    ("profound", "a token with spaces", "key_invalid_characters"),
    ("logtrace", TEST, "environment_conflict"),
])
def test_the_cli_refuses_malformed_keys_in_one_line_with_their_code(fmt, key, code):
    extra = ["--environment", "production"] if code == "environment_conflict" else []
    done = _cli("--tenant", "acme", "--format", fmt, *extra, stdin=key + "\n")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and f"({code})" in done.stderr, done.stderr
    assert key not in done.stdout + done.stderr


def test_the_cli_takes_one_key_per_run():
    done = _cli("--tenant", "acme", "--format", "astralog", stdin=f"{TOKEN}\nsecond-token-0123456\n")
    assert done.returncode == 2 and "(key_not_one_line)" in done.stderr and TOKEN not in done.stderr
