"""AWS: what each instance gets of its own (its cache, its bucket and pod role), and what that is made from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.clouds import common
from components.clouds.aws.settings import AwsRedis
from components.clouds.aws.values import (
    bucket_policy_document,
    cache_node_type,
    irsa_trust_policy,
    replication_group_id,
    ses_identity_arn,
    ses_send_policy_document,
    ses_smtp_host,
)
from components.infrastructure import (
    BACKUP_FOLDER,
    DELETED_BACKUP_DAYS,
    CacheEndpoint,
    InstanceStorage,
    S3Bucket,
    SmtpCredentials,
)

TYPE = "openedx:clouds:AwsCloud"
"""The adapter's type token, whether it builds the cluster or attaches to a platform stack's: an instance's
resources, the adapter's provider among their URNs, keep their URNs when the instance moves between the two."""


@dataclass(frozen=True)
class AwsCacheInputs:
    """Where every instance's ElastiCache group goes, and how it is sized."""

    subnet_group: pulumi.Input[str]
    """The ElastiCache subnet group's name (the VPC's private subnets)."""
    security_group: pulumi.Input[str]
    """The id of the security group open to the cluster's nodes only."""
    settings: AwsRedis
    """The stack's `aws.redis`; what it leaves unset follows the instance's stack's environment."""


@dataclass(frozen=True)
class AwsInstanceInputs:
    """What each instance's own AWS resources are made from, besides the provider: in a platform stack, its
    `instanceInputs`. No secret."""

    region: str
    stack: str
    """The stack whose name, with the instance's, makes the names that must be unique in the account (the cache's
    id): the one that built the cluster, so that an instance keeps them when it moves to an instance stack."""
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    """The cluster's IAM OIDC provider, which the instances' pod roles trust (IRSA)."""
    cache: AwsCacheInputs | None = None
    """None: each instance runs its Redis in the cluster."""


def exported(inputs: AwsInstanceInputs) -> dict[str, pulumi.Input[Any]]:
    """`inputs` as a platform stack exports them (camelCase keys)."""
    values: dict[str, pulumi.Input[Any]] = {
        "region": inputs.region, "stack": inputs.stack,
        "oidcProviderArn": inputs.oidc_provider_arn, "oidcProviderUrl": inputs.oidc_provider_url}
    if inputs.cache is not None:
        values |= {"cacheSubnetGroup": inputs.cache.subnet_group, "cacheSecurityGroup": inputs.cache.security_group,
                   "redis": inputs.cache.settings.model_dump(by_alias=True, exclude_none=True)}
    return values


def from_exported(values: Mapping[str, Any]) -> AwsInstanceInputs:
    """An instance stack's reading of what `exported` wrote."""
    cache = None
    if "redis" in values:
        cache = AwsCacheInputs(subnet_group=values["cacheSubnetGroup"], security_group=values["cacheSecurityGroup"],
                               settings=AwsRedis.model_validate(values["redis"]))
    return AwsInstanceInputs(region=values["region"], stack=values["stack"],
                             oidc_provider_arn=values["oidcProviderArn"], oidc_provider_url=values["oidcProviderUrl"],
                             cache=cache)


