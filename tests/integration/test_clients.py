"""Real client libraries against a running Sluice: python-logstash over TCP and UDP, the
OpenTelemetry SDK's OTLP/HTTP log exporter; and the TCP listener's bounds (a 10 MB line,
a client cut off mid-line, a stalled broker)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time

import pytest

from tests.integration.test_logstash import metric
from tests.support import sql, wait_for

pytestmark = pytest.mark.integration


def test_python_logstash_handlers_over_tcp_and_udp(sluice):
    import logstash

    s = sluice.settings
    logger = logging.getLogger("shop.checkout")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    tcp = logstash.TCPLogstashHandler(s.logstash_host, s.logstash_tcp_port, version=1, tags=["web"])
    udp = logstash.UDPLogstashHandler(s.logstash_host, s.logstash_udp_port, version=1)
    try:
        logger.addHandler(tcp)
        for i in range(20):
            logger.error("payment %d declined", i, extra={"sluice_token": sluice.key, "order_id": f"o-{i}"})
        logger.removeHandler(tcp)
        logger.addHandler(udp)
        for i in range(5):
            logger.warning("udp %d", i, extra={"sluice_token": sluice.key})
    finally:
        logger.removeHandler(udp)
        tcp.close()
        udp.close()
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Source = 'logstash'")[0][0] == 25, 30,
             what="every event from the handlers")
    row = sql(s, "SELECT SeverityText, SeverityNumber, ScopeName, ResourceAttributes['host.name'], "
                 "LogAttributes['order_id'], LogAttributes['tags'], mapContains(LogAttributes, 'sluice_token') "
                 "FROM sluice.logs WHERE Body = 'payment 7 declined'")
    assert row == [["ERROR", 17, "shop.checkout", socket.gethostname(), "o-7", '["web"]', False]]
    assert sql(s, "SELECT count() FROM sluice.logs WHERE startsWith(Body, 'udp ') AND SeverityNumber = 13") == [[5]]


def test_opentelemetry_sdk_otlp_http_exporter(sluice):
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    provider = LoggerProvider(resource=Resource.create({"service.name": "checkout", "deployment.environment": "prod"}))
    exporter = OTLPLogExporter(endpoint=sluice.url("/v1/logs"), headers={"Authorization": f"Bearer {sluice.key}"})
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logger = logging.getLogger("otel.checkout")
    logger.propagate = False
    handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    logger.addHandler(handler)
    try:
        for i in range(30):
            logger.warning("cart %d abandoned", i, extra={"cart.items": i})
        assert provider.force_flush(10_000)
    finally:
        logger.removeHandler(handler)
        provider.shutdown()
    s = sluice.settings
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Source = 'otlp'")[0][0] == 30, 30,
             what="every exported record")
    row = sql(s, "SELECT ServiceName, SeverityText, SeverityNumber, ScopeName, "
                 "ResourceAttributes['deployment.environment'], LogAttributes['cart.items'] "
                 "FROM sluice.logs WHERE Body = 'cart 4 abandoned'")
    assert row == [["checkout", "WARN", 13, "otel.checkout", "prod", "4"]]


def test_a_10_mb_line_and_a_cut_off_client_lose_only_themselves(sluice):
    s = sluice.settings
    event = lambda message: json.dumps({"message": message, "sluice_token": sluice.key}).encode() + b"\n"  # noqa: E731
    with socket.create_connection((s.logstash_host, s.logstash_tcp_port)) as conn:
        conn.sendall(event("before the big line"))
        conn.sendall(b'{"message": "' + b"x" * (10 * 1024 * 1024) + b'"}\n')
        conn.sendall(event("after the big line"))
    with socket.create_connection((s.logstash_host, s.logstash_tcp_port)) as conn:
        conn.sendall(event("complete line"))
        conn.sendall(b'{"message": "cut off mid-li')  # and the connection closes
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Source = 'logstash'")[0][0] == 3, 30,
             what="the three whole events")
    bodies = {r[0] for r in sql(s, "SELECT Body FROM sluice.logs WHERE TenantId != ''")}
    assert bodies == {"before the big line", "after the big line", "complete line"}
    assert metric(sluice, 'sluice_listener_events_total{outcome="too_long",transport="tcp"}') == 1
    assert metric(sluice, 'sluice_listener_events_total{outcome="bad_json",transport="tcp"}') == 1


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_stalled_broker_stops_the_reader_instead_of_filling_memory(own_broker, make_sluice):
    broker = own_broker
    sluice = make_sluice(broker.config.bootstrap)
    s = sluice.settings
    pad = "p" * 900
    lines = [json.dumps({"message": f"stall {i}", "pad": pad, "sluice_token": sluice.key}).encode() + b"\n"
             for i in range(60_000)]  # about 57 MB
    sent = {"bytes": 0}

    def send() -> None:
        with socket.create_connection((s.logstash_host, s.logstash_tcp_port)) as conn:
            for start in range(0, len(lines), 100):
                chunk = b"".join(lines[start:start + 100])
                conn.sendall(chunk)
                sent["bytes"] += len(chunk)

    gateway_pid = sluice.gateway.proc.pid
    baseline = rss_mib(gateway_pid)
    os.kill(broker.running_pid(), signal.SIGSTOP)
    sender = threading.Thread(target=send, daemon=True)
    try:
        sender.start()
        time.sleep(12)
        stalled_rss, stalled_sent = rss_mib(gateway_pid), sent["bytes"]
    finally:
        os.kill(broker.running_pid(), signal.SIGCONT)
    total = sum(map(len, lines))
    assert stalled_sent < total / 2, "the client was not held back"
    assert stalled_rss - baseline < 64, f"gateway grew {stalled_rss - baseline:.0f} MiB while Kafka stalled"
    sender.join(180)
    assert not sender.is_alive()
    stored = lambda: sql(s, "SELECT uniqExact(Body) FROM sluice.logs WHERE TenantId != ''")[0][0]  # noqa: E731
    try:
        wait_for(lambda: stored() == len(lines), 180, 1, what="every event stored after the stall")
    except AssertionError:
        raise AssertionError(f"{stored()} of {len(lines)} events stored 180 s after the stall") from None
