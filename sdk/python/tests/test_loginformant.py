"""The LogInformant logging handler: the doc's request body and header, its five levels, the
logger name as source, exceptions and extra fields."""

from __future__ import annotations

import json
import logging

from loginformant import LogInformantHandler
from sluice_sdk.dialects import LogInformant
from sluice_sdk.transport import Response


class Server:
    def __init__(self):
        self.requests: list[tuple[str, dict, dict]] = []

    def __call__(self, url: str, body: bytes, headers: dict, timeout_s: float) -> Response:
        self.requests.append((url, json.loads(body), headers))
        return Response(200, {}, b"")


def test_the_handler_sends_the_doc_shape_to_the_batch_endpoint():
    server = Server()
    handler = LogInformantHandler("YOUR-API-KEY", "https://sluice.example", send=server, compression=None)
    logger = logging.getLogger("MyApp.OrderService")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.warning("Cache miss for key %s", "user:42", extra={"userId": 42})
        try:
            raise KeyError("ORD-9912")
        except KeyError:
            logger.exception("Something went wrong")
        logger.critical("down")
        logger.debug("details")
        handler.flush()
    finally:
        logger.removeHandler(handler)
        handler.close()
    url, body, headers = server.requests[0]
    assert url == "https://sluice.example/api/ingest/batch"
    assert headers["X-API-Key"] == "YOUR-API-KEY" and "Authorization" not in headers
    logs = body["logs"]
    assert [(e["level"], e["message"], e["source"]) for e in logs] == [
        ("Warning", "Cache miss for key user:42", "MyApp.OrderService"),
        ("Error", "Something went wrong", "MyApp.OrderService"),
        ("Fatal", "down", "MyApp.OrderService"),
        ("Debug", "details", "MyApp.OrderService"),
    ]
    assert logs[0]["properties"] == {"userId": 42} and logs[0]["timestamp"].endswith("Z")
    assert "KeyError: 'ORD-9912'" in logs[1]["exception"] and "properties" not in logs[1]


def test_a_source_given_to_the_dialect_wins_and_the_logger_stays_a_property():
    body = json.loads(LogInformant("CacheService").body([("2026-04-08T18:30:00.000Z", "info", "hit",
                                                          {"logger": "app.cache"})]))
    assert body == {"logs": [{"timestamp": "2026-04-08T18:30:00.000Z", "level": "Information", "message": "hit",
                              "source": "CacheService", "properties": {"logger": "app.cache"}}]}
    assert LogInformant.max_batch == 500
