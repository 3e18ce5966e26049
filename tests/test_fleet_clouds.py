"""The fleet layout on AWS, Google Cloud and Azure, under mocks, for every example stack of theirs: the platform
stack's `instanceInputs` (no secret; what each instance's cloud resources are made from), and an instance stack
attached to it, which creates an instance's cloud resources as the all-in-one stack does, under the same URNs and
with the same inputs (what `pulumi state move` relies on), the `openedx-stack` label apart."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from pulumi.runtime import rpc

from components.clouds.aws.values import replication_group_id, ses_identity_arn
from components.clouds.gcp.values import scoped_name, workload_identity_member
from components.openedx.values import SERVICE_ACCOUNT
from offline.aws import MOCK_ACCOUNT
from offline.evaluation import PROJECT_DIR, cli_config, evaluate
from offline.recording import Recording, Registration
from offline.render import reveal
from tests.conftest import ExampleStacks, inputs, named, of_type, one

STACKS = {name: PROJECT_DIR / f"stacks/Pulumi.{name}.yaml"
          for name in ("aws-dev", "aws-production", "gcp-dev", "gcp-production", "azure-dev", "azure-production")}
INSTANCE_STACK = "fleet-instance"
INSTANCE = "openedx:index:Instance"
CLOUD_PREFIX = {"aws": "aws:", "gcp": "gcp:", "azure": "azure-native:"}
ADAPTER = {"aws": "openedx:clouds:AwsCloud", "gcp": "openedx:clouds:GcpCloud", "azure": "openedx:clouds:AzureCloud"}
CLOUD_PROVIDER = {"aws": "pulumi:providers:aws", "gcp": "pulumi:providers:gcp",
                  "azure": "pulumi:providers:azure-native"}
SECRET_WORDS = re.compile(r"password|secret|token|key", re.IGNORECASE)


@dataclass(frozen=True)
class Fleet:
    """An example stack split in two: its platform stack (same name, `layout: platform`, no instance), and an
    instance stack holding its first instance; beside the example stack itself (all-in-one)."""

    cloud: str
    environment: str
    stack: str
    instance: str
    all_in_one: Recording
    platform: Recording
    attached: Recording

    @property
    def contract(self) -> dict[str, Any]:
        exported: dict[str, Any] = reveal(self.platform.stack_outputs["platform"], show_secrets=True)
        return exported

    @property
    def instance_inputs(self) -> dict[str, Any]:
        exported: dict[str, Any] = self.contract["instanceInputs"]
        return exported


@functools.cache
def _split(stack: str) -> tuple[str, str, Recording, Recording]:
    """Evaluated once per worker (the tests of a stack share one: conftest groups them by STACKS)."""
    config = yaml.safe_load(STACKS[stack].read_text())["config"]
    instances = config.pop("openedx:instances")
    engine, secret_keys = cli_config({**config, "openedx:layout": "platform"})
    platform = evaluate(engine, stack, secret_keys)
    # What an instance stack may say: its cloud and environment, its platform stack, its instances, its email.
    instance_config = {"openedx:cloud": config["openedx:cloud"], "openedx:environment": config["openedx:environment"],
                       "openedx:layout": "instances", "openedx:platformStack": stack,
                       "openedx:instances": instances[:1]}
    if "email" in config["openedx:platform"]:
        instance_config["openedx:platform"] = {"email": config["openedx:platform"]["email"]}
    engine, secret_keys = cli_config(instance_config)
    attached = evaluate(engine, INSTANCE_STACK, secret_keys,
                        stack_references={stack: reveal(platform.stack_outputs, show_secrets=True)})
    assert not attached.duplicate_urns
    return config["openedx:cloud"], instances[0]["name"], platform, attached


@pytest.fixture(params=sorted(STACKS))
def fleet(request: pytest.FixtureRequest, example_stacks: ExampleStacks) -> Fleet:
    stack = request.param
    cloud, instance, platform, attached = _split(stack)
    return Fleet(cloud, stack.split("-", 1)[1], stack, instance, example_stacks[STACKS[stack]].recording, platform,
                 attached)


def stack_urn_part(urn: str) -> str:
    """A URN without its stack's name: what is equal in two stacks of one project."""
    return urn.split("::", 2)[2]


