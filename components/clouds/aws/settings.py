"""`openedx:aws`: the keys of the AWS adapter, and what it cannot build from them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.clouds.aws.autoscaler import IMAGES as AUTOSCALER_IMAGES
from components.settings.instance import IndexedInstances
from components.settings.model import NAMESPACE, Cidr, Model, SectionCheck, api_access_problems


class AwsNodeGroup(Model):
    """The EKS managed node group, over the three private subnets, grown and shrunk between minSize and maxSize by the
    cluster autoscaler. It starts at minSize; from then on its size (the desired size) is the autoscaler's, which is
    why there is no desiredSize key: a value here would only count on the first `pulumi up`."""

    instance_types: tuple[str, ...] = Field(default=("m6i.xlarge",), min_length=1)
    min_size: int = Field(default=2, ge=1, le=100)
    """Never fewer nodes, even idle."""
    max_size: int = Field(default=6, ge=1, le=200)
    """The autoscaler's ceiling (and the bill's): room for the HorizontalPodAutoscalers' maxReplicas."""
    disk_size: int = Field(default=100, ge=20, le=2000)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> AwsNodeGroup:
        if self.min_size > self.max_size:
            raise ValueError(f"minSize ({self.min_size}) is greater than maxSize ({self.max_size})")
        return self


class AwsMysql(Model):
    """RDS for MySQL 8.4 (8.0 is in paid extended support since 2026-07-31). Unset: from the environment."""

    engine_version: str = Field(default="8.4", pattern=r"^8\.4(\.\d+)?$")
    instance_class: str | None = Field(default=None, pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    allocated_storage: int = Field(default=50, ge=20, le=65536)
    max_allocated_storage: int = Field(default=500, ge=20, le=65536)
    multi_az: bool | None = None
    backup_retention_days: int | None = Field(default=None, ge=1, le=35)
    deletion_protection: bool | None = None


class AwsMongodb(Model):
    """Each instance's MongoDB: its own in-cluster server (default: MongoDB itself), or its own database on one
    Amazon DocumentDB cluster per stack (TLS with the RDS CA, no retryable writes; see the README's limits).
    Unset values come from the environment."""

    service: Literal["in-cluster", "documentdb"] = "in-cluster"
    engine_version: str = Field(default="5.0.0", pattern=r"^[45]\.0\.0$")
    instance_class: str | None = Field(default=None, pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    """Unset: db.t4g.medium in dev and staging, db.r6g.large in production."""
    instances: int | None = Field(default=None, ge=1, le=16)
    """Unset: 1 in dev and staging; 2 (a replica in another zone) in production."""
    backup_retention_days: int | None = Field(default=None, ge=1, le=35)
    deletion_protection: bool | None = None


class AwsRedis(Model):
    """Each instance's Redis: its own in-cluster server (default), or its own ElastiCache replication group
    (TLS and AUTH; a replica and automatic failover in production)."""

    service: Literal["in-cluster", "elasticache"] = "in-cluster"
    node_type: str | None = Field(default=None, pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    """Unset: cache.t4g.small in dev and staging, cache.r7g.large in production."""
    engine_version: str = Field(default="7.1", pattern=r"^[67]\.\d+$")


class AwsSettings(Model):
    kubernetes_version: str = Field(default="1.34", pattern=r"^1\.\d{2}$")
    vpc_cidr: Cidr = "10.0.0.0/16"
    public_access_cidrs: tuple[Cidr, ...] | None = None
    """Who may reach the Kubernetes API from outside the VPC; [] for a private endpoint only. Required."""
    admin_role_arns: tuple[str, ...] = ()
    deploy_role_arn: str | None = None
    """A role `aws eks get-token` assumes for the kubeconfig (unset: the deploying principal itself)."""
    nat_gateways: int | None = Field(default=None, ge=1, le=3)
    node_group: AwsNodeGroup = AwsNodeGroup()
    mysql: AwsMysql = AwsMysql()
    mongodb: AwsMongodb = AwsMongodb()
    redis: AwsRedis = AwsRedis()


SETTINGS = AwsSettings
REQUIRED_PROVIDER_KEYS = ("aws:region",)


def _api_access(aws: AwsSettings, production: bool, instances: IndexedInstances) -> list[str]:
    return api_access_problems("aws.publicAccessCidrs", aws.public_access_cidrs, production)


def _autoscaler_image(aws: AwsSettings, production: bool, instances: IndexedInstances) -> list[str]:
    """The cluster autoscaler must be of the cluster's minor: one without a pinned image cannot be built."""
    if aws.kubernetes_version in AUTOSCALER_IMAGES:
        return []
    return [f"{NAMESPACE}:aws.kubernetesVersion: {aws.kubernetes_version!r} has no cluster-autoscaler image pinned "
            f"(the autoscaler must be of the cluster's minor); use one of {', '.join(AUTOSCALER_IMAGES)}"]


CHECKS: tuple[SectionCheck, ...] = (
    (frozenset({"publicAccessCidrs"}), _api_access),
    (frozenset({"kubernetesVersion"}), _autoscaler_image),
)
"""What the AWS adapter cannot build from the settings."""
