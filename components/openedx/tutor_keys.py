"""The `tutorConfig` keys the program would ignore, refused with the stack's settings before anything is created.

Tutor reads many keys only in what the charts replace: its Kubernetes and Compose manifests, its image builds, its
CLI. Set in `tutorConfig`, such a key would change nothing and say otherwise; a misspelt key likewise. A key is kept
when a settings file, an init task or a patch they pull in reads it (`tutor.read_keys`) for the instance's plugins.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from components.openedx.tutor import read_keys
from components.openedx.tutor_checks import OWNED_KEYS, TUTOR_KEY
from components.settings import plugins as tutor_plugins
from components.settings.instance import InstanceSettings

INSTEAD: Mapping[str, str] = MappingProxyType({
    "OPENEDX_LMS_UWSGI_WORKERS": "workloads.lms.processes",
    "OPENEDX_CMS_UWSGI_WORKERS": "workloads.cms.processes",
    "LMS_WORKER_COMMAND": "workloads.lmsWorker",
    "CMS_WORKER_COMMAND": "workloads.cmsWorker",
    "DOCKER_REGISTRY": "images.<name>.repository",
    "K8S_NAMESPACE": "the instance's name (its namespace is openedx-<name>)",
    **{key: "images.openedx, an image built with it" for key in (
        "OPENEDX_EXTRA_PIP_REQUIREMENTS", "EDX_PLATFORM_REPOSITORY", "EDX_PLATFORM_VERSION")},
    **{service.image_key: f"images.{service.name}" for service in tutor_plugins.ALL_SERVICES},
})
"""What sets, in a stack, what some of those keys set in Tutor."""


def ignored_keys(plugins: tuple[str, ...], keys: list[str]) -> dict[str, str]:
    """Of `keys` (Tutor keys, none owned by the program), those nothing the instance runs reads, with why."""
    read = read_keys(tuple(name for name in plugins if name in tutor_plugins.SUPPORTED))
    with_plugins = f" with plugins {', '.join(plugins)}" if plugins else ""
    return {
        key: f"no settings file or init task of the instance reads it{with_plugins}; the program would ignore it"
             + (f" (use {INSTEAD[key]})" if key in INSTEAD else "")
        for key in keys if key not in read
    }


def settings_problems(instance: InstanceSettings) -> Iterator[tuple[str, str]]:
    """`tutorConfig` keys the program would ignore (the others' checks are `tutor_checks`'), by key path."""
    keys = [key for key in instance.tutor_config if TUTOR_KEY.fullmatch(key) and key not in OWNED_KEYS]
    if keys:
        yield from ((f"tutorConfig.{key}", why) for key, why in ignored_keys(instance.plugins, keys).items())
