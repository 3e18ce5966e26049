"""Azure: what each instance gets of its own (its cache and private endpoint, its storage account), and what that
is made from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_random as random
from pulumi_azure_native import network, redisenterprise, storage

from components.clouds import common
from components.clouds.azure.settings import AzureRedis
from components.clouds.azure.values import (
    MEDIA_CONTAINER,
    REDIS_PORT,
    STORAGE_SUFFIX_LENGTH,
    enabled,
    first_key,
    storage_account_name,
)
from components.infrastructure import BACKUP_FOLDER, DELETED_BACKUP_DAYS, AzureContainer, CacheEndpoint, InstanceStorage

TYPE = "openedx:clouds:AzureCloud"
"""The adapter's type token, whether it builds the cluster or attaches to a platform stack's: an instance's
resources, the adapter's provider among their URNs, keep their URNs when the instance moves between the two."""


@dataclass(frozen=True)
class AzureCacheInputs:
    """Where every instance's Azure Managed Redis is reached from, and how it is sized."""

    endpoints_subnet: pulumi.Input[str]
    """The id of the subnet of the private endpoints."""
    private_zone: pulumi.Input[str]
    """The id of the private DNS zone the caches' endpoints are registered in."""
    settings: AzureRedis
    """The stack's `azure.redis`; what it leaves unset follows the instance's stack's environment."""


@dataclass(frozen=True)
class AzureInstanceInputs:
    """What each instance's own Azure resources are made from, besides the provider: in a platform stack, its
    `instanceInputs`. No secret. The names Azure wants unique carry a random suffix kept in the state, so that
    nothing here scopes them."""

    location: str
    resource_group: pulumi.Input[str]
    """The name of the stack's resource group, where every instance's resources go too."""
    media_storage: Literal["blob", "volume"]
    cache: AzureCacheInputs | None = None
    """None: each instance runs its Redis in the cluster."""


def exported(inputs: AzureInstanceInputs) -> dict[str, pulumi.Input[Any]]:
    """`inputs` as a platform stack exports them (camelCase keys)."""
    values: dict[str, pulumi.Input[Any]] = {"location": inputs.location, "resourceGroup": inputs.resource_group,
                                            "mediaStorage": inputs.media_storage}
    if inputs.cache is not None:
        values |= {"endpointsSubnet": inputs.cache.endpoints_subnet, "redisPrivateZone": inputs.cache.private_zone,
                   "redis": inputs.cache.settings.model_dump(by_alias=True, exclude_none=True)}
    return values


def from_exported(values: Mapping[str, Any]) -> AzureInstanceInputs:
    """An instance stack's reading of what `exported` wrote."""
    cache = None
    if "redis" in values:
        cache = AzureCacheInputs(endpoints_subnet=values["endpointsSubnet"], private_zone=values["redisPrivateZone"],
                                 settings=AzureRedis.model_validate(values["redis"]))
    return AzureInstanceInputs(location=values["location"], resource_group=values["resourceGroup"],
                               media_storage=values["mediaStorage"], cache=cache)


