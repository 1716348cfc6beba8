"""Modules the services never use, kept out of their processes.

pandas is installed (chDB requires it) but no service calls a DataFrame API. pyarrow still imports it the
first time it converts a Python sequence (``pa.array``, ``pa.scalar``: its check for pandas array-likes),
so every gateway and worker process carried it: 49 MiB more resident in a bare interpreter (``import
pyarrow, numpy``: 52 MiB; with pandas: 101 MiB), 34 MiB of an idle worker's 164 (docs/performance.md,
"worker memory"). The libraries that use pandas when it is there
(pyarrow, clickhouse-connect, chDB) take an ``ImportError`` as "not installed", so refusing the import costs
the services nothing.

Contract: after ``keep_out()``, importing ``pandas`` or any module under it in this process raises
``ModuleNotFoundError`` naming this module; a pandas already imported stays. The launcher
(sluice/launcher.py) calls it before it loads a service.
"""

from __future__ import annotations

import importlib.abc
import sys

KEPT_OUT = ("pandas",)


class _KeptOut(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path, target=None):
        if name.split(".", 1)[0] in KEPT_OUT:
            raise ModuleNotFoundError(f"{name} is kept out of Sluice's service processes (sluice/lean.py)", name=name)
        return None


def keep_out() -> None:
    """Refuse imports of the modules in ``KEPT_OUT`` in this process from now on (idempotent)."""
    if not any(isinstance(finder, _KeptOut) for finder in sys.meta_path):
        sys.meta_path.insert(0, _KeptOut())
