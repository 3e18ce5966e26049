"""What every cloud adapter returns: the same plain record whichever cloud the cluster runs on.

The instance code consumes this and never imports a cloud SDK; an adapter never knows Open edX settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class InCluster:
    """The data service runs inside the cluster, one server per instance (the `openedx-services` chart)."""


@dataclass(frozen=True)
class ManagedEndpoint:
    """A data service the cloud runs, shared by the stack's instances. Admin credentials are secret Outputs
    used only by the provisioning Job in the system namespace."""

    host: pulumi.Output[str]
    port: int
    tls: bool
    admin_username: pulumi.Output[str]
    admin_password: pulumi.Output[str]


DataService = InCluster | ManagedEndpoint


@dataclass(frozen=True)
class InstanceStorage:
    """An instance's own bucket, reached with the pod identity the ServiceAccount annotations grant."""

    bucket: pulumi.Output[str]
    region: str
    service_account_annotations: dict[str, pulumi.Output[str]]
    endpoint_url: str | None = None


class ObjectStorage(Protocol):
    """Creates an instance's bucket and the identity that alone may use it, as children of `parent`."""

    def __call__(
        self, instance: str, namespace: str, service_account: str, hosts: Sequence[str], parent: pulumi.Resource
    ) -> InstanceStorage: ...


@dataclass(frozen=True)
class Infrastructure:
    provider: k8s.Provider
    """The explicit Kubernetes provider every Kubernetes resource uses (default providers are disabled)."""
    mysql: DataService
    mongodb: DataService
    redis: DataService
    storage_class: str | None
    """StorageClass for instance volumes; None means the cluster's default."""
    retain_storage_class: str | None
    """StorageClass with reclaim policy Retain for per-instance data in production; None: use storage_class."""
    object_storage: ObjectStorage | None = None
    """None: media on a volume in the instance's namespace."""
    data_service_cidrs: tuple[str, ...] = ()
    """Where managed data services live, for the instances' egress NetworkPolicies."""

    def storage_class_for(self, production: bool) -> str | None:
        return (self.retain_storage_class or self.storage_class) if production else self.storage_class
