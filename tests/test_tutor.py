"""Tutor as the settings compiler: components/openedx/tutor{,_config,_plugin}.py.

Renders real Tutor 22 templates in-process. One RSA key is generated per session; everything else is plain data.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from Crypto.IO import PEM
from Crypto.PublicKey import RSA
from Crypto.Util.asn1 import DerSequence
from tutor import config as tutor_config_module
from tutor import env as tutor_env
from tutor import fmt as tutor_fmt
from tutor import hooks
from tutor import utils as tutor_utils

from components.openedx import tutor, tutor_plugin
from components.openedx.tutor import RenderedSettings, TutorRenderError, render_settings
from components.openedx.tutor_checks import OWNED_KEYS
from components.openedx.tutor_config import tutor_config
from components.openedx.tutor_instance import (
    AzureBlobStorage,
    GcsStorage,
    InstanceSecrets,
    MeilisearchEndpoint,
    MongodbEndpoint,
    MysqlEndpoint,
    ObjectStorage,
    RedisEndpoint,
    S3Storage,
    SmtpEndpoint,
    TutorInstance,
)

REPO = Path(__file__).resolve().parents[1]
SETTINGS_FILES = {
    f"{v}-settings-{f}.py" for v in ("lms", "cms") for f in ("__init__", "production")
}
BASE_FILES = {"lms.env.yml", "cms.env.yml", "uwsgi.ini", "caddy-Caddyfile"} | SETTINGS_FILES


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    return RSA.generate(2048).export_key().decode() + "\n"


@pytest.fixture(scope="session")
def make(rsa_pem: str) -> Callable[..., TutorInstance]:
    """A realistic instance; `i` makes every host, name and password distinct."""

    def build(
        i: int = 1, plugins: tuple[str, ...] = ("forum", "mfe"), object_storage: ObjectStorage | None = None,
        **changes: Any
    ) -> TutorInstance:
        lms = f"learn{i}.example.org"
        instance = TutorInstance(
            name=f"acme{i}",
            lms_host=lms,
            cms_host=f"studio.{lms}",
            mfe_host=f"apps.{lms}",
            https=True,
            platform_name=f"Acme Academy {i}",
            contact_email=f"contact@{lms}",
            language_code="en",
            openedx_image="docker.io/overhangio/openedx:22.0.3",
            mfe_image="docker.io/overhangio/openedx-mfe:22.1.0",
            plugins=plugins,
            mysql=MysqlEndpoint("mysql.db.svc.cluster.local", 3306, f"acme{i}_edx", f"acme{i}_user", f"Mysql{i}Pw7x"),
            mongodb=MongodbEndpoint("mongodb.db.svc", 27017, f"acme{i}_mongo", f"acme{i}_m", f"Mongo{i}Pw7x", "admin"),
            redis=RedisEndpoint(f"redis.acme{i}.svc", 6380, "default", f"Redis{i}Pw7x"),
            meilisearch=MeilisearchEndpoint(
                url=f"http://meilisearch.acme{i}.svc:7700",
                public_url=f"https://meilisearch.{lms}",
                master_key=f"Meili{i}Master7x",
                api_key_uid=f"0b1f8f0e-5c2a-4a55-9d77-{i:012d}",
                index_prefix=f"acme{i}_",
            ),
            smtp=SmtpEndpoint("email-smtp.eu-west-1.amazonaws.com", 587, "AKIAEXAMPLE", "BASE64+/smtp=pw", True),
            secrets=InstanceSecrets(f"SecretKey{i}abc", rsa_pem, f"Oauth{i}Secret", f"instanceid{i:014d}"),
            object_storage=object_storage,
        )
        return dataclasses.replace(instance, **changes)

    return build


def s3(**changes: Any) -> S3Storage:
    return dataclasses.replace(S3Storage(bucket="acme1-media", region="eu-west-1"), **changes)


def everything(settings: RenderedSettings) -> str:
    return "\n".join(settings.secret_data().values())


def last_assignment(source: str, name: str) -> str:
    lines = [line for line in source.splitlines() if line.startswith(f"{name} = ")]
    assert lines, f"{name} is never assigned"
    return lines[-1]


# --- tutor_config: pure ---------------------------------------------------------------------------------------------


def test_config_is_plain_typed_and_sorted(make: Callable[..., TutorInstance]) -> None:
    config = tutor_config(make())
    assert list(config) == sorted(config)
    assert config["PLUGINS"] == ["forum", "kubernetes", "mfe"]
    assert config["ENABLE_HTTPS"] is True and config["ENABLE_WEB_PROXY"] is False and config["CADDY_HTTP_PORT"] == 80
    assert config["MYSQL_PORT"] == 3306 and config["MONGODB_USE_SSL"] is False
    assert config["MYSQL_ROOT_USERNAME"] == "" and config["MYSQL_ROOT_PASSWORD"] == ""
    assert config["MFE_HOST"] == "apps.learn1.example.org"
    assert "MFE_HOST" not in tutor_config(make(plugins=("forum",)))


def test_a_render_has_no_randomness(make: Callable[..., TutorInstance]) -> None:
    instance = make()
    first = render_settings(instance)
    render_settings(make(plugins=()))  # a plugin switch in between
    assert render_settings(instance).secret_data() == first.secret_data()
    # Every base.yml value generated at random is supplied, so its template never runs.
    random_filters = re.compile(r"random_string|rsa_private_key|\|uuid")
    random_keys = {key for key, value in tutor_config_module.get_base().items() if random_filters.search(str(value))}
    assert random_keys and random_keys <= set(tutor_config(instance))
    production = first.files["lms-settings-production.py"]
    assert re.search(r'^MEILISEARCH_API_KEY = "[0-9a-f]{64}"$', production, re.MULTILINE)
    assert f'JWT_AUTH["JWT_SECRET_KEY"] = "{instance.secrets.secret_key}"' in production


def test_owned_keys_cover_everything_the_program_sets(make: Callable[..., TutorInstance]) -> None:
    static = s3(workload_identity=False, access_key="AKIAEXAMPLE", secret_key="abc+/def=", endpoint_url="http://m:9000")
    config = tutor_config(make(object_storage=static))
    assert set(config) <= set(OWNED_KEYS)
    assert all(isinstance(hint, str) and hint for hint in OWNED_KEYS.values())


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("PLUGINS", "plugins"),
        ("LMS_HOST", "lmsHost"),
        ("CMS_HOST", "cmsHost"),
        ("MFE_HOST", "mfeHost"),
        ("MYSQL_HOST", "infrastructure"),
        ("MONGODB_HOST", "infrastructure"),
        ("REDIS_HOST", "infrastructure"),
        ("MEILISEARCH_URL", "infrastructure"),
        ("SMTP_HOST", "email"),
        ("OPENEDX_MYSQL_PASSWORD", "generated"),
        ("MONGODB_PASSWORD", "generated"),
        ("REDIS_PASSWORD", "generated"),
        ("SMTP_PASSWORD", "email"),
        ("MYSQL_ROOT_PASSWORD", "root"),
        ("OPENEDX_SECRET_KEY", "generated"),
        ("JWT_RSA_PRIVATE_KEY", "generated"),
        ("CMS_OAUTH2_SECRET", "generated"),
        ("MEILISEARCH_MASTER_KEY", "generated"),
        ("MEILISEARCH_API_KEY", "generated"),
        ("ID", "generated"),
        ("OPENEDX_AWS_SECRET_ACCESS_KEY", "object storage"),
        ("ENABLE_WEB_PROXY", "fixed"),
    ],
)
def test_owned_keys_name_what_to_use_instead(key: str, hint: str) -> None:
    assert hint in OWNED_KEYS[key]


def test_extra_config_passes_through_but_not_owned_keys(make: Callable[..., TutorInstance]) -> None:
    config = tutor_config(make(extra_config={"OPENEDX_LMS_UWSGI_WORKERS": 4, "X_ENABLED": True}))
    assert config["OPENEDX_LMS_UWSGI_WORKERS"] == 4 and config["X_ENABLED"] is True
    with pytest.raises(ValueError, match=r"extra_config\.LMS_HOST: set by the program; use lmsHost instead"):
        tutor_config(make(extra_config={"LMS_HOST": "evil.example.org"}))


def _set_secret(instance: TutorInstance, path: str, value: str) -> TutorInstance:
    group, name = path.split(".")
    return dataclasses.replace(instance, **{group: dataclasses.replace(getattr(instance, group), **{name: value})})


SECRET_FIELDS = [
    "secrets.secret_key",
    "secrets.cms_oauth2_secret",
    "secrets.instance_id",
    "mysql.password",
    "mongodb.password",
    "meilisearch.master_key",
]


@pytest.mark.parametrize("path", SECRET_FIELDS)
@pytest.mark.parametrize("value", ["ab{{cd}}", "a{#b#}c", "pass word", "p@ss", "quote'd"])
def test_non_alphanumeric_secret_is_refused_naming_the_field(
    make: Callable[..., TutorInstance], path: str, value: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(path) + ": must be a non-empty alphanumeric string"):
        tutor_config(_set_secret(make(), path, value))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"platform_name": 'Say "hi"'}, "platform_name"),
        ({"platform_name": "{{ SECRET }}"}, "platform_name"),
        ({"lms_host": "learn example.org"}, "lms_host"),
        ({"https": "false"}, "https"),
        ({"mysql": MysqlEndpoint("db", True, "d", "u", "p")}, "mysql.port"),
        ({"smtp": SmtpEndpoint("smtp", 25, "u", 'pw"x')}, "smtp.password"),
        ({"redis": RedisEndpoint("redis", 6379, "", "onlypw")}, "redis.username"),
        ({"redis": RedisEndpoint("redis", 6379, "default", "pass word")}, "redis.password"),
        ({"redis": RedisEndpoint("redis", 6379, "default", "ab{{cd}}")}, "redis.password"),
        ({"redis": RedisEndpoint("cache", 6380, tls=True)}, "redis.password"),
        ({"redis": RedisEndpoint("cache", 6380, "default", "p", True, "not a cert")}, "redis.ca_certificate"),
        ({"redis": RedisEndpoint("redis", 6379, single_database=True)}, "redis.single_database"),
        ({"mysql": MysqlEndpoint("db", 3306, "d", "u", "p", "yes")}, "mysql.tls"),  # type: ignore[arg-type]
        ({"object_storage": GcsStorage("acme1-media", "proj", "not an email")}, "object_storage.signer_email"),
        ({"object_storage": AzureBlobStorage("Media", "acct", "key")}, "object_storage.container"),
        ({"object_storage": AzureBlobStorage("media", "Bad-Account", "key")}, "object_storage.account_name"),
        ({"object_storage": AzureBlobStorage("media", "acct", 'k"ey')}, "object_storage.account_key"),
        (
            {"meilisearch": MeilisearchEndpoint("http://m:7700", "https://m.example.org", "k", "not-a-uuid")},
            "api_key_uid",
        ),
        ({"secrets": InstanceSecrets("a", "not a pem", "b", "c")}, "secrets.jwt_rsa_private_key"),
        ({"object_storage": s3(bucket="Bad_Bucket")}, "object_storage.bucket"),
        ({"object_storage": s3(workload_identity=False)}, "object_storage.access_key"),
        ({"object_storage": s3(access_key="AKIA")}, "object_storage.access_key"),
        ({"plugins": ("mfe", "Bad Plugin")}, "plugins[1]"),
    ],
)
def test_unsafe_values_are_refused_naming_the_field(
    make: Callable[..., TutorInstance], change: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(field)):
        tutor_config(make(**change))


def test_issued_credentials_may_hold_base64_punctuation(make: Callable[..., TutorInstance]) -> None:
    storage = s3(workload_identity=False, access_key="AKIAEXAMPLE", secret_key="wJalr/K7MDENG+bPxRfiCY=")
    config = tutor_config(make(object_storage=storage))
    assert config["OPENEDX_AWS_SECRET_ACCESS_KEY"] == "wJalr/K7MDENG+bPxRfiCY="
    assert config["SMTP_PASSWORD"] == "BASE64+/smtp=pw"


def test_plugin_keys_match_its_patches() -> None:
    used = {key for patch in tutor_plugin.PATCHES.values() for key in re.findall(r"KUBERNETES_\w+", patch)}
    assert used == set(tutor_plugin.CONFIG_KEYS) == set(tutor_plugin.DEFAULTS)
    assert all(key.startswith(tutor_plugin.PREFIX) for key in tutor_plugin.CONFIG_KEYS)


# --- rendering -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plugins", "expected"),
    [(("forum", "mfe"), BASE_FILES | {"mfe-Caddyfile"}), (("forum",), BASE_FILES), ((), BASE_FILES)],
)
def test_files_are_the_agreed_secret_keys(
    make: Callable[..., TutorInstance], plugins: tuple[str, ...], expected: set[str]
) -> None:
    assert set(render_settings(make(plugins=plugins)).files) == expected


def test_instance_sees_only_its_own_hosts_and_databases(make: Callable[..., TutorInstance]) -> None:
    one = render_settings(make(1))
    text_one = everything(one)
    for own in (
        "learn1.example.org",
        "studio.learn1.example.org",
        "apps.learn1.example.org",
        "acme1_edx",
        "acme1_user",
    ):
        assert own in text_one
    assert 'NAME: "acme1_edx"' in one.files["lms.env.yml"] and 'USER: "acme1_user"' in one.files["cms.env.yml"]
    for other in ("learn2.example.org", "acme2_edx", "acme2_user", "Mysql2Pw7x", "Redis2Pw7x", "SecretKey2abc"):
        assert other not in text_one


def test_https_behind_the_ingress(make: Callable[..., TutorInstance]) -> None:
    settings = render_settings(make())
    assert 'LMS_ROOT_URL: "https://learn1.example.org"' in settings.files["lms.env.yml"]
    assert 'HTTPS: "on"' in settings.files["lms.env.yml"]
    assert "SESSION_COOKIE_SECURE = True" in settings.files["lms-settings-production.py"]
    caddyfile = settings.files["caddy-Caddyfile"]
    assert "trusted_proxies static" in caddyfile  # only rendered with ENABLE_WEB_PROXY false
    assert "learn1.example.org{$default_site_port} {" in caddyfile
    assert "header_up X-Forwarded-Port 443" in caddyfile


def test_caddy_routes_the_public_meilisearch_host_to_the_instance_endpoint(make: Callable[..., TutorInstance]) -> None:
    caddyfile = render_settings(make()).files["caddy-Caddyfile"]
    block = 'meilisearch.learn1.example.org{$default_site_port} {\n    import proxy "meilisearch.acme1.svc:7700"\n}'
    assert block in caddyfile and 'import proxy "meilisearch:7700"' not in caddyfile
    hosted = MeilisearchEndpoint("https://ms-1.meilisearch.io", "https://ms-1.meilisearch.io", "k1", _uuid(1))
    # Browsers go there directly.
    assert "ms-1" not in render_settings(make(meilisearch=hosted)).files["caddy-Caddyfile"]


CLIENT_IP_BLOCK = ("# --- openedx-k8s: the client's address", "# --- end of openedx-k8s client IP ---")


def client_ip_settings(production: str) -> dict[str, Any]:
    """Execute our client-IP block of a rendered production.py: the settings it leaves (REST_FRAMEWORK stands in
    for edx-platform's)."""
    start = production.index(CLIENT_IP_BLOCK[0])
    block = production[start:production.index(CLIENT_IP_BLOCK[1], start)]
    scope: dict[str, Any] = {"REST_FRAMEWORK": {"PAGE_SIZE": 10}}
    exec(compile(block, "production.py", "exec"), scope)
    return {"CLOSEST_CLIENT_IP_FROM_HEADERS": scope["CLOSEST_CLIENT_IP_FROM_HEADERS"],
            "REST_FRAMEWORK": scope["REST_FRAMEWORK"]}


def test_django_reads_the_client_address_the_ingress_wrote(make: Callable[..., TutorInstance]) -> None:
    settings = render_settings(make())
    for service in ("lms", "cms"):
        production = settings.files[f"{service}-settings-production.py"]
        assert client_ip_settings(production) == {
            "CLOSEST_CLIENT_IP_FROM_HEADERS": [{"name": "X-Forwarded-For", "index": -2}],
            "REST_FRAMEWORK": {"PAGE_SIZE": 10, "NUM_PROXIES": 2},
        }
        # After edx-platform's production settings, and nothing after it sets them again.
        assert production.index(f"from {service}.envs.production import *") < production.index(CLIENT_IP_BLOCK[0])
        rest = production[production.index(CLIENT_IP_BLOCK[1]):]
        assert "CLOSEST_CLIENT_IP_FROM_HEADERS" not in rest and "NUM_PROXIES" not in rest


# Addresses as the request path hands them to uwsgi: the learner, what a client may write in X-Forwarded-For, pods.
LEARNER, WRITTEN, VPN_LEARNER = "81.2.69.142", "8.8.4.4", "10.8.0.6"
INGRESS_POD, CADDY_POD, WORKER_POD = "10.4.1.20", "10.4.2.30", "10.4.3.40"
INGRESS_POD_V6, CADDY_POD_V6 = "2600:1f18:4a3:6902::7", "2600:1f18:4a3:6902::8"  # public pod addresses (IPv6)
CHAINS = [
    # (X-Forwarded-For, REMOTE_ADDR, the address Django must use, the one edx-django-utils' default would use)
    # Traefik drops what the client wrote and writes the learner's address; Caddy appends Traefik's.
    (f"{LEARNER}, {INGRESS_POD}", CADDY_POD, LEARNER, LEARNER),
    # A learner inside a private network (VPN, VPC, a local cluster).
    (f"{VPN_LEARNER}, {INGRESS_POD}", CADDY_POD, VPN_LEARNER, VPN_LEARNER),
    # An ingress controller that keeps what clients write: its own entry is still second from the right.
    (f"{WRITTEN}, {LEARNER}, {INGRESS_POD}", CADDY_POD, LEARNER, LEARNER),
    (f"{WRITTEN}, {VPN_LEARNER}, {INGRESS_POD}", CADDY_POD, VPN_LEARNER, WRITTEN),
    # Pods with public addresses.
    (f"{LEARNER}, {INGRESS_POD_V6}", CADDY_POD_V6, LEARNER, CADDY_POD_V6),
    # No header: a probe or another service calling uwsgi directly.
    (None, WORKER_POD, WORKER_POD, WORKER_POD),
]


def test_the_rendered_settings_give_edx_django_utils_the_learners_address(make: Callable[..., TutorInstance]) -> None:
    """The rendered settings through edx-django-utils' own client-IP code (login rate limits, REMOTE_ADDR) and
    Django REST framework's throttles (both pinned in requirements-dev.txt)."""
    from django import conf as django_conf

    if not django_conf.settings.configured:
        django_conf.settings.configure()  # before the imports below: DRF reads its settings as it loads
    from django.test import RequestFactory, override_settings
    from edx_django_utils import ip
    from rest_framework import throttling

    ours = client_ip_settings(render_settings(make()).files["lms-settings-production.py"])
    for forwarded_for, remote_addr, expected, by_default in CHAINS:
        headers = {"REMOTE_ADDR": remote_addr}
        if forwarded_for is not None:
            headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
        # Without the header, edx-django-utils warns (once per process) and reads REMOTE_ADDR.
        missing = pytest.warns(UserWarning, match="header was missing") if forwarded_for is None else nullcontext()
        with override_settings(**ours), missing:
            assert ip.get_safest_client_ip(RequestFactory().post("/api/user/v2/account/login_session/",
                                                                 **headers)) == expected, forwarded_for
            assert throttling.AnonRateThrottle().get_ident(RequestFactory().get("/", **headers)) == expected
        with override_settings(CLOSEST_CLIENT_IP_FROM_HEADERS=[]):
            assert ip.get_safest_client_ip(RequestFactory().get("/", **headers)) == by_default, forwarded_for


def _uuid(i: int) -> str:
    return f"0b1f8f0e-5c2a-4a55-9d77-{i:012d}"


def test_mysql_task_dropped_and_no_root_credential_anywhere(make: Callable[..., TutorInstance]) -> None:
    settings = render_settings(make())
    assert {task.service for task in settings.init_tasks} <= {"lms", "cms"}
    text = everything(settings)
    for root_only in ("CREATE USER", "CREATE DATABASE", "GRANT ALL", "mysql -u", "MYSQL_ROOT", "--user=root"):
        assert root_only not in text
    assert 'USER: "acme1_user"' in settings.files["lms.env.yml"] and 'USER: "root"' not in text


def test_init_tasks_keep_tutors_order_and_end_with_the_site_task(make: Callable[..., TutorInstance]) -> None:
    tasks = render_settings(make()).init_tasks
    assert [task.key for task in tasks] == [f"init-{n:02d}-{task.service}.sh" for n, task in enumerate(tasks, 1)]
    assert [task.service for task in tasks] == ["lms", "lms", "lms", "cms", "lms", "lms", "lms"]
    assert "./manage.py lms migrate" in tasks[2].script and "./manage.py cms migrate" in tasks[3].script
    assert "initialize_forum_indices" in tasks[4].script
    site = tasks[-1]
    assert site.service == "lms" and "Site.objects.update_or_create(id=2" in site.script
    assert 'domain = "learn1.example.org"' in site.script


def test_site_task_quotes_any_platform_name(make: Callable[..., TutorInstance], tmp_path: Path) -> None:
    name = "O'Brien & <Sons> $HOME `id` Académie — a very long platform name indeed"
    script = render_settings(make(platform_name=name)).init_tasks[-1].script
    fake_manage = tmp_path / "manage.py"
    fake_manage.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent(
            """\
            import json, sys, types
            assert sys.argv[1:4] == ["lms", "shell", "-c"], sys.argv
            calls = []
            class Query:
                def exclude(self, **kw): return self
                def filter(self, **kw): return self
                def exists(self): return False
                def update_or_create(self, **kw): calls.append(kw); return None, True
            models = types.ModuleType("django.contrib.sites.models")
            models.Site = type("Site", (), {"objects": Query()})
            for parent in ("django", "django.contrib", "django.contrib.sites"):
                sys.modules[parent] = types.ModuleType(parent)
            sys.modules["django.contrib.sites.models"] = models
            exec(sys.argv[4], {})
            open("calls.json", "w").write(json.dumps(calls))
            """
        )
    )
    fake_manage.chmod(0o755)
    subprocess.run(["sh", "-e", "-c", script], cwd=tmp_path, check=True, capture_output=True)
    calls = json.loads((tmp_path / "calls.json").read_text())
    assert calls == [{"id": 2, "defaults": {"domain": "learn1.example.org", "name": name[:50]}}]


