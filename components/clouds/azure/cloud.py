"""`cloud: azure`: a virtual network, AKS, MySQL Flexible Server, optional Azure Managed Redis, and one storage
account per instance.

Plain pulumi-azure-native resources, so that unit tests see and assert every one of them. Only the submodules used
are imported (the whole package costs seconds and hundreds of MB). Production defaults come from
`openedx:environment`; every one can be overridden in `openedx:azure`.

MongoDB stays in the cluster: Cosmos DB for MongoDB (RU and vCore) is another engine behind the MongoDB wire
protocol, with documented gaps in commands, index types and limits; Open edX's modulestore and GridFS contentstore
are neither tested nor supported on it (see the README).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_random as random
import yaml
from pulumi_azure_native import (
    authorization,
    containerservice,
    dbformysql,
    keyvault,
    managedidentity,
    network,
    privatedns,
    redisenterprise,
    resources,
    storage,
)
from pulumi_azure_native import provider as azure_provider

from components.clouds import common
from components.clouds.azure.settings import AzureSettings
from components.infrastructure import (
    AzureContainer,
    CacheEndpoint,
    Egress,
    InCluster,
    Infrastructure,
    InstanceStorage,
    ManagedCache,
    ManagedEndpoint,
)
from components.settings.stack import StackSettings

ZONES = ("1", "2", "3")
MYSQL_PARAMETERS = {**common.MYSQL_UTF8MB4, "require_secure_transport": "ON"}
MYSQL_PORT = 3306
REDIS_PORT = 10000  # Azure Managed Redis: TLS only
REDIS_PRIVATE_ZONE = "privatelink.redis.azure.net"
MEDIA_CONTAINER = "openedx"
AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
"""The Entra ID application of every AKS API server: the audience kubelogin requests tokens for."""
ROLES = {
    # Built-in role definition ids (the same in every tenant).
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
}
STORAGE_ACCOUNT_PREFIX = "oe"
STORAGE_SUFFIX_LENGTH = 8


# --- pure helpers ------------------------------------------------------------------------------------------------


def subnet_cidrs(vnet_cidr: str) -> tuple[str, str, str]:
    """The nodes' subnet (the first half: pods live on the overlay, nodes need one address each), then the MySQL
    subnet delegated to the Flexible Server and the private endpoints' subnet, each a sixteenth."""
    halves = list(ipaddress.IPv4Network(vnet_cidr).subnets(prefixlen_diff=1))
    sixteenths = list(halves[1].subnets(prefixlen_diff=3))
    return str(halves[0]), str(sixteenths[0]), str(sixteenths[1])


def key_vault_name(cluster_name: str, suffix: str) -> str:
    """Key Vault names are global, 3-24 letters, digits and single hyphens, starting with a letter."""
    base = "-".join(part for part in cluster_name.split("-") if part)[:24 - len(suffix) - 4].rstrip("-")
    return f"kv-{base}-{suffix}".lower()


def storage_account_name(instance: str, suffix: str) -> str:
    """Globally unique, 3 to 24 lowercase letters and digits: a prefix, the instance name without '-' (truncated),
    and a random suffix."""
    room = 24 - len(STORAGE_ACCOUNT_PREFIX) - STORAGE_SUFFIX_LENGTH
    stem = re.sub(r"[^a-z0-9]", "", instance.lower())[:room]
    tail = re.sub(r"[^a-z0-9]", "", suffix.lower())[:STORAGE_SUFFIX_LENGTH]
    return f"{STORAGE_ACCOUNT_PREFIX}{stem}{tail}"


def kubelogin_args(mode: str) -> list[str]:
    return ["get-token", "--login", mode, "--server-id", AKS_SERVER_ID]


