"""`cloud: gcp`: a VPC with a regional subnet, private GKE with Workload Identity and Dataplane V2, Cloud SQL for
MySQL on private IP, optional Memorystore per instance, and one Cloud Storage bucket per instance.

Plain pulumi-gcp resources, so that unit tests see and assert every one of them. MongoDB runs in the cluster:
Google Cloud has no managed MongoDB (Firestore's MongoDB compatibility lacks what Open edX's modulestore uses).
Production defaults come from `openedx:environment`; every one can be overridden in `openedx:gcp`. The adapter
reads as its steps: APIs, network, cluster, Kubernetes, MySQL; caches and buckets are made per instance.
"""

from __future__ import annotations

import ipaddress
import math

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.clouds import common
from components.clouds.gcp.instances import TYPE, GcpCacheInputs, GcpInstanceInputs, GcpInstanceResources, exported
from components.clouds.gcp.settings import GcpSettings
from components.clouds.gcp.values import (
    CLOUD_PLATFORM_SCOPE,
    GKE_LOG_COMPONENTS,
    MYSQL_VERSION,
    NODE_ROLE,
    PODS_RANGE,
    SECRETS_KEY_ROTATION,
    SERVICES_RANGE,
    ZONES,
    egress_rules,
    first_sql_cert,
    gke_service_agent,
    kubeconfig,
    mysql_tier,
    required_apis,
    scoped_name,
    service_account_member,
)
from components.infrastructure import (
    InCluster,
    Infrastructure,
    ManagedCache,
    ManagedEndpoint,
)
from components.settings.stack import StackSettings


