"""The openedx-namespace chart: ServiceAccount, NetworkPolicies, ResourceQuota, LimitRange."""

from __future__ import annotations

from typing import Any

import pytest
from chart_render import Doc, Render, render, template

INSTANCE = {"app.openedx.org/instance": "demo"}


def namespace(variant: str = "default") -> Render:
    return render("openedx-namespace", variant)


def policy(render_: Render, suffix: str, instance: str = "demo") -> Doc:
    return render_.get("NetworkPolicy", f"{instance}-{suffix}")


def ports(rule: dict[str, Any]) -> set[tuple[str, int]]:
    return {(port["protocol"], port["port"]) for port in rule.get("ports", [])}


def test_service_account_carries_the_identity_without_a_token() -> None:
    (account,) = namespace("production").of_kind("ServiceAccount")
    assert account["metadata"]["name"] == "openedx"
    assert account["automountServiceAccountToken"] is False
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/openedx-campus"
    }
    assert not template("openedx-namespace", extra={"serviceAccount": {"create": False}}).of_kind("ServiceAccount")


def test_default_deny_covers_every_pod_both_ways() -> None:
    deny = policy(namespace(), "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_pods_of_the_instance_talk_to_each_other() -> None:
    same = policy(namespace(), "same-instance")["spec"]
    assert same["podSelector"] == {"matchLabels": INSTANCE}
    assert same["ingress"] == [{"from": [{"podSelector": {"matchLabels": INSTANCE}}]}]
    assert same["egress"] == [{"to": [{"podSelector": {"matchLabels": INSTANCE}}]}]


@pytest.mark.parametrize(
    ("variant", "peer"),
    [
        (
            "default",
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}, "podSelector": {}},
        ),
        (
            "production",
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
            },
        ),
    ],
)
def test_ingress_controller_reaches_caddy_and_the_acme_solver(variant: str, peer: dict[str, Any]) -> None:
    render_ = namespace(variant)
    instance = "demo" if variant == "default" else "campus"
    caddy = policy(render_, "ingress-to-caddy", instance)["spec"]
    assert caddy["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "caddy",
        "app.openedx.org/instance": instance,
    }
    assert caddy["policyTypes"] == ["Ingress"]
    (rule,) = caddy["ingress"]
    assert rule["from"] == [peer]
    assert ports(rule) == {("TCP", 8080)}
    solver = policy(render_, "ingress-to-acme-solver", instance)["spec"]
    assert solver["podSelector"] == {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
    (rule,) = solver["ingress"]
    assert rule["from"] == [peer]
    assert ports(rule) == {("TCP", 8089)}


def test_egress_to_dns_https_and_smtp() -> None:
    egress = policy(namespace(), "egress")["spec"]
    assert egress["podSelector"] == {"matchLabels": INSTANCE}
    assert egress["policyTypes"] == ["Egress"]
    dns, external = egress["egress"]
    assert dns["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {}}
    ]
    assert ports(dns) == {("UDP", 53), ("TCP", 53)}
    assert external["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert ports(external) == {("TCP", 443), ("TCP", 25), ("TCP", 465), ("TCP", 587)}


def test_external_egress_exceptions_and_extra_rules() -> None:
    egress = policy(namespace("production"), "egress", "campus")["spec"]["egress"]
    _, external, databases = egress
    assert external["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32", "10.0.0.0/8"]}}]
    assert databases["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]
    assert ports(databases) == {("TCP", 3306), ("TCP", 27017), ("TCP", 6379)}


def test_only_the_settings_pruner_reaches_the_api_server() -> None:
    """Its pods, no other: the API server's port after the `kubernetes` Service's translation (443 on managed
    control planes, 6443 on kind, k3d and Docker Desktop, 8443 on minikube), which the instance's egress lacks."""
    api = policy(namespace(), "settings-prune-to-api-server")["spec"]
    assert api["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "openedx-settings-prune", **INSTANCE}}
    assert api["policyTypes"] == ["Egress"]
    (rule,) = api["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert ports(rule) == {("TCP", 443), ("TCP", 6443), ("TCP", 8443)}
    assert not {6443, 8443} & {port for _, port in ports(policy(namespace(), "egress")["spec"]["egress"][1])}


def test_the_api_server_rule_takes_its_addresses_and_ports_and_can_be_turned_off() -> None:
    extra = {"networkPolicy": {"kubernetesApi": {"cidr": "172.16.0.0/28", "ports": [443]}}}
    (rule,) = policy(template("openedx-namespace", extra=extra), "settings-prune-to-api-server")["spec"]["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "172.16.0.0/28"}}]
    assert ports(rule) == {("TCP", 443)}
    off = template("openedx-namespace", extra={"networkPolicy": {"kubernetesApi": {"enabled": False}}})
    assert "demo-settings-prune-to-api-server" not in off.names("NetworkPolicy")
    assert "demo-egress" in off.names("NetworkPolicy")


def test_monitoring_ingress_is_optional() -> None:
    assert "demo-monitoring" not in namespace().names("NetworkPolicy")
    monitoring = policy(namespace("production"), "monitoring", "campus")["spec"]
    (rule,) = monitoring["ingress"]
    assert rule["from"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    assert ports(rule) == {("TCP", 9090)}


def test_network_policies_can_be_turned_off() -> None:
    assert not template("openedx-namespace", extra={"networkPolicy": {"enabled": False}}).of_kind("NetworkPolicy")


def test_quota_and_limit_range() -> None:
    render_ = namespace()
    (quota,) = render_.of_kind("ResourceQuota")
    hard = quota["spec"]["hard"]
    assert {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods"} <= set(hard)
    (limits,) = render_.of_kind("LimitRange")
    (container,) = limits["spec"]["limits"]
    assert container["type"] == "Container"
    assert set(container) == {"type", "default", "defaultRequest"}
    (production_limits,) = namespace("production").of_kind("LimitRange")
    assert production_limits["spec"]["limits"][0]["max"] == {"cpu": "4", "memory": "8Gi"}


def test_quota_leaves_headroom_for_the_default_application_at_its_maximum() -> None:
    """Every HPA at maxReplicas, one surge pod per Deployment, a hook Job and two CronJob pods fit."""
    from chart_render import pod_spec

    def cpu(value: str) -> float:
        return float(value[:-1]) / 1000 if value.endswith("m") else float(value)

    def memory(value: str) -> float:
        units = {"Mi": 2**20, "Gi": 2**30}
        return float(value[:-2]) * units[value[-2:]]

    app = render("openedx", "default")
    services = render("openedx-services", "default")
    hpa_max = {hpa["metadata"]["name"]: hpa["spec"]["maxReplicas"] for hpa in app.of_kind("HorizontalPodAutoscaler")}
    totals = {"requests.cpu": 0.0, "requests.memory": 0.0, "limits.cpu": 0.0, "limits.memory": 0.0}

    def add(resources: dict[str, dict[str, str]], count: int) -> None:
        for kind in ("requests", "limits"):
            totals[f"{kind}.cpu"] += count * cpu(str(resources[kind]["cpu"]))
            totals[f"{kind}.memory"] += count * memory(str(resources[kind]["memory"]))

    for doc in [*app.of_kind("Deployment"), *services.of_kind("StatefulSet")]:
        spec = pod_spec(doc)
        assert spec is not None
        replicas = hpa_max.get(doc["metadata"]["name"], doc["spec"].get("replicas", 1))
        surge = 1 if doc["kind"] == "Deployment" else 0
        for container in spec["containers"]:
            add(container["resources"], replicas + surge)
    cron = pod_spec(app.of_kind("CronJob")[0])
    assert cron is not None
    add(cron["containers"][0]["resources"], 2)
    (hook,) = [job for job in template("openedx", extra={"init": {"tasks": [{"service": "lms", "key": "lms.sh"}]}})
               .of_kind("Job") if job["metadata"]["labels"]["app.kubernetes.io/component"] == "init"]
    add(hook["spec"]["template"]["spec"]["containers"][0]["resources"], 1)
    (quota,) = namespace().of_kind("ResourceQuota")
    hard = quota["spec"]["hard"]
    for key, used in totals.items():
        limit = cpu(hard[key]) if key.endswith("cpu") else memory(hard[key])
        assert used <= limit, f"{key}: {used} needed, quota {hard[key]}"
