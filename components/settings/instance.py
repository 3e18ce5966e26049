"""One instance's settings (`openedx:instances[N]`): hosts, plugins, images, workloads, quota and the Tutor
settings passed through."""

from __future__ import annotations

import functools
import importlib.metadata
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal, get_args

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from components.settings import plugins as tutor_plugins
from components.settings.backups import BackupSettings
from components.settings.email import EmailSettings
from components.settings.model import Email, HostName, InstanceName, Model, Quantity
from components.settings.rotations import Rotations


class ResourceAmounts(Model):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(Model):
    requests: ResourceAmounts | None = None
    limits: ResourceAmounts | None = None


class Workload(Model):
    """Scaling and sizing of one workload. Unset fields come from the instance's size preset."""

    min_replicas: int | None = Field(default=None, ge=1, le=100)
    max_replicas: int | None = Field(default=None, ge=1, le=200)
    autoscaling: bool | None = None
    resources: Resources | None = None
    processes: int | None = Field(default=None, ge=1, le=16)
    """uwsgi processes of a web pod (Tutor's OPENEDX_LMS_UWSGI_WORKERS), Celery processes of a worker pod."""

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Workload:
        if self.min_replicas is not None and self.max_replicas is not None and self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) is greater than maxReplicas ({self.max_replicas})")
        return self


class QueueWorker(Workload):
    """Celery workers of their own queue: off unset in `dev`, on elsewhere."""

    enabled: bool | None = None


class FixedWorkload(Model):
    """A workload without autoscaling (the MFEs' static server, the Caddy router). Unset: from the size preset."""

    replicas: int | None = Field(default=None, ge=1, le=50)
    resources: Resources | None = None


class DataService(Model):
    """An in-cluster data service's one pod. Unset: from the size preset."""

    resources: Resources | None = None


class Workloads(Model):
    lms: Workload = Workload()
    cms: Workload = Workload()
    lms_worker: Workload = Workload()
    cms_worker: Workload = Workload()
    lms_high_mem_worker: QueueWorker = QueueWorker()
    """The LMS's high-memory queue (grade and problem reports, data exports) on workers of its own, so that a long
    report never holds up the other queues."""
    notes: Workload = Workload()
    """The notes plugin's service (edx-notes-api), with the plugin."""
    credentials: Workload = Workload()
    """The credentials plugin's service, with the plugin."""
    mfe: FixedWorkload = FixedWorkload()
    caddy: FixedWorkload = FixedWorkload()
    mysql: DataService = DataService()
    mongodb: DataService = DataService()
    redis: DataService = DataService()
    meilisearch: DataService = DataService()


class Volumes(Model):
    """Data volume sizes of the in-cluster services; unset: from the size preset. A volume only grows (where its
    StorageClass allows expansion); a smaller size than the volume's is refused."""

    mysql: Quantity | None = None
    mongodb: Quantity | None = None
    redis: Quantity | None = None
    meilisearch: Quantity | None = None


class Image(Model):
    repository: str = Field(min_length=1)
    tag: str = Field(min_length=1, pattern=r"^[\w][\w.-]{0,127}$")
    azure_storage_blob: bool = False
    """The image was built with `azure-storage-blob` (Tutor's OPENEDX_EXTRA_PIP_REQUIREMENTS): Azure Blob media
    storage needs it, and the stock image lacks it."""


class Images(Model):
    """Operators run their own Tutor-built images; unset means the images pinned in the chart."""

    openedx: Image | None = None
    mfe: Image | None = None
    notes: Image | None = None
    credentials: Image | None = None


QuotaKey = Literal[
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
    "pods",
    "persistentvolumeclaims",
    "requests.storage",
]


class InitSettings(Model):
    """Tutor's init tasks (migrations, index creation...), run as Helm hook Jobs when what they depend on changes."""

    deadline_seconds: int = Field(default=3000, ge=60, le=86400)
    """Each task's Job is stopped after this long (a first edx-platform migration takes tens of minutes)."""
    backoff_limit: int = Field(default=1, ge=0, le=10)
    """Retries of a failed task."""


class Admin(Model):
    """A superuser created on the instance's first install; its password is generated and kept as a stack secret
    output (`pulumi stack output admins --show-secrets`)."""

    username: str = Field(pattern=r"^[\w.@+-]{1,150}$")
    email: Email


