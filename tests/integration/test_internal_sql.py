"""The worker's /internal/sql answers only Sluice's own processes, and only reads tables."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from sluice import internal
from tests.support import sql

pytestmark = pytest.mark.integration


def _post(settings, body: bytes, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(settings.worker_url + internal.PATH, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_internal_sql_requires_the_token_and_refuses_files_urls_and_secrets(sluice):
    s = sluice.settings
    key_file = s.state_dir / "secrets.key"
    assert key_file.exists()
    steal = json.dumps({"sql": f"SELECT * FROM file('{key_file.resolve()}', 'RawBLOB')"}).encode()
    # The form a web page can send without a preflight: plain text, no credentials.
    status, body = _post(s, steal, {"Content-Type": "text/plain"})
    assert (status, body["error"]) == (401, "a valid internal token is required")
    status, _ = _post(s, steal, {"Authorization": "Bearer " + "x" * 43})
    assert status == 401

    bearer = {"Authorization": f"Bearer {internal.token(s)}", "Content-Type": "application/json"}
    for statement in (f"SELECT * FROM file('{key_file.resolve()}', 'RawBLOB')",
                      "SELECT * FROM url('http://127.0.0.1:9/', 'RawBLOB')",
                      "INSERT INTO FUNCTION file('/tmp/sluice-written', 'RawBLOB') SELECT 'x'",
                      f"SELECT * FROM {s.clickhouse_database}.logs SETTINGS readonly = 0"):
        status, body = _post(s, json.dumps({"sql": statement}).encode(), bearer)
        assert status == 400, statement
        assert "readonly" in body["error"].lower(), body
    status, body = _post(s, json.dumps({"sql": "SELECT name FROM system.users"}).encode(), bearer)
    assert status == 400 and "system.users is not readable here" in body["error"]
    status, body = _post(s, b"SELECT 1", bearer)  # not the JSON form
    assert status == 400

    # The callers Sluice ships (the query API, `sluice sql`, the tests) hold the token.
    assert sql(s, f"SELECT count() FROM {s.clickhouse_database}.logs") == [[0]]


def test_a_worker_without_the_master_key_refuses_to_start(tmp_path):
    import os
    import subprocess
    import sys

    from sluice.settings import load_settings

    settings = load_settings(environ={}, state_dir=tmp_path / "state", local_broker=False)
    env = {**os.environ, **settings.to_env()}
    done = subprocess.run([sys.executable, "-m", "sluice", "worker"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sluice worker: no master key: set SLUICE_SECRETS_KEY")
    assert not (tmp_path / "state" / "secrets.key").exists()
