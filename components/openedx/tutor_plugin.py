"""Our own in-process Tutor plugin: the fixes a real cluster needs that Tutor 22 does not carry.

Pure data (no Tutor import): `tutor.py` turns it into a `tutor.plugins.v0.DictPlugin` once per process and
loads it with every instance's plugins. Patches are Jinja rendered by Tutor against the instance's config;
every value they read is validated by `tutor_config` first, so plain `"{{ KEY }}"` quoting is safe.

Written for this project from Tutor's documented patch names and edx-platform's settings; no Tutor template
code is copied here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

NAME = "kubernetes"
"""Plugin name. Loaded in sorted order with the instance's plugins, like any other (e.g. forum < kubernetes < mfe)."""

PREFIX = NAME.upper() + "_"
"""Tutor prefixes a v0 plugin's `defaults` keys with its upper-cased name."""

# Our config keys, full Tutor names (the patches below spell them out; a test checks both agree).
# Empty values switch the matching patch off, so an instance without object storage gets no S3 line at all.
S3_BUCKET = "KUBERNETES_S3_BUCKET"
S3_REGION = "KUBERNETES_S3_REGION"
S3_ENDPOINT_URL = "KUBERNETES_S3_ENDPOINT_URL"
S3_CUSTOM_DOMAIN = "KUBERNETES_S3_CUSTOM_DOMAIN"
S3_WORKLOAD_IDENTITY = "KUBERNETES_S3_WORKLOAD_IDENTITY"
MEILISEARCH_UPSTREAM = "KUBERNETES_MEILISEARCH_UPSTREAM"

CONFIG_KEYS: tuple[str, ...] = (
    S3_BUCKET,
    S3_REGION,
    S3_ENDPOINT_URL,
    S3_CUSTOM_DOMAIN,
    S3_WORKLOAD_IDENTITY,
    MEILISEARCH_UPSTREAM,
)

DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {key: (False if key == S3_WORKLOAD_IDENTITY else "") for key in CONFIG_KEYS}
)
"""Default of each key (full names). `tutor_config` always sets them all; these keep the plugin self-contained."""

S3_BACKEND = "storages.backends.s3boto3.S3Boto3Storage"

# --- patches ------------------------------------------------------------------------------------------------------
# Python settings patches render inside Tutor's production.py after edx-platform's own production settings (and,
# for openedx-common-settings, after Tutor's partials/common_all.py), so the names they read exist already.

_COMMON_SETTINGS = """\
# --- openedx-k8s (plugin "kubernetes") ---
# Tutor hard-codes the event bus to redis://@redis:6379/: use this instance's Redis, with the same
# credentials rule as Tutor's CACHES (username and password both set, else none).
EVENT_BUS_REDIS_CONNECTION_URL = "redis://{% if REDIS_USERNAME and REDIS_PASSWORD %}{{ REDIS_USERNAME }}:{{ \
REDIS_PASSWORD }}{% endif %}@{{ REDIS_HOST }}:{{ REDIS_PORT }}/"
# Tutor adds charset utf8mb4 only when it runs MySQL itself; our databases are external to it.
DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"
{%- if KUBERNETES_S3_BUCKET %}

# Media on the instance's bucket. Verawood reads STORAGES (DEFAULT_FILE_STORAGE is ignored).
STORAGES["default"]["BACKEND"] = "storages.backends.s3boto3.S3Boto3Storage"
AWS_STORAGE_BUCKET_NAME = "{{ KUBERNETES_S3_BUCKET }}"
{%- if KUBERNETES_S3_REGION %}
AWS_S3_REGION_NAME = "{{ KUBERNETES_S3_REGION }}"
# ORA2 builds its own boto3 client, which takes the region from the environment only.
os.environ.setdefault("AWS_DEFAULT_REGION", AWS_S3_REGION_NAME)
{%- endif %}
{%- if KUBERNETES_S3_ENDPOINT_URL %}
# An S3-compatible service: path-style addressing works with all of them (virtual hosts need wildcard DNS), and
# boto3 >= 1.36 sends checksums most of them reject unless told to send them only when required.
AWS_S3_ENDPOINT_URL = "{{ KUBERNETES_S3_ENDPOINT_URL }}"
AWS_S3_ADDRESSING_STYLE = "path"
from botocore.config import Config as _BotocoreConfig
AWS_S3_CLIENT_CONFIG = _BotocoreConfig(
    signature_version="s3v4",
    s3={"addressing_style": "path"},
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
)
{%- endif %}
{%- if KUBERNETES_S3_CUSTOM_DOMAIN %}
AWS_S3_CUSTOM_DOMAIN = "{{ KUBERNETES_S3_CUSTOM_DOMAIN }}"
{%- endif %}
# edx-platform forces public-read; buckets with Object Ownership enforced, Block Public Access or uniform
# bucket-level access reject every upload that carries an ACL. The bucket's own policy decides instead.
AWS_DEFAULT_ACL = None
AWS_BUCKET_ACL = None
AWS_AUTO_CREATE_BUCKET = False
AWS_QUERYSTRING_AUTH = True
AWS_S3_SIGNATURE_VERSION = "s3v4"
{%- if KUBERNETES_S3_WORKLOAD_IDENTITY %}
# Workload identity, no static keys: env.yml carries AWS_ACCESS_KEY_ID: "", which boto3 would take as explicit
# (empty) credentials. None lets it use the pod's web identity.
AWS_ACCESS_KEY_ID = None
AWS_SECRET_ACCESS_KEY = None
{%- endif %}
# Tutor's filesystem paths become key prefixes inside the bucket (S3 keys have no leading "/").
VIDEO_IMAGE_SETTINGS["STORAGE_CLASS"] = STORAGES["default"]["BACKEND"]
VIDEO_IMAGE_SETTINGS["STORAGE_KWARGS"] = {"location": MEDIA_ROOT.lstrip("/")}
VIDEO_TRANSCRIPTS_SETTINGS["STORAGE_CLASS"] = STORAGES["default"]["BACKEND"]
VIDEO_TRANSCRIPTS_SETTINGS["STORAGE_KWARGS"] = {"location": MEDIA_ROOT.lstrip("/")}
GRADES_DOWNLOAD = {
    "STORAGE_CLASS": STORAGES["default"]["BACKEND"],
    "STORAGE_KWARGS": {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "location": GRADES_DOWNLOAD["STORAGE_KWARGS"]["location"].lstrip("/"),
    },
}
ORA2_FILEUPLOAD_BACKEND = "s3"
FILE_UPLOAD_STORAGE_BUCKET_NAME = AWS_STORAGE_BUCKET_NAME
OPENEDX_LEARNING["MEDIA"] = {
    "BACKEND": STORAGES["default"]["BACKEND"],
    "OPTIONS": {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "location": OPENEDX_LEARNING["MEDIA"]["OPTIONS"]["location"].lstrip("/"),
    },
}
{%- endif %}
# --- end of openedx-k8s ---"""

