"""A deadline on a process's shutdown.

A gateway or worker told to stop closes its Kafka clients, and aiokafka's close
waits for the broker: with the broker unreachable, a producer's flush and a
consumer's fetcher retry until something gives up, which can be never. A
process that does not exit when told to holds its port, keeps a deployment's
rollout waiting and is SIGKILLed at the end of its grace period anyway.

Leaving at the deadline loses nothing: every request the gateway answered had
its acknowledgement first (what is still unsent was answered 503), and a
worker commits only offsets whose rows ClickHouse accepted, so what it leaves
uncommitted is re-read by the next owner and stored once under the same insert
tokens, exactly as after a SIGKILL.

Contract: ``arm(seconds, who, exit_code)`` returns at once; if the process is
still alive ``seconds`` later it logs one warning naming ``who`` and exits with
``exit_code()`` without running any further cleanup. Arming twice keeps the
first deadline.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Callable

log = logging.getLogger(__name__)

_armed = threading.Lock()


def arm(seconds: float, who: str, exit_code: Callable[[], int] = lambda: 0) -> None:
    if not _armed.acquire(blocking=False):
        return

    def expire() -> None:
        log.warning("%s did not finish stopping within %gs (Kafka unreachable?): leaving now; "
                    "nothing acknowledged is lost, uncommitted records are read again", who, seconds)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(exit_code())

    # A thread, not a task: the event loop may be the very thing that is stuck.
    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
