"""The OpenTelemetry Collector as the benchmark's peer: built once into the cache, run on loopback.

``build`` installs the Collector's builder from the Go module proxy and
builds a distribution with only what the comparison needs (OTLP receiver,
Kafka exporter) into ``<cache>/otelcol-<version>``; nothing of it enters the
repository. ``running`` starts it against the benchmark's broker with the
same durability and compression as Sluice's gateway: acks=all, Sluice's codec, and the exporter's
sending queue off, so an HTTP answer means Kafka has the records.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Iterator

from bench.tools import go_install
from sluice.local.harness import free_port

VERSION = "0.165.0"
MANIFEST = f"""dist:
  name: otelcol-bench
  description: OTLP receiver and Kafka exporter, the peer of Sluice's gateway benchmark
  output_path: ./dist
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v{VERSION}
exporters:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter v{VERSION}
"""


def build(cache_dir: Path) -> Path:
    """The Collector binary, built on first use (a few minutes: Go modules and a compile)."""
    home = cache_dir / f"otelcol-{VERSION}"
    binary = home / "dist" / "otelcol-bench"
    if binary.exists():
        return binary
    builder = go_install(home, f"go.opentelemetry.io/collector/cmd/builder@v{VERSION}", "builder",
                         "the OpenTelemetry Collector peer (or pass --skip-otelcol)")
    (home / "builder.yaml").write_text(MANIFEST)
    subprocess.run([str(builder), "--config", "builder.yaml"], cwd=home, check=True)
    return binary


def config(port: int, bootstrap: str, topic: str, compression: str) -> str:
    return f"""receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
exporters:
  kafka:
    brokers: [{bootstrap}]
    logs:
      topic: {topic}
      encoding: otlp_proto
    producer:
      required_acks: -1
      compression: {compression}
      max_message_bytes: 16777216
    sending_queue:
      enabled: false
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [kafka]
"""


@contextlib.contextmanager
def running(binary: Path, bootstrap: str, topic: str, tmp: Path, compression: str) -> Iterator[str]:
    """Run the Collector; yields its OTLP/HTTP base URL once it answers."""
    port = free_port()
    path = tmp / "otelcol.yaml"
    path.write_text(config(port, bootstrap, topic, compression))
    log = open(tmp / "otelcol.log", "ab")
    proc = subprocess.Popen([str(binary), "--config", str(path)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the Collector exited with {proc.returncode}; see {tmp / 'otelcol.log'}")
            try:
                urllib.request.urlopen(urllib.request.Request(url + "/v1/logs", data=b"{}",
                                                              headers={"Content-Type": "application/json"}), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
