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
from prometheus_client import Counter, Histogram

from sluice import metrics

ROOT = Path(__file__).parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))


def exported_series() -> set[str]:
    """Every series name the metrics module can produce."""
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names |= {value._name + "_total", value._name + "_created"}
        elif isinstance(value, Histogram):
            names |= {value._name + suffix for suffix in ("_bucket", "_sum", "_count", "_created")}
    return names


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_kubernetes_manifests_validate_strictly(path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_kubernetes_validation_can_fail():
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                                      "spec": {"portz": []}}, kubernetes_validate.latest_version(), strict=True)


def _strict_compose_schema() -> dict:
    schema = ComposeSpecification.model_json_schema()

    def close(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for child in node.values():
                close(child)
        elif isinstance(node, list):
            for child in node:
                close(child)

    close(schema)
    return schema


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
