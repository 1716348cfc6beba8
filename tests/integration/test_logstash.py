"""Logstash json_lines over TCP and UDP, end to end."""

from __future__ import annotations

import json
import socket

import pytest

from tests import support
from tests.support import sql, wait_for

pytestmark = pytest.mark.integration


def metric(sluice, sample: str) -> float:
    return support.metric(sluice.settings.gateway_url, sample)


def test_tcp_and_udp_events_are_stored_and_bad_ones_counted(sluice):
    s = sluice.settings
    good = [{"@timestamp": "2026-11-23T10:00:00.250Z", "@version": "1", "message": f"tcp {i}", "levelname": "ERROR",
             "logger_name": "app.db", "host": {"name": "web-1"}, "tags": ["a", "b"], "user_id": i,
             "sluice_token": sluice.key} for i in range(3)]
    with socket.create_connection((s.logstash_host, s.logstash_tcp_port)) as conn:
        conn.sendall(b"".join(json.dumps(e).encode() + b"\n" for e in good))
        conn.sendall(json.dumps({"message": "no token"}).encode() + b"\n")
        conn.sendall(b"not json\n")
        conn.sendall(b"x" * (s.logstash_max_line_bytes + 10) + b"\n")
        conn.sendall(json.dumps({"message": "after the long line", "sluice_token": sluice.key}).encode() + b"\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(json.dumps({"message": "udp", "level": "warn", "sluice_token": sluice.key}).encode(),
                   (s.logstash_host, s.logstash_udp_port))
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Source = 'logstash'")[0][0] == 5, 30,
             what="logstash rows")
    row = sql(s, "SELECT toString(Timestamp), SeverityNumber, ScopeName, ResourceAttributes['host.name'], "
                 "LogAttributes['tags'], LogAttributes['user_id'], mapContains(LogAttributes, 'sluice_token') "
                 "FROM sluice.logs WHERE Body = 'tcp 1'")
    assert row == [["2026-11-23 10:00:00.250000000", 17, "app.db", "web-1", '["a","b"]', "1", False]]
    assert sql(s, "SELECT SeverityNumber FROM sluice.logs WHERE Body = 'udp'") == [[13]]
    assert metric(sluice, 'sluice_listener_events_total{outcome="bad_token",transport="tcp"}') == 1
    assert metric(sluice, 'sluice_listener_events_total{outcome="bad_json",transport="tcp"}') == 1
    assert metric(sluice, 'sluice_listener_events_total{outcome="too_long",transport="tcp"}') == 1
    assert metric(sluice, 'sluice_listener_events_total{outcome="accepted",transport="tcp"}') == 4


def test_a_connection_sending_only_bad_tokens_is_closed(sluice):
    s = sluice.settings
    with socket.create_connection((s.logstash_host, s.logstash_tcp_port), timeout=10) as conn:
        bad = json.dumps({"message": "x", "sluice_token": "wrong"}).encode() + b"\n"
        conn.sendall(bad * 150)
        conn.settimeout(10)
        assert conn.recv(1) == b""  # closed by the listener


def test_tcp_over_tls(broker, make_sluice, tmp_path):
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    sluice = make_sluice(broker.config.bootstrap, logstash_tls_cert=str(tmp_path / "cert.pem"),
                         logstash_tls_key=str(tmp_path / "key.pem"))
    s = sluice.settings
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    with socket.create_connection((s.logstash_host, s.logstash_tcp_port)) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
            conn.sendall(json.dumps({"message": "over tls", "sluice_token": sluice.key}).encode() + b"\n")
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Body = 'over tls'")[0][0] == 1, 30, what="tls row")


def test_tcp_connections_are_capped_idle_ones_closed_and_unauthenticated_ones_kept_small(broker, make_sluice):
    sluice = make_sluice(broker.config.bootstrap, logstash_max_connections=2, logstash_idle_timeout_s=3.0,
                         logstash_unauthenticated_bytes=1024)
    s = sluice.settings
    address = (s.logstash_host, s.logstash_tcp_port)

    def closed(reason: str) -> float:
        return metric(sluice, f'sluice_listener_connections_closed_total{{reason="{reason}",transport="tcp"}}')

    def event(message: str) -> bytes:
        return json.dumps({"message": message, "sluice_token": sluice.key}).encode() + b"\n"

    first, second = (socket.create_connection(address, timeout=30) for _ in range(2))
    try:
        first.sendall(event("cap-1"))
        second.sendall(event("cap-2"))
        wait_for(lambda: metric(sluice, "sluice_listener_connections_open") == 2, 10, what="two connections served")
        with socket.create_connection(address, timeout=30) as third:
            assert third.recv(1) == b""  # closed at once
        assert closed("too_many_connections") == 1
        # Both held connections fall silent and are closed as idle; their events were stored.
        assert first.recv(1) == b"" and second.recv(1) == b""
        assert closed("idle") == 2
    finally:
        first.close()
        second.close()
    with socket.create_connection(address, timeout=30) as conn:
        conn.sendall(b'{"message": "' + b"x" * 5000)  # no token yet, and no end of line in sight
        assert conn.recv(1) == b""
    assert closed("unauthenticated_too_long") == 1
    with socket.create_connection(address, timeout=30) as conn:  # a good token first: long lines are fine
        conn.sendall(event("token-first") + event("long " + "y" * 5000))
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Body LIKE 'cap-%' OR Body = 'token-first' "
                            "OR Body LIKE 'long y%'")[0][0] == 4, 30, what="the served connections' rows")
