"""Sluice's own logs: JSON lines, and the Kafka libraries' repeats held back (sluice/logs.py)."""

from __future__ import annotations

import io
import json
import logging

from sluice.logs import JsonFormatter, Repeats
from tests.support import Clock


def _record(name: str, msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)


def test_a_repeated_template_passes_once_per_window_and_the_next_one_counts_the_rest() -> None:
    clock = Clock(100.0)
    repeats = Repeats(("aiokafka",), window_s=10.0, clock=clock)
    template = "Unable connect to node with id %s: %r"
    assert repeats.filter(_record("aiokafka.conn", template, 1, "refused"))
    # same template, other arguments: the same line for an operator, held back within the window
    held = [repeats.filter(_record("aiokafka.conn", template, n, "refused")) for n in range(2, 7)]
    assert held == [False] * 5
    clock.now += 10.0
    after = _record("aiokafka.conn", template, 7, "refused")
    assert repeats.filter(after)
    assert after.suppressed == 5
    # and a line after a quiet window carries no count
    clock.now += 10.0
    quiet = _record("aiokafka.conn", template, 8, "refused")
    assert repeats.filter(quiet)
    assert not hasattr(quiet, "suppressed")


def test_other_templates_and_other_loggers_are_untouched() -> None:
    clock = Clock(100.0)
    repeats = Repeats(("aiokafka", "faust"), window_s=10.0, clock=clock)
    assert repeats.filter(_record("aiokafka.conn", "first %s", 1))
    assert repeats.filter(_record("aiokafka.conn", "second %s", 1))  # another template
    assert repeats.filter(_record("aiokafka.cluster", "first %s", 1))  # another logger
    # Sluice's own lines are never held back, however often they repeat
    assert all(repeats.filter(_record("workers.pipeline", "dead-lettered %s", n)) for n in range(20))
    # while the first template, repeated within the window, is still held back
    assert not repeats.filter(_record("aiokafka.conn", "first %s", 2))


def test_the_count_reaches_the_json_line() -> None:
    clock = Clock(100.0)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Repeats(("aiokafka",), window_s=10.0, clock=clock))
    logger = logging.getLogger("aiokafka.test_logs")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for attempt in range(4):
            logger.warning("reconnect attempt %d failed", attempt)
        clock.now += 11.0
        logger.warning("reconnect attempt %d failed", 4)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["msg"] for line in lines] == ["reconnect attempt 0 failed", "reconnect attempt 4 failed"]
    assert "suppressed" not in lines[0]
    assert lines[1]["suppressed"] == 3
    assert lines[1]["logger"] == "aiokafka.test_logs"


def test_a_thread_that_dies_is_logged_as_one_json_line(monkeypatch) -> None:
    import threading

    from sluice import logs

    stream = io.StringIO()
    monkeypatch.setattr(logs.sys, "stderr", stream)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)  # restored after the test
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.setup("INFO")

        def fail() -> None:
            raise RuntimeError("consumer gone")

        thread = threading.Thread(target=fail, name="consumer-thread")
        thread.start()
        thread.join()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    [line] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert line["logger"] == "sluice.threads"
    assert line["msg"] == "thread consumer-thread stopped on RuntimeError"
    assert "consumer gone" in line["exc"]