class GcpCloud(GcpInstanceResources):
    def __init__(self, name: str, stack: StackSettings, project: str, region: str,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, stack, opts)
        settings: GcpSettings = stack.gcp
        self._project = project
        self._region = region
        # Every Google Cloud resource, the instances' own included, names this provider.
        self._provider = gcp.Provider(f"{name}-provider", project=project, region=region,
                                      opts=common.provider_options(self))
        memorystore = settings.redis.service == "memorystore"
        self._prerequisites = self._apis(memorystore)
        self._network(settings)
        node_pool = self._cluster(settings)
        provider, access, storage_class, retain_storage_class = self._kubernetes(node_pool)
        mysql, database = self._mysql(settings)
        cache = GcpCacheInputs(network=self._vpc.id, reserved_range=self._private_services.name,
                               settings=settings.redis) if memorystore else None
        self._instances = GcpInstanceInputs(project=project, region=region, stack=pulumi.get_stack(), cache=cache)
        self._cache_after, self._identity_after = [self._peering], [self._gke]
        self.infrastructure = Infrastructure(
            provider=provider,
            kubeconfig=access,
            mysql=mysql,
            mongodb=InCluster(),  # Google Cloud has no managed MongoDB
            redis=ManagedCache(create=self.cache_for) if memorystore else InCluster(),
            storage_class=storage_class,
            retain_storage_class=retain_storage_class,
            object_storage=self.bucket_for,
            egress=egress_rules(settings),
            cluster_identifier=self._cluster_name,
            instance_inputs=exported(self._instances),
        )
        self.register_outputs({"clusterName": self._gke.name, "network": self._vpc.name,
                               "mysqlConnectionName": database.connection_name})

    def _apis(self, memorystore: bool) -> list[pulumi.Resource]:
        """Enabled once, never disabled on destroy: other workloads of the project may use the same APIs."""
        return [gcp.projects.Service(f"{self._name_prefix}-{api.split('.')[0]}", project=self._project, service=api,
                                     disable_on_destroy=False, disable_dependent_services=False,
                                     opts=pulumi.ResourceOptions(parent=self, provider=self._provider))
                for api in required_apis(memorystore)]

    def _network(self, settings: GcpSettings) -> None:
        """One regional subnet for the nodes, secondary ranges for pods and services, no public node IPs, Cloud NAT,
        and private services access for Cloud SQL and Memorystore."""
        name, cluster_name, child = self._name_prefix, self._cluster_name, self._opts()
        self._vpc = gcp.compute.Network(f"{name}-vpc", name=cluster_name, auto_create_subnetworks=False,
                                        routing_mode="REGIONAL", opts=child)
        self._subnet = gcp.compute.Subnetwork(
            f"{name}-nodes", name=f"{cluster_name}-nodes", network=self._vpc.id, region=self._region,
            ip_cidr_range=settings.subnet_cidr, private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=settings.pods_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE,
                                                           ip_cidr_range=settings.services_cidr)],
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_10_MIN", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA")
            if self._production else None,
            opts=child)
        router = gcp.compute.Router(f"{name}-router", name=f"{cluster_name}-router", network=self._vpc.id,
                                    region=self._region, opts=child)
        # Private nodes reach the internet (image registries, Let's Encrypt, SMTP) through Cloud NAT only.
        gcp.compute.RouterNat(
            f"{name}-nat", name=f"{cluster_name}-nat", router=router.name, region=self._region,
            nat_ip_allocate_option="AUTO_ONLY", source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[gcp.compute.RouterNatSubnetworkArgs(name=self._subnet.id,
                                                             source_ip_ranges_to_nats=["ALL_IP_RANGES"])],
            enable_dynamic_port_allocation=True, enable_endpoint_independent_mapping=False,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"), opts=child)
        # Private services access: Cloud SQL and Memorystore get addresses in a range of our choosing (static, so
        # the instances' egress NetworkPolicy can name it).
        services_range = ipaddress.ip_network(settings.private_services_cidr)
        self._private_services = gcp.compute.GlobalAddress(
            f"{name}-private-services", name=f"{cluster_name}-private-services", purpose="VPC_PEERING",
            address_type="INTERNAL", address=str(services_range.network_address),
            prefix_length=services_range.prefixlen, network=self._vpc.id, labels=self._labels, opts=child)
        # ABANDON: the peering outlives the services on destroy; deleting it first fails while they exist.
        self._peering = gcp.servicenetworking.Connection(
            f"{name}-private-services", network=self._vpc.id, service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[self._private_services.name], deletion_policy="ABANDON", opts=child)

    def _cluster(self, settings: GcpSettings) -> gcp.container.NodePool:
        """Regional GKE: private nodes, Workload Identity, Dataplane V2 (enforces NetworkPolicies), shielded nodes
        running as a least-privileged account, Secrets encrypted with a key of ours; its autoscaled node pool."""
        name, cluster_name, child = self._name_prefix, self._cluster_name, self._opts()
        node_account = gcp.serviceaccount.Account(
            f"{name}-nodes", project=self._project,
            account_id=scoped_name("gke-nodes", 30, pulumi.get_stack(), name),
            display_name=f"GKE nodes of {cluster_name}", opts=child)
        node_role = gcp.projects.IAMMember(
            f"{name}-nodes", project=self._project, role=NODE_ROLE,
            member=node_account.email.apply(service_account_member), opts=child)
        secrets_key = self._secrets_key()
        shielded = {"enable_secure_boot": True, "enable_integrity_monitoring": True}
        cidrs = settings.master_authorized_cidrs or ()
        self._gke = gcp.container.Cluster(
            f"{name}-gke",
            name=cluster_name,
            location=self._region,
            network=self._vpc.id,
            subnetwork=self._subnet.id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=PODS_RANGE, services_secondary_range_name=SERVICES_RANGE),
            datapath_provider="ADVANCED_DATAPATH",
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True, enable_private_endpoint=not cidrs,
                master_ipv4_cidr_block=settings.master_cidr),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block=cidr, display_name=f"authorized-{index}") for index, cidr in enumerate(cidrs)],
                gcp_public_cidrs_access_enabled=False),
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                    issue_client_certificate=False)),
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=settings.release_channel),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{self._project}.svc.id.goog"),
            enable_shielded_nodes=True,
            # Kubernetes Secrets envelope-encrypted with a key of ours (CIS GKE 5.3.1), on top of Google's at rest.
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED",
                                                                          key_name=secrets_key.id),
            enable_legacy_abac=False,
            logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=GKE_LOG_COMPONENTS),
            # The default pool only bootstraps the cluster; even it runs as the least-privileged node account.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=node_account.email, oauth_scopes=[CLOUD_PLATFORM_SCOPE],
                shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(**shielded),
                workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA")),
            deletion_protection=self._defaults.deletion_protection,
            resource_labels=self._labels,
            opts=self._opts(protect=self._production, depends_on=[node_role, self._peering, self._secrets_grant],
                            ignore_changes=["nodeConfig", "initialNodeCount"]),
        )
        pool = settings.node_pool
        return gcp.container.NodePool(
            f"{name}-nodes",
            cluster=self._gke.name,
            location=self._region,
            initial_node_count=math.ceil(pool.min_nodes / ZONES),  # per zone
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool.min_nodes, total_max_node_count=pool.max_nodes, location_policy="BALANCED"),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=pool.machine_type, disk_size_gb=pool.disk_size_gb, disk_type="pd-balanced",
                image_type="COS_CONTAINERD", service_account=node_account.email, oauth_scopes=[CLOUD_PLATFORM_SCOPE],
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(**shielded),
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"),
                metadata={"disable-legacy-endpoints": "true"},
                resource_labels=self._labels),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(strategy="SURGE", max_surge=1,
                                                                       max_unavailable=0),
            # The node count belongs to the cluster autoscaler once running.
            opts=self._opts(ignore_changes=["initialNodeCount"]),
        )

    def _secrets_key(self) -> gcp.kms.CryptoKey:
        """The Cloud KMS key GKE encrypts Kubernetes Secrets with, rotated every 90 days, usable by GKE's service
        agent only. Key rings cannot be deleted (destroy forgets it); the key is kept in production."""
        name = self._name_prefix
        ring = gcp.kms.KeyRing(f"{name}-secrets", name=f"{self._cluster_name}-secrets", location=self._region,
                               opts=self._opts(retain_on_delete=True))
        key = gcp.kms.CryptoKey(f"{name}-secrets", name="kubernetes-secrets", key_ring=ring.id,
                                purpose="ENCRYPT_DECRYPT", rotation_period=SECRETS_KEY_ROTATION, labels=self._labels,
                                opts=self._opts(protect=self._production, retain_on_delete=self._production))
        project = gcp.organizations.get_project_output(
            project_id=self._project, opts=pulumi.InvokeOutputOptions(provider=self._provider, parent=self))
        self._secrets_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-secrets-gke", crypto_key_id=key.id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=project.number.apply(gke_service_agent), opts=self._opts())
        return key

    def _kubernetes(self, node_pool: gcp.container.NodePool) -> tuple[k8s.Provider, pulumi.Output[str], str, str]:
        """The cluster's Kubernetes provider and kubeconfig (through `gke-gcloud-auth-plugin`), and its StorageClasses
        (GKE encrypts every persistent disk at rest with Google-managed keys)."""
        cluster_name = self._cluster_name
        access: pulumi.Output[str] = pulumi.Output.all(
            self._gke.endpoint, self._gke.master_auth.cluster_ca_certificate
        ).apply(lambda a: kubeconfig(cluster_name, a[0], a[1]))
        provider = common.cluster_provider(self._name_prefix, access, cluster_name, self, depends_on=[node_pool])
        storage_class, retain_storage_class = common.storage_classes(
            self._name_prefix, "pd.csi.storage.gke.io", {"type": "pd-balanced"}, provider, self,
            depends_on=[node_pool])
        return provider, access, storage_class, retain_storage_class

    def _mysql(self, settings: GcpSettings) -> tuple[ManagedEndpoint, gcp.sql.DatabaseInstance]:
        """One Cloud SQL server per stack, private IP only, TLS required, verified against its own CA."""
        name, defaults = self._name_prefix, self._defaults
        mysql = settings.mysql
        retention = common.pick(mysql.backup_retention_days, defaults.backup_retention_days)
        deletion_protection = common.pick(mysql.deletion_protection, defaults.deletion_protection)
        # Nobody uses root; it gets a generated password so that it never exists without one.
        root_password = random.RandomPassword(f"{name}-mysql-root", length=40, special=False,
                                              opts=pulumi.ResourceOptions(parent=self)).result
        database = gcp.sql.DatabaseInstance(
            f"{name}-mysql",
            database_version=MYSQL_VERSION,
            region=self._region,
            root_password=root_password,
            deletion_protection=deletion_protection,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=mysql.tier or mysql_tier(self._production, mysql.edition),
                edition=mysql.edition,
                availability_type="REGIONAL" if common.pick(mysql.high_availability, defaults.high_availability)
                else "ZONAL",
                disk_type="PD_SSD",
                disk_size=mysql.disk_size_gb,
                disk_autoresize=True,
                deletion_protection_enabled=deletion_protection,
                retain_backups_on_delete=deletion_protection,
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False, private_network=self._vpc.id,
                    allocated_ip_range=self._private_services.name,
                    ssl_mode="ENCRYPTED_ONLY", enable_private_path_for_google_cloud_services=False),
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True, binary_log_enabled=True, start_time="02:00",
                    transaction_log_retention_days=min(retention, 7),
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=retention, retention_unit="COUNT")),
                database_flags=[gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs(name=flag, value=value)
                                for flag, value in common.MYSQL_UTF8MB4.items()],
                maintenance_window=gcp.sql.DatabaseInstanceSettingsMaintenanceWindowArgs(
                    day=7, hour=3, update_track="stable"),
                insights_config=gcp.sql.DatabaseInstanceSettingsInsightsConfigArgs(query_insights_enabled=True),
                user_labels=self._labels,
            ),
            opts=self._opts(protect=self._production, depends_on=[self._peering]),
        )
        admin_password = common.admin_password(name, self)
        # The provisioning Job's admin (cloudsqlsuperuser); instance users are created by the Job, not here.
        admin = gcp.sql.User(f"{name}-mysql-admin", instance=database.name, name=common.ADMIN_USERNAME, host="%",
                             password=admin_password, opts=self._opts())
        endpoint = ManagedEndpoint(host=database.private_ip_address, port=3306, tls=True,
                                   admin_username=admin.name, admin_password=admin_password,
                                   ca_certificate=database.server_ca_certs.apply(first_sql_cert))
        return endpoint, database
