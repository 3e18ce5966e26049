"""Every value Tutor would generate at random, generated once by Pulumi and kept in its state.

One random master secret per instance (`pulumi_random`), from which each value is derived with HMAC-SHA256
under its own label: as unpredictable as separate random resources, but one resource instead of nine per
instance (the program's cost grows with its resource count). The JWT signing key is a real RSA key
(`pulumi_tls`). Each credential is rotated on its own by raising its generation (`Rotations`): generation N > 0
derives from the label `<label>#N`, and the JWT key is a new resource; generation 0 keeps what an instance was
installed with. Values are alphanumeric because Tutor renders them as Jinja and its init scripts use some unquoted.

An instance moved from an existing Tutor installation keeps that installation's values (`tutorSecrets`, stack
secrets) at generation 0 instead: its users' sessions, tokens and links survive the move. Rotating one replaces it.
"""

from __future__ import annotations

import hashlib
import hmac
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_random as random
import pulumi_tls as tls
from pydantic import SecretStr

from components.settings import plugins as tutor_plugins
from components.settings.instance import CarriedSecret
from components.settings.rotations import Rotations

_ALPHABET = string.ascii_letters + string.digits
_LOWER_ALPHABET = string.ascii_lowercase + string.digits
MASTER_LENGTH = 64


@dataclass(frozen=True)
class GeneratedSecrets:
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
    admin_password: pulumi.Output[str]
    """Of the superuser created on the first install (`admin`): a stack secret output, never given to Tutor."""
    plugin_secrets: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    """The instance's plugins' secrets, by Tutor key."""


def derive(master: str, label: str, length: int, alphabet: str = _ALPHABET) -> str:
    """`length` characters of `alphabet`, from HMAC-SHA256(master, label) in counter mode (uniform: bytes ≥ the
    largest multiple of the alphabet size are skipped)."""
    limit = 256 - 256 % len(alphabet)
    out: list[str] = []
    counter = 0
    while len(out) < length:
        block = hmac.new(master.encode(), f"{label}:{counter}".encode(), hashlib.sha256).digest()
        out += [alphabet[b % len(alphabet)] for b in block if b < limit]
        counter += 1
    return "".join(out[:length])


def derive_uuid(master: str, label: str) -> str:
    digest = hmac.new(master.encode(), label.encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def generation_label(label: str, generation: int) -> str:
    """The label a credential's `generation` derives from: the label itself for the first one."""
    return label if generation == 0 else f"{label}#{generation}"


def generate(name: str, parent: pulumi.Resource, rotations: Rotations, plugins: tuple[str, ...] = (),
             carried: Mapping[CarriedSecret, SecretStr] | None = None) -> GeneratedSecrets:
    """The instance's secrets, children of `parent`, named after the instance, at the generations of `rotations`;
    its plugins' too; `carried` (Tutor key -> value) replaces a generated value at generation 0."""
    kept: dict[str, str] = {key: value.get_secret_value() for key, value in (carried or {}).items()}
    master = random.RandomPassword(
        f"{name}-master-secret", length=MASTER_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
    ).result

    def secret(label: str, length: int = 32, alphabet: str = _ALPHABET, generation: int = 0,
               tutor_key: str = "") -> pulumi.Output[str]:
        if generation == 0 and tutor_key in kept:
            return pulumi.Output.secret(kept[tutor_key])
        labelled = generation_label(label, generation)
        return pulumi.Output.secret(master.apply(lambda m: derive(m, labelled, length, alphabet)))

    if rotations.jwt == 0 and "JWT_RSA_PRIVATE_KEY" in kept:
        jwt_pem = pulumi.Output.secret(kept["JWT_RSA_PRIVATE_KEY"])
    else:
        # A new generation is a new resource: the engine creates the new key, then deletes the previous one.
        jwt_name = f"{name}-jwt" if rotations.jwt == 0 else f"{name}-jwt-{rotations.jwt}"
        jwt_pem = tls.PrivateKey(jwt_name, algorithm="RSA", rsa_bits=2048,
                                 opts=pulumi.ResourceOptions(parent=parent)).private_key_pem
    return GeneratedSecrets(
        secret_key=secret("django-secret-key", 48, generation=rotations.secret_key, tutor_key="OPENEDX_SECRET_KEY"),
        jwt_rsa_private_key=jwt_pem,
        cms_oauth2_secret=secret("cms-oauth2-secret", generation=rotations.oauth2, tutor_key="CMS_OAUTH2_SECRET"),
        meilisearch_master_key=secret("meilisearch-master-key", generation=rotations.meilisearch),
        meilisearch_api_key_uid=master.apply(lambda m: derive_uuid(m, "meilisearch-api-key-uid")),
        # Tutor's ID is only a label value: not a secret, lowercase like Tutor's own.
        instance_id=pulumi.Output.unsecret(master.apply(lambda m: derive(m, "instance-id", 24, _LOWER_ALPHABET))),
        mysql_password=secret("mysql-password", generation=rotations.mysql),
        mongodb_password=secret("mongodb-password", generation=rotations.mongodb),
        mysql_root_password=secret("mysql-root-password"),
        mongodb_root_password=secret("mongodb-root-password"),
        admin_password=secret("admin-password", 24),
        plugin_secrets={
            key: secret(f"tutor-{key.lower()}", length, generation=getattr(rotations, rotated_by), tutor_key=key)
            for key, (length, rotated_by) in sorted(tutor_plugins.generated_secrets(plugins).items())},
    )
