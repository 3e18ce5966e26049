"""Computed outputs and invoke results of the Azure resources the program uses."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from offline.deterministic import seed_bytes

MOCK_AZURE_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
MOCK_AZURE_LOCATION = "westeurope"
MOCK_AZURE_TENANT = "11111111-1111-1111-1111-111111111111"
MOCK_AZURE_DEPLOYER = "22222222-2222-2222-2222-222222222222"
"""Object id of the principal running `pulumi up` (getClientConfig)."""
_AZURE_TYPES: dict[str, tuple[str, str]] = {
    # type → (name input, ARM resource type path under the resource group)
    "azure-native:resources:ResourceGroup": ("resourceGroupName", ""),
    "azure-native:keyvault:Vault": ("vaultName", "Microsoft.KeyVault/vaults"),
    "azure-native:keyvault:Key": ("keyName", "Microsoft.KeyVault/vaults/{vaultName}/keys"),
    "azure-native:network:VirtualNetwork": ("virtualNetworkName", "Microsoft.Network/virtualNetworks"),
    "azure-native:network:Subnet": ("subnetName", "Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets"),
    "azure-native:network:PrivateEndpoint": ("privateEndpointName", "Microsoft.Network/privateEndpoints"),
    "azure-native:network:PrivateDnsZoneGroup": (
        "privateDnsZoneGroupName", "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups"),
    "azure-native:privatedns:PrivateZone": ("privateZoneName", "Microsoft.Network/privateDnsZones"),
    "azure-native:privatedns:VirtualNetworkLink": (
        "virtualNetworkLinkName", "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks"),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "resourceName", "Microsoft.ManagedIdentity/userAssignedIdentities"),
    "azure-native:containerservice:ManagedCluster": ("resourceName", "Microsoft.ContainerService/managedClusters"),
    "azure-native:containerservice:AgentPool": (
        "agentPoolName", "Microsoft.ContainerService/managedClusters/{resourceName}/agentPools"),
    "azure-native:dbformysql:Server": ("serverName", "Microsoft.DBforMySQL/flexibleServers"),
    "azure-native:dbformysql:Configuration": (
        "configurationName", "Microsoft.DBforMySQL/flexibleServers/{serverName}/configurations"),
    "azure-native:redisenterprise:RedisEnterprise": ("clusterName", "Microsoft.Cache/redisEnterprise"),
    "azure-native:redisenterprise:Database": (
        "databaseName", "Microsoft.Cache/redisEnterprise/{clusterName}/databases"),
    "azure-native:storage:StorageAccount": ("accountName", "Microsoft.Storage/storageAccounts"),
    "azure-native:storage:BlobServiceProperties": (
        "blobServicesName", "Microsoft.Storage/storageAccounts/{accountName}/blobServices"),
    "azure-native:storage:BlobContainer": (
        "containerName", "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers"),
    "azure-native:authorization:RoleAssignment": ("roleAssignmentName", ""),
}


def _azure_uuid(*seed: str) -> str:
    return str(uuid.UUID(bytes=seed_bytes("azure", *seed)[:16], version=4))


def _azure_key(*seed: str) -> str:
    """An access key as Azure shows them: 64 random bytes, base64 (88 characters)."""
    return base64.b64encode(hashlib.sha512(seed_bytes("azure-key", *seed)).digest()).decode()


def _aks_fqdn(cluster: str, location: str = MOCK_AZURE_LOCATION) -> str:
    return f"{cluster}-{hashlib.sha1(cluster.encode()).hexdigest()[:8]}.hcp.{location}.azmk8s.io"


def _aks_user_kubeconfig(cluster: str) -> str:
    """What listManagedClusterUserCredentials returns for an Entra ID cluster: base64 YAML, exec user."""
    body = base64.b64encode(hashlib.sha512(seed_bytes("aks-ca", cluster)).digest() * 4).decode()
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    ca = base64.b64encode(f"{pem}\n-----END CERTIFICATE-----\n".encode()).decode()
    document = (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {cluster}\n  cluster:\n    certificate-authority-data: {ca}\n"
        f"    server: https://{_aks_fqdn(cluster)}:443\n"
        f"contexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: clusterUser_{cluster}\n"
        f"current-context: {cluster}\n"
        f"users:\n- name: clusterUser_{cluster}\n  user:\n    exec:\n"
        "      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n"
        "      args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]\n"
    )
    return base64.b64encode(document.encode()).decode()


def outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed outputs of the Azure resources the program uses: ARM ids and names (explicit, or auto-named with a
    random suffix as the provider does), endpoints, identities."""
    short = hashlib.sha1(f"{typ}::{name}".encode()).hexdigest()[:8]
    name_key, path = _AZURE_TYPES.get(typ, ("name", ""))
    resource_name = str(inputs.get(name_key) or f"{name}{short}")
    location = str(inputs.get("location") or MOCK_AZURE_LOCATION)
    group = str(inputs.get("resourceGroupName") or "mock-rg")
    prefix = f"/subscriptions/{MOCK_AZURE_SUBSCRIPTION}/resourceGroups/{group}"
    if typ == "azure-native:resources:ResourceGroup":
        arm_id = f"/subscriptions/{MOCK_AZURE_SUBSCRIPTION}/resourceGroups/{resource_name}"
    elif typ == "azure-native:authorization:RoleAssignment":
        arm_id = f"{inputs.get('scope', '')}/providers/Microsoft.Authorization/roleAssignments/{resource_name}"
    else:
        arm_id = f"{prefix}/providers/{path.format_map({k: str(v) for k, v in inputs.items()})}/{resource_name}"
    outputs: dict[str, Any] = {"name": resource_name, "id": arm_id, "azureApiVersion": "mock"}
    if "location" in inputs or typ.endswith(("ResourceGroup", "ManagedCluster", "Server", "RedisEnterprise")):
        outputs["location"] = location
    if typ == "azure-native:managedidentity:UserAssignedIdentity":
        outputs |= {"principalId": _azure_uuid("principal", arm_id), "clientId": _azure_uuid("client", arm_id),
                    "tenantId": MOCK_AZURE_TENANT}
    elif typ == "azure-native:containerservice:ManagedCluster":
        fqdn = _aks_fqdn(resource_name, location)
        outputs |= {
            "fqdn": fqdn,
            "azurePortalFQDN": fqdn.replace(".hcp.", ".portal.hcp."),
            "nodeResourceGroup": inputs.get("nodeResourceGroup", f"MC_{group}_{resource_name}_{location}"),
            "oidcIssuerProfile": {"enabled": True, "issuerURL": (
                f"https://{location}.oic.prod-aks.azure.com/{MOCK_AZURE_TENANT}/{_azure_uuid('oidc', arm_id)}/")},
            "identityProfile": {"kubeletidentity": {
                "clientId": _azure_uuid("kubelet-client", arm_id),
                "objectId": _azure_uuid("kubelet-object", arm_id),
                "resourceId": f"{prefix}-nodes/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                              f"{resource_name}-agentpool"}},
            "currentKubernetesVersion": inputs.get("kubernetesVersion", ""),
            # The API answers user-assigned identities as a map by id (they are sent as a list).
            "identity": {**inputs.get("identity", {}), "userAssignedIdentities": {
                identity: {"principalId": _azure_uuid("principal", identity),
                           "clientId": _azure_uuid("client", identity)}
                for identity in inputs.get("identity", {}).get("userAssignedIdentities", [])}},
            "provisioningState": "Succeeded",
        }
    elif typ == "azure-native:dbformysql:Server":
        outputs |= {"fullyQualifiedDomainName": f"{resource_name}.mysql.database.azure.com", "state": "Ready"}
    elif typ == "azure-native:redisenterprise:RedisEnterprise":
        outputs |= {"hostName": f"{resource_name}.{inputs.get('location', MOCK_AZURE_LOCATION)}.redis.azure.net",
                    "provisioningState": "Succeeded"}
    elif typ == "azure-native:keyvault:Vault":
        outputs["properties"] = {**inputs.get("properties", {}), "vaultUri": f"https://{resource_name}.vault.azure.net/"}
    elif typ == "azure-native:keyvault:Key":
        uri = f"https://{inputs.get('vaultName', 'vault')}.vault.azure.net/keys/{resource_name}"
        outputs |= {"keyUri": uri, "keyUriWithVersion": f"{uri}/{short}{short}{short}{short}"}
    elif typ == "azure-native:storage:StorageAccount":
        outputs["primaryEndpoints"] = {
            service: f"https://{resource_name}.{service}.core.windows.net/"
            for service in ("blob", "dfs", "file", "queue", "table", "web")}
    return outputs


def call(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Results of the Azure invokes the program makes (None: not an Azure invoke)."""
    if token == "azure-native:authorization:getClientConfig":
        return {"clientId": _azure_uuid("deployer-client"), "objectId": MOCK_AZURE_DEPLOYER,
                "subscriptionId": MOCK_AZURE_SUBSCRIPTION, "tenantId": MOCK_AZURE_TENANT}
    if token == "azure-native:containerservice:listManagedClusterUserCredentials":
        cluster = str(args.get("resourceName", "cluster"))
        return {"kubeconfigs": [{"name": "clusterUser", "value": _aks_user_kubeconfig(cluster)}]}
    if token == "azure-native:storage:listStorageAccountKeys":
        account = str(args.get("accountName", ""))
        return {"keys": [{"keyName": key, "value": _azure_key(account, key), "permissions": "FULL",
                          "creationTime": "2026-01-01T00:00:00Z"} for key in ("key1", "key2")]}
    if token == "azure-native:redisenterprise:listDatabaseKeys":
        cache = str(args.get("clusterName", ""))
        return {"primaryKey": _azure_key(cache, "primary")[:44], "secondaryKey": _azure_key(cache, "secondary")[:44]}
    if token.startswith("azure-native:"):
        return {}
    return None

