"""Running the real pipeline on this machine, for the tests and the benchmarks: free ports, processes, HTTP, SQL.

Both import these from here (tests/support.py re-exports them): the benchmarks never import a test module.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sluice import internal, storage
from sluice.secrets import master_key
from sluice.settings import Settings
from sluice.local.topology import stop_process, wait_http


# Listening ports are drawn below the kernel's ephemeral range (32768-60999 on Linux), which
# outgoing connections use: a port the kernel handed out with bind(0) could be taken by a Kafka
# client's connection before the child process listens on it (seen as a start-up failure).
_LISTEN_PORTS = range(20_000, 32_768)


#: Ports this process handed out: a port is given once, since whoever got it may not listen on it yet
#: (settings drawn for a gateway that starts later), and a second draw would find it free.
_ISSUED: set[int] = set()


def free_port() -> int:
    """A loopback TCP port nothing listens on now, outside the ephemeral range, not handed out before."""
    rng = random.Random()
    for _ in range(200):
        port = rng.choice(_LISTEN_PORTS)
        if port in _ISSUED:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _ISSUED.add(port)
            return port
    raise RuntimeError(f"no free loopback port in {_LISTEN_PORTS.start}-{_LISTEN_PORTS.stop - 1}")


def post(url: str, body: bytes | dict | list, headers: dict[str, str], timeout: float = 30) -> tuple[int, dict, dict]:
    """POST and return (status, JSON body, headers with lower-case names); HTTP errors are results, not exceptions."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null"), {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        return exc.code, json.loads(payload) if payload else None, {k.lower(): v for k, v in exc.headers.items()}


class Process:
    """One ``python -m sluice <role>`` child with the given settings."""

    def __init__(self, settings: Settings, role: str, log_dir: Path):
        self.settings = settings
        self.role = role
        self.log_path = log_dir / f"{role}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Process":
        if self.role == "worker":
            # Deployments provide the master key (`sluice up` creates it once); a worker refuses to start without.
            master_key(self.settings, create=True)
        env = {**os.environ, **self.settings.to_env()}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "sluice", self.role], env=env,
                                     stdout=log, stderr=subprocess.STDOUT)
        url = self.settings.gateway_url if self.role == "gateway" else self.settings.worker_url
        try:
            wait_http(url + "/health", 120, self.proc)
        except RuntimeError as exc:  # say why: the child's last lines, not only its exit status
            tail = self.log_path.read_text(errors="replace").splitlines()[-20:]
            raise RuntimeError(f"{self.role}: {exc}; its log ends with:\n" + "\n".join(tail)) from None
        return self

    def stop(self, timeout_s: float = 60) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout_s)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


def sql(settings: Settings, statement: str) -> list[list]:
    """Rows of a read-only query: through the worker that owns the embedded engine, or from the
    ClickHouse server of ``clickhouse_url``."""
    if not settings.embedded_clickhouse:
        client = storage.connect(settings)
        try:
            return [list(row) for row in client.query(statement, settings={"readonly": 1}).result_rows]
        finally:
            client.close()
    return internal.query(settings, {"sql": statement})["rows"]


def metric(base_url: str, sample: str) -> float:
    """One sample of ``base_url``'s /metrics, by name and labels as exposed (labels sorted); 0 when absent."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(sample + " "):
                return float(line.split()[-1])
    return 0.0


def wait_for(predicate, timeout_s: float, interval_s: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last: {last!r})")
