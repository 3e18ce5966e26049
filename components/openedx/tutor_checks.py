"""What Tutor could not render, refused with the field that holds it: the Tutor keys the program sets itself, and
values that would not survive as literals.

Tutor treats every config value as a Jinja template and pastes it into YAML, Python and shell files without
escaping. So generated secrets must be alphanumeric, credentials issued by someone else and plain text must avoid
quotes, backslashes and braces. The operator's `tutorConfig` passthrough is the one place where Jinja is allowed
on purpose. The same checks run twice: on the stack's settings before anything is created (`settings_problems`,
added to the settings' checks by the program), and on the whole instance before each render (`problems`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from components.openedx import tutor_plugin
from components.openedx.tutor_instance import (
    AzureBlobStorage,
    GcsStorage,
    MeilisearchEndpoint,
    MongodbEndpoint,
    MysqlEndpoint,
    ObjectStorage,
    RedisEndpoint,
    S3Storage,
    SmtpEndpoint,
    TutorInstance,
)
from components.settings import plugins as tutor_plugins
from components.settings.instance import InstanceSettings
from components.settings.model import CREDENTIAL

# --- keys the program owns ----------------------------------------------------------------------------------------

_INFRA = "it comes from the infrastructure"
_GENERATED = "it is generated"
_FIXED = "it is fixed (Caddy is an internal router behind the ingress)"
_NO_ROOT = "the database root credential is never given to Tutor"
_DERIVED = "it is derived from the instance name"
_STORAGE = "it is the instance's object storage"
_INTERNAL = "it is internal to the program's Tutor plugin"
_PLUGIN_HOST = "it is derived from lmsHost (<service>.<lmsHost>)"
_PLUGIN_DATABASE = "the plugin's database is provisioned beside the instance's, for the instance's user"


def _use(key: str) -> str:
    return f"use {key} instead"


OWNED_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "PLUGINS": _use("plugins"),
        "LMS_HOST": _use("lmsHost"),
        "CMS_HOST": _use("cmsHost"),
        "MFE_HOST": _use("mfeHost"),
        "ENABLE_HTTPS": _use("https"),
        "ENABLE_WEB_PROXY": _FIXED,
        "CADDY_HTTP_PORT": _FIXED,
        "PLATFORM_NAME": _use("platformName"),
        "CONTACT_EMAIL": _use("contactEmail"),
        "LANGUAGE_CODE": _use("language"),
        "DOCKER_IMAGE_OPENEDX": _use("images.openedx"),
        "MFE_DOCKER_IMAGE": _use("images.mfe"),
        **{f"RUN_{service}": _INFRA for service in ("MYSQL", "MONGODB", "REDIS", "SMTP", "MEILISEARCH")},
        "MYSQL_HOST": _INFRA,
        "MYSQL_PORT": _INFRA,
        "MYSQL_ROOT_USERNAME": _NO_ROOT,
        "MYSQL_ROOT_PASSWORD": _NO_ROOT,
        "OPENEDX_MYSQL_DATABASE": _DERIVED,
        "OPENEDX_MYSQL_USERNAME": _DERIVED,
        "OPENEDX_MYSQL_PASSWORD": _GENERATED,
        "MONGODB_HOST": _INFRA,
        "MONGODB_PORT": _INFRA,
        "MONGODB_DATABASE": _DERIVED,
        "MONGODB_USERNAME": _DERIVED,
        "MONGODB_PASSWORD": _GENERATED,
        "MONGODB_AUTH_SOURCE": _INFRA,
        "MONGODB_USE_SSL": _INFRA,
        "MONGODB_REPLICA_SET": _INFRA,
        "REDIS_HOST": _INFRA,
        "REDIS_PORT": _INFRA,
        "REDIS_USERNAME": _INFRA,
        "REDIS_PASSWORD": _GENERATED,
        "MEILISEARCH_URL": _INFRA,
        "MEILISEARCH_PUBLIC_URL": _INFRA,
        "MEILISEARCH_HOST": _INFRA,
        "MEILISEARCH_INDEX_PREFIX": _INFRA,
        "MEILISEARCH_MASTER_KEY": _GENERATED,
        "MEILISEARCH_API_KEY_UID": _GENERATED,
        "MEILISEARCH_API_KEY": _GENERATED,
        "SMTP_HOST": _use("email"),
        "SMTP_PORT": _use("email"),
        "SMTP_USERNAME": _use("email"),
        "SMTP_PASSWORD": _use("email"),
        "SMTP_USE_TLS": _use("email"),
        "SMTP_USE_SSL": _use("email"),
        "OPENEDX_SECRET_KEY": _GENERATED,
        "JWT_COMMON_SECRET_KEY": _GENERATED,
        "JWT_RSA_PRIVATE_KEY": _GENERATED,
        "CMS_OAUTH2_SECRET": _GENERATED,
        "ID": _GENERATED,
        "OPENEDX_AWS_ACCESS_KEY": _STORAGE,
        "OPENEDX_AWS_SECRET_ACCESS_KEY": _STORAGE,
        **{key: _INTERNAL for key in tutor_plugin.CONFIG_KEYS},
        **{service.host_key: _PLUGIN_HOST for service in tutor_plugins.ALL_SERVICES},
        **{key: _PLUGIN_DATABASE for service in tutor_plugins.ALL_SERVICES for key in service.mysql_keys},
        **{key: _GENERATED for plugin in tutor_plugins.SUPPORTED.values() for key in plugin.secrets},
    }
)
"""Every Tutor key the program sets itself (plus the two it derives: MEILISEARCH_API_KEY, JWT_COMMON_SECRET_KEY),
with why: what to use instead, or what sets it. Stack validation refuses them in `tutorConfig`."""


def owned_key_problem(key: str) -> str:
    return f"set by the program; {OWNED_KEYS[key]}"

# --- validation ---------------------------------------------------------------------------------------------------

_ALNUM = re.compile(r"[A-Za-z0-9]+")
# Plain text lands in double-quoted YAML and Python strings: no quote, backslash, brace or control character.
_UNSAFE_TEXT = re.compile(r'["\\{}\x00-\x1f\x7f]')
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")
_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#\[\]@!&()*+,;=%-]+")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_.-]*")
_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*")
_PLUGIN = re.compile(r"[a-z0-9][a-z0-9_-]*")
TUTOR_KEY = re.compile(r"[A-Z][A-Z0-9_]*")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END [A-Z ]*PRIVATE KEY-----\n?")
_CERTIFICATES = re.compile(r"(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?)+")

Check = Callable[[Any], str | None]
"""Returns what is wrong with a value, or None."""


def _secret(value: Any) -> str | None:
    if not isinstance(value, str) or not _ALNUM.fullmatch(value):
        return "must be a non-empty alphanumeric string (Tutor renders it as Jinja and its scripts use some unquoted)"
    return None


def _credential(value: Any) -> str | None:
    if not isinstance(value, str) or not CREDENTIAL.fullmatch(value):
        return "must be non-empty, without quotes, backslashes, braces, '$', '`' or whitespace"
    return None


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or _UNSAFE_TEXT.search(value):
        return "must be text without double quotes, backslashes, braces or control characters"
    return None


def _required_text(value: Any) -> str | None:
    return _text(value) or (None if value else "must not be empty")


def _matching(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        return None if isinstance(value, str) and pattern.fullmatch(value) else f"must be {what} (got {value!r})"

    return check


_host = _matching(_HOST, "a host name")
_url = _matching(_URL, "an http(s) URL without quotes, spaces, braces or '$'")
_identifier = _matching(_IDENTIFIER, "letters, digits, '_', '.' or '-'")
_image = _matching(_IMAGE, "an image reference (repository:tag)")
_pem = _matching(_PEM, "a PEM private key")
_certificate = _matching(_CERTIFICATES, "PEM certificates")
_bucket = _matching(re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]"), "a bucket name")
_container = _matching(re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]"), "an Azure container name")
_account_name = _matching(re.compile(r"[a-z0-9]{3,24}"), "an Azure storage account name")
_email = _matching(re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+"), "an e-mail address")


def _optional(check: Check) -> Check:
    """`check`, except that the empty string (the value is not set) passes."""

    def optional(value: Any) -> str | None:
        return None if value == "" else check(value)

    return optional


_optional_secret = _optional(_secret)
_optional_credential = _optional(_credential)
_optional_certificate = _optional(_certificate)


def _nonempty_identifier(value: Any) -> str | None:
    return _identifier(value) or (None if value else "must not be empty")


def _port(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536
    return None if ok else f"must be a port number (got {value!r})"


def _flag(value: Any) -> str | None:
    # Tutor's templates test truthiness: the string "false" would switch HTTPS *on*.
    return None if isinstance(value, bool) else f"must be a bool (got {value!r})"


def _uuid(value: Any) -> str | None:
    try:
        ok = isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        ok = False
    return None if ok else "must be a lowercase canonical UUID (Meilisearch key uids are UUIDs)"


def _field_checks(instance: TutorInstance) -> Iterator[tuple[str, Any, Check]]:
    """(field path, value, check) for every value that reaches Tutor."""
    i, secrets = instance, instance.secrets
    yield from [
        ("lms_host", i.lms_host, _host),
        ("cms_host", i.cms_host, _host),
        ("mfe_host", i.mfe_host, _host),
        ("https", i.https, _flag),
        ("platform_name", i.platform_name, _required_text),
        ("contact_email", i.contact_email, _required_text),
        ("language_code", i.language_code, _nonempty_identifier),
        ("openedx_image", i.openedx_image, _image),
        ("mfe_image", i.mfe_image, _image),
        ("secrets.secret_key", secrets.secret_key, _secret),
        ("secrets.jwt_rsa_private_key", secrets.jwt_rsa_private_key, _pem),
        ("secrets.cms_oauth2_secret", secrets.cms_oauth2_secret, _secret),
        ("secrets.instance_id", secrets.instance_id, _secret),
        *((f"secrets.plugin_secrets.{key}", value, _secret) for key, value in secrets.plugin_secrets.items()),
        *((f"plugin_hosts.{service}", host, _host) for service, host in i.plugin_hosts.items()),
    ]
    yield from _database_checks(instance.mysql, instance.mongodb)
    yield from _service_checks(instance.redis, instance.meilisearch, instance.smtp)
    if instance.object_storage is not None:
        yield from _storage_checks(instance.object_storage)


def _database_checks(mysql: MysqlEndpoint, mongo: MongodbEndpoint) -> Iterator[tuple[str, Any, Check]]:
    yield from [
        ("mysql.host", mysql.host, _required_text),
        ("mysql.port", mysql.port, _port),
        ("mysql.database", mysql.database, _nonempty_identifier),
        ("mysql.username", mysql.username, _nonempty_identifier),
        ("mysql.password", mysql.password, _secret),
        ("mysql.tls", mysql.tls, _flag),
        ("mysql.ca_certificate", mysql.ca_certificate, _optional_certificate),
        ("mongodb.host", mongo.host, _required_text),
        ("mongodb.port", mongo.port, _port),
        ("mongodb.database", mongo.database, _nonempty_identifier),
        ("mongodb.username", mongo.username, _identifier),
        ("mongodb.password", mongo.password, _optional_secret),
        ("mongodb.auth_source", mongo.auth_source, _identifier),
        ("mongodb.use_ssl", mongo.use_ssl, _flag),
        ("mongodb.replica_set", mongo.replica_set, _identifier),
        ("mongodb.ca_certificate", mongo.ca_certificate, _optional_certificate),
        ("mongodb.retry_writes", mongo.retry_writes, _flag),
    ]


def _service_checks(
    redis: RedisEndpoint, meili: MeilisearchEndpoint, smtp: SmtpEndpoint
) -> Iterator[tuple[str, Any, Check]]:
    yield from [
        ("redis.host", redis.host, _required_text),
        ("redis.port", redis.port, _port),
        ("redis.username", redis.username, _identifier),
        ("redis.password", redis.password, _optional_credential),
        ("redis.tls", redis.tls, _flag),
        ("redis.ca_certificate", redis.ca_certificate, _optional_certificate),
        ("redis.single_database", redis.single_database, _flag),
        ("meilisearch.url", meili.url, _url),
        ("meilisearch.public_url", meili.public_url, _url),
        ("meilisearch.master_key", meili.master_key, _secret),
        ("meilisearch.api_key_uid", meili.api_key_uid, _uuid),
        ("meilisearch.index_prefix", meili.index_prefix, _identifier),
        ("smtp.host", smtp.host, _required_text),
        ("smtp.port", smtp.port, _port),
        ("smtp.username", smtp.username, _text),
        ("smtp.password", smtp.password, _optional_credential),
        ("smtp.use_tls", smtp.use_tls, _flag),
        ("smtp.use_ssl", smtp.use_ssl, _flag),
        ("smtp.default_from", smtp.default_from, _optional(_email)),
    ]


def _storage_checks(storage: ObjectStorage) -> Iterator[tuple[str, Any, Check]]:
    if isinstance(storage, GcsStorage):
        yield from [
            ("object_storage.bucket", storage.bucket, _bucket),
            ("object_storage.project", storage.project, _nonempty_identifier),
            ("object_storage.signer_email", storage.signer_email, _email),
        ]
        return
    if isinstance(storage, AzureBlobStorage):
        yield from [
            ("object_storage.container", storage.container, _container),
            ("object_storage.account_name", storage.account_name, _account_name),
            ("object_storage.account_key", storage.account_key, _credential),
        ]
        return
    yield from [
        ("object_storage.bucket", storage.bucket, _bucket),
        ("object_storage.region", storage.region, _identifier),
        ("object_storage.workload_identity", storage.workload_identity, _flag),
    ]
    if storage.endpoint_url is not None:
        yield "object_storage.endpoint_url", storage.endpoint_url, _url
    if storage.custom_domain is not None:
        yield "object_storage.custom_domain", storage.custom_domain, _host
    if not storage.workload_identity:
        yield "object_storage.access_key", storage.access_key, _credential
        yield "object_storage.secret_key", storage.secret_key, _credential


def _rule_problems(instance: TutorInstance) -> Iterator[str]:
    """Combinations the field checks cannot see."""
    if instance.redis.password and not instance.redis.username and not instance.redis.tls:
        yield 'redis.username: must be set (e.g. "default") with a password; Tutor drops credentials without one'
    if instance.smtp.use_tls is True and instance.smtp.use_ssl is True:
        yield "smtp.use_ssl: use_tls and use_ssl are exclusive"
    if instance.mysql.ca_certificate and not instance.mysql.tls:
        yield "mysql.ca_certificate: applies with tls only"
    if instance.redis.single_database and not instance.redis.tls:
        yield "redis.single_database: applies to a managed Redis (tls) only, whose URLs our plugin writes"
    if instance.redis.tls and not instance.redis.password:
        yield "redis.password: a managed Redis (tls) is reached with AUTH; the password must be set"
    storage = instance.object_storage
    if isinstance(storage, S3Storage) and storage.workload_identity and (storage.access_key or storage.secret_key):
        yield "object_storage.access_key: static keys are not used with workload identity; leave them unset"
    for index, plugin in enumerate(instance.plugins):
        if not isinstance(plugin, str) or not _PLUGIN.fullmatch(plugin):
            yield f"plugins[{index}]: {plugin!r} is not a plugin name"
        elif (problem := tutor_plugins.plugin_problem(plugin)) is not None:
            yield f"plugins[{index}]: {problem}"
    supported = tuple(name for name in instance.plugins if name in tutor_plugins.SUPPORTED)
    for key in tutor_plugins.generated_secrets(supported):
        if key not in instance.secrets.plugin_secrets:
            yield f"secrets.plugin_secrets.{key}: must be set (Tutor would generate it at random on every render)"
    for service in tutor_plugins.services(supported):
        if service.name not in instance.plugin_hosts:
            yield f"plugin_hosts.{service.name}: must be set"
    for key in instance.extra_config:
        if not isinstance(key, str) or not TUTOR_KEY.fullmatch(key):
            yield f"extra_config.{key}: Tutor settings are UPPER_SNAKE_CASE"
        elif key in OWNED_KEYS:
            yield f"extra_config.{key}: {owned_key_problem(key)}"


def settings_problems(instance: InstanceSettings) -> Iterator[tuple[str, str]]:
    """What Tutor could not render in an instance's settings, by the stack key (under the instance) that holds it:
    checked with the stack, before anything is created, by the same checks as the render's."""
    images = {f"images.{name}": image for name, image in (("openedx", instance.images.openedx),
                                                            ("mfe", instance.images.mfe)) if image is not None}
    checks: list[tuple[str, Any, Check]] = [
        ("platformName", instance.platform_name, _required_text),
        ("contactEmail", instance.contact, _required_text),
        *((f"{key}.repository", f"{image.repository}:{image.tag}", _image) for key, image in images.items()),
    ]
    yield from ((key, problem) for key, value, check in checks if (problem := check(value)))
    yield from ((f"tutorConfig.{key}", owned_key_problem(key)) for key in instance.tutor_config if key in OWNED_KEYS)
    for key, value in instance.tutor_secrets.items():
        secret = value.get_secret_value()
        if key == "JWT_RSA_PRIVATE_KEY" and not _PEM.fullmatch(secret):
            yield f"tutorSecrets.{key}", "must be a PEM private key"  # never the value: it is a secret
        elif key != "JWT_RSA_PRIVATE_KEY" and (problem := _secret(secret)):
            yield f"tutorSecrets.{key}", problem


def problems(instance: TutorInstance) -> list[str]:
    """Every reason `instance` cannot be rendered safely, one line each naming the field."""
    found = [f"{path}: {problem}" for path, value, check in _field_checks(instance) if (problem := check(value))]
    return found + list(_rule_problems(instance))
