"""One chDB engine behind ClickHouse's HTTP interface, so several worker processes can share it (tests,
benchmarks), and a worker's memory can be measured apart from the engine's.

The embedded engine opens its data directory in one process only (a second
``chdb`` on the same path fails with "Cannot lock file .../status"), and no
ClickHouse server runs on the test machines. This process is that one owner:
it answers what clickhouse-connect's HTTP client sends, with the engine's own
semantics, which are what the worker's exactly-once rests on:

- an INSERT's data (the body, after the statement line when the statement
  rides in the body; decompressed per ``Content-Encoding``) goes through
  ``INSERT ... FROM INFILE`` exactly as clickhouse-connect's own chDB backend
  sends it, so ``insert_deduplication_token`` and the tables' deduplication
  window act as they do embedded;
- the URL's settings (``insert_deduplicate``, ``insert_deduplication_token``,
  ``readonly`` ...) ride as a ``SETTINGS`` clause on INSERT and SELECT, and
  ``param_<name>`` parameters as the engine's query parameters;
- a refusal is answered 500 with the engine's ``Code: N`` and the
  ``X-ClickHouse-Exception-Code`` header, so the worker tells retriable from
  permanent failures as against a server.

Statements run one at a time (one connection); sessions are not imitated.
What it cannot show: a real server's concurrency, replication, users and
limits. Run as ``python -m sluice.local.chdb_server DATA_DIR``: it prints its port,
then serves until killed; ``engine_process`` does that and stops it after.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import re
import subprocess
import sys
import tempfile
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qsl, urlparse

_FORMAT = re.compile(r"\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE)
_INSERT = re.compile(r"^\s*(INSERT\s+INTO\s+.*?)\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE | re.DOTALL)
_CODE = re.compile(r"Code: (\d+)")
_SETTING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# URL parameters of the HTTP interface that are not engine settings.
TRANSPORT = frozenset({
    "query", "database", "session_id", "session_timeout", "session_check", "query_id", "compress",
    "decompress", "enable_http_compression", "wait_end_of_query", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "default_format", "client_protocol_version", "user", "password",
    "quota_key", "role", "http_zlib_compression_level",
})


def decompress(body: bytes, encoding: str) -> bytes:
    """The body as sent before ``Content-Encoding``."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "lz4":
        import lz4.frame
        return lz4.frame.decompress(body)
    if encoding == "zstd":
        import zstandard
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "br":
        import brotli
        return brotli.decompress(body)
    raise ValueError(f"Code: 1000. unsupported Content-Encoding {encoding!r}")


def settings_clause(settings: dict[str, str]) -> str:
    parts = []
    for name, value in sorted(settings.items()):
        if not _SETTING.match(name):
            raise ValueError(f"Code: 115. DB::Exception: Unknown setting {name!r}")
        quoted = value if re.fullmatch(r"-?\d+(\.\d+)?", value) else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        parts.append(f"{name} = {quoted}")
    return " SETTINGS " + ", ".join(parts) if parts else ""


class Engine:
    """One chDB connection on ``path``, one statement at a time."""

    def __init__(self, path: str):
        import chdb

        self.conn = chdb.connect(path)
        self.lock = threading.Lock()

    def run(self, statement: str, data: bytes | None, params: dict[str, str],
            settings: dict[str, str]) -> tuple[bytes, str]:
        if data is not None:
            match = _INSERT.match(statement)
            if match is None:
                raise ValueError("Code: 62. DB::Exception: data sent with a statement that is no INSERT ... FORMAT")
            # One file an insert, gone when it is: a directory of them outlived every killed engine process.
            fd, path = tempfile.mkstemp(prefix="chdb-server-insert-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                sql = (f"{match.group(1)} FROM INFILE '{path}'{settings_clause(settings)} "
                       f"FORMAT {match.group(2)}")
                with self.lock:
                    self.conn.query(sql, "TabSeparated")
                return b"", "TabSeparated"
            finally:
                os.unlink(path)
        match = _FORMAT.search(statement)
        fmt = match.group(1) if match else "TabSeparated"
        if match:
            statement = statement[:match.start()]
        if re.match(r"^\s*(SELECT|WITH)\b", statement, re.IGNORECASE):
            statement += settings_clause(settings)
        with self.lock:
            result = self.conn.query(statement, fmt, params=params)
        return result.bytes(), fmt


def split(query: str, body: bytes) -> tuple[str, bytes | None]:
    """The statement, and the INSERT's data when the request carries some."""
    if query.strip() and body and re.match(r"^\s*INSERT\b", query, re.IGNORECASE):
        return query, body
    if not query.strip() and re.match(rb"^\s*INSERT\b", body[:64], re.IGNORECASE):
        newline = body.find(b"\n")
        statement, data = (body, b"") if newline < 0 else (body[:newline], body[newline + 1:])
        if _INSERT.match(statement.decode()):
            return statement.decode(), data
        return body.decode(), None  # INSERT ... VALUES/SELECT: all statement
    return query + ("\n" if query and body else "") + body.decode(), None


def handler(engine: Engine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            if urlparse(self.path).path == "/ping":
                self._send(200, b"Ok.\n", {"Content-Type": "text/plain"})
                return
            self._answer(b"")

        def do_POST(self) -> None:
            self._answer(self._body())

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, body: bytes) -> None:
            query = dict(parse_qsl(urlparse(self.path).query, keep_blank_values=True))
            params = {name[6:]: value for name, value in query.items() if name.startswith("param_")}
            settings = {name: value for name, value in query.items()
                        if name not in TRANSPORT and not name.startswith("param_")}
            try:
                statement, data = split(query.get("query", ""), decompress(body, self.headers.get("Content-Encoding", "")))
                out, fmt = engine.run(statement, data, params, settings)
            except Exception as exc:  # the engine's refusal, as the server words it
                message = str(exc)
                match = _CODE.search(message)
                code = match.group(1) if match else "1000"
                text = message if match else f"Code: 1000. DB::Exception: {message}"
                self._send(500, text.encode(), {"X-ClickHouse-Exception-Code": code,
                                                "Content-Type": "text/plain; charset=utf-8"})
                return
            self._send(200, out, {"X-ClickHouse-Format": fmt, "Content-Type": "application/octet-stream"})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client killed mid-request (the failover tests SIGKILL workers) resets its connection: expected.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def engine_process(data_dir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """This server in a child process on ``data_dir``: its URL and the process, killed on exit."""
    proc = subprocess.Popen([sys.executable, "-m", __name__, str(data_dir)], stdout=subprocess.PIPE, text=True)
    try:
        port = proc.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError(f"the engine process exited with {proc.wait()} before it served")
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", help="the engine's data directory")
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), handler(Engine(args.path)))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
