"""What every benchmark needs: a broker, a provisioned Sluice, an HTTP load generator."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NoReturn

import aiohttp
import pyarrow as pa

from bench.report import write
from schemas.registry import TenantRecord
from sluice import registry as registry_topic
from sluice import secrets
from sluice.local import kafka as local
from sluice.kafka.clients import ensure_topics
from sluice.keys import new_key, now_iso
from sluice.settings import Settings, load_settings
from sluice.local.harness import Process, free_port, sql
from workers.batches import Batch, Pending
from workers.records import rows_of
from workers.sink import split


@dataclass
class Bench:
    settings: Settings
    tmp: Path
    key: str  # slk_ key of tenant "bench"
    logflux_key: str  # lf_ key of tenant "bench"
    probe_key: str  # slk_ key of tenant "probe": freshness probes, apart from the load's rows
    registry: tuple  # what was published to the registry: the tenants and their keys' records

    def rows(self, tenant: str = "bench", table: str = "logs") -> int:
        return sql(self.settings, f"SELECT count() FROM sluice.{table} WHERE TenantId = '{tenant}'")[0][0]

    def wait_rows(self, n: int, tenant: str = "bench", table: str = "logs", timeout_s: float = 600) -> None:
        self.settled(n, quiet_s=0, timeout_s=timeout_s, tenant=tenant, table=table)

    def settled(self, at_least: int, quiet_s: float = 3.0, timeout_s: float = 900, tenant: str = "bench",
                table: str = "logs") -> tuple[int, float]:
        """Wait until ``at_least`` rows are stored and no more arrive for ``quiet_s``: (rows, time of the last).

        The time is ``time.perf_counter()`` when the count last grew, so a
        throughput measured up to it leaves the quiet wait out.
        """
        deadline = time.monotonic() + timeout_s
        rows, changed = self.rows(tenant, table), time.perf_counter()
        while rows < at_least or time.perf_counter() - changed < quiet_s:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {rows} of {at_least} rows after {timeout_s}s")
            time.sleep(0.05)
            now_rows = self.rows(tenant, table)
            if now_rows != rows:
                rows, changed = now_rows, time.perf_counter()
        return rows, changed

    def merges_settled(self, quiet_s: float = 3.0, timeout_s: float = 600, poll_s: float = 0.2) -> float:
        """Wait until the engine runs no merge and the count of active ``logs`` parts held still for
        ``quiet_s``; the seconds that took. A phase started after it does not pay for the merges
        the phase before it left behind."""
        began = time.perf_counter()
        deadline = began + timeout_s
        query = ("SELECT (SELECT count() FROM system.merges), "
                 "(SELECT count() FROM system.parts WHERE active AND database = 'sluice' AND table = 'logs')")
        state, changed = None, began
        while True:
            now_state = tuple(sql(self.settings, query)[0])
            now = time.perf_counter()
            if now_state != state or now_state[0]:
                state, changed = now_state, now
            elif now - changed >= quiet_s:
                return changed - began
            if now > deadline:
                raise TimeoutError(f"merges still running after {timeout_s}s: {now_state}")
            time.sleep(poll_s)


@contextlib.contextmanager
def broker() -> Iterator[tuple[local.LocalBroker, Path]]:
    tmp = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    base = load_settings({})
    config = local.BrokerConfig(state_dir=tmp / "kafka", port=free_port(), controller_port=free_port())
    b = local.LocalBroker(config, local.fetch(base.cache_dir, base.kafka_version))
    b.start()
    try:
        yield b, tmp
    finally:
        b.stop()
        # The broker's log and the engine's parts of a run: gigabytes each, of use to no later run.
        shutil.rmtree(tmp, ignore_errors=True)


def body_files(directory: Path, bodies: list[bytes], prefix: str = "body") -> list[Path]:
    """``bodies`` written one a file under ``directory`` (made if missing), in order, named ``prefix-i``:
    wrk's load sends them in turn."""
    directory.mkdir(parents=True, exist_ok=True)
    files = [directory / f"{prefix}-{i}" for i in range(len(bodies))]
    for path, body in zip(files, bodies):
        path.write_bytes(body)
    return files


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set NAME=VALUE``, repeatable: a Sluice setting for one benchmark run (``setting_overrides``)."""
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a Sluice setting for this run (e.g. batch_max_bytes=33554432); repeatable")


def setting_overrides(items: list[str], parser: argparse.ArgumentParser | None = None) -> dict[str, str]:
    """A benchmark's ``--set NAME=VALUE`` options as settings overrides, checked as ``load_settings`` checks
    them (the name is a setting, the value parses as its type). One that is not: ValueError naming it, or
    ``parser``'s usage error (exit 2) when given, so a run refuses it before it starts anything."""
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            _refuse(f"--set {item!r}: expected NAME=VALUE, e.g. consumer_fetch_bytes=16777216", parser)
        overrides[name.strip()] = value
    try:
        load_settings({}, **overrides)
    except ValueError as exc:
        _refuse(f"--set: {exc}", parser)
    return overrides


