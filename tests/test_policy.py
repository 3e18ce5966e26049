"""The security baseline policy pack (policy/): every policy passes on what every example stack registers, and
reports what it exists to catch.

There is no Pulumi CLI here, and a `PolicyPack` only serves gRPC to the CLI, so the tests call each policy's
`validate` directly with `ResourceValidationArgs` / `StackValidationArgs` built the way pulumi-policy builds them
(props behind its unknown-checking proxy), and also drive the pack's own analyzer servicer with protobuf requests
shaped like the engine's. The stack's config reaches a pack through the PULUMI_CONFIG environment variable, as the
CLI passes it.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.metadata
import json
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from unittest import mock

import pytest
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import unknown_checking_proxy

from offline.evaluation import PROJECT_DIR, stack_name
from offline.recording import Recording, Registration
from offline.render import reveal
from policy import policies
from policy.policies import (
    ATOMIC_RELEASES,
    ENCRYPTED_DATABASES,
    ENCRYPTED_OBJECT_STORAGE,
    NO_CREDENTIALS_IN_CONFIGMAPS,
    NO_PRIVILEGED_PODS,
    NO_PUBLIC_BUCKETS,
    NO_PUBLIC_DATABASES,
    POLICIES,
    PRODUCTION_BACKUPS,
    PRODUCTION_PROTECT,
    RESTRICTED_NAMESPACES,
    S3_BUCKETS_ENCRYPTED,
    S3_BUCKETS_PRIVATE,
)
from tests.conftest import STACKS, ExampleStack, ExampleStacks

Policy = ResourceValidationPolicy | StackValidationPolicy

POLICY_DIR = PROJECT_DIR / "policy"
PRODUCTION = {"environment": "production"}


# --- building what the engine would pass ------------------------------------------------------------------------


def options(protect: bool = False, parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=protect, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[],
                                 parent=parent)


def resource_args(type_: str, props: dict[str, Any], *, name: str = "example", protect: bool = False,
                  config: Mapping[str, Any] | None = None, urn: str | None = None,
                  provider: PolicyProviderResource | None = None) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource_type=type_,
        props=unknown_checking_proxy(props),
        urn=urn or f"urn:pulumi:test::openedx::{type_}::{name}",
        name=name,
        opts=options(protect),
        provider=provider,
        config=config,
        stack_tags={},
    )


def stack_resource(type_: str, name: str, props: dict[str, Any],
                   depends_on: list[PolicyResource] | None = None) -> PolicyResource:
    return PolicyResource(type_, unknown_checking_proxy(props), f"urn:pulumi:test::openedx::{type_}::{name}", name,
                          options(), None, None, list(depends_on or []), {})


def _provider(registration: Registration, recording: Recording) -> PolicyProviderResource | None:
    """The provider reference `urn::id` as the policy sees it: type, inputs, urn, name."""
    if not registration.provider:
        return None
    provider = recording.resources.get(registration.provider.rsplit("::", 1)[0])
    if provider is None:
        return None
    return PolicyProviderResource(provider.type, unknown_checking_proxy(reveal(provider.inputs, show_secrets=True)),
                                  provider.urn, provider.name)


def registration_args(registration: Registration, recording: Recording,
                      config: Mapping[str, Any] | None = None) -> ResourceValidationArgs:
    """What `Analyze` gets for one registration: its inputs (secrets unwrapped, as pulumi-policy does)."""
    return ResourceValidationArgs(
        resource_type=registration.type,
        props=unknown_checking_proxy(reveal(registration.inputs, show_secrets=True)),
        urn=registration.urn,
        name=registration.name,
        opts=PolicyResourceOptions(
            protect=registration.protect, ignore_changes=list(registration.ignore_changes),
            delete_before_replace=registration.delete_before_replace, aliases=[],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[],
            parent=registration.parent or None),
        provider=_provider(registration, recording),
        config=config,
        stack_tags={},
    )


def recording_stack_args(registrations: list[Registration], recording: Recording,
                         config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    """What `AnalyzeStack` gets: every resource's outputs, with parents and dependencies linked."""
    resources = {
        r.urn: PolicyResource(r.type, unknown_checking_proxy(reveal(r.outputs, show_secrets=True)), r.urn, r.name,
                              options(r.protect, r.parent or None), _provider(r, recording), None, [], {})
        for r in registrations
    }
    for r in registrations:
        resources[r.urn].parent = resources.get(r.parent)
        resources[r.urn].dependencies = [resources[d] for d in r.depends_on if d in resources]
    return StackValidationArgs(list(resources.values()), config=config, stack_tags={})


def violations(policy: Policy, args: ResourceValidationArgs | StackValidationArgs) -> list[tuple[str, str | None]]:
    """Run one policy; every `report_violation(message, urn)` call, in order."""
    report = mock.Mock(return_value=None)
    result = policy.validate(args, report)  # type: ignore[arg-type]
    assert result is None, "validations are synchronous"
    out = []
    for call in report.call_args_list:
        message = call.args[0]
        urn = call.args[1] if len(call.args) > 1 else call.kwargs.get("urn")
        assert isinstance(message, str) and message.strip(), f"{policy.name}: empty violation message"
        out.append((message, urn))
    return out


