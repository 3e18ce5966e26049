"""Where an instance's data services are, and the TutorInstance its settings are compiled from.

In-cluster services run in the instance's namespace under the service names Tutor's settings expect
(`mysql`, `mongodb`, `redis`, `meilisearch`, `smtp`); managed ones come from the `Infrastructure`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi

from components.charts import pinned_image
from components.infrastructure import (
    AzureContainer,
    CacheEndpoint,
    GcsBucket,
    InCluster,
    Infrastructure,
    InstanceStorage,
    ManagedCache,
    ManagedEndpoint,
    ManagedMongodb,
    S3Bucket,
    SmtpCredentials,
    StorageService,
)
from components.openedx import tutor_instance as ti
from components.openedx.secrets import GeneratedSecrets
from components.provisioning import database_name, user_name
from components.settings import plugins as tutor_plugins
from components.settings.email import EmailSettings
from components.settings.instance import Image, InstanceSettings

APP_VALUES = "charts/openedx/values.yaml"
MFE_VALUES = "charts/openedx/charts/mfe/values.yaml"
APP_DATABASE = "openedx"
APP_USER = "openedx"


def managed_cache(infrastructure: Infrastructure, instance: str, parent: pulumi.Resource) -> CacheEndpoint | None:
    """The instance's own managed Redis, created under `parent`; None when it runs its own in the cluster."""
    if isinstance(infrastructure.redis, ManagedCache):
        return infrastructure.redis.create(instance, parent)
    return None


def in_cluster_services(infrastructure: Infrastructure, email: EmailSettings | None) -> frozenset[str]:
    """The services the instance runs itself: those the infrastructure does not provide, search, and the mail
    relay unless the instance sends through one of the stack's (`email`)."""
    managed = {"mysql": infrastructure.mysql, "mongodb": infrastructure.mongodb, "redis": infrastructure.redis}
    return frozenset({name for name, service in managed.items() if isinstance(service, InCluster)}
                     | {"meilisearch"} | ({"smtp"} if email is None else set()))


def mail_credentials(infrastructure: Infrastructure, email: EmailSettings | None, instance: str,
                     parent: pulumi.Resource) -> SmtpCredentials | None:
    """The instance's own credentials of the cloud's mail service, created under `parent` (`email.ses`)."""
    if email is None or email.ses is None:
        return None
    if infrastructure.mail is None:
        raise ValueError("email.ses: this cloud has no mail service the program can issue credentials for")
    return infrastructure.mail(instance, email.ses.domain, parent)


def smtp_endpoint(email: EmailSettings | None, mail: SmtpCredentials | None, contact: str, s: Mapping[str, Any]
                  ) -> ti.SmtpEndpoint:
    """The relay the instance sends through: the stack's (or the cloud's mail service), else its own in-cluster one."""
    if email is None:
        return ti.SmtpEndpoint("smtp", 8025)
    password = email.password.get_secret_value() if email.password is not None else ""
    return ti.SmtpEndpoint(
        host=mail.host if mail is not None else email.host or "",
        port=email.effective_port,
        username=s["smtp_username"] if mail is not None else email.username or "",
        password=s["smtp_password"] if mail is not None else password,
        use_tls=email.tls == "starttls",
        use_ssl=email.tls == "ssl",
        default_from=email.from_address(contact),
    )


def _mail_inputs(mail: SmtpCredentials | None) -> dict[str, pulumi.Input[str]]:
    if mail is None:
        return {"smtp_username": "", "smtp_password": ""}
    return {"smtp_username": mail.username, "smtp_password": mail.password}


def services_credentials(secrets: GeneratedSecrets, services: frozenset[str]) -> dict[str, pulumi.Output[str]]:
    """The keys of the in-cluster services' credentials Secret (the `openedx-services` chart's contract), for the
    services the instance runs itself."""
    by_service = {
        "mysql": {"mysql-root-password": secrets.mysql_root_password, "mysql-password": secrets.mysql_password},
        "mongodb": {"mongodb-root-password": secrets.mongodb_root_password,
                    "mongodb-password": secrets.mongodb_password},
        "meilisearch": {"meilisearch-master-key": secrets.meilisearch_master_key},
    }
    return {key: value for service in sorted(services) for key, value in by_service.get(service, {}).items()}


