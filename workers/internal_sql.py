"""The worker's read-only SQL endpoint: how Sluice's own processes read the embedded engine.

Only the worker can open the embedded engine (chDB allows one per process), so
the gateway's searches, ``sluice sql`` and the tests read through this page.
Who may call it and what it runs are sluice/internal.py's rules: a bearer
internal token compared in constant time, read-only statements, an allow-list
of system tables. Not served with a ClickHouse server: there, read ClickHouse
directly with its own access control.
"""

from __future__ import annotations

import faust
import msgspec

from sluice import internal, metrics
from sluice.settings import Settings
from sluice.storage import Storage


class _SqlRequest(msgspec.Struct, forbid_unknown_fields=True):
    sql: str
    parameters: dict | None = None
    settings: dict = {}


def _error(view: faust.web.View, status: int, message: str):
    return view.bytes(msgspec.json.encode({"error": message}), status=status, content_type="application/json")


def mount(app: faust.App, settings: Settings, storage: Storage) -> None:
    """Serve ``internal.PATH`` on the worker's web server, creating the internal token if there is none."""
    token = internal.token(settings, create=True)

    class ReadOnlySQL(faust.web.View):
        async def post(self, request):
            if not internal.authorized(request.headers.get("Authorization"), token):
                metrics.WORKER_INTERNAL_SQL_REFUSED.labels("unauthorized").inc()
                return _error(self, 401, "a valid internal token is required")
            try:
                query = msgspec.json.decode(await request.read(), type=_SqlRequest)
                internal.check(query.sql)
            except (msgspec.DecodeError, internal.Refused) as exc:
                metrics.WORKER_INTERNAL_SQL_REFUSED.labels("refused").inc()
                return _error(self, 400, str(exc))
            try:
                columns, rows = await storage.read(query.sql, query.parameters, query.settings)
            except Exception as exc:  # the engine's refusal, answered with its message
                metrics.WORKER_INTERNAL_SQL_REFUSED.labels("engine").inc()
                return _error(self, 400, str(exc))
            body = {"columns": columns, "rows": rows}
            return self.bytes(msgspec.json.encode(body, enc_hook=str), content_type="application/json")

    app.page(internal.PATH)(ReadOnlySQL)