# --- the example stacks (evaluated once per session, tests/conftest.py) -------------------------------------------


@pytest.fixture(params=STACKS, ids=stack_name)
def stack(request: pytest.FixtureRequest, example_stacks: ExampleStacks) -> ExampleStack:
    return example_stacks[request.param]


@pytest.fixture
def stack_config_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[Mapping[str, str]], None]:
    """Hands a stack's config to the policies the way the CLI does: JSON in PULUMI_CONFIG."""

    def set_config(config: Mapping[str, str]) -> None:
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(dict(config)))

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    return set_config


def run_on_stack(policy: Policy, evaluated: ExampleStack) -> list[str]:
    """Every violation `policy` reports on what `evaluated` registers."""
    recording = evaluated.recording
    registrations = list(recording.resources.values())
    if isinstance(policy, StackValidationPolicy):
        return [f"{m} [{u}]" for m, u in violations(policy, recording_stack_args(registrations, recording))]
    return [f"{r.urn}: {m}" for r in registrations for m, _ in violations(policy, registration_args(r, recording))]


# --- (a) every policy passes on every example stack ------------------------------------------------------------


def test_every_stack_file_is_covered() -> None:
    assert STACKS, "no stacks/Pulumi.*.yaml"
    assert any(path.name == "Pulumi.local.yaml" for path in STACKS)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_policy_passes_on_example_stack(policy: Policy, stack: ExampleStack, stack_config_env: Any) -> None:
    stack_config_env(stack.config)
    assert policies.stack_environment({}) == stack.environment
    found = run_on_stack(policy, stack)
    assert not found, f"{policy.name} on stack {stack.name}:\n" + "\n".join(found)


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(dict(value), struct_pb2.Struct())


def _analyze_with_pack(evaluated: ExampleStack) -> list[Any]:
    """The whole pack as the engine drives it: one Analyze per resource (its inputs, secrets still wrapped as on
    the wire), then one AnalyzeStack over every resource's outputs."""
    servicer = _PolicyAnalyzerServicer("openedx-security-baseline", "0.1.0", list(POLICIES),
                                       EnforcementLevel.MANDATORY)
    recording = evaluated.recording
    diagnostics: list[Any] = []

    def resource_options(r: Registration) -> Any:
        return proto.AnalyzerResourceOptions(protect=r.protect, ignoreChanges=r.ignore_changes, parent=r.parent)

    def provider(r: Registration) -> Any:
        p = recording.resources.get(r.provider.rsplit("::", 1)[0]) if r.provider else None
        if p is None:
            return None
        return proto.AnalyzerProviderResource(type=p.type, urn=p.urn, name=p.name, properties=_struct(p.inputs))

    for r in recording.resources.values():
        request = proto.AnalyzeRequest(type=r.type, urn=r.urn, name=r.name, properties=_struct(r.inputs),
                                       options=resource_options(r), provider=provider(r))
        diagnostics.extend(servicer.Analyze(request, None).diagnostics)
    stack_request = proto.AnalyzeStackRequest(resources=[
        proto.AnalyzerResource(type=r.type, urn=r.urn, name=r.name, properties=_struct(r.outputs),
                               options=resource_options(r), provider=provider(r), parent=r.parent,
                               dependencies=r.depends_on)
        for r in recording.resources.values()
    ])
    diagnostics.extend(servicer.AnalyzeStack(stack_request, None).diagnostics)
    return diagnostics


@pytest.fixture
def isolated_runtime_config() -> Iterator[None]:
    """The servicer copies PULUMI_CONFIG into the SDK's global config: give it a fresh map and drop it after."""
    import pulumi.runtime

    pulumi.runtime.set_all_config({})
    yield
    pulumi.runtime.set_all_config({})


def test_pack_reports_nothing_on_example_stack(stack: ExampleStack, stack_config_env: Any,
                                               isolated_runtime_config: None) -> None:
    stack_config_env(stack.config)
    diagnostics = _analyze_with_pack(stack)
    assert not diagnostics, "\n".join(f"{d.policyName} {d.urn}: {d.message}" for d in diagnostics)


def test_pack_reports_a_violation_as_mandatory(example_stacks: ExampleStacks, stack_config_env: Any,
                                               isolated_runtime_config: None) -> None:
    """The same path with one weakened resource: the engine gets one mandatory diagnostic that names it."""
    evaluated = example_stacks[PROJECT_DIR / "stacks" / "Pulumi.local.yaml"]
    recording = copy.deepcopy(evaluated.recording)
    namespace = next(r for r in recording.resources.values() if r.type == "kubernetes:core/v1:Namespace")
    del namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
    stack_config_env(evaluated.config)
    diagnostics = _analyze_with_pack(dataclasses.replace(evaluated, recording=recording))
    assert [d.policyName for d in diagnostics] == [RESTRICTED_NAMESPACES.name]
    assert diagnostics[0].enforcementLevel == proto.MANDATORY
    # a resource policy's violation belongs to the analyzed resource: the engine fills in its URN
    assert f"Namespace '{namespace.name}'" in diagnostics[0].message
    assert "restricted" in diagnostics[0].message


