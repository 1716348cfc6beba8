"""Where a process spends its time under load: py-spy samples, summarised for the report.

``sampling(pid, seconds)`` runs py-spy next to a load (``--nonblocking``, so
the process is never paused) and, when the block ends, ``Profile.top`` holds
the functions with the largest share of samples taken *in* them (self
time) and ``Profile.inclusive`` the share of stacks that pass through the
modules a stage is made of — what names a stage's bottleneck.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


@dataclass
class Profile:
    samples: int = 0
    top: dict[str, float] = field(default_factory=dict)  # "function (file)" → share of samples, self time
    inclusive: dict[str, float] = field(default_factory=dict)  # module → share of samples passing through it


@contextlib.contextmanager
def sampling(pid: int, seconds: int, modules: tuple[str, ...] = (), top: int = 8) -> Iterator[Profile]:
    """Sample ``pid`` for ``seconds`` while the block runs; the result is filled in when it ends."""
    result = Profile()
    spy = Path(sys.executable).with_name("py-spy")
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        proc = subprocess.Popen([str(spy), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "97",
                                 "--format", "raw", "--nonblocking", "--output", out.name],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            yield result
        finally:
            _, err = proc.communicate(timeout=seconds + 60)
        if proc.returncode != 0:
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
        _summarise(Path(out.name).read_text(), result, modules, top)


def _summarise(text: str, result: Profile, modules: tuple[str, ...], top: int) -> None:
    leaves: Counter[str] = Counter()
    through: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        n = int(count)
        result.samples += n
        leaves[_name(frames[-1])] += n
        for module in modules:
            if any(module in frame for frame in frames):
                through[module] += n
    total = max(result.samples, 1)
    result.top = {name: n / total for name, n in leaves.most_common(top)}
    result.inclusive = {module: through[module] / total for module in modules}


def _name(frame: str) -> str:
    """``function (path/to/file.py:12)`` → ``function (file.py)``: lines apart, one function is one entry."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return f"{match['function']} ({Path(match['file']).name})"


def figures(profile: Profile) -> dict:
    return {"samples": profile.samples,
            **{f"self {name}": round(share, 3) for name, share in profile.top.items()},
            **{f"through {module}": round(share, 3) for module, share in profile.inclusive.items()}}
