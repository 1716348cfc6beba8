"""gateway/tls.py: a server context that follows its files, and never breaks on a bad copy."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from gateway.tls import ReloadingContext, TlsError
from sluice import metrics
from tests.certs import Authority, install


@pytest.fixture
def ca(tmp_path):
    return Authority(tmp_path)


@pytest.fixture
def files(tmp_path):
    return tmp_path / "tls.crt", tmp_path / "tls.key"


async def served(context: ssl.SSLContext, ca: Authority) -> bytes:
    """The certificate a new TLS connection to a server using ``context`` is shown (DER)."""
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    client = ssl.create_default_context(cafile=str(ca.cert_file))
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="127.0.0.1")
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        return der
    finally:
        server.close()


def reloads(outcome: str) -> float:
    return metrics.TLS_RELOADS.labels("test", outcome)._value.get()


async def test_a_changed_pair_is_served_to_new_connections(ca, files):
    first, second = ca.issue(), ca.issue()
    install(first, *files)
    tls = ReloadingContext("test", str(files[0]), str(files[1]), check_every_s=0.01)
    assert await served(tls.context, ca) == first.der
    assert tls.check() is False  # nothing changed: nothing loaded
    loaded = reloads("loaded")

    install(second, *files)
    assert tls.check() is True
    assert await served(tls.context, ca) == second.der
    assert reloads("loaded") == loaded + 1
    expiry = metrics.TLS_CERT_EXPIRY.labels("test")._value.get()
    assert expiry > 0


async def test_a_key_that_does_not_match_keeps_the_previous_pair_until_the_right_one_arrives(ca, files):
    first, second = ca.issue(), ca.issue()
    install(first, *files)
    tls = ReloadingContext("test", str(files[0]), str(files[1]))
    failed = reloads("failed")

    # Half way through a copy: the new certificate beside the old key.
    install_cert_only = files[0].with_suffix(".new")
    install_cert_only.write_bytes(second.cert_pem)
    install_cert_only.replace(files[0])
    assert tls.check() is False
    assert reloads("failed") == failed + 1
    assert await served(tls.context, ca) == first.der  # still serving, still the old pair
    assert tls.check() is False and reloads("failed") == failed + 1  # one bad copy is reported once

    install(second, *files)
    assert tls.check() is True
    assert await served(tls.context, ca) == second.der


async def test_a_missing_file_while_it_is_replaced_is_not_fatal(ca, files):
    pair = ca.issue()
    install(pair, *files)
    tls = ReloadingContext("test", str(files[0]), str(files[1]))
    files[1].unlink()
    assert tls.check() is False
    assert await served(tls.context, ca) == pair.der


async def test_watch_reloads_on_its_own(ca, files):
    first, second = ca.issue(), ca.issue()
    install(first, *files)
    tls = ReloadingContext("test", str(files[0]), str(files[1]), check_every_s=0.01)
    watch = asyncio.create_task(tls.watch())
    try:
        install(second, *files)
        async with asyncio.timeout(10):
            while await served(tls.context, ca) != second.der:
                await asyncio.sleep(0.01)
    finally:
        watch.cancel()


def test_a_key_in_the_certificate_file_is_enough(ca, tmp_path):
    pair = ca.issue()
    both = tmp_path / "both.pem"
    both.write_bytes(pair.cert_pem + pair.key_pem)
    ReloadingContext("test", str(both))


def test_an_unusable_pair_is_refused_at_start_with_the_files_named_and_no_key_material(ca, files, tmp_path):
    with pytest.raises(TlsError, match="cannot read .*tls.crt"):
        ReloadingContext("test", str(files[0]), str(files[1]))
    first, second = ca.issue(), ca.issue()
    files[0].write_bytes(first.cert_pem)
    files[1].write_bytes(second.key_pem)
    with pytest.raises(TlsError) as refused:
        ReloadingContext("test", str(files[0]), str(files[1]))
    message = str(refused.value)
    assert "tls.crt" in message and "tls.key" in message and "matching unencrypted private key" in message
    assert "PRIVATE KEY" not in message and second.key_pem.decode().splitlines()[1] not in message


def test_the_local_start_up_probe_accepts_a_gateway_whose_certificate_names_its_public_host(ca, files):
    import http.server
    import threading

    from sluice.local.topology import wait_http

    install(ca.issue("logs.example.com"), *files)
    tls = ReloadingContext("test", str(files[0]), str(files[1]))

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    server.socket = tls.context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        wait_http(f"https://127.0.0.1:{server.server_address[1]}/health", 10)  # raises when it never answers
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("settings, said", [
    ({"tls_cert_file": "{dir}/missing.crt"}, "cannot read {dir}/missing.crt"),
    ({"tls_key_file": "{dir}/tls.key"}, "set SLUICE_TLS_CERT_FILE too"),
    ({"logstash_tls_cert": "{dir}/missing.crt"}, "cannot read {dir}/missing.crt"),
    ({"logstash_tls_key": "{dir}/tls.key"}, "set SLUICE_LOGSTASH_TLS_CERT too"),
])
def test_the_gateway_refuses_to_start_with_tls_it_cannot_serve(tmp_path, capsys, settings, said):
    from gateway.server import serve
    from sluice.settings import load_settings

    values = {name: value.format(dir=tmp_path) for name, value in settings.items()}
    assert serve(load_settings({}, **values)) == 2  # before it touches Kafka or a port
    assert said.format(dir=tmp_path) in capsys.readouterr().err