# --- (b) every policy reports what it exists to catch -----------------------------------------------------------

RDS = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
DOCDB = "aws:docdb/cluster:Cluster"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
GCP_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
GCS = "gcp:storage/bucket:Bucket"
AZURE_STORAGE = "azure-native:storage:StorageAccount"
AZURE_MYSQL = "azure-native:dbformysql:Server"
S3 = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"

GOOD_RDS = {"engine": "mysql", "storageEncrypted": True, "publiclyAccessible": False, "deletionProtection": True,
            "backupRetentionPeriod": 35.0}
GOOD_GCP_SQL = {"databaseVersion": "MYSQL_8_4", "settings": {
    "tier": "db-custom-2-7680",
    "ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "projects/p/global/networks/n",
                        "sslMode": "ENCRYPTED_ONLY"},
    "backupConfiguration": {"enabled": True, "binaryLogEnabled": True}}}
GOOD_GCS = {"location": "EU", "uniformBucketLevelAccess": True, "publicAccessPrevention": "enforced"}
GOOD_AZURE_STORAGE = {"kind": "StorageV2", "allowBlobPublicAccess": False, "enableHttpsTrafficOnly": True,
                      "minimumTlsVersion": "TLS1_2",
                      "encryption": {"keySource": "Microsoft.Storage", "services": {"blob": {"enabled": True}}}}
GOOD_AZURE_MYSQL = {"version": "8.0.21", "network": {"publicNetworkAccess": "Disabled"},
                    "backup": {"backupRetentionDays": 14.0}}
RESTRICTED_CONTAINER: dict[str, Any] = {"name": "app", "image": "app:1", "securityContext": {
    "allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 1000.0,
    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}, "seccompProfile": {"type": "RuntimeDefault"}}}
OPENEDX_RELEASE = {"chart": "charts/openedx", "namespace": "openedx-demo", "atomic": True, "maxHistory": 10.0,
                   "timeout": 3600.0, "values": {"global": {"instance": "demo"}}}


