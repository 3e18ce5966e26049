"""What every managed cloud adapter shares: its setup and resource options (`CloudAdapter`), names, what the
environment implies, the kubeconfig, the Kubernetes provider, StorageClasses.

The per-instance databases on a shared MySQL server are created by `components.provisioning` on every cloud.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import platform_contract
from components.infrastructure import CacheFactory, InCluster, Infrastructure, ManagedCache
from components.settings.stack import StackSettings

STORAGE_CLASS = "openedx"
RETAIN_STORAGE_CLASS = "openedx-retain"
MYSQL_UTF8MB4 = {"character_set_server": "utf8mb4", "collation_server": "utf8mb4_unicode_ci"}
"""Server defaults every cloud's MySQL gets (Open edX needs 4-byte UTF-8; its tables are created without a
charset of their own)."""
NODE_AUTOSCALER_FLAGS = {
    # Of the node groups a pending pod fits in, grow the one that leaves the least CPU and memory idle.
    "expander": "least-waste",
    # Groups of the same shape (one per zone, when there are several) grow evenly, so that a zonal volume still
    # finds a node in its zone.
    "balance-similar-node-groups": "true",
    # Open edX's pods mount emptyDir scratch space (/tmp, caches, Caddy's state): with the upstream default (true)
    # no node running one would ever be removed. Data lives on PersistentVolumes, which move with their pod; a pod
    # that must not be moved says so itself (cluster-autoscaler.kubernetes.io/safe-to-evict: "false").
    "skip-nodes-with-local-storage": "false",
}
"""How the cluster autoscaler runs wherever its flags are ours to set (EKS: its Helm release; AKS: the cluster's
autoscaler profile). GKE's is managed by Google and takes no flags."""
T = TypeVar("T")
ADMIN_USERNAME = "openedx_admin"
"""The shared MySQL server's admin; its password only ever reaches the `openedx-system` namespace."""


def cluster_name(name: str) -> str:
    """The cluster's (and the shared servers') name: the adapter's name and the stack, so stacks never clash."""
    return f"{name}-{pulumi.get_stack()}"


def resource_labels() -> dict[str, str]:
    """Labels/tags on every cloud resource. Lowercase keys and values: valid as GCP labels, AWS and Azure tags."""
    return {"openedx-stack": pulumi.get_stack().lower(), "managed-by": "pulumi"}


@dataclass(frozen=True)
class EnvironmentDefaults:
    """What `openedx:environment` implies for a cloud's data services, before the stack's explicit overrides."""

    high_availability: bool
    """Multi-AZ / regional / zone-redundant database, one NAT per zone, spread node pools."""
    backup_retention_days: int
    deletion_protection: bool
    """Also: a final snapshot on deletion, and `protect` on the stateful resources."""


def environment_defaults(production: bool) -> EnvironmentDefaults:
    if production:
        return EnvironmentDefaults(high_availability=True, backup_retention_days=35, deletion_protection=True)
    return EnvironmentDefaults(high_availability=False, backup_retention_days=7, deletion_protection=False)


def pick(explicit: T | None, default: T) -> T:
    """The stack's explicit setting if it has one, else the environment's default (False and 0 are explicit)."""
    return default if explicit is None else explicit


def exec_kubeconfig(name: str, server: str, ca_data: str, command: str, args: Sequence[str] = (),
                    install_hint: str | None = None, provide_cluster_info: bool = False) -> str:
    """A kubeconfig whose user runs a credential plugin (`aws`, `gke-gcloud-auth-plugin`, `kubelogin`) where
    `pulumi up` runs: no token is ever stored in the state."""
    exec_config: dict[str, object] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": command, "args": list(args),
        "interactiveMode": "IfAvailable", "provideClusterInfo": provide_cluster_info}
    if install_hint:
        exec_config["installHint"] = install_hint
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": {"exec": exec_config}}],
    })


def provider_options(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """A provider of the adapter's: its child, or the provider `pulumi state move` brought along with an instance
    moved from another stack (the move leaves it at the root of the stack): adopted, not replaced by a new one."""
    return pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)])


def kubernetes_provider(name: str, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = (),
                        **connection: Any) -> k8s.Provider:
    """The stack's Kubernetes provider, reaching the cluster as `connection` says. A Secret's data is updated in
    place (a rotated password, a new relay): by default the provider replaces the Secret instead, which a Secret of
    a fixed name cannot survive (the new one is created before the old one is deleted, and the name is taken)."""
    opts = pulumi.ResourceOptions.merge(provider_options(parent), pulumi.ResourceOptions(depends_on=list(depends_on)))
    return k8s.Provider(f"{name}-kubernetes", enable_secret_mutable=True, **connection, opts=opts)