class AwsInstanceResources(common.CloudAdapter):
    """What each instance gets of its own on AWS, from `_instances` (set by the adapter: from its resources when it
    builds the cluster, from the platform stack's output when it attaches to one) and the adapter's provider: an
    ElastiCache replication group (when the stack uses ElastiCache), a bucket with the IRSA role only its pods may
    assume, SES SMTP credentials. What the environment implies is the instance's stack's."""

    _instances: AwsInstanceInputs

    def cache_for(self, instance: str, parent: pulumi.Resource) -> CacheEndpoint:
        """The instance's own ElastiCache replication group: encrypted at rest and in transit, AUTH required."""
        cache = self._instances.cache
        if cache is None:
            raise ValueError("ElastiCache: the stack's caches are in the cluster (aws.redis.service: in-cluster)")
        auth_token = random.RandomPassword(f"{instance}-redis-auth", length=64, special=False,
                                           opts=pulumi.ResourceOptions(parent=parent)).result
        redis = cache.settings
        group = aws.elasticache.ReplicationGroup(
            f"{instance}-redis",
            replication_group_id=replication_group_id(self._instances.stack, instance),
            description=f"Open edX instance {instance}",
            engine="redis",
            engine_version=redis.engine_version,
            node_type=redis.node_type or cache_node_type(self._production),
            num_cache_clusters=2 if self._production else 1,
            automatic_failover_enabled=self._production,
            multi_az_enabled=self._production,
            port=6379,
            subnet_group_name=cache.subnet_group,
            security_group_ids=[cache.security_group],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=auth_token,
            # Celery's queues live here: evict only keys with a TTL (cache entries), never queued tasks.
            parameter_group_name="default.redis7" if redis.engine_version.startswith("7") else "default.redis6.x",
            snapshot_retention_limit=7 if self._production else 1,
            apply_immediately=not self._production,
            auto_minor_version_upgrade=True,
            tags=common.resource_labels(),
            opts=self._opts(parent=parent),
        )
        return CacheEndpoint(host=group.primary_endpoint_address, port=6379, password=auth_token)

    def bucket_for(self, instance: str, namespace: str, service_account: str, hosts: Sequence[str],
                   parent: pulumi.Resource) -> InstanceStorage:
        """The instance's private bucket and the IRSA role that only its ServiceAccount can assume."""
        opts = self._opts(parent=parent)
        keep = self._opts(parent=parent, retain_on_delete=self._production)
        # Outside production, removing the instance empties its bucket (every version of every object) and deletes it.
        bucket = aws.s3.Bucket(f"{instance}-media", bucket_prefix=f"openedx-{instance}-",
                               force_destroy=not self._production, opts=keep)
        aws.s3.BucketPublicAccessBlock(f"{instance}-media", bucket=bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=opts)
        aws.s3.BucketOwnershipControls(
            f"{instance}-media", bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=opts)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{instance}-media", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms"),
                bucket_key_enabled=True)], opts=opts)
        aws.s3.BucketVersioning(f"{instance}-media", bucket=bucket.id,
                                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                                    status="Enabled"), opts=opts)
        aws.s3.BucketLifecycleConfiguration(f"{instance}-media", bucket=bucket.id, rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="deleted-backups", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{BACKUP_FOLDER}/"),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=DELETED_BACKUP_DAYS))], opts=opts)
        aws.s3.BucketCorsConfiguration(f"{instance}-media", bucket=bucket.id, cors_rules=[
            aws.s3.BucketCorsConfigurationCorsRuleArgs(
                allowed_methods=["GET", "PUT", "POST", "HEAD"], allowed_origins=[f"https://{h}" for h in hosts],
                allowed_headers=["*"], max_age_seconds=3600)], opts=opts)
        role = aws.iam.Role(
            f"{instance}-pods",
            assume_role_policy=pulumi.Output.all(self._instances.oidc_provider_arn,
                                                 self._instances.oidc_provider_url).apply(
                lambda a: irsa_trust_policy(a[0], a[1], namespace, service_account)),
            opts=opts)
        aws.iam.RolePolicy(f"{instance}-media-access", role=role.id,
                           policy=bucket.arn.apply(bucket_policy_document), opts=opts)
        return InstanceStorage(
            bucket=bucket.bucket,
            service=S3Bucket(region=self._instances.region),
            service_account_annotations={"eks.amazonaws.com/role-arn": role.arn},
        )

    def mail_for(self, instance: str, domain: str, parent: pulumi.Resource) -> SmtpCredentials:
        """SES SMTP credentials of the instance's own: an IAM user that may only send from `domain` (verified in SES
        in the stack's region), its access key as the login and the key's SES SMTP password."""
        opts = self._opts(parent=parent)
        user = aws.iam.User(f"{instance}-smtp", path="/openedx/", tags=common.resource_labels(), opts=opts)
        region = self._instances.region
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=self._provider,
                                                                                  parent=parent)).account_id
        aws.iam.UserPolicy(f"{instance}-smtp-send", user=user.name,
                           policy=account.apply(lambda a: ses_send_policy_document(
                               ses_identity_arn(region, a, domain))), opts=opts)
        key = aws.iam.AccessKey(f"{instance}-smtp", user=user.name, opts=opts)
        return SmtpCredentials(host=ses_smtp_host(region), username=key.id,
                               password=pulumi.Output.secret(key.ses_smtp_password_v4))
