"""The C heap: large blocks go back to the kernel when they are freed.

glibc's malloc serves a block of at least its mmap threshold (128 KiB at start) with a
mapping of its own, unmapped on free. But each time such a block is freed the threshold
rises to that block's size, up to 32 MiB, so a process that handles large records soon
allocates them from its heap instead, where the freed space stays resident and fragments.
A worker storing 1 MiB records peaked about 120 MiB higher so (docs/performance.md,
"worker memory"). Fixing the threshold with ``mallopt`` stops the rise: every block of the
threshold or more is mapped and unmapped, at the cost of a page fault per page touched,
which for the worker's largest blocks (fetches, decompressed batches, Kafka values) is a
small share of handling them.

Other C libraries (musl) have no such threshold: there nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: glibc's largest mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
MAX_THRESHOLD = 32 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)


def check(threshold: int, setting: str) -> None:
    """ValueError naming ``setting`` unless ``threshold`` is 0 (glibc's own rule) or from 4096 (a page:
    smaller blocks are not worth a mapping of their own, though glibc would take them) to glibc's maximum."""
    if threshold != 0 and not 4096 <= threshold <= MAX_THRESHOLD:
        raise ValueError(f"setting {setting}: expected 0 (glibc's rising threshold) or a size in bytes from 4096 "
                         f"to {MAX_THRESHOLD}, got {threshold}")


def fix_mmap_threshold(threshold: int) -> bool:
    """Serve every block of ``threshold`` bytes or more with a mapping of its own, for the rest of the
    process's life; 0 leaves glibc's rising threshold. True when the C library took the setting."""
    if threshold == 0:
        return False
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):  # no C library found, or one without mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # Each rise of the threshold also raised the trim threshold (to twice the new one), the free space the
    # heap keeps at its top: set to the threshold too (both start at 128 KiB), or the heap keeps free
    # space as large as twice the largest block freed before this call.
    return mallopt(_M_MMAP_THRESHOLD, threshold) == 1 and mallopt(_M_TRIM_THRESHOLD, threshold) == 1