@pytest.mark.parametrize(
    ("redis", "url"),
    [
        (
            RedisEndpoint("redis.acme1.svc", 6380, "default", "Redis1Pw7x"),
            "redis://default:Redis1Pw7x@redis.acme1.svc:6380/",
        ),
        (RedisEndpoint("redis", 6379), "redis://@redis:6379/"),
    ],
)
def test_event_bus_uses_the_instance_redis(make: Callable[..., TutorInstance], redis: RedisEndpoint, url: str) -> None:
    settings = render_settings(make(redis=redis))
    for variant in ("lms", "cms"):
        production = settings.files[f"{variant}-settings-production.py"]
        assert (
            last_assignment(production, "EVENT_BUS_REDIS_CONNECTION_URL") == f'EVENT_BUS_REDIS_CONNECTION_URL = "{url}"'
        )


def test_utf8mb4_charset_always_set(make: Callable[..., TutorInstance]) -> None:
    settings = render_settings(make())
    assert "charset" not in settings.files["lms.env.yml"]  # Tutor emits it only with RUN_MYSQL
    for variant in ("lms", "cms"):
        assert (
            'DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"'
            in settings.files[f"{variant}-settings-production.py"]
        )


@pytest.mark.parametrize(
    ("plugin", "marker", "task_marker"),
    [
        ("mfe", "MFE_CONFIG", "MFE-specific"),
        ("forum", "FORUM_SEARCH_BACKEND", "initialize_forum_indices"),
    ],
)
def test_plugins_change_settings_and_tasks(
    make: Callable[..., TutorInstance], plugin: str, marker: str, task_marker: str
) -> None:
    with_plugin, without = render_settings(make(plugins=(plugin,))), render_settings(make(plugins=()))
    assert marker in with_plugin.files["lms-settings-production.py"]
    assert marker not in without.files["lms-settings-production.py"]
    assert any(task_marker in task.script for task in with_plugin.init_tasks)
    assert not any(task_marker in task.script for task in without.init_tasks)
    assert ("mfe-Caddyfile" in with_plugin.files) is (plugin == "mfe") and "mfe-Caddyfile" not in without.files
    assert len(with_plugin.init_tasks) == len(without.init_tasks) + 1


