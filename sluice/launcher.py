"""Starting a service (``sluice gateway``, ``sluice worker``) without the core importing it.

The core sits below the services: ``gateway`` and ``workers`` import
``sluice``, never the reverse (pyproject.toml's import contracts). So the CLI
finds a service by name in the installed package's entry points, group
``sluice.services``, which pyproject.toml declares::

    gateway = "gateway.server:serve"
    worker = "workers.main:run"

Each names a callable that takes the one ``Settings`` and runs the service in
this process until it stops; it returns an exit status, or None for 0.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from typing import Callable

from sluice import lean, logs
from sluice.settings import Settings

GROUP = "sluice.services"
EXIT_NOT_INSTALLED = 2  # the named service has no entry point: the package's metadata is missing or stale


class ServiceNotInstalled(LookupError):
    pass


def find(name: str) -> Callable[[Settings], int | None]:
    """The entry point ``name`` of the ``sluice.services`` group, loaded; ServiceNotInstalled without one."""
    found = entry_points(group=GROUP, name=name)
    if not found:
        raise ServiceNotInstalled(
            f"no {name!r} service is installed (entry point group {GROUP}, declared in pyproject.toml); "
            "reinstall Sluice: pip install -e . (make does it when pyproject.toml changes)")
    return next(iter(found)).load()


def run(name: str, settings: Settings) -> int:
    """Run the service ``name`` in this process with JSON logs on stderr; its exit status. Modules the
    services never use are kept out of it first (sluice/lean.py)."""
    lean.keep_out()
    try:
        service = find(name)
    except ServiceNotInstalled as exc:
        print(f"sluice: {exc}", file=sys.stderr)
        return EXIT_NOT_INSTALLED
    logs.setup(settings.log_level)
    status = service(settings)
    return 0 if status is None else status
