"""The query backend in server mode, over clickhouse-connect's HTTP client, against tests/fake_clickhouse.py.

The stand-in server runs each statement in chDB and answers SESSION_IS_LOCKED
when two requests of one session overlap, as a ClickHouse server does. What
this shows: concurrent searches and tail polls through ``QueryBackend`` send no
shared session and all succeed, and their SQL and parameters (Int64, UInt32,
Array(UInt64)) travel over the HTTP interface as the server takes them. What
it cannot show: a real server's settings, limits, users and timeouts.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import urllib.request

import clickhouse_connect
import pytest

from schemas.clickhouse import MIGRATIONS
from sluice.query import follow
from sluice.query.backend import QueryBackend
from sluice.query.cursor import Cursor
from sluice.query.search import SearchRequest, build, compile_filter
from sluice.settings import load_settings

pytestmark = pytest.mark.integration

SERVICES = ("api", "pay", "web", "db")
ROWS_PER_SERVICE = 250


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("fake-clickhouse")
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_clickhouse", "--path", str(data), "--hold", "0.05"],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        setup = clickhouse_connect.get_client(dsn=url + "/default", autogenerate_session_id=False)
        setup.command("CREATE DATABASE IF NOT EXISTS sluice")
        for migration in MIGRATIONS:
            for statement in migration.forwards:
                setup.command(statement.format(db="sluice", retention_days=30, dedup_window=100))
        setup.command(
            "INSERT INTO sluice.logs (TenantId, Environment, Source, RequestId, ReceivedAt, Timestamp, SeverityText, "
            "ServiceName, Body) SELECT 'acme', 'production', 'logtrace', 'r1', now64(9), now64(9) - number, 'INFO', "
            f"[{', '.join(repr(s) for s in SERVICES)}][number % {len(SERVICES)} + 1], concat('m', toString(number)) "
            f"FROM numbers({ROWS_PER_SERVICE * len(SERVICES)})")
        yield url
    finally:
        proc.kill()
        proc.wait()


def stats(url: str) -> dict:
    with urllib.request.urlopen(url + "/stats") as resp:
        import json
        return json.loads(resp.read())


def concurrently(clients: list, n: int) -> list[str]:
    """Run ``SELECT 1`` on ``n`` threads at once, thread i through ``clients[i % len]``; the errors."""
    start, failures = threading.Barrier(n), []

    def query(client):
        start.wait()
        try:
            client.query("SELECT 1")
        except Exception as exc:  # clickhouse-connect's DatabaseError / ProgrammingError
            failures.append(str(exc))

    threads = [threading.Thread(target=query, args=(clients[i % len(clients)],)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def test_one_session_across_threads_fails_as_the_backend_used_to(server):
    # One client with its generated session, shared by threads: this clickhouse-connect
    # refuses the overlap itself; older ones sent it and the server answered 373.
    shared = clickhouse_connect.get_client(dsn=server + "/default", autogenerate_session_id=True)
    failures = concurrently([shared], 6)
    assert failures and all("same session" in f or "SESSION_IS_LOCKED" in f for f in failures)
    # The stand-in's own lock: separate clients naming one session, as two processes could.
    locked_before = stats(server)["session_locked"]
    clients = [clickhouse_connect.get_client(dsn=server + "/default", session_id="one-session") for _ in range(6)]
    failures = concurrently(clients, 6)
    assert failures and all("SESSION_IS_LOCKED" in f for f in failures)
    assert stats(server)["session_locked"] - locked_before == len(failures)


async def test_concurrent_searches_through_the_backend_all_succeed(server):
    settings = load_settings(environ={}, clickhouse_url=server + "/default")
    backend = QueryBackend(settings)
    locked_before = stats(server)["session_locked"]
    now = time.time_ns()
    requests = [SearchRequest(filter=f"service:{SERVICES[i % len(SERVICES)]}", from_="-1h", limit=1000)
                for i in range(24)]
    built = [build(r, "acme", "sluice", now, "production") for r in requests]
    results = await asyncio.gather(*(backend.rows(sql, params) for sql, params in built))
    assert [len(rows) for rows in results] == [ROWS_PER_SERVICE] * len(requests)
    assert all({row[3] for row in rows} == {r.filter.split(":")[1]} for rows, r in zip(results, requests))
    assert stats(server)["session_locked"] == locked_before


async def test_concurrent_tail_polls_through_the_backend_all_succeed(server):
    settings = load_settings(environ={}, clickhouse_url=server + "/default")
    backend = QueryBackend(settings)
    start = time.time_ns() - 3600 * 10**9
    scopes = [follow.Scope("acme", "production", "sluice", *compile_filter(f"service:{s}")) for s in SERVICES]
    cursors = [Cursor(start) for _ in scopes]
    results = await asyncio.gather(*(follow.poll(backend, s, c) for s, c in zip(scopes, cursors)))
    assert [len(rows) for rows, more in results] == [ROWS_PER_SERVICE] * len(SERVICES)
    # A late row for one of them, fetched by key (an Array(UInt64) parameter) on the next poll.
    late = cursors[0].position[0] - 1
    clickhouse_connect.get_client(dsn=server + "/default", autogenerate_session_id=False).command(
        "INSERT INTO sluice.logs (TenantId, Environment, Source, RequestId, ReceivedAt, Timestamp, SeverityText, "
        f"ServiceName, Body) VALUES ('acme', 'production', 'logtrace', 'r2', fromUnixTimestamp64Nano({late}), "
        "now64(9), 'INFO', 'api', 'late')")
    again = await asyncio.gather(*(follow.poll(backend, s, c) for s, c in zip(scopes, cursors)))
    assert [[row[4] for row in rows] for rows, more in again] == [["late"], [], [], []]
