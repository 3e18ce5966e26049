"""The Google Cloud adapter under mocks, for both example stacks: the security properties of every Google Cloud
resource by environment, identity scoped per instance, every Kubernetes resource on the GKE provider."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
import yaml

from components.clouds.gcp.values import required_apis, scoped_name
from components.infrastructure import MANAGED_SERVICE_PORTS
from components.settings.model import ConfigError
from components.settings.stack import load
from offline.evaluation import PROJECT_DIR, cli_config, evaluate
from offline.gcp import MOCK_GCP_PROJECT_NUMBER
from offline.recording import Recording
from tests.conftest import (
    ExampleStacks,
    assert_admin_credential_confined,
    inputs,
    instances,
    named,
    of_type,
    one,
    provisioning,
)

STACKS = {"dev": PROJECT_DIR / "stacks/Pulumi.gcp-dev.yaml",
          "production": PROJECT_DIR / "stacks/Pulumi.gcp-production.yaml"}
CONFIG = {environment: yaml.safe_load(path.read_text())["config"] for environment, path in STACKS.items()}


@pytest.fixture(params=sorted(STACKS))
def stack(request, example_stacks: ExampleStacks) -> tuple[str, Recording]:
    return request.param, example_stacks[STACKS[request.param]].recording


def gcp_config(environment: str, key: str) -> Any:
    return CONFIG[environment][f"gcp:{key}"]


def test_every_resource_uses_the_stack_providers(stack) -> None:
    environment, recording = stack
    gcp_provider = one(recording, "pulumi:providers:gcp")
    assert inputs(gcp_provider)["project"] == gcp_config(environment, "project")
    assert inputs(gcp_provider)["region"] == gcp_config(environment, "region")
    gke_provider = one(recording, "pulumi:providers:kubernetes")
    assert inputs(gke_provider)["clusterIdentifier"] == f"gcp-gcp-{environment}"
    config = json.loads(inputs(gke_provider)["kubeconfig"])
    exec_config = config["users"][0]["user"]["exec"]
    assert exec_config["command"] == "gke-gcloud-auth-plugin" and exec_config["provideClusterInfo"] is True
    cluster = one(recording, "gcp:container/cluster:Cluster").outputs
    assert config["clusters"][0]["cluster"] == {
        "server": f"https://{cluster['endpoint']}",
        "certificate-authority-data": cluster["masterAuth"]["clusterCaCertificate"]}
    assert "token" not in json.dumps(config["users"])
    gcp_resources = [r for r in recording.resources.values() if r.type.startswith("gcp:")]
    assert gcp_resources
    for r in gcp_resources:
        assert r.provider.startswith(gcp_provider.urn + "::"), r.urn
    for r in recording.resources.values():
        if r.type.startswith("kubernetes:"):
            assert r.provider.startswith(gke_provider.urn + "::"), r.urn


def test_apis_are_enabled_first_and_never_disabled(stack) -> None:
    environment, recording = stack
    services = of_type(recording, "gcp:projects/service:Service")
    assert {inputs(s)["service"] for s in services} == set(required_apis(environment == "production"))
    assert "redis.googleapis.com" in required_apis(True) and "iamcredentials.googleapis.com" in required_apis(False)
    for service in services:
        assert inputs(service)["disableOnDestroy"] is False
        assert inputs(service)["disableDependentServices"] is False
    service_urns = {s.urn for s in services}
    for type_ in ("gcp:compute/network:Network", "gcp:container/cluster:Cluster",
                  "gcp:sql/databaseInstance:DatabaseInstance", "gcp:storage/bucket:Bucket"):
        for r in of_type(recording, type_):
            assert service_urns <= set(r.depends_on), r.urn


def test_network_is_a_vpc_with_private_google_access_and_cloud_nat(stack) -> None:
    environment, recording = stack
    network = inputs(one(recording, "gcp:compute/network:Network"))
    assert network["autoCreateSubnetworks"] is False
    subnet = one(recording, "gcp:compute/subnetwork:Subnetwork")
    spec = inputs(subnet)
    assert spec["privateIpGoogleAccess"] is True
    assert spec["region"] == gcp_config(environment, "region")
    assert spec["ipCidrRange"] == "10.0.0.0/20"
    assert {r["rangeName"]: r["ipCidrRange"] for r in spec["secondaryIpRanges"]} == {
        "pods": "10.4.0.0/14", "services": "10.8.0.0/20"}
    assert ("logConfig" in spec) is (environment == "production")  # flow logs
    nat = inputs(one(recording, "gcp:compute/routerNat:RouterNat"))
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    assert nat["subnetworks"] == [{"name": subnet.id, "sourceIpRangesToNats": ["ALL_IP_RANGES"]}]
    peering_range = inputs(one(recording, "gcp:compute/globalAddress:GlobalAddress"))
    assert (peering_range["purpose"], peering_range["addressType"]) == ("VPC_PEERING", "INTERNAL")
    assert f"{peering_range['address']}/{peering_range['prefixLength']}" == "10.64.0.0/16"
    connection = inputs(one(recording, "gcp:servicenetworking/connection:Connection"))
    assert connection["service"] == "servicenetworking.googleapis.com"
    assert connection["reservedPeeringRanges"] == [peering_range["name"]]


def test_gke_is_regional_private_and_workload_identity_enabled(stack) -> None:
    environment, recording = stack
    production = environment == "production"
    cluster = one(recording, "gcp:container/cluster:Cluster")
    spec = inputs(cluster)
    project = gcp_config(environment, "project")
    assert spec["location"] == gcp_config(environment, "region")  # a region, not a zone: regional control plane
    assert spec["networkingMode"] == "VPC_NATIVE"
    assert spec["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"}
    assert spec["datapathProvider"] == "ADVANCED_DATAPATH"  # Dataplane V2: NetworkPolicies are enforced
    assert "networkPolicy" not in spec
    private = spec["privateClusterConfig"]
    assert private["enablePrivateNodes"] is True and private["enablePrivateEndpoint"] is False
    assert private["masterIpv4CidrBlock"] == "172.16.0.0/28"
    authorized = spec["masterAuthorizedNetworksConfig"]
    assert [b["cidrBlock"] for b in authorized["cidrBlocks"]] == ["203.0.113.0/24"]
    assert authorized["gcpPublicCidrsAccessEnabled"] is False
    assert spec["masterAuth"]["clientCertificateConfig"]["issueClientCertificate"] is False
    assert spec["releaseChannel"]["channel"] == ("STABLE" if production else "REGULAR")
    assert spec["workloadIdentityConfig"]["workloadPool"] == f"{project}.svc.id.goog"
    assert spec["enableShieldedNodes"] is True and spec["enableLegacyAbac"] is False
    assert spec["removeDefaultNodePool"] is True
    assert spec["nodeConfig"]["workloadMetadataConfig"]["mode"] == "GKE_METADATA"
    assert spec["deletionProtection"] is production
    assert cluster.protect is production
    assert {"APISERVER", "WORKLOADS"} <= set(spec["loggingConfig"]["enableComponents"])
    assert spec["resourceLabels"] == {"openedx-stack": f"gcp-{environment}", "managed-by": "pulumi"}


def test_kubernetes_secrets_are_encrypted_with_a_rotated_key_only_gke_may_use(stack) -> None:
    environment, recording = stack
    key = one(recording, "gcp:kms/cryptoKey:CryptoKey")
    cluster = one(recording, "gcp:container/cluster:Cluster")
    assert inputs(cluster)["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key.id}
    assert inputs(key)["purpose"] == "ENCRYPT_DECRYPT" and inputs(key)["rotationPeriod"] == "7776000s"
    assert key.protect is (environment == "production")
    assert one(recording, "gcp:kms/keyRing:KeyRing").retain_on_delete  # key rings cannot be deleted
    (grant,) = of_type(recording, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert inputs(grant)["cryptoKeyId"] == key.id
    assert inputs(grant)["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    agent = f"service-{MOCK_GCP_PROJECT_NUMBER}@container-engine-robot.iam.gserviceaccount.com"
    assert inputs(grant)["member"] == f"serviceAccount:{agent}"
    assert grant.urn in cluster.depends_on


def test_node_pool_is_autoscaled_shielded_and_runs_as_a_least_privileged_account(stack) -> None:
    environment, recording = stack
    pool = inputs(one(recording, "gcp:container/nodePool:NodePool"))
    configured = CONFIG[environment]["openedx:gcp"]["nodePool"]
    assert pool["autoscaling"]["totalMinNodeCount"] == configured["minNodes"]
    assert pool["autoscaling"]["totalMaxNodeCount"] == configured["maxNodes"]
    node = pool["nodeConfig"]
    assert node["machineType"] == configured["machineType"]
    assert node["diskSizeGb"] == configured.get("diskSizeGb", 100)
    assert node["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert node["workloadMetadataConfig"]["mode"] == "GKE_METADATA"
    assert node["metadata"]["disable-legacy-endpoints"] == "true"
    assert pool["management"] == {"autoRepair": True, "autoUpgrade": True}
    account = named(recording, "gcp:serviceaccount/account:Account", "gcp-nodes").outputs
    assert node["serviceAccount"] == account["email"]
    (role,) = of_type(recording, "gcp:projects/iAMMember:IAMMember")  # the only project-wide grant
    assert inputs(role)["role"] == "roles/container.defaultNodeServiceAccount"
    assert inputs(role)["member"] == f"serviceAccount:{account['email']}"
    assert not [r for r in recording.resources.values() if r.type == "gcp:serviceaccount/key:Key"]


def test_node_pool_autoscales_over_the_region_within_the_configured_totals(stack) -> None:
    """A regional pool: the bounds are totals over its zones (total*), not per zone (min/maxNodeCount, which GKE
    would multiply by the zone count), and its zones grow evenly."""
    environment, recording = stack
    pool = one(recording, "gcp:container/nodePool:NodePool")
    autoscaling = inputs(pool)["autoscaling"]
    assert autoscaling == {"totalMinNodeCount": 3, "totalMaxNodeCount": 6 if environment == "dev" else 12,
                           "locationPolicy": "BALANCED"}
    assert inputs(pool)["location"] == "europe-west1"
    assert inputs(pool)["initialNodeCount"] == 1  # per zone: three nodes, the minimum
    assert pool.ignore_changes == ["initialNodeCount"]


def test_node_pool_bounds_are_checked_naming_the_key() -> None:
    assert _problems({"masterAuthorizedCidrs": [], "nodePool": {"minNodes": 4, "maxNodes": 4}}) == []
    assert _problems({"masterAuthorizedCidrs": [], "nodePool": {"minNodes": 6, "maxNodes": 3}}) == [
        "openedx:gcp.nodePool: minNodes (6) is greater than maxNodes (3)"]
    assert _problems({"masterAuthorizedCidrs": [], "nodePool": {"minNodes": 10}}) == [  # default maximum: 9
        "openedx:gcp.nodePool: minNodes (10) is greater than maxNodes (9)"]


def test_storage_classes_are_pd_balanced_with_a_retain_class(stack) -> None:
    _, recording = stack
    classes = {inputs(c)["metadata"]["name"]: inputs(c) for c in of_type(
        recording, "kubernetes:storage.k8s.io/v1:StorageClass")}
    assert {c["provisioner"] for c in classes.values()} == {"pd.csi.storage.gke.io"}
    assert classes["openedx"]["parameters"] == {"type": "pd-balanced"}
    assert classes["openedx-retain"]["reclaimPolicy"] == "Retain"


def test_cloud_sql_is_private_tls_only_and_backed_up_by_environment(stack) -> None:
    environment, recording = stack
    production = environment == "production"
    db = one(recording, "gcp:sql/databaseInstance:DatabaseInstance")
    spec = inputs(db)
    settings = spec["settings"]
    assert spec["databaseVersion"] == "MYSQL_8_4"
    assert spec["rootPassword"]  # root never exists without a password (a generated one nobody uses)
    network = one(recording, "gcp:compute/network:Network")
    ip = settings["ipConfiguration"]
    assert ip["ipv4Enabled"] is False and ip["privateNetwork"] == network.id
    assert ip["sslMode"] == "ENCRYPTED_ONLY"
    assert ip["allocatedIpRange"] == inputs(one(recording, "gcp:compute/globalAddress:GlobalAddress"))["name"]
    backups = settings["backupConfiguration"]
    assert backups["enabled"] is True and backups["binaryLogEnabled"] is True
    assert backups["backupRetentionSettings"] == {"retainedBackups": 35 if production else 7, "retentionUnit": "COUNT"}
    assert settings["availabilityType"] == ("REGIONAL" if production else "ZONAL")
    assert settings["tier"] == ("db-custom-4-16384" if production else "db-custom-1-3840")
    assert spec["deletionProtection"] is production and settings["deletionProtectionEnabled"] is production
    assert db.protect is production
    assert {f["name"]: f["value"] for f in settings["databaseFlags"]} == {
        "character_set_server": "utf8mb4", "collation_server": "utf8mb4_unicode_ci"}
    connection = one(recording, "gcp:servicenetworking/connection:Connection")
    assert connection.urn in db.depends_on
    address = ipaddress.ip_address(db.outputs["privateIpAddress"])
    assert address in ipaddress.ip_network("10.64.0.0/16")
    (user,) = of_type(recording, "gcp:sql/user:User")  # the Job's admin only: instance users come from the Job
    assert inputs(user)["name"] == "openedx_admin"


def test_memorystore_per_instance_in_production_in_cluster_redis_in_dev(stack) -> None:
    environment, recording = stack
    caches = of_type(recording, "gcp:redis/instance:Instance")
    services = {r.name: inputs(r)["values"] for r in of_type(recording, "kubernetes:helm.sh/v3:Release")
                if r.name.endswith("-services")}
    if environment == "dev":
        assert not caches
        assert all(values["redis"]["enabled"] for values in services.values())
        return
    network = one(recording, "gcp:compute/network:Network")
    peering_range = inputs(one(recording, "gcp:compute/globalAddress:GlobalAddress"))["name"]
    assert sorted(c.name for c in caches) == sorted(f"{i.name}-redis" for i in instances(recording))
    for cache in caches:
        spec = inputs(cache)
        assert spec["tier"] == "STANDARD_HA"
        assert spec["authEnabled"] is True
        assert spec["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
        assert spec["connectMode"] == "PRIVATE_SERVICE_ACCESS"
        assert spec["authorizedNetwork"] == network.id and spec["reservedIpRange"] == peering_range
        assert spec["memorySizeGb"] == 2
        assert spec["redisConfigs"]["maxmemory-policy"] == "volatile-lru"
        assert spec["deletionProtection"] is False and not cache.protect  # removing an instance must not fail
        assert len(spec["name"]) <= 40
        instance = cache.name.removesuffix("-redis")
        assert cache.parent == named(recording, "openedx:index:Instance", instance).urn
        host = cache.outputs["host"]
        assert ipaddress.ip_address(host) in ipaddress.ip_network("10.64.0.0/16")
        assert not services[f"{instance}-services"]["redis"]["enabled"]
        settings = inputs(named(recording, "kubernetes:core/v1:Secret", f"{instance}-settings"))["stringData"]
        production_settings = settings["lms-settings-production.py"]
        assert f"@{host}:6378" in production_settings and "rediss://" in production_settings
        assert cache.outputs["serverCaCerts"][0]["cert"].strip() in production_settings


def test_each_instance_bucket_is_private_versioned_with_cors_for_its_hosts(stack) -> None:
    environment, recording = stack
    production = environment == "production"
    buckets = of_type(recording, "gcp:storage/bucket:Bucket")
    assert len(buckets) == len(instances(recording))
    for bucket in buckets:
        spec = inputs(bucket)
        instance = bucket.name.removesuffix("-media")
        assert spec["uniformBucketLevelAccess"] is True
        assert spec["publicAccessPrevention"] == "enforced"
        assert spec["versioning"] == {"enabled": True}
        assert spec["location"] == gcp_config(environment, "region")
        (cors,) = spec["cors"]
        lms_host = next(i["lmsHost"] for i in CONFIG[environment]["openedx:instances"] if i["name"] == instance)
        assert f"https://{lms_host}" in cors["origins"] and f"https://studio.{lms_host}" in cors["origins"]
        assert all(origin.startswith("https://") and "*" not in origin for origin in cors["origins"])
        assert bucket.retain_on_delete is production
        assert not bucket.protect  # removing an instance must not fail the update
        assert spec["forceDestroy"] is (not production)
        assert spec["labels"]["openedx-instance"] == instance


def test_workload_identity_is_scoped_to_the_instance_service_account_and_bucket(stack) -> None:
    environment, recording = stack
    project = gcp_config(environment, "project")
    members = of_type(recording, "gcp:serviceaccount/iAMMember:IAMMember")
    bucket_grants = of_type(recording, "gcp:storage/bucketIAMMember:BucketIAMMember")
    assert len(bucket_grants) == len(instances(recording)) and len(members) == 2 * len(instances(recording))
    emails = set()
    for instance in instances(recording):
        account = named(recording, "gcp:serviceaccount/account:Account", f"{instance.name}-pods").outputs
        email, member = account["email"], f"serviceAccount:{account['email']}"
        emails.add(email)
        assert email.endswith(f"@{project}.iam.gserviceaccount.com")
        bucket = named(recording, "gcp:storage/bucket:Bucket", f"{instance.name}-media").outputs["name"]
        grant = inputs(named(recording, "gcp:storage/bucketIAMMember:BucketIAMMember", f"{instance.name}-media-access"))
        assert grant == {"bucket": bucket, "role": "roles/storage.objectAdmin", "member": member}
        identity = inputs(named(recording, "gcp:serviceaccount/iAMMember:IAMMember",
                                f"{instance.name}-workload-identity"))
        assert identity == {"serviceAccountId": account["name"], "role": "roles/iam.workloadIdentityUser",
                            "member": f"serviceAccount:{project}.svc.id.goog[openedx-{instance.name}/openedx]"}
        signer = inputs(named(recording, "gcp:serviceaccount/iAMMember:IAMMember", f"{instance.name}-sign-blob"))
        assert signer == {"serviceAccountId": account["name"], "role": "roles/iam.serviceAccountTokenCreator",
                          "member": member}
        for type_, name in (("gcp:serviceaccount/account:Account", "pods"), ("gcp:storage/bucket:Bucket", "media"),
                            ("gcp:serviceaccount/iAMMember:IAMMember", "workload-identity")):
            assert named(recording, type_, f"{instance.name}-{name}").parent == instance.urn
        foundation = inputs(named(recording, "kubernetes:helm.sh/v3:Release", f"{instance.name}-foundation"))
        assert foundation["values"]["serviceAccount"]["annotations"] == {"iam.gke.io/gcp-service-account": email}
        settings = inputs(named(recording, "kubernetes:core/v1:Secret", f"{instance.name}-settings"))["stringData"]
        production_settings = settings["lms-settings-production.py"]
        assert "storages.backends.gcloud.GoogleCloudStorage" in production_settings
        assert f'GS_BUCKET_NAME = "{bucket}"' in production_settings
        assert "GS_IAM_SIGN_BLOB = True" in production_settings and "GS_DEFAULT_ACL = None" in production_settings
        assert f'GS_SA_EMAIL = "{email}"' in production_settings
    assert len(emails) == len(instances(recording))


def test_instances_may_reach_the_data_services_and_the_metadata_server_only(stack) -> None:
    _, recording = stack
    for instance in instances(recording):
        foundation = inputs(named(recording, "kubernetes:helm.sh/v3:Release", f"{instance.name}-foundation"))
        egress = {rule["cidr"]: rule["ports"] for rule in foundation["values"]["networkPolicy"]["extraEgress"]}
        assert egress == {"10.0.0.0/20": list(MANAGED_SERVICE_PORTS), "10.64.0.0/16": list(MANAGED_SERVICE_PORTS),
                          "169.254.169.254/32": [80], "169.254.169.252/32": [988]}
        assert 6378 in MANAGED_SERVICE_PORTS  # Memorystore with in-transit encryption


def test_settings_use_cloud_sql_over_tls_and_the_admin_stays_in_the_system_namespace(stack) -> None:
    _, recording = stack
    address = one(recording, "gcp:sql/databaseInstance:DatabaseInstance").outputs["privateIpAddress"]
    assert_admin_credential_confined(recording)
    for instance in instances(recording):
        settings = inputs(named(recording, "kubernetes:core/v1:Secret", f"{instance.name}-settings"))["stringData"]
        assert address in settings["lms.env.yml"] and f"openedx_{instance.name}" in settings["lms.env.yml"]
        # Verified against the instance's own server CA, which travels with the settings.
        assert '"ssl_mode": "VERIFY_CA"' in settings["lms-settings-production.py"]
        server_ca = one(recording, "gcp:sql/databaseInstance:DatabaseInstance").outputs["serverCaCerts"][0]["cert"]
        assert settings["mysql-ca.pem"] == server_ca
        release, values = provisioning(recording, instance.name)
        assert values["mysql"]["host"] == address and values["mysql"]["sslMode"] == "VERIFY_CA"
        app = named(recording, "kubernetes:helm.sh/v3:Release", f"{instance.name}-openedx")
        assert release.urn in app.depends_on


# --- a private endpoint and explicit overrides, without instances -------------------------------------------------


def test_an_empty_authorized_list_means_a_private_endpoint_and_overrides_win() -> None:
    config = {**CONFIG["production"], "openedx:instances": [], "openedx:gcp": {
        "masterAuthorizedCidrs": [], "mysql": {"highAvailability": False, "backupRetentionDays": 14,
                                               "deletionProtection": False, "edition": "ENTERPRISE_PLUS"}}}
    engine, secret_keys = cli_config(config)
    recording = evaluate(engine, "gcp-private", secret_keys)
    cluster = inputs(one(recording, "gcp:container/cluster:Cluster"))
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is True
    assert cluster["masterAuthorizedNetworksConfig"].get("cidrBlocks", []) == []
    assert cluster["deletionProtection"] is True  # the cluster follows the environment
    db = one(recording, "gcp:sql/databaseInstance:DatabaseInstance")
    settings = inputs(db)["settings"]
    assert settings["availabilityType"] == "ZONAL"
    assert settings["backupConfiguration"]["backupRetentionSettings"]["retainedBackups"] == 14
    assert settings["backupConfiguration"]["transactionLogRetentionDays"] == 7
    assert settings["deletionProtectionEnabled"] is False and inputs(db)["deletionProtection"] is False
    assert settings["edition"] == "ENTERPRISE_PLUS" and settings["tier"].startswith("db-perf-optimized-")
    assert not of_type(recording, "gcp:storage/bucket:Bucket")


# --- pure helpers and settings -------------------------------------------------------------------------------------


def test_scoped_names_fit_google_limits_and_are_stable() -> None:
    longest = "a" * 30
    account = scoped_name(f"oe-{longest}", 30, "gcp-production", longest)
    assert len(account) == 30 and account[0].isalpha() and not account.endswith("-")
    assert account == scoped_name(f"oe-{longest}", 30, "gcp-production", longest)
    assert account != scoped_name(f"oe-{longest}", 30, "gcp-dev", longest)
    assert len(scoped_name(f"openedx-{longest}", 40, "s", longest)) == 40
    assert scoped_name("oe-x", 30, "s", "x").startswith("oe-x-")


def _problems(gcp: dict[str, Any], environment: str = "dev") -> list[str]:
    raw = {"cloud": "gcp", "environment": environment, "gcp": gcp, "platform": {"tls": {"issuer": "none"}}}
    try:
        load(raw, {"gcp:project": "p", "gcp:region": "europe-west1"})
    except ConfigError as error:
        return error.problems
    return []


def test_settings_check_the_ranges_and_who_reaches_the_api() -> None:
    assert _problems({"masterAuthorizedCidrs": ["203.0.113.0/24"]}) == []
    assert _problems({}) == ["openedx:gcp.masterAuthorizedCidrs: required: the CIDRs that may reach the Kubernetes "
                             "API (where pulumi up runs), or [] for a private endpoint only"]
    assert _problems({"masterAuthorizedCidrs": ["0.0.0.0/0"]}) == []  # allowed outside production
    assert len(_problems({"masterAuthorizedCidrs": ["0.0.0.0/0"]}, "production")) == 1
    overlapping = _problems({"masterAuthorizedCidrs": [], "podsCidr": "10.0.0.0/14"})
    assert overlapping == ["openedx:gcp.podsCidr: '10.0.0.0/14' overlaps gcp.subnetCidr (10.0.0.0/20)"]
    assert _problems({"masterAuthorizedCidrs": [], "masterCidr": "172.16.0.0/24"}) == [
        "openedx:gcp.masterCidr: '172.16.0.0/24' must be a /28"]
