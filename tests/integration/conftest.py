"""A whole Sluice (gateway and worker processes) per test, on the session's real broker."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, fields

import pytest

from schemas.registry import TenantRecord
from sluice import registry as registry_topic
from sluice.kafka.clients import ensure_topics
from sluice.local import kafka as local
from sluice.keys import new_key, now_iso
from sluice.settings import Settings, load_settings
from sluice.storage import Storage, migrate
from tests.support import Process, free_port


def pipeline_settings(bootstrap: str, state_dir, **overrides) -> Settings:
    uid = uuid.uuid4().hex[:8]
    values = dict(
        state_dir=state_dir,
        kafka_bootstrap=bootstrap,
        local_broker=False,
        ingest_topic=f"ingest-{uid}",
        registry_topic=f"registry-{uid}",
        native_topic=f"records-{uid}",
        dlq_topic=f"dlq-{uid}",
        secrets_topic=f"secrets-{uid}",
        slow_topic=f"slow-{uid}",
        overflow_topic=f"overflow-{uid}",
        worker_group=f"workers-{uid}",
        gateway_port=free_port(),
        worker_port=free_port(),
        logstash_tcp_port=free_port(),
        logstash_udp_port=free_port(),
        batch_max_wait_s=0.3,
        kafka_session_timeout_s=6.0,
        publish_timeout_s=3.0,
        retry_after_s=2,
    )
    values.update(overrides)
    settings = load_settings(environ={}, **values)
    # Tests share one broker: a topic left at its default would leak records between tests.
    shared = [f.name for f in fields(Settings) if f.name.endswith("_topic") and getattr(settings, f.name) == f.default]
    assert not shared, f"give these topics per-test names: {shared}"
    return settings


@dataclass
class Sluice:
    settings: Settings
    key: str
    worker: Process
    gateway: Process

    def url(self, path: str) -> str:
        return self.settings.gateway_url + path


def provision(settings: Settings, tenant: str = "acme") -> str:
    """Topics, a tenant and a key; returns the key."""
    key, record = new_key(tenant)

    async def go():
        await ensure_topics(settings)
        await registry_topic.publish(settings, TenantRecord(tenant, now_iso()), record)

    asyncio.run(go())
    return key


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with the last lines its gateway and worker logged: a failure
    seen only in CI can then be read from CI's output."""
    outcome = yield
    report = outcome.get_result()
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    if report.when != "call" or not report.failed or tmp_path is None:
        return
    for log in sorted(tmp_path.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-40:]
        report.sections.append((f"{log.name} (last {len(tail)} lines)", "\n".join(tail)))


@pytest.fixture
def make_sluice(tmp_path):
    started: list[Sluice] = []

    def make(bootstrap: str, **overrides) -> Sluice:
        settings = pipeline_settings(bootstrap, tmp_path / f"state{len(started)}", **overrides)
        key = provision(settings)
        worker = Process(settings, "worker", tmp_path).start()
        gateway = Process(settings, "gateway", tmp_path).start()
        s = Sluice(settings, key, worker, gateway)
        started.append(s)
        return s

    yield make
    for s in started:
        s.gateway.stop()
        s.worker.stop()


@pytest.fixture
def own_broker(tmp_path_factory):
    """A broker of the test's own, for tests that stop, kill or freeze it. Request it before
    ``make_sluice``: fixtures are torn down in reverse, so the processes stop first."""
    base = load_settings(environ={})
    config = local.BrokerConfig(state_dir=tmp_path_factory.mktemp("kafka-own"), port=free_port(),
                                controller_port=free_port())
    broker = local.LocalBroker(config, local.fetch(base.cache_dir, base.kafka_version))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def storage(tmp_path_factory):
    """The embedded ClickHouse engine of this test process: chDB allows one per
    process, so every in-process test shares it."""
    settings = load_settings(environ={}, state_dir=tmp_path_factory.mktemp("chdb"), insert_retry_max_backoff_s=0.05)
    s = Storage(settings)
    s.run_sync(migrate, settings)
    yield s
    s.close()


@pytest.fixture
def sluice(broker, make_sluice) -> Sluice:
    return make_sluice(broker.config.bootstrap)