def kubeconfig(cluster_name: str, user_kubeconfig_b64: str, login_mode: str) -> str:
    """A kubeconfig whose user runs `kubelogin get-token` (Entra ID), with the API server and CA of the cluster's
    user credentials: no token or client key is ever stored in the state."""
    document = yaml.safe_load(base64.b64decode(user_kubeconfig_b64).decode())
    cluster = document["clusters"][0]["cluster"]
    return common.exec_kubeconfig(
        cluster_name, cluster["server"], cluster["certificate-authority-data"], "kubelogin",
        kubelogin_args(login_mode),
        install_hint="Install kubelogin (`az aks install-cli`): https://azure.github.io/kubelogin/")


def _user_kubeconfig(kubeconfigs: Sequence[containerservice.outputs.CredentialResultResponse]) -> str:
    if not kubeconfigs or not kubeconfigs[0].value:
        raise ValueError("the AKS cluster returned no user kubeconfig")
    return kubeconfigs[0].value


def mysql_sku(production: bool) -> str:
    return "Standard_D4ads_v5" if production else "Standard_B2ms"


def mysql_tier(sku_name: str) -> str:
    """The Flexible Server tier a SKU belongs to (the API wants both, and rejects a mismatch)."""
    return {"B": "Burstable", "D": "GeneralPurpose", "E": "MemoryOptimized"}[sku_name.removeprefix("Standard_")[0]]


