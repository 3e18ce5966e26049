"""Platform add-ons: pinned upstream charts on the cluster's provider, the issuer after cert-manager, switches."""

from __future__ import annotations

from typing import Any

import pytest

from components.platform import CHARTS, CLUSTER_ISSUER, traefik_values
from components.settings.instance import InstanceSettings
from components.settings.model import ConfigError
from components.settings.platform import PlatformSettings, https_redirect_problems
from components.settings.stack import load
from tests.conftest import STACKS, ExampleStacks, inputs, of_type

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


# --- the edge: client addresses and HTTPS ----------------------------------------------------------------------------


def traefik(platform: dict[str, Any], cloud: str = "aws") -> dict[str, Any]:
    return traefik_values(PlatformSettings.model_validate(platform), cloud, production=False, monitoring=False)


NLB = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}


@pytest.mark.parametrize(("cloud", "ingress", "service"), [
    ("aws", {}, {"annotations": NLB, "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}}),
    ("gcp", {}, {"annotations": {}, "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}}),
    ("azure", {}, {"annotations": {}, "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}}),
    ("local", {}, {"annotations": {}, "spec": {"type": "NodePort", "externalTrafficPolicy": "Local"}}),
    # A NodePort Service gets no load balancer, hence no load balancer annotation.
    ("aws", {"serviceType": "NodePort"},
     {"annotations": {}, "spec": {"type": "NodePort", "externalTrafficPolicy": "Local"}}),
    ("local", {"serviceType": "LoadBalancer"},
     {"annotations": {}, "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}}),
])
def test_each_cloud_gets_a_load_balancer_that_keeps_client_addresses(cloud, ingress, service) -> None:
    assert traefik({"ingress": ingress}, cloud)["service"] == service


@pytest.mark.parametrize("cloud", ["local", "aws", "gcp", "azure"])
def test_traefik_trusts_no_ones_forwarded_headers(cloud) -> None:
    ports = traefik({}, cloud)["ports"]
    for name in ("web", "websecure"):
        assert ports[name]["forwardedHeaders"] == {"trustedIPs": [], "insecure": False}
        assert "proxyProtocol" not in ports[name]


REDIRECT = {"to": "websecure", "scheme": "https", "permanent": True}


@pytest.mark.parametrize(("platform", "redirects"), [
    ({}, True),  # the default issuer, letsencrypt
    ({"tls": {"issuer": "selfsigned"}}, True),
    ({"tls": {"issuer": "none"}}, False),
    ({"tls": {"issuer": "none"}, "ingress": {"httpsRedirect": True}}, True),  # certificates of your own
    ({"tls": {"issuer": "letsencrypt-staging"}, "ingress": {"httpsRedirect": False}}, False),
])
def test_http_is_redirected_to_https_when_certificates_are_issued(platform, redirects) -> None:
    web, websecure = (traefik(platform)["ports"][name] for name in ("web", "websecure"))
    if redirects:
        assert web["http"] == {"redirections": {"entryPoint": REDIRECT}}
        # ACME HTTP-01 challenges stay on plain HTTP.
        assert web["allowACMEByPass"] is True
    else:
        assert "http" not in web and "allowACMEByPass" not in web
    assert "http" not in websecure and "allowACMEByPass" not in websecure


EDGE = {
    # stack: (Service type, its annotations, HTTP redirected), or None when the stack installs no Traefik
    "Pulumi.local.yaml": ("NodePort", {}, True),
    "Pulumi.e2e.yaml": None,
    "Pulumi.aws-dev.yaml": ("LoadBalancer", NLB, True),
    "Pulumi.aws-production.yaml": ("LoadBalancer", NLB, True),
    "Pulumi.gcp-dev.yaml": ("LoadBalancer", {}, True),
    "Pulumi.gcp-production.yaml": ("LoadBalancer", {}, True),
    "Pulumi.azure-dev.yaml": ("LoadBalancer", {}, True),
    "Pulumi.azure-production.yaml": ("LoadBalancer", {}, True),
}


@pytest.mark.parametrize("stack_file", STACKS, ids=[s.name for s in STACKS])
def test_example_stacks_edge(stack_file, example_stacks: ExampleStacks) -> None:
    releases = platform_releases(example_stacks[stack_file].recording)
    expected = EDGE[stack_file.name]
    if expected is None:
        assert "traefik" not in releases
        return
    service_type, annotations, redirects = expected
    values = releases["traefik"]["values"]
    assert values["service"] == {"annotations": annotations,
                                 "spec": {"type": service_type, "externalTrafficPolicy": "Local"}}
    assert ("http" in values["ports"]["web"]) is redirects


def test_the_redirect_applies_only_to_the_installed_traefik() -> None:
    with pytest.raises(ConfigError) as error:
        load({"platform": {"tls": {"issuer": "none"}, "ingress": {"install": False, "httpsRedirect": True}}})
    assert error.value.problems == [
        "openedx:platform.ingress.httpsRedirect: applies to the Traefik this program installs, and "
        "platform.ingress.install is false: configure the redirect on your own ingress controller"]
    # Left unset, it follows the controller: none of ours, no redirect (the e2e stack serves plain HTTP).
    unset = load({"platform": {"tls": {"issuer": "selfsigned"}, "ingress": {"install": False}}})
    assert unset.platform.redirects_to_https is False


def instance(index: int, https: bool) -> tuple[int, InstanceSettings]:
    return index, InstanceSettings.model_validate({"name": f"i{index}", "lmsHost": f"i{index}.example.com",
                                                   "https": https})


def test_plain_http_instances_are_refused_while_http_is_redirected() -> None:
    instances = [instance(0, True), instance(1, False), instance(2, False)]
    by_default = PlatformSettings.model_validate({"tls": {"issuer": "letsencrypt", "email": "ops@example.com"}})
    assert https_redirect_problems(by_default, instances) == [
        f"openedx:instances[{i}].https: false, but platform.ingress.httpsRedirect is on (by default, as "
        "platform.tls.issuer is letsencrypt): every plain-HTTP request is redirected to HTTPS. Serve the "
        "instance over HTTPS, or set openedx:platform.ingress.httpsRedirect to false" for i in (1, 2)]
    explicit = PlatformSettings.model_validate({"tls": {"issuer": "none"}, "ingress": {"httpsRedirect": True}})
    assert [p.split(": ")[0] for p in https_redirect_problems(explicit, instances)] == [
        "openedx:instances[1].https", "openedx:instances[2].https"]
    assert "(explicitly)" in https_redirect_problems(explicit, instances)[0]
    for fine in ({"tls": {"issuer": "none"}}, {"ingress": {"httpsRedirect": False}},
                 {"ingress": {"install": False}}):
        assert https_redirect_problems(PlatformSettings.model_validate(fine), instances) == []
    assert https_redirect_problems(None, instances) == []  # its ingress or tls keys are wrong: reported as such
