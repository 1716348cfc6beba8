"""The LogFlux doc's Python, Node and Go SDK examples, run verbatim against a running Sluice.

The examples are kept as the doc prints them (sdk/python/examples/logflux_quickstart.py,
sdk/js/examples/logflux-quickstart.js, sdk/go/examples/quickstart/main.go; tests/unit/
test_sdk_doc_examples.py checks them against the doc); here only the URL, the key and the secret
are replaced, as text, before each runs in its own language's toolchain. What a runnable
program needs around a snippet is added and nothing else: Node's snippet uses require() with
top-level await, which only an ES module allows, so it gets a createRequire() line in front; the
Go snippet has its `package main` in the kept copy. The entries must then be stored decrypted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sluice import registry as registry_topic
from sluice import secrets
from sluice.keys import new_key
from sluice_sdk import Client
from sluice_sdk.dialects import LogFlux
from tests.support import sql, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
DOC_URL, DOC_KEY, DOC_SECRET = "https://c12345.ingest.us.logflux.io", "lf_your_api_key", "your-secret"
SECRET = "quickstart-secret"


def substituted(example: Path, url: str, key: str) -> str:
    text = example.read_text()
    for doc_value in (DOC_URL, DOC_KEY, DOC_SECRET):
        assert text.count(doc_value) == 1, f"{example}: expected the doc's {doc_value!r} once"
    return text.replace(DOC_URL, url).replace(DOC_KEY, key).replace(DOC_SECRET, SECRET)


@pytest.fixture
def lf_key(sluice) -> str:
    """An lf_ key of the tenant, whose LogFlux secret is SECRET, once the gateway accepts it."""
    s = sluice.settings
    asyncio.run(secrets.add(s, "acme", SECRET.encode()))
    key, record = new_key("acme", prefix="lf_")
    asyncio.run(registry_topic.publish(s, record))

    def accepted() -> bool:
        probe = Client(s.gateway_url, key, dialect=LogFlux(SECRET), start=False)
        probe.info("probe")
        return probe.pump(force=True) == 1

    wait_for(accepted, 20, 0.5, what="the lf_ key at the gateway")
    return key


def run(argv: list[str], cwd: Path, timeout_s: float, **env: str) -> None:
    done = subprocess.run(argv, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout_s)
    assert done.returncode == 0, f"{argv[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"


def stored(sluice, bodies: list[str]) -> list[list]:
    """The example's rows, once all of them are stored: body, severity and node."""
    listed = ", ".join(f"'{body}'" for body in bodies)
    query = (f"SELECT Body, SeverityText, ServiceName FROM sluice.logs WHERE Source = 'logflux' "
             f"AND Body IN ({listed}) ORDER BY Body")
    wait_for(lambda: len(sql(sluice.settings, query)) >= len(bodies), 60, what="the example's entries")
    return sql(sluice.settings, query)


def test_the_python_example_runs_verbatim(sluice, lf_key, tmp_path):
    script = tmp_path / "quickstart.py"
    script.write_text(substituted(ROOT / "sdk/python/examples/logflux_quickstart.py", sluice.settings.gateway_url,
                                  lf_key))
    # No PYTHONPATH: `import logflux` must come from the installed sdk/python package.
    run([sys.executable, str(script)], tmp_path, 120, PYTHONPATH="")
    assert stored(sluice, ["User registered successfully", "High memory usage detected",
                           "Payment processing failed"]) == [
        ["High memory usage detected", "WARNING", "my-app"],
        ["Payment processing failed", "ERROR", "my-app"],
        ["User registered successfully", "INFO", "my-app"],
    ]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the Node example cannot run")
def test_the_node_example_runs_verbatim(sluice, lf_key, tmp_path):
    package = ROOT / "sdk/js/logflux"
    assert (package / "dist/logflux-sdk.js").exists(), "build the TypeScript SDK first: (cd sdk/js && npm ci && npm test)"
    # Installed as `npm install sdk/js/logflux` would: a link under node_modules, found by name.
    (tmp_path / "node_modules/@logflux").mkdir(parents=True)
    (tmp_path / "node_modules/@logflux/logflux-js-sdk").symlink_to(package, target_is_directory=True)
    script = tmp_path / "quickstart.mjs"
    script.write_text("import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n"
                      + substituted(ROOT / "sdk/js/examples/logflux-quickstart.js", sluice.settings.gateway_url, lf_key))
    run(["node", str(script)], tmp_path, 120)
    assert stored(sluice, ["Application started successfully", "Database connection failed",
                           "Processing user data"]) == [
        ["Application started successfully", "INFO", "my-app"],
        ["Database connection failed", "ERROR", "my-app"],
        ["Processing user data", "DEBUG", "my-app"],
    ]


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed: the Go example cannot run")
def test_the_go_example_runs_verbatim(sluice, lf_key, tmp_path):
    # The doc's import path, served from sdk/go; no module is fetched.
    (tmp_path / "go.mod").write_text(
        "module quickstart\n\ngo 1.24\n\nrequire github.com/logflux-io/logflux-go-sdk v0.0.0\n\n"
        f"replace github.com/logflux-io/logflux-go-sdk => {ROOT / 'sdk/go'}\n")
    (tmp_path / "main.go").write_text(substituted(ROOT / "sdk/go/examples/quickstart/main.go",
                                                  sluice.settings.gateway_url, lf_key))
    run(["go", "run", "."], tmp_path, 300, GOPROXY="off", GOFLAGS="-mod=mod")
    assert stored(sluice, ["Service initialized", "Rate limit approaching", "Database connection failed"]) == [
        ["Database connection failed", "ERROR", "my-app"],
        ["Rate limit approaching", "WARNING", "my-app"],
        ["Service initialized", "INFO", "my-app"],
    ]