def test_s3_with_workload_identity(make: Callable[..., TutorInstance]) -> None:
    settings = render_settings(make(object_storage=s3()))
    lms, cms = settings.files["lms-settings-production.py"], settings.files["cms-settings-production.py"]
    for production in (lms, cms):
        assert 'STORAGES["default"]["BACKEND"] = "storages.backends.s3boto3.S3Boto3Storage"' in production
        assert last_assignment(production, "AWS_DEFAULT_ACL") == "AWS_DEFAULT_ACL = None"
        assert 'AWS_STORAGE_BUCKET_NAME = "acme1-media"' in production
        assert 'AWS_S3_REGION_NAME = "eu-west-1"' in production
        assert "AWS_QUERYSTRING_AUTH = True" in production and 'AWS_S3_SIGNATURE_VERSION = "s3v4"' in production
        assert 'ORA2_FILEUPLOAD_BACKEND = "s3"' in production and "FILE_UPLOAD_STORAGE_BUCKET_NAME = AWS_" in production
        assert "AWS_ACCESS_KEY_ID = None" in production and "AWS_SECRET_ACCESS_KEY = None" in production
        assert "AWS_S3_ENDPOINT_URL" not in production and "AWS_S3_CUSTOM_DOMAIN" not in production
        for setting in ("GRADES_DOWNLOAD", 'OPENEDX_LEARNING["MEDIA"]', "VIDEO_IMAGE_SETTINGS", "VIDEO_TRANSCRIPTS"):
            assert setting in production
    assert "PROFILE_IMAGE_BACKEND = {" in lms and "PROFILE_IMAGE_BACKEND = {" not in cms
    assert "COURSE_IMPORT_EXPORT_STORAGE = STORAGES" in cms and "COURSE_IMPORT_EXPORT_STORAGE" not in lms
    for env in ("lms.env.yml", "cms.env.yml"):  # no static keys anywhere
        assert 'AWS_ACCESS_KEY_ID: ""' in settings.files[env] and 'AWS_SECRET_ACCESS_KEY: ""' in settings.files[env]


