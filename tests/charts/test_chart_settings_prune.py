"""The settings pruner of the openedx chart: a hook Job after each install and upgrade, with an identity that may
list and delete the Secrets of its own namespace and nothing else, under the restricted profile; and the
NetworkPolicy of the openedx-namespace chart that lets its pods, and only them, reach the API server."""

from __future__ import annotations

from typing import Any

import pytest
from chart_render import CHARTS, Doc, Render, main_container, mounted_volume, pod_spec, pod_template_labels, template
from chart_render import render as render_variant

NAME = "openedx-settings-prune"
SCRIPT = CHARTS / "openedx" / "files" / "settings" / "prune.py"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # where an in-cluster client looks for its token


def openedx(extra: dict[str, Any] | None = None) -> Render:
    return template("openedx", extra=extra)


def pruner(render_: Render) -> tuple[Doc, Doc, Doc]:
    job = render_.get("Job", NAME)
    spec = pod_spec(job)
    assert spec is not None
    return job, spec, main_container(spec)


def test_a_hook_job_runs_the_charts_script_after_each_install_and_upgrade() -> None:
    render_ = openedx()
    job, spec, container = pruner(render_)
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"post-install", "post-upgrade"}
    # Like the init hooks: the last run's Job (and its log) stays until the next run replaces it.
    init = [j for j in template("openedx", extra={"init": {"tasks": [{"service": "lms", "key": "lms.sh"}]}})
            .of_kind("Job") if j["metadata"]["name"] != NAME]
    assert {j["metadata"]["annotations"]["helm.sh/hook-delete-policy"] for j in init} == {"before-hook-creation"}
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (1, 300)
    assert spec["restartPolicy"] == "Never"
    # The Release's namespace and name (the chart tests render Release `demo` into openedx-demo).
    assert container["args"] == ["python", "/settings-tools/prune.py", "--namespace", "openedx-demo", "--release",
                                 "demo"]
    assert container["image"] == "docker.io/overhangio/openedx:22.0.3"
    mount, volume = mounted_volume(spec, container, "/settings-tools")
    assert mount["readOnly"] is True
    script = render_.get("ConfigMap", volume["configMap"]["name"])
    assert script["data"] == {"prune.py": SCRIPT.read_text().rstrip("\n")}


def test_its_deadline_retries_resources_and_placement_are_values() -> None:
    values = {"backoffLimit": 0, "activeDeadlineSeconds": 60, "nodeSelector": {"pool": "system"},
              "podAnnotations": {"sidecar.istio.io/inject": "false"},
              "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}}
    job, spec, container = pruner(openedx({"settingsPrune": values, "global": {"imageRegistry": "mirror.example"}}))
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (0, 60)
    assert spec["nodeSelector"] == {"pool": "system"}
    assert job["spec"]["template"]["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}
    assert container["resources"] == values["resources"]
    assert container["image"] == "mirror.example/overhangio/openedx:22.0.3"


def test_it_runs_under_the_restricted_profile_with_bounded_resources() -> None:
    _, spec, container = pruner(openedx())
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not security.get("privileged")
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(field)


def test_its_identity_is_its_own_with_a_short_lived_token() -> None:
    render_ = openedx()
    _, spec, container = pruner(render_)
    assert spec["serviceAccountName"] == NAME != "openedx"
    account = render_.get("ServiceAccount", NAME)
    # No token where one is not projected explicitly: the account's, and the pod's default.
    assert account["automountServiceAccountToken"] is False
    assert spec["automountServiceAccountToken"] is False
    mount, volume = mounted_volume(spec, container, TOKEN_DIR)
    assert mount["readOnly"] is True
    sources = volume["projected"]["sources"]
    (token,) = [source["serviceAccountToken"] for source in sources if "serviceAccountToken" in source]
    assert token["path"] == "token" and token["expirationSeconds"] <= 3600
    assert "audience" not in token  # the API server's own audience
    (ca,) = [source["configMap"] for source in sources if "configMap" in source]
    assert ca == {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    # The instance's other pods get no token at all.
    for job in render_.of_kind("Job", "Deployment", "CronJob"):
        other = pod_spec(job)
        if job["metadata"]["name"] != NAME and other is not None:
            assert other.get("serviceAccountName") != NAME
            assert not [v for v in other.get("volumes", []) if "projected" in v], job["metadata"]["name"]


def permissions(render_: Render) -> set[tuple[str, str, str]]:
    """(API group, resource, verb) of every rule granted to the pruner's ServiceAccount."""
    granted = set()
    for binding in render_.of_kind("RoleBinding", "ClusterRoleBinding"):
        if {"kind": "ServiceAccount", "name": NAME, "namespace": "openedx-demo"} not in binding["subjects"]:
            continue
        assert binding["kind"] == "RoleBinding" and binding["roleRef"]["kind"] == "Role", "granted beyond its namespace"
        role = render_.get("Role", binding["roleRef"]["name"])
        for rule in role["rules"]:
            assert "resourceNames" not in rule and "nonResourceURLs" not in rule
            granted |= {(group, resource, verb) for group in rule["apiGroups"] for resource in rule["resources"]
                        for verb in rule["verbs"]}
    return granted


def test_its_role_lists_and_deletes_the_secrets_of_its_namespace_and_nothing_else() -> None:
    render_ = openedx()
    assert permissions(render_) == {("", "secrets", "list"), ("", "secrets", "delete")}
    assert not render_.of_kind("ClusterRole", "ClusterRoleBinding")
    # Roles carry no namespace in a chart: Helm puts them in the Release's.
    assert "namespace" not in render_.get("Role", NAME)["metadata"]
    (binding,) = render_.of_kind("RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": "openedx-demo"}]


def test_it_can_be_turned_off() -> None:
    render_ = openedx({"settingsPrune": {"enabled": False}})
    for kind in ("Job", "ConfigMap", "ServiceAccount", "Role", "RoleBinding"):
        assert NAME not in render_.names(kind), kind


@pytest.mark.parametrize("variant", ["default", "production"])
def test_the_namespace_lets_the_pruner_and_only_it_reach_the_api_server(variant: str) -> None:
    """The openedx-namespace chart's policy selects the pruner's pods; no other pod of the instance's two Releases."""
    policies = render_variant("openedx-namespace", variant).of_kind("NetworkPolicy")
    (policy,) = [p for p in policies if p["spec"]["podSelector"].get("matchLabels", {}).get(
        "app.kubernetes.io/name") == NAME]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert policy["spec"]["policyTypes"] == ["Egress"]

    def selected(labels: dict[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in selector.items())

    workloads = [*render_variant("openedx", variant).docs, *render_variant("openedx-services", variant).docs]
    chosen = {doc["metadata"]["name"] for doc in workloads if pod_spec(doc) is not None
              and selected(pod_template_labels(doc))}
    assert chosen == {NAME}