class InstanceSettings(Model):
    name: InstanceName
    lms_host: HostName
    cms_host: HostName | None = None
    mfe_host: HostName | None = None
    platform_name: str = Field(default="Open edX", min_length=1, max_length=100)
    contact_email: Email | None = None
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
    https: bool = True
    images: Images = Images()
    plugins: tuple[str, ...] = ("forum", "mfe")
    size: Literal["small", "medium", "large"] | None = None
    """Requests, limits, replica bounds, processes and volume sizes together; unset: small in dev, else medium."""
    workloads: Workloads = Workloads()
    volumes: Volumes = Volumes()
    quota: dict[QuotaKey, Quantity] = Field(default_factory=dict)
    """Overrides of the namespace ResourceQuota (derived from the workloads' bounds)."""
    tutor_config: dict[str, Any] = Field(default_factory=dict)
    wave: int = Field(default=0, ge=0, le=100)
    email: EmailSettings | None = None
    """Overrides the stack's `platform.email` for this instance."""
    init: InitSettings = InitSettings()
    release_timeout_seconds: int = Field(default=3600, ge=60, le=86400, validate_default=True)
    """How long `pulumi up` waits for the application Release (its init Jobs, one after the other, then its pods)."""
    maintenance: bool = False
    """Web and worker pods scaled to zero and a maintenance page (HTTP 503) on every host: for long migrations."""
    admin: Admin | None = None
    demo_course: bool = False
    """Import Open edX's demo course on the first install."""
    backups: BackupSettings = BackupSettings()
    rotations: Rotations = Rotations()
    """The generation of each generated credential: raise one to rotate it."""
    tutor_secrets: dict[CarriedSecret, SecretStr] = Field(default_factory=dict)
    """Secrets kept from an existing Tutor installation (`python -m operations.tutor_import` sets them, each with
    `pulumi config set --path --secret`): used instead of generated ones until that credential is rotated."""
    max_database_connections: int | None = Field(default=None, ge=10, le=100000)
    """The connection limit of the instance's user on a shared MySQL server; unset: sized from its workloads."""

    @model_validator(mode="after")
    def _distinct_hosts(self) -> InstanceSettings:
        if self.cms_host is not None and self.cms_host == self.lms_host:
            raise ValueError(f"cmsHost must differ from lmsHost (both are {self.lms_host!r})")
        return self

    @field_validator("release_timeout_seconds")
    @classmethod
    def _outlasts_init_jobs(cls, timeout: int, info: ValidationInfo) -> int:
        init = info.data.get("init")
        if isinstance(init, InitSettings) and timeout <= init.deadline_seconds:
            raise ValueError(f"must be longer than init.deadlineSeconds ({init.deadline_seconds}): Helm waits "
                             "for each init Job within it, and would give up on a Job still allowed to run")
        return timeout

    @property
    def studio_host(self) -> str:
        return self.cms_host or f"studio.{self.lms_host}"

    @property
    def apps_host(self) -> str:
        return self.mfe_host or f"apps.{self.lms_host}"

    @property
    def meilisearch_host(self) -> str:
        return f"meilisearch.{self.lms_host}"

    @property
    def public_hosts(self) -> dict[str, str]:
        """Every host the instance answers on, by the stack key that sets (or derives) it."""
        hosts = {"lmsHost": self.lms_host, "cmsHost": self.studio_host, "meilisearch": self.meilisearch_host}
        if "mfe" in self.plugins:
            hosts["mfeHost"] = self.apps_host
        hosts |= self.plugin_hosts
        return hosts

    @property
    def plugin_hosts(self) -> dict[str, str]:
        """The public host of each service the instance's plugins add (Tutor's `<service>.<lmsHost>`), by service."""
        return {service.name: f"{service.name}.{self.lms_host}"
                for service in tutor_plugins.services(self.supported_plugins)}

    @property
    def supported_plugins(self) -> tuple[str, ...]:
        """The instance's plugins that the program supports, once each (the others are refused by validation)."""
        return tuple(dict.fromkeys(name for name in self.plugins if name in tutor_plugins.SUPPORTED))

    @property
    def contact(self) -> str:
        return self.contact_email or f"contact@{self.lms_host}"


CarriedSecret = Literal[
    "OPENEDX_SECRET_KEY",
    "JWT_RSA_PRIVATE_KEY",
    "CMS_OAUTH2_SECRET",
    "NOTES_SECRET_KEY",
    "NOTES_OAUTH2_SECRET",
    "CREDENTIALS_OAUTH2_SECRET",
    "CREDENTIALS_OAUTH2_SECRET_SSO",
]
"""The secrets of an existing Tutor installation an instance can keep (`tutorSecrets`): what its users' sessions,
tokens, links and the plugins' OAuth clients depend on."""
CARRIED_SECRETS: tuple[str, ...] = get_args(CarriedSecret)


IndexedInstances = list[tuple[int, InstanceSettings]]
"""The valid instances with their index in `openedx:instances` (for key paths)."""

InstanceCheck = Callable[[InstanceSettings], Iterable[tuple[str, str]]]
"""A check an upper layer adds to the validation of every instance: (key path under the instance, problem)."""

_TUTOR_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")


@functools.cache
def tutor_versions() -> dict[str, str]:
    """The installed Tutor's version ("tutor") and its plugins' (entry points), without importing Tutor."""
    plugins = {ep.name: ep.dist.version if ep.dist else "" for ep in
               importlib.metadata.entry_points(group="tutor.plugin.v1")}
    return {"tutor": importlib.metadata.version("tutor"), **dict(sorted(plugins.items()))}


def instance_problems(instance: InstanceSettings) -> Iterable[tuple[str, str]]:
    """What the model alone cannot see in one instance: Tutor keys that are not Tutor's, plugins not supported, a
    plugin twice."""
    for key in instance.tutor_config:
        if not _TUTOR_KEY.match(key):
            yield f"tutorConfig.{key}", "Tutor settings are UPPER_SNAKE_CASE"
    for index, plugin in enumerate(instance.plugins):
        if (problem := tutor_plugins.plugin_problem(plugin)) is not None:
            yield f"plugins[{index}]", problem
        elif plugin in instance.plugins[:index]:
            yield f"plugins[{index}]", f"{plugin!r} is listed twice"
    for key in instance.tutor_secrets:
        owner = next((name for name, plugin in tutor_plugins.SUPPORTED.items() if key in plugin.secrets), None)
        if owner is not None and owner not in instance.plugins:
            yield f"tutorSecrets.{key}", f"belongs to the {owner} plugin, which the instance does not list"
