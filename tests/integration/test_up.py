"""``sluice up`` as a user runs it: its own broker, a worker, two gateway processes on one
port sharing rate limits through the Redis it starts, and a clean stop on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import free_port, post, wait_for

pytestmark = pytest.mark.integration


def children(pid: int) -> list[str]:
    """Command lines of the processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_sluice_up_with_two_gateways_shares_limits_through_its_redis(tmp_path):
    ports = {name: free_port() for name in ("kafka", "controller", "gateway", "worker", "tcp", "udp", "redis")}
    env = {**os.environ, "SLUICE_STATE_DIR": str(tmp_path / "state"),
           "SLUICE_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports['kafka']}",
           "SLUICE_LOCAL_BROKER_CONTROLLER_PORT": str(ports["controller"]),
           "SLUICE_GATEWAY_PORT": str(ports["gateway"]), "SLUICE_WORKER_PORT": str(ports["worker"]),
           "SLUICE_LOGSTASH_TCP_PORT": str(ports["tcp"]), "SLUICE_LOGSTASH_UDP_PORT": str(ports["udp"]),
           "SLUICE_LOCAL_REDIS_PORT": str(ports["redis"]), "SLUICE_GATEWAY_PROCESSES": "2",
           "SLUICE_STANDARD_INGEST_PER_HOUR": "5", "SLUICE_WORKER_GROUP": f"up-{ports['worker']}"}
    log = open(tmp_path / "up.log", "w+")
    up = subprocess.Popen([sys.executable, "-m", "sluice", "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        banner = wait_for(lambda: "Sluice is running" in (tmp_path / "up.log").read_text()
                          and (tmp_path / "up.log").read_text(), 180, 0.5, what="the banner")
        key = re.search(r"dev API key \(tenant dev\): (\S+)", banner).group(1)
        assert sum("sluice gateway" in c for c in children(up.pid)) == 2
        with socket.create_connection(("127.0.0.1", ports["redis"]), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            assert conn.recv(16).startswith(b"+PONG")
        url = f"http://127.0.0.1:{ports['gateway']}/v1/logs/ingest"
        body = {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": "hi"}]}
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Connection": "close"}
        # The dev key reaches both gateways within a second; 401s before that count nothing.
        wait_for(lambda: post(url, body, headers)[0] == 202, 15, 0.2, what="the dev key at a gateway")
        # New connections, which the kernel spreads over both gateway processes.
        answers = [post(url, body, headers) for _ in range(7)]
        assert [status for status, _, _ in answers] == [202] * 4 + [429] * 3
        assert [h["x-ratelimit-remaining"] for _, _, h in answers[:4]] == ["3", "2", "1", "0"]
    finally:
        up.send_signal(signal.SIGINT)
        try:
            code = up.wait(120)
        except subprocess.TimeoutExpired:
            up.kill()
            raise
    assert code == 0, (tmp_path / "up.log").read_text()[-3000:]
    time.sleep(0.5)
    with pytest.raises(OSError):  # the Redis it started is gone too
        socket.create_connection(("127.0.0.1", ports["redis"]), timeout=1).close()