def _image(image: Image | None, default: str) -> str:
    return f"{image.repository}:{image.tag}" if image is not None else default


def openedx_image(instance: InstanceSettings) -> str:
    """The openedx image the instance runs: its own, or the one pinned in the chart."""
    return _image(instance.images.openedx, pinned_image(APP_VALUES, "global", "openedxImage"))


def mysql_endpoint(instance: InstanceSettings, infrastructure: Infrastructure, s: Mapping[str, Any]
                   ) -> ti.MysqlEndpoint:
    """The instance's own MySQL server, or its database (and user) on the shared one."""
    server = infrastructure.mysql
    database = APP_DATABASE if not isinstance(server, ManagedEndpoint) else database_name(instance.name)
    extra = tutor_plugins.plugin_databases(instance.supported_plugins, database)
    if not isinstance(server, ManagedEndpoint):
        return ti.MysqlEndpoint("mysql", 3306, database, APP_USER, s["mysql_password"], extra_databases=extra)
    return ti.MysqlEndpoint(s["mysql_host"], server.port, database, user_name(instance.name),
                            s["mysql_password"], tls=server.tls, ca_certificate=s["mysql_ca"], extra_databases=extra)


def mongodb_endpoint(instance: InstanceSettings, infrastructure: Infrastructure, s: Mapping[str, Any]
                     ) -> ti.MongodbEndpoint:
    """The instance's own MongoDB server, or its database (and user, kept in `admin`) on the shared service."""
    server = infrastructure.mongodb
    if not isinstance(server, ManagedEndpoint):
        return ti.MongodbEndpoint("mongodb", 27017, APP_DATABASE, APP_USER, s["mongodb_password"])
    mongo = server if isinstance(server, ManagedMongodb) else None
    return ti.MongodbEndpoint(
        s["mongodb_host"], server.port, database_name(instance.name), user_name(instance.name),
        s["mongodb_password"], auth_source="admin", use_ssl=server.tls,
        replica_set=mongo.replica_set if mongo else "", ca_certificate=s["mongodb_ca"],
        retry_writes=mongo.retry_writes if mongo else True)


def object_storage(service: StorageService, s: Mapping[str, Any]) -> ti.ObjectStorage:
    """The Tutor-side description of the instance's bucket, from the adapter's (resolved values in `s`)."""
    if isinstance(service, S3Bucket):
        return ti.S3Storage(bucket=s["bucket"], region=service.region, endpoint_url=service.endpoint_url,
                            workload_identity=True)
    if isinstance(service, GcsBucket):
        return ti.GcsStorage(bucket=s["bucket"], project=service.project, signer_email=s["storage_identity"])
    return ti.AzureBlobStorage(container=s["bucket"], account_name=s["storage_identity"],
                               account_key=s["storage_key"])


def _storage_inputs(storage: InstanceStorage | None) -> dict[str, pulumi.Input[str]]:
    """The storage values that are Outputs: the bucket, and the identity (and key) the service names."""
    if storage is None:
        return {"bucket": "", "storage_identity": "", "storage_key": ""}
    service = storage.service
    if isinstance(service, GcsBucket):
        return {"bucket": storage.bucket, "storage_identity": service.signer_email, "storage_key": ""}
    if isinstance(service, AzureContainer):
        return {"bucket": storage.bucket, "storage_identity": service.account_name, "storage_key": service.account_key}
    return {"bucket": storage.bucket, "storage_identity": "", "storage_key": ""}


