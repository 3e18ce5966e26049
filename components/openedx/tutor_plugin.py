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
# Empty values switch the matching patch off, so an instance without object storage gets no storage line at all.
STORAGE_BACKEND = "KUBERNETES_STORAGE_BACKEND"  # "" (media on a volume), "s3", "gcs" or "azure"
STORAGE_BUCKET = "KUBERNETES_STORAGE_BUCKET"  # the bucket; for Azure, the container
S3_REGION = "KUBERNETES_S3_REGION"
S3_ENDPOINT_URL = "KUBERNETES_S3_ENDPOINT_URL"
S3_CUSTOM_DOMAIN = "KUBERNETES_S3_CUSTOM_DOMAIN"
S3_WORKLOAD_IDENTITY = "KUBERNETES_S3_WORKLOAD_IDENTITY"
GCS_PROJECT = "KUBERNETES_GCS_PROJECT"
GCS_SIGNER_EMAIL = "KUBERNETES_GCS_SIGNER_EMAIL"
AZURE_ACCOUNT_NAME = "KUBERNETES_AZURE_ACCOUNT_NAME"
AZURE_ACCOUNT_KEY = "KUBERNETES_AZURE_ACCOUNT_KEY"
MYSQL_TLS = "KUBERNETES_MYSQL_TLS"
MYSQL_CA_FILE = "KUBERNETES_MYSQL_CA_FILE"
MONGODB_CA_FILE = "KUBERNETES_MONGODB_CA_FILE"
MONGODB_RETRY_WRITES = "KUBERNETES_MONGODB_RETRY_WRITES"
REDIS_TLS = "KUBERNETES_REDIS_TLS"
REDIS_CA_CERTIFICATE = "KUBERNETES_REDIS_CA_CERTIFICATE"
REDIS_SINGLE_DATABASE = "KUBERNETES_REDIS_SINGLE_DATABASE"
MEILISEARCH_UPSTREAM = "KUBERNETES_MEILISEARCH_UPSTREAM"
EMAIL_FROM = "KUBERNETES_EMAIL_FROM"  # "" (Tutor's: CONTACT_EMAIL) or the From address of the platform's mail

FLAGS = (S3_WORKLOAD_IDENTITY, MYSQL_TLS, REDIS_TLS, REDIS_SINGLE_DATABASE)
CONFIG_KEYS: tuple[str, ...] = (
    STORAGE_BACKEND,
    STORAGE_BUCKET,
    S3_REGION,
    S3_ENDPOINT_URL,
    S3_CUSTOM_DOMAIN,
    S3_WORKLOAD_IDENTITY,
    GCS_PROJECT,
    GCS_SIGNER_EMAIL,
    AZURE_ACCOUNT_NAME,
    AZURE_ACCOUNT_KEY,
    MYSQL_TLS,
    MYSQL_CA_FILE,
    MONGODB_CA_FILE,
    MONGODB_RETRY_WRITES,
    REDIS_TLS,
    REDIS_CA_CERTIFICATE,
    REDIS_SINGLE_DATABASE,
    MEILISEARCH_UPSTREAM,
    EMAIL_FROM,
)

DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {key: (False if key in FLAGS else "") for key in CONFIG_KEYS} | {MONGODB_RETRY_WRITES: True}
)
"""Default of each key (full names). `tutor_config` always sets them all; these keep the plugin self-contained."""

CA_KEYS = MappingProxyType({"mysql": "mysql-ca.pem", "mongodb": "mongodb-ca.pem"})
"""Settings Secret keys of the CA bundles managed servers are verified against; the chart mounts each, when present,
under /openedx/ca/ (CA_PATHS)."""
CA_PATHS = MappingProxyType({service: f"/openedx/ca/{key}" for service, key in CA_KEYS.items()})


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
{%- if KUBERNETES_MYSQL_TLS %}
# The shared server accepts TLS connections only.
for _database in DATABASES.values():
    if _database.get("ENGINE", "").endswith("mysql"):
{%- if KUBERNETES_MYSQL_CA_FILE %}
        # Its certificate is verified against the cloud's private CA, which travels with these settings.
        _database.setdefault("OPTIONS", {}).update(
            {"ssl_mode": "VERIFY_CA", "ssl": {"ca": "{{ KUBERNETES_MYSQL_CA_FILE }}"}})
{%- else %}
        # No CA of the server's to verify it with: encrypted, inside the private network only.
        _database.setdefault("OPTIONS", {})["ssl_mode"] = "REQUIRED"
{%- endif %}
{%- endif %}
{%- if KUBERNETES_MONGODB_CA_FILE or not KUBERNETES_MONGODB_RETRY_WRITES %}

