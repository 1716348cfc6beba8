"""The LogInformant logging handler against a running Sluice: records through the `logging`
module stored with their level, source, exception and properties."""

from __future__ import annotations

import logging

import pytest

from loginformant import LogInformantHandler
from tests.support import sql, wait_for

pytestmark = pytest.mark.integration


def test_logging_records_arrive_through_the_loginformant_handler(sluice):
    s = sluice.settings
    handler = LogInformantHandler(sluice.key, s.gateway_url, batch_size=50)
    logger = logging.getLogger("MyApp.OrderService")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        for i in range(120):
            logger.info("order %d placed", i, extra={"orderId": f"ORD-{i}"})
        try:
            raise ValueError("card expired")
        except ValueError:
            logger.exception("payment failed")
        logger.critical("database down")
        assert handler.client.flush(30)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert handler.client.stats.sent == 122 and handler.client.stats.rejected == 0
    wait_for(lambda: sql(s, "SELECT count() FROM sluice.logs WHERE Source = 'loginformant'")[0][0] >= 122, 60,
             what="the handler's records")
    assert sql(s, "SELECT count(), uniqExact(Body) FROM sluice.logs WHERE Source = 'loginformant'") == [[122, 122]]
    assert sql(s, "SELECT ServiceName, SeverityText, LogAttributes['orderId'] FROM sluice.logs "
                  "WHERE Body = 'order 7 placed'") == [["MyApp.OrderService", "Information", "ORD-7"]]
    [[severity, trace]] = sql(s, "SELECT SeverityText, LogAttributes['exception.stacktrace'] FROM sluice.logs "
                                 "WHERE Body = 'payment failed'")
    assert severity == "Error" and "ValueError: card expired" in trace
    assert sql(s, "SELECT SeverityText FROM sluice.logs WHERE Body = 'database down'") == [["Fatal"]]
