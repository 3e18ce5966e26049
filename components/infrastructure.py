"""What every cloud adapter returns: the same plain record whichever cloud the cluster runs on.

The instance code consumes this and never imports a cloud SDK; an adapter never knows Open edX settings.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def storage_class_for(self, production: bool) -> str | None:
        return (self.retain_storage_class or self.storage_class) if production else self.storage_class