# A managed MongoDB-compatible service (Amazon DocumentDB): no retryable writes, and TLS verified against the
# service's CA, on every connection (modulestore, contentstore, forum).
_MONGODB_OPTIONS = {"retryWrites": {{ KUBERNETES_MONGODB_RETRY_WRITES }}}
{%- if KUBERNETES_MONGODB_CA_FILE %}
_MONGODB_OPTIONS["tlsCAFile"] = "{{ KUBERNETES_MONGODB_CA_FILE }}"
{%- endif %}
DOC_STORE_CONFIG.update(_MONGODB_OPTIONS)
for _store in MODULESTORE["default"]["OPTIONS"]["stores"]:
    _store.setdefault("DOC_STORE_CONFIG", {}).update(_MONGODB_OPTIONS)
if "FORUM_MONGODB_CLIENT_PARAMETERS" in globals():
    FORUM_MONGODB_CLIENT_PARAMETERS.update(_MONGODB_OPTIONS)
    # The server is shared: the forum's collections go to the instance's own database, the only one it may use.
    FORUM_MONGODB_DATABASE = "{{ MONGODB_DATABASE }}"
{%- endif %}
{%- if KUBERNETES_REDIS_TLS %}

# A managed Redis speaks TLS only, with AUTH. Tutor writes redis:// URLs with the password pasted in unescaped:
# rebuild every Redis URL as rediss:// with URL-encoded credentials, and verify the server's certificate
# (against its CA when the cloud gives one, else the system's trust store).
import ssl as _ssl
from urllib.parse import quote as _quote, urlencode as _urlencode
_REDIS_CA_CERTIFICATE = '''{{ KUBERNETES_REDIS_CA_CERTIFICATE }}'''
_REDIS_TLS = {"ssl_cert_reqs": _ssl.CERT_REQUIRED}
if _REDIS_CA_CERTIFICATE:
    _REDIS_TLS["ssl_ca_data"] = _REDIS_CA_CERTIFICATE
_REDIS_ROOT = "rediss://{}:{}@{{ REDIS_HOST }}:{{ REDIS_PORT }}".format(
    _quote("{{ REDIS_USERNAME }}", safe=""), _quote("{{ REDIS_PASSWORD }}", safe=""))
{%- if KUBERNETES_REDIS_SINGLE_DATABASE %}
# The service has database 0 only: cache entries (prefixed, with a TTL) and Celery's queues (no TTL, so never
# evicted under volatile-lru) share it.
_REDIS_CACHE_DB, _REDIS_CELERY_DB = 0, 0
{%- else %}
_REDIS_CACHE_DB, _REDIS_CELERY_DB = {{ OPENEDX_CACHE_REDIS_DB }}, {{ OPENEDX_CELERY_REDIS_DB }}
{%- endif %}
for _cache in CACHES.values():
    if _cache.get("BACKEND") == "django_redis.cache.RedisCache":
        _cache["LOCATION"] = "{}/{}".format(_REDIS_ROOT, _REDIS_CACHE_DB)
        _cache.setdefault("OPTIONS", {})["CONNECTION_POOL_KWARGS"] = dict(_REDIS_TLS)
BROKER_URL = "{}/{}".format(_REDIS_ROOT, _REDIS_CELERY_DB)
BROKER_USE_SSL = dict(_REDIS_TLS)
# The event bus client takes its options from the URL only.
EVENT_BUS_REDIS_CONNECTION_URL = _REDIS_ROOT + "/?" + _urlencode(
    {"ssl_cert_reqs": "required", **({"ssl_ca_data": _REDIS_CA_CERTIFICATE} if _REDIS_CA_CERTIFICATE else {})})
{%- endif %}
{%- if KUBERNETES_STORAGE_BACKEND %}

