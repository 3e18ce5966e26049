"""Tutor plugins per instance: the supported ones run end to end (settings, databases, init tasks, workloads, hosts),
anything else is refused with the stack, and secrets kept from a Tutor installation replace generated ones."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from Crypto.PublicKey import RSA
from tutor import hooks

from components.openedx.tutor import read_keys, render_settings
from components.openedx.tutor_config import tutor_config
from components.openedx.tutor_instance import (
    InstanceSecrets,
    MeilisearchEndpoint,
    MongodbEndpoint,
    MysqlEndpoint,
    RedisEndpoint,
    SmtpEndpoint,
    TutorInstance,
)
from components.program import INSTANCE_CHECKS
from components.settings.model import ConfigError
from components.settings.plugins import SUPPORTED_PLUGINS
from components.settings.stack import load
from offline.render import reveal
from tests.conftest import inputs, of_type

# --- refused with the stack -----------------------------------------------------------------------------------------


def problems_of(*instances: dict[str, Any]) -> dict[str, str]:
    """Every problem of the stack, by key path."""
    with pytest.raises(ConfigError) as caught:
        load({"platform": {"tls": {"issuer": "none"}}, "instances": list(instances)}, instance_checks=INSTANCE_CHECKS)
    found = {}
    for problem in caught.value.problems:
        path, _, why = problem.partition(": ")
        found[path.removeprefix("openedx:instances[0].")] = why
    return found


def test_what_the_program_would_not_run_or_would_ignore_is_refused_in_one_run() -> None:
    found = problems_of({
        "name": "campus", "lmsHost": "learn.example.com",
        "plugins": ["mfe", "discovery", "notes", "notes"],
        "tutorConfig": {
            "OPENEDX_LMS_UWSGI_WORKERS": 4,  # Tutor's manifests read it; here workloads.lms.processes
            "NOTES_DOCKER_IMAGE": "registry.example.com/notes:1",  # Tutor's manifests only; here images.notes
            "CREDENTIALS_THEME_NAME": "campus",  # read by the credentials init task: not listed here
            "PLATFORM_DESCRIPTON": "a typo",  # no template reads it
            "NOTES_HOST": "notes.example.com",  # derived from lmsHost
            "MFE_HOST": "apps.example.com",  # an owned key keeps its own message
        },
        "tutorSecrets": {"CREDENTIALS_OAUTH2_SECRET": "abc123"},
        "workloads": {"notes": {"processes": 4}},
    })
    assert set(found) == {
        "plugins[1]", "plugins[3]", "tutorConfig.OPENEDX_LMS_UWSGI_WORKERS", "tutorConfig.NOTES_DOCKER_IMAGE",
        "tutorConfig.CREDENTIALS_THEME_NAME", "tutorConfig.PLATFORM_DESCRIPTON", "tutorConfig.NOTES_HOST",
        "tutorConfig.MFE_HOST", "tutorSecrets.CREDENTIALS_OAUTH2_SECRET", "workloads.notes.processes",
    }, found
    assert found["plugins[1]"].startswith("'discovery' is not a supported Tutor plugin (supported: credentials, "
                                          "forum, mfe, notes)")
    assert found["plugins[3]"] == "'notes' is listed twice"
    assert found["tutorConfig.OPENEDX_LMS_UWSGI_WORKERS"].endswith("(use workloads.lms.processes)")
    assert found["tutorConfig.NOTES_DOCKER_IMAGE"].endswith("(use images.notes)")
    for ignored in ("OPENEDX_LMS_UWSGI_WORKERS", "NOTES_DOCKER_IMAGE", "CREDENTIALS_THEME_NAME", "PLATFORM_DESCRIPTON"):
        assert "the program would ignore it" in found[f"tutorConfig.{ignored}"]
    assert found["tutorConfig.NOTES_HOST"] == "set by the program; it is derived from lmsHost (<service>.<lmsHost>)"
    assert found["tutorConfig.MFE_HOST"] == "set by the program; use mfeHost instead"
    assert found["tutorSecrets.CREDENTIALS_OAUTH2_SECRET"] == (
        "belongs to the credentials plugin, which the instance does not list")
    assert "image" in found["workloads.notes.processes"]


def test_a_key_a_listed_plugin_reads_is_accepted() -> None:
    stack = load({"platform": {"tls": {"issuer": "none"}}, "instances": [{
        "name": "campus", "lmsHost": "learn.example.com", "plugins": ["mfe", "credentials"],
        "tutorConfig": {"CREDENTIALS_THEME_NAME": "campus", "DISCOVERY_HOST": "catalog.example.com"},
        "tutorSecrets": {"CREDENTIALS_OAUTH2_SECRET": "abc123"}}]}, instance_checks=INSTANCE_CHECKS)
    assert stack.instances[0].plugin_hosts == {"credentials": "credentials.learn.example.com"}


def test_carried_secrets_must_survive_tutors_templates_and_are_never_echoed() -> None:
    found = problems_of({"name": "campus", "lmsHost": "learn.example.com", "plugins": ["notes"],
                         "tutorSecrets": {"OPENEDX_SECRET_KEY": "has'quote", "JWT_RSA_PRIVATE_KEY": "not-a-key",
                                          "NOTES_OAUTH2_SECRET": "fine123"}})
    assert set(found) == {"tutorSecrets.OPENEDX_SECRET_KEY", "tutorSecrets.JWT_RSA_PRIVATE_KEY"}
    assert found["tutorSecrets.JWT_RSA_PRIVATE_KEY"] == "must be a PEM private key"
    assert "has'quote" not in json.dumps(found) and "not-a-key" not in json.dumps(found)


def test_an_instance_named_like_anothers_plugin_database_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load({"platform": {"tls": {"issuer": "none"}}, "instances": [
            {"name": "uni", "lmsHost": "learn.example.com", "plugins": ["mfe", "notes"]},
            {"name": "uni-notes", "lmsHost": "notes.example.com"}]}, instance_checks=INSTANCE_CHECKS)
    assert caught.value.problems == [
        "openedx:instances[1].name: 'uni-notes' would share a database with the notes plugin of instances[0] on a "
        "shared server; choose another name"]


# --- what Tutor renders -----------------------------------------------------------------------------------------------

PLUGINS = SUPPORTED_PLUGINS  # every supported plugin at once: a new one is rendered by every test below
LMS = "learn.example.org"
PLUGIN_SECRETS = {key: f"Gen{index}{key.title().replace('_', '')}" for index, key in enumerate((
    "NOTES_SECRET_KEY", "NOTES_OAUTH2_SECRET", "CREDENTIALS_OAUTH2_SECRET", "CREDENTIALS_OAUTH2_SECRET_SSO",
    "CREDENTIALS_OAUTH2_SECRET_DEV", "CREDENTIALS_OAUTH2_SECRET_SSO_DEV", "CREDENTIALS_SOCIAL_AUTH_EDX_OAUTH2_SECRET",
    "CREDENTIALS_BACKEND_SERVICE_EDX_OAUTH2_SECRET"))}


@pytest.fixture(scope="module")
def make() -> Callable[..., TutorInstance]:
    pem = RSA.generate(2048).export_key().decode() + "\n"

    def build(plugins: tuple[str, ...] = PLUGINS, **changes: Any) -> TutorInstance:
        instance = TutorInstance(
            name="acme", lms_host=LMS, cms_host=f"studio.{LMS}", mfe_host=f"apps.{LMS}", https=True,
            platform_name="Acme", contact_email=f"contact@{LMS}", language_code="en",
            openedx_image="docker.io/overhangio/openedx:22.0.3", mfe_image="docker.io/overhangio/openedx-mfe:22.1.0",
            plugins=plugins,
            mysql=MysqlEndpoint("db.example.net", 3306, "acme_edx", "acme_user", "MysqlPw7x"),
            mongodb=MongodbEndpoint("mongodb", 27017, "openedx", "openedx", "MongoPw7x", "admin"),
            redis=RedisEndpoint("redis", 6379),
            meilisearch=MeilisearchEndpoint("http://meilisearch:7700", f"https://meilisearch.{LMS}", "MeiliKey7x",
                                            "0b1f8f0e-5c2a-4a55-9d77-000000000001"),
            smtp=SmtpEndpoint("smtp", 8025),
            secrets=InstanceSecrets("DjangoKey7x", pem, "CmsOauth7x", "instanceid00000000000001",
                                    plugin_secrets={k: v for k, v in PLUGIN_SECRETS.items()
                                                    if k.split("_")[0].lower() in plugins}),
            plugin_hosts={name: f"{name}.{LMS}" for name in ("notes", "credentials") if name in plugins},
        )
        return dataclasses.replace(instance, **changes)

    return build


def assignment(source: str, name: str) -> str:
    """The right-hand side of the last `name = ...` line of a settings module."""
    (value,) = re.findall(rf"^{re.escape(name)} = (.+)$", source, re.M)[-1:]
    return value


def test_plugin_services_get_their_settings_databases_and_hosts(make: Callable[..., TutorInstance]) -> None:
    files = render_settings(make()).files
    notes, credentials = files["notes-settings-tutor.py"], files["credentials-settings-production.py"]
    assert assignment(notes, "SECRET_KEY") == f'"{PLUGIN_SECRETS["NOTES_SECRET_KEY"]}"'
    assert assignment(notes, "CLIENT_SECRET") == f'"{PLUGIN_SECRETS["NOTES_OAUTH2_SECRET"]}"'
    for source, database in ((notes, "acme_edx_notes"), (credentials, "acme_edx_credentials")):
        # Beside the instance's database, as the instance's user: never Tutor's root, never a user of its own.
        assert f'"NAME": "{database}"' in source
        assert '"USER": "acme_user"' in source and '"PASSWORD": "MysqlPw7x"' in source
        assert '"HOST": "db.example.net"' in source
    assert f'"notes.{LMS}"' in notes and f'"credentials.{LMS}"' in credentials
    lms = files["lms-settings-production.py"]
    assert assignment(lms, "EDXNOTES_PUBLIC_API") == f'"https://notes.{LMS}/api/v1"'
    assert assignment(lms, "EDXNOTES_INTERNAL_API") == '"http://notes:8000/api/v1"'
    assert assignment(lms, "CREDENTIALS_PUBLIC_SERVICE_URL") == "CREDENTIALS_INTERNAL_SERVICE_URL"
    assert f"'https://credentials.{LMS}'" in lms
    caddy = files["caddy-Caddyfile"]
    for service in ("notes", "credentials"):
        site = caddy[caddy.index(f"{service}.{LMS}{{$default_site_port}} {{"):]
        assert f'import proxy "{service}:8000"' in site[:site.index("\n}")]


def test_init_tasks_keep_tutors_order_without_root_and_run_in_each_service(
        make: Callable[..., TutorInstance]) -> None:
    tasks = render_settings(make()).init_tasks
    # Tutor's order: core (lms, lms, lms, cms), then each plugin's in load order (credentials: mysql, lms,
    # credentials, mysql; forum: lms; mfe: lms; notes: mysql, lms, notes), then ours (the Site). The plugins' database
    # creation (their first mysql task) is the program's provisioning.
    assert [t.service for t in tasks] == ["lms", "lms", "lms", "cms", "lms", "credentials", "mysql", "lms", "lms",
                                          "lms", "notes", "lms"]
    scripts = {t.key: t.script for t in tasks}
    assert len(scripts) == len(tasks)
    everything = "\n".join(scripts.values())
    assert "CREATE USER" not in everything and "CREATE DATABASE" not in everything and "GRANT" not in everything
    (sync,) = [t.script for t in tasks if t.service == "mysql"]
    assert 'mysql -u acme_user --password="MysqlPw7x" --host "db.example.net" --port 3306' in sync
    assert "INSERT acme_edx_credentials.core_user" in sync and "FROM      acme_edx.auth_user" in sync
    (migrate,) = [t.script for t in tasks if t.service == "notes"]
    assert migrate.startswith("./manage.py migrate")


def test_a_plugin_mysql_task_the_program_does_not_know_is_refused(make: Callable[..., TutorInstance]) -> None:
    """A root task a new plugin version adds (or changes) is neither replaced nor run as the instance's user."""
    from components.openedx import tutor

    render_settings(make())  # loads the plugins
    context = hooks.Contexts.app("test-unknown-mysql-task")
    with context.enter():
        hooks.Filters.CLI_DO_INIT_TASKS.add_item(("mysql", "mysql -u root -e 'DROP DATABASE openedx'"))
    try:
        with pytest.raises(tutor.TutorRenderError, match="service 'mysql'"):
            tutor._init_tasks()
    finally:
        hooks.clear_all(context=context.name)