def _refuse(message: str, parser: argparse.ArgumentParser | None) -> NoReturn:
    if parser is not None:
        parser.error(message)
    raise ValueError(message)


def provision(bootstrap: str, tmp: Path, secret: bytes | None = None, **overrides) -> Bench:
    values = dict(state_dir=tmp / "sluice", kafka_bootstrap=bootstrap, local_broker=False, gateway_port=free_port(),
                  worker_port=free_port(), logstash_tcp_port=0, logstash_udp_port=0)
    settings = load_settings({}, **{**values, **overrides})
    key, record = new_key("bench")
    lf_key, lf_record = new_key("bench", prefix="lf_")
    probe_key, probe_record = new_key("probe")
    registry = (TenantRecord("bench", now_iso(), tier="unlimited"), record, lf_record,
                TenantRecord("probe", now_iso(), tier="unlimited"), probe_record)

    async def go():
        await ensure_topics(settings)
        await registry_topic.publish(settings, *registry)
        if secret is not None:
            await secrets.add(settings, "bench", secret)

    asyncio.run(go())
    return Bench(settings, tmp, key, lf_key, probe_key, registry)


@contextlib.contextmanager
def processes(bench: Bench, *roles: str, settings: Settings | None = None) -> Iterator[list[Process]]:
    """Start one child per role (a role may repeat: gateway replicas share the port); stop them all after."""
    started = []
    try:
        for role in roles:
            started.append(Process(settings or bench.settings, role, bench.tmp).start())
        yield started
    finally:
        for p in reversed(started):
            p.stop()


async def send_all(url: str, headers: dict[str, str], bodies: list[bytes], concurrency: int,
                   expect: int) -> float:
    """POST every body over ``concurrency`` connections; seconds taken. Any other status than ``expect`` fails."""
    queue = list(bodies)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        started = time.perf_counter()

        async def lane():
            while queue:
                body = queue.pop()
                async with session.post(url, data=body, headers=headers) as resp:
                    if resp.status != expect:
                        raise RuntimeError(f"gateway answered {resp.status}: {await resp.text()}")

        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return time.perf_counter() - started


def tables_of(messages: list[bytes], headers, max_rows: int) -> list[pa.Table]:
    """The worker's chain without Kafka: one insertable table per ``max_rows`` rows."""
    out, items, rows = [], [], 0
    for offset, value in enumerate(messages):
        outcome = rows_of(value, headers, time.time_ns())
        items.append(Pending(offset, outcome.rows, None))
        rows += len(outcome.rows)
        if rows >= max_rows or offset == len(messages) - 1:
            out.append(split(Batch("t", 0, items[0].offset, offset, items, replay=False))[0])
            items, rows = [], 0
    return out


def machine() -> dict:
    """What the figures were measured on: they compare across runs of one machine, ratios across machines."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cores": os.cpu_count(), "memory_gib": round(memory / 2**30, 1), "cpu": model,
            "python": platform.python_version()}


def report(results: dict, json_path: Path | None, title: str = "Sluice benchmark") -> None:
    """Print the figures; with ``json_path``, also write them there and as Markdown beside it."""
    write(title, results, json_path, json_path.with_suffix(".md") if json_path else None)
