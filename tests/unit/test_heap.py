"""The worker's fixed mmap threshold (sluice/heap.py), checked against glibc itself in a fresh process."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from sluice import heap

# A fresh process frees a 4 MiB block (glibc then raises its threshold to 4 MiB), allocates 1 MiB
# and prints how much of the heap is in blocks mapped on their own (mallinfo2's hblkhd).
_PROBE = """
import ctypes, ctypes.util, sys
from sluice import heap
fixed = heap.fix_mmap_threshold(int(sys.argv[1]))
libc = ctypes.CDLL(ctypes.util.find_library("c"))
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
libc.free(libc.malloc(4 << 20))
before = libc.mallinfo2().hblkhd
block = libc.malloc(1 << 20)
print(fixed, libc.mallinfo2().hblkhd - before)
"""

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")


def _mapped_after_rise(threshold: int) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", _PROBE, str(threshold)], capture_output=True, text=True, check=True)
    fixed, mapped = out.stdout.split()
    return fixed == "True", int(mapped)


@glibc
def test_with_the_threshold_fixed_a_large_block_is_mapped_on_its_own_after_a_larger_one_was_freed():
    assert _mapped_after_rise(128 * 1024) == (True, pytest.approx(1 << 20, abs=8192))


@glibc
def test_without_it_glibc_raised_its_threshold_and_serves_the_block_from_the_heap():
    assert _mapped_after_rise(0) == (False, 0)


@pytest.mark.parametrize("bad", [-1, 1, 4095, heap.MAX_THRESHOLD + 1])
def test_a_threshold_glibc_would_refuse_is_refused_with_the_setting_named(bad):
    with pytest.raises(ValueError, match=r"setting worker_mmap_threshold_bytes: expected 0 .* got " + str(bad)):
        heap.check(bad, "worker_mmap_threshold_bytes")


def test_zero_and_the_bounds_are_accepted():
    for good in (0, 4096, 128 * 1024, heap.MAX_THRESHOLD):
        heap.check(good, "worker_mmap_threshold_bytes")


def test_a_worker_asked_for_a_threshold_out_of_range_refuses_to_start_and_says_which_setting(capsys):
    from sluice.settings import load_settings
    from workers.main import EXIT_CONFIG, run

    assert run(load_settings(environ={}, worker_mmap_threshold_bytes=64 << 20)) == EXIT_CONFIG
    assert "sluice worker: setting worker_mmap_threshold_bytes: expected 0" in capsys.readouterr().err


def test_the_threshold_is_fixed_for_a_worker_storing_to_a_server_and_not_beside_the_embedded_engine():
    from sluice.settings import load_settings
    from workers.main import mmap_threshold

    assert mmap_threshold(load_settings(environ={}, clickhouse_url="http://ch:8123")) == 128 * 1024
    assert mmap_threshold(load_settings(environ={})) == 0
