"""Google Cloud values: pure functions of the settings (names, sizes, the APIs, the kubeconfig, IAM members, egress
rules), which the adapter and the tests share."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pulumi_gcp as gcp

from components.clouds import common
from components.clouds.gcp.settings import GcpSettings
from components.infrastructure import MANAGED_SERVICE_PORTS, Egress

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


def first_sql_cert(certs: Sequence[gcp.sql.outputs.DatabaseInstanceServerCaCert] | None) -> str:
    """The instance's server CA (Cloud SQL signs each instance's certificate with a CA of its own)."""
    if not certs or not certs[0].cert:
        raise ValueError("the Cloud SQL instance reports no server CA certificate")
    return certs[0].cert


def first_cert(certs: Sequence[gcp.redis.outputs.InstanceServerCaCert] | None) -> str:
    if not certs or not certs[0].cert:
        raise ValueError("the Memorystore instance reports no server CA certificate")
    return certs[0].cert


def service_account_member(email: str) -> str:
    return f"serviceAccount:{email}"
