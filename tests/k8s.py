"""Offline tools for checking deploy/k8s: the real kustomize, and schemas for custom resources.

kustomize is built once from the Go module proxy into Sluice's cache. The
Prometheus Operator's PodMonitor and ServiceMonitor are checked against the
CRDs in that project's own Go module (same proxy). Strimzi's CRDs are not
published anywhere this machine reaches, so KafkaTopic is checked against a
schema written here from Strimzi's KafkaTopic reference, closed to unknown
fields like the others. ``allowed`` answers, from rendered NetworkPolicies,
whether one pod may open a connection to another on a port.
"""

from __future__ import annotations

import functools
import json
import re
import os
import subprocess
from dataclasses import dataclass, field
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


def _python_pattern(pattern: str) -> str:
    """A Go (RE2) pattern as Python reads it: an inline flag group after ``^`` moves to the front."""
    match = re.match(r"^\^\(\?([a-z]+)\)(.*)$", pattern)
    return f"(?{match.group(1)})^{match.group(2)}" if match else pattern


def closed(node):
    """Refuse unknown fields wherever an object lists its properties (kubectl's strict decoding)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        if isinstance(node.get("pattern"), str):
            node["pattern"] = _python_pattern(node["pattern"])
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
    for kind, file in (("PodMonitor", "podmonitors"), ("ServiceMonitor", "servicemonitors"),
                       ("PrometheusRule", "prometheusrules")):
        crd = yaml.safe_load((module / "example" / "prometheus-operator-crd" / f"monitoring.coreos.com_{file}.yaml")
                             .read_text())
        version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
        schema = closed(version["schema"]["openAPIV3Schema"])
        schema["properties"]["metadata"].pop("additionalProperties", None)
        schemas[kind] = schema
    return schemas


# NetworkPolicy semantics, enough to ask "may this pod reach that one on this port?" of rendered manifests.

@dataclass(frozen=True)
class Pod:
    """A pod as NetworkPolicies see it: namespace, labels, and named container ports."""
    namespace: str
    labels: dict
    ports: dict = field(default_factory=dict)  # name -> (port, protocol)

    @property
    def namespace_labels(self) -> dict:
        return {"kubernetes.io/metadata.name": self.namespace}


def selects(selector: dict | None, labels: dict) -> bool:
    """Kubernetes label-selector semantics: matchLabels and matchExpressions; {} selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if not {"In": lambda: labels.get(key) in values, "NotIn": lambda: labels.get(key) not in values,
                "Exists": lambda: key in labels, "DoesNotExist": lambda: key not in labels}[op]():
            return False
    return True


def workload_pods(docs: list[dict]) -> dict[str, Pod]:
    """The pod of every Deployment and Job, by its component label."""
    pods = {}
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            template = doc["spec"]["template"]
            ports = {p["name"]: (p["containerPort"], p.get("protocol", "TCP"))
                     for c in template["spec"]["containers"] for p in c.get("ports", []) if "name" in p}
            labels = template["metadata"]["labels"]
            pods[labels["app.kubernetes.io/component"]] = Pod(doc["metadata"]["namespace"], labels, ports)
    return pods


def _peer_matches(peers: list | None, peer: Pod, namespace: str) -> bool:
    if not peers:  # absent or empty: every peer
        return True
    for entry in peers:
        if "ipBlock" in entry:
            continue  # pods are never matched by address here
        if "namespaceSelector" in entry:
            if selects(entry["namespaceSelector"], peer.namespace_labels) and (
                    "podSelector" not in entry or selects(entry["podSelector"], peer.labels)):
                return True
        elif peer.namespace == namespace and selects(entry.get("podSelector"), peer.labels):
            return True
    return False


def _port_matches(ports: list | None, port: int, protocol: str, destination: Pod) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):  # a named port is the destination pod's
            wanted = destination.ports.get(wanted, (None, None))[0]
        if wanted is not None and wanted <= port <= entry.get("endPort", wanted):
            return True
    return False


def _side_allows(policies: list[dict], pod: Pod, direction: str, peer: Pod, port: int, protocol: str,
                 destination: Pod) -> bool:
    applying = []
    for policy in policies:
        spec = policy["spec"]
        types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
        if policy["metadata"]["namespace"] == pod.namespace and direction in types and selects(
                spec.get("podSelector"), pod.labels):
            applying.append(policy)
    if not applying:
        return True  # a pod no policy selects is not isolated
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    return any(_peer_matches(rule.get(peers_key), peer, policy["metadata"]["namespace"])
               and _port_matches(rule.get("ports"), port, protocol, destination)
               for policy in applying for rule in policy["spec"].get(rules_key) or [])


def allowed(policies: list[dict], source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
    """Whether the policies let ``source`` open a connection to ``destination:port``: the source's
    egress and the destination's ingress must both admit it."""
    return (_side_allows(policies, source, "Egress", destination, port, protocol, destination)
            and _side_allows(policies, destination, "Ingress", source, port, protocol, destination))
