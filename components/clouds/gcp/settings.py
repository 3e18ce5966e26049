"""`openedx:gcp`: the keys of the Google Cloud adapter, and what it cannot build from them."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from components.settings.instance import IndexedInstances
from components.settings.model import NAMESPACE, Cidr, Model, SectionCheck, api_access_problems


class GcpNodePool(Model):
    """The GKE node pool, spread over the region's zones; the bounds are the pool's totals over all zones."""

    machine_type: str = Field(default="e2-standard-4", pattern=r"^[a-z][a-z0-9]*-[a-z0-9-]+$")
    min_nodes: int = Field(default=3, ge=1, le=100)
    max_nodes: int = Field(default=9, ge=1, le=300)
    disk_size_gb: int = Field(default=100, ge=20, le=2000)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> GcpNodePool:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"minNodes ({self.min_nodes}) is greater than maxNodes ({self.max_nodes})")
        return self


class GcpMysql(Model):
    """Cloud SQL for MySQL 8.4, private IP only. Unset: from the environment."""

    tier: str | None = Field(default=None, pattern=r"^db-[a-z0-9-]+$")
    """Unset: db-custom-2-8192 in production, db-custom-1-3840 otherwise."""
    edition: Literal["ENTERPRISE", "ENTERPRISE_PLUS"] = "ENTERPRISE"
    disk_size_gb: int = Field(default=20, ge=10, le=65536)
    """The initial size; the disk grows automatically."""
    high_availability: bool | None = None
    """REGIONAL (a standby in another zone) or ZONAL availability."""
    backup_retention_days: int | None = Field(default=None, ge=1, le=365)
    deletion_protection: bool | None = None


class GcpRedis(Model):
    """Redis: in the instance's namespace, or one Memorystore instance per Open edX instance."""

    service: Literal["in-cluster", "memorystore"] = "in-cluster"
    memory_size_gb: int = Field(default=1, ge=1, le=300)
    high_availability: bool | None = None
    """Memorystore STANDARD_HA (a replica in another zone) or BASIC."""


class GcpSettings(Model):
    """`cloud: gcp`: GKE, Cloud SQL, Memorystore, Cloud Storage. Unset values come from the environment."""

    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    subnet_cidr: Cidr = "10.0.0.0/20"
    """The nodes' regional subnet."""
    pods_cidr: Cidr = "10.4.0.0/14"
    services_cidr: Cidr = "10.8.0.0/20"
    master_cidr: Cidr = "172.16.0.0/28"
    """The control plane's private range (a /28)."""
    private_services_cidr: Cidr = "10.64.0.0/16"
    """Private services access: where Cloud SQL and Memorystore get their addresses."""
    master_authorized_cidrs: tuple[Cidr, ...] | None = None
    """Who may reach the Kubernetes API's public endpoint; [] for a private endpoint only. Required."""
    node_pool: GcpNodePool = GcpNodePool()
    mysql: GcpMysql = GcpMysql()
    redis: GcpRedis = GcpRedis()


SETTINGS = GcpSettings
REQUIRED_PROVIDER_KEYS = ("gcp:project", "gcp:region")


def _api_access(gcp: GcpSettings, production: bool, instances: IndexedInstances) -> list[str]:
    return api_access_problems("gcp.masterAuthorizedCidrs", gcp.master_authorized_cidrs, production)


_RANGE_KEYS = frozenset({"subnetCidr", "podsCidr", "servicesCidr", "masterCidr", "privateServicesCidr"})


def _ranges(gcp: GcpSettings, production: bool, instances: IndexedInstances) -> list[str]:
    """The VPC's ranges: IPv4, private, of a usable size, never overlapping."""
    problems: list[str] = []
    ranges = {"subnetCidr": (gcp.subnet_cidr, 8, 26), "podsCidr": (gcp.pods_cidr, 8, 21),
              "servicesCidr": (gcp.services_cidr, 8, 27), "masterCidr": (gcp.master_cidr, 28, 28),
              "privateServicesCidr": (gcp.private_services_cidr, 8, 24)}
    valid: dict[str, ipaddress.IPv4Network] = {}
    for key, (cidr, widest, narrowest) in ranges.items():
        network = ipaddress.ip_network(cidr)  # a valid CIDR block: the model checked it
        where = f"{NAMESPACE}:gcp.{key}"
        if not isinstance(network, ipaddress.IPv4Network) or not network.is_private:
            problems.append(f"{where}: {cidr!r} must be a private IPv4 range (RFC 1918)")
        elif not widest <= network.prefixlen <= narrowest:
            size = f"a /{widest}" if widest == narrowest else f"between /{widest} and /{narrowest}"
            problems.append(f"{where}: {cidr!r} must be {size}")
        else:
            clash = next((other for other, seen in valid.items() if seen.overlaps(network)), None)
            if clash:
                problems.append(f"{where}: {cidr!r} overlaps gcp.{clash} ({valid[clash]})")
            else:
                valid[key] = network
    return problems


CHECKS: tuple[SectionCheck, ...] = ((frozenset({"masterAuthorizedCidrs"}), _api_access), (_RANGE_KEYS, _ranges))
"""What the Google Cloud adapter cannot build from the settings."""
