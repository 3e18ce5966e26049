"""Per-instance databases on the stack's shared (managed) servers, provisioned from a system namespace.

The servers' admin credentials exist only in `openedx-system`, as Secrets read by that namespace's Jobs; an
instance namespace, its settings and its Helm values only ever see the instance's own user, granted on its own
database. Each instance gets a Release of the `openedx-provisioning` chart there, whose hook Jobs create (or
update: a rotated password, a new connection limit) its database and user at every install and upgrade and, where
the data is not kept, drop them when the Release is uninstalled (the instance removed from the stack).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import pulumi
import pulumi_kubernetes as k8s

from components.charts import PROVISIONING_CHART, pinned_image_values
from components.infrastructure import ManagedEndpoint
from components.releases import chart_release

SYSTEM_NAMESPACE = "openedx-system"
SERVICES_VALUES = "charts/openedx-services/values.yaml"
ENGINES = ("mysql", "mongodb")
CA_KEY = "ca.pem"


def database_name(instance: str) -> str:
    """MySQL and MongoDB identifiers: the instance name (a DNS label) with '-' made '_'."""
    return f"openedx_{instance.replace('-', '_')}"


def user_name(instance: str) -> str:
    return f"openedx_{instance.replace('-', '_')}"[:32]  # MySQL 8 user names are at most 32 characters


def admin_secret_name(engine: str) -> str:
    return f"{engine}-admin"


def user_secret_name(instance: str, engine: str) -> str:
    return f"{instance}-{engine}-user"


@dataclass(frozen=True)
class DatabaseUser:
    """What the instance's user on the shared servers is: its password per engine (secret), the generation of each
    (a rotation upgrades the Release, which sets the new one), its MySQL connection limit, and its MySQL databases
    besides the instance's (its plugins'), provisioned and dropped with it."""

    passwords: dict[str, pulumi.Output[str]]
    revisions: dict[str, int]
    max_connections: int
    extra_databases: tuple[str, ...] = ()


class ServerAccess(NamedTuple):
    """How the Jobs reach a shared server."""

    host: str
    port: int
    tls: bool
    ca_known: bool


def provisioning_values(instance: str, servers: dict[str, ServerAccess], user: DatabaseUser,
                        remove_on_uninstall: bool) -> dict[str, Any]:
    """The openedx-provisioning chart's values for `instance` on `servers` (by engine)."""
    values: dict[str, Any] = {
        "global": {"instance": instance},
        "removeOnUninstall": remove_on_uninstall,
        "images": {engine: pinned_image_values(SERVICES_VALUES, engine, "image") for engine in ENGINES},
    }
    for engine in ENGINES:
        server = servers.get(engine)
        if server is None:
            values[engine] = {"enabled": False}
            continue
        values[engine] = {
            "enabled": True, "host": server.host, "port": server.port, "adminSecret": admin_secret_name(engine),
            "caKey": CA_KEY if server.ca_known else "", "instanceDatabase": database_name(instance),
            "instanceUser": user_name(instance), "passwordSecret": user_secret_name(instance, engine),
            "passwordRevision": user.revisions.get(engine, 0),
        }
        if engine == "mysql":
            # A managed server takes TLS connections only: fail rather than fall back to plain text, and verify
            # the server when its CA is known.
            ssl_mode = "PREFERRED" if not server.tls else "VERIFY_CA" if server.ca_known else "REQUIRED"
            values[engine] |= {"sslMode": ssl_mode, "maxConnections": user.max_connections,
                               "extraDatabases": list(user.extra_databases)}
    return values


class SharedServers(pulumi.ComponentResource):
    """The shared servers of the cluster, where instances' databases are provisioned. The stack that builds them
    (all-in-one or platform) also creates the system namespace and each server's admin credential (and CA bundle)
    there; an instance stack's servers carry no admin credential and it creates neither: its provisioning Jobs
    read the platform stack's admin Secrets by name, so the admin password never enters its state."""

    def __init__(self, name: str, provider: k8s.Provider, mysql: ManagedEndpoint | None = None,
                 mongodb: ManagedEndpoint | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openedx:index:SharedServers", name, None, opts)
        self._provider = provider
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self._servers = {engine: server for engine, server in (("mysql", mysql), ("mongodb", mongodb))
                         if server is not None}
        owned = {engine: server for engine, server in self._servers.items() if server.admin_password is not None}
        self.prerequisites: list[pulumi.Resource] = []
        """What the provisioning waits for: the namespace and the admin Secrets, when this stack creates them."""
        if owned:
            namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata={"name": SYSTEM_NAMESPACE, "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted", "app.kubernetes.io/part-of": "openedx"}},
                opts=child)
            self.prerequisites.append(namespace)
        for engine, server in owned.items():
            # The server's CA bundle (public) rides along, for the Jobs to verify the server with.
            credentials: dict[str, pulumi.Input[str]] = {
                "username": server.admin_username or "", "password": server.admin_password or "",
                **({CA_KEY: server.ca_certificate} if server.ca_certificate is not None else {})}
            self.prerequisites.append(k8s.core.v1.Secret(
                f"{name}-{engine}-admin",
                metadata={"name": admin_secret_name(engine), "namespace": SYSTEM_NAMESPACE},
                string_data=credentials,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))))
        self.register_outputs({"namespace": SYSTEM_NAMESPACE})

    def provision(self, instance: str, user: DatabaseUser, keep_data: bool,
                  parent: pulumi.Resource) -> k8s.helm.v3.Release:
        """The instance's database and user on each shared server, provisioned before the instance's Releases
        start, and dropped when the instance is removed unless `keep_data`."""
        opts = pulumi.ResourceOptions(parent=parent, provider=self._provider)
        passwords = [k8s.core.v1.Secret(
            f"{instance}-{engine}-user",
            metadata={"name": user_secret_name(instance, engine), "namespace": SYSTEM_NAMESPACE},
            string_data={"password": user.passwords[engine]},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=self.prerequisites)),
        ) for engine in self._servers]
        hosts = pulumi.Output.all(**{engine: server.host for engine, server in self._servers.items()})
        release_values = hosts.apply(lambda host: provisioning_values(instance, {
            engine: ServerAccess(host[engine], server.port, server.tls, server.ca_certificate is not None)
            for engine, server in self._servers.items()}, user, remove_on_uninstall=not keep_data))
        return chart_release(f"{instance}-provisioning", PROVISIONING_CHART, f"provision-{instance}",
                             SYSTEM_NAMESPACE, release_values, opts, depends_on=[*self.prerequisites, *passwords])