def of_instance(recording: Recording, instance: str) -> dict[str, Registration]:
    """The instance's resources (its component and everything under it), by URN without the stack."""
    return {stack_urn_part(r.urn): r for r in recording.resources.values()
            if (r.type == INSTANCE and r.name == instance)
            or (f"{INSTANCE}$" in r.urn and r.name.startswith(f"{instance}-"))}


def labelled_by(value: Any, stack: str) -> Any:
    """`value` with the label naming the stack that manages a resource as a placeholder."""
    if isinstance(value, dict):
        return {k: "<managing stack>" if k == "openedx-stack" and v == stack else labelled_by(v, stack)
                for k, v in value.items()}
    if isinstance(value, list):
        return [labelled_by(v, stack) for v in value]
    return value


# --- the platform stack's instanceInputs ---------------------------------------------------------------------------


def generated_secrets(recording: Recording) -> set[str]:
    """Every credential the program generated in the stack (passwords, keys), as the providers computed them."""
    found: set[str] = set()
    for r in recording.resources.values():
        if r.type.startswith(("random:index/randomPassword", "tls:index/privateKey")):
            shown = reveal(r.outputs, show_secrets=True)
            found |= {v for k, v in shown.items() if isinstance(v, str) and k in ("result", "privateKeyPem")}
    return found


def test_the_platform_exports_instance_inputs_without_a_secret(fleet: Fleet) -> None:
    raw = json.dumps(fleet.platform.stack_outputs["platform"])
    assert rpc._special_secret_sig not in json.dumps(fleet.platform.stack_outputs["platform"]["instanceInputs"])
    secrets = generated_secrets(fleet.platform)
    assert secrets  # the shared servers' admin passwords at least
    assert not any(secret in raw for secret in secrets)
    assert not [key for key in fleet.instance_inputs if SECRET_WORDS.search(key)]


