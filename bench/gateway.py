"""The gateway alone (HTTP → Kafka acknowledged), against its ceilings and the OpenTelemetry Collector.

    python -m bench.gateway [--seconds 30] [--connections 32] [--set NAME=VALUE ...] [--json FILE] [--markdown FILE]

One broker, no worker. Every figure is records/s over ``--seconds`` of wrk
load (after a warm-up), measured in this run:

* ``decode_only``  — the gateway's own app with the Kafka publish removed
                     (bench/decode_server.py): the HTTP ceiling;
* ``sluice``       — the real gateway: 202 only after acks=all;
* ``kcat``         — librdkafka producing the same request bodies, acks=all,
                     zstd: the Kafka ceiling;
* ``otelcol``      — the OpenTelemetry Collector (OTLP receiver → Kafka
                     exporter, sending queue off so it answers after the
                     write like Sluice; acks=all), fed the same records as
                     OTLP/JSON and as OTLP/protobuf (500), next to Sluice's own
                     OTLP endpoint: each encoding is compared with its own.

LogTrace bodies of 1, 100 and 500 records; OTLP/JSON bodies of 100 and 500,
OTLP/protobuf of 500. Then,
for LogTrace 100 and 500 (and OTLP 500 where said):

* ``latency_*_at_N%`` — accept latency p50/p99/p99.9 with vegeta sending at a
                     fixed rate of 25, 50 and 90 % of the maximum just measured
                     (open loop: a slow answer does not hold back the next send);
* ``*_2_processes_*`` — two gateway (and two decode-only) processes sharing
                     the port, one per core, as the Collector's Go runtime uses
                     every core (both OTLP encodings at 500 too);
* ``profile_*``    — py-spy samples of the gateway at full load, batches of 500.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

from bench import otelcol, profile, tools, vegeta
from bench.harness import Bench, add_set_option, broker, machine, processes, provision, setting_overrides
from bench.report import write
from schemas import registry as records
from sluice.kafka.clients import ensure_topics
from sluice.local.topology import wait_http
from sluice.local.harness import free_port


LOAD_SHARES = (0.25, 0.5, 0.9)  # of the measured maximum, for the paced accept-latency runs
PROFILE_S = 10
# Stacks through these files or packages; msgspec and the codecs are C, seen as the Python frame calling them.
PROFILED_MODULES = ("schemas/json_body.py", "gateway/prepare.py", "gateway/publisher.py", "aiokafka/", "httptools_impl")


def logtrace_body(batch: int) -> bytes:
    logs = [{"timestamp": "2026-11-23T10:22:01.123Z", "level": "ERROR" if i % 10 == 0 else "INFO",
             "message": f"request {i} GET /api/v1/orders/{i} took {i % 250} ms", "service": f"svc-{i % 8}",
             "trace_id": uuid.uuid4().hex, "attributes": {"http.status": 200 + i % 5, "user": f"u{i % 1000}"}}
            for i in range(batch)]
    return json.dumps({"logs": logs}).encode()


def otlp_body(batch: int) -> bytes:
    """The same records as ``logtrace_body`` in OTLP/JSON, grouped by service like an SDK would."""
    return json.dumps(otlp_request(batch)).encode()


def otlp_request(batch: int) -> dict:
    """``otlp_body``'s request, as a dict (``tools.otlp_protobuf`` gives its protobuf form)."""
    by_service: dict[str, list] = {}
    for i in range(batch):
        by_service.setdefault(f"svc-{i % 8}", []).append({
            "timeUnixNano": "1795429321123000000", "severityText": "ERROR" if i % 10 == 0 else "INFO",
            "body": {"stringValue": f"request {i} GET /api/v1/orders/{i} took {i % 250} ms"},
            "traceId": uuid.uuid4().hex,
            "attributes": [{"key": "http.status", "value": {"intValue": str(200 + i % 5)}},
                           {"key": "user", "value": {"stringValue": f"u{i % 1000}"}}]})
    return {"resourceLogs": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": s}}]},
         "scopeLogs": [{"logRecords": logs}]} for s, logs in by_service.items()]}