def test_s3_compatible_service_with_static_keys(make: Callable[..., TutorInstance]) -> None:
    storage = s3(
        endpoint_url="http://minio.storage.svc:9000",
        custom_domain="media.example.org",
        workload_identity=False,
        access_key="AKIAEXAMPLE",
        secret_key="wJalr/K7MDENG+bPxRfiCY=",
    )
    settings = render_settings(make(object_storage=storage))
    production = settings.files["lms-settings-production.py"]
    assert 'AWS_S3_ENDPOINT_URL = "http://minio.storage.svc:9000"' in production
    assert (
        'AWS_S3_ADDRESSING_STYLE = "path"' in production
        and 'request_checksum_calculation="when_required"' in production
    )
    assert 'AWS_S3_CUSTOM_DOMAIN = "media.example.org"' in production
    assert "AWS_ACCESS_KEY_ID = None" not in production
    assert 'AWS_ACCESS_KEY_ID: "AKIAEXAMPLE"' in settings.files["lms.env.yml"]
    assert 'AWS_SECRET_ACCESS_KEY: "wJalr/K7MDENG+bPxRfiCY="' in settings.files["cms.env.yml"]


def tutor_logging(log_dir: str) -> dict[str, Any]:
    """LOGGING as edx-platform's production settings and Tutor's common_all.py leave it before our block: a console
    handler, and Tutor's two WatchedFileHandlers under LOG_DIR (written literally: the shape our block meets)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"standard": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                       "raw": {"format": "%(message)s"}},
        "handlers": {
            "console": {"level": "INFO", "class": "logging.StreamHandler", "formatter": "standard",
                        "stream": "ext://sys.stderr"},
            "local": {"class": "logging.handlers.WatchedFileHandler", "filename": f"{log_dir}/all.log",
                      "formatter": "standard"},
            "tracking": {"level": "DEBUG", "class": "logging.handlers.WatchedFileHandler",
                         "filename": f"{log_dir}/tracking.log", "formatter": "standard"},
        },
        "loggers": {
            "tracking": {"handlers": ["console", "local", "tracking"], "level": "DEBUG", "propagate": False},
            "": {"handlers": ["console", "local"], "level": "INFO", "propagate": False},
        },
    }


def run_our_settings(production: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute our plugin's block of a rendered production.py against stand-ins for what precedes it there (Tutor's
    and edx-platform's settings): it must be valid Python that produces the settings asserted."""
    start = production.index("# --- openedx-k8s (plugin")
    block = production[start:production.index("# --- end of openedx-k8s ---", start)]
    redis = "redis://@redis:6379/1"
    scope: dict[str, Any] = {
        "os": os,
        "CACHES": {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis},
                   "loc_cache": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        "DATABASES": {"default": {"ENGINE": "django.db.backends.mysql"},
                      "read_replica": {"ENGINE": "django.db.backends.mysql"}},
        "STORAGES": {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}},
        "MEDIA_ROOT": "/openedx/media/",
        "VIDEO_IMAGE_SETTINGS": {}, "VIDEO_TRANSCRIPTS_SETTINGS": {},
        "GRADES_DOWNLOAD": {"STORAGE_KWARGS": {"location": "/openedx/data/grades"}},
        "OPENEDX_LEARNING": {"MEDIA": {"OPTIONS": {"location": "/openedx/media-private/openedx-learning"}}},
        "DOC_STORE_CONFIG": {"db": "openedx"},
        "MODULESTORE": {"default": {"OPTIONS": {"stores": [{"DOC_STORE_CONFIG": {"db": "openedx"}}, {}]}}},
        "FORUM_MONGODB_CLIENT_PARAMETERS": {"host": "mongodb"},
        "FORUM_MONGODB_DATABASE": "cs_comments_service",
        "LOGGING": tutor_logging("/openedx/data/logs"),
        **(namespace or {}),
    }
    exec(compile(block, "production.py", "exec"), scope)
    return scope


