"""Every example stack renders offline to valid Kubernetes manifests, with no secret outside a Secret."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest

from tests.conftest import STACKS, ExampleStacks

KUBERNETES_VERSION = "1.34"  # the newest supported (removed APIs fail here); the chart tests cover 1.31 to 1.34
CHART_RELEASES = {"openedx-namespace.yaml", "openedx-services.yaml", "openedx.yaml"}


@pytest.fixture(params=STACKS, ids=[s.name for s in STACKS])
def rendered(request, example_stacks: ExampleStacks) -> dict[str, Any]:
    stack = example_stacks[request.param]
    return {"hidden": stack.out, "shown": stack.shown, "manifests": stack.manifests}


def test_every_instance_renders_its_three_releases(rendered) -> None:
    resources = rendered["shown"]["resources"]
    namespaces = {r["inputs"]["metadata"]["name"] for r in resources if r["type"] == "kubernetes:core/v1:Namespace"
                  and r["inputs"]["metadata"]["name"] != "openedx-system"}
    out = rendered["hidden"] / "manifests"
    # With shared servers, the system namespace holds each instance's provisioning Release.
    provisioned = {f"provision-{r['inputs']['values']['global']['instance']}.yaml" for r in resources
                   if r["type"] == "kubernetes:helm.sh/v3:Release" and r["inputs"]["namespace"] == "openedx-system"}
    assert namespaces and {p.name for p in out.iterdir()} == namespaces | ({"openedx-system"} if provisioned else set())
    for namespace in namespaces:
        assert {p.name for p in (out / namespace).iterdir()} == CHART_RELEASES
    if provisioned:
        assert {p.name for p in (out / "openedx-system").iterdir()} == provisioned
        assert len(provisioned) == len(namespaces)


def test_every_manifest_is_valid_kubernetes(rendered) -> None:
    version = KUBERNETES_VERSION
    for path, docs in rendered["manifests"].items():
        assert docs, path
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{path.name}: {doc['kind']}/{doc['metadata']['name']} on {version}: {error.message}")


def generated_secrets(document: dict[str, Any]) -> set[str]:
    """Every credential the program generated: the values of the Kubernetes Secrets that hold them."""
    values: set[str] = set()
    for r in document["resources"]:
        if r["type"] == "kubernetes:core/v1:Secret" and "settings" not in r["name"]:
            data = r["inputs"].get("stringData", {})
            if r["name"].endswith("-backup"):  # the backup Jobs' environment: hosts and user names beside them
                data = {key: value for key, value in data.items() if key.endswith(("_PASSWORD", "_KEY"))}
            values |= {v for v in data.values() if len(v) >= 16}
    return values


def test_no_generated_secret_appears_outside_a_secret(rendered) -> None:
    secrets = generated_secrets(rendered["shown"])
    assert secrets
    hidden_resources = (rendered["hidden"] / "resources.json").read_text()
    for secret in secrets:
        assert secret not in hidden_resources
    for r in rendered["shown"]["resources"]:
        if r["type"] == "kubernetes:helm.sh/v3:Release":
            values = json.dumps(r["inputs"].get("values", {}))
            assert not any(s in values for s in secrets), r["name"]
        if r["type"] == "kubernetes:core/v1:ConfigMap":
            pytest.fail(f"the program creates a ConfigMap: {r['name']}")
    outputs = json.dumps(rendered["shown"]["outputs"])
    assert not any(s in outputs for s in secrets)
    for path, docs in rendered["manifests"].items():
        for doc in docs:
            if doc["kind"] != "Secret":
                text = json.dumps(doc)
                assert not any(s in text for s in secrets), f"{path.name}: {doc['kind']}/{doc['metadata']['name']}"


def test_instance_ingresses_use_the_platform_class_and_issuer(rendered) -> None:
    resources = rendered["shown"]["resources"]
    issuers = [r["inputs"]["metadata"]["name"] for r in resources
               if r["type"] == "kubernetes:cert-manager.io/v1:ClusterIssuer"]
    ingresses = [d for docs in rendered["manifests"].values() for d in docs if d["kind"] == "Ingress"]
    assert ingresses
    for ingress in ingresses:
        assert ingress["spec"]["ingressClassName"] == "traefik"
        # Without an issuer (`tls.issuer: none`) nothing asks cert-manager for a certificate.
        issuer = ingress["metadata"].get("annotations", {}).get("cert-manager.io/cluster-issuer")
        assert issuer == (issuers[0] if issuers else None)
        (tls,) = ingress["spec"]["tls"]
        assert set(tls["hosts"]) == {rule["host"] for rule in ingress["spec"]["rules"]}
