"""`openedx:azure`: the keys of the Azure adapter, and what it cannot build from them."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from components.settings.instance import IndexedInstances
from components.settings.model import NAMESPACE, Cidr, Model, SectionCheck, api_access_problems

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_AZURE_VM_SIZE = r"^Standard_[A-Za-z0-9_]+$"


def _object_id(value: str) -> str:
    if not _UUID.match(value):
        raise ValueError(f"{value!r} is not an Entra ID object id (a UUID)")
    return value


def _azure_vnet(value: str) -> str:
    network = ipaddress.ip_network(value)
    if network.version != 4 or not 8 <= network.prefixlen <= 20:
        raise ValueError(f"{value!r}: an IPv4 block from /8 to /20 (the cluster, MySQL and private endpoints "
                         "subnets are carved from it)")
    return value


class AzureSystemPool(Model):
    """AKS system node pool (CoreDNS, metrics, konnectivity): fixed size, tainted for system pods only."""

    vm_size: str = Field(default="Standard_D4ds_v5", pattern=_AZURE_VM_SIZE)
    count: int = Field(default=2, ge=1, le=10)


class AzureUserPool(Model):
    """AKS user node pool for the platform and the instances, scaled by the cluster autoscaler."""

    vm_size: str = Field(default="Standard_D4ds_v5", pattern=_AZURE_VM_SIZE)
    min_count: int = Field(default=2, ge=1, le=100)
    max_count: int = Field(default=6, ge=1, le=1000)
    os_disk_size_gb: int = Field(default=128, ge=30, le=2048)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> AzureUserPool:
        if self.min_count > self.max_count:
            raise ValueError(f"minCount ({self.min_count}) is greater than maxCount ({self.max_count})")
        return self


class AzureMysql(Model):
    """Azure Database for MySQL Flexible Server. 8.0.21 is the newest version the provider's API (2024-02-01-preview)
    offers. The tier follows the SKU (Standard_B…: Burstable, Standard_D…: GeneralPurpose, Standard_E…:
    MemoryOptimized). Unset: from the environment."""

    version: Literal["8.0.21"] = "8.0.21"
    sku_name: str | None = Field(default=None, pattern=r"^Standard_[BDE][A-Za-z0-9_]+$")
    storage_size_gb: int = Field(default=64, ge=20, le=16384)
    high_availability: bool | None = None
    """Zone-redundant standby (not on Burstable SKUs). Unset: in production."""
    geo_redundant_backup: bool | None = None
    """Fixed at creation. Unset: in production."""
    backup_retention_days: int | None = Field(default=None, ge=1, le=35)


class AzureRedis(Model):
    """Redis for the instances: in-cluster (one per instance, the default) or one Azure Managed Redis per instance,
    reached over TLS through a private endpoint. Azure Cache for Redis is not offered: it takes no new caches since
    2026-10-01 and retires in 2028."""

    service: Literal["in-cluster", "managed-redis"] = "in-cluster"
    sku: str | None = Field(default=None, pattern=r"^(Balanced_B|MemoryOptimized_M|ComputeOptimized_X)[0-9]+$")
    """Unset: Balanced_B1 in production, Balanced_B0 in dev."""
    high_availability: bool | None = None
    """A replica in another zone. Unset: on in production."""


class AzureSettings(Model):
    """`cloud: azure`: AKS, MySQL Flexible Server, Azure Managed Redis, Blob Storage."""

    kubernetes_version: str = Field(default="1.34", pattern=r"^1\.\d{2}$")
    upgrade_channel: Literal["patch", "stable", "rapid", "node-image", "none"] = "patch"
    """AKS automatic upgrades; `patch` keeps kubernetesVersion's minor and applies its patches."""
    vnet_cidr: Annotated[Cidr, AfterValidator(_azure_vnet)] = "10.20.0.0/16"
    pod_cidr: Cidr = "10.244.0.0/16"
    """Azure CNI overlay: pod addresses, outside the virtual network."""
    service_cidr: Cidr = "10.245.0.0/16"
    api_authorized_cidrs: tuple[Cidr, ...] | None = None
    """Who may reach the Kubernetes API; [] for a private cluster (API on the virtual network only). Required."""
    admin_group_object_ids: tuple[Annotated[str, AfterValidator(_object_id)], ...] = ()
    """Entra ID groups given cluster-admin."""
    kubelogin_mode: Literal["azurecli", "workloadidentity", "spn", "msi"] = "azurecli"
    """How `kubelogin get-token` signs in where `pulumi up` runs (`az login`, or CI credentials in AZURE_* vars)."""
    availability_zones: tuple[Literal["1", "2", "3"], ...] | None = None
    """Zones of the node pools and the database. Unset: 1, 2, 3 in production, none in dev. [] where the region has
    no zones."""
    container_registry_id: str | None = Field(
        default=None, pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                              r"Microsoft\.ContainerRegistry/registries/[^/]+$")
    """An Azure Container Registry the nodes may pull from (AcrPull for the kubelet identity)."""
    system_pool: AzureSystemPool = AzureSystemPool()
    user_pool: AzureUserPool = AzureUserPool()
    mysql: AzureMysql = AzureMysql()
    redis: AzureRedis = AzureRedis()
    media_storage: Literal["blob", "volume"] = "blob"
    """blob: one storage account per instance (needs an image with azure-storage-blob); volume: a volume in the
    instance's namespace."""