CA = "-----BEGIN CERTIFICATE-----\nMIIBmock+/=\n-----END CERTIFICATE-----\n"


def test_managed_mysql_is_reached_over_tls(make: Callable[..., TutorInstance]) -> None:
    mysql = MysqlEndpoint("db.example.internal", 3306, "openedx_acme1", "openedx_acme1", "Mysql1Pw7x", tls=True)
    settings = run_our_settings(render_settings(make(mysql=mysql)).files["lms-settings-production.py"])
    assert all(db["OPTIONS"]["ssl_mode"] == "REQUIRED" for db in settings["DATABASES"].values())
    verified = render_settings(make(mysql=dataclasses.replace(mysql, ca_certificate=CA)))
    assert verified.files["mysql-ca.pem"] == CA
    settings = run_our_settings(verified.files["cms-settings-production.py"])
    assert all(db["OPTIONS"]["ssl_mode"] == "VERIFY_CA" and db["OPTIONS"]["ssl"] == {"ca": "/openedx/ca/mysql-ca.pem"}
               for db in settings["DATABASES"].values())
    plain = run_our_settings(render_settings(make()).files["lms-settings-production.py"])
    assert "ssl_mode" not in plain["DATABASES"]["read_replica"].get("OPTIONS", {})




def test_documentdb_connections_skip_retryable_writes_and_verify_its_ca(make: Callable[..., TutorInstance]) -> None:
    bundle = CA + CA.replace("mock", "more")
    mongodb = MongodbEndpoint("docdb.cluster-x.eu-west-1.docdb.amazonaws.com", 27017, "openedx_acme1",
                              "openedx_acme1", "Mongo1Pw7x", "admin", use_ssl=True, replica_set="rs0",
                              ca_certificate=bundle, retry_writes=False)
    rendered = render_settings(make(mongodb=mongodb))
    assert rendered.files["mongodb-ca.pem"] == bundle  # mounted by the chart at the path the settings name
    for variant in ("lms", "cms"):
        settings = run_our_settings(rendered.files[f"{variant}-settings-production.py"])
        options = {"retryWrites": False, "tlsCAFile": tutor_plugin.CA_PATHS["mongodb"]}
        assert options.items() <= settings["DOC_STORE_CONFIG"].items()
        assert all(options.items() <= store["DOC_STORE_CONFIG"].items()
                   for store in settings["MODULESTORE"]["default"]["OPTIONS"]["stores"])
        assert options.items() <= settings["FORUM_MONGODB_CLIENT_PARAMETERS"].items()
        assert settings["FORUM_MONGODB_DATABASE"] == "openedx_acme1"  # never a database shared across instances
    plain = render_settings(make())
    assert "mongodb-ca.pem" not in plain.files and "_MONGODB_OPTIONS" not in everything(plain)


