"""The benchmarks' load generator and Kafka baseline, from Debian's packages (sluice/local/debian.py).

``wrk`` drives HTTP with a Lua script (bench/wrk/post.lua) and costs little
CPU of its own; ``kcat`` (librdkafka) produces bytes to Kafka, the ceiling
the gateway's publish path is measured against.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sluice.local import debian

WRK = ("wrk", "libluajit2-5.1-2", "libluajit2-5.1-common")
KCAT = ("kcat", "librdkafka1", "libyajl2")
LUA = Path(__file__).parent / "wrk" / "post.lua"


def go_install(home: Path, package: str, program: str, why: str) -> Path:
    """``go install package`` (``path@version``) into ``home/bin`` from the Go module proxy, once; its path."""
    binary = home / "bin" / program
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise RuntimeError(f"Go is needed to build {why}")
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(home / "bin"), "GOFLAGS": "-modcacherw"}
    subprocess.run(["go", "install", package], env=env, check=True)
    return binary


def binary(cache_dir: Path, name: str) -> tuple[Path, dict[str, str]]:
    """(path of the program, environment to run it in)."""
    home = debian.unpack(cache_dir, name, {"wrk": WRK, "kcat": KCAT}[name])
    return home / "usr" / "bin" / name, debian.environment(home)


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    timeouts: int  # requests without an answer within wrk's 10 s timeout
    latency_ms: dict[str, float]  # p50, p90, p99, p99.9
    cpu_s: float  # wrk's own user + system CPU time

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk(cache_dir: Path, url: str, body_file: Path | list[Path], headers: dict[str, str], seconds: int,
        connections: int, threads: int = 1) -> WrkResult:
    """POST ``body_file`` (or each of a list in turn) to ``url`` for ``seconds`` over ``connections``.

    wrk is closed loop: a connection sends its next request once the last is
    answered, so this finds the maximum rate; bench/vegeta.py paces requests.
    """
    program, env = binary(cache_dir, "wrk")
    files = body_file if isinstance(body_file, list) else [body_file]
    env = {**env, "WRK_BODY": ":".join(map(str, files)), "WRK_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items())}
    args = [str(program), "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
            "--timeout", "10s", "-s", str(LUA), url]
    started = children_cpu_s()
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr or out.stdout}")
    return _parse(out.stdout, children_cpu_s() - started)


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children: a load generator's own cost."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _name_and_ticks(stat: str) -> tuple[str, int]:
    """A process's or thread's name and user + system clock ticks, from its /proc stat line."""
    name, _, rest = stat.partition("(")[2].rpartition(")")
    fields = rest.split()
    return name, int(fields[11]) + int(fields[12])


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a running process (all its threads) has used so far."""
    return _name_and_ticks(Path(f"/proc/{pid}/stat").read_text())[1] / os.sysconf("SC_CLK_TCK")


# A JVM names its JIT threads "C1 CompilerThread0", "C2 CompilerThread1", ... (15 characters are kept).
JIT_THREADS = ("C1 CompilerThre", "C2 CompilerThre")


def threads_cpu_s(pid: int, prefix: str | tuple[str, ...]) -> float:
    """CPU seconds used so far by the threads of ``pid`` whose name starts with ``prefix``."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        name, ticks = _name_and_ticks(stat)
        if name.startswith(prefix):
            total += ticks
    return total / os.sysconf("SC_CLK_TCK")


def warm_until_compiled(load: Callable[[], object], jvm_pid: int, rounds: int = 8,
                        settled: float = 0.05) -> list[float]:
    """Run ``load()`` until the JVM's JIT compilers take under ``settled`` of a core during
    one run, at most ``rounds`` times; returns that share for each run.

    A fresh broker compiles its hot paths for a minute or more under load, and that CPU
    is taken from the measured processes on a small machine: a measurement before this
    settles is of start-up, not of the steady state a long-running broker is in.
    """
    shares: list[float] = []
    while len(shares) < rounds and (not shares or shares[-1] >= settled):
        before, started = threads_cpu_s(jvm_pid, JIT_THREADS), time.perf_counter()
        load()
        shares.append((threads_cpu_s(jvm_pid, JIT_THREADS) - before) / (time.perf_counter() - started))
    return shares


def peak_rss_mib(pid: int) -> float:
    """The most resident memory the running process ``pid`` has had (its VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmHWM for process {pid}")


class CpuMeter:
    """CPU seconds of named processes between ``start`` and ``stop``: where the cores went."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self._start: dict[str, float] = {}

    def start(self) -> "CpuMeter":
        self._start = {name: process_cpu_s(pid) for name, pid in self.pids.items()}
        return self

    def stop(self) -> dict[str, float]:
        return {name: process_cpu_s(pid) - self._start[name] for name, pid in self.pids.items()}


def otlp_protobuf(request: dict, ignore_unknown_fields: bool = False) -> bytes:
    """An OTLP/JSON request (a dict) as the same ExportLogsServiceRequest in protobuf's binary form: ids
    from OTLP/JSON's hex to the base64 of protobuf's own JSON mapping, then parsed and serialized.
    Raises what protobuf's JSON parser (or ``bytes.fromhex``) raises for a request it cannot read."""
    import base64

    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    def ids(node):
        if isinstance(node, dict):
            return {k: base64.b64encode(bytes.fromhex(v)).decode() if k in ("traceId", "spanId") and isinstance(v, str)
                    else ids(v) for k, v in node.items()}
        return [ids(v) for v in node] if isinstance(node, list) else node
    return json_format.ParseDict(ids(request), ExportLogsServiceRequest(),
                                 ignore_unknown_fields=ignore_unknown_fields).SerializeToString()


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ascending ``ordered``, nearest rank; NaN when empty."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _parse(text: str, cpu_s: float) -> WrkResult:
    count, amount, unit = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text).groups()
    requests, seconds = int(count), float(amount) * {"s": 1, "ms": 1e-3, "m": 60}[unit]
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0
    latency = {}
    for pct, value, unit in re.findall(r"^\s+([\d.]+)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        latency[f"p{float(pct):g}"] = float(value) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit]
    timeouts = 0
    if errors := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        connect, read, write, timeouts = map(int, errors.groups())
        if connect or read or write:
            raise RuntimeError(f"wrk saw socket errors: {errors.group(0)}")
    return WrkResult(requests, seconds, non_2xx, timeouts, latency, cpu_s)
