"""CPU priority: a process or thread asks the kernel for less of the cores than its neighbours.

On a machine where Sluice's processes share the cores, the gateway and the
broker are on the producers' path (a client waits for its 2xx), while the
worker's backlog waits in Kafka: the worker lowers its own priority
(``worker_nice``) and the slow lane's key derivations lower theirs further
(``slow_lane_nice``, workers/budget.py). An unprivileged process can only
raise its niceness, so a request below the current one keeps the current one.
"""

from __future__ import annotations

import os
import sys
import threading

MAX_NICE = 19


def check(nice: int, setting: str) -> None:
    """ValueError naming ``setting`` unless ``nice`` is a niceness an unprivileged process can ask for."""
    if not 0 <= nice <= MAX_NICE:
        raise ValueError(f"setting {setting}: expected a niceness from 0 (the default priority) to "
                         f"{MAX_NICE} (the lowest), got {nice}")


def lower_process(nice: int) -> int:
    """Run this process at niceness ``nice`` or lower priority; the niceness its calling thread runs at.

    On Linux niceness belongs to a thread and a new thread takes its creator's, so
    every thread running now (a library's started at import among them) is lowered,
    and every thread started afterwards (the engine's) inherits it. A thread that
    later sets its own priority keeps what it set.
    """
    if sys.platform.startswith("linux"):
        for tid in os.listdir("/proc/self/task"):
            try:
                _lower(int(tid), nice)
            except ProcessLookupError:  # the thread ended meanwhile
                pass
    return _lower(0, nice)


def lower_thread(nice: int) -> int:
    """Run the calling thread at niceness ``nice`` or lower priority (Linux; elsewhere nothing changes)."""
    if not sys.platform.startswith("linux"):
        return nice
    # On Linux a thread id names the thread alone for setpriority.
    return _lower(threading.get_native_id(), nice)


def _lower(who: int, nice: int) -> int:
    if not hasattr(os, "setpriority"):
        return nice
    current = os.getpriority(os.PRIO_PROCESS, who)
    if nice > current:
        os.setpriority(os.PRIO_PROCESS, who, nice)
        return nice
    return current
