"""deploy/ is checked offline: Kubernetes manifests and docker-compose.yml against their
schemas, the NetworkPolicies by what they let through, docker-compose.yml for ports
open to the world and passwords in the file, and the Grafana dashboards against the
metrics Sluice really exports."""

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
            "PodMonitor", "ServiceMonitor", "PrometheusRule", "NetworkPolicy"} <= kinds
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


def test_alert_rules_query_metrics_sluice_exports_and_the_operator_holds_the_same_rules():
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "rules.yml").read_text())
    series = exported_series()
    alerts = [r for group in rules["groups"] for r in group["rules"]]
    for rule in alerts:
        names = set(re.findall(r"\bsluice_[a-z_]+", rule["expr"]))
        assert names and names <= series, f"{rule['alert']} queries unknown {names - series}"
    assert {"SluiceBacklogAging", "SluiceBacklogNearRetention"} <= {r["alert"] for r in alerts}
    # Each fires before the backlog's age reaches half the retention: its threshold is a smaller share of it.
    shares = [float(m) for r in alerts for m in re.findall(r"> ([0-9.]+) \* on \(topic\)", r["expr"])]
    assert shares and all(0 < share < 0.5 for share in shares)
    operator = yaml.safe_load((K8S / "components" / "prometheus-operator" / "rules.yaml").read_text())
    assert operator["kind"] == "PrometheusRule" and operator["spec"] == rules
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert any("rules.yml:/etc/prometheus/rules.yml" in v for v in compose["services"]["prometheus"]["volumes"])
    assert yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())["rule_files"] == [
        "/etc/prometheus/rules.yml"]


def _rendered(overlay: Path) -> tuple[list[dict], dict[str, k8s.Pod]]:
    docs = [d for d in yaml.safe_load_all(k8s.build(overlay)) if d]
    return [d for d in docs if d["kind"] == "NetworkPolicy"], k8s.workload_pods(docs)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_every_pod_is_isolated_and_every_component_has_a_policy_of_its_own(overlay):
    policies, pods = _rendered(overlay)
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {
        "Ingress", "Egress"} and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny, "no default-deny policy"
    assert {"gateway", "worker", "redis"} <= set(pods)
    for component, pod in pods.items():
        own = [p for p in policies if p["spec"]["podSelector"] and k8s.selects(p["spec"]["podSelector"], pod.labels)]
        assert own, f"{component} has no NetworkPolicy of its own"
    # A pod the manifests do not know (kubectl run in the namespace) gets nothing and reaches nothing.
    stranger = k8s.Pod(pods["gateway"].namespace, {"run": "debug"})
    assert not k8s.allowed(policies, stranger, pods["redis"], 6379)
    assert not k8s.allowed(policies, stranger, pods["worker"], 6066)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_network_policies_let_through_what_each_component_needs_and_nothing_else(overlay):
    policies, pods = _rendered(overlay)
    gateway, worker, redis = pods["gateway"], pods["worker"], pods["redis"]
    ingress = k8s.Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
    prometheus = k8s.Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
    elsewhere = k8s.Pod("default", {"app.kubernetes.io/name": "sluice", "app.kubernetes.io/component": "gateway"})
    dns = k8s.Pod("kube-system", {"k8s-app": "kube-dns"})
    kafka, clickhouse = k8s.Pod("kafka", {"app": "kafka"}), k8s.Pod("clickhouse", {"app": "clickhouse"})
    ok = lambda source, destination, port, protocol="TCP": k8s.allowed(policies, source, destination, port, protocol)
    # Redis, which has no password, answers gateways only.
    assert ok(gateway, redis, 6379)
    assert not any(ok(p, redis, 6379) for p in (worker, ingress, prometheus, elsewhere))
    # The workers' port: Prometheus only.
    assert ok(prometheus, worker, 6066)
    assert not any(ok(p, worker, 6066) for p in (gateway, ingress, elsewhere, redis))
    # Gateways: the ingress controller, and Prometheus for /metrics; on their HTTP port only.
    assert ok(ingress, gateway, 8080) and ok(prometheus, gateway, 8080)
    assert not ok(elsewhere, gateway, 8080) and not ok(ingress, gateway, 5000) and not ok(worker, gateway, 8080)
    # Out: Kafka and ClickHouse for gateways and workers, names for everyone, nothing else.
    for pod in (gateway, worker):
        assert ok(pod, kafka, 9092) and ok(pod, clickhouse, 8123) and ok(pod, dns, 53, "UDP")
        assert not ok(pod, k8s.Pod("web", {}), 443)
    assert not ok(worker, redis, 6379)
    assert not ok(redis, kafka, 9092) and not ok(redis, clickhouse, 8123)
    if "migrate" in pods:
        assert ok(pods["migrate"], clickhouse, 8123) and not ok(pods["migrate"], kafka, 9092)


