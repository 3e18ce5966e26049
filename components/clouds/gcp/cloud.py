"""`cloud: gcp`: a VPC with a regional subnet, private GKE with Workload Identity and Dataplane V2, Cloud SQL for
MySQL on private IP, optional Memorystore per instance, and one Cloud Storage bucket per instance.

Plain pulumi-gcp resources, so that unit tests see and assert every one of them. MongoDB runs in the cluster:
Google Cloud has no managed MongoDB (Firestore's MongoDB compatibility lacks what Open edX's modulestore uses).
Production defaults come from `openedx:environment`; every one can be overridden in `openedx:gcp`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.clouds import common
from components.clouds.gcp.settings import GcpSettings
from components.infrastructure import (
    MANAGED_SERVICE_PORTS,
    CacheEndpoint,
    Egress,
    GcsBucket,
    InCluster,
    Infrastructure,
    InstanceStorage,
    ManagedCache,
    ManagedEndpoint,
)
from components.settings.stack import StackSettings

ZONES = 3  # a regional cluster's node pools span the region's (default) three zones
PODS_RANGE = "pods"
SERVICES_RANGE = "services"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"  # what nodes may do is IAM's to decide
NODE_ROLE = "roles/container.defaultNodeServiceAccount"  # logs and metrics only, instead of the default's Editor
GKE_LOG_COMPONENTS = ["SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER"]
MYSQL_VERSION = "MYSQL_8_4"
REDIS_VERSION = "REDIS_7_2"
REDIS_CONFIG = {"maxmemory-policy": "volatile-lru"}  # never evict queued Celery tasks (they carry no TTL)
METADATA_SERVER = (Egress("169.254.169.254/32", (80,)), Egress("169.254.169.252/32", (988,)))
"""The GKE metadata server Workload Identity tokens come from (on Dataplane V2 also reached on .252:988)."""
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
SECRETS_KEY_ROTATION = f"{90 * 24 * 3600}s"
BUCKET_CORS_HEADERS = ["Content-Type", "Content-Length", "Content-MD5", "Content-Disposition", "ETag",
                       "x-goog-resumable"]


def required_apis(memorystore: bool) -> list[str]:
    """The Google APIs the adapter uses (IAM Credentials: signBlob, for signed URLs under Workload Identity)."""
    apis = ["compute", "container", "sqladmin", "servicenetworking", "iam", "iamcredentials", "storage",
            "cloudresourcemanager", "cloudkms"]
    return [f"{api}.googleapis.com" for api in apis + (["redis"] if memorystore else [])]


# --- pure helpers ------------------------------------------------------------------------------------------------


def scoped_name(base: str, limit: int, *seed: str) -> str:
    """`base`, cut to leave room for a digest of `seed` (stack, instance): names that must be unique in a project
    (or globally, for buckets) and short (service accounts: 30, Memorystore: 40), and the same on every run."""
    digest = hashlib.sha1("\x00".join(seed).encode()).hexdigest()[:8]
    return f"{base[:limit - len(digest) - 1].rstrip('-')}-{digest}"


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig whose user runs `gke-gcloud-auth-plugin` (needs gcloud and the plugin where `pulumi up` runs)."""
    return common.exec_kubeconfig(
        cluster_name, f"https://{endpoint}", ca_data, "gke-gcloud-auth-plugin", provide_cluster_info=True,
        install_hint="Install the plugin: gcloud components install gke-gcloud-auth-plugin "
                     "(https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl)")


def mysql_tier(production: bool, edition: str) -> str:
    if edition == "ENTERPRISE_PLUS":
        return "db-perf-optimized-N-4" if production else "db-perf-optimized-N-2"
    return "db-custom-2-8192" if production else "db-custom-1-3840"


def gke_service_agent(project_number: str) -> str:
    """GKE's own service account in the project: it encrypts and decrypts Secrets with our key."""
    return f"serviceAccount:service-{project_number}@container-engine-robot.iam.gserviceaccount.com"


def workload_identity_member(project: str, namespace: str, service_account: str) -> str:
    """The instance's Kubernetes ServiceAccount, as an IAM principal of the project's workload identity pool."""
    return f"serviceAccount:{project}.svc.id.goog[{namespace}/{service_account}]"


def egress_rules(settings: GcpSettings) -> tuple[Egress, ...]:
    """The nodes' subnet and the private services range (Cloud SQL, Memorystore), and the metadata server."""
    return (Egress(settings.subnet_cidr, MANAGED_SERVICE_PORTS),
            Egress(settings.private_services_cidr, MANAGED_SERVICE_PORTS), *METADATA_SERVER)