def test_credentials_without_discovery_names_its_catalog_only_in_its_own_task(
        make: Callable[..., TutorInstance]) -> None:
    """The credentials site's catalog URL needs DISCOVERY_HOST; the MFEs would call a discovery service that is
    not there if the settings saw it, as they would not under Tutor without the discovery plugin."""
    rendered = render_settings(make())
    lms = rendered.files["lms-settings-production.py"]
    assert '"DISCOVERY_API_BASE_URL": ""' in lms
    (site,) = [t.script for t in rendered.init_tasks if t.service == "credentials"]
    assert f'--catalog-api-url "https://discovery.{LMS}/api/v1/"' in site
    elsewhere = render_settings(make(extra_config={"DISCOVERY_HOST": "catalog.example.org"}))
    assert '"DISCOVERY_API_BASE_URL": "https://catalog.example.org"' in elsewhere.files["lms-settings-production.py"]
    (site,) = [t.script for t in elsewhere.init_tasks if t.service == "credentials"]
    assert '--catalog-api-url "https://catalog.example.org/api/v1/"' in site


def test_a_plugin_secret_left_to_tutor_is_refused(make: Callable[..., TutorInstance]) -> None:
    instance = make()
    without = dataclasses.replace(instance, secrets=dataclasses.replace(
        instance.secrets, plugin_secrets={k: v for k, v in PLUGIN_SECRETS.items() if k != "NOTES_OAUTH2_SECRET"}))
    with pytest.raises(ValueError, match=r"secrets\.plugin_secrets\.NOTES_OAUTH2_SECRET: must be set"):
        render_settings(without)


