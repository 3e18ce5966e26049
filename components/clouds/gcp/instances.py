"""Google Cloud: what each instance gets of its own (its cache, its bucket and pod identity), and what that is made
from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.clouds import common
from components.clouds.gcp.settings import GcpRedis
from components.clouds.gcp.values import (
    BUCKET_CORS_HEADERS,
    REDIS_CONFIG,
    REDIS_VERSION,
    WORKLOAD_IDENTITY_ANNOTATION,
    first_cert,
    scoped_name,
    service_account_member,
    workload_identity_member,
)
from components.infrastructure import BACKUP_FOLDER, DELETED_BACKUP_DAYS, CacheEndpoint, GcsBucket, InstanceStorage

TYPE = "openedx:clouds:GcpCloud"
"""The adapter's type token, whether it builds the cluster or attaches to a platform stack's: an instance's
resources, the adapter's provider among their URNs, keep their URNs when the instance moves between the two."""


@dataclass(frozen=True)
class GcpCacheInputs:
    """Where every instance's Memorystore goes, and how it is sized."""

    network: pulumi.Input[str]
    """The VPC's id: the caches' authorized network."""
    reserved_range: pulumi.Input[str]
    """The name of the private services access range the caches get their addresses in."""
    settings: GcpRedis
    """The stack's `gcp.redis`; what it leaves unset follows the instance's stack's environment."""


@dataclass(frozen=True)
class GcpInstanceInputs:
    """What each instance's own Google Cloud resources are made from, besides the provider: in a platform stack,
    its `instanceInputs`. No secret."""

    project: str
    region: str
    stack: str
    """The stack whose name, with the instance's, makes the names that must be unique in the project or globally
    (bucket, service account, Memorystore): the one that built the cluster, so that an instance keeps them when it
    moves to an instance stack."""
    cache: GcpCacheInputs | None = None
    """None: each instance runs its Redis in the cluster."""


def exported(inputs: GcpInstanceInputs) -> dict[str, pulumi.Input[Any]]:
    """`inputs` as a platform stack exports them (camelCase keys)."""
    values: dict[str, pulumi.Input[Any]] = {"project": inputs.project, "region": inputs.region, "stack": inputs.stack}
    if inputs.cache is not None:
        values |= {"network": inputs.cache.network, "privateServicesRange": inputs.cache.reserved_range,
                   "redis": inputs.cache.settings.model_dump(by_alias=True, exclude_none=True)}
    return values


def from_exported(values: Mapping[str, Any]) -> GcpInstanceInputs:
    """An instance stack's reading of what `exported` wrote."""
    cache = None
    if "redis" in values:
        cache = GcpCacheInputs(network=values["network"], reserved_range=values["privateServicesRange"],
                               settings=GcpRedis.model_validate(values["redis"]))
    return GcpInstanceInputs(project=values["project"], region=values["region"], stack=values["stack"], cache=cache)


class GcpInstanceResources(common.CloudAdapter):
    """What each instance gets of its own on Google Cloud, from `_instances` (set by the adapter: from its resources
    when it builds the cluster, from the platform stack's output when it attaches to one) and the adapter's
    provider: a Memorystore instance (when the stack uses Memorystore), and a bucket with the service account only
    its pods may act as. What the environment implies is the instance's stack's."""

    _instances: GcpInstanceInputs
    _cache_after: Sequence[pulumi.Resource] = ()
    """What a cache waits for besides its inputs: the private services peering, where the stack makes it."""
    _identity_after: Sequence[pulumi.Resource] = ()
    """What a pod identity waits for: the cluster (its workload identity pool), where the stack makes it."""

    def cache_for(self, instance: str, parent: pulumi.Resource) -> CacheEndpoint:
        """The instance's own Memorystore: private services access only, AUTH, TLS (server authentication)."""
        cache_inputs = self._instances.cache
        if cache_inputs is None:
            raise ValueError("Memorystore: the stack's caches are in the cluster (gcp.redis.service: in-cluster)")
        redis = cache_inputs.settings
        highly_available = common.pick(redis.high_availability, self._defaults.high_availability)
        cache = gcp.redis.Instance(
            f"{instance}-redis",
            name=scoped_name(f"openedx-{instance}", 40, self._instances.stack, instance),
            region=self._instances.region,
            tier="STANDARD_HA" if highly_available else "BASIC",
            memory_size_gb=redis.memory_size_gb,
            redis_version=REDIS_VERSION,
            redis_configs=REDIS_CONFIG,
            authorized_network=cache_inputs.network,
            connect_mode="PRIVATE_SERVICE_ACCESS",
            reserved_ip_range=cache_inputs.reserved_range,
            auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            # A cache: removing an instance removes it (no deletion protection, nothing protected).
            deletion_protection=False,
            labels={**self._labels, "openedx-instance": instance},
            opts=self._opts(parent=parent, depends_on=self._cache_after),
        )
        return CacheEndpoint(
            host=cache.host,
            port=cache.port,
            password=pulumi.Output.secret(cache.auth_string),  # AUTH with the string alone (no ACL user)
            ca_certificate=cache.server_ca_certs.apply(first_cert),
        )

    def bucket_for(self, instance: str, namespace: str, service_account: str, hosts: Sequence[str],
                   parent: pulumi.Resource) -> InstanceStorage:
        """The instance's private bucket and the Google service account only its Kubernetes ServiceAccount may
        act as (Workload Identity): no keys anywhere."""
        opts = self._opts(parent=parent)
        project, stack = self._instances.project, self._instances.stack
        bucket = gcp.storage.Bucket(
            f"{instance}-media",
            name=scoped_name(f"openedx-{instance}", 63, project, stack, instance),
            location=self._instances.region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            # Backups that retention deleted linger as old versions for a while, then go.
            lifecycle_rules=[gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    matches_prefixes=[f"{BACKUP_FOLDER}/"], with_state="ARCHIVED",
                    days_since_noncurrent_time=DELETED_BACKUP_DAYS))],
            cors=[gcp.storage.BucketCorArgs(origins=[f"https://{host}" for host in hosts],
                                            methods=["GET", "PUT", "POST", "HEAD"],
                                            response_headers=BUCKET_CORS_HEADERS, max_age_seconds=3600)],
            force_destroy=not self._production,
            labels={**self._labels, "openedx-instance": instance},
            opts=self._opts(parent=parent, retain_on_delete=self._production),
        )
        account = gcp.serviceaccount.Account(
            f"{instance}-pods", project=project, account_id=scoped_name(f"oe-{instance}", 30, stack, instance),
            display_name=f"Open edX {instance} ({stack})", opts=opts)
        member = account.email.apply(service_account_member)
        gcp.storage.BucketIAMMember(f"{instance}-media-access", bucket=bucket.name, role="roles/storage.objectAdmin",
                                    member=member, opts=opts)
        gcp.serviceaccount.IAMMember(
            f"{instance}-workload-identity", service_account_id=account.name, role="roles/iam.workloadIdentityUser",
            member=workload_identity_member(project, namespace, service_account),
            # The workload identity pool exists once the cluster does.
            opts=self._opts(parent=parent, depends_on=self._identity_after))
        # Signed URLs without a key: the account signs with IAM signBlob, on itself only.
        gcp.serviceaccount.IAMMember(f"{instance}-sign-blob", service_account_id=account.name,
                                     role="roles/iam.serviceAccountTokenCreator", member=member, opts=opts)
        return InstanceStorage(
            bucket=bucket.name,
            service=GcsBucket(project=project, signer_email=account.email),
            service_account_annotations={WORKLOAD_IDENTITY_ANNOTATION: account.email},
        )