def _first_sql_cert(certs: Sequence[gcp.sql.outputs.DatabaseInstanceServerCaCert] | None) -> str:
    """The instance's server CA (Cloud SQL signs each instance's certificate with a CA of its own)."""
    if not certs or not certs[0].cert:
        raise ValueError("the Cloud SQL instance reports no server CA certificate")
    return certs[0].cert


def _first_cert(certs: Sequence[gcp.redis.outputs.InstanceServerCaCert] | None) -> str:
    if not certs or not certs[0].cert:
        raise ValueError("the Memorystore instance reports no server CA certificate")
    return certs[0].cert


def _service_account_member(email: str) -> str:
    return f"serviceAccount:{email}"


# --- the component -----------------------------------------------------------------------------------------------


class GcpCloud(pulumi.ComponentResource):
    infrastructure: Infrastructure

    def __init__(self, name: str, stack: StackSettings, project: str, region: str,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("openedx:clouds:GcpCloud", name, None, opts)
        settings: GcpSettings = stack.gcp
        defaults = common.environment_defaults(stack.production)
        self._settings = settings
        self._defaults = defaults
        self._production = stack.production
        self._project = project
        self._region = region
        self._labels = common.resource_labels()
        cluster_name = common.cluster_name(name)
        self._cluster_name = cluster_name
        # Default providers are disabled: every Google Cloud resource, the instances' own included, names this one.
        self._gcp = gcp.Provider(f"{name}-provider", project=project, region=region,
                                 opts=pulumi.ResourceOptions(parent=self))
        memorystore = settings.redis.service == "memorystore"
        # Enabled once, never disabled on destroy: other workloads of the project may use the same APIs.
        self._apis: list[pulumi.Resource] = [
            gcp.projects.Service(f"{name}-{api.split('.')[0]}", project=project, service=api,
                                 disable_on_destroy=False, disable_dependent_services=False,
                                 opts=pulumi.ResourceOptions(parent=self, provider=self._gcp))
            for api in required_apis(memorystore)]
        child = self._opts()

        # Network: one regional subnet for the nodes, secondary ranges for pods and services, no public node IPs.
        network = gcp.compute.Network(f"{name}-vpc", name=cluster_name, auto_create_subnetworks=False,
                                      routing_mode="REGIONAL", opts=child)
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes", name=f"{cluster_name}-nodes", network=network.id, region=region,
            ip_cidr_range=settings.subnet_cidr, private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=settings.pods_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE,
                                                           ip_cidr_range=settings.services_cidr)],
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_10_MIN", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA")
            if stack.production else None,
            opts=child)
        router = gcp.compute.Router(f"{name}-router", name=f"{cluster_name}-router", network=network.id,
                                    region=region, opts=child)
        # Private nodes reach the internet (image registries, Let's Encrypt, SMTP) through Cloud NAT only.
        gcp.compute.RouterNat(
            f"{name}-nat", name=f"{cluster_name}-nat", router=router.name, region=region,
            nat_ip_allocate_option="AUTO_ONLY", source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[gcp.compute.RouterNatSubnetworkArgs(name=subnet.id,
                                                             source_ip_ranges_to_nats=["ALL_IP_RANGES"])],
            enable_dynamic_port_allocation=True, enable_endpoint_independent_mapping=False,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"), opts=child)
        # Private services access: Cloud SQL and Memorystore get addresses in a range of our choosing (static, so
        # the instances' egress NetworkPolicy can name it).
        services_range = ipaddress.ip_network(settings.private_services_cidr)
        self._network = network
        self._private_services = gcp.compute.GlobalAddress(
            f"{name}-private-services", name=f"{cluster_name}-private-services", purpose="VPC_PEERING",
            address_type="INTERNAL", address=str(services_range.network_address),
            prefix_length=services_range.prefixlen, network=network.id, labels=self._labels, opts=child)
        # ABANDON: the peering outlives the services on destroy; deleting it first fails while they exist.
        self._peering = gcp.servicenetworking.Connection(
            f"{name}-private-services", network=network.id, service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[self._private_services.name], deletion_policy="ABANDON", opts=child)

        # GKE: regional, private nodes, Workload Identity, Dataplane V2 (enforces NetworkPolicies), shielded nodes.
        node_account = gcp.serviceaccount.Account(
            f"{name}-nodes", project=project, account_id=scoped_name("gke-nodes", 30, pulumi.get_stack(), name),
            display_name=f"GKE nodes of {cluster_name}", opts=child)
        node_role = gcp.projects.IAMMember(
            f"{name}-nodes", project=project, role=NODE_ROLE,
            member=node_account.email.apply(_service_account_member), opts=child)
        secrets_key = self._secrets_key(name, stack.production)
        shielded = {"enable_secure_boot": True, "enable_integrity_monitoring": True}
        cidrs = settings.master_authorized_cidrs or ()
        cluster = gcp.container.Cluster(
            f"{name}-gke",
            name=cluster_name,
            location=region,
            network=network.id,
            subnetwork=subnet.id,
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
                workload_pool=f"{project}.svc.id.goog"),
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
            deletion_protection=defaults.deletion_protection,
            resource_labels=self._labels,
            opts=self._opts(protect=stack.production, depends_on=[node_role, self._peering, self._secrets_grant],
                            ignore_changes=["nodeConfig", "initialNodeCount"]),
        )
        self._cluster = cluster
        pool = settings.node_pool
        node_pool = gcp.container.NodePool(
            f"{name}-nodes",
            cluster=cluster.name,
            location=region,
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

        access: pulumi.Output[str] = pulumi.Output.all(
            cluster.endpoint, cluster.master_auth.cluster_ca_certificate
        ).apply(lambda a: kubeconfig(cluster_name, a[0], a[1]))
        provider = common.cluster_provider(name, access, cluster_name, self, depends_on=[node_pool])
        # GKE encrypts every persistent disk at rest (Google-managed keys).
        storage_class, retain_storage_class = common.storage_classes(
            name, "pd.csi.storage.gke.io", {"type": "pd-balanced"}, provider, self, depends_on=[node_pool])

        # MySQL: one Cloud SQL server per stack, private IP only, TLS required.
        mysql = settings.mysql
        highly_available = common.pick(mysql.high_availability, defaults.high_availability)
        retention = common.pick(mysql.backup_retention_days, defaults.backup_retention_days)
        deletion_protection = common.pick(mysql.deletion_protection, defaults.deletion_protection)
        # Nobody uses root; it gets a generated password so that it never exists without one.
        root_password = random.RandomPassword(f"{name}-mysql-root", length=40, special=False,
                                              opts=pulumi.ResourceOptions(parent=self)).result
        database = gcp.sql.DatabaseInstance(
            f"{name}-mysql",
            database_version=MYSQL_VERSION,
            region=region,
            root_password=root_password,
            deletion_protection=deletion_protection,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=mysql.tier or mysql_tier(stack.production, mysql.edition),
                edition=mysql.edition,
                availability_type="REGIONAL" if highly_available else "ZONAL",
                disk_type="PD_SSD",
                disk_size=mysql.disk_size_gb,
                disk_autoresize=True,
                deletion_protection_enabled=deletion_protection,
                retain_backups_on_delete=deletion_protection,
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False, private_network=network.id, allocated_ip_range=self._private_services.name,
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
            opts=self._opts(protect=stack.production, depends_on=[self._peering]),
        )
        admin_password = common.admin_password(name, self)
        # The provisioning Job's admin (cloudsqlsuperuser); instance users are created by the Job, not here.
        admin = gcp.sql.User(f"{name}-mysql-admin", instance=database.name, name=common.ADMIN_USERNAME, host="%",
                             password=admin_password, opts=child)
        mysql_endpoint = ManagedEndpoint(host=database.private_ip_address, port=3306, tls=True,
                                         admin_username=admin.name, admin_password=admin_password,
                                         ca_certificate=database.server_ca_certs.apply(_first_sql_cert))

        self.infrastructure = Infrastructure(
            provider=provider,
            mysql=mysql_endpoint,
            mongodb=InCluster(),  # Google Cloud has no managed MongoDB
            redis=ManagedCache(create=self.cache_for) if memorystore else InCluster(),
            storage_class=storage_class,
            retain_storage_class=retain_storage_class,
            object_storage=self.bucket_for,
            egress=egress_rules(settings),
        )
        self.register_outputs({"clusterName": cluster.name, "network": network.name,
                               "mysqlConnectionName": database.connection_name})

    def _opts(self, parent: pulumi.Resource | None = None, protect: bool = False,
              depends_on: Sequence[pulumi.Resource] = (), ignore_changes: Sequence[str] = (),
              retain_on_delete: bool = False) -> pulumi.ResourceOptions:
        """Every Google Cloud resource: the stack's provider, after the APIs it needs are enabled."""
        return pulumi.ResourceOptions(parent=parent or self, provider=self._gcp, protect=protect,
                                      depends_on=[*self._apis, *depends_on],
                                      ignore_changes=list(ignore_changes) or None,
                                      retain_on_delete=retain_on_delete)

    def _secrets_key(self, name: str, production: bool) -> gcp.kms.CryptoKey:
        """The Cloud KMS key GKE encrypts Kubernetes Secrets with, rotated every 90 days, usable by GKE's service
        agent only. Key rings cannot be deleted (destroy forgets it); the key is kept in production."""
        ring = gcp.kms.KeyRing(f"{name}-secrets", name=f"{self._cluster_name}-secrets", location=self._region,
                               opts=self._opts(retain_on_delete=True))
        key = gcp.kms.CryptoKey(f"{name}-secrets", name="kubernetes-secrets", key_ring=ring.id,
                                purpose="ENCRYPT_DECRYPT", rotation_period=SECRETS_KEY_ROTATION, labels=self._labels,
                                opts=self._opts(protect=production, retain_on_delete=production))
        project = gcp.organizations.get_project_output(
            project_id=self._project, opts=pulumi.InvokeOutputOptions(provider=self._gcp, parent=self))
        self._secrets_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-secrets-gke", crypto_key_id=key.id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=project.number.apply(gke_service_agent), opts=self._opts())
        return key

    def cache_for(self, instance: str, parent: pulumi.Resource) -> CacheEndpoint:
        """The instance's own Memorystore: private services access only, AUTH, TLS (server authentication)."""
        redis = self._settings.redis
        highly_available = common.pick(redis.high_availability, self._defaults.high_availability)
        cache = gcp.redis.Instance(
            f"{instance}-redis",
            name=scoped_name(f"openedx-{instance}", 40, pulumi.get_stack(), instance),
            region=self._region,
            tier="STANDARD_HA" if highly_available else "BASIC",
            memory_size_gb=redis.memory_size_gb,
            redis_version=REDIS_VERSION,
            redis_configs=REDIS_CONFIG,
            authorized_network=self._network.id,
            connect_mode="PRIVATE_SERVICE_ACCESS",
            reserved_ip_range=self._private_services.name,
            auth_enabled=True,
            transit_encryption_mode="SERVER_AUTHENTICATION",
            # A cache: removing an instance removes it (no deletion protection, nothing protected).
            deletion_protection=False,
            labels={**self._labels, "openedx-instance": instance},
            opts=self._opts(parent=parent, depends_on=[self._peering]),
        )
        return CacheEndpoint(
            host=cache.host,
            port=cache.port,
            password=pulumi.Output.secret(cache.auth_string),  # AUTH with the string alone (no ACL user)
            ca_certificate=cache.server_ca_certs.apply(_first_cert),
        )

    def bucket_for(self, instance: str, namespace: str, service_account: str, hosts: Sequence[str],
                   parent: pulumi.Resource) -> InstanceStorage:
        """The instance's private bucket and the Google service account only its Kubernetes ServiceAccount may
        act as (Workload Identity): no keys anywhere."""
        opts = self._opts(parent=parent)
        stack = pulumi.get_stack()
        bucket = gcp.storage.Bucket(
            f"{instance}-media",
            name=scoped_name(f"openedx-{instance}", 63, self._project, stack, instance),
            location=self._region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            cors=[gcp.storage.BucketCorArgs(origins=[f"https://{host}" for host in hosts],
                                            methods=["GET", "PUT", "POST", "HEAD"],
                                            response_headers=BUCKET_CORS_HEADERS, max_age_seconds=3600)],
            force_destroy=not self._production,
            labels={**self._labels, "openedx-instance": instance},
            opts=self._opts(parent=parent, retain_on_delete=self._production),
        )
        account = gcp.serviceaccount.Account(
            f"{instance}-pods", project=self._project, account_id=scoped_name(f"oe-{instance}", 30, stack, instance),
            display_name=f"Open edX {instance} ({stack})", opts=opts)
        member = account.email.apply(_service_account_member)
        gcp.storage.BucketIAMMember(f"{instance}-media-access", bucket=bucket.name, role="roles/storage.objectAdmin",
                                    member=member, opts=opts)
        gcp.serviceaccount.IAMMember(
            f"{instance}-workload-identity", service_account_id=account.name, role="roles/iam.workloadIdentityUser",
            member=workload_identity_member(self._project, namespace, service_account),
            # The workload identity pool exists once the cluster does.
            opts=self._opts(parent=parent, depends_on=[self._cluster]))
        # Signed URLs without a key: the account signs with IAM signBlob, on itself only.
        gcp.serviceaccount.IAMMember(f"{instance}-sign-blob", service_account_id=account.name,
                                     role="roles/iam.serviceAccountTokenCreator", member=member, opts=opts)
        return InstanceStorage(
            bucket=bucket.name,
            service=GcsBucket(project=self._project, signer_email=account.email),
            service_account_annotations={WORKLOAD_IDENTITY_ANNOTATION: account.email},
        )

