"""Shared fixtures. Integration tests get one real Kafka broker per test session."""

from __future__ import annotations

import pytest

from sluice.local import kafka as local
from sluice.settings import load_settings
from tests.support import free_port


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """A real Kafka broker on free loopback ports, in a state directory of its own."""
    base = load_settings(environ={})
    libs = local.fetch(base.cache_dir, base.kafka_version)
    config = local.BrokerConfig(
        state_dir=tmp_path_factory.mktemp("kafka"),
        port=free_port(),
        controller_port=free_port(),
        partitions=4,
    )
    b = local.LocalBroker(config, libs)
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real Redis server (Debian's package, unpacked by sluice.local.redis) on a free port."""
    from sluice.local import redis as redis_local

    base = load_settings(environ={})
    server = redis_local.LocalRedis(redis_local.fetch(base.cache_dir), free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
