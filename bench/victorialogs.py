"""VictoriaLogs as the end-to-end peer: built once into the cache, run on loopback with its own data.

``build`` installs the single-binary server from the Go module proxy into
``<cache>/victorialogs-<version>``; nothing of it enters the repository.
``running`` starts it on a free port with ``-storageDataPath`` in the given
temporary directory and a retention long enough for the benchmark's fixed
timestamps (the default 7 days would silently drop them), and stops it after.
The helpers read what the peer accepted (``vl_rows_ingested_total``), what a
query can see (``stats count()``) and what its data takes on disk.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench.tools import go_install
from sluice.local.harness import free_port, wait_for
from sluice.local.topology import stop_process, wait_http

VERSION = "1.52.2"
PACKAGE = f"github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v{VERSION}"
# The LogTrace entries as they are: ``service`` names the stream, ``timestamp`` and ``message`` are the
# time and message fields; every other field (nested ``attributes`` flattened with dots) is stored as is.
INSERT_PATH = "/insert/jsonline?_stream_fields=service&_time_field=timestamp&_msg_field=message"
COUNT_QUERY = "* | stats count() as n"
IN_MEMORY = 'vl_storage_rows{type="storage/inmemory"}'  # rows not yet in a part on disk


def build(cache_dir: Path) -> Path:
    """The server binary, built on first use (a minute or two: Go modules and a compile)."""
    return go_install(cache_dir / f"victorialogs-{VERSION}", PACKAGE, "victoria-logs",
                      "the VictoriaLogs peer (python -m bench.peer)")


def jsonlines(logtrace_body: bytes) -> bytes:
    """A LogTrace body (``{"logs": [...]}``) as the same entries, one JSON object a line, for ``/insert/jsonline``."""
    return b"".join(json.dumps(entry).encode() + b"\n" for entry in json.loads(logtrace_body)["logs"])


def parse_count(answer: bytes) -> int:
    """The ``n`` of a ``stats count() as n`` answer (JSON lines; none when nothing is stored)."""
    lines = [line for line in answer.splitlines() if line.strip()]
    return int(json.loads(lines[0])["n"]) if lines else 0


def parse_metric(text: str, sample: str) -> float:
    """One sample of a Prometheus text page, by name and labels as exposed; 0 when absent."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


def tenant_headers(account: int) -> dict:
    """The headers that put a request in VictoriaLogs tenant ``account`` (0 is its default tenant)."""
    return {"AccountID": str(account), "ProjectID": "0"}


def tree_bytes(directory: Path) -> int:
    """Total size of the files under ``directory``."""
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


@dataclass(frozen=True)
class VictoriaLogs:
    url: str  # base URL, e.g. http://127.0.0.1:PORT
    pid: int
    data_dir: Path

    def _get(self, path: str, headers: dict | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.read()

    def count(self, account: int = 0) -> int:
        """Records a query of tenant ``account`` (VictoriaLogs' ``AccountID``) sees now."""
        return parse_count(self._get("/select/logsql/query?query=" + urllib.parse.quote(COUNT_QUERY),
                                     tenant_headers(account)))

    def ingested(self) -> int:
        """Records ``/insert/jsonline`` accepted so far (answered or not)."""
        return int(parse_metric(self._get("/metrics").decode(), 'vl_rows_ingested_total{type="jsonline"}'))

    def dropped(self) -> int:
        """Records accepted but then dropped (out of retention, too many fields, ...): must stay 0."""
        text = self._get("/metrics").decode()
        return int(sum(float(line.split()[-1]) for line in text.splitlines()
                       if line.startswith("vl_rows_dropped_total{")))

    def disk_bytes(self, timeout_s: float = 60) -> int:
        """Bytes of the stored data once no row is held only in memory (it persists those every 5 s)."""
        self._get("/internal/force_flush")  # buffered rows into parts, so the gauge below covers them
        wait_for(lambda: parse_metric(self._get("/metrics").decode(), IN_MEMORY) == 0, timeout_s, 0.1,
                 "VictoriaLogs to write its in-memory parts to disk")
        return tree_bytes(self.data_dir)


@contextlib.contextmanager
def running(binary: Path, tmp: Path) -> Iterator[VictoriaLogs]:
    """Run the server on a free loopback port with its data under ``tmp``; yields it once ``/health`` answers."""
    port = free_port()
    data = tmp / "victorialogs-data"
    log = open(tmp / "victorialogs.log", "ab")
    proc = subprocess.Popen([str(binary), f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={data}",
                             "-retentionPeriod=10y", "-loggerLevel=WARN"], stdout=log, stderr=log)
    log.close()  # the child holds its own copy
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", 60, proc)
        yield VictoriaLogs(url, proc.pid, data)
    finally:
        stop_process(proc, 30)
