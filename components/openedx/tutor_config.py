"""The Tutor user config one instance becomes (the `config.yml` Tutor would read), from its plain data.

Pure and light: no Tutor import, no Pulumi types; `tutor.py` renders the result.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from components.openedx import tutor_plugin
from components.openedx.tutor_checks import problems
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


def plugin_set(instance: TutorInstance) -> tuple[str, ...]:
    """The plugins to load for `instance`: its own and ours, sorted (the order a fresh `tutor` loads them in)."""
    return plugin_names(instance.plugins)


def plugin_names(plugins: tuple[str, ...]) -> tuple[str, ...]:
    """The plugins to load for an instance with `plugins`: those and ours, sorted."""
    return tuple(sorted({*plugins, tutor_plugin.NAME}))


def tutor_config(instance: TutorInstance) -> dict[str, Any]:
    """The user-level Tutor config of `instance` (real bools and ints), keys sorted like Tutor's config.yml.

    Raises ValueError naming every field that cannot be passed to Tutor as a literal.
    """
    found = problems(instance)
    if found:
        raise ValueError(f"instance {instance.name!r} cannot be rendered by Tutor:\n  " + "\n  ".join(found))
    config: dict[str, Any] = {
        "PLUGINS": list(plugin_set(instance)),
        "ID": instance.secrets.instance_id,
        **_site(instance),
        # Tutor runs none of the data services: they are provisioned per instance outside its manifests.
        **{f"RUN_{service}": False for service in ("MYSQL", "MONGODB", "REDIS", "SMTP", "MEILISEARCH")},
        **_mysql(instance.mysql),
        **_mongodb(instance.mongodb),
        **_redis(instance.redis),
        **_meilisearch(instance.meilisearch),
        **_smtp(instance.smtp),
        **_secrets(instance),
        **_storage(instance.object_storage),
        **_mfe(instance),
        **_plugin_services(instance),
        **dict(instance.secrets.plugin_secrets),
        **dict(instance.extra_config),
    }
    # Tutor's CLI reads config.yml with sorted keys, and render order matters for templated values.
    return dict(sorted(config.items()))


def _site(instance: TutorInstance) -> dict[str, Any]:
    return {
        "LMS_HOST": instance.lms_host,
        "CMS_HOST": instance.cms_host,
        "ENABLE_HTTPS": instance.https,
        "ENABLE_WEB_PROXY": False,  # our ingress terminates TLS; Caddy is an internal router
        "CADDY_HTTP_PORT": 80,
        "PLATFORM_NAME": instance.platform_name,
        "CONTACT_EMAIL": instance.contact_email,
        "LANGUAGE_CODE": instance.language_code,
        "DOCKER_IMAGE_OPENEDX": instance.openedx_image,
    }


def _mysql(mysql: MysqlEndpoint) -> dict[str, Any]:
    return {
        "MYSQL_HOST": mysql.host,
        "MYSQL_PORT": mysql.port,
        "OPENEDX_MYSQL_DATABASE": mysql.database,
        "OPENEDX_MYSQL_USERNAME": mysql.username,
        "OPENEDX_MYSQL_PASSWORD": mysql.password,
        # Empty, not absent: absent, base.yml would generate a random root password (used by mysql.sh only).
        "MYSQL_ROOT_USERNAME": "",
        "MYSQL_ROOT_PASSWORD": "",
        tutor_plugin.MYSQL_TLS: mysql.tls,
        tutor_plugin.MYSQL_CA_FILE: tutor_plugin.CA_PATHS["mysql"] if mysql.ca_certificate else "",
    }


def _mongodb(mongo: MongodbEndpoint) -> dict[str, Any]:
    return {
        "MONGODB_HOST": mongo.host,
        "MONGODB_PORT": mongo.port,
        "MONGODB_DATABASE": mongo.database,
        "MONGODB_USERNAME": mongo.username,
        "MONGODB_PASSWORD": mongo.password,
        "MONGODB_AUTH_SOURCE": mongo.auth_source,
        "MONGODB_USE_SSL": mongo.use_ssl,
        "MONGODB_REPLICA_SET": mongo.replica_set,
        tutor_plugin.MONGODB_CA_FILE: tutor_plugin.CA_PATHS["mongodb"] if mongo.ca_certificate else "",
        tutor_plugin.MONGODB_RETRY_WRITES: mongo.retry_writes,
    }


def _redis(redis: RedisEndpoint) -> dict[str, Any]:
    return {
        "REDIS_HOST": redis.host,
        "REDIS_PORT": redis.port,
        "REDIS_USERNAME": redis.username,
        "REDIS_PASSWORD": redis.password,
        tutor_plugin.REDIS_TLS: redis.tls,
        tutor_plugin.REDIS_CA_CERTIFICATE: redis.ca_certificate,
        tutor_plugin.REDIS_SINGLE_DATABASE: redis.single_database,
    }


def _meilisearch(meili: MeilisearchEndpoint) -> dict[str, Any]:
    return {
        "MEILISEARCH_URL": meili.url,
        "MEILISEARCH_PUBLIC_URL": meili.public_url,
        "MEILISEARCH_HOST": _hostname(meili.public_url),
        "MEILISEARCH_INDEX_PREFIX": meili.index_prefix,
        tutor_plugin.MEILISEARCH_UPSTREAM: _meilisearch_upstream(meili),
    }


def _smtp(smtp: SmtpEndpoint) -> dict[str, Any]:
    return {
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": smtp.port,
        "SMTP_USERNAME": smtp.username,
        "SMTP_PASSWORD": smtp.password,
        "SMTP_USE_TLS": smtp.use_tls,
        "SMTP_USE_SSL": smtp.use_ssl,
        tutor_plugin.EMAIL_FROM: smtp.default_from,
    }


def _secrets(instance: TutorInstance) -> dict[str, Any]:
    """Every key base.yml would otherwise fill with a random value (MEILISEARCH_API_KEY is derived from these)."""
    secrets = instance.secrets
    return {
        "OPENEDX_SECRET_KEY": secrets.secret_key,
        "JWT_RSA_PRIVATE_KEY": secrets.jwt_rsa_private_key,
        "CMS_OAUTH2_SECRET": secrets.cms_oauth2_secret,
        "MEILISEARCH_MASTER_KEY": instance.meilisearch.master_key,
        "MEILISEARCH_API_KEY_UID": instance.meilisearch.api_key_uid,
    }


def _storage(storage: ObjectStorage | None) -> dict[str, Any]:
    """Our plugin's storage keys (all of them, empty when unused) and Tutor's S3 key pair."""
    config: dict[str, Any] = {**{key: tutor_plugin.DEFAULTS[key] for key in _STORAGE_KEYS},
                              "OPENEDX_AWS_ACCESS_KEY": "", "OPENEDX_AWS_SECRET_ACCESS_KEY": ""}
    if isinstance(storage, S3Storage):
        config |= {
            tutor_plugin.STORAGE_BACKEND: "s3",
            tutor_plugin.STORAGE_BUCKET: storage.bucket,
            tutor_plugin.S3_REGION: storage.region,
            tutor_plugin.S3_ENDPOINT_URL: storage.endpoint_url or "",
            tutor_plugin.S3_CUSTOM_DOMAIN: storage.custom_domain or "",
            tutor_plugin.S3_WORKLOAD_IDENTITY: storage.workload_identity,
        }
        if not storage.workload_identity:
            # Tutor's own keys, rendered as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in lms/cms.env.yml.
            config |= {"OPENEDX_AWS_ACCESS_KEY": storage.access_key or "",
                       "OPENEDX_AWS_SECRET_ACCESS_KEY": storage.secret_key or ""}
    elif isinstance(storage, GcsStorage):
        config |= {
            tutor_plugin.STORAGE_BACKEND: "gcs",
            tutor_plugin.STORAGE_BUCKET: storage.bucket,
            tutor_plugin.GCS_PROJECT: storage.project,
            tutor_plugin.GCS_SIGNER_EMAIL: storage.signer_email,
        }
    elif isinstance(storage, AzureBlobStorage):
        config |= {
            tutor_plugin.STORAGE_BACKEND: "azure",
            tutor_plugin.STORAGE_BUCKET: storage.container,
            tutor_plugin.AZURE_ACCOUNT_NAME: storage.account_name,
            tutor_plugin.AZURE_ACCOUNT_KEY: storage.account_key,
        }
    return config


_STORAGE_KEYS = (
    tutor_plugin.STORAGE_BACKEND, tutor_plugin.STORAGE_BUCKET, tutor_plugin.S3_REGION, tutor_plugin.S3_ENDPOINT_URL,
    tutor_plugin.S3_CUSTOM_DOMAIN, tutor_plugin.S3_WORKLOAD_IDENTITY, tutor_plugin.GCS_PROJECT,
    tutor_plugin.GCS_SIGNER_EMAIL, tutor_plugin.AZURE_ACCOUNT_NAME, tutor_plugin.AZURE_ACCOUNT_KEY,
)


def _mfe(instance: TutorInstance) -> dict[str, Any]:
    if "mfe" not in instance.plugins:
        return {}
    return {"MFE_HOST": instance.mfe_host, "MFE_DOCKER_IMAGE": instance.mfe_image}


def _plugin_services(instance: TutorInstance) -> dict[str, Any]:
    """Each plugin service's public host, and its database beside the instance's, reached as the instance's user."""
    config: dict[str, Any] = {}
    for service in tutor_plugins.services(instance.plugins):
        database, username, password = service.mysql_keys
        config |= {
            service.host_key: instance.plugin_hosts[service.name],
            database: tutor_plugins.plugin_database(instance.mysql.database, service),
            username: instance.mysql.username,
            password: instance.mysql.password,
        }
    return config


def _hostname(url: str) -> str:
    return urlsplit(url).hostname or ""


def _meilisearch_upstream(meili: MeilisearchEndpoint) -> str:
    """host:port for Caddy to proxy the public Meilisearch host to, or "" when browsers go elsewhere.

    Only a plain-HTTP in-cluster endpoint is proxied: an https endpoint is a hosted service that browsers reach
    directly, and proxying a host to itself would loop.
    """
    internal = urlsplit(meili.url)
    if internal.scheme != "http" or not internal.hostname or internal.hostname == _hostname(meili.public_url):
        return ""
    return f"{internal.hostname}:{internal.port or 80}"
