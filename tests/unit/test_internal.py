"""The worker's internal SQL endpoint: token handling and the system-table guard."""

from __future__ import annotations

import http.server
import json
import socket
import stat
import threading

import pytest

from sluice import internal
from sluice.settings import load_settings


def test_token_is_created_once_with_owner_only_mode(tmp_path):
    settings = load_settings(environ={}, state_dir=tmp_path)
    assert internal.token(settings) == ""  # readers never create it
    first = internal.token(settings, create=True)
    assert len(first) >= 40
    assert internal.token(settings, create=True) == first
    assert stat.S_IMODE((tmp_path / "internal.token").stat().st_mode) == 0o600


def test_token_from_settings_wins(tmp_path):
    settings = load_settings(environ={"SLUICE_INTERNAL_TOKEN": "t" * 43}, state_dir=tmp_path)
    assert internal.token(settings, create=True) == "t" * 43
    assert not (tmp_path / "internal.token").exists()
    assert "t" * 43 not in repr(settings)


@pytest.mark.parametrize("header, ok", [
    ("Bearer secret-token", True),
    ("bearer secret-token", True),
    ("Bearer secret-toke", False),
    ("Bearer secret-token2", False),
    ("Basic secret-token", False),
    ("secret-token", False),
    ("", False),
    (None, False),
])
def test_authorized(header, ok):
    assert internal.authorized(header, "secret-token") is ok


def test_no_token_authorizes_nobody():
    assert not internal.authorized("Bearer ", "")


@pytest.mark.parametrize("sql", [
    "SELECT count() FROM sluice.logs",
    "SELECT name, total_bytes FROM system.tables WHERE database = 'sluice'",
    "SELECT sum(bytes_on_disk) FROM system . parts",
    "SELECT * FROM system.one",
])
def test_allowed_statements(sql):
    internal.check(sql)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM system.users",
    "SELECT query FROM system.query_log",
    "SELECT * FROM SYSTEM.settings_profiles",
    "SELECT * FROM system.`grants`",
])
def test_refused_system_tables(sql):
    with pytest.raises(internal.Refused, match="not readable here"):
        internal.check(sql)


class _Worker(http.server.BaseHTTPRequestHandler):
    """Answers /internal/sql like the worker: JSON rows, or a refusal; counts its connections."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the worker's aiohttp server
    connections: list[int] = []
    drop_after_answer = False

    def setup(self):
        super().setup()
        type(self).connections.append(self.client_address[1])

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, answer = ((400, {"error": "Syntax error: failed at position 1"}) if request["sql"] == "BAD"
                          else (200, {"columns": ["x"], "rows": [[request["sql"]]]}))
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        # An idle connection the worker closes without saying so beforehand (its keep-alive timeout).
        self.close_connection = type(self).drop_after_answer

    def log_message(self, *args):
        pass


@pytest.fixture
def worker(tmp_path):
    handler = type("Worker", (_Worker,), {"connections": [], "drop_after_answer": False})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = load_settings(environ={"SLUICE_INTERNAL_TOKEN": "t" * 43}, state_dir=tmp_path,
                             worker_host="127.0.0.1", worker_port=server.server_address[1])
    yield settings, handler
    server.shutdown()
    server.server_close()


def test_a_thread_sends_its_queries_over_one_kept_connection(worker):
    settings, handler = worker
    answers = [internal.query(settings, {"sql": f"SELECT {n}"})["rows"] for n in range(3)]
    assert answers == [[["SELECT 0"]], [["SELECT 1"]], [["SELECT 2"]]]
    assert len(handler.connections) == 1


def test_a_connection_the_worker_closed_is_replaced_and_the_query_sent_once_more(worker):
    settings, handler = worker
    handler.drop_after_answer = True
    assert internal.query(settings, {"sql": "SELECT 1"})["rows"] == [["SELECT 1"]]
    assert internal.query(settings, {"sql": "SELECT 2"})["rows"] == [["SELECT 2"]]
    assert len(handler.connections) == 2


def test_a_refusal_raises_with_the_workers_message_and_keeps_the_connection(worker):
    settings, handler = worker
    with pytest.raises(internal.InternalError) as refused:
        internal.query(settings, {"sql": "BAD"})
    assert (refused.value.status, str(refused.value)) == (400, "Syntax error: failed at position 1")
    assert internal.query(settings, {"sql": "SELECT 1"})["rows"] == [["SELECT 1"]]
    assert len(handler.connections) == 1


def test_no_worker_listening_is_an_os_error(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(environ={}, state_dir=tmp_path, worker_host="127.0.0.1", worker_port=port)
    with pytest.raises(OSError):
        internal.query(settings, {"sql": "SELECT 1"})
