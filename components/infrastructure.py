"""What every cloud adapter returns: the same plain record whichever cloud the cluster runs on.

The instance code consumes this and never imports a cloud SDK; an adapter never knows Open edX settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class InCluster:
    """The data service runs inside the cluster, one server per instance (the `openedx-services` chart)."""


@dataclass(frozen=True)
class ManagedEndpoint:
    """A data service the cloud runs, shared by the stack's instances. Admin credentials are secret Outputs
    used only by the provisioning Job in the system namespace."""

    host: pulumi.Input[str]
    port: int
    tls: bool
    admin_username: pulumi.Output[str] | None = None
    admin_password: pulumi.Output[str] | None = None
    """None in an instance stack: the server's admin Secret is the platform stack's, and only the provisioning Jobs
    in `openedx-system` read it, by name."""
    ca_certificate: pulumi.Input[str] | None = None
    """PEM bundle clients verify the server against (the cloud's private CA: Amazon RDS and DocumentDB's, a Cloud
    SQL instance's own); None: clients encrypt without verifying the server."""


@dataclass(frozen=True)
class ManagedMongodb(ManagedEndpoint):
    """A MongoDB-compatible service (Amazon DocumentDB): users live in `admin`, each granted its own database."""

    replica_set: str = ""
    retry_writes: bool = True
    """False where the service has no retryable writes (DocumentDB)."""


DataService = InCluster | ManagedEndpoint


@dataclass(frozen=True)
class CacheEndpoint:
    """One instance's own managed Redis: TLS only, with AUTH. Shared caches are not offered: one database number
    per instance caps a cache at a handful of instances, and clustered services have no SELECT."""

    host: pulumi.Output[str]
    port: pulumi.Input[int]
    password: pulumi.Output[str]
    """Secret. Reaches only the instance's settings Secret."""
    username: str = ""
    """Empty: AUTH with the password alone, what ElastiCache auth tokens, Memorystore AUTH strings and Azure access
    keys expect. Otherwise a Redis 6 ACL user."""
    ca_certificate: pulumi.Output[str] | None = None
    """PEM of the server's CA when it is not publicly trusted (Memorystore); None: the system trust store."""
    single_database: bool = False
    """The service has database 0 only (no SELECT: Azure Managed Redis): the cache and Celery share it."""


class CacheFactory(Protocol):
    """Creates an instance's own cache (and what guards it) as children of `parent`."""

    def __call__(self, instance: str, parent: pulumi.Resource) -> CacheEndpoint: ...


@dataclass(frozen=True)
class ManagedCache:
    """Redis run by the cloud, one cache per instance."""

    create: CacheFactory


Cache = InCluster | ManagedCache


@dataclass(frozen=True)
class SmtpCredentials:
    """SMTP credentials a cloud issues to one instance (Amazon SES): its relay, login and password."""

    host: str
    username: pulumi.Output[str]
    password: pulumi.Output[str]
    """Secret. Reaches only the instance's settings Secret."""


class MailFactory(Protocol):
    """Creates an instance's SMTP credentials for a domain verified with the cloud's mail service."""

    def __call__(self, instance: str, domain: str, parent: pulumi.Resource) -> SmtpCredentials: ...


@dataclass(frozen=True)
class S3Bucket:
    """Amazon S3 or an S3-compatible service, reached with the pod's workload identity."""

    region: str
    endpoint_url: str | None = None


@dataclass(frozen=True)
class GcsBucket:
    """Google Cloud Storage through Workload Identity; URLs are signed by `signer_email` with IAM signBlob."""

    project: str
    signer_email: pulumi.Output[str]


@dataclass(frozen=True)
class AzureContainer:
    """An Azure Blob container in a storage account of the instance's own; the account key (secret) reaches only
    the instance's settings Secret."""

    account_name: pulumi.Output[str]
    account_key: pulumi.Output[str]


StorageService = S3Bucket | GcsBucket | AzureContainer

BACKUP_FOLDER = "backups"
"""The folder of an instance's bucket (or container) its logical backups are written to."""
DELETED_BACKUP_DAYS = 7
"""The buckets are versioned: a backup retention deleted is kept this long as old versions, then expired."""


@dataclass(frozen=True)
class InstanceStorage:
    """An instance's own bucket (or container) and how its pods reach it."""

    bucket: pulumi.Output[str]
    """The bucket name; for Azure, the container name."""
    service: StorageService
    service_account_annotations: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    """Workload identity: annotations of the instance's ServiceAccount."""


class StorageFactory(Protocol):
    """Creates an instance's bucket and the identity that alone may use it, as children of `parent`."""

    def __call__(
        self, instance: str, namespace: str, service_account: str, hosts: Sequence[str], parent: pulumi.Resource
    ) -> InstanceStorage: ...


@dataclass(frozen=True)
class Egress:
    cidr: str
    ports: tuple[int, ...]


MANAGED_SERVICE_PORTS = (3306, 6378, 6379, 10000, 27017)
"""MySQL; Redis (TLS) on Memorystore, on ElastiCache and on Azure Managed Redis; MongoDB and DocumentDB."""


@dataclass(frozen=True)
class Infrastructure:
    provider: k8s.Provider
    """The explicit Kubernetes provider every Kubernetes resource uses (default providers are disabled)."""
    mysql: DataService
    mongodb: DataService
    redis: Cache
    storage_class: str | None
    """StorageClass for instance volumes; None means the cluster's default."""
    retain_storage_class: str | None
    """StorageClass with reclaim policy Retain for per-instance data in production; None: use storage_class."""
    object_storage: StorageFactory | None = None
    """None: media on a volume in the instance's namespace."""
    egress: tuple[Egress, ...] = ()
    """What instance pods may reach beyond DNS, HTTPS and SMTP: the managed data services' addresses, a
    metadata server workload identity needs. Becomes the instances' egress NetworkPolicy."""
    mail: MailFactory | None = None
    """The cloud's mail service (`email.ses`); None: the stack's relays only."""
    kubeconfig: pulumi.Input[str] | None = None
    """The kubeconfig of a cluster the adapter built: its users run a credential plugin (no token in it), so it is
    a stack output the operator commands use. None: the operator's own kubeconfig (`cloud: local`)."""
    cluster_identifier: str = ""
    """What the Kubernetes provider knows the cluster by (the cluster's name; `local:<context>`)."""
    instance_inputs: Mapping[str, pulumi.Input[Any]] = field(default_factory=dict)
    """What the cloud's per-instance resources (cache, bucket, mail) are made from, besides the provider: a platform
    stack exports it for its instance stacks, whose adapter (`clouds.attach`) makes them from it. No secret."""

    def storage_class_for(self, production: bool) -> str | None:
        return (self.retain_storage_class or self.storage_class) if production else self.storage_class
