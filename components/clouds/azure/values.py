"""Azure values: pure functions of the settings (subnet ranges, names, SKUs, role definitions, the kubeconfig) and of
what Azure answers (keys, identities, host names), which the adapter and the tests share."""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping, Sequence

import yaml
from pulumi_azure_native import containerservice, storage

from components.clouds import common

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


def autoscaler_profile(flags: Mapping[str, str]) -> containerservice.ManagedClusterPropertiesAutoScalerProfileArgs:
    """The cluster autoscaler's flags as the AKS autoscaler profile's arguments (strings there too)."""
    return containerservice.ManagedClusterPropertiesAutoScalerProfileArgs(
        expander=flags["expander"],
        balance_similar_node_groups=flags["balance-similar-node-groups"],
        skip_nodes_with_local_storage=flags["skip-nodes-with-local-storage"])


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


def user_kubeconfig(kubeconfigs: Sequence[containerservice.outputs.CredentialResultResponse]) -> str:
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


def enabled(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def first_key(keys: Sequence[storage.outputs.StorageAccountKeyResponse] | None) -> str:
    if not keys:
        raise ValueError("the storage account returned no keys")
    return keys[0].value


def kubelet_object_id(
        profile: Mapping[str, containerservice.outputs.UserAssignedIdentityManagedClusterResponse] | None) -> str:
    kubelet = (profile or {}).get("kubeletidentity")
    if kubelet is None or not kubelet.object_id:
        raise ValueError("the AKS cluster reports no kubelet identity")
    return kubelet.object_id


def fqdn(value: str | None) -> str:
    if not value:
        raise ValueError("the MySQL server reports no fully qualified domain name")
    return value
