"""Every value Tutor would generate at random, generated once by Pulumi and kept in its state.

Alphanumeric only: Tutor renders them as Jinja and its init scripts use some unquoted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
import pulumi_tls as tls


@dataclass(frozen=True)
class InstanceSecrets:
    secret_key: pulumi.Output[str]
    jwt_rsa_private_key: pulumi.Output[str]
    cms_oauth2_secret: pulumi.Output[str]
    meilisearch_master_key: pulumi.Output[str]
    meilisearch_api_key_uid: pulumi.Output[str]
    instance_id: pulumi.Output[str]
    mysql_password: pulumi.Output[str]
    mongodb_password: pulumi.Output[str]
    mysql_root_password: pulumi.Output[str]
    """Root of the instance's own in-cluster MySQL: used by that server only, never given to Tutor."""
    mongodb_root_password: pulumi.Output[str]


def _password(name: str, length: int, parent: pulumi.Resource) -> pulumi.Output[str]:
    return random.RandomPassword(
        name, length=length, special=False, opts=pulumi.ResourceOptions(parent=parent)
    ).result


def generate(name: str, parent: pulumi.Resource) -> InstanceSecrets:
    """The instance's secrets, children of `parent`, named after the instance."""
    jwt_key = tls.PrivateKey(f"{name}-jwt", algorithm="RSA", rsa_bits=2048, opts=pulumi.ResourceOptions(parent=parent))
    instance_id = random.RandomString(
        f"{name}-id", length=24, special=False, upper=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    meilisearch_uid = random.RandomUuid(f"{name}-meilisearch-key-uid", opts=pulumi.ResourceOptions(parent=parent))
    return InstanceSecrets(
        secret_key=_password(f"{name}-secret-key", 48, parent),
        jwt_rsa_private_key=jwt_key.private_key_pem,
        cms_oauth2_secret=_password(f"{name}-cms-oauth2-secret", 32, parent),
        meilisearch_master_key=_password(f"{name}-meilisearch-master-key", 32, parent),
        meilisearch_api_key_uid=meilisearch_uid.result,
        instance_id=instance_id.result,
        mysql_password=_password(f"{name}-mysql-password", 32, parent),
        mongodb_password=_password(f"{name}-mongodb-password", 32, parent),
        mysql_root_password=_password(f"{name}-mysql-root-password", 32, parent),
        mongodb_root_password=_password(f"{name}-mongodb-root-password", 32, parent),
    )