@pytest.mark.parametrize(("ca", "username", "single"), [("", "", False), (CA, "default", False), ("", "", True)])
def test_managed_redis_is_reached_over_tls_with_encoded_credentials(
    make: Callable[..., TutorInstance], ca: str, username: str, single: bool
) -> None:
    import ssl
    from urllib.parse import parse_qs, urlsplit

    redis = RedisEndpoint("cache.example.internal", 6380, username, "Az+Key/w@=", tls=True, ca_certificate=ca,
                          single_database=single)
    rendered = render_settings(make(redis=redis))
    for variant in ("lms", "cms"):
        settings = run_our_settings(rendered.files[f"{variant}-settings-production.py"])
        root = f"rediss://{username}:Az%2BKey%2Fw%40%3D@cache.example.internal:6380"
        assert settings["CACHES"]["default"]["LOCATION"] == root + ("/0" if single else "/1")
        pem = ca.rstrip("\n")  # Jinja drops the final newline; the PEM is still complete
        expected_tls = {"ssl_cert_reqs": ssl.CERT_REQUIRED, **({"ssl_ca_data": pem} if ca else {})}
        assert settings["CACHES"]["default"]["OPTIONS"]["CONNECTION_POOL_KWARGS"] == expected_tls
        assert "OPTIONS" not in settings["CACHES"]["loc_cache"]
        assert settings["BROKER_URL"] == root + "/0" and settings["BROKER_USE_SSL"] == expected_tls
        event_bus = urlsplit(settings["EVENT_BUS_REDIS_CONNECTION_URL"])
        assert event_bus.scheme == "rediss" and event_bus.path == "/"
        assert parse_qs(event_bus.query) == {"ssl_cert_reqs": ["required"], **({"ssl_ca_data": [pem]} if ca else {})}


def test_gcs_with_workload_identity_signs_urls_through_iam(make: Callable[..., TutorInstance]) -> None:
    storage = GcsStorage("acme1-media", "acme-project", "acme1-media@acme-project.iam.gserviceaccount.com")
    rendered = render_settings(make(object_storage=storage))
    settings = run_our_settings(rendered.files["lms-settings-production.py"])
    assert settings["STORAGES"]["default"]["BACKEND"] == "storages.backends.gcloud.GoogleCloudStorage"
    assert settings["GS_BUCKET_NAME"] == "acme1-media" and settings["GS_PROJECT_ID"] == "acme-project"
    assert settings["GS_IAM_SIGN_BLOB"] is True and settings["GS_SA_EMAIL"] == storage.signer_email
    assert settings["GS_DEFAULT_ACL"] is None and settings["GS_QUERYSTRING_AUTH"] is True
    assert settings["ORA2_FILEUPLOAD_BACKEND"] == "django"
    grades = settings["GRADES_DOWNLOAD"]["STORAGE_KWARGS"]
    assert grades == {"bucket_name": "acme1-media", "location": "openedx/data/grades"}
    assert not [name for name in settings if name.startswith("AWS_")] and "S3Boto3Storage" not in everything(rendered)


def test_azure_blob_with_the_instance_account_key(make: Callable[..., TutorInstance]) -> None:
    storage = AzureBlobStorage("openedx", "oxacme1abc", "S3cr3t+Key/Base64==")
    rendered = render_settings(make(object_storage=storage))
    settings = run_our_settings(rendered.files["cms-settings-production.py"])
    assert settings["STORAGES"]["default"]["BACKEND"] == "storages.backends.azure_storage.AzureStorage"
    assert (settings["AZURE_ACCOUNT_NAME"], settings["AZURE_CONTAINER"]) == ("oxacme1abc", "openedx")
    assert settings["AZURE_ACCOUNT_KEY"] == "S3cr3t+Key/Base64==" and settings["AZURE_URL_EXPIRATION_SECS"] == 3600
    assert settings["ORA2_FILEUPLOAD_BACKEND"] == "django"
    # django-storages refuses options a backend does not know: Azure's takes the container, not a bucket_name.
    assert settings["OPENEDX_LEARNING"]["MEDIA"]["OPTIONS"] == {
        "azure_container": "openedx", "location": "openedx/media-private/openedx-learning"}
    assert "S3Boto3Storage" not in everything(rendered)


