"""deploy/ makes every listener reachable: HTTPS through a cert-manager Ingress, Logstash on published ports,
each bound to all interfaces inside its container."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from schemas.dialects.logflux import MAX_BATCH_ENTRIES, MAX_ENTRY_BYTES
from sluice.settings import load_settings
from tests import k8s

ROOT = Path(__file__).parents[2]
OVERLAYS = sorted(p.parent for p in (ROOT / "deploy" / "k8s" / "overlays").glob("*/kustomization.yaml"))
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _rendered(overlay: Path) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(k8s.build(overlay)) if d}


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_kubernetes_publishes_https_and_logstash_from_listeners_bound_to_all_interfaces(overlay):
    docs = _rendered(overlay)
    settings = load_settings(environ=docs[("ConfigMap", "sluice")]["data"])
    assert (settings.gateway_host, settings.logstash_host) == ("0.0.0.0", "0.0.0.0")

    pod = docs[("Deployment", "sluice-gateway")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    ports = {p["name"]: (p["containerPort"], p.get("protocol", "TCP")) for p in container["ports"]}
    assert ports == {"http": (settings.gateway_port, "TCP"), "logstash": (settings.logstash_tcp_port, "TCP"),
                     "logstash-udp": (settings.logstash_udp_port, "UDP")}
    inside = {p["name"]: (p["targetPort"], p.get("protocol", "TCP"))
              for p in docs[("Service", "sluice-gateway")]["spec"]["ports"]}
    assert inside == {"http": ("http", "TCP"), "logstash": ("logstash", "TCP"), "logstash-udp": ("logstash-udp", "UDP")}
    outside = docs[("Service", "sluice-logstash")]["spec"]
    assert outside["type"] == "LoadBalancer" and [p["targetPort"] for p in outside["ports"]] == ["logstash"]

    # HTTPS: the Ingress's cert-manager certificate, and the same secret gives Logstash its TLS.
    ingress = docs[("Ingress", "sluice-gateway")]
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    (tls,) = ingress["spec"]["tls"]
    assert set(tls["hosts"]) == {rule["host"] for rule in ingress["spec"]["rules"]}
    (volume,) = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == tls["secretName"]]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert {env["SLUICE_LOGSTASH_TLS_CERT"], env["SLUICE_LOGSTASH_TLS_KEY"]} == {
        f"{mount['mountPath']}/tls.crt", f"{mount['mountPath']}/tls.key"}
    # nginx's own body limit would refuse what the gateway accepts (1 MiB by default).
    annotations = ingress["metadata"]["annotations"]
    size = re.fullmatch(r"(\d+)([kmg])", annotations["nginx.ingress.kubernetes.io/proxy-body-size"])
    assert int(size.group(1)) * _UNITS[size.group(2)] >= MAX_BATCH_ENTRIES * MAX_ENTRY_BYTES


def test_compose_publishes_logstash_and_offers_https_from_mounted_files():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    gateway = compose["services"]["gateway"]
    assert {"8080-8081:8080", "5000-5001:5000/tcp", "5000-5001:5000/udp"} <= set(gateway["ports"])
    assert gateway["environment"]["SLUICE_TLS_CERT_FILE"] == "${SLUICE_TLS_CERT_FILE:-}"
    assert any(v.endswith(":/etc/sluice/tls:ro") for v in gateway["volumes"])
    assert "https" in " ".join(gateway["healthcheck"]["test"])
    # The image binds every listener to all interfaces; compose and Kubernetes publish them.
    dockerfile = (ROOT / "Dockerfile").read_text()
    for setting in ("SLUICE_GATEWAY_HOST=0.0.0.0", "SLUICE_LOGSTASH_HOST=0.0.0.0"):
        assert setting in dockerfile
    assert re.search(r"^EXPOSE .*\b5000/tcp\b.*\b5000/udp\b", dockerfile, re.M)
