"""HTTPS on the gateway and TLS on the Logstash listener, from one certificate pair reloaded while serving."""

from __future__ import annotations

import json
import socket
import ssl

import pytest

from tests import support
from tests.certs import Authority, install
from tests.support import post, sql, wait_for

pytestmark = pytest.mark.integration


def served(address: tuple[str, int], ca: Authority) -> bytes:
    """The certificate a new TLS connection to ``address`` is shown (DER); verified against the test CA."""
    context = ssl.create_default_context(cafile=str(ca.cert_file))
    with socket.create_connection(address, timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
        return conn.getpeercert(binary_form=True)


def test_https_and_logstash_tls_serve_the_pair_and_follow_it_when_replaced(broker, make_sluice, tmp_path,
                                                                            monkeypatch):
    ca = Authority(tmp_path)
    first, second = ca.issue(), ca.issue()
    cert_file, key_file = tmp_path / "tls.crt", tmp_path / "tls.key"
    install(first, cert_file, key_file)
    # The harness's own HTTP calls (start-up probe, post, /metrics) trust the test CA as a client would.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert_file))
    sluice = make_sluice(broker.config.bootstrap, tls_cert_file=str(cert_file), tls_key_file=str(key_file),
                         tls_reload_check_s=0.5)
    s = sluice.settings
    gateway, logstash = (s.gateway_host, s.gateway_port), (s.logstash_host, s.logstash_tcp_port)
    assert sluice.url("/v1/logs/ingest").startswith("https://")
    headers = {"Authorization": f"Bearer {sluice.key}", "Content-Type": "application/json"}

    def ingest(message: str) -> int:
        body = {"logs": [{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": message}]}
        return post(sluice.url("/v1/logs/ingest"), body, headers)[0]

    def send_over_tls(message: str) -> None:
        context = ssl.create_default_context(cafile=str(ca.cert_file))
        with socket.create_connection(logstash, timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
            conn.sendall(json.dumps({"message": message, "sluice_token": sluice.key}).encode() + b"\n")

    def stored(message: str) -> bool:
        return sql(s, f"SELECT count() FROM sluice.logs WHERE Body = '{message}'")[0][0] == 1

    assert served(gateway, ca) == first.der and served(logstash, ca) == first.der
    assert ingest("over https") == 202
    send_over_tls("logstash over tls")

    # Plain HTTP on the HTTPS port gets no answer: the port speaks TLS only.
    with pytest.raises(OSError):
        post(f"http://{s.gateway_host}:{s.gateway_port}/v1/logs/ingest", b"{}", headers, timeout=5)

    install(second, cert_file, key_file)
    wait_for(lambda: served(gateway, ca) == second.der, 30, what="the gateway serving the new certificate")
    wait_for(lambda: served(logstash, ca) == second.der, 30, what="the listener serving the new certificate")
    assert ingest("after the reload") == 202
    send_over_tls("logstash after the reload")

    for message in ("over https", "logstash over tls", "after the reload", "logstash after the reload"):
        wait_for(lambda: stored(message), 60, what=f"{message!r} stored")
    for listener in ("gateway", "logstash"):
        sample = f'sluice_tls_reloads_total{{listener="{listener}",outcome="loaded"}}'
        assert support.metric(s.gateway_url, sample) == 1
