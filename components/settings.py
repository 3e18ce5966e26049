"""The typed stack config: every `openedx:` key validated into one model, with per-environment defaults.

Bad input stops the program before any resource exists: all problems are collected and reported together,
one line each, naming the key path (`openedx:instances[1].lmsHost: 'x y' is not a valid host name`).
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from components.openedx.tutor_config import OWNED_KEYS  # Tutor's keys live with the compiler (no Tutor import)

NAMESPACE = "openedx"
Cloud = Literal["local", "aws", "gcp", "azure"]
Environment = Literal["dev", "staging", "production"]

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")
_TUTOR_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
INSTANCE_NAME_MAX = 30  # leaves room for derived names (`<name>-services`, namespaces, Helm's 53-char limit)


class ConfigError(Exception):
    """Invalid stack config: every problem, one line each, naming its key path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid stack config:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


def _instance_name(value: str) -> str:
    if len(value) > INSTANCE_NAME_MAX:
        raise ValueError(f"{value!r} is too long ({len(value)} characters, at most {INSTANCE_NAME_MAX})")
    if not _DNS_LABEL.match(value):
        raise ValueError(f"{value!r} is not a DNS label (lowercase letters, digits and '-', starting with a letter)")
    return value


def is_host_name(value: str) -> bool:
    labels = value.split(".")
    return (
        len(value) <= 253
        and len(labels) >= 2
        and all(len(label) <= 63 and _HOST_LABEL.match(label) for label in labels)
    )


def _host_name(value: str) -> str:
    if not is_host_name(value):
        raise ValueError(f"{value!r} is not a valid host name")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)")
    return value


InstanceName = Annotated[str, AfterValidator(_instance_name)]
HostName = Annotated[str, AfterValidator(_host_name)]
Email = Annotated[str, AfterValidator(_email)]
Quantity = Annotated[str, AfterValidator(_quantity)]


class _Model(BaseModel):
    """Stack keys are camelCase; unknown keys are errors (typos must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)


class ResourceAmounts(_Model):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(_Model):
    requests: ResourceAmounts | None = None
    limits: ResourceAmounts | None = None


class Workload(_Model):
    """Scaling and sizing of one workload. Unset bounds come from the stack's environment."""

    min_replicas: int | None = Field(default=None, ge=1, le=100)
    max_replicas: int | None = Field(default=None, ge=1, le=200)
    autoscaling: bool | None = None
    resources: Resources | None = None

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Workload:
        if self.min_replicas is not None and self.max_replicas is not None and self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) is greater than maxReplicas ({self.max_replicas})")
        return self


class FixedWorkload(_Model):
    """A workload without autoscaling (the MFEs' static server, the Caddy router). Unset: from the environment."""

    replicas: int | None = Field(default=None, ge=1, le=50)
    resources: Resources | None = None


class Workloads(_Model):
    lms: Workload = Workload()
    cms: Workload = Workload()
    lms_worker: Workload = Workload()
    cms_worker: Workload = Workload()
    mfe: FixedWorkload = FixedWorkload()
    caddy: FixedWorkload = FixedWorkload()


class Image(_Model):
    repository: str = Field(min_length=1)
    tag: str = Field(min_length=1, pattern=r"^[\w][\w.-]{0,127}$")
    azure_storage_blob: bool = False
    """The image was built with `azure-storage-blob` (Tutor's OPENEDX_EXTRA_PIP_REQUIREMENTS): Azure Blob media
    storage needs it, and the stock image lacks it."""


class Images(_Model):
    """Operators run their own Tutor-built images; unset means the images pinned in the chart."""

    openedx: Image | None = None
    mfe: Image | None = None


QuotaKey = Literal[
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
    "pods",
    "persistentvolumeclaims",
    "requests.storage",
]


