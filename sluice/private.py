"""Sluice's files are for the user who runs it alone.

The state directory holds every tenant's logs (Kafka segments, ClickHouse
parts), the master key and the internal token. It is kept at mode 0700,
checked and corrected at every start, and Sluice's processes run with umask
077, so what the broker, the engine and Redis write is 0600 or 0700 too:
another local user reads nothing, even in a directory once opened up by hand.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Mapping

# Cleared for every file and directory Sluice's processes create: no group, no other.
UMASK = 0o077
# The state directory's own mode.
DIR_MODE = 0o700


class StateDirError(ValueError):
    pass


def restrict_umask() -> None:
    """Make everything this process and its children create private (umask 077)."""
    os.umask(UMASK)


def secure_dir(path: Path) -> int | None:
    """Create ``path`` with mode 0700, or bring an existing one back to 0700.

    Returns the mode it had when it had to be corrected, None when it was right
    (or new). Raises ``StateDirError`` when it is not a directory or cannot be
    corrected, e.g. because it belongs to another user.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, mode=DIR_MODE)
    except FileExistsError:
        pass
    else:
        os.chmod(path, DIR_MODE)  # mkdir's mode passes through the umask; make it exact
        return None
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise StateDirError(f"{path} is not a directory")
    mode = stat.S_IMODE(info.st_mode)
    if mode == DIR_MODE:
        return None
    try:
        os.chmod(path, DIR_MODE)
    except PermissionError:
        raise StateDirError(f"{path} has mode {mode:04o} and belongs to uid {info.st_uid}; "
                            f"run `chmod 700 {path}` as its owner or choose another SLUICE_STATE_DIR") from None
    return mode



def open_private(path: Path, append: bool = False) -> int:
    """A file descriptor for writing ``path``, created 0600 or brought back to 0600, whatever the umask."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def write_text(path: Path, text: str) -> None:
    """Write ``path`` (0600) whatever the umask."""
    with os.fdopen(open_private(path), "w") as fh:
        fh.write(text)


def without_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without Sluice's variables, for programs that are not Sluice (the broker, Redis):
    they need none of them, and some are secrets (the master key, the internal token)."""
    return {name: value for name, value in environ.items() if not name.startswith("SLUICE_")}


def create_once(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) atomically unless it exists; when two
    processes race, the first one's file stays and the other's text is dropped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    write_text(tmp, text)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
