"""Failpoints: named places where Sluice fails on purpose, to rehearse outages under real load.

Off unless the ``failpoints_dir`` setting names a directory. A failpoint is
active while a file of its name exists there, and the file's first line says
what happens when the code passes it:

=================  =============================================================
``error``          raise ``FailpointError``, as a ClickHouse refusing the call would
``delay <s>``      sleep that many seconds first, as a slow ClickHouse would
=================  =============================================================

The failpoints, each passed once per attempt to store a batch (workers/sink.py):

============================  ====================================================================
``clickhouse-insert``         before anything of the batch is written: an outage, nothing stored
``clickhouse-before-insert``  after the batch's intent (and the fence check), before its rows:
                              the range is recorded, none of its rows are in
``clickhouse-after-insert``   after ClickHouse accepted the rows and the idempotency keys: an
                              ambiguous commit, as a client that timed out while the server
                              committed; the worker sees an error and tries again
============================  ====================================================================

A file named ``<failpoint>@<topic>:<partition>`` acts only on that partition's
batches, so one partition's writes can fail while the others' go on.

Files are looked up on every pass (one ``stat``, two for a scoped pass), so an
outage starts and ends by creating and removing a file, without restarting
anything. The fault suite (tests/integration/test_faults.py) drives ClickHouse
outages this way; operators can use the same switch on a staging deployment.
"""

from __future__ import annotations

import time
from pathlib import Path

#: Before a batch's intent and rows are inserted (workers/sink.py), on the ClickHouse thread.
CLICKHOUSE_INSERT = "clickhouse-insert"
#: Between a batch's intent and its rows.
CLICKHOUSE_BEFORE_INSERT = "clickhouse-before-insert"
#: After ClickHouse accepted a batch's rows (and idempotency keys), before the worker learns it.
CLICKHOUSE_AFTER_INSERT = "clickhouse-after-insert"


class FailpointError(RuntimeError):
    """An error raised on purpose by an active failpoint."""


class Failpoints:
    def __init__(self, directory: str | Path = ""):
        self.directory = Path(directory) if directory else None

    def hit(self, name: str, scope: str = "") -> None:
        """Do what the failpoint ``name`` says, if it is active everywhere or for ``scope``
        (``topic:partition``); nothing otherwise."""
        if self.directory is None:
            return
        for file in (name, f"{name}@{scope}") if scope else (name,):
            try:
                action = (self.directory / file).read_text().split("\n", 1)[0].split()
            except FileNotFoundError:
                continue
            if action[:1] == ["delay"] and len(action) == 2:
                time.sleep(float(action[1]))
                return
            raise FailpointError(f"failpoint {file} is active")
