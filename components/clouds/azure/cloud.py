"""`cloud: azure`: a virtual network, AKS, MySQL Flexible Server, optional Azure Managed Redis, and one storage
account per instance.

Plain pulumi-azure-native resources, so that unit tests see and assert every one of them. Only the submodules used
are imported (the whole package costs seconds and hundreds of MB). Production defaults come from
`openedx:environment`; every one can be overridden in `openedx:azure`. The adapter reads as its steps: network,
cluster, Kubernetes, MySQL, caches; caches and storage accounts are made per instance.

MongoDB stays in the cluster: Cosmos DB for MongoDB (RU and vCore) is another engine behind the MongoDB wire
protocol, with documented gaps in commands, index types and limits; Open edX's modulestore and GridFS contentstore
are neither tested nor supported on it (see the README).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi_azure_native import (
    authorization,
    containerservice,
    dbformysql,
    keyvault,
    managedidentity,
    network,
    privatedns,
    resources,
)
from pulumi_azure_native import provider as azure_provider

from components.clouds import common
from components.clouds.azure.instances import (
    TYPE,
    AzureCacheInputs,
    AzureInstanceInputs,
    AzureInstanceResources,
    exported,
)
from components.clouds.azure.settings import AzureSettings
from components.clouds.azure.values import (
    MYSQL_PARAMETERS,
    MYSQL_PORT,
    REDIS_PORT,
    REDIS_PRIVATE_ZONE,
    ZONES,
    autoscaler_profile,
    enabled,
    fqdn,
    key_vault_name,
    kubeconfig,
    kubelet_object_id,
    mysql_sku,
    mysql_tier,
    role_definition,
    subnet_cidrs,
    user_kubeconfig,
)
from components.infrastructure import (
    Egress,
    InCluster,
    Infrastructure,
    ManagedCache,
    ManagedEndpoint,
)
from components.settings.stack import StackSettings


@dataclass(frozen=True)
class _Network:
    vnet: network.VirtualNetwork
    nodes_subnet: network.Subnet
    mysql_subnet: network.Subnet
    mysql_cidr: str
    endpoints_cidr: str
    mysql_zone: privatedns.PrivateZone
    mysql_zone_link: privatedns.VirtualNetworkLink


class AzureCloud(AzureInstanceResources):
    def __init__(self, name: str, stack: StackSettings, location: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, stack, opts)
        settings: AzureSettings = stack.azure
        self._location = location
        # Every Azure resource, the instances' own included, names this provider.
        self._provider = azure_provider.Provider(f"{name}-provider", location=location,
                                                 opts=common.provider_options(self))
        self._zones = list(settings.availability_zones if settings.availability_zones is not None
                           else (ZONES if self._defaults.high_availability else ()))
        self._client = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(provider=self._provider))
        net = self._network(settings)
        cluster, user_pool, deployer_admin = self._cluster(settings, net)
        provider, access, storage_class, retain_storage_class = self._kubernetes(
            settings, cluster, [user_pool, deployer_admin])
        mysql, server = self._mysql(settings, net)
        egress = [Egress(net.mysql_cidr, (MYSQL_PORT,))]
        cache: AzureCacheInputs | None = None
        if settings.redis.service == "managed-redis":
            redis_zone, _ = self._private_zone("redis", REDIS_PRIVATE_ZONE, net.vnet)
            cache = AzureCacheInputs(endpoints_subnet=self._endpoints_subnet.id, private_zone=redis_zone.id,
                                     settings=settings.redis)
            egress.append(Egress(net.endpoints_cidr, (REDIS_PORT,)))
        self._instances = AzureInstanceInputs(location=location, resource_group=self._group.name,
                                              media_storage=settings.media_storage, cache=cache)
        self.infrastructure = Infrastructure(
            provider=provider,
            kubeconfig=access,
            mysql=mysql,
            mongodb=InCluster(),  # Cosmos DB for MongoDB lacks what Open edX's modulestore relies on (module doc)
            redis=InCluster() if cache is None else ManagedCache(create=self.cache_for),
            storage_class=storage_class,
            retain_storage_class=retain_storage_class,
            object_storage=self.container_for if settings.media_storage == "blob" else None,
            egress=tuple(egress),
            cluster_identifier=self._cluster_name,
            instance_inputs=exported(self._instances),
        )
        self.register_outputs({"clusterName": cluster.name, "resourceGroup": self._group.name,
                               "mysqlHost": server.fully_qualified_domain_name})

    def _network(self, settings: AzureSettings) -> _Network:
        """The resource group and the network: nodes, the MySQL delegated subnet, private endpoints; MySQL's private
        DNS zone."""
        name, tags, child = self._name_prefix, self._labels, self._opts()
        self._group = resources.ResourceGroup(f"{name}-rg", resource_group_name=self._cluster_name,
                                              location=self._location, tags=tags, opts=self._stateful())
        group = self._group
        vnet = network.VirtualNetwork(
            f"{name}-vnet", resource_group_name=group.name, location=self._location,
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
        self._endpoints_subnet = network.Subnet(
            f"{name}-endpoints", resource_group_name=group.name, virtual_network_name=vnet.name,
            address_prefix=endpoints_cidr, default_outbound_access=False,
            private_endpoint_network_policies="Disabled",
            opts=self._opts(depends_on=[mysql_subnet]))
        mysql_zone, mysql_zone_link = self._private_zone(
            "mysql", f"{self._cluster_name}.private.mysql.database.azure.com", vnet)
        return _Network(vnet, nodes_subnet, mysql_subnet, mysql_cidr, endpoints_cidr, mysql_zone, mysql_zone_link)

    def _cluster(self, settings: AzureSettings, net: _Network,
                 ) -> tuple[containerservice.ManagedCluster, containerservice.AgentPool, authorization.RoleAssignment]:
        """AKS: Entra ID with Azure RBAC, workload identity, CNI overlay with Cilium network policy, Secrets
        encrypted with a Key Vault key; a tainted system pool and an autoscaled user pool."""
        name, cluster_name, group, client = self._name_prefix, self._cluster_name, self._group, self._client
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-cluster", resource_group_name=group.name, location=self._location, tags=self._labels,
            opts=self._opts())
        subnet_join = self._role_assignment(
            "cluster-network", client.subscription_id, "Network Contributor", identity.principal_id,
            net.nodes_subnet.id, principal_type="ServicePrincipal")
        secrets_key, secrets_key_access = self._secrets_key(client.tenant_id, client.subscription_id,
                                                            identity.principal_id)
        system = settings.system_pool
        if settings.api_authorized_cidrs:
            api_access = containerservice.ManagedClusterAPIServerAccessProfileArgs(
                authorized_ip_ranges=list(settings.api_authorized_cidrs))
        else:
            api_access = containerservice.ManagedClusterAPIServerAccessProfileArgs(enable_private_cluster=True)
        zones = self._zones
        cluster = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=cluster_name,
            resource_group_name=group.name,
            location=self._location,
            dns_prefix=cluster_name,
            kubernetes_version=settings.kubernetes_version,
            node_resource_group=f"{cluster_name}-nodes",
            sku=containerservice.ManagedClusterSKUArgs(name="Base", tier="Standard" if self._production else "Free"),
            identity=containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]),
            agent_pool_profiles=[containerservice.ManagedClusterAgentPoolProfileArgs(
                vm_size=system.vm_size, vnet_subnet_id=net.nodes_subnet.id, os_type="Linux", os_sku="AzureLinux",
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
            disable_local_accounts=self._production,
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
            # How AKS's autoscaler sizes the user pool: as the cluster autoscaler does on EKS.
            auto_scaler_profile=autoscaler_profile(common.NODE_AUTOSCALER_FLAGS),
            tags=self._labels,
            # On the stable/rapid channels AKS moves to newer minors itself: the configured one is only the start.
            opts=self._opts(protect=self._production, depends_on=[subnet_join, secrets_key_access],
                            ignore_changes=["kubernetesVersion"] if settings.upgrade_channel in ("stable", "rapid")
                            else ()),
        )
        users = settings.user_pool
        user_pool = containerservice.AgentPool(
            f"{name}-user",
            agent_pool_name="user",
            resource_name_=cluster.name,
            resource_group_name=group.name,
            vm_size=users.vm_size, vnet_subnet_id=net.nodes_subnet.id, os_type="Linux", os_sku="AzureLinux",
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
                cluster.identity_profile.apply(kubelet_object_id), settings.container_registry_id,
                principal_type="ServicePrincipal")
        return cluster, user_pool, deployer_admin

    def _kubernetes(self, settings: AzureSettings, cluster: containerservice.ManagedCluster,
                    ready: Sequence[pulumi.Resource]) -> tuple[k8s.Provider, pulumi.Output[str], str, str]:
        """The cluster's Kubernetes provider and kubeconfig (through kubelogin, with the user credentials' server and
        CA), and its StorageClasses: AKS encrypts managed disks at rest; zone-redundant disks let a pod move to
        another zone."""
        cluster_name = self._cluster_name
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=self._group.name, resource_name=cluster.name,
            opts=pulumi.InvokeOutputOptions(provider=self._provider, parent=self))
        access: pulumi.Output[str] = credentials.kubeconfigs.apply(user_kubeconfig).apply(
            lambda encoded: kubeconfig(cluster_name, encoded, settings.kubelogin_mode))
        provider = common.cluster_provider(self._name_prefix, access, cluster_name, self, depends_on=list(ready))
        disk_sku = "Premium_ZRS" if self._zones else "Premium_LRS"
        storage_class, retain_storage_class = common.storage_classes(
            self._name_prefix, "disk.csi.azure.com", {"skuName": disk_sku, "cachingMode": "ReadOnly"}, provider,
            self)
        return provider, access, storage_class, retain_storage_class

    def _mysql(self, settings: AzureSettings, net: _Network) -> tuple[ManagedEndpoint, dbformysql.Server]:
        """One Flexible Server per stack, only on the delegated subnet, TLS required."""
        name, defaults, zones = self._name_prefix, self._defaults, self._zones
        mysql = settings.mysql
        admin_password = common.admin_password(name, self)
        sku = mysql.sku_name or mysql_sku(self._production)
        high_availability = common.pick(mysql.high_availability, defaults.high_availability)
        server = dbformysql.Server(
            f"{name}-mysql",
            resource_group_name=self._group.name,
            location=self._location,
            version=mysql.version,
            administrator_login=common.ADMIN_USERNAME,
            administrator_login_password=admin_password,
            sku=dbformysql.MySQLServerSkuArgs(name=sku, tier=mysql_tier(sku)),
            storage=dbformysql.StorageArgs(storage_size_gb=mysql.storage_size_gb, auto_grow="Enabled",
                                           auto_io_scaling="Enabled"),
            backup=dbformysql.BackupArgs(
                backup_retention_days=common.pick(mysql.backup_retention_days, defaults.backup_retention_days),
                geo_redundant_backup=enabled(common.pick(mysql.geo_redundant_backup, self._production))),
            high_availability=dbformysql.HighAvailabilityArgs(
                mode="ZoneRedundant" if high_availability else "Disabled",
                standby_availability_zone=zones[1] if high_availability and len(zones) > 1 else None),
            availability_zone=zones[0] if zones else None,
            network=dbformysql.NetworkArgs(
                delegated_subnet_resource_id=net.mysql_subnet.id, private_dns_zone_resource_id=net.mysql_zone.id,
                public_network_access="Disabled"),
            tags=self._labels,
            opts=self._opts(protect=self._production, depends_on=[net.mysql_zone_link]),
        )
        previous: list[pulumi.Resource] = []
        for parameter, value in MYSQL_PARAMETERS.items():
            # One at a time: a Flexible Server refuses concurrent configuration changes.
            previous = [dbformysql.Configuration(
                f"{name}-mysql-{parameter.replace('_', '-')}", configuration_name=parameter, value=value,
                source="user-override", server_name=server.name, resource_group_name=self._group.name,
                opts=self._opts(depends_on=previous))]
        endpoint = ManagedEndpoint(
            host=server.fully_qualified_domain_name.apply(fqdn),
            port=MYSQL_PORT, tls=True,
            admin_username=pulumi.Output.from_input(common.ADMIN_USERNAME), admin_password=admin_password)
        return endpoint, server

    def _private_zone(self, service: str, zone_name: str,
                      vnet: network.VirtualNetwork) -> tuple[privatedns.PrivateZone, privatedns.VirtualNetworkLink]:
        """A private DNS zone the virtual network resolves (pods use Azure DNS through CoreDNS)."""
        zone = privatedns.PrivateZone(f"{self._name_prefix}-{service}", private_zone_name=zone_name,
                                      resource_group_name=self._group.name, location="global",
                                      tags=self._labels, opts=self._opts())
        link = privatedns.VirtualNetworkLink(
            f"{self._name_prefix}-{service}", private_zone_name=zone.name, resource_group_name=self._group.name,
            location="global", registration_enabled=False,
            virtual_network=privatedns.SubResourceArgs(id=vnet.id), tags=self._labels, opts=self._opts())
        return zone, link

    def _secrets_key(self, tenant_id: pulumi.Input[str], subscription_id: pulumi.Input[str],
                     cluster_principal: pulumi.Input[str]) -> tuple[keyvault.Key, authorization.RoleAssignment]:
        """The Key Vault key AKS encrypts Kubernetes Secrets with (KMS), usable by the cluster's identity only; the
        vault authorizes with Azure RBAC, keeps deleted keys 90 days and cannot be purged early."""
        name, cluster_name, group = self._name_prefix, self._cluster_name, self._group
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
            tags=self._labels,
            opts=self._opts(protect=self._production))
        key = keyvault.Key(
            f"{name}-secrets", key_name="kubernetes-secrets", vault_name=vault.name, resource_group_name=group.name,
            properties=keyvault.KeyPropertiesArgs(kty="RSA", key_size=2048, key_ops=["encrypt", "decrypt"]),
            tags=self._labels,
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
