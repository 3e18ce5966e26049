"""Deterministic offline mocks: the program runs as under `pulumi up`, with no engine, cloud or cluster.

Every resource type the program uses gets realistic computed outputs (ids, generated secrets, keys,
endpoints), derived from its URN so that two evaluations of a stack are identical. A recording monitor keeps
each registration as the engine would receive it: inputs, parent, provider reference and resource options.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import string
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from Crypto.PublicKey import RSA
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _sync_await

_ALPHANUMERIC = string.ascii_letters + string.digits
MOCK_RSA_KEYS = 2  # a small pool: a 2048-bit key costs ~0.3 s to generate, and the tests need only distinctness


@dataclass
class Registration:
    """One resource as the engine receives it."""

    type: str
    name: str
    urn: str
    id: str | None
    custom: bool
    parent: str
    provider: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    depends_on: list[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]


@dataclass
class Recording:
    resources: dict[str, Registration] = field(default_factory=dict)
    duplicate_urns: list[str] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)


def _seed(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(parts).encode()).digest()


def deterministic_alphanumeric(length: int, *seed: str) -> str:
    out, counter = "", 0
    while len(out) < length:
        block = hashlib.sha256(_seed(*seed) + counter.to_bytes(4, "big")).digest()
        out += "".join(_ALPHANUMERIC[b % len(_ALPHANUMERIC)] for b in block)
        counter += 1
    return out[:length]


class _Drbg:
    """A deterministic byte stream (SHA-512 in counter mode) for reproducible mock key generation."""

    def __init__(self, seed: bytes) -> None:
        self._seed, self._buffer, self._counter = seed, b"", 0

    def __call__(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hashlib.sha512(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


_KEY_LOCK = threading.Lock()


@functools.cache
def _mock_key_material(slot: int) -> dict[str, str]:
    key = RSA.generate(2048, randfunc=_Drbg(_seed("openedx-mock-rsa", str(slot))))
    public = key.public_key()
    return {
        "privateKeyPem": key.export_key("PEM").decode() + "\n",
        "privateKeyPemPkcs8": key.export_key("PEM", pkcs=8).decode() + "\n",
        "publicKeyPem": public.export_key("PEM").decode() + "\n",
        "privateKeyOpenssh": "",
        "publicKeyOpenssh": public.export_key("OpenSSH").decode() + "\n",
        "publicKeyFingerprintMd5": "",
        "publicKeyFingerprintSha256": "",
        "id": hashlib.sha1(public.export_key("DER")).hexdigest(),
    }


def _private_key_outputs(name: str) -> dict[str, str]:
    """A key from a small deterministic pool; the lock keeps concurrent registrations from generating twice."""
    with _KEY_LOCK:
        return _mock_key_material(int.from_bytes(_seed(name)[:4], "big") % MOCK_RSA_KEYS)


MOCK_ACCOUNT = "123456789012"
MOCK_REGION = "eu-west-1"


def _aws_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed outputs of the AWS resources the program uses (addresses, ARNs, generated names)."""
    short = hashlib.sha1(name.encode()).hexdigest()[:12]
    outputs: dict[str, Any] = {
        "arn": f"arn:aws:mock:{MOCK_REGION}:{MOCK_ACCOUNT}:{name}",
        "name": inputs.get("name", name),
    }
    if typ == "aws:eks/cluster:Cluster":
        cluster = inputs.get("name", name)
        outputs |= {
            "endpoint": f"https://{short.upper()}.gr7.{MOCK_REGION}.eks.amazonaws.com",
            "certificateAuthority": {
                "data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCm1vY2sKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
            },
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{MOCK_REGION}.amazonaws.com/id/{short.upper()}"}]}],
            "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{short}"},
            "arn": f"arn:aws:eks:{MOCK_REGION}:{MOCK_ACCOUNT}:cluster/{cluster}",
        }
    elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        outputs["arn"] = (
            f"arn:aws:iam::{MOCK_ACCOUNT}:oidc-provider/{str(inputs.get('url', '')).removeprefix('https://')}"
        )
    elif typ == "aws:iam/role:Role":
        outputs["arn"] = f"arn:aws:iam::{MOCK_ACCOUNT}:role/{name}-{short[:7]}"
        outputs["name"] = f"{name}-{short[:7]}"
    elif typ == "aws:rds/instance:Instance":
        outputs |= {
            "address": f"{name}.{short}.{MOCK_REGION}.rds.amazonaws.com",
            "port": 3306,
            "endpoint": f"{name}.{short}.{MOCK_REGION}.rds.amazonaws.com:3306",
        }
    elif typ == "aws:docdb/cluster:Cluster":
        cluster = inputs.get("clusterIdentifier", name)
        outputs |= {"endpoint": f"{cluster}.cluster-{short}.{MOCK_REGION}.docdb.amazonaws.com", "port": 27017,
                    "id": cluster}
    elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        group = inputs.get("replicationGroupId", name)
        outputs["primaryEndpointAddress"] = f"master.{group}.{short[:6]}.euw1.cache.amazonaws.com"
    elif typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}{short}"
        outputs |= {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "id": bucket}
    elif typ in ("aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup",
                 "aws:elasticache/subnetGroup:SubnetGroup", "aws:docdb/subnetGroup:SubnetGroup",
                 "aws:docdb/clusterParameterGroup:ClusterParameterGroup"):
        outputs["name"] = inputs.get("name", f"{name}-{short[:7]}")
    return outputs


