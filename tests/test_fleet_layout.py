"""The fleet layout under mocks: a platform stack exports what instances need, an instance stack reads it through a
StackReference and deploys exactly what the instance gets in an all-in-one stack, under the same URNs (so that an
instance moves between layouts by `pulumi state move`, without re-creation), and bad layouts are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime.rpc import _special_sig_key as SECRET_SIGNATURE

from components.settings.model import ConfigError
from components.settings.stack import load
from offline.render import reveal
from tests.conftest import Evaluate, inputs, named, of_type

PLATFORM = "fleet-platform"
ALPHA = {"name": "alpha", "lmsHost": "alpha.example.org", "plugins": ["mfe", "notes"]}
PLATFORM_CONFIG = {
    "openedx:layout": "platform",
    "openedx:local": {"context": "kind-fleet", "storageClass": "fast"},
    "openedx:platform": {"tls": {"issuer": "selfsigned"}},
}
INSTANCE_CONFIG = {"openedx:layout": "instances", "openedx:platformStack": PLATFORM, "openedx:instances": [ALPHA]}
INSTANCE = "openedx:index:Instance"
RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"


def stack_urn_part(urn: str) -> str:
    """A URN without its stack's name: what is equal in two stacks of one project."""
    return urn.split("::", 2)[2]


@pytest.fixture
def platform_outputs(evaluate_stack: Evaluate) -> dict[str, Any]:
    recording = evaluate_stack(config=PLATFORM_CONFIG, stack=PLATFORM)
    outputs: dict[str, Any] = reveal(recording.stack_outputs, show_secrets=True)
    return outputs


# --- settings ------------------------------------------------------------------------------------------------------


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load(config)
    return error.value.problems


def test_an_instance_stack_names_its_platform_and_leaves_the_cluster_to_it() -> None:
    found = problems({"layout": "instances", "local": {"context": "x"}, "aws": {},
                      "platform": {"email": {"host": "smtp.example.org"}, "ingress": {"install": False},
                                   "tls": {"issuer": "none"}}})
    assert found == [
        "openedx:aws: set on the platform stack, not on an instance stack (layout: instances)",
        "openedx:local: set on the platform stack, not on an instance stack (layout: instances)",
        "openedx:platform.ingress: set on the platform stack, not on an instance stack (layout: instances); an "
        "instance stack's platform keys are email only",
        "openedx:platform.tls: set on the platform stack, not on an instance stack (layout: instances); an "
        "instance stack's platform keys are email only",
        "openedx:platformStack: required when openedx:layout is instances: the platform stack whose cluster and "
        "shared servers the instances use",
    ]


def test_only_an_instance_stack_reads_a_platform_stack() -> None:
    assert problems({"platformStack": PLATFORM, "platform": {"tls": {"issuer": "none"}}}) == [
        "openedx:platformStack: only an instance stack (openedx:layout: instances) reads a platform stack"]
    assert any(p.startswith("openedx:platformStack: 'no spaces allowed' is not a stack name")
               for p in problems({"layout": "instances", "platformStack": "no spaces allowed"}))
    assert any(p.startswith("openedx:layout:") for p in problems({"layout": "fleet"}))


def test_an_instance_stack_needs_no_provider_keys_of_its_cloud() -> None:
    """aws:region and the like are the platform stack's: its instance stacks read them from its output."""
    settings = load({"layout": "instances", "platformStack": PLATFORM, "cloud": "aws", "environment": "dev"})
    assert settings.platform_stack == PLATFORM


# --- the platform stack --------------------------------------------------------------------------------------------


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    return value


def test_a_platform_stack_exports_what_its_instances_need(platform_outputs: dict[str, Any]) -> None:
    assert without_nulls(platform_outputs["platform"]) == {
        "version": 1,
        "cloud": "local",
        "environment": "dev",
        "clusterIdentifier": "local:kind-fleet",
        # Keys whose value is null are left out of a stack output: no retainStorageClass, mysql, mongodb (in
        # the cluster, per instance), monitoringNamespace.
        "routing": {"ingressClass": "traefik", "controllerNamespace": "traefik", "clusterIssuer": "openedx"},
        "storageClass": "fast",
        "egress": [],
        "redis": "in-cluster",
        "instanceInputs": {"context": "kind-fleet", "storageClass": "fast"},
    }
    assert platform_outputs["kubernetes"] == {"kubeconfig": "", "kubeconfigPath": "", "context": "kind-fleet"}


def test_an_all_in_one_stack_exports_no_platform(evaluate_stack: Evaluate) -> None:
    recording = evaluate_stack(config={"openedx:instances": [ALPHA], "openedx:platform": {"tls": {"issuer": "none"}}})
    assert "platform" not in recording.stack_outputs


# --- instance stacks -----------------------------------------------------------------------------------------------


def instance_stack(evaluate_stack: Evaluate, platform_outputs: dict[str, Any],
                   config: dict[str, Any] | None = None) -> Any:
    return evaluate_stack(config=config or INSTANCE_CONFIG, stack="fleet-alpha",
                          stack_references={PLATFORM: platform_outputs})