# Media on the instance's own bucket. Verawood reads STORAGES (DEFAULT_FILE_STORAGE is ignored).
{%- if KUBERNETES_STORAGE_BACKEND == "s3" %}
STORAGES["default"]["BACKEND"] = "storages.backends.s3boto3.S3Boto3Storage"
AWS_STORAGE_BUCKET_NAME = "{{ KUBERNETES_STORAGE_BUCKET }}"
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
# edx-platform forces public-read; buckets with Object Ownership enforced or Block Public Access reject every
# upload that carries an ACL. The bucket's own policy decides instead.
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
ORA2_FILEUPLOAD_BACKEND = "s3"
FILE_UPLOAD_STORAGE_BUCKET_NAME = AWS_STORAGE_BUCKET_NAME
_BUCKET_OPTION = "bucket_name"
{%- elif KUBERNETES_STORAGE_BACKEND == "gcs" %}
STORAGES["default"]["BACKEND"] = "storages.backends.gcloud.GoogleCloudStorage"
GS_BUCKET_NAME = "{{ KUBERNETES_STORAGE_BUCKET }}"
GS_PROJECT_ID = "{{ KUBERNETES_GCS_PROJECT }}"
# Workload Identity, no key file: the pod has no private key to sign URLs with, so they are signed through the
# IAM signBlob API as the instance's own service account.
GS_IAM_SIGN_BLOB = True
GS_SA_EMAIL = "{{ KUBERNETES_GCS_SIGNER_EMAIL }}"
# Uniform bucket-level access rejects object ACLs; every URL is signed.
GS_DEFAULT_ACL = None
GS_QUERYSTRING_AUTH = True
# ORA2 uploads support only the s3, filesystem, swift and django backends: "django" stores them in STORAGES.
ORA2_FILEUPLOAD_BACKEND = "django"
_BUCKET_OPTION = "bucket_name"
{%- elif KUBERNETES_STORAGE_BACKEND == "azure" %}
STORAGES["default"]["BACKEND"] = "storages.backends.azure_storage.AzureStorage"
AZURE_ACCOUNT_NAME = "{{ KUBERNETES_AZURE_ACCOUNT_NAME }}"
AZURE_ACCOUNT_KEY = "{{ KUBERNETES_AZURE_ACCOUNT_KEY }}"
AZURE_CONTAINER = "{{ KUBERNETES_STORAGE_BUCKET }}"
AZURE_SSL = True
# The container is private: every URL carries a read SAS signed with the account key, valid for an hour.
AZURE_URL_EXPIRATION_SECS = 3600
# ORA2 uploads support only the s3, filesystem, swift and django backends: "django" stores them in STORAGES.
ORA2_FILEUPLOAD_BACKEND = "django"
_BUCKET_OPTION = "azure_container"
{%- endif %}
# Tutor's filesystem paths become key prefixes inside the bucket (object keys have no leading "/").
VIDEO_IMAGE_SETTINGS["STORAGE_CLASS"] = STORAGES["default"]["BACKEND"]
VIDEO_IMAGE_SETTINGS["STORAGE_KWARGS"] = {"location": MEDIA_ROOT.lstrip("/")}
VIDEO_TRANSCRIPTS_SETTINGS["STORAGE_CLASS"] = STORAGES["default"]["BACKEND"]
VIDEO_TRANSCRIPTS_SETTINGS["STORAGE_KWARGS"] = {"location": MEDIA_ROOT.lstrip("/")}
GRADES_DOWNLOAD = {
    "STORAGE_CLASS": STORAGES["default"]["BACKEND"],
    "STORAGE_KWARGS": {
        _BUCKET_OPTION: "{{ KUBERNETES_STORAGE_BUCKET }}",
        "location": GRADES_DOWNLOAD["STORAGE_KWARGS"]["location"].lstrip("/"),
    },
}
OPENEDX_LEARNING["MEDIA"] = {
    "BACKEND": STORAGES["default"]["BACKEND"],
    "OPTIONS": {
        _BUCKET_OPTION: "{{ KUBERNETES_STORAGE_BUCKET }}",
        "location": OPENEDX_LEARNING["MEDIA"]["OPTIONS"]["location"].lstrip("/"),
    },
}
{%- endif %}
{%- if KUBERNETES_EMAIL_FROM %}