@pytest.mark.parametrize("storage_class", ["storages.backends.s3boto3.S3Boto3Storage",
                                           "storages.backends.gcloud.GoogleCloudStorage",
                                           "storages.backends.azure_storage.AzureStorage"])
def test_the_patch_names_each_django_storages_backend(storage_class: str) -> None:
    assert f'"{storage_class}"' in tutor_plugin.PATCHES["openedx-common-settings"]


def test_no_s3_without_object_storage(make: Callable[..., TutorInstance]) -> None:
    text = everything(render_settings(make(object_storage=None)))
    for s3_only in ("S3Boto3Storage", "AWS_DEFAULT_ACL", "AWS_STORAGE_BUCKET_NAME", 'ORA2_FILEUPLOAD_BACKEND = "s3"'):
        assert s3_only not in text
    assert 'ORA2_FILEUPLOAD_BACKEND = "filesystem"' in text


def test_secret_data_and_content_hash(make: Callable[..., TutorInstance]) -> None:
    settings = render_settings(make())
    data = settings.secret_data()
    assert list(data) == sorted(data)
    assert set(data) == set(settings.files) | {task.key for task in settings.init_tasks}
    assert re.fullmatch(r"[0-9a-f]{10}", settings.content_hash)
    assert render_settings(make()).content_hash == settings.content_hash
    assert render_settings(make(2)).content_hash != settings.content_hash


def test_content_hash_changes_when_any_file_or_task_changes(make: Callable[..., TutorInstance]) -> None:
    settings = render_settings(make())
    for key in settings.files:
        changed = dataclasses.replace(settings, files={**settings.files, key: settings.files[key] + "#"})
        assert changed.content_hash != settings.content_hash, key
    tasks = (dataclasses.replace(settings.init_tasks[0], script="true"), *settings.init_tasks[1:])
    assert dataclasses.replace(settings, init_tasks=tasks).content_hash != settings.content_hash


def test_switching_plugin_sets_back_and_forth_is_identical(make: Callable[..., TutorInstance]) -> None:
    a, b, c = make(1), make(2, plugins=()), make(3, plugins=("forum",))
    first = render_settings(a)
    for instance in (b, c, a, b, a):
        render_settings(instance)
    assert render_settings(a) == first
    assert render_settings(a).secret_data() == first.secret_data()


@pytest.mark.parametrize("plugins", [("forum", "mfe"), ()])
def test_caches_do_not_change_tutors_output(make: Callable[..., TutorInstance], plugins: tuple[str, ...]) -> None:
    """Our cached render equals Tutor's own uncached path: update_with_* + render_full, a Renderer per file."""
    static = s3(endpoint_url="http://minio:9000", workload_identity=False, access_key="AK", secret_key="s/k+")
    instance = make(4, plugins=plugins, object_storage=static, extra_config={"X_URL": "https://{{ LMS_HOST }}/x"})
    settings = render_settings(instance)
    reference = copy.deepcopy(tutor_config(instance))  # the same plugin set is loaded now
    tutor_config_module.update_with_base(reference)
    tutor_config_module.update_with_defaults(reference)
    tutor_config_module.render_full(reference)
    assert reference["X_URL"] == "https://learn4.example.org/x"
    templates = dict((key, template) for template, key in tutor._file_templates(tutor_env.Renderer(reference)))
    assert {key: tutor_env.render_file(reference, templates[key]) for key in settings.files} == settings.files
    mysql = set(hooks.Filters.CLI_DO_INIT_TASKS.iterate_from_context(hooks.Contexts.app("mysql").name))
    expected = [
        (service, tutor_env.render_str(reference, script).strip())
        for service, script in hooks.Filters.CLI_DO_INIT_TASKS.iterate()
        if (service, script) not in mysql
    ]
    assert [(task.service, task.script) for task in settings.init_tasks] == expected


def test_plain_values_skip_jinja_exactly() -> None:
    renderer = tutor._Renderer(tutor._Compiled())
    for text in [
        "",
        "a",
        "a\n",
        "a\n\n",
        "\n",
        "pass+/=word",
        "line1\nline2\n",
        "-----BEGIN X-----\nAB==\n-----END X-----\n",
    ]:
        assert renderer.render_str(text) == tutor_env.Renderer({}).render_str(text), repr(text)


def test_switches_do_not_leak_hooks(make: Callable[..., TutorInstance]) -> None:
    def callbacks() -> int:
        hook_sets = (vars(hooks.Filters).values(), vars(hooks.Actions).values())
        return sum(len(getattr(hook, "callbacks", ())) for hook_set in hook_sets for hook in hook_set)

    a, b = make(1), make(2, plugins=())
    render_settings(a), render_settings(b), render_settings(a)
    before = callbacks()
    for _ in range(5):
        render_settings(b), render_settings(a)
    assert callbacks() == before


