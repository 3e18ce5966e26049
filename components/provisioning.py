"""Per-instance databases on the stack's shared (managed) servers, created by Jobs in a system namespace.

The servers' admin credentials exist only in `openedx-system`, as Secrets read by that namespace's Jobs; an
instance namespace, its settings and its Helm values only ever see the instance's own user, granted on its own
database. Each Job is idempotent (create if missing, then set the password), owned by Pulumi (no TTL: a refresh
must not recreate it), and named after a digest of what it does, so a change runs a new Job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.charts import pinned_image
from components.infrastructure import ManagedEndpoint

SYSTEM_NAMESPACE = "openedx-system"
SERVICES_VALUES = "charts/openedx-services/values.yaml"
JOB_DEADLINE = 600
CLIENT_UID = 999  # the mysql and mongodb users of the official server images, which carry the clients
RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": CLIENT_UID,
    "runAsGroup": CLIENT_UID,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
CA_MOUNT = "/etc/openedx-ca"
CA_KEY = "ca.pem"

# The scripts read everything from the environment: no credential is ever part of a Job's spec or command line.
MYSQL_SCRIPT = """set -eu
export MYSQL_PWD="$ADMIN_PASSWORD"
mysql --host="$SERVER_HOST" --port="$SERVER_PORT" --user="$ADMIN_USER" --connect-timeout=20 \\
  --ssl-mode="$SSL_MODE" ${CA_FILE:+--ssl-ca="$CA_FILE"} <<SQL
