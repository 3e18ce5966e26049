"""An instance's logical backups as the openedx chart runs them (`backups` values, files/backups/): where they are
stored, what the backup Secret holds, and the values of the chart. Pure functions of resolved settings.

Storage is the instance's own: a `backups/` folder of its bucket, reached by rclone with the workload identity the
instance already has (S3 and Cloud Storage), or with the key its settings already hold (Azure Blob); on a cluster
without object storage, a volume of its own (the openedx-services chart's `backups` PVC).
"""

from __future__ import annotations

from typing import Any

from components.charts import pinned_image_values
from components.infrastructure import BACKUP_FOLDER
from components.openedx import tutor_instance as ti
from components.settings.instance import InstanceSettings, tutor_versions
from components.settings.model import Environment

SECRET = "openedx-backup"
CLAIM = "backups"
SECRET_MOUNT = "/run/secrets/backup"  # where the chart mounts SECRET in every step (the CA bundles' files)
SERVICES_VALUES = "charts/openedx-services/values.yaml"
CA_FILES = {"mysql": "mysql-ca.pem", "mongodb": "mongodb-ca.pem"}


def storage_values(storage: ti.ObjectStorage | None) -> dict[str, Any]:
    """The chart's `backups.storage`: the rclone remote's options (RCLONE_CONFIG_BACKUPS_*) and root. No secret."""
    if storage is None:
        return {"root": "/backups", "rclone": {"TYPE": "local"}, "existingClaim": CLAIM}
    if isinstance(storage, ti.S3Storage):
        # The bucket's own default encryption applies; the pods may not create buckets, only use theirs.
        rclone = {"TYPE": "s3", "PROVIDER": "AWS" if storage.endpoint_url is None else "Other", "ENV_AUTH": "true",
                  "REGION": storage.region, "NO_CHECK_BUCKET": "true"}
        if storage.endpoint_url is not None:
            rclone["ENDPOINT"] = storage.endpoint_url
        return {"root": f"{storage.bucket}/{BACKUP_FOLDER}", "rclone": rclone, "existingClaim": ""}
    if isinstance(storage, ti.GcsStorage):
        rclone = {"TYPE": "google cloud storage", "ENV_AUTH": "true", "BUCKET_POLICY_ONLY": "true",
                  "NO_CHECK_BUCKET": "true"}
        return {"root": f"{storage.bucket}/{BACKUP_FOLDER}", "rclone": rclone, "existingClaim": ""}
    rclone = {"TYPE": "azureblob", "ACCOUNT": storage.account_name, "NO_CHECK_CONTAINER": "true"}
    return {"root": f"{storage.container}/{BACKUP_FOLDER}", "rclone": rclone, "existingClaim": ""}


def secret_data(tutor: ti.TutorInstance) -> dict[str, str]:
    """The backup Secret: the instance's own database credentials (never a shared server's admin) and its MySQL
    databases (the plugins' too: MYSQL_EXTRA_DATABASES, space-separated), the CA bundles of managed servers, and
    the storage key where there is no workload identity (Azure Blob)."""
    mysql, mongodb = tutor.mysql, tutor.mongodb
    data = {
        "MYSQL_HOST": mysql.host, "MYSQL_PORT": str(mysql.port), "MYSQL_DATABASE": mysql.database,
        "MYSQL_EXTRA_DATABASES": " ".join(mysql.extra_databases),
        "MYSQL_USERNAME": mysql.username, "MYSQL_PASSWORD": mysql.password, "MYSQL_TLS": _flag(mysql.tls),
        "MONGODB_HOST": mongodb.host, "MONGODB_PORT": str(mongodb.port), "MONGODB_DATABASE": mongodb.database,
        "MONGODB_USERNAME": mongodb.username, "MONGODB_PASSWORD": mongodb.password,
        "MONGODB_AUTH_SOURCE": mongodb.auth_source, "MONGODB_TLS": _flag(mongodb.use_ssl),
        "MONGODB_REPLICA_SET": mongodb.replica_set, "MONGODB_RETRY_WRITES": _flag(mongodb.retry_writes),
    }
    for service, pem in (("mysql", mysql.ca_certificate), ("mongodb", mongodb.ca_certificate)):
        if pem:
            data[CA_FILES[service]] = pem
            data[f"{service.upper()}_CA_FILE"] = f"{SECRET_MOUNT}/{CA_FILES[service]}"
    if isinstance(tutor.object_storage, ti.AzureBlobStorage):
        data["RCLONE_CONFIG_BACKUPS_KEY"] = tutor.object_storage.account_key
    return dict(sorted(data.items()))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def chart_values(instance: InstanceSettings, environment: Environment, storage: dict[str, Any]) -> dict[str, Any]:
    """The openedx chart's `backups` values; `storage` is `storage_values`'s."""
    settings = instance.backups
    if not settings.active(environment):
        return {"enabled": False}
    return {
        "enabled": True,
        "schedule": settings.schedule,
        "verifySchedule": settings.verify_schedule or "",
        "beforeUpgrade": settings.before_upgrade,
        "retention": {"count": settings.keep, "maxAgeDays": settings.max_age_days},
        "secretName": SECRET,
        "storage": storage,
        "tutorVersion": tutor_versions()["tutor"],
        "workSizeLimit": settings.work_size,
        # The data services' images as the openedx-services chart pins them: their clients are the backup's tools.
        "images": {service: pinned_image_values(SERVICES_VALUES, service, "image") for service in ("mysql", "mongodb")},
    }
