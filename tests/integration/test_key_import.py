"""Existing keys imported unchanged, through the real gateway, broker and engine: they write and query in
their dialect, tail, revoke, count against rate limits, keep to their environment, and never show up in a
command line, an answer or a log."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from datetime import datetime, timezone

import msgspec
import pytest

from schemas.registry import ADMIN, READ, WRITE
from sluice import registry as registry_topic
from sluice.keys import new_key
from tests.integration.test_tail import Tail
from tests.support import Process, free_port, post, wait_for

pytestmark = pytest.mark.integration

LIVE = "lt_live_8f3a9c2d1e4b5f6a7c8d9e0f1a2b3c4d"
TEST = "lt_test_0123456789abcdef0123456789abcdef"
TOKEN = "my-secret-token-123"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cli(settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**settings.to_env(), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "sluice", *args], env=env, capture_output=True, text=True,
                          input=stdin, timeout=120)


def import_by_cli(settings, key: str, *args: str) -> subprocess.CompletedProcess:
    return cli(settings, "keys", "import", "--tenant", "acme", *args, stdin=key + "\n")


def logtrace(url: str, key: str, message: str) -> tuple[int, dict, dict]:
    return post(url + "/v1/logs/ingest",
                {"logs": [{"timestamp": now(), "level": "ERROR", "message": message, "service": "imported"}]},
                {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})


def astralog(url: str, token: str, message: str) -> tuple[int, dict, dict]:
    return post(url + "/v1/drain",
                {"logs": [{"project_id": "p", "timestamp": now(), "level": "info", "service": "astra",
                           "message": message}]},
                {"Authorization": token, "Content-Type": "application/json"})


def found(url: str, key: str, filter_text: str) -> list[str]:
    status, body, _ = post(url + "/v1/logs/query", {"filter": filter_text, "from": "-1h"},
                           {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return [r["message"] for r in body["logs"]] if status == 200 else []


def test_imported_keys_write_query_tail_revoke_and_never_show(broker, make_sluice):
    sluice = make_sluice(broker.config.bootstrap, gateway_environment="production")
    s, url = sluice.settings, sluice.settings.gateway_url
    outputs: list[str] = []

    # LogTrace's documented key, on the CLI's stdin: the key id alone on stdout.
    done = import_by_cli(s, LIVE, "--format", "logtrace")
    outputs += [done.stdout, done.stderr]
    assert done.returncode == 0, done.stderr
    live_id = done.stdout.strip()
    assert "production" in done.stderr

    # AstraLog's free-form token, through the admin API.
    admin, admin_record = new_key("acme", scopes=(ADMIN, WRITE, READ))
    asyncio.run(registry_topic.publish(s, admin_record))
    auth = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
    answer = wait_for(lambda: (lambda r: r if r[0] != 401 else None)(
        post(url + "/v1/keys/import", {"key": TOKEN, "format": "astralog"}, auth)), 20, what="the admin key")
    outputs.append(json.dumps(answer[1]))
    assert answer[0] == 201, answer
    token_id = answer[1]["key_id"]

    # Both write in their own dialect, the LogTrace key under its hourly limit, and both read back.
    wait_for(lambda: post(url + "/v1/logs/query", {}, {"Authorization": f"Bearer {LIVE}"})[0] == 200, 20,
             what="the imported key at the gateway")
    tail = Tail(s, LIVE, "service:imported")
    assert tail.status == 200
    status, body, headers = logtrace(url, LIVE, "written with an imported lt_live_ key")
    assert status == 202 and headers["x-ratelimit-limit"], body
    assert astralog(url, TOKEN, "written with an imported AstraLog token")[0] == 200
    assert wait_for(lambda: found(url, LIVE, "service:imported"), 60, what="LogTrace rows") == [
        "written with an imported lt_live_ key"]
    assert wait_for(lambda: found(url, TOKEN, "service:astra"), 60, what="AstraLog rows") == [
        "written with an imported AstraLog token"]
    wait_for(lambda: tail.records, 30, what="the tailed record")
    assert [r["message"] for r in tail.records] == ["written with an imported lt_live_ key"]
    tail.close()
    searched = cli(s, "query", "service:astra", "--key-file", "-", "--format", "json", stdin=TOKEN + "\n")
    outputs += [searched.stdout, searched.stderr]
    assert searched.returncode == 0 and "written with an imported AstraLog token" in searched.stdout, searched.stderr

    # A second import of either key is refused; so are malformed ones, each with its code.
    again = import_by_cli(s, TOKEN, "--format", "profound")
    outputs += [again.stdout, again.stderr]
    assert again.returncode == 1 and "(key_exists)" in again.stderr
    twice = post(url + "/v1/keys/import", {"key": LIVE, "format": "logtrace"}, auth)
    outputs.append(json.dumps(twice[1]))
    assert (twice[0], twice[1]["error"]["code"]) == (409, "key_exists")
    for key, fmt, code in ((LIVE[:-1], "logtrace", "invalid_logtrace_key"), ("sk_" + TOKEN, "logflux",
                           "invalid_logflux_key"), ("my-secret", "astralog", "key_too_short"),
                           ("my secret token 123", "loginformant", "key_invalid_characters")):
        refused = import_by_cli(s, key, "--format", fmt)
        assert refused.returncode == 2 and f"({code})" in refused.stderr and key not in refused.stderr
        answered = post(url + "/v1/keys/import", {"key": key, "format": fmt}, auth)
        assert (answered[0], answered[1]["error"]["code"]) == (400, code) and key not in json.dumps(answered[1])
    in_argv = cli(s, "keys", "import", "--tenant", "acme", "--format", "astralog", TOKEN)
    outputs += [in_argv.stdout, in_argv.stderr]
    assert in_argv.returncode == 2 and "refused" in in_argv.stderr

    # Listed by id, revoked like any key: the gateway then refuses it.
    listed = cli(s, "keys", "list", "--tenant", "acme").stdout
    assert live_id in listed and token_id in listed
    assert cli(s, "keys", "revoke", token_id).returncode == 0
    wait_for(lambda: astralog(url, TOKEN, "after revocation")[0] == 401, 20, what="the revoked token refused")

    # Only hashes are stored, and no output or process log holds either key.
    registry = asyncio.run(registry_topic.load_registry(s))
    outputs.append(msgspec.json.encode(list(registry.keys.values())).decode())
    outputs += [sluice.gateway.log_path.read_text(errors="replace"), sluice.worker.log_path.read_text(errors="replace")]
    for key in (LIVE, TOKEN):
        assert not [n for n, text in enumerate(outputs) if key in text], key


def test_an_lt_test_key_is_refused_by_a_production_gateway_and_works_on_staging(broker, make_sluice, tmp_path):
    sluice = make_sluice(broker.config.bootstrap, gateway_environment="production")
    staging_settings = dataclasses.replace(sluice.settings, gateway_environment="staging", gateway_port=free_port(),
                                           logstash_tcp_port=free_port(), logstash_udp_port=free_port())
    (tmp_path / "staging").mkdir()
    staging = Process(staging_settings, "gateway", tmp_path / "staging").start()
    try:
        done = import_by_cli(sluice.settings, TEST, "--format", "logtrace")
        assert done.returncode == 0 and "staging" in done.stderr, done.stderr
        on_staging = wait_for(lambda: (lambda r: r if r[0] != 401 else None)(
            logtrace(staging_settings.gateway_url, TEST, "staging record")), 20, what="the key at the staging gateway")
        assert on_staging[0] == 202, on_staging
        wait_for(lambda: logtrace(sluice.settings.gateway_url, TEST, "x")[0] != 401, 20,
                 what="the key at the production gateway")
        status, body, _ = logtrace(sluice.settings.gateway_url, TEST, "production record")
        assert (status, body["error"]["code"]) == (403, "environment_mismatch")
        assert wait_for(lambda: found(staging_settings.gateway_url, TEST, "service:imported"), 60,
                        what="the staging row") == ["staging record"]
        refused = import_by_cli(sluice.settings, TEST.replace("0", "1"), "--format", "logtrace",
                                "--environment", "production")
        assert refused.returncode == 2 and "(environment_conflict)" in refused.stderr
    finally:
        staging.stop()
    assert TEST not in staging.log_path.read_text(errors="replace") + sluice.gateway.log_path.read_text()
