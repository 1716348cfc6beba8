import os
import subprocess
import sys
import textwrap

import pytest

from sluice import priority
from sluice.settings import load_settings
from workers.main import EXIT_CONFIG, run


def test_a_niceness_outside_0_to_19_is_refused_naming_the_setting():
    for bad in (-1, 20):
        with pytest.raises(ValueError, match=r"setting worker_nice: expected a niceness from 0 .* got " + str(bad)):
            priority.check(bad, "worker_nice")
    priority.check(0, "worker_nice")
    priority.check(19, "worker_nice")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread niceness is read from /proc")
def test_a_lowered_process_runs_its_threads_old_and_new_at_that_niceness_and_never_raises_its_priority_again():
    # In a child: a process cannot take back a niceness it gave up.
    script = textwrap.dedent("""
        import os, threading
        from sluice import priority
        from tests.support import niceness as nice_of

        base = os.getpriority(os.PRIO_PROCESS, 0)
        go = threading.Event()
        earlier = threading.Thread(target=go.wait)  # running before: a library's thread started at import
        earlier.start()
        ran = priority.lower_process(base + 7)
        seen = []
        later = threading.Thread(target=lambda: seen.append(nice_of(threading.get_native_id())))
        later.start(); later.join()
        kept = priority.lower_process(base + 3)  # asks for more priority than it has: keeps its niceness
        print(base, ran, nice_of(earlier.native_id), seen[0], kept, nice_of(threading.get_native_id()))
        go.set()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True).stdout
    base, ran, earlier, later, kept, main = map(int, out.split())
    assert base + 7 <= 19, "the test runner's own niceness leaves no room"
    assert (ran, earlier, later, kept, main) == (base + 7,) * 5


def test_a_worker_asked_for_a_niceness_out_of_range_refuses_to_start_and_says_which_setting(capsys):
    before = os.getpriority(os.PRIO_PROCESS, 0)
    assert run(load_settings(environ={}, worker_nice=20)) == EXIT_CONFIG
    assert "sluice worker: setting worker_nice: expected a niceness from 0" in capsys.readouterr().err
    assert run(load_settings(environ={}, slow_lane_nice=-5)) == EXIT_CONFIG
    assert "setting slow_lane_nice" in capsys.readouterr().err
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # refused before anything was changed
