"""A real Redis server for local runs and tests, unpacked from Debian's packages.

Several gateway replicas share rate limits through Redis. ``fetch`` downloads
``redis-tools`` (which holds the server binary) and the two libraries it links
(liblzf1, libjemalloc2) into the cache (sluice/local/debian.py): no root, nothing
installed system-wide.
``LocalRedis`` runs it on loopback without persistence (counters of the
current window are all it holds), with umask 077 (sluice/private.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from sluice import private
from sluice.local import debian

PACKAGES = ("redis-tools", "liblzf1", "libjemalloc2")


class RedisError(RuntimeError):
    pass


def fetch(cache_dir: Path) -> Path:
    """Unpack Redis once; return the directory that holds ``usr/bin/redis-server``'s files."""
    try:
        return debian.unpack(cache_dir, "redis", PACKAGES)
    except debian.PackageError as exc:
        raise RedisError(str(exc)) from None


class LocalRedis:
    def __init__(self, home: Path, port: int, state_dir: Path):
        self.home, self.port, self.state_dir = home, port, state_dir
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the server and return once it accepts connections."""
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=private.DIR_MODE)
        binary = self.home / "usr" / "bin" / "redis-check-rdb"  # redis-server is a link to it
        env = private.without_settings(debian.environment(self.home))
        # argv[0] must name redis-server: the shared binary picks its role from it.
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.state_dir), "--protected-mode", "yes"]
        with os.fdopen(private.open_private(self.state_dir / "redis.log", append=True), "ab") as log:
            self._proc = subprocess.Popen(args, executable=str(binary), env=env, stdout=log, stderr=log,
                                          umask=private.UMASK)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RedisError(f"redis-server exited with {self._proc.returncode}; see {self.state_dir / 'redis.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RedisError(f"redis-server did not answer on port {self.port} within {timeout_s:.0f}s")

    def poll(self) -> int | None:
        """None while the server this object started runs, its exit status once it has ended."""
        return None if self._proc is None else self._proc.poll()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
