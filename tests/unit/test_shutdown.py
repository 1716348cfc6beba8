"""sluice/shutdown.py: a process stuck in its shutdown leaves at the deadline, with the code it was given."""

from __future__ import annotations

import subprocess
import sys

# The child's main thread blocks the way a close waiting on an unreachable broker does.
_STUCK = """
import threading
from sluice import shutdown
shutdown.arm({first}, "stuck-process", lambda: 7)
shutdown.arm(600, "second-arming", lambda: 9)
threading.Event().wait()
"""


def test_a_stuck_shutdown_leaves_at_the_first_deadline_with_its_exit_code():
    child = subprocess.run([sys.executable, "-c", _STUCK.format(first=0.5)], capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == 7
    assert "stuck-process did not finish stopping within 0.5s" in child.stderr
    assert "second-arming" not in child.stderr


def test_a_process_that_finishes_first_keeps_its_own_exit_code():
    code = "from sluice import shutdown\nshutdown.arm(600, 'quick', lambda: 7)\nraise SystemExit(3)\n"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert child.returncode == 3
    assert "quick" not in child.stderr