AZURE_BLOB_IMAGE_HINT = (
    "build one: `tutor config save --append OPENEDX_EXTRA_PIP_REQUIREMENTS=azure-storage-blob`, "
    "`tutor images build openedx`, push it to your registry, then set images.openedx to "
    "{repository, tag, azureStorageBlob: true}; or set openedx:azure.mediaStorage to volume"
)


SETTINGS = AzureSettings
REQUIRED_PROVIDER_KEYS = ("azure-native:location",)


def _api_access(azure: AzureSettings, production: bool, instances: IndexedInstances) -> list[str]:
    return api_access_problems("azure.apiAuthorizedCidrs", azure.api_authorized_cidrs, production)


def _mysql(azure: AzureSettings, production: bool, instances: IndexedInstances) -> list[str]:
    """Zone-redundant high availability needs a SKU that offers it."""
    mysql_ha = azure.mysql.high_availability if azure.mysql.high_availability is not None else production
    if mysql_ha and (azure.mysql.sku_name or "").startswith("Standard_B"):
        return [f"{NAMESPACE}:azure.mysql.highAvailability: zone-redundant high availability needs a "
                f"General Purpose or Memory Optimized SKU (Standard_D…, Standard_E…), not "
                f"{azure.mysql.sku_name!r}; or set highAvailability: false"]
    return []


def _ranges(azure: AzureSettings, production: bool, instances: IndexedInstances) -> list[str]:
    """The virtual network, pod and service ranges never overlap."""
    problems: list[str] = []
    ranges = {"vnetCidr": azure.vnet_cidr, "podCidr": azure.pod_cidr, "serviceCidr": azure.service_cidr}
    seen: list[str] = []
    for key, cidr in ranges.items():
        problems += [f"{NAMESPACE}:azure.{key}: {cidr} overlaps {other} (azure.{other_key})"
                     for other_key in seen if ipaddress.ip_network(cidr).overlaps(
                         ipaddress.ip_network(other := ranges[other_key]))]
        seen.append(key)
    return problems


def blob_image_problems(azure: AzureSettings, production: bool, instances: IndexedInstances) -> list[str]:
    """Blob media needs an image that can write to it (checked by an instance stack too: its platform stack's
    mediaStorage is known to it once read)."""
    if azure.media_storage != "blob":
        return []
    return [f"{NAMESPACE}:instances[{index}].images.openedx: Azure Blob media storage "
            f"(openedx:azure.mediaStorage: blob) needs an Open edX image with azure-storage-blob, which "
            f"the stock Tutor image lacks; {AZURE_BLOB_IMAGE_HINT}"
            for index, instance in instances
            if instance.images.openedx is None or not instance.images.openedx.azure_storage_blob]


CHECKS: tuple[SectionCheck, ...] = (
    (frozenset({"apiAuthorizedCidrs"}), _api_access),
    (frozenset({"mysql"}), _mysql),
    (frozenset({"vnetCidr", "podCidr", "serviceCidr"}), _ranges),
    (frozenset({"mediaStorage"}), blob_image_problems),
)
"""What the Azure adapter cannot build from the settings."""
