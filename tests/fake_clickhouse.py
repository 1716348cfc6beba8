"""A stand-in for a ClickHouse server's HTTP interface, enough for clickhouse-connect.

No ClickHouse server runs on the test machines, so this process answers the
HTTP interface itself: the statement (``query`` URL parameter and/or the body),
``param_<name>`` parameters and a trailing ``FORMAT <name>`` are handed to an
chDB engine kept in ``--path``, whose answer goes back in that format (clickhouse-connect
asks for Native). Other settings in the URL are ignored.

What it imitates of the server's sessions: a request whose ``session_id`` is
already in use by a request in progress is answered as the server does,
HTTP 500 with ``X-ClickHouse-Exception-Code: 373`` (SESSION_IS_LOCKED). Each
request holds its session for ``--hold`` seconds before the engine runs it,
so that requests which overlap in a real server overlap here too.

Run as ``python -m tests.fake_clickhouse --path DIR [--hold S]``; it prints its port, then serves
until killed. It counts answers by kind on ``GET /stats`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

_FORMAT = re.compile(r"\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE)


class Engine:
    """One chDB connection, one statement at a time; sessions in use; answer counts."""

    def __init__(self, path: str, hold_s: float):
        import chdb

        # A directory the caller removes: chDB's in-memory engine keeps one of its own in /tmp,
        # which outlives a process that is killed, as this one always is.
        self.conn = chdb.connect(path)
        self.lock = threading.Lock()
        self.hold_s = hold_s
        self.sessions: set[str] = set()
        self.sessions_lock = threading.Lock()
        self.stats = {"ok": 0, "session_locked": 0, "error": 0}

    def count(self, kind: str) -> None:
        with self.sessions_lock:
            self.stats[kind] += 1

    def run(self, sql: str, params: dict[str, str]) -> tuple[bytes, str]:
        match = _FORMAT.search(sql)
        fmt = match.group(1) if match else "TabSeparated"
        if match:
            sql = sql[:match.start()]
        with self.lock:
            result = self.conn.query(sql, fmt, params=params)
        return result.bytes(), fmt


def handler(engine: Engine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            if urlparse(self.path).path == "/stats":
                with engine.sessions_lock:
                    self._send(200, json.dumps(engine.stats).encode(), {"Content-Type": "application/json"})
                return
            self._answer(b"")

        def do_POST(self) -> None:
            self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _answer(self, body: bytes) -> None:
            query = dict(parse_qsl(urlparse(self.path).query))
            sql = query.get("query", "") + ("\n" if query.get("query") and body else "") + body.decode()
            params = {name[6:]: value for name, value in query.items() if name.startswith("param_")}
            session = query.get("session_id")
            if session is not None:
                with engine.sessions_lock:
                    locked = session in engine.sessions
                    if not locked:
                        engine.sessions.add(session)
                if locked:
                    engine.count("session_locked")
                    self._send(500, f"Code: 373. DB::Exception: Session {session} is locked by a concurrent "
                               "client. (SESSION_IS_LOCKED)".encode(), {"X-ClickHouse-Exception-Code": "373"})
                    return
            try:
                time.sleep(engine.hold_s)  # the statement's work, during which the session is held
                out, fmt = engine.run(sql, params)
            except Exception as exc:  # the engine's refusal, as the server words it
                engine.count("error")
                self._send(500, f"Code: 1000. DB::Exception: {exc}".encode(), {"X-ClickHouse-Exception-Code": "1000"})
                return
            finally:
                if session is not None:
                    with engine.sessions_lock:
                        engine.sessions.discard(session)
            engine.count("ok")
            self._send(200, out, {"X-ClickHouse-Format": fmt, "Content-Type": "application/octet-stream"})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", required=True, help="the engine's data directory")
    parser.add_argument("--hold", type=float, default=0.05, help="seconds each request holds its session")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(Engine(args.path, args.hold)))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
