"""``sluice up`` as a user runs it: its own broker, a worker, two gateway processes on one
port sharing rate limits through the Redis it starts, and a clean stop on Ctrl-C; private
files, no master key for gateways, and components restarted when they die."""

from __future__ import annotations

import base64
import os
import re
import stat
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sluice import internal
from sluice.settings import load_settings
from tests.support import free_port, post, sql, wait_for

pytestmark = pytest.mark.integration


def children(pid: int) -> dict[int, str]:
    """Command lines of the processes whose parent is ``pid``, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text()
            if int(fields.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def pids_of(up: subprocess.Popen, role: str) -> list[int]:
    return [pid for pid, cmdline in children(up.pid).items() if f"sluice {role}" in cmdline]


def environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


def up_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    ports = {name: free_port() for name in ("kafka", "controller", "gateway", "worker", "tcp", "udp", "redis")}
    return {**os.environ, "SLUICE_STATE_DIR": str(tmp_path / "state"),
            "SLUICE_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports['kafka']}",
            "SLUICE_LOCAL_BROKER_CONTROLLER_PORT": str(ports["controller"]),
            "SLUICE_GATEWAY_PORT": str(ports["gateway"]), "SLUICE_WORKER_PORT": str(ports["worker"]),
            "SLUICE_LOGSTASH_TCP_PORT": str(ports["tcp"]), "SLUICE_LOGSTASH_UDP_PORT": str(ports["udp"]),
            "SLUICE_LOCAL_REDIS_PORT": str(ports["redis"]), "SLUICE_WORKER_GROUP": f"up-{ports['worker']}", **extra}


def start_up(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """``sluice up`` with its output in up.log; returns the process and the dev tenant's key from its banner."""
    log = open(tmp_path / "up.log", "w+")
    up = subprocess.Popen([sys.executable, "-m", "sluice", "up"], env=env, stdout=log, stderr=subprocess.STDOUT)

    def running() -> str:
        text = (tmp_path / "up.log").read_text()
        if up.poll() is not None:
            raise AssertionError(f"sluice up exited with {up.returncode}:\n{text[-3000:]}")
        return "Sluice is running" in text and text

    banner = wait_for(running, 180, 0.5, what="the banner")
    return up, re.search(r"dev API key \(tenant dev\): (\S+)", banner).group(1)


def stop_up(up: subprocess.Popen) -> int:
    up.send_signal(signal.SIGINT)
    try:
        return up.wait(120)
    except subprocess.TimeoutExpired:
        up.kill()
        raise


def open_to_others(root: Path) -> list[str]:
    """Files and directories under ``root`` that group or other users may access."""
    found = []
    for path in [root, *root.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:  # removed by the broker or the engine meanwhile
            continue
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
            found.append(f"{path} {stat.S_IMODE(info.st_mode):04o}")
    return found


def test_sluice_up_with_two_gateways_shares_limits_through_its_redis(tmp_path):
    master = base64.b64encode(os.urandom(32)).decode()
    env = up_env(tmp_path, SLUICE_GATEWAY_PROCESSES="2", SLUICE_STANDARD_INGEST_PER_HOUR="5",
                 SLUICE_SECRETS_KEY=master)
    (tmp_path / "state").mkdir(mode=0o755)
    (tmp_path / "state").chmod(0o755)  # as an older Sluice, or a careless hand, left it
    up, key = start_up(tmp_path, env)
    ports = {"gateway": env["SLUICE_GATEWAY_PORT"], "redis": int(env["SLUICE_LOCAL_REDIS_PORT"])}
    try:
        gateways, workers = pids_of(up, "gateway"), pids_of(up, "worker")
        assert len(gateways) == 2 and len(workers) == 1
        # The master key reaches the worker, never a gateway; the internal token reaches both as a file.
        assert all("SLUICE_SECRETS_KEY" not in environ(pid) and master not in str(environ(pid)) for pid in gateways)
        assert environ(workers[0])["SLUICE_SECRETS_KEY"] == master
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
        settings = load_settings(env)
        wait_for(lambda: sql(settings, "SELECT count() FROM sluice.logs WHERE TenantId = 'dev'")[0][0] >= 5, 60,
                 what="the accepted records in ClickHouse")
    finally:
        code = stop_up(up)
    output = (tmp_path / "up.log").read_text()
    assert code == 0, output[-3000:]
    with pytest.raises(OSError):  # the Redis it started is gone too
        socket.create_connection(("127.0.0.1", ports["redis"]), timeout=1).close()
    # Nothing the broker, the engine, Redis or Sluice wrote is open to other users, and the
    # state directory is 0700 again, which sluice up said.
    state = tmp_path / "state"
    assert f"the state directory {state} had mode 0755" in output
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    segments = [p for p in (state / "kafka" / "data").rglob("*.log") if p.stat().st_size]
    parts = [p for p in (state / "clickhouse").rglob("*.bin")]
    assert segments and parts and (state / "redis" / "redis.log").exists()
    assert open_to_others(state) == []
    # Another local user cannot read them (the test runs as root, who could).
    for path in (segments[0], parts[0]):
        denied = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", f"cat '{path}'"], capture_output=True)
        assert denied.returncode != 0 and b"Permission denied" in denied.stderr


def test_sluice_up_restarts_a_killed_worker_gateway_and_broker_and_keeps_storing(tmp_path):
    env = up_env(tmp_path)
    settings = load_settings(env)
    up, key = start_up(tmp_path, env)
    url = settings.gateway_url + "/v1/logs/ingest"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Connection": "close"}

    def unless_down(call):
        """What ``call`` returns, or None while the process it asks is (re)starting."""
        try:
            return call()
        except (OSError, internal.InternalError):
            return None

    def stored(message: str) -> None:
        """Post one record until the gateway accepts it, then wait for it in ClickHouse."""
        body = {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": message}]}
        wait_for(lambda: unless_down(lambda: post(url, body, headers)[0]) == 202, 120, 0.5,
                 what=f"{message} accepted")
        count = f"SELECT count() FROM sluice.logs WHERE Body = '{message}'"
        wait_for(lambda: unless_down(lambda: sql(settings, count)) == [[1]], 120, 0.5, what=f"{message} stored")

    def log() -> str:
        return (tmp_path / "up.log").read_text()

    try:
        stored("before")
        for role, name in (("worker", "worker"), ("gateway", "gateway 1")):
            [old] = pids_of(up, role)
            os.kill(old, signal.SIGKILL)
            wait_for(lambda: f"{name} exited" in log(), 30, what=f"the {role}'s exit logged")
            wait_for(lambda: pids_of(up, role) not in ([], [old]), 30, what=f"a new {role}")
            stored(f"after-{role}")
        assert re.search(r"worker exited with signal SIGKILL after \d+s; records wait in Kafka until it is back; "
                         r"restart #1 in 1s", log())
        assert re.search(r"gateway 1 exited with signal SIGKILL .*restart #1 in 1s", log())
        broker = load_settings(env).state_dir / "kafka" / "broker.pid"
        os.kill(int(broker.read_text()), signal.SIGKILL)
        wait_for(lambda: "ALERT: the Kafka broker exited with signal SIGKILL" in log(), 30, what="the broker's alert")
        wait_for(lambda: "the Kafka broker restarted" in log(), 120, what="the broker back")
        stored("after-broker")
    finally:
        code = stop_up(up)
    assert code == 0, log()[-3000:]
    assert re.search(r"restarts while running: the Kafka broker 1, worker \d+, gateway 1 \d+", log()), log()[-2000:]