def with_changes(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `base` with dotted-path changes (`settings__ipConfiguration__sslMode=...`); None deletes."""
    result = copy.deepcopy(dict(base))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = result
        for key in parents:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return result


def workload(kind: str, pod: dict[str, Any]) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "x"}}, "spec": pod}
    spec: dict[str, Any] = {
        "Pod": pod,
        "CronJob": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}},
    }.get(kind, {"template": template})
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "w"}, "spec": spec}


def container(**security_context: Any) -> dict[str, Any]:
    context = copy.deepcopy(RESTRICTED_CONTAINER["securityContext"])
    for key, value in security_context.items():
        if value is None:
            context.pop(key, None)
        else:
            context[key] = value
    return {**RESTRICTED_CONTAINER, "securityContext": context}


def configmap(data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": data}


def s3_stack(*, sse: bool = True, pab: bool = True, sse_props: dict[str, Any] | None = None,
             pab_props: dict[str, Any] | None = None) -> StackValidationArgs:
    bucket = stack_resource(S3, "media", {"bucket": "openedx-media-1", "arn": "arn:aws:s3:::openedx-media-1"})
    resources = [bucket]
    if sse:
        resources.append(stack_resource(SSE, "media", sse_props or {"bucket": "openedx-media-1", "rules": [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}]},
            [bucket]))
    if pab:
        flags = dict.fromkeys(policies.S3_PUBLIC_ACCESS_FLAGS, True)
        resources.append(stack_resource(PAB, "media", pab_props or {"bucket": "openedx-media-1", **flags}, [bucket]))
    return StackValidationArgs(resources, config={}, stack_tags={})


def _case(policy: Policy, args: ResourceValidationArgs | StackValidationArgs, expected: str, id: str) -> Any:
    return pytest.param(policy, args, expected, id=f"{policy.name}-{id}")


FAILING = [
    # encryption of databases and caches
    _case(ENCRYPTED_DATABASES, resource_args(RDS, with_changes(GOOD_RDS, storageEncrypted=False)),
          "storageEncrypted", "rds-unencrypted"),
    _case(ENCRYPTED_DATABASES, resource_args(RDS_CLUSTER, {"engine": "aurora-mysql"}), "storageEncrypted",
          "aurora-default"),
    _case(ENCRYPTED_DATABASES, resource_args(DOCDB, {"storageEncrypted": False}), "storageEncrypted", "docdb"),
    _case(ENCRYPTED_DATABASES, resource_args(ELASTICACHE, {"description": "r", "atRestEncryptionEnabled": True}),
          "transitEncryptionEnabled", "elasticache-no-tls"),
    _case(ENCRYPTED_DATABASES, resource_args(ELASTICACHE, {"description": "r", "transitEncryptionEnabled": True}),
          "atRestEncryptionEnabled", "elasticache-at-rest"),
    _case(ENCRYPTED_DATABASES, resource_args(GCP_SQL, with_changes(
        GOOD_GCP_SQL, settings__ipConfiguration__sslMode="ALLOW_UNENCRYPTED_AND_ENCRYPTED")), "sslMode",
        "cloudsql-plaintext"),
    _case(ENCRYPTED_DATABASES, resource_args("gcp:redis/instance:Instance", {"memorySizeGb": 1.0}),
          "transitEncryptionMode", "memorystore"),
    _case(ENCRYPTED_DATABASES, resource_args(AZURE_MYSQL, with_changes(
        GOOD_AZURE_MYSQL, dataEncryption={"type": "AzureKeyVault"})), "primaryKeyURI", "azure-mysql-cmk"),
    _case(ENCRYPTED_DATABASES, resource_args("azure-native:redis:Redis", {"enableNonSslPort": True,
                                                                         "minimumTlsVersion": "1.2"}),
          "enableNonSslPort", "azure-redis"),
    # encryption of object storage
    _case(ENCRYPTED_OBJECT_STORAGE, resource_args(AZURE_STORAGE, with_changes(
        GOOD_AZURE_STORAGE, enableHttpsTrafficOnly=False)), "enableHttpsTrafficOnly", "azure-http"),
    _case(ENCRYPTED_OBJECT_STORAGE, resource_args(AZURE_STORAGE, with_changes(
        GOOD_AZURE_STORAGE, minimumTlsVersion="TLS1_0")), "minimumTlsVersion", "azure-tls10"),
    _case(ENCRYPTED_OBJECT_STORAGE, resource_args(AZURE_STORAGE, with_changes(
        GOOD_AZURE_STORAGE, encryption__services__blob__enabled=False)), "encryption.services.blob",
        "azure-blob-unencrypted"),
    _case(ENCRYPTED_OBJECT_STORAGE, resource_args(GCS, with_changes(GOOD_GCS, encryption={})),
          "defaultKmsKeyName", "gcs-cmek-without-key"),
    # S3 (stack policies)
    _case(S3_BUCKETS_ENCRYPTED, s3_stack(sse=False), "no aws.s3.BucketServerSideEncryptionConfiguration",
          "missing"),
    _case(S3_BUCKETS_ENCRYPTED, s3_stack(sse_props={"bucket": "openedx-media-1", "rules": [
        {"bucketKeyEnabled": True}]}), "default encryption algorithm", "no-algorithm"),
    _case(S3_BUCKETS_PRIVATE, s3_stack(pab=False), "no aws.s3.BucketPublicAccessBlock", "missing"),
    _case(S3_BUCKETS_PRIVATE, s3_stack(pab_props={
        "bucket": "openedx-media-1", "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
        "restrictPublicBuckets": False}), "restrictPublicBuckets", "flag-off"),
    # public buckets
    _case(NO_PUBLIC_BUCKETS, resource_args(GCS, with_changes(GOOD_GCS, publicAccessPrevention="inherited")),
          "publicAccessPrevention", "gcs-inherited"),
    _case(NO_PUBLIC_BUCKETS, resource_args(GCS, with_changes(GOOD_GCS, uniformBucketLevelAccess=None)),
          "uniformBucketLevelAccess", "gcs-acls"),
    _case(NO_PUBLIC_BUCKETS, resource_args(AZURE_STORAGE, with_changes(GOOD_AZURE_STORAGE,
                                                                       allowBlobPublicAccess=None)),
          "allowBlobPublicAccess", "azure-implicit"),
    _case(NO_PUBLIC_BUCKETS, resource_args("aws:s3/bucketAcl:BucketAcl", {"bucket": "b", "acl": "public-read"}),
          "public-read", "s3-acl"),
    # public databases
    _case(NO_PUBLIC_DATABASES, resource_args(RDS, with_changes(GOOD_RDS, publiclyAccessible=True)),
          "publiclyAccessible", "rds"),
    _case(NO_PUBLIC_DATABASES, resource_args("aws:rds/clusterInstance:ClusterInstance",
                                             {"publiclyAccessible": True}), "publiclyAccessible", "aurora-instance"),
    _case(NO_PUBLIC_DATABASES, resource_args(GCP_SQL, with_changes(GOOD_GCP_SQL,
                                                                   settings__ipConfiguration__ipv4Enabled=None)),
          "ipv4Enabled", "cloudsql-default-public-ip"),
    _case(NO_PUBLIC_DATABASES, resource_args(AZURE_MYSQL, with_changes(
        GOOD_AZURE_MYSQL, network__publicNetworkAccess="Enabled")), "publicNetworkAccess", "azure-mysql"),
    # production backups and deletion protection
    _case(PRODUCTION_BACKUPS, resource_args(RDS, with_changes(GOOD_RDS, deletionProtection=False),
                                            config=PRODUCTION), "deletionProtection", "rds-deletable"),
    _case(PRODUCTION_BACKUPS, resource_args(RDS, with_changes(GOOD_RDS, backupRetentionPeriod=1.0),
                                            config=PRODUCTION), "backupRetentionPeriod", "rds-1-day"),
    _case(PRODUCTION_BACKUPS, resource_args(DOCDB, {"storageEncrypted": True, "deletionProtection": True},
                                            config=PRODUCTION), "backupRetentionPeriod", "docdb-default"),
    _case(PRODUCTION_BACKUPS, resource_args(GCP_SQL, with_changes(
        GOOD_GCP_SQL, settings__backupConfiguration__enabled=False), config=PRODUCTION),
        "backupConfiguration.enabled", "cloudsql-no-backups"),
    _case(PRODUCTION_BACKUPS, resource_args(GCP_SQL, with_changes(GOOD_GCP_SQL, deletionProtection=False),
                                            config=PRODUCTION), "deletionProtection", "cloudsql-deletable"),
    _case(PRODUCTION_BACKUPS, resource_args(AZURE_MYSQL, with_changes(
        GOOD_AZURE_MYSQL, backup__backupRetentionDays=3.0), config=PRODUCTION), "backupRetentionDays",
        "azure-mysql-3-days"),
    _case(PRODUCTION_BACKUPS, resource_args(RELEASE, with_changes(OPENEDX_RELEASE, values__backups={
        "enabled": False}), config=PRODUCTION), "values.backups", "instance-backups-off"),
    _case(PRODUCTION_BACKUPS, resource_args(RELEASE, with_changes(OPENEDX_RELEASE, values__backups={
        "enabled": True, "schedule": ""}), config=PRODUCTION), "unscheduled", "instance-backups-unscheduled"),
    _case(PRODUCTION_PROTECT, resource_args(RDS, GOOD_RDS, protect=False, config=PRODUCTION), "protect",
          "rds"),
    _case(PRODUCTION_PROTECT, resource_args("gcp:container/cluster:Cluster", {"location": "europe-west1"},
                                            config=PRODUCTION), "protect", "gke"),
    _case(PRODUCTION_PROTECT, resource_args(
        ELASTICACHE, {"atRestEncryptionEnabled": True}, config=PRODUCTION,
        urn=f"urn:pulumi:prod::openedx::openedx:clouds:AwsCloud${ELASTICACHE}::shared-redis"),
        "protect", "shared-cache"),
    # pods
    _case(NO_PRIVILEGED_PODS, resource_args("kubernetes:apps/v1:Deployment", workload(
        "Deployment", {"containers": [container(privileged=True)]})), "privileged is true", "privileged"),
    _case(NO_PRIVILEGED_PODS, resource_args("kubernetes:apps/v1:StatefulSet", workload(
        "StatefulSet", {"containers": [container(runAsNonRoot=None)]})), "runAsNonRoot", "maybe-root"),
    _case(NO_PRIVILEGED_PODS, resource_args("kubernetes:batch/v1:CronJob", workload(
        "CronJob", {"containers": [container(allowPrivilegeEscalation=None)]})), "allowPrivilegeEscalation",
        "escalation-default"),
    _case(NO_PRIVILEGED_PODS, resource_args("kubernetes:apps/v1:DaemonSet", workload(
        "DaemonSet", {"hostNetwork": True, "containers": [container()]})), "hostNetwork", "host-network"),
    _case(NO_PRIVILEGED_PODS, resource_args("kubernetes:batch/v1:Job", workload(
        "Job", {"securityContext": {"runAsUser": 0.0}, "containers": [container(runAsUser=None)]})),
        "runAsUser is 0", "pod-level-root"),
    _case(NO_PRIVILEGED_PODS, resource_args("kubernetes:core/v1:Pod", workload(
        "Pod", {"initContainers": [container(capabilities={"add": ["SYS_ADMIN"]})],
                "containers": [container()]})), "SYS_ADMIN", "init-container-capability"),
    # namespaces
    _case(RESTRICTED_NAMESPACES, resource_args(NAMESPACE, {"metadata": {"name": "openedx-x", "labels": {
        "pod-security.kubernetes.io/enforce": "baseline"}}}), "'baseline'", "baseline"),
    _case(RESTRICTED_NAMESPACES, resource_args(NAMESPACE, {"metadata": {"name": "openedx-x"}}), "restricted",
          "unlabelled"),
    # ConfigMaps
    _case(NO_CREDENTIALS_IN_CONFIGMAPS, resource_args(CONFIGMAP, configmap({"MYSQL_PASSWORD": "x"})),
          "MYSQL_PASSWORD", "password-key"),
    _case(NO_CREDENTIALS_IN_CONFIGMAPS, resource_args(CONFIGMAP, configmap({
        "jwt.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"})),
        "PEM private key", "pem"),
    _case(NO_CREDENTIALS_IN_CONFIGMAPS, resource_args(CONFIGMAP, configmap({
        "CELERY_BROKER": "redis://default:hunter2@redis:6379/0"})), "URL with an embedded password", "url"),
    _case(NO_CREDENTIALS_IN_CONFIGMAPS, resource_args(CONFIGMAP, configmap({
        "lms.env.yml": "LMS_BASE: learn.example.com\nSECRET_KEY: 'k3y'\n"})), "SECRET_KEY", "settings-file"),
    # application Releases
    _case(ATOMIC_RELEASES, resource_args(RELEASE, with_changes(OPENEDX_RELEASE, chart="charts/openedx-services",
                                                               atomic=False, timeout=900.0)), "atomic",
          "not-atomic"),
    _case(ATOMIC_RELEASES, resource_args(RELEASE, with_changes(OPENEDX_RELEASE, timeout=300.0)), "timeout",
          "openedx-default-timeout"),
    _case(ATOMIC_RELEASES, resource_args(RELEASE, with_changes(OPENEDX_RELEASE, timeout=3000.0)), "(3000 s",
          "openedx-timeout-equals-the-chart-deadline"),
    _case(ATOMIC_RELEASES, resource_args(RELEASE, with_changes(
        OPENEDX_RELEASE, timeout=3600.0, values={"init": {"activeDeadlineSeconds": 7200.0}})), "(7200 s",
          "openedx-timeout-below-its-init-deadline"),
    _case(ATOMIC_RELEASES, resource_args(RELEASE, with_changes(OPENEDX_RELEASE, maxHistory=None)), "maxHistory",
          "unbounded-history"),
    _case(ATOMIC_RELEASES, resource_args(RELEASE, with_changes(OPENEDX_RELEASE, chart="./charts/openedx/",
                                                               maxHistory=0.0)), "maxHistory", "history-zero"),
]


@pytest.mark.parametrize(("policy", "args", "expected"), FAILING)
def test_policy_reports_violation(policy: Policy, args: ResourceValidationArgs | StackValidationArgs,
                                  expected: str, stack_config_env: Any) -> None:
    found = violations(policy, args)
    assert found, f"{policy.name} reported nothing"
    messages = " | ".join(m for m, _ in found)
    assert expected in messages


def test_every_policy_has_a_failing_case() -> None:
    covered = {param.values[0].name for param in FAILING}
    assert covered == {p.name for p in POLICIES}


def test_stack_violation_names_the_offending_bucket() -> None:
    """Stack policies must say which resource is wrong; a side resource only counts for its own bucket."""
    args = s3_stack(sse=False)
    bucket = args.resources[0]
    assert [u for _, u in violations(S3_BUCKETS_ENCRYPTED, args)] == [bucket.urn]
    other = stack_resource(S3, "other", {"bucket": "openedx-other-2"})
    # matched by value only (no dependency), as when the stack's outputs are all that is known
    config = stack_resource(SSE, "media", {"bucket": "openedx-media-1", "rules": [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]})
    found = violations(S3_BUCKETS_ENCRYPTED, StackValidationArgs([bucket, other, config]))
    assert [u for _, u in found] == [other.urn]
    assert "'other'" in found[0][0]


def _ok(policy: Policy, args: ResourceValidationArgs | StackValidationArgs, id: str) -> Any:
    return pytest.param(policy, args, id=f"{policy.name}-{id}")


PASSING = [
    _ok(ENCRYPTED_DATABASES, resource_args(RDS, GOOD_RDS), "rds"),
    _ok(ENCRYPTED_DATABASES, resource_args(ELASTICACHE, {"atRestEncryptionEnabled": True,
                                                         "transitEncryptionEnabled": True}), "elasticache"),
    _ok(ENCRYPTED_DATABASES, resource_args(GCP_SQL, GOOD_GCP_SQL), "cloudsql"),
    _ok(ENCRYPTED_DATABASES, resource_args(AZURE_MYSQL, GOOD_AZURE_MYSQL), "azure-mysql"),
    _ok(ENCRYPTED_DATABASES, resource_args("gcp:redis/instance:Instance",
                                           {"transitEncryptionMode": "SERVER_AUTHENTICATION"}), "memorystore"),
    _ok(ENCRYPTED_OBJECT_STORAGE, resource_args(AZURE_STORAGE, GOOD_AZURE_STORAGE), "azure-storage"),
    _ok(ENCRYPTED_OBJECT_STORAGE, resource_args(GCS, with_changes(GOOD_GCS, encryption={
        "defaultKmsKeyName": "projects/p/locations/eu/keyRings/r/cryptoKeys/k"})), "gcs-cmek"),
    _ok(ENCRYPTED_OBJECT_STORAGE, resource_args(GCS, GOOD_GCS), "gcs-google-managed"),
    _ok(S3_BUCKETS_ENCRYPTED, s3_stack(), "s3"),
    _ok(S3_BUCKETS_PRIVATE, s3_stack(), "s3"),
    _ok(NO_PUBLIC_BUCKETS, resource_args(GCS, GOOD_GCS), "gcs"),
    _ok(NO_PUBLIC_BUCKETS, resource_args(AZURE_STORAGE, GOOD_AZURE_STORAGE), "azure-storage"),
    _ok(NO_PUBLIC_DATABASES, resource_args(RDS, with_changes(GOOD_RDS, publiclyAccessible=None)),
        "rds-default-private"),
    _ok(NO_PUBLIC_DATABASES, resource_args(GCP_SQL, GOOD_GCP_SQL), "cloudsql"),
    _ok(NO_PUBLIC_DATABASES, resource_args(AZURE_MYSQL, GOOD_AZURE_MYSQL), "azure-mysql"),
    _ok(PRODUCTION_BACKUPS, resource_args(RDS, GOOD_RDS, config=PRODUCTION), "rds"),
    _ok(PRODUCTION_BACKUPS, resource_args(RDS, {"storageEncrypted": True}, config={"environment": "dev"}),
        "dev-not-required"),
    _ok(PRODUCTION_BACKUPS, resource_args(GCP_SQL, GOOD_GCP_SQL, config=PRODUCTION), "cloudsql"),
    _ok(PRODUCTION_BACKUPS, resource_args(RELEASE, with_changes(OPENEDX_RELEASE, values__backups={
        "enabled": True, "schedule": "17 3 * * *"}), config=PRODUCTION), "instance-backups"),
    _ok(PRODUCTION_BACKUPS, resource_args(RELEASE, OPENEDX_RELEASE, config={"environment": "dev"}),
        "instance-backups-dev"),
    _ok(PRODUCTION_BACKUPS, resource_args(AZURE_MYSQL, with_changes(GOOD_AZURE_MYSQL, backup=None),
                                          config=PRODUCTION), "azure-mysql-default-7-days"),
    _ok(PRODUCTION_PROTECT, resource_args(RDS, GOOD_RDS, protect=True, config=PRODUCTION), "rds"),
    _ok(PRODUCTION_PROTECT, resource_args(RDS, GOOD_RDS, protect=False, config={"environment": "staging"}),
        "staging-not-required"),
    _ok(PRODUCTION_PROTECT, resource_args(S3, {"bucketPrefix": "openedx-"}, config=PRODUCTION),
        "per-instance-bucket-not-required"),
    _ok(PRODUCTION_PROTECT, resource_args(
        ELASTICACHE, {"atRestEncryptionEnabled": True}, config=PRODUCTION,
        urn=f"urn:pulumi:prod::openedx::openedx:index:Instance${ELASTICACHE}::acme-redis"),
        "per-instance-cache-not-required"),
    _ok(NO_PRIVILEGED_PODS, resource_args("kubernetes:apps/v1:Deployment", workload(
        "Deployment", {"securityContext": {"runAsNonRoot": True},
                       "containers": [container(runAsNonRoot=None, runAsUser=None)]})), "pod-level-non-root"),
    _ok(NO_PRIVILEGED_PODS, resource_args("kubernetes:batch/v1:CronJob", workload("CronJob", {
        "containers": [container()]})), "cronjob"),
    _ok(RESTRICTED_NAMESPACES, resource_args(NAMESPACE, {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}}), "restricted"),
    _ok(NO_CREDENTIALS_IN_CONFIGMAPS, resource_args(CONFIGMAP, configmap({
        "existingSecret": "openedx-settings", "TOKEN_TTL": "3600", "PASSWORD_RESET_TIMEOUT": "86400",
        "caddy.conf": "password: ${PASSWORD}\nsecret: \"\"\n", "LMS_HOST": "learn.example.com"})),
        "references-and-placeholders"),
    _ok(ATOMIC_RELEASES, resource_args(RELEASE, OPENEDX_RELEASE), "openedx"),
    _ok(ATOMIC_RELEASES, resource_args(RELEASE, with_changes(
        OPENEDX_RELEASE, timeout=1800.0, values={"init": {"activeDeadlineSeconds": 1200.0}})),
        "openedx-short-deadline-and-timeout"),
    _ok(ATOMIC_RELEASES, resource_args(RELEASE, {"chart": "traefik", "repositoryOpts": {
        "repo": "https://traefik.github.io/charts"}}), "repository-chart-not-checked"),
    _ok(ATOMIC_RELEASES, resource_args(RELEASE, {"chart": "oci://registry.example/charts/x"}),
        "oci-chart-not-checked"),
]


@pytest.mark.parametrize(("policy", "args"), PASSING)
def test_policy_accepts_compliant_resource(policy: Policy, args: Any, stack_config_env: Any) -> None:
    """Compliant resources of every cloud, including those no example stack creates yet."""
    assert violations(policy, args) == []


def test_environment_comes_from_stack_config_unless_the_policy_config_overrides_it(
        stack_config_env: Any) -> None:
    unprotected = GOOD_RDS
    assert violations(PRODUCTION_PROTECT, resource_args(RDS, unprotected)) == []  # no config: dev, the default
    stack_config_env({"openedx:environment": "production", "openedx:cloud": "aws"})
    assert violations(PRODUCTION_PROTECT, resource_args(RDS, unprotected))
    assert violations(PRODUCTION_PROTECT, resource_args(RDS, unprotected, config={"environment": "dev"})) == []


# Real registrations, weakened one property at a time: the policies match the type tokens and property shapes the
# program actually produces, not only hand-written ones.
WEAKENINGS = [
    (RESTRICTED_NAMESPACES, NAMESPACE, lambda r: r.inputs["metadata"]["labels"].pop(
        "pod-security.kubernetes.io/enforce"), "restricted"),
    (ATOMIC_RELEASES, RELEASE, lambda r: r.inputs.update(atomic=False), "atomic"),
    (ATOMIC_RELEASES, RELEASE, lambda r: r.inputs.pop("maxHistory"), "maxHistory"),
    (ENCRYPTED_DATABASES, RDS, lambda r: r.inputs.update(storageEncrypted=False), "storageEncrypted"),
    (NO_PUBLIC_DATABASES, RDS, lambda r: r.inputs.update(publiclyAccessible=True), "publiclyAccessible"),
    (PRODUCTION_BACKUPS, RDS, lambda r: r.inputs.update(backupRetentionPeriod=1), "backupRetentionPeriod"),
    (PRODUCTION_PROTECT, RDS, lambda r: setattr(r, "protect", False), "protect"),
]


@pytest.mark.parametrize(("policy", "type_", "weaken", "expected"), WEAKENINGS,
                         ids=[f"{p.name}-{t.rsplit(':', 1)[-1]}-{e}" for p, t, _, e in WEAKENINGS])
def test_policy_catches_weakened_recorded_resource(policy: ResourceValidationPolicy, type_: str,
                                                   weaken: Callable[[Registration], Any], expected: str,
                                                   example_stacks: ExampleStacks, stack_config_env: Any) -> None:
    checked = 0
    for evaluated in (example_stacks[stack_file] for stack_file in STACKS):
        for registration in evaluated.recording.resources.values():
            if registration.type != type_ or (type_ == RELEASE and policies.local_chart(registration.inputs) is None):
                continue
            weakened = copy.deepcopy(registration)
            weaken(weakened)
            found = violations(policy, registration_args(weakened, evaluated.recording, PRODUCTION))
            assert any(expected in m for m, _ in found), f"{evaluated.name} {registration.urn}: {found}"
            checked += 1
    assert checked, f"no example stack registers a {type_}"


@pytest.mark.parametrize("policy", [S3_BUCKETS_ENCRYPTED, S3_BUCKETS_PRIVATE], ids=lambda p: p.name)
def test_stack_policy_catches_bucket_without_side_resource(policy: StackValidationPolicy,
                                                           example_stacks: ExampleStacks) -> None:
    side_type = SSE if policy is S3_BUCKETS_ENCRYPTED else PAB
    checked = 0
    for evaluated in (example_stacks[stack_file] for stack_file in STACKS):
        recording = evaluated.recording
        buckets = [r.urn for r in recording.resources.values() if r.type == S3]
        if not buckets:
            continue
        kept = [r for r in recording.resources.values() if r.type != side_type]
        found = violations(policy, recording_stack_args(kept, recording))
        assert sorted(str(u) for _, u in found) == sorted(buckets), evaluated.name
        checked += len(buckets)
    assert checked, "no example stack registers an S3 bucket"


# --- (c) the pack itself ----------------------------------------------------------------------------------------


def test_every_policy_is_mandatory_named_uniquely_and_described() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)), names
    for p in POLICIES:
        assert isinstance(p, ResourceValidationPolicy | StackValidationPolicy)
        assert p.enforcement_level == EnforcementLevel.MANDATORY, p.name
        assert len(p.description) > 40, p.name


def test_pack_entry_point_serves_every_policy_as_mandatory(monkeypatch: pytest.MonkeyPatch) -> None:
    """`__main__.py` as the CLI's python policy host runs it (runpy on the pack directory), without the server."""
    pack = mock.Mock()
    monkeypatch.setattr("pulumi_policy.PolicyPack", pack)
    monkeypatch.delitem(sys.modules, "policies", raising=False)
    try:
        runpy.run_path(str(POLICY_DIR), run_name="__main__")
    finally:
        sys.modules.pop("policies", None)
        if str(POLICY_DIR) in sys.path:
            sys.path.remove(str(POLICY_DIR))
    pack.assert_called_once()
    (name,), kwargs = pack.call_args
    assert name == "openedx-security-baseline"
    assert kwargs["enforcement_level"] == EnforcementLevel.MANDATORY
    assert [p.name for p in kwargs["policies"]] == [p.name for p in POLICIES]


def test_pack_project_files() -> None:
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    requirements = (POLICY_DIR / "requirements.txt").read_text().split()
    assert f"pulumi-policy=={importlib.metadata.version('pulumi-policy')}" in requirements