def redis_endpoint(cache: CacheEndpoint | None, s: Mapping[str, Any]) -> ti.RedisEndpoint:
    """The instance's own in-cluster Redis, or its managed cache (TLS, AUTH)."""
    if cache is None:
        return ti.RedisEndpoint("redis", 6379)
    return ti.RedisEndpoint(s["redis_host"], int(s["redis_port"]), username=cache.username,
                            password=s["redis_password"], tls=True, ca_certificate=s["redis_ca"],
                            single_database=cache.single_database)


def _server_inputs(service: str, server: InCluster | ManagedEndpoint) -> dict[str, pulumi.Input[str]]:
    """A shared server's host and CA bundle (Outputs), as `<service>_host` and `<service>_ca`."""
    if not isinstance(server, ManagedEndpoint):
        return {f"{service}_host": "", f"{service}_ca": ""}
    return {f"{service}_host": server.host, f"{service}_ca": server.ca_certificate or ""}


def _cache_inputs(cache: CacheEndpoint | None) -> dict[str, pulumi.Input[Any]]:
    if cache is None:
        return {"redis_host": "", "redis_port": 0, "redis_password": "", "redis_ca": ""}
    return {"redis_host": cache.host, "redis_port": cache.port, "redis_password": cache.password,
            "redis_ca": cache.ca_certificate if cache.ca_certificate is not None else ""}


def tutor_instance(
    instance: InstanceSettings,
    infrastructure: Infrastructure,
    secrets: GeneratedSecrets,
    storage: InstanceStorage | None,
    cache: CacheEndpoint | None,
    email: EmailSettings | None,
    mail: SmtpCredentials | None,
) -> pulumi.Output[ti.TutorInstance]:
    """Every value Tutor needs, resolved: the instance's settings, its data services and its generated secrets.

    `cache` is the instance's managed Redis (None: its own in-cluster one); `email` the relay it sends through
    (None: its own in-cluster one), `mail` the credentials the cloud issued for it."""
    scheme = "https" if instance.https else "http"

    def build(s: dict[str, Any]) -> ti.TutorInstance:
        return ti.TutorInstance(
            name=instance.name,
            lms_host=instance.lms_host,
            cms_host=instance.studio_host,
            mfe_host=instance.apps_host,
            https=instance.https,
            platform_name=instance.platform_name,
            contact_email=instance.contact,
            language_code=instance.language,
            openedx_image=openedx_image(instance),
            mfe_image=_image(instance.images.mfe, pinned_image(MFE_VALUES, "image")),
            plugins=instance.plugins,
            mysql=mysql_endpoint(instance, infrastructure, s),
            mongodb=mongodb_endpoint(instance, infrastructure, s),
            redis=redis_endpoint(cache, s),
            meilisearch=ti.MeilisearchEndpoint(
                url="http://meilisearch:7700",
                public_url=f"{scheme}://{instance.meilisearch_host}",
                master_key=s["meilisearch_master_key"],
                api_key_uid=s["meilisearch_api_key_uid"],
            ),
            smtp=smtp_endpoint(email, mail, instance.contact, s),
            secrets=ti.InstanceSecrets(
                secret_key=s["secret_key"],
                jwt_rsa_private_key=s["jwt_rsa_private_key"],
                cms_oauth2_secret=s["cms_oauth2_secret"],
                instance_id=s["instance_id"],
                plugin_secrets=s["plugin_secrets"],
            ),
            object_storage=None if storage is None else object_storage(storage.service, s),
            extra_config=dict(instance.tutor_config),
            plugin_hosts=instance.plugin_hosts,
        )

    # Root and admin passwords are not among the inputs: Tutor never sees them.
    wanted = {f.name for f in dataclasses.fields(GeneratedSecrets)} - {"mysql_root_password", "mongodb_root_password",
                                                                       "admin_password"}
    return pulumi.Output.all(
        **{name: getattr(secrets, name) for name in sorted(wanted)},
        **_server_inputs("mysql", infrastructure.mysql),
        **_server_inputs("mongodb", infrastructure.mongodb),
        **_storage_inputs(storage),
        **_cache_inputs(cache),
        **_mail_inputs(mail),
    ).apply(build)
