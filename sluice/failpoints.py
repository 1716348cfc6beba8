"""Failpoints: named places where Sluice fails on purpose, to rehearse outages under real load.

Off unless the ``failpoints_dir`` setting names a directory. A failpoint is
active while a file of its name exists there, and the file's first line says
what happens when the code passes it:

=================  =============================================================
``error``          raise ``FailpointError``, as a ClickHouse refusing the call would
``delay <s>``      sleep that many seconds first, as a slow ClickHouse would
=================  =============================================================

Files are looked up on every pass (one ``stat``), so an outage starts and
ends by creating and removing a file, without restarting anything. The fault
suite (tests/integration/test_faults.py) drives ClickHouse outages this way;
operators can use the same switch on a staging deployment.
"""

from __future__ import annotations

import time
from pathlib import Path

#: The inserts of a batch's intent and rows (workers/sink.py), on the ClickHouse thread.
CLICKHOUSE_INSERT = "clickhouse-insert"


class FailpointError(RuntimeError):
    """An error raised on purpose by an active failpoint."""


class Failpoints:
    def __init__(self, directory: str | Path = ""):
        self.directory = Path(directory) if directory else None

    def hit(self, name: str) -> None:
        """Do what the failpoint ``name`` says, if it is active; nothing otherwise."""
        if self.directory is None:
            return
        try:
            action = (self.directory / name).read_text().split("\n", 1)[0].split()
        except FileNotFoundError:
            return
        if action[:1] == ["delay"] and len(action) == 2:
            time.sleep(float(action[1]))
            return
        raise FailpointError(f"failpoint {name} is active")
