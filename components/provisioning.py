"""Per-instance databases on a shared (managed) MySQL server, created by a Job in a system namespace.

The server's admin credentials exist only in `openedx-system`, as a Secret read by that namespace's Jobs; an
instance namespace, its settings and its Helm values only ever see the instance's own user, granted on its own
database. Each Job is idempotent (IF NOT EXISTS, ALTER USER), owned by Pulumi (no TTL: a refresh must not
recreate it), and named after a digest of what it does, so a change runs a new Job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.infrastructure import ManagedEndpoint

SYSTEM_NAMESPACE = "openedx-system"
ADMIN_SECRET = "mysql-admin"
MYSQL_CLIENT_IMAGE = "docker.io/mysql:8.4.11"  # the server image Tutor 22.0.3 runs; it ships the mysql client
JOB_DEADLINE = 600
RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 999,
    "runAsGroup": 999,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}

# The script reads everything from the environment: no credential is ever part of the Job's spec.
PROVISION_SCRIPT = """set -eu
export MYSQL_PWD="$ADMIN_PASSWORD"
mysql --host="$MYSQL_HOST" --port="$MYSQL_PORT" --user="$ADMIN_USER" --ssl-mode="$SSL_MODE" --connect-timeout=20 <<SQL
CREATE DATABASE IF NOT EXISTS \\`$DATABASE\\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$APP_USER'@'%' IDENTIFIED BY '$APP_PASSWORD';
ALTER USER '$APP_USER'@'%' IDENTIFIED BY '$APP_PASSWORD';
GRANT ALL PRIVILEGES ON \\`$DATABASE\\`.* TO '$APP_USER'@'%';
SQL
"""


def database_name(instance: str) -> str:
    """MySQL identifiers: the instance name (a DNS label) with '-' made '_'."""
    return f"openedx_{instance.replace('-', '_')}"


def user_name(instance: str) -> str:
    return f"openedx_{instance.replace('-', '_')}"[:32]  # MySQL 8 user names are at most 32 characters


@dataclass(frozen=True)
class SystemNamespace:
    namespace: k8s.core.v1.Namespace
    admin_secret: k8s.core.v1.Secret


class SharedMysql(pulumi.ComponentResource):
    """The system namespace and the admin credential of the stack's shared MySQL server."""

    system: SystemNamespace

    def __init__(self, name: str, server: ManagedEndpoint, provider: k8s.Provider,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openedx:index:SharedMysql", name, None, opts)
        self.server = server
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": SYSTEM_NAMESPACE, "labels": {
                "pod-security.kubernetes.io/enforce": "restricted", "app.kubernetes.io/part-of": "openedx"}},
            opts=child)
        admin = k8s.core.v1.Secret(
            f"{name}-admin",
            metadata={"name": ADMIN_SECRET, "namespace": namespace.metadata.name},
            string_data={"username": server.admin_username, "password": server.admin_password},
            opts=child)
        self.system = SystemNamespace(namespace, admin)
        self._child = child
        self.register_outputs({"namespace": namespace.metadata.name})

    def provision(self, instance: str, app_password: pulumi.Output[str], parent: pulumi.Resource) -> k8s.batch.v1.Job:
        """The instance's database and user; the returned Job completes before the instance's Releases start."""
        opts = pulumi.ResourceOptions(parent=parent, provider=self._child.provider)
        ns = self.system.namespace.metadata.name
        password = k8s.core.v1.Secret(
            f"{instance}-mysql-user",
            metadata={"name": f"{instance}-mysql-user", "namespace": ns},
            string_data={"password": app_password},
            opts=opts)
        database, user = database_name(instance), user_name(instance)
        digest = hashlib.sha256(f"{PROVISION_SCRIPT}{database}{user}{MYSQL_CLIENT_IMAGE}".encode()).hexdigest()[:8]

        def env(name: str, value: pulumi.Input[str] | None = None, secret: str | None = None,
                key: str | None = None) -> dict[str, object]:
            if secret is not None:
                return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
            return {"name": name, "value": value}

        metadata: Any = {"name": f"provision-{instance}-{digest}", "namespace": ns,
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
                        "image": MYSQL_CLIENT_IMAGE,
                        "command": ["bash", "-c", PROVISION_SCRIPT],
                        "env": [
                            env("MYSQL_HOST", self.server.host),
                            env("MYSQL_PORT", str(self.server.port)),
                            # A managed server takes TLS connections only; fail rather than fall back to plain.
                            env("SSL_MODE", "REQUIRED" if self.server.tls else "PREFERRED"),
                            env("ADMIN_USER", secret=ADMIN_SECRET, key="username"),
                            env("ADMIN_PASSWORD", secret=ADMIN_SECRET, key="password"),
                            env("DATABASE", database),
                            env("APP_USER", user),
                            env("APP_PASSWORD", secret=f"{instance}-mysql-user", key="password"),
                        ],
                        "securityContext": RESTRICTED,
                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                      "limits": {"cpu": "500m", "memory": "256Mi"}},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        }
        return k8s.batch.v1.Job(
            f"{instance}-mysql-provision",
            metadata=metadata,
            spec=spec,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                depends_on=[password, self.system.admin_secret], delete_before_replace=True)),
        )