def test_the_network_policy_check_can_fail():
    pods = {"gateway": k8s.Pod("sluice", {"c": "gateway"}), "redis": k8s.Pod("sluice", {"c": "redis"},
                                                                            {"redis": (6379, "TCP")})}
    assert k8s.allowed([], pods["gateway"], pods["redis"], 6379)  # no policy: not isolated
    deny = {"metadata": {"namespace": "sluice"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    assert not k8s.allowed([deny], pods["gateway"], pods["redis"], 6379)
    to_redis = {"metadata": {"namespace": "sluice"}, "spec": {
        "podSelector": {"matchLabels": {"c": "redis"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"c": "gateway"}}}], "ports": [{"port": "redis"}]}]}}
    from_gateway = {"metadata": {"namespace": "sluice"}, "spec": {
        "podSelector": {"matchExpressions": [{"key": "c", "operator": "In", "values": ["gateway"]}]},
        "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 6379}]}]}}
    assert k8s.allowed([deny, to_redis, from_gateway], pods["gateway"], pods["redis"], 6379)
    assert not k8s.allowed([deny, to_redis, from_gateway], pods["gateway"], pods["redis"], 6380)
    assert not k8s.allowed([deny, to_redis], pods["gateway"], pods["redis"], 6379)  # egress still denied


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_publishes_only_the_gateways_to_the_world():
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            published = str(port)
            if name == "gateway":
                continue  # the product
            assert published.startswith("127.0.0.1:"), f"{name} publishes {published} on every interface"
    assert "ports" not in _compose()["services"]["worker"]  # its /metrics and /internal/sql stay inside


def test_compose_holds_no_password_and_requires_each_from_the_environment():
    compose = _compose()
    required = re.compile(r"\$\{([A-Z_]+):\?[^}]+\}")
    env = {name: service.get("environment", {}) for name, service in compose["services"].items()}
    assert required.fullmatch(env["clickhouse"]["CLICKHOUSE_PASSWORD"])
    assert required.fullmatch(env["grafana"]["CLICKHOUSE_PASSWORD"])
    assert required.fullmatch(env["grafana"]["GF_SECURITY_ADMIN_PASSWORD"]).group(1) == "GRAFANA_ADMIN_PASSWORD"
    assert required.fullmatch(env["worker"]["SLUICE_SECRETS_KEY"])
    url = compose["x-sluice-env"]["SLUICE_CLICKHOUSE_URL"]
    assert required.search(url).group(1) == "CLICKHOUSE_PASSWORD" and url.startswith("http://default:${")
    assert env["grafana"]["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env["grafana"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    # Nothing that looks like a password is spelled out anywhere, healthchecks included.
    for name, service in compose["services"].items():
        assert "--password" not in json.dumps(service), name
        for key, value in env[name].items():
            if key.endswith("_FILE"):  # a path to a secret (SLUICE_TLS_KEY_FILE): optional, but never spelled out
                assert re.fullmatch(r"\$\{%s:-\}" % key, str(value)), f"{name}: {key} is a literal"
            elif any(word in key for word in ("PASSWORD", "SECRET", "KEY")):
                assert required.fullmatch(str(value)), f"{name}: {key} is a literal"
    assert "SLUICE_SECRETS_KEY" not in json.dumps(compose["services"]["gateway"])


def test_strimzi_topics_and_compose_are_as_durable_as_the_settings_they_give_sluice():
    # Sluice refuses to start against a topic weaker than its settings (sluice/kafka/durability.py).
    from sluice.kafka.durability import min_insync_replicas
    from sluice.settings import load_settings
    production = list(yaml.safe_load_all(k8s.build(K8S / "overlays" / "production")))
    (config,) = [d["data"] for d in production if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "sluice"]
    settings = load_settings(environ=config)
    assert (settings.topic_replication, min_insync_replicas(settings)) == (3, 2)
    for topic in (d for d in production if d["kind"] == "KafkaTopic"):
        assert topic["spec"]["replicas"] >= settings.topic_replication, topic["metadata"]["name"]
        assert int(topic["spec"]["config"]["min.insync.replicas"]) >= 2, topic["metadata"]["name"]
    compose = _compose()
    one_broker = load_settings(environ={k: str(v) for k, v in compose["x-sluice-env"].items()})
    assert (one_broker.topic_replication, min_insync_replicas(one_broker)) == (1, 1)
    assert int(compose["services"]["kafka"]["environment"]["KAFKA_MIN_INSYNC_REPLICAS"]) == 1