# The platform's mail leaves from the relay's own sender address (a relay refuses other senders); Tutor sends
# from CONTACT_EMAIL, which stays the address shown to learners.
DEFAULT_FROM_EMAIL = "{{ KUBERNETES_EMAIL_FROM }}"
BULK_EMAIL_DEFAULT_FROM_EMAIL = DEFAULT_FROM_EMAIL
SERVER_EMAIL = DEFAULT_FROM_EMAIL
API_ACCESS_FROM_EMAIL = DEFAULT_FROM_EMAIL
{%- endif %}

# Logs go to stdout alone, where the container runtime rotates them and a node's log agent ships them. Tutor's
# file handlers would fill /openedx/data/logs (all.log, tracking.log) on the node's disk without bound. Tracking
# events keep a stream of their own: bare JSON lines, which a shipper tells from application logs by their shape.
LOGGING["handlers"]["local"] = {"class": "logging.NullHandler"}
LOGGING["formatters"]["openedx_k8s_tracking"] = {"format": "%(message)s"}
LOGGING["handlers"]["tracking"] = {"level": "DEBUG", "class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                                   "formatter": "openedx_k8s_tracking"}
LOGGING["loggers"]["tracking"]["handlers"] = ["tracking"]
# --- end of openedx-k8s ---"""

_LMS_COMMON_SETTINGS = """\
{%- if KUBERNETES_STORAGE_BACKEND -%}
# --- openedx-k8s: profile images on the bucket (here, because Tutor's common LMS settings reset their path).
# They are signed like every other object (edx-platform appends its "v" parameter with "&" to a signed URL).
PROFILE_IMAGE_BACKEND = {
    "class": STORAGES["default"]["BACKEND"],
    "options": {"location": os.path.join(MEDIA_ROOT, "profile-images/").lstrip("/")},
}
{%- endif %}"""

_CMS_COMMON_SETTINGS = """\
{%- if KUBERNETES_STORAGE_BACKEND -%}
# --- openedx-k8s: course import/export files and task artifacts on the bucket, not on one pod's disk
COURSE_IMPORT_EXPORT_STORAGE = STORAGES["default"]["BACKEND"]
USER_TASKS_ARTIFACT_STORAGE = COURSE_IMPORT_EXPORT_STORAGE
COURSE_METADATA_EXPORT_STORAGE = COURSE_IMPORT_EXPORT_STORAGE
{%- endif %}"""

_CLIENT_IP_SETTINGS = """\
# --- openedx-k8s: the client's address (login rate limits, DRF throttles, REMOTE_ADDR) ---
# Requests come through the ingress controller and the instance's Caddy. The controller appends the address it
# got the request from to X-Forwarded-For (Traefik, trusting no one's forwarded headers, first drops whatever a
# client sent); Caddy appends the controller pod's: the header ends with "<client>, <controller pod>". Read the
# client there, second from the right, rather than with edx-django-utils' default, which skips private
# addresses from the right: it would take a pod's own address were pod addresses public (IPv6), and an
# entry the client wrote were the client's own address private (VPN, VPC, local cluster) behind a controller
# that keeps such entries. Requests without the header (probes, calls between services) fall back to REMOTE_ADDR.
CLOSEST_CLIENT_IP_FROM_HEADERS = [{"name": "X-Forwarded-For", "index": -2}]
# Django REST framework's throttles read X-Forwarded-For on their own: the same entry.
REST_FRAMEWORK["NUM_PROXIES"] = 2
# --- end of openedx-k8s client IP ---"""

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
        # Last in production.py, after every setting edx-platform reads from its YAML.
        "openedx-lms-production-settings": _CLIENT_IP_SETTINGS,
        "openedx-cms-production-settings": _CLIENT_IP_SETTINGS,
        # uwsgi stops gracefully on SIGTERM: its workers finish the requests they serve (up to worker-reload-mercy)
        # instead of being killed with them (Tutor's die-on-term). The chart's grace period outlasts both.
        "uwsgi-config": "hook-master-start = unix_signal:15 gracefully_kill_them_all\nworker-reload-mercy = 60",
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
