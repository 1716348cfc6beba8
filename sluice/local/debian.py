"""Programs from Debian's packages, unpacked into the cache without root and without installing them.

``apt-get download`` fetches the ``.deb`` files and ``dpkg-deb -x`` unpacks
them into ``<cache>/<name>``; binaries then run from ``usr/bin`` with the
unpacked ``usr/lib`` on ``LD_LIBRARY_PATH``. Used for the local Redis
(sluice/local/redis.py) and the benchmarks' tools (bench/tools.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


class PackageError(RuntimeError):
    pass


def unpack(cache_dir: Path, name: str, packages: tuple[str, ...]) -> Path:
    """Unpack ``packages`` once into ``<cache_dir>/<name>`` and return that directory."""
    home = cache_dir / name
    if (home / ".complete").exists():
        return home
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise PackageError(f"{tool} is needed to fetch {name} from Debian's packages")
    print(f"sluice: fetching {name} from Debian's packages ...", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(["apt-get", "download", *packages], cwd=tmp, capture_output=True, text=True)
        if result.returncode != 0:
            raise PackageError(f"apt-get download {' '.join(packages)} failed (try apt-get update):\n{result.stderr}")
        staging = home.with_name(name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for deb in sorted(Path(tmp).glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
    shutil.rmtree(home, ignore_errors=True)
    staging.rename(home)
    (home / ".complete").write_text(" ".join(packages))
    return home


def environment(home: Path) -> dict[str, str]:
    """The process environment that finds the unpacked shared libraries first."""
    libs = [str(p) for p in (home / "usr" / "lib" / "x86_64-linux-gnu", home / "usr" / "lib") if p.exists()]
    inherited = os.environ.get("LD_LIBRARY_PATH")
    return {**os.environ, "LD_LIBRARY_PATH": ":".join(libs + ([inherited] if inherited else []))}