def test_every_value_tutor_would_draw_at_random_is_set_by_the_program(make: Callable[..., TutorInstance]) -> None:
    config = tutor_config(make())
    render_settings(make())  # loads the plugins
    unique = [key for key, _ in hooks.Filters.CONFIG_UNIQUE.iterate()]
    assert {"NOTES_MYSQL_PASSWORD", "CREDENTIALS_OAUTH2_SECRET_SSO"} <= set(unique)
    assert [key for key in unique if key not in config] == []


def _other(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return f"{value}x"


def test_a_key_reported_unread_changes_nothing_the_instance_runs(make: Callable[..., TutorInstance]) -> None:
    """The read-keys analysis is sound: every default key it calls unread, changed, renders the same bytes."""
    from tutor import config as tutor_config_module

    instance = make()
    baseline = render_settings(instance).secret_data()
    read = read_keys(PLUGINS)
    defaults = tutor_config_module.get_defaults()
    unread = sorted(key for key, value in defaults.items()
                    if key not in read and isinstance(value, (str, int, bool)) and key not in tutor_config(instance))
    assert "OPENEDX_LMS_UWSGI_WORKERS" in unread and "NOTES_DOCKER_IMAGE" in unread and len(unread) > 30
    changed = dataclasses.replace(instance, extra_config={key: _other(defaults[key]) for key in unread})
    assert render_settings(changed).secret_data() == baseline
    # And the analysis is not vacuous: a key it calls read does change the output.
    assert "CREDENTIALS_THEME_NAME" in read
    themed = dataclasses.replace(instance, extra_config={"CREDENTIALS_THEME_NAME": "campus"})
    assert render_settings(themed).secret_data() != baseline


# --- the program, under the mocks -------------------------------------------------------------------------------------

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"


def evaluate_instances(instances: list[dict[str, Any]], cloud: dict[str, Any] | None = None,
                       secret: bool = False) -> Any:
    from offline.evaluation import cli_config, evaluate

    config, secret_keys = cli_config({"openedx:platform": {"tls": {"issuer": "selfsigned"}},
                                      "openedx:instances": instances, **(cloud or {})})
    return evaluate(config, "test", [*secret_keys, *(["openedx:instances"] if secret else [])])


def release(recording: Any, name: str) -> dict[str, Any]:
    (found,) = [r for r in of_type(recording, RELEASE) if r.name == name]
    return inputs(found)


@pytest.fixture(scope="module")
def campus() -> Any:
    return evaluate_instances([{"name": "campus", "lmsHost": "learn.example.com",
                                "plugins": ["mfe", "notes", "credentials"]}])


def test_the_charts_get_each_plugin_service_its_databases_hosts_and_tasks(campus: Any) -> None:
    app = release(campus, "campus-openedx")["values"]
    for service in ("notes", "credentials"):
        assert app[service]["enabled"] is True
        assert app[service]["priorityClassName"] == "openedx-web"
        assert app[service]["autoscaling"]["maxReplicas"] >= app[service]["autoscaling"]["minReplicas"] >= 1
    assert app["ingress"]["extraHosts"] == ["notes.learn.example.com", "credentials.learn.example.com"]
    services = [task["service"] for task in app["init"]["tasks"]]
    assert {"notes", "credentials", "mysql"} <= set(services)
    assert app["init"]["mysqlImage"]["repository"] == "mysql"
    data = release(campus, "campus-services")["values"]
    assert data["mysql"]["extraDatabases"] == ["openedx_notes", "openedx_credentials"]
    (settings,) = [s for s in of_type(campus, SECRET) if s.name == "campus-settings"]
    assert {"notes-settings-tutor.py", "credentials-settings-production.py"} <= set(inputs(settings)["stringData"])


def test_an_instance_without_plugin_services_runs_none(campus: Any) -> None:
    plain = evaluate_instances([{"name": "campus", "lmsHost": "learn.example.com", "plugins": ["mfe"]}])
    app = release(plain, "campus-openedx")["values"]
    assert app["notes"] == {"enabled": False} and app["credentials"] == {"enabled": False}
    assert app["ingress"]["extraHosts"] == []
    assert release(plain, "campus-services")["values"]["mysql"]["extraDatabases"] == []
    # The plugin services' pods at their maximum are in the quota.
    quota = {name: release(recording, "campus-foundation")["values"]["resourceQuota"]["hard"]
             for name, recording in (("plain", plain), ("plugins", campus))}
    assert int(quota["plugins"]["pods"]) > int(quota["plain"]["pods"])


def test_carried_secrets_replace_generated_ones_until_rotated_and_stay_secret() -> None:
    pem = RSA.generate(2048).export_key().decode() + "\n"
    carried = {"OPENEDX_SECRET_KEY": "CarriedDjangoKey42", "JWT_RSA_PRIVATE_KEY": pem,
               "NOTES_OAUTH2_SECRET": "CarriedNotesClient42"}
    entry = {"name": "campus", "lmsHost": "learn.example.com", "plugins": ["mfe", "notes"], "tutorSecrets": carried}
    kept = evaluate_instances([entry], secret=True)
    (settings,) = [s for s in of_type(kept, SECRET) if s.name == "campus-settings"]
    data = inputs(settings)["stringData"]
    assert yaml.safe_load(data["lms.env.yml"])["SECRET_KEY"] == "CarriedDjangoKey42"
    assert assignment(data["notes-settings-tutor.py"], "CLIENT_SECRET") == '"CarriedNotesClient42"'
    assert not [r for r in kept.resources.values() if r.type == "tls:index/privateKey:PrivateKey"]
    # Nowhere in plain text: not in any resource's inputs but as a secret, never in Release values.
    shown = json.dumps([reveal(r.inputs, show_secrets=False) for r in kept.resources.values()])
    for value in carried.values():
        assert value.strip() not in shown
    assert "CarriedDjangoKey42" not in json.dumps(release(kept, "campus-openedx")["values"])

    rotated = evaluate_instances([{**entry, "rotations": {"secretKey": 1, "jwt": 1}}], secret=True)
    (settings,) = [s for s in of_type(rotated, SECRET) if s.name == "campus-settings"]
    data = inputs(settings)["stringData"]
    assert yaml.safe_load(data["lms.env.yml"])["SECRET_KEY"] not in ("CarriedDjangoKey42", "")
    assert "CarriedNotesClient42" in data["notes-settings-tutor.py"]  # not rotated
    assert [r.name for r in rotated.resources.values() if r.type == "tls:index/privateKey:PrivateKey"] == [
        "campus-jwt-1"]


def test_a_shared_server_provisions_the_plugin_databases_beside_the_instances() -> None:
    from offline.evaluation import PROJECT_DIR

    stack = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.aws-production.yaml").read_text())["config"]
    cloud = {key: value for key, value in stack.items() if key != "openedx:instances"}
    recording = evaluate_instances([{"name": "campus", "lmsHost": "learn.example.com",
                                     "plugins": ["mfe", "notes", "credentials"]}], cloud)
    provisioning = release(recording, "campus-provisioning")["values"]
    assert provisioning["mysql"]["extraDatabases"] == ["openedx_campus_notes", "openedx_campus_credentials"]
    (settings,) = [s for s in of_type(recording, SECRET) if s.name == "campus-settings"]
    assert '"NAME": "openedx_campus_notes"' in inputs(settings)["stringData"]["notes-settings-tutor.py"]