@contextlib.contextmanager
def decode_only(bench: Bench, replicas: int = 1) -> Iterator[str]:
    settings = bench.settings.replace(gateway_port=free_port(), gateway_processes=replicas)
    procs = []
    try:
        for _ in range(replicas):
            proc = subprocess.Popen([sys.executable, "-m", "bench.decode_server"], env={**settings.to_env()},
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            proc.stdin.write(b"".join(records.encode(r) + b"\n" for r in bench.registry))
            proc.stdin.close()
            wait_http(settings.gateway_url + "/health", 60, proc)
        yield settings.gateway_url
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)


def kcat_rps(bench: Bench, body: bytes, records_per_body: int, seconds: int) -> float:
    """Records/s of kcat producing ``body`` over and over for about ``seconds`` (acks=all, the gateway's compression)."""
    program, env = tools.binary(bench.settings.cache_dir, "kcat")
    # Estimate the count from a short first run, then time a run of about the wanted length.
    count = 2000
    for _ in range(2):
        with tempfile.NamedTemporaryFile(suffix=".bin") as fh:
            fh.write((body + b"\n") * count)
            fh.flush()
            started = time.perf_counter()
            subprocess.run([str(program), "-P", "-b", bench.settings.kafka_bootstrap, "-t", bench.settings.ingest_topic,
                            "-X", "acks=all", "-X", "enable.idempotence=true", "-z", bench.settings.kafka_compression, "-X", "linger.ms=2",
                            "-X", f"message.max.bytes={bench.settings.max_record_bytes}", "-l", fh.name],
                           env=env, check=True, capture_output=True, timeout=seconds * 10 + 60)
            elapsed = time.perf_counter() - started
        rate = count / elapsed
        count = max(count, int(rate * seconds))
    return rate * records_per_body