class InstanceSettings(_Model):
    name: InstanceName
    lms_host: HostName
    cms_host: HostName | None = None
    mfe_host: HostName | None = None
    platform_name: str = Field(default="Open edX", min_length=1, max_length=100)
    contact_email: Email | None = None
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
    https: bool = True
    images: Images = Images()
    plugins: tuple[str, ...] = ("forum", "mfe")
    workloads: Workloads = Workloads()
    quota: dict[QuotaKey, Quantity] = Field(default_factory=dict)
    """Overrides of the namespace ResourceQuota (the chart's defaults fit every workload at its maximum)."""
    tutor_config: dict[str, Any] = Field(default_factory=dict)
    wave: int = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _distinct_hosts(self) -> InstanceSettings:
        if self.cms_host is not None and self.cms_host == self.lms_host:
            raise ValueError(f"cmsHost must differ from lmsHost (both are {self.lms_host!r})")
        return self

    @property
    def studio_host(self) -> str:
        return self.cms_host or f"studio.{self.lms_host}"

    @property
    def apps_host(self) -> str:
        return self.mfe_host or f"apps.{self.lms_host}"

    @property
    def meilisearch_host(self) -> str:
        return f"meilisearch.{self.lms_host}"

    @property
    def public_hosts(self) -> dict[str, str]:
        """Every host the instance answers on, by the stack key that sets (or derives) it."""
        hosts = {"lmsHost": self.lms_host, "cmsHost": self.studio_host, "meilisearch": self.meilisearch_host}
        if "mfe" in self.plugins:
            hosts["mfeHost"] = self.apps_host
        return hosts

    @property
    def email(self) -> str:
        return self.contact_email or f"contact@{self.lms_host}"


class LocalSettings(_Model):
    """`cloud: local`: any cluster in a kubeconfig (kind, k3d, minikube, Docker Desktop, your own)."""

    kubeconfig: str | None = None  # a path; unset: $KUBECONFIG or ~/.kube/config, as kubectl does
    context: str | None = None  # unset: the kubeconfig's current context
    storage_class: str | None = None  # unset: the cluster's default StorageClass