def test_rendering_prints_nothing_and_keeps_the_environment(
    make: Callable[..., TutorInstance], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUTOR_CMS_OAUTH2_KEY_SSO", "from-the-environment")
    environment = dict(os.environ)
    noisy = hooks.Contexts.app("test-noisy")

    def talk(plugin: str) -> None:  # what a chatty plugin or Tutor itself does while loading
        print("print from", plugin)
        tutor_fmt.echo_alert(f"alert from {plugin}")

    with noisy.enter():
        hooks.Actions.PLUGIN_LOADED.add()(talk)
        # A filter that clashes with a core one: Tutor's Renderer alerts about it on every rebuild.
        hooks.Filters.ENV_TEMPLATE_FILTERS.add_item(("common_domain", tutor_utils.common_domain))
    try:
        for plugins in (("forum",), ("forum", "mfe"), (), ("forum", "mfe")):
            render_settings(make(plugins=plugins))
    finally:
        hooks.clear_all(context=noisy.name)
    assert capfd.readouterr() == ("", "")
    assert dict(os.environ) == environment


def test_unknown_plugin_fails_loudly(make: Callable[..., TutorInstance]) -> None:
    with pytest.raises(ValueError, match="plugins\\[0\\]: 'nosuchplugin' is not a supported Tutor plugin"):
        render_settings(make(plugins=("nosuchplugin",)))
    assert render_settings(make()).files  # the process still renders afterwards


def test_init_task_for_another_service_fails_loudly() -> None:
    context = hooks.Contexts.app("test-bad-service")
    with context.enter():
        hooks.Filters.CLI_DO_INIT_TASKS.add_item(("minio", "mc mb openedx"))
    try:
        with pytest.raises(TutorRenderError, match="service 'minio'"):
            tutor._init_tasks()
    finally:
        hooks.clear_all(context=context.name)


def test_fast_rsa_import_equals_pycryptodome(rsa_pem: str) -> None:
    fast, slow = tutor._rsa_import_key(rsa_pem.strip()), RSA.import_key(rsa_pem)
    for attribute in ("n", "e", "d", "p", "q", "dp", "dq", "invq"):
        assert getattr(fast, attribute) == getattr(slow, attribute), attribute
    der, _, _ = PEM.decode(rsa_pem)
    sequence = DerSequence().decode(der)
    parts = [sequence[index] for index in range(len(sequence))]
    parts[1] += 2  # n no longer p*q
    broken = PEM.encode(DerSequence(parts).encode(), "RSA PRIVATE KEY")
    with pytest.raises(TutorRenderError, match="not a consistent RSA private key"):
        tutor._rsa_import_key(broken)
    pkcs8 = RSA.import_key(rsa_pem).export_key(pkcs=8).decode()
    assert tutor._rsa_import_key(pkcs8).d == slow.d  # other encodings go through Tutor's own filter


def _digest(settings: RenderedSettings) -> str:
    return hashlib.sha256(json.dumps(settings.secret_data(), sort_keys=True).encode()).hexdigest()


def test_same_bytes_in_a_fresh_process(make: Callable[..., TutorInstance], tmp_path: Path) -> None:
    """Another PYTHONHASHSEED, hostile TUTOR_* variables and a plugin folder with a YAML plugin: same output."""
    instances = [make(5, object_storage=s3()), make(6, plugins=("forum",))]
    (tmp_path / "instances.pickle").write_bytes(pickle.dumps(instances))
    plugins_root = tmp_path / "plugins"
    plugins_root.mkdir()
    (plugins_root / "evil.yml").write_text('name: evil\npatches:\n  openedx-common-settings: "EVIL = True"\n')
    (plugins_root / "evilmodule.py").write_text("print('imported')\n")
    program = textwrap.dedent(
        """\
        import hashlib, json, pickle, sys
        from components.openedx import tutor
        from tutor import plugins
        instances = pickle.loads(open(sys.argv[1], "rb").read())
        digests = [hashlib.sha256(json.dumps(s.secret_data(), sort_keys=True).encode()).hexdigest()
                   for s in map(tutor.render_settings, instances)]
        evil = plugins.is_installed("evil") or plugins.is_installed("evilmodule")
        print(json.dumps({"digests": digests, "evil": evil}))
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONHASHSEED": "12345",
        "TUTOR_PLUGINS_ROOT": str(plugins_root),
        "TUTOR_IGNORE_ENTRYPOINT_PLUGINS": "1",
        "TUTOR_CMS_OAUTH2_KEY_SSO": "from-the-environment",
        "TUTOR_PLATFORM_NAME": "From the environment",
    }
    done = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path / "instances.pickle")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr == ""
    child = json.loads(done.stdout)  # Tutor printed nothing else
    for instance in (make(7, plugins=()), instances[1], instances[0]):  # after switches in this process
        render_settings(instance)
    assert child == {"digests": [_digest(render_settings(instance)) for instance in instances], "evil": False}


def test_hundred_instances_render_fast(make: Callable[..., TutorInstance]) -> None:
    instances = [make(i, plugins=[("forum", "mfe"), ("mfe",), ()][i % 3]) for i in range(100)]
    render_settings(instances[0])
    started = time.perf_counter()
    results = [render_settings(instance) for instance in instances]
    elapsed = time.perf_counter() - started
    assert len({r.content_hash for r in results}) == 100
    assert elapsed < 5, f"{elapsed * 10:.1f} ms/instance"


def test_logs_go_to_stdout_and_no_file_grows(make: Callable[..., TutorInstance], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Tutor's settings write all.log and tracking.log under /openedx/data/logs (a node's disk, without bound):
    with ours, Python's logging (configured from the resulting LOGGING) writes no file, application logs reach the
    console and tracking events stdout as bare JSON lines."""
    import logging.config

    for variant in ("lms", "cms"):
        settings = run_our_settings(render_settings(make()).files[f"{variant}-settings-production.py"],
                                    {"LOGGING": tutor_logging(str(tmp_path))})
        logging.config.dictConfig(settings["LOGGING"])
        try:
            logging.getLogger("tracking").info('{"event_type": "edx.course.enrollment.activated"}')
            logging.getLogger("openedx.core").warning("grading done")
        finally:
            for name in ("tracking", ""):
                logger = logging.getLogger(name)
                for handler in list(logger.handlers):
                    logger.removeHandler(handler)
                    handler.close()
        out, err = capsys.readouterr()
        assert list(tmp_path.iterdir()) == []
        assert out.splitlines() == ['{"event_type": "edx.course.enrollment.activated"}']
        assert "grading done" in err and "event_type" not in err


def test_uwsgi_stops_gracefully_within_the_pods_grace_period(make: Callable[..., TutorInstance]) -> None:
    """SIGTERM (after the preStop sleep) lets uwsgi's workers finish their requests, up to worker-reload-mercy,
    which the web pods' terminationGracePeriodSeconds outlasts."""
    import configparser

    from components.charts import chart_values

    ini = configparser.ConfigParser(strict=False, interpolation=None)
    ini.read_string(render_settings(make()).files["uwsgi.ini"])
    assert ini["uwsgi"]["hook-master-start"] == "unix_signal:15 gracefully_kill_them_all"
    web = chart_values("charts/openedx/charts/edxapp/values.yaml")["web"]
    assert web["preStopSeconds"] + int(ini["uwsgi"]["worker-reload-mercy"]) < web["terminationGracePeriodSeconds"]
