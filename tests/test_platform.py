"""Platform add-ons: pinned upstream charts on the cluster's provider, the issuer after cert-manager, switches."""

from __future__ import annotations

from typing import Any

import pytest

from components.platform import CHARTS, CLUSTER_ISSUER
from tests.conftest import inputs, of_type

RELEASE = "kubernetes:helm.sh/v3:Release"
ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
EVERYTHING_ON = {
    "openedx:platform": {
        "tls": {"issuer": "letsencrypt", "email": "ops@example.com"},
        "metricsServer": True,
        "monitoring": {"enabled": True},
        "backups": {"enabled": True, "provider": "aws", "bucket": "backups", "config": {"region": "eu-west-1"}},
    }
}


def platform_releases(recording) -> dict[str, dict[str, Any]]:
    return {inputs(r)["name"]: inputs(r) for r in of_type(recording, RELEASE) if "repositoryOpts" in inputs(r)}


def test_every_add_on_is_a_pinned_release_on_the_cluster_provider(evaluate_stack) -> None:
    recording = evaluate_stack(config=EVERYTHING_ON)
    provider = next(r for r in recording.resources.values() if r.type == "pulumi:providers:kubernetes")
    releases = platform_releases(recording)
    assert set(releases) == set(CHARTS)
    for name, release in releases.items():
        assert release["chart"] == CHARTS[name].chart
        assert release["version"] == CHARTS[name].version
        assert release["repositoryOpts"]["repo"] == CHARTS[name].repository
        assert release["atomic"] is True
    for registration in of_type(recording, RELEASE) + of_type(recording, ISSUER):
        assert registration.provider.startswith(provider.urn + "::")


def test_cluster_issuer_waits_for_cert_manager(evaluate_stack) -> None:
    recording = evaluate_stack(config=EVERYTHING_ON)
    (issuer,) = of_type(recording, ISSUER)
    cert_manager = next(r for r in of_type(recording, RELEASE) if inputs(r)["name"] == "cert-manager")
    assert cert_manager.urn in issuer.depends_on
    spec = inputs(issuer)["spec"]["acme"]
    assert spec["email"] == "ops@example.com"
    assert spec["server"].startswith("https://acme-v02.api.letsencrypt.org")
    assert inputs(issuer)["metadata"]["name"] == CLUSTER_ISSUER
    assert inputs(cert_manager)["values"]["crds"] == {"enabled": True, "keep": True}


SWITCHES = [
    ("ingress", {"ingress": {"install": False}}, {"traefik"}),
    ("tls", {"tls": {"issuer": "none"}}, {"cert-manager", "cluster-issuer"}),
    ("metrics-server", {"metricsServer": False}, {"metrics-server"}),
    ("monitoring", {"monitoring": {"enabled": False}}, {"kube-prometheus-stack", "openedx-alerts"}),
    ("backups", {"backups": {"enabled": False}}, {"velero"}),
]


def add_on_names(recording) -> set[str]:
    """Every child of the platform component: Releases by release name, other resources by their name."""
    children = [r for r in recording.resources.values() if r.parent.endswith("$openedx:index:Platform::platform")]
    return {inputs(r)["name"] if r.type == RELEASE else r.name.removeprefix("platform-") for r in children}


@pytest.mark.parametrize(("switch", "removed"), [(s[1], s[2]) for s in SWITCHES], ids=[s[0] for s in SWITCHES])
def test_switching_an_add_on_off_removes_it_and_nothing_else(evaluate_stack, switch, removed) -> None:
    everything = add_on_names(evaluate_stack(config=EVERYTHING_ON))
    platform = {**EVERYTHING_ON["openedx:platform"], **switch}
    without = add_on_names(evaluate_stack(config={"openedx:platform": platform}))
    assert everything - without == removed


def test_local_ingress_uses_node_ports_and_long_timeouts(evaluate_stack) -> None:
    traefik = platform_releases(evaluate_stack(config=EVERYTHING_ON))["traefik"]["values"]
    assert traefik["service"]["spec"] == {"type": "NodePort", "externalTrafficPolicy": "Local"}
    for port in ("web", "websecure"):
        assert traefik["ports"][port]["transport"]["respondingTimeouts"]["readTimeout"] == "600s"


def test_metrics_server_trusts_local_kubelets(evaluate_stack) -> None:
    values = platform_releases(evaluate_stack(config=EVERYTHING_ON))["metrics-server"]["values"]
    assert "--kubelet-insecure-tls" in values["args"]


@pytest.mark.parametrize("monitoring", [True, False])
def test_instances_let_prometheus_scrape_them_only_when_monitoring_runs(evaluate_stack, monitoring) -> None:
    platform = {**EVERYTHING_ON["openedx:platform"], "monitoring": {"enabled": monitoring}}
    recording = evaluate_stack(config={"openedx:platform": platform,
                                       "openedx:instances": [{"name": "demo", "lmsHost": "demo.example.com"}]})
    foundation = next(inputs(r) for r in of_type(recording, RELEASE) if r.name == "demo-foundation")
    assert foundation["values"]["networkPolicy"]["monitoring"]["enabled"] is monitoring