def run(args) -> dict:
    results: dict = {**machine(), "seconds": args.seconds, "connections": args.connections, "settings": args.set}
    with broker() as (b, tmp):
        bench = provision(b.config.bootstrap, tmp, **setting_overrides(args.set))
        headers = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
        bodies = {("logtrace", n): logtrace_body(n) for n in (1, 100, 500)}
        bodies.update({("otlp", n): otlp_body(n) for n in (100, 500)})
        bodies[("otlp_protobuf", 500)] = tools.otlp_protobuf(otlp_request(500))
        paths = {"logtrace": "/v1/logs/ingest", "otlp": "/v1/logs", "otlp_protobuf": "/v1/logs"}
        types = {"otlp_protobuf": "application/x-protobuf"}
        files = {}
        for (dialect, n), body in bodies.items():
            files[(dialect, n)] = tmp / f"{dialect}-{n}.json"
            files[(dialect, n)].write_bytes(body)

        def load(url: str, dialect: str, n: int, expect_headers=headers, seconds: int = args.seconds) -> dict:
            expect_headers = {**expect_headers, "Content-Type": types.get(dialect, "application/json")}
            tools.wrk(bench.settings.cache_dir, url + paths[dialect], files[(dialect, n)], expect_headers, 3,
                      args.connections)  # warm-up
            r = tools.wrk(bench.settings.cache_dir, url + paths[dialect], files[(dialect, n)], expect_headers,
                          seconds, args.connections)
            if r.non_2xx:
                raise RuntimeError(f"{r.non_2xx} requests to {url} were not answered 2xx")
            return {"records_per_s": r.rps * n, "requests_per_s": r.rps, "timeouts": r.timeouts,
                    "wrk_cpu_share": r.cpu_s / r.seconds,
                    **{f"latency_{p}_ms": v for p, v in r.latency_ms.items()}}

        with decode_only(bench) as url:
            for dialect, n in bodies:
                results[f"decode_only_{dialect}_{n}"] = load(url, dialect, n)
        with processes(bench, "gateway") as (gateway,):
            for dialect, n in bodies:
                results[f"sluice_{dialect}_{n}"] = load(bench.settings.gateway_url, dialect, n)
            with profile.sampling(gateway.proc.pid, PROFILE_S, PROFILED_MODULES) as where:
                load(bench.settings.gateway_url, "logtrace", 500, seconds=PROFILE_S)
            results["profile_sluice_logtrace_500"] = profile.figures(where)
            paced = vegeta.build(bench.settings.cache_dir)
            for n in (100, 500):
                top = results[f"sluice_logtrace_{n}"]["requests_per_s"]
                for share in LOAD_SHARES:
                    r = vegeta.attack(paced, bench.settings.gateway_url + paths["logtrace"], bodies[("logtrace", n)],
                                      headers, top * share, args.seconds)
                    results[f"latency_logtrace_{n}_at_{share:.0%}"] = r.figures(n)
        both_cores = (("logtrace", 100), ("logtrace", 500), ("otlp", 500), ("otlp_protobuf", 500))
        with decode_only(bench, replicas=2) as url:
            for dialect, n in both_cores:
                results[f"decode_only_2_processes_{dialect}_{n}"] = load(url, dialect, n)
        replicas = bench.settings.replace(gateway_processes=2)
        with processes(bench, "gateway", "gateway", settings=replicas):
            for dialect, n in both_cores:
                results[f"sluice_2_processes_{dialect}_{n}"] = load(bench.settings.gateway_url, dialect, n)
        for n in (1, 100, 500):
            results[f"kcat_logtrace_{n}"] = {"records_per_s": kcat_rps(bench, bodies[("logtrace", n)], n,
                                                                       min(args.seconds, 15))}
        if not args.skip_otelcol:
            collector = otelcol.build(bench.settings.cache_dir)
            peer_topic = bench.settings.ingest_topic + "-otelcol"  # as many partitions as Sluice's
            asyncio.run(ensure_topics(bench.settings.replace(ingest_topic=peer_topic)))
            with otelcol.running(collector, b.config.bootstrap, peer_topic, tmp, bench.settings.kafka_compression) as url:
                for n in (100, 500):
                    results[f"otelcol_otlp_{n}"] = load(url, "otlp", n, {})
                results["otelcol_otlp_protobuf_500"] = load(url, "otlp_protobuf", 500, {})
    for dialect, n in bodies:
        ours = results[f"sluice_{dialect}_{n}"]["records_per_s"]
        results[f"ratio_sluice_vs_decode_only_{dialect}_{n}"] = ours / results[f"decode_only_{dialect}_{n}"]["records_per_s"]
        if f"sluice_2_processes_{dialect}_{n}" in results:
            results[f"ratio_sluice_2_processes_vs_decode_only_2_processes_{dialect}_{n}"] = (
                results[f"sluice_2_processes_{dialect}_{n}"]["records_per_s"]
                / results[f"decode_only_2_processes_{dialect}_{n}"]["records_per_s"])
        if dialect == "logtrace":
            results[f"ratio_sluice_vs_kcat_{n}"] = ours / results[f"kcat_logtrace_{n}"]["records_per_s"]
        if f"otelcol_{dialect}_{n}" in results and dialect.startswith("otlp"):  # each encoding against its own
            peer = results[f"otelcol_{dialect}_{n}"]["records_per_s"]
            results[f"ratio_sluice_vs_otelcol_{dialect}_{n}"] = ours / peer
            if f"sluice_2_processes_{dialect}_{n}" in results:
                results[f"ratio_sluice_2_processes_vs_otelcol_{dialect}_{n}"] = (
                    results[f"sluice_2_processes_{dialect}_{n}"]["records_per_s"] / peer)
    return results


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--skip-otelcol", action="store_true", help="no Collector peer (it is built with Go on first use)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", type=Path)
    add_set_option(ap)  # the gateways' and the decode-only ceiling's settings (e.g. kafka_sticky_partition_s=0)
    args = ap.parse_args()
    setting_overrides(args.set, ap)  # refused now, not after the broker has started
    results = run(args)
    write("gateway alone: HTTP → Kafka acknowledged", results, args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