MOCK_GCP_PROJECT = "openedx-mock"
MOCK_GCP_REGION = "europe-west1"


MOCK_GCP_PROJECT_NUMBER = "123456789012"
MOCK_GCP_PRIVATE_SERVICES = "10.64.0.0/16"
_GCP_ALLOCATED_RANGES: dict[str, str] = {}
"""Private services access ranges by name (GlobalAddress), so Cloud SQL and Memorystore get addresses inside."""


def _mock_pem(*seed: str) -> str:
    body = "".join(hashlib.sha512(_seed(*seed, str(i))).hexdigest() for i in range(2)).encode()
    text = base64.b64encode(body).decode()
    lines = "\n".join(text[i:i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


def _address_in(cidr: str, *seed: str) -> str:
    network = ipaddress.ip_network(cidr)
    offset = 2 + int.from_bytes(_seed(*seed)[:4], "big") % max(network.num_addresses - 4, 1)
    return str(network.network_address + offset)


def _gcp_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed outputs of the Google Cloud resources the program uses."""
    short = hashlib.sha1(name.encode()).hexdigest()[:12]
    project = inputs.get("project", MOCK_GCP_PROJECT)
    region = inputs.get("region") or inputs.get("location") or MOCK_GCP_REGION
    resource_name = inputs.get("name") or f"{name}-{short[:7]}"  # Pulumi's autonaming: a random suffix
    outputs: dict[str, Any] = {"project": project}
    if typ not in ("gcp:projects/service:Service", "gcp:servicenetworking/connection:Connection"):
        outputs["name"] = resource_name
    collection = {
        "gcp:compute/network:Network": f"projects/{project}/global/networks",
        "gcp:compute/globalAddress:GlobalAddress": f"projects/{project}/global/addresses",
        "gcp:compute/subnetwork:Subnetwork": f"projects/{project}/regions/{region}/subnetworks",
        "gcp:compute/router:Router": f"projects/{project}/regions/{region}/routers",
        "gcp:container/cluster:Cluster": f"projects/{project}/locations/{region}/clusters",
    }.get(typ)
    if collection:
        outputs["selfLink"] = f"https://www.googleapis.com/compute/v1/{collection}/{resource_name}"
    if typ == "gcp:compute/globalAddress:GlobalAddress" and inputs.get("address"):
        _GCP_ALLOCATED_RANGES[resource_name] = f"{inputs['address']}/{int(inputs.get('prefixLength', 16))}"
    elif typ == "gcp:compute/subnetwork:Subnetwork":
        cidr = inputs.get("ipCidrRange", "10.0.0.0/20")
        outputs["gatewayAddress"] = str(ipaddress.ip_network(cidr).network_address + 1)
    elif typ == "gcp:container/cluster:Cluster":
        outputs |= {
            "endpoint": _address_in("34.0.0.0/8", "gke", name),
            "masterAuth": {**inputs.get("masterAuth", {}),
                           "clusterCaCertificate": base64.b64encode(_mock_pem("gke-ca", name).encode()).decode()},
            "location": region,
            "labelFingerprint": short[:8],
        }
    elif typ == "gcp:container/nodePool:NodePool":
        outputs["instanceGroupUrls"] = [f"https://www.googleapis.com/compute/v1/projects/{project}/zones/{region}-{z}/"
                                        f"instanceGroupManagers/gke-{resource_name}-{short[:8]}-grp" for z in "bcd"]
    elif typ == "gcp:serviceaccount/account:Account":
        email = f"{inputs.get('accountId', name)}@{project}.iam.gserviceaccount.com"
        outputs |= {"email": email, "name": f"projects/{project}/serviceAccounts/{email}",
                    "member": f"serviceAccount:{email}",
                    "uniqueId": str(int(short, 16))}
    elif typ in ("gcp:projects/iAMMember:IAMMember", "gcp:serviceaccount/iAMMember:IAMMember",
                 "gcp:storage/bucketIAMMember:BucketIAMMember"):
        outputs = {"etag": f"BwY{short}"}
    elif typ == "gcp:servicenetworking/connection:Connection":
        outputs = {"peering": "servicenetworking-googleapis-com"}
    elif typ == "gcp:sql/databaseInstance:DatabaseInstance":
        ip_configuration = inputs.get("settings", {}).get("ipConfiguration", {})
        allocated = _GCP_ALLOCATED_RANGES.get(ip_configuration.get("allocatedIpRange", ""), MOCK_GCP_PRIVATE_SERVICES)
        address = _address_in(allocated, "cloudsql", name)
        outputs |= {
            "connectionName": f"{project}:{region}:{resource_name}",
            "privateIpAddress": address,
            "firstIpAddress": address,
            "ipAddresses": [{"ipAddress": address, "type": "PRIVATE"}],
            "publicIpAddress": "",
            "serverCaCerts": [{"cert": _mock_pem("cloudsql-ca", name), "commonName": f"C=US,O=Google\\, Inc,"
                               f"CN=Google Cloud SQL Server CA,dnQualifier={short}", "sha1Fingerprint": short}],
            "serviceAccountEmailAddress":
                f"p{MOCK_GCP_PROJECT_NUMBER}-{short[:6]}@gcp-sa-cloud-sql.iam.gserviceaccount.com",
            "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{project}/instances/{resource_name}",
        }
    elif typ == "gcp:redis/instance:Instance":
        allocated = _GCP_ALLOCATED_RANGES.get(inputs.get("reservedIpRange", ""), MOCK_GCP_PRIVATE_SERVICES)
        tls = inputs.get("transitEncryptionMode") == "SERVER_AUTHENTICATION"
        outputs |= {
            "host": _address_in(allocated, "memorystore", name),
            "port": 6378 if tls else 6379,
            "authString": str(uuid.UUID(bytes=_seed("memorystore-auth", name)[:16], version=4))
            if inputs.get("authEnabled") else "",
            "serverCaCerts": [{"cert": _mock_pem("memorystore-ca", name), "serialNumber": str(int(short, 16)),
                               "sha1Fingerprint": short}] if tls else [],
            "currentLocationId": f"{region}-b",
        }
    elif typ == "gcp:storage/bucket:Bucket":
        outputs |= {"url": f"gs://{resource_name}",
                    "selfLink": f"https://www.googleapis.com/storage/v1/b/{resource_name}",
                    "projectNumber": MOCK_GCP_PROJECT_NUMBER}
    return outputs


def _gcp_call(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Results of the Google Cloud invokes the program makes (None: not a Google Cloud invoke)."""
    project = args.get("projectId") or args.get("project") or MOCK_GCP_PROJECT
    if token == "gcp:organizations/getProject:getProject":
        return {"projectId": project, "number": MOCK_GCP_PROJECT_NUMBER, "name": project, "id": f"projects/{project}"}
    if token == "gcp:organizations/getClientConfig:getClientConfig":
        return {"project": project, "region": MOCK_GCP_REGION, "accessToken": "mock-access-token", "id": project}
    if token == "gcp:compute/getZones:getZones":
        region = args.get("region", MOCK_GCP_REGION)
        return {"names": [f"{region}-{zone}" for zone in "bcd"], "region": region, "project": project}
    if token.startswith("gcp:"):
        return {}
    return None


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
    return str(uuid.UUID(bytes=_seed("azure", *seed)[:16], version=4))


def _azure_key(*seed: str) -> str:
    """An access key as Azure shows them: 64 random bytes, base64 (88 characters)."""
    return base64.b64encode(hashlib.sha512(_seed("azure-key", *seed)).digest()).decode()


def _aks_fqdn(cluster: str, location: str = MOCK_AZURE_LOCATION) -> str:
    return f"{cluster}-{hashlib.sha1(cluster.encode()).hexdigest()[:8]}.hcp.{location}.azmk8s.io"


def _aks_user_kubeconfig(cluster: str) -> str:
    """What listManagedClusterUserCredentials returns for an Entra ID cluster: base64 YAML, exec user."""
    body = base64.b64encode(hashlib.sha512(_seed("aks-ca", cluster)).digest() * 4).decode()
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


def _azure_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
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


def _azure_call(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
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


def _computed_outputs(typ: str, name: str, urn: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs the provider would compute for `typ`, so that `apply` code runs as it would for real."""
    if typ.startswith("aws:") and not typ.startswith("aws:index/"):
        return _aws_outputs(typ, name, inputs)
    if typ.startswith("gcp:"):
        return _gcp_outputs(typ, name, inputs)
    if typ.startswith("azure-native:"):
        return _azure_outputs(typ, name, inputs)
    if typ in ("random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString"):
        return {"result": deterministic_alphanumeric(int(inputs.get("length", 16)), urn)}
    if typ == "random:index/randomUuid:RandomUuid":
        return {"result": str(uuid.UUID(bytes=_seed(urn)[:16], version=4))}
    if typ == "random:index/randomId:RandomId":
        raw = _seed(urn)[: int(inputs.get("byteLength", 8))]
        return {"hex": raw.hex(), "dec": str(int.from_bytes(raw, "big"))}
    if typ == "tls:index/privateKey:PrivateKey":
        return _private_key_outputs(urn)
    if typ == "kubernetes:helm.sh/v3:Release":
        chart = inputs.get("chart", "")
        return {
            "status": {
                "name": inputs.get("name", name),
                "namespace": inputs.get("namespace", "default"),
                "chart": chart.rstrip("/").rsplit("/", 1)[-1],
                "version": inputs.get("version", ""),
                "status": "deployed",
                "revision": 1,
            }
        }
    return {}


class OfflineMocks(pulumi_mocks.Mocks):
    def __init__(self, project: str, stack: str) -> None:
        self.project, self.stack = project, stack

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        urn_seed = f"{args.typ}::{args.name}"
        outputs = {**args.inputs, **_computed_outputs(args.typ, args.name, urn_seed, args.inputs)}
        metadata = outputs.get("metadata")
        if isinstance(metadata, dict) and "name" not in metadata and args.typ.startswith("kubernetes:"):
            outputs["metadata"] = {**metadata, "name": f"{args.name}-{hashlib.sha1(urn_seed.encode()).hexdigest()[:8]}"}
        # The provider's id where the computed outputs name one (ARM ids, bucket names), else a stand-in.
        resource_id = args.resource_id or (str(outputs.get("id") or f"{args.name}-id") if args.custom else None)
        if isinstance(metadata, dict) and args.typ.startswith("kubernetes:") and "name" in metadata:
            namespace = metadata.get("namespace")
            resource_id = f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])
        return resource_id, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{MOCK_REGION}{zone}" for zone in "abc"]
            return {"names": names, "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)], "id": MOCK_REGION}, []
        for cloud_call in (_gcp_call, _azure_call):
            result = cloud_call(args.token, dict(args.args))
            if result is not None:
                return result, []
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, keeping what the engine would receive with each registration."""

    def __init__(self, mocks: OfflineMocks) -> None:
        super().__init__(mocks)
        self.recording = Recording()

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        urn = response.urn
        if request.additionalSecretOutputs:
            response = self._with_secret_outputs(response, set(request.additionalSecretOutputs))
        if urn in self.recording.resources:
            self.recording.duplicate_urns.append(urn)
        registered = self.resources[urn]
        self.recording.resources[urn] = Registration(
            type=request.type,
            name=request.name,
            urn=urn,
            id=registered.id,
            custom=bool(request.custom),
            parent=request.parent,
            provider=request.provider,
            inputs=_plain(json_format.MessageToDict(request.object)),
            outputs=_plain(registered.state),
            depends_on=sorted(request.dependencies),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=list(request.ignoreChanges),
        )
        return response

    def _with_secret_outputs(self, response: Any, secret_names: set[str]) -> Any:
        """The engine marks a provider's declared secret outputs (generated passwords, private keys) as secrets."""
        state = self.resources[response.urn].state
        wrapped = {
            k: {rpc._special_sig_key: rpc._special_secret_sig, "value": v} if k in secret_names else v
            for k, v in state.items()
        }
        properties = _sync_await(rpc.serialize_properties(wrapped, {}))
        return resource_pb2.RegisterResourceResponse(urn=response.urn, id=response.id, object=properties)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.recording.stack_outputs = _plain(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)


def _plain(value: Any) -> Any:
    """JSON-safe copy: resource references and other SDK objects become strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