class AzureInstanceResources(common.CloudAdapter):
    """What each instance gets of its own on Azure, from `_instances` (set by the adapter: from its resources when
    it builds the cluster, from the platform stack's output when it attaches to one) and the adapter's provider: an
    Azure Managed Redis with its private endpoint (when the stack uses it), and a storage account with a private
    container. What the environment implies is the instance's stack's."""

    _instances: AzureInstanceInputs

    def cache_for(self, instance: str, parent: pulumi.Resource) -> CacheEndpoint:
        """The instance's own Azure Managed Redis: TLS 1.2 only, access-key AUTH, no public access, a private
        endpoint on the virtual network; non-clustered (Celery needs multi-key commands on one node), evicting only
        keys with a TTL (cache entries, never Celery's queues)."""
        inputs, shared = self._instances, self._instances.cache
        if shared is None:
            raise ValueError("Azure Managed Redis: the stack's caches are in the cluster (azure.redis.service: "
                             "in-cluster)")
        settings, group = shared.settings, inputs.resource_group
        opts = self._opts(parent=parent)
        cache = redisenterprise.RedisEnterprise(
            f"{instance}-redis",
            resource_group_name=group,
            location=inputs.location,
            sku=redisenterprise.SkuArgs(name=settings.sku or ("Balanced_B1" if self._production else "Balanced_B0")),
            high_availability=enabled(common.pick(settings.high_availability, self._production)),
            minimum_tls_version="1.2",
            public_network_access="Disabled",
            tags=self._labels,
            opts=opts,
        )
        database = redisenterprise.Database(
            f"{instance}-redis",
            resource_group_name=group,
            cluster_name=cache.name,
            database_name="default",
            client_protocol="Encrypted",
            clustering_policy="NoCluster",
            eviction_policy="VolatileLRU",
            access_keys_authentication="Enabled",
            port=REDIS_PORT,
            opts=opts,
        )
        endpoint = network.PrivateEndpoint(
            f"{instance}-redis",
            resource_group_name=group,
            location=inputs.location,
            subnet=network.SubnetArgs(id=shared.endpoints_subnet),
            private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
                name=f"{instance}-redis", private_link_service_id=cache.id, group_ids=["redisEnterprise"])],
            tags=self._labels,
            opts=opts,
        )
        network.PrivateDnsZoneGroup(
            f"{instance}-redis",
            resource_group_name=group,
            private_endpoint_name=endpoint.name,
            private_dns_zone_group_name="default",
            private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(
                name="redis", private_dns_zone_id=shared.private_zone)],
            opts=opts,
        )
        keys = redisenterprise.list_database_keys_output(
            cluster_name=cache.name, database_name=database.name, resource_group_name=group,
            opts=pulumi.InvokeOutputOptions(provider=self._provider, parent=parent))
        return CacheEndpoint(
            host=cache.host_name,
            port=REDIS_PORT,
            password=pulumi.Output.secret(keys.primary_key),
            single_database=True,  # Redis Enterprise has database 0 only
        )

    def container_for(self, instance: str, namespace: str, service_account: str, hosts: Sequence[str],
                      parent: pulumi.Resource) -> InstanceStorage:
        """The instance's own storage account and private container. Its pods use the account key (held only in
        the instance's settings Secret): django-storages signs browser URLs with it, where a container SAS would
        be embedded in every URL, and workload identity would need azure-identity and a pod label."""
        location, group = self._instances.location, self._instances.resource_group
        opts = self._opts(parent=parent)
        keep = self._opts(parent=parent, retain_on_delete=self._production)
        retention = self._defaults.backup_retention_days
        suffix = random.RandomString(f"{instance}-media", length=STORAGE_SUFFIX_LENGTH, upper=False, special=False,
                                     numeric=True, opts=pulumi.ResourceOptions(parent=parent))
        account = storage.StorageAccount(
            f"{instance}-media",
            account_name=suffix.result.apply(lambda s: storage_account_name(instance, s)),
            resource_group_name=group,
            location=location,
            kind="StorageV2",
            sku=storage.SkuArgs(name="Standard_ZRS" if self._production else "Standard_LRS"),
            access_tier=storage.AccessTier.HOT,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=True,
            allow_cross_tenant_replication=False,
            default_to_o_auth_authentication=False,
            encryption=storage.EncryptionArgs(
                key_source="Microsoft.Storage",
                services=storage.EncryptionServicesArgs(
                    blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account"))),
            tags=self._labels,
            opts=keep,
        )
        storage.BlobServiceProperties(
            f"{instance}-media",
            account_name=account.name,
            resource_group_name=group,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=retention),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=retention),
            cors=storage.CorsRulesArgs(cors_rules=[storage.CorsRuleArgs(
                allowed_origins=[f"https://{host}" for host in hosts],
                allowed_methods=["GET", "HEAD", "PUT", "POST"],
                allowed_headers=["*"], exposed_headers=["ETag"], max_age_in_seconds=3600)]),
            opts=opts,
        )
        # Backups that retention deleted linger as old versions for a while, then go.
        storage.ManagementPolicy(
            f"{instance}-media",
            account_name=account.name,
            resource_group_name=group,
            management_policy_name="default",
            policy=storage.ManagementPolicySchemaArgs(rules=[storage.ManagementPolicyRuleArgs(
                name="deleted-backups", type="Lifecycle", enabled=True,
                definition=storage.ManagementPolicyDefinitionArgs(
                    filters=storage.ManagementPolicyFilterArgs(
                        blob_types=["blockBlob"], prefix_match=[f"{MEDIA_CONTAINER}/{BACKUP_FOLDER}/"]),
                    actions=storage.ManagementPolicyActionArgs(version=storage.ManagementPolicyVersionArgs(
                        delete=storage.DateAfterCreationArgs(
                            days_after_creation_greater_than=DELETED_BACKUP_DAYS)))))]),
            opts=opts,
        )
        container = storage.BlobContainer(
            f"{instance}-media",
            account_name=account.name,
            resource_group_name=group,
            container_name=MEDIA_CONTAINER,
            public_access=storage.PublicAccess.NONE,
            opts=keep,
        )
        keys = storage.list_storage_account_keys_output(
            account_name=account.name, resource_group_name=group,
            opts=pulumi.InvokeOutputOptions(provider=self._provider, parent=parent))
        return InstanceStorage(
            bucket=container.name,
            service=AzureContainer(account_name=account.name,
                                   account_key=pulumi.Output.secret(keys.keys.apply(first_key))),
            service_account_annotations={},
        )