CREATE DATABASE IF NOT EXISTS \\`$DATABASE\\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$APP_USER'@'%' IDENTIFIED BY '$APP_PASSWORD';
ALTER USER '$APP_USER'@'%' IDENTIFIED BY '$APP_PASSWORD';
GRANT ALL PRIVILEGES ON \\`$DATABASE\\`.* TO '$APP_USER'@'%';
SQL
"""

# Amazon DocumentDB keeps every user in `admin`; the role limits it to the instance's database.
MONGODB_SCRIPT = """set -eu
exec mongosh --nodb --quiet --eval '
const env = process.env;
const params = new URLSearchParams({tls: "true", tlsCAFile: env.CA_FILE, retryWrites: "false", authSource: "admin"});
const uri = "mongodb://" + encodeURIComponent(env.ADMIN_USER) + ":" + encodeURIComponent(env.ADMIN_PASSWORD) +
  "@" + env.SERVER_HOST + ":" + env.SERVER_PORT + "/?" + params.toString();
const admin = new Mongo(uri).getDB("admin");
const roles = [{role: "readWrite", db: env.DATABASE}];
if (admin.getUser(env.APP_USER)) {
  admin.updateUser(env.APP_USER, {pwd: env.APP_PASSWORD, roles: roles});
} else {
  admin.createUser({user: env.APP_USER, pwd: env.APP_PASSWORD, roles: roles});
}
print("user", env.APP_USER, "may read and write", env.DATABASE);
'
"""


def database_name(instance: str) -> str:
    """MySQL and MongoDB identifiers: the instance name (a DNS label) with '-' made '_'."""
    return f"openedx_{instance.replace('-', '_')}"


def user_name(instance: str) -> str:
    return f"openedx_{instance.replace('-', '_')}"[:32]  # MySQL 8 user names are at most 32 characters


@dataclass(frozen=True)
class _Database:
    """What differs between provisioning a MySQL and a MongoDB database."""

    service: str
    image: str
    script: str


MYSQL = _Database("mysql", pinned_image(SERVICES_VALUES, "mysql", "image"), MYSQL_SCRIPT)
MONGODB = _Database("mongodb", pinned_image(SERVICES_VALUES, "mongodb", "image"), MONGODB_SCRIPT)


def admin_secret_name(engine: _Database) -> str:
    return f"{engine.service}-admin"


class SharedServers(pulumi.ComponentResource):
    """The system namespace, and the admin credential (and CA bundle) of each shared server of the stack."""

    def __init__(self, name: str, provider: k8s.Provider, mysql: ManagedEndpoint | None = None,
                 mongodb: ManagedEndpoint | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openedx:index:SharedServers", name, None, opts)
        self._provider = provider
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": SYSTEM_NAMESPACE, "labels": {
                "pod-security.kubernetes.io/enforce": "restricted", "app.kubernetes.io/part-of": "openedx"}},
            opts=child)
        self._servers: dict[str, tuple[ManagedEndpoint, k8s.core.v1.Secret]] = {}
        for engine, server in ((MYSQL, mysql), (MONGODB, mongodb)):
            if server is None:
                continue
            # The server's CA bundle (public) rides along, for the Jobs to verify the server with.
            credentials: dict[str, pulumi.Input[str]] = {
                "username": server.admin_username, "password": server.admin_password,
                **({CA_KEY: server.ca_certificate} if server.ca_certificate is not None else {})}
            admin = k8s.core.v1.Secret(
                f"{name}-{engine.service}-admin",
                metadata={"name": admin_secret_name(engine), "namespace": SYSTEM_NAMESPACE},
                string_data=credentials,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.namespace])))
            self._servers[engine.service] = (server, admin)
        self.register_outputs({"namespace": SYSTEM_NAMESPACE})

    def provision(self, instance: str, passwords: dict[str, pulumi.Output[str]],
                  parent: pulumi.Resource) -> list[k8s.batch.v1.Job]:
        """The instance's database and user on each shared server (`passwords` by service: "mysql", "mongodb");
        the returned Jobs complete before the instance's Releases start."""
        return [self._job(engine, instance, passwords[engine.service], parent)
                for engine in (MYSQL, MONGODB) if engine.service in self._servers]

    def _job(self, engine: _Database, instance: str, app_password: pulumi.Output[str],
             parent: pulumi.Resource) -> k8s.batch.v1.Job:
        server, admin = self._servers[engine.service]
        opts = pulumi.ResourceOptions(parent=parent, provider=self._provider)
        password = k8s.core.v1.Secret(
            f"{instance}-{engine.service}-user",
            metadata={"name": f"{instance}-{engine.service}-user", "namespace": SYSTEM_NAMESPACE},
            string_data={"password": app_password},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.namespace])))
        database, user = database_name(instance), user_name(instance)
        digest = hashlib.sha256(f"{engine.script}{database}{user}{engine.image}".encode()).hexdigest()[:8]

        def env(name: str, value: pulumi.Input[str] | None = None, secret: str | None = None,
                key: str | None = None) -> dict[str, object]:
            if secret is not None:
                return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
            return {"name": name, "value": value}

        variables = [
            env("SERVER_HOST", server.host),
            env("SERVER_PORT", str(server.port)),
            # A managed server takes TLS connections only: fail rather than fall back to plain text, and verify
            # the server when its CA is known.
            env("SSL_MODE", "PREFERRED" if not server.tls else "VERIFY_CA" if server.ca_certificate else "REQUIRED"),
            env("ADMIN_USER", secret=admin_secret_name(engine), key="username"),
            env("ADMIN_PASSWORD", secret=admin_secret_name(engine), key="password"),
            env("DATABASE", database),
            env("APP_USER", user),
            env("APP_PASSWORD", secret=f"{instance}-{engine.service}-user", key="password"),
            env("HOME", "/tmp"),  # mongosh keeps its state under $HOME; the root filesystem is read-only
        ]
        mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
        volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
        if server.ca_certificate is not None:
            variables.append(env("CA_FILE", f"{CA_MOUNT}/{CA_KEY}"))
            mounts.append({"name": "ca", "mountPath": CA_MOUNT, "readOnly": True})
            volumes.append({"name": "ca", "secret": {"secretName": admin_secret_name(engine),
                                                     "items": [{"key": CA_KEY, "path": CA_KEY}]}})
        metadata: Any = {
            "name": f"provision-{instance}-{engine.service}-{digest}", "namespace": SYSTEM_NAMESPACE,
            "labels": {"app.openedx.org/instance": instance, "app.kubernetes.io/component": "provisioning"}}
        spec: Any = {
            "backoffLimit": 3,
            "activeDeadlineSeconds": JOB_DEADLINE,
            "template": {
                "metadata": {"labels": {"app.openedx.org/instance": instance}},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "provision",
                        "image": engine.image,
                        "command": ["bash", "-c", engine.script],
                        "env": variables,
                        "securityContext": RESTRICTED,
                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                      "limits": {"cpu": "500m", "memory": "512Mi"}},
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        }
        return k8s.batch.v1.Job(
            f"{instance}-{engine.service}-provision",
            metadata=metadata,
            spec=spec,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                depends_on=[password, admin], delete_before_replace=True)),
        )
