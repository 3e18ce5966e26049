"""Google Cloud: what each instance gets of its own (its cache, its bucket and pod identity)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from components.clouds import common
from components.clouds.gcp.settings import GcpSettings
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


class GcpInstanceResources(common.CloudAdapter):
    """What each instance gets of its own on Google Cloud, once the adapter's steps have run: a Memorystore
    instance (when the stack uses Memorystore), and a bucket with the service account only its pods may act as."""

    _settings: GcpSettings
    _project: str
    _region: str
    _vpc: gcp.compute.Network
    _private_services: gcp.compute.GlobalAddress
    _peering: gcp.servicenetworking.Connection
    _gke: gcp.container.Cluster

    def cache_for(self, instance: str, parent: pulumi.Resource) -> CacheEndpoint:
        """The instance's own Memorystore: private services access only, AUTH, TLS (server authentication)."""
        redis = self._settings.redis
        highly_available = common.pick(redis.high_availability, self._defaults.high_availability)
        cache = gcp.redis.Instance(
            f"{instance}-redis",
            name=scoped_name(f"openedx-{instance}", 40, pulumi.get_stack(), instance),
            region=self._region,
            tier="STANDARD_HA" if highly_available else "BASIC",
            memory_size_gb=redis.memory_size_gb,
            redis_version=REDIS_VERSION,
            redis_configs=REDIS_CONFIG,
            authorized_network=self._vpc.id,
            connect_mode="PRIVATE_SERVICE_ACCESS",
            reserved_ip_range=self._private_services.name,
            auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            # A cache: removing an instance removes it (no deletion protection, nothing protected).
            deletion_protection=False,
            labels={**self._labels, "openedx-instance": instance},
            opts=self._opts(parent=parent, depends_on=[self._peering]),
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
        stack = pulumi.get_stack()
        bucket = gcp.storage.Bucket(
            f"{instance}-media",
            name=scoped_name(f"openedx-{instance}", 63, self._project, stack, instance),
            location=self._region,
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
            f"{instance}-pods", project=self._project, account_id=scoped_name(f"oe-{instance}", 30, stack, instance),
            display_name=f"Open edX {instance} ({stack})", opts=opts)
        member = account.email.apply(service_account_member)
        gcp.storage.BucketIAMMember(f"{instance}-media-access", bucket=bucket.name, role="roles/storage.objectAdmin",
                                    member=member, opts=opts)
        gcp.serviceaccount.IAMMember(
            f"{instance}-workload-identity", service_account_id=account.name, role="roles/iam.workloadIdentityUser",
            member=workload_identity_member(self._project, namespace, service_account),
            # The workload identity pool exists once the cluster does.
            opts=self._opts(parent=parent, depends_on=[self._gke]))
        # Signed URLs without a key: the account signs with IAM signBlob, on itself only.
        gcp.serviceaccount.IAMMember(f"{instance}-sign-blob", service_account_id=account.name,
                                     role="roles/iam.serviceAccountTokenCreator", member=member, opts=opts)
        return InstanceStorage(
            bucket=bucket.name,
            service=GcsBucket(project=self._project, signer_email=account.email),
            service_account_annotations={WORKLOAD_IDENTITY_ANNOTATION: account.email},
        )
