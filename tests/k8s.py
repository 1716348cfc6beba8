"""Offline tools for checking deploy/k8s: the real kustomize, and schemas for custom resources.

kustomize is built once from the Go module proxy into Sluice's cache. The
Prometheus Operator's PodMonitor and ServiceMonitor are checked against the
CRDs in that project's own Go module (same proxy). Strimzi's CRDs are not
published anywhere this machine reaches, so KafkaTopic is checked against a
schema written here from Strimzi's KafkaTopic reference, closed to unknown
fields like the others.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path

import yaml

from sluice.settings import load_settings

KUSTOMIZE = "sigs.k8s.io/kustomize/kustomize/v5@v5.8.2"  # v5.8.3 needs Go 1.27
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0"

KAFKA_TOPIC = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"enum": ["kafka.strimzi.io/v1beta2", "kafka.strimzi.io/v1"]},
        "kind": {"const": "KafkaTopic"},
        "metadata": {
            "type": "object",
            "required": ["name", "labels"],
            "properties": {"labels": {"type": "object", "required": ["strimzi.io/cluster"]}},
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "topicName": {"type": "string"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object", "additionalProperties": {"type": ["string", "integer", "boolean"]}},
            },
        },
    },
}


def _go(*args: str, **env: str) -> str:
    done = subprocess.run(["go", *args], capture_output=True, text=True, env={**os.environ, **env}, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"go {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


@functools.cache
def kustomize() -> Path:
    bin_dir = load_settings({}).cache_dir / "bin"
    binary = bin_dir / "kustomize"
    version = KUSTOMIZE.rsplit("@", 1)[1]
    stamp = bin_dir / "kustomize.version"
    if not binary.exists() or not stamp.exists() or stamp.read_text() != version:
        _go("install", KUSTOMIZE, GOBIN=str(bin_dir))
        stamp.write_text(version)
    return binary


def build(overlay: Path) -> str:
    done = subprocess.run([str(kustomize()), "build", str(overlay)], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"kustomize build {overlay} failed:\n{done.stderr}")
    return done.stdout


def closed(node):
    """Refuse unknown fields wherever an object lists its properties (kubectl's strict decoding)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for child in node.values():
            closed(child)
    elif isinstance(node, list):
        for child in node:
            closed(child)
    return node


@functools.cache
def custom_schemas() -> dict[str, dict]:
    module = Path(json.loads(_go("mod", "download", "-json", PROMETHEUS_OPERATOR))["Dir"])
    schemas = {"KafkaTopic": KAFKA_TOPIC}
    for kind, file in (("PodMonitor", "podmonitors"), ("ServiceMonitor", "servicemonitors")):
        crd = yaml.safe_load((module / "example" / "prometheus-operator-crd" / f"monitoring.coreos.com_{file}.yaml")
                             .read_text())
        version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
        schema = closed(version["schema"]["openAPIV3Schema"])
        schema["properties"]["metadata"].pop("additionalProperties", None)
        schemas[kind] = schema
    return schemas
