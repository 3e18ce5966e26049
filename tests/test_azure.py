"""The Azure adapter under mocks, for both example stacks: the security properties of every Azure resource."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from typing import Any

import pytest
import yaml

from components.clouds.azure.values import (
    AKS_SERVER_ID,
    ROLES,
    key_vault_name,
    kubeconfig,
    mysql_tier,
    storage_account_name,
    subnet_cidrs,
)
from components.settings.model import ConfigError
from components.settings.stack import from_engine_config, load
from offline.azure import MOCK_AZURE_DEPLOYER
from offline.azure import call as azure_call
from offline.evaluation import PROJECT_DIR, load_stack_file
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

STACKS = {"dev": PROJECT_DIR / "stacks/Pulumi.azure-dev.yaml",
          "production": PROJECT_DIR / "stacks/Pulumi.azure-production.yaml"}
AZ = "azure-native:"
REDIS = f"{AZ}redisenterprise:RedisEnterprise"


@pytest.fixture(params=sorted(STACKS))
def stack(request, example_stacks: ExampleStacks) -> tuple[str, Recording]:
    return request.param, example_stacks[STACKS[request.param]].recording


def release_values(recording: Recording, name: str) -> dict[str, Any]:
    values: dict[str, Any] = inputs(named(recording, "kubernetes:helm.sh/v3:Release", name))["values"]
    return values


# --- pure helpers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vnet", ["10.20.0.0/16", "10.0.0.0/8", "172.16.0.0/20", "192.168.64.0/18"])
def test_subnets_fit_the_network_without_overlapping(vnet: str) -> None:
    network = ipaddress.ip_network(vnet)
    subnets = [ipaddress.ip_network(c) for c in subnet_cidrs(vnet)]
    assert all(s.subnet_of(network) for s in subnets)  # type: ignore[arg-type]
    assert all(not a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])
    assert subnets[1].prefixlen <= 24  # a MySQL delegated subnet has room for HA standbys and maintenance


@pytest.mark.parametrize("instance", ["a", "demo", "university", "my-very-long-instance-name-30ch", "x-1-2-3"])
@pytest.mark.parametrize("suffix", ["abcd1234", "ABCD1234", "a1"])
def test_storage_account_names_are_valid_and_deterministic(instance: str, suffix: str) -> None:
    name = storage_account_name(instance, suffix)
    assert re.fullmatch(r"[a-z0-9]{3,24}", name), name
    assert name == storage_account_name(instance, suffix)
    assert name.endswith(suffix.lower())


def test_mysql_tier_follows_the_sku() -> None:
    assert mysql_tier("Standard_B2ms") == "Burstable"
    assert mysql_tier("Standard_D4ads_v5") == "GeneralPurpose"
    assert mysql_tier("Standard_E4ds_v5") == "MemoryOptimized"


def test_kubeconfig_uses_kubelogin_with_the_cluster_ca_and_no_credentials() -> None:
    user = {"apiVersion": "v1", "clusters": [{"name": "c", "cluster": {
        "server": "https://c.hcp.westeurope.azmk8s.io:443", "certificate-authority-data": "Q0E="}}],
        "users": [{"name": "u", "user": {"token": "must-not-be-copied"}}]}
    config = json.loads(kubeconfig("c", base64.b64encode(yaml.safe_dump(user).encode()).decode(), "azurecli"))
    assert config["clusters"][0]["cluster"] == user["clusters"][0]["cluster"]  # type: ignore[index]
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["args"] == ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_ID]
    assert "must-not-be-copied" not in json.dumps(config)


# --- settings ------------------------------------------------------------------------------------------------------


def _azure_stack(**azure: Any) -> dict[str, Any]:
    return {"cloud": "azure", "environment": "production",
            "platform": {"tls": {"issuer": "none"}, "email": {"host": "smtp.example.com"}},
            "azure": {"apiAuthorizedCidrs": ["203.0.113.0/24"], **azure},
            "instances": [{"name": "demo", "lmsHost": "learn.example.com"}]}


def _problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load(raw, {"azure-native:location": "westeurope"})
    return error.value.problems


def test_blob_storage_needs_an_image_with_azure_storage_blob() -> None:
    (problem,) = _problems(_azure_stack())
    assert problem.startswith("openedx:instances[0].images.openedx: ")
    assert "OPENEDX_EXTRA_PIP_REQUIREMENTS=azure-storage-blob" in problem and "tutor images build openedx" in problem
    assert "azureStorageBlob: true" in problem and "mediaStorage to volume" in problem
    assert load(_azure_stack(mediaStorage="volume"), {"azure-native:location": "westeurope"}).azure.media_storage \
        == "volume"


def test_azure_settings_are_checked_across_fields() -> None:
    raw = _azure_stack(mediaStorage="volume", apiAuthorizedCidrs=["0.0.0.0/0"], podCidr="10.20.0.0/16",
                       mysql={"skuName": "Standard_B2ms"})
    assert sorted(p.split(":")[1].split(" ")[0] for p in _problems(raw)) == [
        "azure.apiAuthorizedCidrs", "azure.mysql.highAvailability", "azure.podCidr"]


# --- the stacks ----------------------------------------------------------------------------------------------------


def test_every_resource_uses_the_stack_providers(stack) -> None:
    _, recording = stack
    azure_provider = one(recording, "pulumi:providers:azure-native")
    assert inputs(azure_provider)["location"] == "westeurope"
    aks_provider = one(recording, "pulumi:providers:kubernetes")
    spec = inputs(aks_provider)
    assert spec["clusterIdentifier"] == one(recording, f"{AZ}containerservice:ManagedCluster").outputs[
        "name"]
    exec_ = json.loads(spec["kubeconfig"])["users"][0]["user"]["exec"]
    assert exec_["command"] == "kubelogin" and exec_["args"][:3] == ["get-token", "--login", "azurecli"]
    assert AKS_SERVER_ID in exec_["args"]
    assert aks_provider.inputs["kubeconfig"] != spec["kubeconfig"]  # a secret in the state
    azure_resources = [r for r in recording.resources.values() if r.type.startswith(AZ)]
    assert len(azure_resources) > 15
    for r in azure_resources:
        assert r.provider.startswith(azure_provider.urn + "::"), r.urn
    # Whatever names a location names the stack's; the regional resources name it themselves.
    located = {r.type: inputs(r)["location"] for r in azure_resources if "location" in inputs(r)}
    assert set(located.values()) <= {"westeurope", "global"}, located
    for kind in ("resources:ResourceGroup", "network:VirtualNetwork", "containerservice:ManagedCluster",
                 "dbformysql:Server"):
        assert located[f"{AZ}{kind}"] == "westeurope", kind
    for r in recording.resources.values():
        if r.type.startswith("kubernetes:"):
            assert r.provider.startswith(aks_provider.urn + "::"), r.urn


def test_every_taggable_resource_is_labelled_with_the_stack(stack) -> None:
    _, recording = stack
    untaggable = ("Subnet", "Configuration", "AgentPool", "RoleAssignment", "BlobContainer", "BlobServiceProperties",
                  "ManagementPolicy", "PrivateDnsZoneGroup", "redisenterprise:Database")
    for r in recording.resources.values():
        if r.type.startswith(AZ) and not r.type.endswith(untaggable):
            assert inputs(r)["tags"]["managed-by"] == "pulumi", r.urn


def test_network_has_private_subnets_and_linked_private_zones(stack) -> None:
    environment, recording = stack
    vnet = inputs(one(recording, f"{AZ}network:VirtualNetwork"))
    assert vnet["addressSpace"]["addressPrefixes"] == ["10.20.0.0/16"]
    subnets = {r.name: inputs(r) for r in of_type(recording, f"{AZ}network:Subnet")}
    nodes, mysql, endpoints = subnet_cidrs("10.20.0.0/16")
    assert {name: s["addressPrefix"] for name, s in subnets.items()} == {
        "azure-nodes": nodes, "azure-mysql": mysql, "azure-endpoints": endpoints}
    assert all(s["defaultOutboundAccess"] is False for s in subnets.values())
    assert subnets["azure-mysql"]["delegations"][0]["serviceName"] == "Microsoft.DBforMySQL/flexibleServers"
    zones = {inputs(z)["privateZoneName"] for z in of_type(recording, f"{AZ}privatedns:PrivateZone")}
    expected = {f"azure-azure-{environment}.private.mysql.database.azure.com"}
    if environment == "production":
        expected.add("privatelink.redis.azure.net")
    assert zones == expected
    links = of_type(recording, f"{AZ}privatedns:VirtualNetworkLink")
    assert len(links) == len(zones)
    vnet_id = one(recording, f"{AZ}network:VirtualNetwork").id
    assert all(inputs(link)["virtualNetwork"]["id"] == vnet_id and inputs(link)["registrationEnabled"] is False
               for link in links)
    group = one(recording, f"{AZ}resources:ResourceGroup")
    assert group.protect is (environment == "production")


def test_aks_is_entra_id_only_with_workload_identity_and_network_policy(stack) -> None:
    environment, recording = stack
    production = environment == "production"
    cluster = one(recording, f"{AZ}containerservice:ManagedCluster")
    spec = inputs(cluster)
    assert spec["kubernetesVersion"] == "1.34"
    assert spec["aadProfile"]["managed"] is True and spec["aadProfile"]["enableAzureRBAC"] is True
    assert spec["enableRBAC"] is True
    assert spec["disableLocalAccounts"] is production
    assert spec["oidcIssuerProfile"] == {"enabled": True}
    assert spec["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert spec["apiServerAccessProfile"]["authorizedIPRanges"] == ["203.0.113.0/24"]
    net = spec["networkProfile"]
    assert (net["networkPlugin"], net["networkPluginMode"], net["networkPolicy"]) == ("azure", "overlay", "cilium")
    vnet = ipaddress.ip_network("10.20.0.0/16")
    assert not any(ipaddress.ip_network(net[k]).overlaps(vnet) for k in ("podCidr", "serviceCidr"))
    assert ipaddress.ip_address(net["dnsServiceIP"]) in ipaddress.ip_network(net["serviceCidr"])
    assert spec["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    assert spec["sku"]["tier"] == ("Standard" if production else "Free")
    assert spec["identity"]["type"] == "UserAssigned"
    assert cluster.protect is production
    (system,) = spec["agentPoolProfiles"]
    assert system["mode"] == "System" and system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    user = inputs(one(recording, f"{AZ}containerservice:AgentPool"))
    assert user["mode"] == "User" and user["enableAutoScaling"] is True
    assert (user["minCount"], user["maxCount"]) == ((3, 12) if production else (2, 4))
    assert one(recording, f"{AZ}containerservice:AgentPool").ignore_changes == ["count"]
    nodes_subnet = named(recording, f"{AZ}network:Subnet", "azure-nodes").id
    for pool in (system, user):
        assert pool["vnetSubnetID"] == nodes_subnet
        assert pool.get("availabilityZones") == (["1", "2", "3"] if production else None)


def test_the_user_pool_autoscales_within_its_bounds_as_on_eks(stack) -> None:
    """The instances' pool is autoscaled between the configured counts, with the flags the EKS autoscaler gets; the
    system pool (tainted for system pods only) keeps a fixed size."""
    environment, recording = stack
    cluster = inputs(one(recording, f"{AZ}containerservice:ManagedCluster"))
    assert cluster["autoScalerProfile"] == {"expander": "least-waste", "balanceSimilarNodeGroups": "true",
                                            "skipNodesWithLocalStorage": "false"}
    (system,) = cluster["agentPoolProfiles"]
    assert system["enableAutoScaling"] is False and system["count"] == (3 if environment == "production" else 2)
    user = inputs(one(recording, f"{AZ}containerservice:AgentPool"))
    bounds = {"dev": (2, 4), "production": (3, 12)}[environment]
    assert (user["enableAutoScaling"], user["minCount"], user["maxCount"], user["count"]) == (True, *bounds,
                                                                                              bounds[0])


def test_user_pool_bounds_are_checked_naming_the_key() -> None:
    assert _problems(_azure_stack(mediaStorage="volume", userPool={"minCount": 6, "maxCount": 3})) == [
        "openedx:azure.userPool: minCount (6) is greater than maxCount (3)"]
    assert _problems(_azure_stack(mediaStorage="volume", userPool={"minCount": 7})) == [  # default maximum: 6
        "openedx:azure.userPool: minCount (7) is greater than maxCount (6)"]
    fixed = load(_azure_stack(mediaStorage="volume", userPool={"minCount": 4, "maxCount": 4}),
                 {"azure-native:location": "westeurope"})
    assert (fixed.azure.user_pool.min_count, fixed.azure.user_pool.max_count) == (4, 4)


def test_kubernetes_secrets_are_encrypted_with_a_key_vault_key_of_the_stack(stack) -> None:
    environment, recording = stack
    key, vault = one(recording, f"{AZ}keyvault:Key"), one(recording, f"{AZ}keyvault:Vault")
    kms = inputs(one(recording, f"{AZ}containerservice:ManagedCluster"))["securityProfile"]["azureKeyVaultKms"]
    assert kms == {"enabled": True, "keyId": key.outputs["keyUriWithVersion"], "keyVaultNetworkAccess": "Public"}
    properties = inputs(vault)["properties"]
    assert properties["enableRbacAuthorization"] is True and properties["enablePurgeProtection"] is True
    assert properties["enableSoftDelete"] is True and properties["softDeleteRetentionInDays"] == 90
    assert inputs(key)["properties"]["kty"] == "RSA" and inputs(key)["properties"]["keySize"] == 2048
    assert vault.protect is key.protect is (environment == "production")
    assert re.fullmatch(r"kv-[a-z0-9-]+-[a-z0-9]{6}", vault.outputs["name"]) and len(vault.outputs["name"]) <= 24
    assert key_vault_name("azure-" + "x" * 40, "abc123") == "kv-azure-xxxxxxxx-abc123"  # 24 characters, the most


def _role_assignments(recording: Recording) -> dict[str, tuple[str, dict[str, Any]]]:
    found = {}
    for r in of_type(recording, f"{AZ}authorization:RoleAssignment"):
        spec = inputs(r)
        role = next(role for role, guid in ROLES.items() if spec["roleDefinitionId"].endswith(f"/{guid}"))
        found[r.name] = (role, spec)
    return found


def test_role_assignments_are_least_privilege(stack) -> None:
    _, recording = stack
    assignments = _role_assignments(recording)
    identity = one(recording, f"{AZ}managedidentity:UserAssignedIdentity")
    role, network = assignments["azure-cluster-network"]
    assert role == "Network Contributor"
    assert network["scope"] == named(recording, f"{AZ}network:Subnet", "azure-nodes").id
    assert network["principalId"] == identity.outputs["principalId"]
    role, deployer = assignments["azure-deployer-cluster-admin"]
    assert role == "Azure Kubernetes Service RBAC Cluster Admin"
    assert deployer["scope"] == one(recording, f"{AZ}containerservice:ManagedCluster").id
    assert deployer["principalId"] == MOCK_AZURE_DEPLOYER
    role, pull = assignments["azure-kubelet-acr-pull"]
    assert role == "AcrPull" and pull["scope"].endswith("/registries/myregistry")
    kubelet = one(recording, f"{AZ}containerservice:ManagedCluster").outputs["identityProfile"]
    assert pull["principalId"] == kubelet["kubeletidentity"]["objectId"]
    role, secrets = assignments["azure-cluster-secrets-key"]
    assert role == "Key Vault Crypto User" and secrets["principalId"] == identity.outputs["principalId"]
    assert secrets["scope"] == one(recording, f"{AZ}keyvault:Key").id  # the one key, not the vault
    for _, spec in assignments.values():
        assert re.fullmatch(r"[0-9a-f-]{36}", spec["roleAssignmentName"])
        assert not re.fullmatch(r"/subscriptions/[^/]+(/resourceGroups/[^/]+)?", spec["scope"]), "too wide"


def test_storage_classes_are_azure_disks_with_a_retain_class(stack) -> None:
    environment, recording = stack
    classes = {inputs(c)["metadata"]["name"]: inputs(c) for c in of_type(
        recording, "kubernetes:storage.k8s.io/v1:StorageClass")}
    assert classes["openedx"]["provisioner"] == "disk.csi.azure.com"
    assert classes["openedx"]["parameters"]["skuName"] == ("Premium_ZRS" if environment == "production"
                                                           else "Premium_LRS")
    assert classes["openedx-retain"]["reclaimPolicy"] == "Retain"


def test_mysql_is_private_tls_only_and_backed_up_by_environment(stack) -> None:
    environment, recording = stack
    production = environment == "production"
    server = one(recording, f"{AZ}dbformysql:Server")
    spec = inputs(server)
    assert spec["version"] == "8.0.21"
    assert spec["administratorLogin"] == "openedx_admin"
    assert spec["network"]["publicNetworkAccess"] == "Disabled"
    assert spec["network"]["delegatedSubnetResourceId"] == named(recording, f"{AZ}network:Subnet", "azure-mysql").id
    zone = next(z for z in of_type(recording, f"{AZ}privatedns:PrivateZone")
                if inputs(z)["privateZoneName"].endswith(".private.mysql.database.azure.com"))
    assert spec["network"]["privateDnsZoneResourceId"] == zone.id
    link = next(link for link in of_type(recording, f"{AZ}privatedns:VirtualNetworkLink") if link.name == "azure-mysql")
    assert link.urn in server.depends_on  # the zone resolves in the network before the server registers in it
    assert spec["backup"]["backupRetentionDays"] == (35 if production else 7)
    assert spec["backup"]["geoRedundantBackup"] == ("Enabled" if production else "Disabled")
    assert spec["highAvailability"]["mode"] == ("ZoneRedundant" if production else "Disabled")
    assert spec["sku"] == ({"name": "Standard_D4ads_v5", "tier": "GeneralPurpose"} if production
                           else {"name": "Standard_B2ms", "tier": "Burstable"})
    assert spec["storage"]["autoGrow"] == "Enabled"
    assert server.protect is production
    configurations = of_type(recording, f"{AZ}dbformysql:Configuration")
    values = {inputs(c)["configurationName"]: inputs(c)["value"] for c in configurations}
    assert values == {"character_set_server": "utf8mb4", "collation_server": "utf8mb4_unicode_ci",
                      "require_secure_transport": "ON"}
    assert sum(1 for c in configurations if not any(d in {x.urn for x in configurations} for d in c.depends_on)) == 1
    for instance in instances(recording):
        _, values = provisioning(recording, instance.name)
        assert values["mysql"]["adminSecret"] == "mysql-admin" and values["mysql"]["sslMode"] != "PREFERRED"


def test_the_shared_admin_credential_stays_in_the_system_namespace(stack) -> None:
    assert_admin_credential_confined(stack[1])


def test_redis_is_one_private_tls_cache_per_instance_in_production(stack) -> None:
    environment, recording = stack
    caches = of_type(recording, REDIS)
    if environment == "dev":
        assert not caches and not of_type(recording, f"{AZ}network:PrivateEndpoint")
        return
    endpoints_subnet = named(recording, f"{AZ}network:Subnet", "azure-endpoints").id
    zone = next(z for z in of_type(recording, f"{AZ}privatedns:PrivateZone")
                if inputs(z)["privateZoneName"] == "privatelink.redis.azure.net")
    for instance in instances(recording):
        cache = named(recording, REDIS, f"{instance.name}-redis")
        assert cache.parent == instance.urn
        spec = inputs(cache)
        assert spec["minimumTlsVersion"] == "1.2" and spec["publicNetworkAccess"] == "Disabled"
        assert spec["sku"] == {"name": "Balanced_B1"} and spec["highAvailability"] == "Enabled"
        database = inputs(named(recording, f"{AZ}redisenterprise:Database", f"{instance.name}-redis"))
        assert database["clientProtocol"] == "Encrypted" and database["port"] == 10000
        assert database["clusteringPolicy"] == "NoCluster" and database["evictionPolicy"] == "VolatileLRU"
        endpoint = inputs(named(recording, f"{AZ}network:PrivateEndpoint", f"{instance.name}-redis"))
        assert endpoint["subnet"]["id"] == endpoints_subnet
        (connection,) = endpoint["privateLinkServiceConnections"]
        assert connection["privateLinkServiceId"] == cache.id and connection["groupIds"] == ["redisEnterprise"]
        group = inputs(named(recording, f"{AZ}network:PrivateDnsZoneGroup", f"{instance.name}-redis"))
        assert group["privateDnsZoneConfigs"][0]["privateDnsZoneId"] == zone.id
        host = cache.outputs["hostName"]
        settings = inputs(named(recording, "kubernetes:core/v1:Secret", f"{instance.name}-settings"))["stringData"]
        assert f"{host}:10000" in settings["lms.env.yml"]
        assert "_REDIS_CACHE_DB, _REDIS_CELERY_DB = 0, 0" in settings["lms-settings-production.py"]  # no SELECT
        others = [i for i in instances(recording) if i.urn != instance.urn]
        other_hosts = [named(recording, REDIS, f"{o.name}-redis").outputs["hostName"] for o in others]
        assert not any(other in json.dumps(settings) for other in other_hosts)
        # The cache's access key (listDatabaseKeys) reaches this instance's settings Secret and nothing else.
        key = azure_call("azure-native:redisenterprise:listDatabaseKeys",
                          {"clusterName": cache.outputs["name"]})
        assert key is not None and f'CELERY_BROKER_PASSWORD: "{key["primaryKey"]}"' in settings["lms.env.yml"]
        settings_urn = named(recording, "kubernetes:core/v1:Secret", f"{instance.name}-settings").urn
        for r in of_type(recording, "kubernetes:core/v1:Secret") + of_type(recording, "kubernetes:helm.sh/v3:Release"):
            assert (key["primaryKey"] in json.dumps(inputs(r))) == (r.urn == settings_urn), r.urn


def test_each_instance_storage_account_is_private_tls_versioned_and_retained(stack) -> None:
    environment, recording = stack
    production = environment == "production"
    accounts = of_type(recording, f"{AZ}storage:StorageAccount")
    assert len(accounts) == 2
    _, config, _ = load_stack_file(STACKS[environment])
    hosts = {i.name: list(i.public_hosts.values()) for i in from_engine_config(config).instances}
    for instance in instances(recording):
        account = named(recording, f"{AZ}storage:StorageAccount", f"{instance.name}-media")
        assert account.parent == instance.urn
        spec = inputs(account)
        assert re.fullmatch(r"[a-z0-9]{3,24}", spec["accountName"])
        assert spec["kind"] == "StorageV2"
        assert spec["sku"]["name"] == ("Standard_ZRS" if production else "Standard_LRS")
        assert spec["enableHttpsTrafficOnly"] is True and spec["minimumTlsVersion"] == "TLS1_2"
        assert spec["allowBlobPublicAccess"] is False
        assert spec["allowSharedKeyAccess"] is True  # django-storages signs browser URLs with the account key
        assert spec["allowCrossTenantReplication"] is False
        assert spec["encryption"]["services"]["blob"]["enabled"] is True
        assert account.retain_on_delete is production and not account.protect
        container = named(recording, f"{AZ}storage:BlobContainer", f"{instance.name}-media")
        assert inputs(container)["publicAccess"] == "None" and inputs(container)["containerName"] == "openedx"
        assert container.retain_on_delete is production and not container.protect
        blob = inputs(named(recording, f"{AZ}storage:BlobServiceProperties", f"{instance.name}-media"))
        assert blob["isVersioningEnabled"] is True
        days = 35 if production else 7
        assert blob["deleteRetentionPolicy"] == {"enabled": True, "days": days}
        assert blob["containerDeleteRetentionPolicy"] == {"enabled": True, "days": days}
        (cors,) = blob["cors"]["corsRules"]
        assert sorted(cors["allowedOrigins"]) == sorted(f"https://{h}" for h in hosts[instance.name])
        assert set(cors["allowedMethods"]) == {"GET", "HEAD", "PUT", "POST"}


def test_each_account_key_reaches_only_its_instance_settings_and_backup_secret(stack) -> None:
    environment, recording = stack
    keys = {}
    for instance in instances(recording):
        settings = named(recording, "kubernetes:core/v1:Secret", f"{instance.name}-settings")
        production_py = inputs(settings)["stringData"]["lms-settings-production.py"]
        account = inputs(named(recording, f"{AZ}storage:StorageAccount", f"{instance.name}-media"))["accountName"]
        assert f'AZURE_ACCOUNT_NAME = "{account}"' in production_py
        (key,) = re.findall(r'AZURE_ACCOUNT_KEY = "([^"]+)"', production_py)
        urns = {settings.urn}
        # Its backup Jobs' Secret holds it too (backups are off in dev): rclone writes to the same account with it,
        # for want of a workload identity.
        for backup in of_type(recording, "kubernetes:core/v1:Secret"):
            if backup.name == f"{instance.name}-backup":
                assert inputs(backup)["stringData"]["RCLONE_CONFIG_BACKUPS_KEY"] == key
                urns.add(backup.urn)
        assert (len(urns) == 2) == (environment != "dev")
        keys[instance.name] = (urns, key)
        assert release_values(recording, f"{instance.name}-foundation")["serviceAccount"]["annotations"] == {}
    assert len({key for _, key in keys.values()}) == len(keys)
    for r in of_type(recording, "kubernetes:core/v1:Secret") + of_type(recording, "kubernetes:helm.sh/v3:Release"):
        text = json.dumps(inputs(r))
        for urns, key in keys.values():
            assert (key in text) == (r.urn in urns), r.urn
    for r in recording.resources.values():
        if r.type.startswith(AZ):
            assert all(key not in json.dumps(r.inputs) for _, key in keys.values()), r.urn


def test_instances_may_reach_only_the_private_data_subnets(stack) -> None:
    environment, recording = stack
    _, mysql, endpoints = subnet_cidrs("10.20.0.0/16")
    expected = [{"cidr": mysql, "ports": [3306]}]
    if environment == "production":
        expected.append({"cidr": endpoints, "ports": [10000]})
    for instance in instances(recording):
        values = release_values(recording, f"{instance.name}-foundation")
        assert values["networkPolicy"]["extraEgress"] == expected


def test_mongodb_runs_in_the_cluster(stack) -> None:
    _, recording = stack
    for instance in instances(recording):
        services = release_values(recording, f"{instance.name}-services")
        assert services["mongodb"]["enabled"] is True
        assert services["mysql"]["enabled"] is False and services["media"]["enabled"] is False
        assert services["redis"]["enabled"] is (not of_type(recording, REDIS))


def test_volume_media_and_a_dev_managed_redis(evaluate_stack) -> None:
    """mediaStorage: volume needs no special image and creates no storage account; a dev cache is the smallest,
    without a replica."""
    recording = evaluate_stack(config={
        "azure-native:location": "westeurope", "openedx:cloud": "azure",
        "openedx:azure": {"apiAuthorizedCidrs": [], "mediaStorage": "volume", "redis": {"service": "managed-redis"}},
        "openedx:platform": {"tls": {"issuer": "none"}},
        "openedx:instances": [{"name": "demo", "lmsHost": "learn.example.com"}]})
    assert not of_type(recording, f"{AZ}storage:StorageAccount")
    assert release_values(recording, "demo-services")["media"]["enabled"] is True
    cache = inputs(one(recording, REDIS))
    assert cache["sku"] == {"name": "Balanced_B0"} and cache["highAvailability"] == "Disabled"
    cluster = inputs(one(recording, f"{AZ}containerservice:ManagedCluster"))
    assert cluster["apiServerAccessProfile"] == {"enablePrivateCluster": True}
