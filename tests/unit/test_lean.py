"""What the services never use is kept out of their processes (sluice/lean.py): pandas, which pyarrow would
import the first time it converts a Python sequence. Each check runs in a fresh interpreter, as a service does."""

from __future__ import annotations

import json
import subprocess
import sys

_SERVICE = """
import json, sys
from sluice import launcher
from sluice.settings import load_settings

def find(name):
    service = launcher_find(name)  # the real service's modules, loaded after launcher.run kept pandas out
    def probe(settings):
        import pyarrow as pa
        from schemas.envelope import Envelope
        from schemas.formats import Format
        from schemas.rows.columnar import to_table
        from workers.records import entries_rows
        from schemas.dialects import decode
        body = b'{"logs": [{"timestamp": "2026-01-02T03:04:05Z", "level": "info", "message": "m", "attributes": {"a": 1}}]}'
        rows = entries_rows(Format.LOGTRACE_INGEST, decode(Format.LOGTRACE_INGEST, body),
                            Envelope(Format.LOGTRACE_INGEST.value, "acme", "r", 5))
        table = to_table([rows])
        assert pa.array([1, 2]).to_pylist() == [1, 2] and pa.scalar("x").as_py() == "x"
        try:
            import pandas  # noqa: F401
            refused = ""
        except ModuleNotFoundError as exc:
            refused = str(exc)
        print(json.dumps({"service": service.__module__, "rows": table.num_rows, "refused": refused,
                          "loaded": sorted(m for m in sys.modules if m.split(".")[0] == "pandas")}))
        return 0
    return probe

launcher_find, launcher.find = launcher.find, find
sys.exit(launcher.run(sys.argv[1], load_settings({})))
"""


def _run(service: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _SERVICE, service], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_service_maps_rows_and_converts_sequences_without_loading_pandas():
    for service, module in (("worker", "workers.main"), ("gateway", "gateway.server")):
        seen = _run(service)
        assert seen["service"] == module and seen["rows"] == 1
        assert seen["loaded"] == [] and "sluice/lean.py" in seen["refused"]


def test_without_it_pyarrow_would_load_pandas():
    """The reason for the module: in a plain interpreter the same conversion loads pandas."""
    code = "import sys, pyarrow as pa; pa.scalar(0); print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr
