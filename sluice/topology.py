"""``sluice up``: the whole pipeline on one machine.

Processes: the Kafka broker (JVM), one gateway process and one worker
process. The worker owns the embedded ClickHouse engine, since chDB allows one
engine per data directory and the worker is the one that writes; everything
else reads through it. Two Python processes keep both cores busy: the gateway
parses and publishes while the worker normalizes and inserts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

from sluice import registry as registry_topic
from sluice import redis_local, secrets
from sluice.kafka import local
from sluice.kafka.clients import ensure_topics
from sluice.keys import new_key, now_iso
from sluice.settings import Secret, Settings
from schemas.registry import TenantRecord


def broker_for(settings: Settings) -> local.LocalBroker:
    port = int(settings.kafka_bootstrap.rsplit(":", 1)[1])
    config = local.BrokerConfig(
        state_dir=settings.state_dir / "kafka",
        port=port,
        controller_port=settings.local_broker_controller_port,
        partitions=settings.topic_partitions,
        max_record_bytes=settings.max_record_bytes,
    )
    return local.LocalBroker(config, local.fetch(settings.cache_dir, settings.kafka_version))


def redis_for(settings: Settings) -> redis_local.LocalRedis:
    home = redis_local.fetch(settings.cache_dir)
    return redis_local.LocalRedis(home, settings.local_redis_port, settings.state_dir / "redis")


@dataclass(frozen=True)
class DevCredentials:
    key: str  # for AstraLog, LogTrace, LogInformant
    logflux_key: str  # LogFlux requires the lf_ prefix
    logflux_secret: str  # the tenant's encryption secret


async def bootstrap_dev_tenant(settings: Settings) -> DevCredentials | None:
    """On a registry without tenants, create tenant ``dev`` with keys and a LogFlux secret."""
    current = await registry_topic.load_registry(settings)
    if current.tenants:
        return None
    key, record = new_key("dev")
    lf_key, lf_record = new_key("dev", prefix="lf_")
    await registry_topic.publish(settings, TenantRecord("dev", now_iso()), record, lf_record)
    secret = secrets.generate()
    await secrets.add(settings, "dev", secret.encode())
    return DevCredentials(key, lf_key, secret)


def _spawn(settings: Settings, role: str) -> subprocess.Popen:
    env = {**os.environ, **settings.to_env()}
    return subprocess.Popen([sys.executable, "-m", "sluice", role], env=env)


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url} process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f}s")


def stop_process(proc: subprocess.Popen, timeout_s: float) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def up(settings: Settings) -> int:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    broker = broker_for(settings) if settings.local_broker else None
    if broker:
        print(f"sluice: starting Kafka {settings.kafka_version} on {settings.kafka_bootstrap}", file=sys.stderr)
        broker.start()
    asyncio.run(ensure_topics(settings))
    redis = None
    if settings.gateway_processes > 1 and settings.rate_limits and not settings.rate_limit_redis_url:
        redis = redis_for(settings)
        print(f"sluice: starting Redis on {redis.url} for {settings.gateway_processes} gateways' rate limits",
              file=sys.stderr)
        redis.start()
        settings = settings.replace(rate_limit_redis_url=Secret(redis.url))
    worker = _spawn(settings, "worker")
    gateways = [_spawn(settings, "gateway") for _ in range(settings.gateway_processes)]
    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for gateway in gateways:
            wait_http(settings.gateway_url + "/health", 60, gateway)
        wait_http(settings.worker_url + "/health", 120, worker)
        dev = asyncio.run(bootstrap_dev_tenant(settings))
        _banner(settings, dev)
        while not stopping and worker.poll() is None and all(g.poll() is None for g in gateways):
            time.sleep(0.5)
    finally:
        print("sluice: stopping ...", file=sys.stderr)
        # Gateways first, so nothing new is accepted, then the worker flushes and commits.
        for gateway in gateways:
            stop_process(gateway, 30)
        stop_process(worker, 60)
        if redis:
            redis.stop()
        if broker:
            broker.stop()
    return 0 if stopping else 1


def _banner(settings: Settings, dev: DevCredentials | None) -> None:
    url = settings.gateway_url
    key_line = (f"  dev API key (tenant dev): {dev.key}\n"
                f"  LogFlux key: {dev.logflux_key}   LogFlux encryption secret: {dev.logflux_secret}\n"
                if dev else "  create a key with: sluice keys create --tenant dev\n")
    print(
        "\nSluice is running.\n"
        f"{key_line}"
        f"  AstraLog      POST {url}/v1/drain            Authorization: <key>\n"
        f"  LogTrace      POST {url}/v1/logs/ingest      Authorization: Bearer <key>\n"
        f"  LogInformant  POST {url}/api/ingest[/batch]  X-API-Key: <key>\n"
        f"  LogFlux       POST {url}/v1/ingest, /v1/batch Authorization: Bearer <lf_ key>\n"
        f"  OTLP/HTTP     POST {url}/v1/logs               Authorization: Bearer <key>\n"
        f"  Logstash      tcp/udp {settings.logstash_host}:{settings.logstash_tcp_port} json_lines, \"sluice_token\": <key>\n"
        f"  Profound      POST {url}/v1/logs/custom        x-api-key: <key>\n"
        f"  metrics       {url}/metrics  {settings.worker_url}/metrics\n"
        f"  search        sluice query 'level:ERROR' --from -1h    (or POST {url}/v1/logs/query)\n"
        f"  SQL           sluice sql \"SELECT count() FROM {settings.clickhouse_database}.logs\"\n"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