def cluster_provider(name: str, kubeconfig: pulumi.Output[str], cluster: str, parent: pulumi.Resource,
                     depends_on: Sequence[pulumi.Resource]) -> k8s.Provider:
    """The Kubernetes provider of a cluster the adapter built: its kubeconfig kept secret, and a stable identifier
    (the cluster's name), so that a new endpoint, CA or token never replaces every Kubernetes resource."""
    secret: pulumi.Output[str] = pulumi.Output.secret(kubeconfig)
    return kubernetes_provider(name, parent, depends_on, kubeconfig=secret, cluster_identifier=cluster)


def attached_infrastructure(adapter: pulumi.ComponentResource, name: str, contract: Mapping[str, Any],
                            kubeconfig: pulumi.Output[str], cache: CacheFactory, **factories: Any) -> Infrastructure:
    """What an instance stack's adapter returns on any cloud: the platform stack's cluster through a Kubernetes
    provider named as the adapter that built it names its own (nothing to wait for: the cluster is there), each
    instance's cache managed when the platform's are, and the adapter's other per-instance factories."""
    provider = cluster_provider(name, kubeconfig, contract["clusterIdentifier"], adapter, depends_on=[])
    redis = ManagedCache(create=cache) if contract["redis"] == "managed" else InCluster()
    adapter.register_outputs({"clusterIdentifier": contract["clusterIdentifier"]})
    return platform_contract.infrastructure(contract, provider, redis=redis, kubeconfig=kubeconfig, **factories)


def admin_password(name: str, parent: pulumi.Resource, service: str = "mysql") -> pulumi.Output[str]:
    """A shared server's admin password: generated, kept (secret) in the state, never in config. Alphanumeric (it
    passes through shells and URLs) with every class present (Azure refuses passwords with fewer than three)."""
    return random.RandomPassword(f"{name}-{service}-admin", length=40, special=False, min_upper=1, min_lower=1,
                                 min_numeric=1, opts=pulumi.ResourceOptions(parent=parent)).result


def storage_classes(name: str, provisioner: str, parameters: Mapping[str, str], provider: k8s.Provider,
                    parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> tuple[str, str]:
    """The cluster's default StorageClass (encrypted, expandable, bound where the pod lands) and its twin with
    reclaim policy Retain for per-instance data in production. Returns their names."""
    for class_name, reclaim in ((STORAGE_CLASS, "Delete"), (RETAIN_STORAGE_CLASS, "Retain")):
        k8s.storage.v1.StorageClass(
            f"{name}-{class_name}",
            metadata={"name": class_name, "annotations": {
                "storageclass.kubernetes.io/is-default-class": str(class_name == STORAGE_CLASS).lower()}},
            provisioner=provisioner,
            parameters=dict(parameters),
            reclaim_policy=reclaim,
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)))
    return STORAGE_CLASS, RETAIN_STORAGE_CLASS


class CloudAdapter(pulumi.ComponentResource):
    """What a managed cloud's adapter starts from, before its steps (network, cluster, databases, caches, storage):
    its name and its cluster's, what the environment implies, the labels, and the options every resource it
    creates takes. Default providers are disabled: each adapter sets `_provider` to the cloud's own first."""

    infrastructure: Infrastructure

    def __init__(self, type_: str, name: str, stack: StackSettings, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_, name, None, opts)
        self._name_prefix = name
        self._cluster_name = cluster_name(name)
        self._production = stack.production
        self._defaults = environment_defaults(stack.production)
        self._labels = resource_labels()
        self._provider: pulumi.ProviderResource | None = None
        self._prerequisites: list[pulumi.Resource] = []
        """What every resource of the cloud waits for (Google Cloud's APIs)."""

    def _opts(self, parent: pulumi.Resource | None = None, protect: bool = False,
              depends_on: Sequence[pulumi.Resource] = (), ignore_changes: Sequence[str] = (),
              retain_on_delete: bool = False) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent or self, provider=self._provider, protect=protect,
                                      depends_on=[*self._prerequisites, *depends_on],
                                      ignore_changes=list(ignore_changes) or None,
                                      retain_on_delete=retain_on_delete)

    def _stateful(self) -> pulumi.ResourceOptions:
        """A stack-level resource that holds data or runs everything: protected in production."""
        return self._opts(protect=self._production)
