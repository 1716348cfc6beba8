"""deploy/ is checked offline: Kubernetes manifests and docker-compose.yml against their
schemas, and the Grafana dashboards against the metrics Sluice really exports."""

import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from compose_spec import ComposeSpecification
from prometheus_client import Counter, Gauge, Histogram

from sluice import metrics
from tests import k8s

ROOT = Path(__file__).parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))

def exported_series() -> set[str]:
    """Every series name the metrics module can produce."""
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names |= {value._name + "_total", value._name + "_created"}
        elif isinstance(value, Gauge):
            names.add(value._name)
        elif isinstance(value, Histogram):
            names |= {value._name + suffix for suffix in ("_bucket", "_sum", "_count", "_created")}
    return names


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_every_overlay_builds_and_every_resource_validates_strictly(overlay):
    docs = [d for d in yaml.safe_load_all(k8s.build(overlay)) if d]
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "Secret",
            "PodMonitor", "ServiceMonitor"} <= kinds
    custom = k8s.custom_schemas()
    for doc in docs:
        if doc["kind"] in custom:
            jsonschema.validate(doc, custom[doc["kind"]])
        else:
            kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
        assert doc["metadata"].get("namespace", overlay.name) in ("sluice", "sluice-staging") or doc["kind"] == "Namespace"


def test_overlays_say_what_differs():
    production = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(k8s.build(K8S / "overlays" / "production"))}
    staging = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(k8s.build(K8S / "overlays" / "staging"))}
    assert production[("ConfigMap", "sluice")]["data"]["SLUICE_CLICKHOUSE_CLUSTER"] == "sluice"
    assert ("KafkaTopic", "sluice-overflow") in production and ("Job", "sluice-migrate") in production
    assert staging[("ConfigMap", "sluice")]["data"]["SLUICE_GATEWAY_ENVIRONMENT"] == "staging"
    assert staging[("Deployment", "sluice-gateway")]["metadata"]["namespace"] == "sluice-staging"
    assert ("Namespace", "sluice-staging") in staging
    # Every topic Sluice uses has a KafkaTopic, with the partitions the settings name.
    from sluice.settings import Settings
    topics = {getattr(Settings, f) for f in dir(Settings) if f.endswith("_topic")}
    assert {name for kind, name in production if kind == "KafkaTopic"} == topics
    partitions = int(production[("ConfigMap", "sluice")]["data"]["SLUICE_TOPIC_PARTITIONS"])
    assert production[("KafkaTopic", "sluice-ingest")]["spec"]["partitions"] == partitions
    assert production[("Deployment", "sluice-worker")]["spec"]["replicas"] <= partitions


def test_custom_resource_schemas_can_fail():
    custom = k8s.custom_schemas()
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": {"name": "x"},
               "spec": {"selector": {}, "podMetricsEndpoints": [{"port": "http", "pathz": "/metrics"}]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(monitor, custom["PodMonitor"])
    topic = {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaTopic", "metadata": {"name": "t"},
             "spec": {"partitions": 0, "replicas": 3}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(topic, custom["KafkaTopic"])


def test_kubernetes_validation_can_fail():
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                                      "spec": {"portz": []}}, kubernetes_validate.latest_version(), strict=True)


def _strict_compose_schema() -> dict:
    return k8s.closed(ComposeSpecification.model_json_schema())


def test_docker_compose_validates_strictly():
    schema = _strict_compose_schema()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    jsonschema.validate({k: v for k, v in compose.items() if not k.startswith("x-")}, schema)
    compose["services"]["gateway"]["portz"] = ["8080"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in compose.items() if not k.startswith("x-")}, schema)


def test_every_dashboard_panel_queries_metrics_sluice_exports():
    series = exported_series()
    assert "sluice_gateway_records_accepted_total" in series and "sluice_worker_insert_seconds_bucket" in series
    queried = set()
    for path in (ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                if panel["datasource"]["type"] == "prometheus":
                    names = set(re.findall(r"\bsluice_[a-z_]+", target["expr"]))
                    assert names, f"{path.name}: {panel['title']} queries no Sluice metric"
                    assert names <= series, f"{path.name}: {panel['title']} queries unknown {names - series}"
                    queried |= names
                else:
                    assert "sluice.logs" in target["rawSql"] and "TenantId" in target["rawSql"]
    assert len(queried) >= 10