def role_definition(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"


def _enabled(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


# --- the component -----------------------------------------------------------------------------------------------


class AzureCloud(pulumi.ComponentResource):
    infrastructure: Infrastructure

    def __init__(self, name: str, stack: StackSettings, location: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("openedx:clouds:AzureCloud", name, None, opts)
        settings: AzureSettings = stack.azure
        defaults = common.environment_defaults(stack.production)
        self._name_prefix = name
        self._production = stack.production
        self._location = location
        self._settings = settings
        self._defaults = defaults
        self._tags = tags = common.resource_labels()
        # Default providers are disabled: every Azure resource, the instances' own included, names this one.
        self._azure = azure_provider.Provider(f"{name}-provider", location=location,
                                              opts=pulumi.ResourceOptions(parent=self))
        child = self._opts()
        stateful = self._opts(protect=stack.production)
        cluster_name = common.cluster_name(name)
        zones = list(settings.availability_zones if settings.availability_zones is not None
                     else (ZONES if defaults.high_availability else ()))
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=self._azure))

        # Resource group and network: nodes, the MySQL delegated subnet, private endpoints; private DNS zones.
        group = resources.ResourceGroup(f"{name}-rg", resource_group_name=cluster_name, location=location,
                                        tags=tags, opts=stateful)
        self._group = group
        vnet = network.VirtualNetwork(
            f"{name}-vnet", resource_group_name=group.name, location=location,
            address_space=network.AddressSpaceArgs(address_prefixes=[settings.vnet_cidr]), tags=tags, opts=child)
        nodes_cidr, mysql_cidr, endpoints_cidr = subnet_cidrs(settings.vnet_cidr)
        # One subnet at a time: Azure refuses concurrent changes to a virtual network's subnets.
        nodes_subnet = network.Subnet(
            f"{name}-nodes", resource_group_name=group.name, virtual_network_name=vnet.name,
            address_prefix=nodes_cidr, default_outbound_access=False, opts=child)
        mysql_subnet = network.Subnet(
            f"{name}-mysql", resource_group_name=group.name, virtual_network_name=vnet.name,
            address_prefix=mysql_cidr, default_outbound_access=False,
            delegations=[network.DelegationArgs(name="mysql-flexible-server",
                                                service_name="Microsoft.DBforMySQL/flexibleServers")],
            opts=self._opts(depends_on=[nodes_subnet]))
        endpoints_subnet = network.Subnet(
            f"{name}-endpoints", resource_group_name=group.name, virtual_network_name=vnet.name,
            address_prefix=endpoints_cidr, default_outbound_access=False,
            private_endpoint_network_policies="Disabled",
            opts=self._opts(depends_on=[mysql_subnet]))
        self._endpoints_subnet = endpoints_subnet
        mysql_zone, mysql_zone_link = self._private_zone(
            "mysql", f"{cluster_name}.private.mysql.database.azure.com", group, vnet)

        # AKS: Entra ID with Azure RBAC, workload identity, CNI overlay with Cilium network policy.
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-cluster", resource_group_name=group.name, location=location, tags=tags, opts=child)
        subnet_join = self._role_assignment(
            "cluster-network", client.subscription_id, "Network Contributor", identity.principal_id,
            nodes_subnet.id, principal_type="ServicePrincipal")
        secrets_key, secrets_key_access = self._secrets_key(name, cluster_name, group, client.tenant_id,
                                                            client.subscription_id, identity.principal_id)
        system = settings.system_pool
        if settings.api_authorized_cidrs:
            api_access = containerservice.ManagedClusterAPIServerAccessProfileArgs(
                authorized_ip_ranges=list(settings.api_authorized_cidrs))
        else:
            api_access = containerservice.ManagedClusterAPIServerAccessProfileArgs(enable_private_cluster=True)
        cluster = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=cluster_name,
            resource_group_name=group.name,
            location=location,
            dns_prefix=cluster_name,
            kubernetes_version=settings.kubernetes_version,
            node_resource_group=f"{cluster_name}-nodes",
            sku=containerservice.ManagedClusterSKUArgs(name="Base", tier="Standard" if stack.production else "Free"),
            identity=containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]),
            agent_pool_profiles=[containerservice.ManagedClusterAgentPoolProfileArgs(
                vm_size=system.vm_size, vnet_subnet_id=nodes_subnet.id, os_type="Linux", os_sku="AzureLinux",
                availability_zones=zones or None, type="VirtualMachineScaleSets",
                name="system", mode="System", count=system.count, enable_auto_scaling=False,
                node_taints=["CriticalAddonsOnly=true:NoSchedule"],
                upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
            )],
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin="azure", network_plugin_mode="overlay", network_dataplane="cilium",
                network_policy="cilium", pod_cidr=settings.pod_cidr, service_cidr=settings.service_cidr,
                dns_service_ip=str(ipaddress.ip_network(settings.service_cidr)[10]),
                load_balancer_sku="standard", outbound_type="loadBalancer"),
            enable_rbac=True,
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True, enable_azure_rbac=True,
                admin_group_object_ids=list(settings.admin_group_object_ids) or None),
            disable_local_accounts=stack.production,
            api_server_access_profile=api_access,
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                # Kubernetes Secrets envelope-encrypted in etcd with a Key Vault key of the stack's.
                azure_key_vault_kms=containerservice.AzureKeyVaultKmsArgs(
                    enabled=True, key_id=secrets_key.key_uri_with_version, key_vault_network_access="Public"),
                image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(
                    enabled=True, interval_hours=168)),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=settings.upgrade_channel, node_os_upgrade_channel="NodeImage"),
            tags=tags,
            # On the stable/rapid channels AKS moves to newer minors itself: the configured one is only the start.
            opts=self._opts(protect=stack.production, depends_on=[subnet_join, secrets_key_access],
                            ignore_changes=["kubernetesVersion"] if settings.upgrade_channel in ("stable", "rapid")
                            else ()),
        )
        users = settings.user_pool
        user_pool = containerservice.AgentPool(
            f"{name}-user",
            agent_pool_name="user",
            resource_name_=cluster.name,
            resource_group_name=group.name,
            vm_size=users.vm_size, vnet_subnet_id=nodes_subnet.id, os_type="Linux", os_sku="AzureLinux",
            availability_zones=zones or None, type="VirtualMachineScaleSets",
            mode="User",
            enable_auto_scaling=True,
            min_count=users.min_count,
            max_count=users.max_count,
            count=users.min_count,
            os_disk_size_gb=users.os_disk_size_gb,
            upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
            # The node count belongs to the cluster autoscaler once running.
            opts=self._opts(ignore_changes=["count"]),
        )
        # The deploying principal administers the cluster through Azure RBAC (like EKS's creator access entry).
        deployer_admin = self._role_assignment(
            "deployer-cluster-admin", client.subscription_id, "Azure Kubernetes Service RBAC Cluster Admin",
            client.object_id, cluster.id)
        if settings.container_registry_id:
            self._role_assignment(
                "kubelet-acr-pull", client.subscription_id, "AcrPull",
                cluster.identity_profile.apply(_kubelet_object_id), settings.container_registry_id,
                principal_type="ServicePrincipal")

        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=group.name, resource_name=cluster.name,
            opts=pulumi.InvokeOutputOptions(provider=self._azure, parent=self))
        access: pulumi.Output[str] = credentials.kubeconfigs.apply(_user_kubeconfig).apply(
            lambda encoded: kubeconfig(cluster_name, encoded, settings.kubelogin_mode))
        provider = common.cluster_provider(name, access, cluster_name, self, depends_on=[user_pool, deployer_admin])
        # AKS encrypts managed disks at rest; zone-redundant disks let a pod move to another zone in production.
        disk_sku = "Premium_ZRS" if zones else "Premium_LRS"
        storage_class, retain_storage_class = common.storage_classes(
            name, "disk.csi.azure.com", {"skuName": disk_sku, "cachingMode": "ReadOnly"}, provider, self)

        # MySQL: one Flexible Server per stack, only on the delegated subnet, TLS required.
        mysql = settings.mysql
        admin_password = common.admin_password(name, self)
        sku = mysql.sku_name or mysql_sku(stack.production)
        high_availability = common.pick(mysql.high_availability, defaults.high_availability)
        server = dbformysql.Server(
            f"{name}-mysql",
            resource_group_name=group.name,
            location=location,
            version=mysql.version,
            administrator_login=common.ADMIN_USERNAME,
            administrator_login_password=admin_password,
            sku=dbformysql.MySQLServerSkuArgs(name=sku, tier=mysql_tier(sku)),
            storage=dbformysql.StorageArgs(storage_size_gb=mysql.storage_size_gb, auto_grow="Enabled",
                                           auto_io_scaling="Enabled"),
            backup=dbformysql.BackupArgs(
                backup_retention_days=common.pick(mysql.backup_retention_days, defaults.backup_retention_days),
                geo_redundant_backup=_enabled(common.pick(mysql.geo_redundant_backup, stack.production))),
            high_availability=dbformysql.HighAvailabilityArgs(
                mode="ZoneRedundant" if high_availability else "Disabled",
                standby_availability_zone=zones[1] if high_availability and len(zones) > 1 else None),
            availability_zone=zones[0] if zones else None,
            network=dbformysql.NetworkArgs(
                delegated_subnet_resource_id=mysql_subnet.id, private_dns_zone_resource_id=mysql_zone.id,
                public_network_access="Disabled"),
            tags=tags,
            opts=self._opts(protect=stack.production, depends_on=[mysql_zone_link]),
        )
        previous: list[pulumi.Resource] = []
        for parameter, value in MYSQL_PARAMETERS.items():
            # One at a time: a Flexible Server refuses concurrent configuration changes.
            previous = [dbformysql.Configuration(
                f"{name}-mysql-{parameter.replace('_', '-')}", configuration_name=parameter, value=value,
                source="user-override", server_name=server.name, resource_group_name=group.name,
                opts=self._opts(depends_on=previous))]
        mysql_endpoint = ManagedEndpoint(
            host=server.fully_qualified_domain_name.apply(_fqdn),
            port=MYSQL_PORT, tls=True,
            admin_username=pulumi.Output.from_input(common.ADMIN_USERNAME), admin_password=admin_password)

        egress = [Egress(mysql_cidr, (MYSQL_PORT,))]
        cache: ManagedCache | InCluster = InCluster()
        if settings.redis.service == "managed-redis":
            self._redis_zone, _ = self._private_zone("redis", REDIS_PRIVATE_ZONE, group, vnet)
            cache = ManagedCache(create=self.cache_for)
            egress.append(Egress(endpoints_cidr, (REDIS_PORT,)))

        self.infrastructure = Infrastructure(
            provider=provider,
            mysql=mysql_endpoint,
            mongodb=InCluster(),  # Cosmos DB for MongoDB lacks what Open edX's modulestore relies on (module doc)
            redis=cache,
            storage_class=storage_class,
            retain_storage_class=retain_storage_class,
            object_storage=self.container_for if settings.media_storage == "blob" else None,
            egress=tuple(egress),
        )
        self.register_outputs({"clusterName": cluster.name, "resourceGroup": group.name,
                               "mysqlHost": server.fully_qualified_domain_name})

    def _opts(self, parent: pulumi.Resource | None = None, protect: bool = False,
              depends_on: Sequence[pulumi.Resource] = (), ignore_changes: Sequence[str] = (),
              retain_on_delete: bool = False) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent or self, provider=self._azure, protect=protect,
                                      depends_on=list(depends_on), ignore_changes=list(ignore_changes) or None,
                                      retain_on_delete=retain_on_delete)

    def _private_zone(self, service: str, zone_name: str, group: resources.ResourceGroup,
                      vnet: network.VirtualNetwork) -> tuple[privatedns.PrivateZone, privatedns.VirtualNetworkLink]:
        """A private DNS zone the virtual network resolves (pods use Azure DNS through CoreDNS)."""
        zone = privatedns.PrivateZone(f"{self._name_prefix}-{service}", private_zone_name=zone_name,
                                      resource_group_name=group.name, location="global", tags=self._tags,
                                      opts=self._opts())
        link = privatedns.VirtualNetworkLink(
            f"{self._name_prefix}-{service}", private_zone_name=zone.name, resource_group_name=group.name,
            location="global", registration_enabled=False,
            virtual_network=privatedns.SubResourceArgs(id=vnet.id), tags=self._tags, opts=self._opts())
        return zone, link

    def _secrets_key(self, name: str, cluster_name: str, group: resources.ResourceGroup,
                     tenant_id: pulumi.Input[str], subscription_id: pulumi.Input[str],
                     cluster_principal: pulumi.Input[str]) -> tuple[keyvault.Key, authorization.RoleAssignment]:
        """The Key Vault key AKS encrypts Kubernetes Secrets with (KMS), usable by the cluster's identity only; the
        vault authorizes with Azure RBAC, keeps deleted keys 90 days and cannot be purged early."""
        suffix = random.RandomString(f"{name}-secrets", length=6, special=False, upper=False,
                                     opts=pulumi.ResourceOptions(parent=self))
        vault = keyvault.Vault(
            f"{name}-secrets",
            vault_name=suffix.result.apply(lambda s: key_vault_name(cluster_name, s)),
            resource_group_name=group.name,
            location=self._location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=tenant_id, sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True, enable_soft_delete=True, soft_delete_retention_in_days=90,
                enable_purge_protection=True),
            tags=self._tags,
            opts=self._opts(protect=self._production))
        key = keyvault.Key(
            f"{name}-secrets", key_name="kubernetes-secrets", vault_name=vault.name, resource_group_name=group.name,
            properties=keyvault.KeyPropertiesArgs(kty="RSA", key_size=2048, key_ops=["encrypt", "decrypt"]),
            tags=self._tags,
            opts=self._opts(protect=self._production))
        access = self._role_assignment("cluster-secrets-key", subscription_id, "Key Vault Crypto User",
                                       cluster_principal, key.id, principal_type="ServicePrincipal")
        return key, access

    def _role_assignment(self, name: str, subscription_id: pulumi.Input[str], role: str,
                         principal_id: pulumi.Input[str], scope: pulumi.Input[str],
                         principal_type: str | None = None,
                         parent: pulumi.Resource | None = None) -> authorization.RoleAssignment:
        """A built-in role for one principal on one scope, under a GUID name fixed in the state."""
        guid = random.RandomUuid(f"{self._name_prefix}-{name}", opts=pulumi.ResourceOptions(parent=parent or self))
        return authorization.RoleAssignment(
            f"{self._name_prefix}-{name}", role_assignment_name=guid.result,
            role_definition_id=pulumi.Output.from_input(subscription_id).apply(lambda s: role_definition(s, role)),
            principal_id=principal_id, principal_type=principal_type, scope=scope,
            opts=self._opts(parent=parent))

    def cache_for(self, instance: str, parent: pulumi.Resource) -> CacheEndpoint:
        """The instance's own Azure Managed Redis: TLS 1.2 only, access-key AUTH, no public access, a private
        endpoint on the virtual network; non-clustered (Celery needs multi-key commands on one node), evicting only
        keys with a TTL (cache entries, never Celery's queues)."""
        settings = self._settings.redis
        opts = self._opts(parent=parent)
        cache = redisenterprise.RedisEnterprise(
            f"{instance}-redis",
            resource_group_name=self._group.name,
            location=self._location,
            sku=redisenterprise.SkuArgs(name=settings.sku or ("Balanced_B1" if self._production else "Balanced_B0")),
            high_availability=_enabled(common.pick(settings.high_availability, self._production)),
            minimum_tls_version="1.2",
            public_network_access="Disabled",
            tags=self._tags,
            opts=opts,
        )
        database = redisenterprise.Database(
            f"{instance}-redis",
            resource_group_name=self._group.name,
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
            resource_group_name=self._group.name,
            location=self._location,
            subnet=network.SubnetArgs(id=self._endpoints_subnet.id),
            private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
                name=f"{instance}-redis", private_link_service_id=cache.id, group_ids=["redisEnterprise"])],
            tags=self._tags,
            opts=opts,
        )
        network.PrivateDnsZoneGroup(
            f"{instance}-redis",
            resource_group_name=self._group.name,
            private_endpoint_name=endpoint.name,
            private_dns_zone_group_name="default",
            private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(
                name="redis", private_dns_zone_id=self._redis_zone.id)],
            opts=opts,
        )
        keys = redisenterprise.list_database_keys_output(
            cluster_name=cache.name, database_name=database.name, resource_group_name=self._group.name,
            opts=pulumi.InvokeOutputOptions(provider=self._azure, parent=parent))
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
        opts = self._opts(parent=parent)
        keep = self._opts(parent=parent, retain_on_delete=self._production)
        retention = self._defaults.backup_retention_days
        suffix = random.RandomString(f"{instance}-media", length=STORAGE_SUFFIX_LENGTH, upper=False, special=False,
                                     numeric=True, opts=pulumi.ResourceOptions(parent=parent))
        account = storage.StorageAccount(
            f"{instance}-media",
            account_name=suffix.result.apply(lambda s: storage_account_name(instance, s)),
            resource_group_name=self._group.name,
            location=self._location,
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
            tags=self._tags,
            opts=keep,
        )
        storage.BlobServiceProperties(
            f"{instance}-media",
            account_name=account.name,
            resource_group_name=self._group.name,
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
        container = storage.BlobContainer(
            f"{instance}-media",
            account_name=account.name,
            resource_group_name=self._group.name,
            container_name=MEDIA_CONTAINER,
            public_access=storage.PublicAccess.NONE,
            opts=keep,
        )
        keys = storage.list_storage_account_keys_output(
            account_name=account.name, resource_group_name=self._group.name,
            opts=pulumi.InvokeOutputOptions(provider=self._azure, parent=parent))
        return InstanceStorage(
            bucket=container.name,
            service=AzureContainer(account_name=account.name,
                                   account_key=pulumi.Output.secret(keys.keys.apply(_first_key))),
            service_account_annotations={},
        )


def _first_key(keys: Sequence[storage.outputs.StorageAccountKeyResponse] | None) -> str:
    if not keys:
        raise ValueError("the storage account returned no keys")
    return keys[0].value


def _kubelet_object_id(
        profile: Mapping[str, containerservice.outputs.UserAssignedIdentityManagedClusterResponse] | None) -> str:
    kubelet = (profile or {}).get("kubeletidentity")
    if kubelet is None or not kubelet.object_id:
        raise ValueError("the AKS cluster reports no kubelet identity")
    return kubelet.object_id


def _fqdn(value: str | None) -> str:
    if not value:
        raise ValueError("the MySQL server reports no fully qualified domain name")
    return value