def expected_instance_inputs(fleet: Fleet) -> dict[str, Any]:
    """What the factories of the stack's cloud need, as the platform's own resources (and config) say it."""
    platform, production = fleet.platform, fleet.environment == "production"
    config = yaml.safe_load(STACKS[fleet.stack].read_text())["config"]
    if fleet.cloud == "aws":
        oidc = one(platform, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
        expected = {"region": config["aws:region"], "stack": fleet.stack, "oidcProviderArn": oidc.outputs["arn"],
                    "oidcProviderUrl": oidc.outputs["url"]}
        if production:  # ElastiCache; the node type is the instance's environment's (unset in the stack)
            expected |= {
                "cacheSubnetGroup": named(platform, "aws:elasticache/subnetGroup:SubnetGroup", "aws-redis").outputs[
                    "name"],
                "cacheSecurityGroup": named(platform, "aws:ec2/securityGroup:SecurityGroup", "aws-redis").id,
                "redis": {"service": "elasticache", "engineVersion": "7.1"}}
        return expected
    if fleet.cloud == "gcp":
        expected = {"project": config["gcp:project"], "region": config["gcp:region"], "stack": fleet.stack}
        if production:  # Memorystore; high availability is the instance's environment's (unset in the stack)
            expected |= {
                "network": named(platform, "gcp:compute/network:Network", "gcp-vpc").id,
                "privateServicesRange": named(platform, "gcp:compute/globalAddress:GlobalAddress",
                                              "gcp-private-services").outputs["name"],
                "redis": {"service": "memorystore", "memorySizeGb": 2}}
        return expected
    group = one(platform, "azure-native:resources:ResourceGroup")
    expected = {"location": config["azure-native:location"], "resourceGroup": group.outputs["name"],
                "mediaStorage": "blob"}
    if production:  # Azure Managed Redis
        expected |= {
            "endpointsSubnet": named(platform, "azure-native:network:Subnet", "azure-endpoints").outputs["id"],
            "redisPrivateZone": named(platform, "azure-native:privatedns:PrivateZone", "azure-redis").outputs["id"],
            "redis": {"service": "managed-redis", "sku": "Balanced_B1"}}
    return expected


def test_the_instance_inputs_carry_what_the_factories_need(fleet: Fleet) -> None:
    assert fleet.instance_inputs == expected_instance_inputs(fleet)
    assert fleet.contract["clusterIdentifier"] == f"{fleet.cloud}-{fleet.stack}"
    assert fleet.contract["redis"] == ("managed" if "redis" in fleet.instance_inputs else "in-cluster")


# --- an instance stack attached to it ------------------------------------------------------------------------------


def test_an_attached_instance_gets_what_it_gets_in_the_all_in_one_stack(fleet: Fleet) -> None:
    """Every resource of the instance, its cloud's included: same URN, same inputs (the label of the managing stack
    apart, updated in place by the move)."""
    moved, kept = of_instance(fleet.attached, fleet.instance), of_instance(fleet.all_in_one, fleet.instance)
    assert moved.keys() == kept.keys()
    cloud_resources = [urn for urn in moved if moved[urn].type.startswith(CLOUD_PREFIX[fleet.cloud])]
    assert cloud_resources  # a bucket (or storage account) at least
    for urn, resource in moved.items():
        assert labelled_by(inputs(resource), INSTANCE_STACK) == labelled_by(inputs(kept[urn]), fleet.stack), urn
    # Nothing of the cloud besides the instance's own and the provider.
    assert [r.urn for r in fleet.attached.resources.values() if r.type.startswith(CLOUD_PREFIX[fleet.cloud])
            and f"{INSTANCE}$" not in r.urn] == []


def aws_key_inputs(fleet: Fleet) -> None:
    recording, instance, given = fleet.attached, fleet.instance, fleet.instance_inputs
    role = inputs(named(recording, "aws:iam/role:Role", f"{instance}-pods"))
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": given["oidcProviderArn"]}
    issuer = given["oidcProviderUrl"].removeprefix("https://")
    subject = f"system:serviceaccount:openedx-{instance}:{SERVICE_ACCOUNT}"
    assert trust["Condition"]["StringEquals"] == {f"{issuer}:sub": subject, f"{issuer}:aud": "sts.amazonaws.com"}
    bucket_arn = named(recording, "aws:s3/bucket:Bucket", f"{instance}-media").outputs["arn"]
    policy = inputs(named(recording, "aws:iam/rolePolicy:RolePolicy", f"{instance}-media-access"))["policy"]
    assert [statement["Resource"] for statement in json.loads(policy)["Statement"]] == [bucket_arn, f"{bucket_arn}/*"]
    caches = of_type(recording, "aws:elasticache/replicationGroup:ReplicationGroup")
    if fleet.environment != "production":
        assert not caches and not of_type(recording, "aws:iam/user:User")
        return
    cache = inputs(one(recording, "aws:elasticache/replicationGroup:ReplicationGroup"))
    assert (cache["subnetGroupName"], cache["securityGroupIds"]) == (
        given["cacheSubnetGroup"], [given["cacheSecurityGroup"]])
    # Named after the platform stack, as it was in the all-in-one stack; sized by this stack's environment.
    assert cache["replicationGroupId"] == replication_group_id(fleet.stack, instance)
    assert (cache["nodeType"], cache["numCacheClusters"]) == ("cache.r7g.large", 2)
    send = inputs(named(recording, "aws:iam/userPolicy:UserPolicy", f"{instance}-smtp-send"))["policy"]
    assert json.loads(send)["Statement"] == [{"Effect": "Allow", "Action": "ses:SendRawEmail",
                                              "Resource": ses_identity_arn(given["region"], MOCK_ACCOUNT,
                                                                           "example.edu")}]


def gcp_key_inputs(fleet: Fleet) -> None:
    recording, instance, given = fleet.attached, fleet.instance, fleet.instance_inputs
    project = given["project"]
    bucket = inputs(named(recording, "gcp:storage/bucket:Bucket", f"{instance}-media"))
    assert bucket["name"] == scoped_name(f"openedx-{instance}", 63, project, fleet.stack, instance)
    assert bucket["location"] == given["region"]
    member = inputs(named(recording, "gcp:serviceaccount/iAMMember:IAMMember", f"{instance}-workload-identity"))
    assert member["member"] == workload_identity_member(project, f"openedx-{instance}", SERVICE_ACCOUNT)
    caches = of_type(recording, "gcp:redis/instance:Instance")
    if fleet.environment != "production":
        assert not caches
        return
    cache = inputs(one(recording, "gcp:redis/instance:Instance"))
    assert (cache["authorizedNetwork"], cache["reservedIpRange"]) == (given["network"], given["privateServicesRange"])
    assert cache["name"] == scoped_name(f"openedx-{instance}", 40, fleet.stack, instance)
    assert (cache["tier"], cache["memorySizeGb"]) == ("STANDARD_HA", 2)


def azure_key_inputs(fleet: Fleet) -> None:
    recording, instance, given = fleet.attached, fleet.instance, fleet.instance_inputs
    account = inputs(named(recording, "azure-native:storage:StorageAccount", f"{instance}-media"))
    assert (account["resourceGroupName"], account["location"]) == (given["resourceGroup"], given["location"])
    endpoints = of_type(recording, "azure-native:network:PrivateEndpoint")
    if fleet.environment != "production":
        assert not endpoints
        return
    assert inputs(one(recording, "azure-native:network:PrivateEndpoint"))["subnet"]["id"] == given["endpointsSubnet"]
    zones = inputs(one(recording, "azure-native:network:PrivateDnsZoneGroup"))["privateDnsZoneConfigs"]
    assert [zone["privateDnsZoneId"] for zone in zones] == [given["redisPrivateZone"]]
    cache = inputs(one(recording, "azure-native:redisenterprise:RedisEnterprise"))
    assert (cache["sku"]["name"], cache["highAvailability"]) == ("Balanced_B1", "Enabled")


def test_the_attached_instance_resources_are_made_from_the_platform(fleet: Fleet) -> None:
    """The key inputs, spelled out: what an instance's cloud resources take from the platform's (its pod role's or
    identity's trust, its bucket, its cache's network, its SES policy), and what from its own stack's environment."""
    {"aws": aws_key_inputs, "gcp": gcp_key_inputs, "azure": azure_key_inputs}[fleet.cloud](fleet)


def test_the_attached_adapter_and_its_providers_keep_the_all_in_one_urns(fleet: Fleet) -> None:
    """The adapter's component (type token and name), the cloud's provider and the Kubernetes provider: what every
    resource of the instance names, by URN, as its parent's type or its provider."""
    for type_ in (ADAPTER[fleet.cloud], CLOUD_PROVIDER[fleet.cloud], "pulumi:providers:kubernetes"):
        attached, all_in_one = one(fleet.attached, type_), one(fleet.all_in_one, type_)
        assert stack_urn_part(attached.urn) == stack_urn_part(all_in_one.urn), type_
        if type_.startswith("pulumi:providers:"):  # the same region, project, location, cluster and kubeconfig
            assert inputs(attached) == inputs(all_in_one), type_


@pytest.mark.parametrize("stack", ["azure-dev"])
def test_an_azure_instance_stack_needs_an_image_for_the_platform_s_blob_media(stack: str) -> None:
    """The platform stack holds no instance to check its mediaStorage against: the instance stack does."""
    _, _, platform, _ = _split(stack)
    engine, secret_keys = cli_config({
        "openedx:cloud": "azure", "openedx:layout": "instances", "openedx:platformStack": stack,
        "openedx:instances": [{"name": "stock", "lmsHost": "stock.example.org"}]})
    with pytest.raises(Exception, match=r"openedx:instances\[0\]\.images\.openedx: Azure Blob media storage"):
        evaluate(engine, INSTANCE_STACK, secret_keys,
                 stack_references={stack: reveal(platform.stack_outputs, show_secrets=True)})