def test_an_instance_stack_deploys_only_its_instances_on_the_platform(
        evaluate_stack: Evaluate, platform_outputs: dict[str, Any]) -> None:
    recording = instance_stack(evaluate_stack, platform_outputs)
    assert [r.name for r in of_type(recording, INSTANCE)] == ["alpha"]
    assert not of_type(recording, "openedx:index:Platform")
    assert not of_type(recording, "kubernetes:scheduling.k8s.io/v1:PriorityClass")
    (provider,) = of_type(recording, "pulumi:providers:kubernetes")
    assert inputs(provider)["context"] == "kind-fleet"
    assert inputs(provider)["clusterIdentifier"] == "local:kind-fleet"
    # The routing the platform exported reaches the instance's charts.
    application = inputs(named(recording, RELEASE, "alpha-openedx"))["values"]
    foundation = inputs(named(recording, RELEASE, "alpha-foundation"))["values"]
    assert application["ingress"]["className"] == "traefik"
    assert application["ingress"]["tls"]["clusterIssuer"] == "openedx"
    assert "kubernetes.io/metadata.name': 'traefik'" in str(foundation)
    services = inputs(named(recording, RELEASE, "alpha-services"))["values"]
    assert services["global"]["storageClass"] == "fast"
    outputs = reveal(recording.stack_outputs, show_secrets=True)
    assert outputs["instances"] == {"alpha": {
        "namespace": "openedx-alpha", "lmsUrl": "https://alpha.example.org", "studioUrl": "https://studio.alpha.example.org",
        "image": "docker.io/overhangio/openedx:22.0.3", "tutor": "22.0.3",
        "plugins": {"mfe": "22.1.0", "notes": "22.0.0"}}}
    assert outputs["kubernetes"] == platform_outputs["kubernetes"]


def test_an_instance_keeps_its_urns_and_inputs_across_layouts(
        evaluate_stack: Evaluate, platform_outputs: dict[str, Any]) -> None:
    """What `pulumi state move` relies on: the instance's resources, and the provider they name, are the same in
    the instance stack as in an all-in-one stack holding the instance (the stack's name apart)."""
    all_in_one = evaluate_stack(config={**PLATFORM_CONFIG, "openedx:layout": "all-in-one",
                                        "openedx:instances": [ALPHA]}, stack=PLATFORM)
    alone = instance_stack(evaluate_stack, platform_outputs)

    def instance_resources(recording: Any) -> dict[str, Any]:
        return {stack_urn_part(r.urn): inputs(r) for r in recording.resources.values()
                if INSTANCE in r.urn or r.type == "pulumi:providers:kubernetes"}

    moved, kept = instance_resources(alone), instance_resources(all_in_one)
    assert {urn.rsplit("::", 1)[1] for urn in moved} >= {
        "alpha", "local-kubernetes", "alpha-namespace", "alpha-foundation", "alpha-services", "alpha-openedx"}
    assert moved.keys() == kept.keys()
    for urn, resource in moved.items():
        assert resource == kept[urn], urn


def test_an_instance_stack_on_shared_servers_never_holds_their_admin_credential(
        evaluate_stack: Evaluate, platform_outputs: dict[str, Any]) -> None:
    """Its provisioning Release names the platform's admin Secret; it creates neither that Secret nor the system
    namespace (the platform stack's), only its own user's password."""
    contract = {**platform_outputs["platform"],
                "mysql": {"host": "mysql.internal", "port": 3306, "tls": True, "caCertificate": None}}
    recording = instance_stack(evaluate_stack, {**platform_outputs, "platform": contract})
    assert [inputs(n)["metadata"]["name"] for n in of_type(recording, "kubernetes:core/v1:Namespace")] == [
        "openedx-alpha"]
    assert [r.name for r in of_type(recording, SECRET) if inputs(r)["metadata"].get("namespace") == "openedx-system"
            ] == ["alpha-mysql-user"]
    values = inputs(named(recording, RELEASE, "alpha-provisioning"))["values"]
    assert values["mysql"]["adminSecret"] == "mysql-admin"
    assert values["mysql"]["host"] == "mysql.internal"
    assert values["mongodb"] == {"enabled": False}
    services = inputs(named(recording, RELEASE, "alpha-services"))["values"]
    assert services["mysql"]["enabled"] is False and services["mongodb"]["enabled"] is True
    settings = inputs(named(recording, SECRET, "alpha-settings"))["stringData"]
    assert "mysql.internal" in json.dumps(settings)


def test_an_instance_stack_refuses_a_platform_it_cannot_use(
        evaluate_stack: Evaluate, platform_outputs: dict[str, Any]) -> None:
    with pytest.raises(Exception, match="has no `platform` output"):
        instance_stack(evaluate_stack, {"kubernetes": platform_outputs["kubernetes"]})
    with pytest.raises(Exception, match="openedx:cloud: 'local', but the platform stack 'fleet-platform' runs on "
                                        "'aws': set openedx:cloud to 'aws'"):
        instance_stack(evaluate_stack, {**platform_outputs, "platform": {**platform_outputs["platform"],
                                                                         "cloud": "aws"}})


def test_only_the_admins_output_of_an_instance_stack_is_secret(
        evaluate_stack: Evaluate, platform_outputs: dict[str, Any]) -> None:
    """`fleet.sh status` reads the instances output: an admin's password must not make it secret."""
    admin = {**ALPHA, "admin": {"username": "ops", "email": "ops@example.org"}}
    recording = instance_stack(evaluate_stack, platform_outputs, {**INSTANCE_CONFIG, "openedx:instances": [admin]})
    outputs = recording.stack_outputs
    assert outputs["instances"]["alpha"]["lmsUrl"] == "https://alpha.example.org"
    assert SECRET_SIGNATURE in json.dumps(outputs["admins"])
    assert SECRET_SIGNATURE not in json.dumps(outputs["instances"])