class IngressSettings(_Model):
    install: bool = True
    """Install Traefik; false: use the existing controller named by className/namespace."""
    class_name: str = Field(default="traefik", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    namespace: str = Field(default="traefik", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    service_type: Literal["LoadBalancer", "NodePort"] | None = None
    """Unset: NodePort on `local` (a LoadBalancer never gets an address on kind), LoadBalancer elsewhere."""
    replicas: int | None = Field(default=None, ge=1, le=20)


class Dns01Settings(_Model):
    """An ACME DNS-01 solver for the cloud's DNS (wildcards, hosts not reachable from the internet)."""

    provider: Literal["route53", "clouddns", "azuredns"]
    config: dict[str, Any] = Field(default_factory=dict)
    """The cert-manager solver fields of that provider, e.g. {region, hostedZoneID} for route53."""


class TlsSettings(_Model):
    issuer: Literal["letsencrypt", "letsencrypt-staging", "selfsigned", "none"] = "letsencrypt"
    """none: no cert-manager; instances use `existingSecret` certificates or plain HTTP."""
    email: Email | None = None
    dns01: Dns01Settings | None = None

    @property
    def acme(self) -> bool:
        return self.issuer.startswith("letsencrypt")

    @model_validator(mode="after")
    def _dns01_is_acme(self) -> TlsSettings:
        if self.dns01 is not None and not self.issuer.startswith("letsencrypt"):
            raise ValueError("dns01 applies only to the letsencrypt issuers")
        return self


class MonitoringSettings(_Model):
    enabled: bool = False
    grafana: bool = False
    retention: str = Field(default="15d", pattern=r"^[0-9]+[hdwy]$")


class BackupSettings(_Model):
    """Velero backups of cluster objects and volumes (managed databases keep their own backups)."""

    enabled: bool = False
    schedule: str = "0 3 * * *"
    ttl: str = Field(default="720h", pattern=r"^[0-9]+h$")
    provider: Literal["aws", "gcp", "azure"] | None = None
    bucket: str | None = None
    config: dict[str, str] = Field(default_factory=dict)
    """BackupStorageLocation config of the provider, e.g. {region: eu-west-1}."""

    @model_validator(mode="after")
    def _location_when_enabled(self) -> BackupSettings:
        if self.enabled and (self.provider is None or not self.bucket):
            raise ValueError("provider and bucket are required when backups are enabled")
        return self


class PlatformSettings(_Model):
    ingress: IngressSettings = IngressSettings()
    tls: TlsSettings = TlsSettings()
    metrics_server: bool | None = None
    """Unset: installed, except on gcp and azure whose clusters ship one. Set false on k3s/k3d (bundled)."""
    monitoring: MonitoringSettings = MonitoringSettings()
    backups: BackupSettings = BackupSettings()


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR block (e.g. 203.0.113.0/24)") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


class AwsNodeGroup(_Model):
    instance_types: tuple[str, ...] = Field(default=("m6i.xlarge",), min_length=1)
    min_size: int = Field(default=2, ge=1, le=100)
    max_size: int = Field(default=6, ge=1, le=200)
    disk_size: int = Field(default=100, ge=20, le=2000)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> AwsNodeGroup:
        if self.min_size > self.max_size:
            raise ValueError(f"minSize ({self.min_size}) is greater than maxSize ({self.max_size})")
        return self


class AwsMysql(_Model):
    """RDS for MySQL 8.4 (8.0 is in paid extended support since 2026-07-31). Unset: from the environment."""

    engine_version: str = Field(default="8.4", pattern=r"^8\.4(\.\d+)?$")
    instance_class: str | None = Field(default=None, pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    allocated_storage: int = Field(default=50, ge=20, le=65536)
    max_allocated_storage: int = Field(default=500, ge=20, le=65536)
    multi_az: bool | None = None
    backup_retention_days: int | None = Field(default=None, ge=1, le=35)
    deletion_protection: bool | None = None


class AwsMongodb(_Model):
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


class AwsRedis(_Model):
    """Each instance's Redis: its own in-cluster server (default), or its own ElastiCache replication group
    (TLS and AUTH; a replica and automatic failover in production)."""

    service: Literal["in-cluster", "elasticache"] = "in-cluster"
    node_type: str | None = Field(default=None, pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    """Unset: cache.t4g.small in dev and staging, cache.r7g.large in production."""
    engine_version: str = Field(default="7.1", pattern=r"^[67]\.\d+$")


class AwsSettings(_Model):
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


# --- gcp (fields of the `gcp` adapter: GcpSettings and the Gcp* models above it) -------------------------------------


class GcpNodePool(_Model):
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


class GcpMysql(_Model):
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


class GcpRedis(_Model):
    """Redis: in the instance's namespace, or one Memorystore instance per Open edX instance."""

    service: Literal["in-cluster", "memorystore"] = "in-cluster"
    memory_size_gb: int = Field(default=1, ge=1, le=300)
    high_availability: bool | None = None
    """Memorystore STANDARD_HA (a replica in another zone) or BASIC."""


class GcpSettings(_Model):
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


# --- azure (fields of the `azure` adapter: AzureSettings and the Azure* models above it) ----------------------------


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


class AzureSystemPool(_Model):
    """AKS system node pool (CoreDNS, metrics, konnectivity): fixed size, tainted for system pods only."""

    vm_size: str = Field(default="Standard_D4ds_v5", pattern=_AZURE_VM_SIZE)
    count: int = Field(default=2, ge=1, le=10)


class AzureUserPool(_Model):
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


class AzureMysql(_Model):
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


class AzureRedis(_Model):
    """Redis for the instances: in-cluster (one per instance, the default) or one Azure Managed Redis per instance,
    reached over TLS through a private endpoint. Azure Cache for Redis is not offered: it takes no new caches since
    2026-10-01 and retires in 2028."""

    service: Literal["in-cluster", "managed-redis"] = "in-cluster"
    sku: str | None = Field(default=None, pattern=r"^(Balanced_B|MemoryOptimized_M|ComputeOptimized_X)[0-9]+$")
    """Unset: Balanced_B1 in production, Balanced_B0 in dev."""
    high_availability: bool | None = None
    """A replica in another zone. Unset: on in production."""


class AzureSettings(_Model):
    """`cloud: azure`: AKS, MySQL Flexible Server, Azure Managed Redis, Blob Storage."""

    kubernetes_version: str = Field(default="1.34", pattern=r"^1\.\d{2}$")
    upgrade_channel: Literal["patch", "stable", "rapid", "node-image", "none"] = "patch"
    """AKS automatic upgrades; `patch` keeps kubernetesVersion's minor and applies its patches."""
    vnet_cidr: Annotated[str, AfterValidator(_cidr), AfterValidator(_azure_vnet)] = "10.20.0.0/16"
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


class StackSettings(_Model):
    cloud: Cloud = "local"
    environment: Environment = "dev"
    instances: tuple[InstanceSettings, ...] = ()
    local: LocalSettings = LocalSettings()
    aws: AwsSettings = AwsSettings()
    gcp: GcpSettings = GcpSettings()
    azure: AzureSettings = AzureSettings()
    platform: PlatformSettings = PlatformSettings()

    @property
    def production(self) -> bool:
        return self.environment == "production"


# --- loading -----------------------------------------------------------------------------------------------------


def load(raw: Mapping[str, Any], provider_config: Mapping[str, Any] | None = None) -> StackSettings:
    """Validate the `openedx:` keys (namespace stripped, values decoded) into settings, or raise ConfigError.
    `provider_config` holds the other namespaces' keys (`aws:region`, …), checked for the stack's cloud."""
    problems: list[str] = []
    raw_instances = raw.get("instances", [])
    stack: StackSettings | None = None
    try:
        stack = StackSettings.model_validate({k: v for k, v in raw.items() if k != "instances"})
        problems += _platform_problems(stack.platform)
    except ValidationError as error:
        problems += _describe(error, StackSettings, ())

    instances: list[tuple[int, InstanceSettings]] = []
    if not isinstance(raw_instances, list):
        problems.append(f"{NAMESPACE}:instances: must be a list of instances, got {type(raw_instances).__name__}")
        raw_instances = []
    for index, item in enumerate(raw_instances):
        try:
            instances.append((index, InstanceSettings.model_validate(item)))
        except ValidationError as error:
            problems += _describe(error, InstanceSettings, ("instances", index))
    problems += _stack_problems(raw_instances, instances)
    if stack is not None:
        problems += _cloud_problems(stack, instances, provider_config or {})
    problems.sort(key=_problem_order)

    if problems or stack is None:
        raise ConfigError(problems)
    return stack.model_copy(update={"instances": tuple(instance for _, instance in instances)})


def from_engine_config(config: Mapping[str, Any]) -> StackSettings:
    """Settings from the engine's config map (`openedx:key` → string, objects as JSON), as Pulumi hands it over,
    with the provider keys the stack's cloud needs (`aws:region`, …)."""
    prefix = NAMESPACE + ":"
    raw = {key[len(prefix) :]: _decode(value) for key, value in config.items() if key.startswith(prefix)}
    return load(raw, config)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _platform_problems(platform: PlatformSettings) -> list[str]:
    if platform.tls.acme and platform.tls.email is None:
        return [
            f"{NAMESPACE}:platform.tls.email: required for the {platform.tls.issuer} issuer "
            "(the Let's Encrypt account contact); or set platform.tls.issuer to selfsigned or none"
        ]
    return []


REQUIRED_PROVIDER_KEYS = {
    "aws": ("aws:region",),
    "gcp": ("gcp:project", "gcp:region"),
    "azure": ("azure-native:location",),
}


IndexedInstances = list[tuple[int, InstanceSettings]]
"""The valid instances with their index in `openedx:instances` (for key paths)."""


def _cloud_problems(stack: StackSettings, instances: IndexedInstances, config: Mapping[str, Any]) -> list[str]:
    """The provider keys the stack's cloud needs, and what its adapter cannot build from the settings."""
    problems = [
        f"{key}: required when {NAMESPACE}:cloud is {stack.cloud}"
        for key in REQUIRED_PROVIDER_KEYS.get(stack.cloud, ())
        if not config.get(key)
    ]
    checks = {"aws": _aws_problems, "gcp": _gcp_problems, "azure": _azure_problems}
    if stack.cloud in checks:
        problems += checks[stack.cloud](stack, instances)
    return problems


def _api_access_problems(key: str, cidrs: tuple[str, ...] | None, production: bool) -> list[str]:
    """Who may reach a managed cluster's API: required, and never the whole internet in production."""
    if cidrs is None:
        return [f"{NAMESPACE}:{key}: required: the CIDRs that may reach the Kubernetes API (where pulumi up "
                "runs), or [] for a private endpoint only"]
    if production and any(ipaddress.ip_network(c).prefixlen == 0 for c in cidrs):
        return [f"{NAMESPACE}:{key}: the whole internet may not reach a production cluster's API; list the "
                "CIDRs that need it"]
    return []


def _aws_problems(stack: StackSettings, instances: IndexedInstances) -> list[str]:
    return _api_access_problems("aws.publicAccessCidrs", stack.aws.public_access_cidrs, stack.production)


def _gcp_problems(stack: StackSettings, instances: IndexedInstances) -> list[str]:
    """Who may reach the API, and the VPC's ranges: IPv4, private, of a usable size, never overlapping."""
    gcp = stack.gcp
    problems = _api_access_problems("gcp.masterAuthorizedCidrs", gcp.master_authorized_cidrs, stack.production)
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


AZURE_BLOB_IMAGE_HINT = (
    "build one: `tutor config save --append OPENEDX_EXTRA_PIP_REQUIREMENTS=azure-storage-blob`, "
    "`tutor images build openedx`, push it to your registry, then set images.openedx to "
    "{repository, tag, azureStorageBlob: true}; or set openedx:azure.mediaStorage to volume"
)


def _azure_problems(stack: StackSettings, instances: IndexedInstances) -> list[str]:
    azure = stack.azure
    problems = _api_access_problems("azure.apiAuthorizedCidrs", azure.api_authorized_cidrs, stack.production)
    mysql_ha = azure.mysql.high_availability if azure.mysql.high_availability is not None else stack.production
    if mysql_ha and (azure.mysql.sku_name or "").startswith("Standard_B"):
        problems.append(f"{NAMESPACE}:azure.mysql.highAvailability: zone-redundant high availability needs a "
                        f"General Purpose or Memory Optimized SKU (Standard_D…, Standard_E…), not "
                        f"{azure.mysql.sku_name!r}; or set highAvailability: false")
    ranges = {"vnetCidr": azure.vnet_cidr, "podCidr": azure.pod_cidr, "serviceCidr": azure.service_cidr}
    seen: list[str] = []
    for key, cidr in ranges.items():
        problems += [f"{NAMESPACE}:azure.{key}: {cidr} overlaps {other} (azure.{other_key})"
                     for other_key in seen if ipaddress.ip_network(cidr).overlaps(
                         ipaddress.ip_network(other := ranges[other_key]))]
        seen.append(key)
    if azure.media_storage == "blob":
        for index, instance in instances:
            image = instance.images.openedx
            if image is None or not image.azure_storage_blob:
                problems.append(
                    f"{NAMESPACE}:instances[{index}].images.openedx: Azure Blob media storage "
                    f"(openedx:azure.mediaStorage: blob) needs an Open edX image with azure-storage-blob, which "
                    f"the stock Tutor image lacks; {AZURE_BLOB_IMAGE_HINT}")
    return problems


def _stack_problems(raw_instances: list[Any], instances: list[tuple[int, InstanceSettings]]) -> list[str]:
    """What the model alone cannot see: duplicates across instances, plugins and Tutor keys it does not know.

    Names are compared on the raw input so a duplicate is reported even beside the instance's other mistakes."""
    problems: list[str] = []
    names: dict[str, int] = {}
    for index, item in enumerate(raw_instances):
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in names:
            problems.append(
                f"{NAMESPACE}:instances[{index}].name: {name!r} is already used by instances[{names[name]}]"
            )
        elif isinstance(name, str):
            names[name] = index
    hosts: dict[str, str] = {}
    for index, instance in instances:
        path = f"{NAMESPACE}:instances[{index}]"
        for key, host in instance.public_hosts.items():
            where = f"{path}.{key}"
            if host in hosts:
                problems.append(f"{where}: host {host!r} is already used by {hosts[host]}")
            else:
                hosts[host] = where
        problems += [f"{path}.tutorConfig.{key}: {reason}" for key, reason in tutor_config_problems(instance)]
        problems += [
            f"{path}.plugins[{i}]: {plugin!r} is not an installed Tutor plugin (installed: {', '.join(installed)})"
            for i, plugin in enumerate(instance.plugins)
            if plugin not in (installed := installed_tutor_plugins())
        ]
    return problems


def _problem_order(problem: str) -> tuple[int, str]:
    """Report problems in the order of the instances they concern."""
    index = re.match(r"[^:]+:instances\[(\d+)\]", problem)
    return (int(index.group(1)) if index else -1, problem)


@functools.cache
def installed_tutor_plugins() -> tuple[str, ...]:
    """Tutor plugins installed as packages (entry points), without importing Tutor."""
    return tuple(sorted(ep.name for ep in importlib.metadata.entry_points(group="tutor.plugin.v1")))


def tutor_config_problems(instance: InstanceSettings) -> Iterable[tuple[str, str]]:
    """`tutorConfig` passes any Tutor setting through, except those the program owns."""

    for key in instance.tutor_config:
        if not _TUTOR_KEY.match(key):
            yield key, "Tutor settings are UPPER_SNAKE_CASE"
        elif key in OWNED_KEYS:
            yield key, f"set by the program; use {OWNED_KEYS[key]} instead"


# --- error messages ------------------------------------------------------------------------------------------------


def _describe(error: ValidationError, model: type[BaseModel], prefix: tuple[str | int, ...]) -> list[str]:
    return [_describe_one(dict(e), model, prefix) for e in error.errors(include_url=False)]


def _describe_one(err: dict[str, Any], model: type[BaseModel], prefix: tuple[str | int, ...]) -> str:
    loc = tuple(err["loc"])
    path = key_path(prefix + loc)
    if err["type"] == "extra_forbidden":
        known = _field_names(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else f"; known keys: {', '.join(sorted(known))}"
        return f"{path}: unknown key{hint}"
    message = str(err["msg"]).removeprefix("Value error, ").replace("a valid tuple", "a list")
    if err["type"] in (
        "literal_error",
        "string_type",
        "int_type",
        "int_parsing",
        "bool_type",
        "bool_parsing",
        "list_type",
        "tuple_type",
        "dict_type",
        "model_type",
        "float_type",
    ):
        message += f" (got {err['input']!r})"
    return f"{path}: {message}"


def key_path(loc: Iterable[str | int]) -> str:
    path = NAMESPACE
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += (":" if index == 0 else ".") + part
    return path


def _field_names(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The camelCase keys accepted at `loc` inside `model` (for "did you mean" hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {(f.alias or name): f for name, f in current.model_fields.items()}
        if part not in fields:
            return []
        current = _model_in(fields[part].annotation)
        if current is None:
            return []
    return [(f.alias or name) for name, f in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None or get_args(annotation):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