_LMS_COMMON_SETTINGS = """\
{%- if KUBERNETES_S3_BUCKET -%}
# --- openedx-k8s: profile images on the bucket (here, because Tutor's common LMS settings reset their path).
# They are signed like every other object (edx-platform appends its "v" parameter with "&" to a signed URL).
PROFILE_IMAGE_BACKEND = {
    "class": STORAGES["default"]["BACKEND"],
    "options": {"location": os.path.join(MEDIA_ROOT, "profile-images/").lstrip("/")},
}
{%- endif %}"""

_CMS_COMMON_SETTINGS = """\
{%- if KUBERNETES_S3_BUCKET -%}
# --- openedx-k8s: course import/export files and task artifacts on the bucket, not on one pod's disk
COURSE_IMPORT_EXPORT_STORAGE = STORAGES["default"]["BACKEND"]
USER_TASKS_ARTIFACT_STORAGE = COURSE_IMPORT_EXPORT_STORAGE
COURSE_METADATA_EXPORT_STORAGE = COURSE_IMPORT_EXPORT_STORAGE
{%- endif %}"""

_CADDYFILE = """\
{%- if KUBERNETES_MEILISEARCH_UPSTREAM -%}
# openedx-k8s: browsers query Meilisearch on its public host (Studio search). Tutor routes that host only when it
# runs Meilisearch itself, and then to a fixed "meilisearch:7700"; ours is wherever the instance's endpoint is.
{{ MEILISEARCH_HOST }}{$default_site_port} {
    import proxy "{{ KUBERNETES_MEILISEARCH_UPSTREAM }}"
}
{%- endif %}"""

PATCHES: Mapping[str, str] = MappingProxyType(
    {
        "openedx-common-settings": _COMMON_SETTINGS,
        "openedx-lms-common-settings": _LMS_COMMON_SETTINGS,
        "openedx-cms-common-settings": _CMS_COMMON_SETTINGS,
        "caddyfile": _CADDYFILE,
        # The chart runs Caddy unprivileged on 8080 (`caddy.containerPort`); on a port other than 80 Caddy would
        # otherwise serve its sites over HTTPS with certificates of its own. TLS ends at the ingress.
        "caddyfile-global": "http_port 8080",
    }
)

# --- init task ----------------------------------------------------------------------------------------------------

SITE_TASK_SERVICE = "lms"
SITE_TASK = """\
# openedx-k8s: SITE_ID is 2, and only the indigo plugin creates that Site, so e-mails would link to example.com
# (tutor issue 1182). Create or update it, idempotently. The values are JSON literals: valid Python that never
# contains a single quote, so they are safe inside this single-quoted shell argument. Site.name holds 50 chars.
./manage.py lms shell -c '
from django.contrib.sites.models import Site
domain = {{ LMS_HOST|tojson }}
name = {{ PLATFORM_NAME|tojson }}[:50]
if Site.objects.exclude(id=2).filter(domain=domain).exists():
    print("Site", domain, "already exists with another id: Site 2 left unchanged")
else:
    Site.objects.update_or_create(id=2, defaults={"domain": domain, "name": name})
    print("Site 2 is", domain)
'"""
"""Added at LOW priority when the plugin loads: after Tutor's lms.sh (migrations) and every plugin's tasks."""


def dict_plugin_data() -> dict[str, Any]:
    """The `DictPlugin` description: name, config defaults (unprefixed, as v0 wants them) and patches."""
    return {
        "name": NAME,
        "version": "1",
        "config": {"defaults": {key.removeprefix(PREFIX): value for key, value in DEFAULTS.items()}},
        "patches": dict(PATCHES),
    }
