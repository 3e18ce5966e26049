"""The plugin services of the openedx chart (the ida subchart as notes and credentials) and the init tasks that
run in their pods or in the MySQL client image."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import kubernetes_validate
import pytest
import yaml
from chart_render import (
    VALUES,
    Doc,
    Render,
    env_map,
    lint,
    main_container,
    mounted_volume,
    mounts,
    pod_spec,
    template,
    template_error,
    volumes,
)

PRODUCTION = ("openedx-production.yaml",)
PLUGINS = ("openedx-production.yaml", "openedx-plugins.yaml")
SERVICES = ("notes", "credentials")
BOTH = {"notes": {"enabled": True}, "credentials": {"enabled": True}}
#: What tutor-notes 22.0.0 and tutor-credentials 22.0.0 run (their config defaults and k8s patches).
IMAGES = {
    "notes": "docker.io/overhangio/openedx-notes:22.0.0",
    "credentials": "docker.io/overhangio/openedx-credentials:22.0.0",
}
SETTINGS_MODULES = {"notes": "notesserver.settings.tutor", "credentials": "credentials.settings.tutor.production"}
SETTINGS_FILES = {
    "notes": ("notes-settings-tutor.py", "/app/edx-notes-api/notesserver/settings/tutor.py"),
    "credentials": ("credentials-settings-production.py",
                    "/openedx/credentials/credentials/settings/tutor/production.py"),
}
#: The health views: edx-notes-api notesserver/urls.py (`heartbeat/`), credentials credentials/urls.py (`health/`).
HEALTH = {"notes": "/heartbeat/", "credentials": "/health/"}
#: What each image writes to: gunicorn's and Python's temporary files; credentials' data directory and MEDIA_ROOT.
WRITABLE = {"notes": {"/tmp"}, "credentials": {"/tmp", "/openedx/data", "/openedx/credentials/credentials/media"}}
ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
SECRET = "openedx-settings-0a1b2c3d"

# credentials' uwsgi (its image's command) would reload on SIGTERM: the chart tells it to stop gracefully instead.
GRACEFUL = {"notes": {}, "credentials": {"UWSGI_HOOK_MASTER_START": "unix_signal:15 gracefully_kill_them_all"}}

def plugins(extra: dict[str, Any] | None = None) -> Render:
    """The openedx chart with its required values, both plugin services enabled and `extra` laid over them."""
    return template("openedx", extra=_merged(BOTH, extra or {}))


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid over `base`, map by map."""
    result = dict(base)
    for key, value in over.items():
        nested = isinstance(value, dict) and isinstance(result.get(key), dict)
        result[key] = _merged(result[key], value) if nested else value
    return result


def deployment(render_: Render, name: str) -> tuple[Doc, Doc, Doc]:
    """(Deployment, pod spec, container) of `name`."""
    doc = render_.get("Deployment", name)
    spec = pod_spec(doc)
    assert spec is not None
    return doc, spec, main_container(spec)


def init_jobs(render_: Render) -> dict[str, Doc]:
    return {job["metadata"]["name"]: job for job in render_.of_kind("Job")
            if job["metadata"]["labels"]["app.kubernetes.io/component"] == "init"}


def plugin_tasks() -> list[dict[str, str]]:
    """The init tasks of the plugins' values file."""
    return list(yaml.safe_load((VALUES / "openedx-plugins.yaml").read_text())["init"]["tasks"])


def init_key(values: tuple[str, ...], extra: dict[str, Any] | None = None) -> str:
    return str(template("openedx", values, extra=extra).get("ConfigMap", "openedx-init")["data"]["key"])


# --- off unless enabled ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [(), PRODUCTION])
def test_no_plugin_service_unless_enabled(values: tuple[str, ...]) -> None:
    render_ = template("openedx", values)
    for doc in render_.docs:
        assert doc["metadata"]["name"] not in SERVICES, doc["kind"]
        assert not doc["metadata"]["labels"].get("helm.sh/chart", "").startswith(SERVICES), doc["metadata"]["name"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_plugin_service_is_enabled_on_its_own(service: str) -> None:
    render_ = template("openedx", extra={service: {"enabled": True}})
    assert set(SERVICES) & render_.names("Deployment") == {service}
    assert set(SERVICES) & render_.names("Service") == {service}


# --- the pods: the plugins' images, settings and Service names -------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_plugin_services_run_their_image_with_their_settings_module(service: str) -> None:
    _, spec, container = deployment(plugins(), service)
    assert container["name"] == service
    assert container["image"] == IMAGES[service]
    assert env_map(container) == {"DJANGO_SETTINGS_MODULE": SETTINGS_MODULES[service], **GRACEFUL[service]}
    # The image's own command and working directory (gunicorn, uwsgi), as the plugins' manifests run them.
    assert {"command", "args", "workingDir"}.isdisjoint(container)
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert "serviceAccountName" not in spec  # no cloud identity: the default ServiceAccount, and no token


@pytest.mark.parametrize("service", SERVICES)
def test_the_settings_file_is_its_secret_key_alone_read_only_where_the_image_imports_it(service: str) -> None:
    key, path = SETTINGS_FILES[service]
    _, spec, container = deployment(plugins(), service)
    mount, volume = mounted_volume(spec, container, path)
    assert mount["subPath"] == key and mount["readOnly"] is True
    assert volume["secret"] == {"secretName": SECRET, "defaultMode": 0o444, "items": [{"key": key, "path": key}]}


@pytest.mark.parametrize("service", SERVICES)
def test_managed_servers_cas_are_mounted_as_in_the_openedx_pods(service: str) -> None:
    _, spec, container = deployment(plugins(), service)
    mount, volume = mounted_volume(spec, container, "/openedx/ca")
    assert mount["readOnly"] is True
    assert volume["secret"]["optional"] is True
    assert {item["key"] for item in volume["secret"]["items"]} == {"mysql-ca.pem", "mongodb-ca.pem"}


@pytest.mark.parametrize("service", SERVICES)
def test_plugin_services_meet_the_restricted_profile_and_write_only_to_empty_dirs(service: str) -> None:
    _, spec, container = deployment(plugins(), service)
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                                       "fsGroupChangePolicy": "OnRootMismatch",
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                                            "seccompProfile": {"type": "RuntimeDefault"}}
    assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False
    writable = {path for path, mount in mounts(container).items() if not mount.get("readOnly")}
    assert writable == WRITABLE[service]
    for path in writable:
        assert mounted_volume(spec, container, path)[1]["emptyDir"] == {}


def test_security_overrides_and_writable_paths_are_values() -> None:
    render_ = plugins({"notes": {"podSecurityContext": {"runAsUser": 2000}, "writablePaths": ["/tmp", "/app/.cache"]}})
    _, spec, container = deployment(render_, "notes")
    assert spec["securityContext"]["runAsUser"] == 2000
    assert {path for path, mount in mounts(container).items() if not mount.get("readOnly")} == {"/tmp", "/app/.cache"}


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_named_after_the_plugin_on_port_8000_and_selects_its_pods(service: str) -> None:
    render_ = plugins()
    svc = render_.get("Service", service)
    assert svc["spec"]["type"] == "ClusterIP"
    assert [(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [("http", 8000, "http")]
    assert svc["spec"]["selector"] == render_.get("Deployment", service)["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["selector"]["app.kubernetes.io/name"] == service


@pytest.mark.parametrize("service", SERVICES)
def test_probes_ask_the_health_view_with_the_service_name_as_host(service: str) -> None:
    _, _, container = deployment(plugins(), service)
    health = {"path": HEALTH[service], "port": "http", "httpHeaders": [{"name": "Host", "value": service}]}
    assert container["startupProbe"]["httpGet"] == health
    assert container["readinessProbe"]["httpGet"] == health
    # The health view checks the database: as a liveness probe it would restart every pod during an outage.
    assert container["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert "httpGet" not in container["livenessProbe"]


def test_without_the_http_probes_no_health_path_is_needed() -> None:
    off = {"startupProbe": {"enabled": False}, "readinessProbe": {"enabled": False}}
    _, _, container = deployment(plugins({"notes": off}), "notes")
    assert {"startupProbe", "readinessProbe"}.isdisjoint(container) and "livenessProbe" in container


@pytest.mark.parametrize("service", SERVICES)
def test_stopping_pods_keep_serving_and_rollouts_keep_every_pod(service: str) -> None:
    doc, spec, container = deployment(plugins(), service)
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}
    assert spec["terminationGracePeriodSeconds"] == 40
    assert doc["spec"]["strategy"] == ROLLING


@pytest.mark.parametrize("service", SERVICES)
def test_default_size_is_small_and_memory_is_requested_as_limited(service: str) -> None:
    doc, _, container = deployment(plugins(), service)
    memory = {"notes": "512Mi", "credentials": "768Mi"}[service]  # the program's small size
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": memory},
                                      "limits": {"cpu": "1", "memory": memory}}
    assert doc["spec"]["replicas"] == 1


def test_placement_and_pod_metadata_are_values() -> None:
    values = {"nodeSelector": {"pool": "apps"}, "priorityClassName": "openedx-web", "podLabels": {"team": "a"},
              "podAnnotations": {"note": "x"}, "tolerations": [{"key": "apps", "operator": "Exists"}],
              "extraEnv": [{"name": "GUNICORN_CMD_ARGS", "value": "--timeout=60"}]}
    doc, spec, container = deployment(plugins({"notes": values}), "notes")
    assert (spec["nodeSelector"], spec["priorityClassName"]) == ({"pool": "apps"}, "openedx-web")
    assert spec["tolerations"] == [{"key": "apps", "operator": "Exists"}]
    template_ = doc["spec"]["template"]["metadata"]
    assert template_["labels"]["team"] == "a" and template_["annotations"] == {"note": "x"}
    assert env_map(container)["GUNICORN_CMD_ARGS"] == "--timeout=60"


def test_args_replace_the_images_command() -> None:
    _, _, container = deployment(plugins({"notes": {"args": ["gunicorn", "--workers=4", "notesserver.wsgi"]}}), "notes")
    assert container["args"] == ["gunicorn", "--workers=4", "notesserver.wsgi"]


def test_image_registry_and_pull_secrets_reach_the_plugin_pods() -> None:
    render_ = template("openedx", PLUGINS)
    for service in SERVICES:
        _, spec, container = deployment(render_, service)
        assert container["image"] == IMAGES[service].replace("docker.io/", "registry.example.com/")
        assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}]


# --- scaling -----------------------------------------------------------------------------------------------------


def test_autoscaled_service_gets_an_hpa_and_no_replica_count() -> None:
    render_ = plugins({"notes": {"autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 3}}})
    hpa = render_.get("HorizontalPodAutoscaler", "notes")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "notes"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 100}
    assert "replicas" not in render_.get("Deployment", "notes")["spec"]
    assert "credentials" not in render_.names("HorizontalPodAutoscaler")


def test_a_budget_only_with_two_replicas_or_more() -> None:
    assert not set(SERVICES) & plugins().names("PodDisruptionBudget")
    render_ = template("openedx", PLUGINS)  # notes: 2 replicas; credentials: an HPA from 2
    for service in SERVICES:
        pdb = render_.get("PodDisruptionBudget", service)
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["spec"]["selector"]["matchLabels"] == \
            render_.get("Deployment", service)["spec"]["selector"]["matchLabels"]


def test_maintenance_scales_the_plugin_services_to_zero_without_autoscaler_or_budget() -> None:
    render_ = template("openedx", PLUGINS, extra={"global": {"maintenance": {"enabled": True}}})
    for service in SERVICES:
        assert render_.get("Deployment", service)["spec"]["replicas"] == 0
    assert not set(SERVICES) & (render_.names("HorizontalPodAutoscaler") | render_.names("PodDisruptionBudget"))


# --- valid objects ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.31", "1.34"])
def test_every_document_with_the_plugins_is_valid_kubernetes(version: str) -> None:
    for doc in template("openedx", PLUGINS).docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} on Kubernetes {version}: {error.message}")


def test_plugin_objects_carry_the_standard_labels() -> None:
    render_ = template("openedx", PLUGINS)
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        for doc in render_.of_kind(kind):
            labels = doc["metadata"]["labels"]
            if labels["app.kubernetes.io/name"] not in SERVICES:
                continue
            assert labels["app.openedx.org/instance"] == "campus"
            assert labels["app.kubernetes.io/part-of"] == "openedx"
            assert labels["helm.sh/chart"] == f"{labels['app.kubernetes.io/name']}-0.1.0"


def test_helm_lint_strict_passes_with_the_plugins() -> None:
    result = lint("openedx", PLUGINS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"notes": {"writablePaths": ["tmp"]}}, "writablePaths.0"),
        ({"notes": {"settings": {"mountPath": "tutor.py"}}}, "settings.mountPath"),
        ({"credentials": {"replicas": 2}}, "replicas"),
    ],
)
def test_the_schema_checks_the_plugin_values(extra: dict[str, Any], named: str) -> None:
    error = template_error("openedx", extra=_merged(BOTH, extra))
    assert "values don't meet the specifications of the schema" in error and named in error


# --- init tasks in the plugin services' pods and in the MySQL client ---------------------------------------------


def test_plugin_tasks_run_in_tutors_order_each_in_its_services_pod() -> None:
    jobs = list(init_jobs(template("openedx", PLUGINS)).values())
    containers = [(main_container(job["spec"]["template"]["spec"])) for job in jobs]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("lms", "registry.example.com/overhangio/openedx:22.0.3"),
        ("lms", "registry.example.com/overhangio/openedx:22.0.3"),
        ("cms", "registry.example.com/overhangio/openedx:22.0.3"),
        ("lms", "registry.example.com/overhangio/openedx:22.0.3"),
        ("notes", "registry.example.com/overhangio/openedx-notes:22.0.0"),
        ("lms", "registry.example.com/overhangio/openedx:22.0.3"),
        ("credentials", "registry.example.com/overhangio/openedx-credentials:22.0.0"),
        ("mysql", "registry.example.com/mysql:8.4.11"),
    ]
    assert [job["metadata"]["annotations"]["helm.sh/hook-weight"] for job in jobs] == [str(i) for i in range(8)]
    for job in jobs:
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize("service", SERVICES)
def test_a_plugin_task_runs_its_script_with_the_services_image_environment_and_settings(service: str) -> None:
    render_ = template("openedx", PLUGINS)
    (job,) = [job for job in init_jobs(render_).values() if main_container(pod_spec(job) or {})["name"] == service]
    spec = pod_spec(job)
    assert spec is not None
    container = main_container(spec)
    key = next(task["key"] for task in plugin_tasks() if task["service"] == service)
    assert container["args"] == ["sh", "-e", f"/openedx/init-tasks/{key}"]
    assert "command" not in container and "workingDir" not in container  # the image's WORKDIR: ./manage.py
    assert env_map(container) == {"DJANGO_SETTINGS_MODULE": SETTINGS_MODULES[service], **GRACEFUL[service]}
    settings_key, path = SETTINGS_FILES[service]
    mount, volume = mounted_volume(spec, container, path)
    assert (mount["subPath"], mount["readOnly"]) == (settings_key, True)
    assert volume["secret"]["items"] == [{"key": settings_key, "path": settings_key}]
    _, script = mounted_volume(spec, container, "/openedx/init-tasks")
    assert script["secret"] == {"secretName": "openedx-settings-7f3a9c2e41", "defaultMode": 0o444,
                                "items": [{"key": key, "path": key}]}
    writable = {path for path, mount in mounts(container).items() if not mount.get("readOnly")}
    assert writable == WRITABLE[service]
    # The init tasks' size, not the web pods'; no port, probe or preStop sleep in a Job.
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                      "limits": {"cpu": "2", "memory": "3Gi"}}
    assert {"ports", "readinessProbe", "livenessProbe", "startupProbe", "lifecycle"}.isdisjoint(container)
    assert spec["securityContext"]["runAsUser"] == 1000
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert job["metadata"]["labels"]["app.kubernetes.io/version"] == "22.0.0"


def test_a_plugin_task_takes_the_services_env_and_security_and_the_init_tasks_own() -> None:
    extra = {"notes": {"extraEnv": [{"name": "A", "value": "notes"}], "podSecurityContext": {"runAsUser": 2000},
                       "nodeSelector": {"pool": "web"}},
             "init": {"tasks": [{"service": "notes", "key": "notes.sh"}], "extraEnv": [{"name": "B", "value": "init"}],
                      "nodeSelector": {"pool": "jobs"}, "podSecurityContext": {"runAsGroup": 3000}}}
    (job,) = init_jobs(plugins(extra)).values()
    spec = pod_spec(job) or {}
    container = main_container(spec)
    assert env_map(container) == {"DJANGO_SETTINGS_MODULE": "notesserver.settings.tutor", "A": "notes", "B": "init"}
    assert (spec["securityContext"]["runAsUser"], spec["securityContext"]["runAsGroup"]) == (2000, 3000)
    assert spec["nodeSelector"] == {"pool": "jobs"}


def test_a_mysql_task_runs_its_script_in_the_mysql_client_image() -> None:
    extra = {"init": {"tasks": [{"service": "mysql", "key": "sync-users.sh"}],
                      "mysqlImage": {"registry": "docker.io", "repository": "mysql", "tag": "8.4.99"}}}
    (job,) = init_jobs(template("openedx", extra=extra)).values()
    spec = pod_spec(job) or {}
    container = main_container(spec)
    assert container["name"] == "mysql" and container["image"] == "docker.io/mysql:8.4.99"
    # The command, not args: the image's entrypoint would start a server.
    assert container["command"] == ["sh", "-e", "/openedx/init-tasks/sync-users.sh"] and "args" not in container
    assert env_map(container) == {"HOME": "/tmp"}
    assert (spec["securityContext"]["runAsUser"], spec["securityContext"]["runAsGroup"]) == (999, 999)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    _, script = mounted_volume(spec, container, "/openedx/init-tasks")
    assert script["secret"]["items"] == [{"key": "sync-users.sh", "path": "sync-users.sh"}]
    assert mounted_volume(spec, container, "/tmp")[1]["emptyDir"] == {}
    assert mounted_volume(spec, container, "/openedx/ca")[1]["secret"]["optional"] is True
    assert set(volumes(spec)) == {"tmp", "ca-certificates", "init-task"}
    assert job["metadata"]["labels"]["app.kubernetes.io/version"] == "8.4.99"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"init": {"tasks": [{"service": "lms", "key": "a.sh"}, {"service": "worker", "key": "b.sh"}]}},
         'init.tasks[1].service: "worker" is not a service the init tasks run in; allowed: lms, cms, mysql and the '
         "enabled plugin services (none enabled)"),
        ({"init": {"tasks": [{"service": "notes", "key": "notes.sh"}]}},
         'init.tasks[0].service: "notes" is not a service the init tasks run in (notes.enabled is false); allowed: '
         "lms, cms, mysql and the enabled plugin services (none enabled)"),
        ({"credentials": {"enabled": True}, "init": {"tasks": [{"service": "notes", "key": "notes.sh"}]}},
         "allowed: lms, cms, mysql and the enabled plugin services (credentials)"),
        ({"init": {"tasks": [{"service": "mfe", "key": "mfe.sh"}]}}, 'init.tasks[0].service: "mfe" is not a service'),
    ],
)
def test_a_task_for_an_unknown_or_disabled_service_is_refused(extra: dict[str, Any], message: str) -> None:
    assert message in template_error("openedx", extra=extra)


# --- the init key ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("change", [
    {"notes": {"image": {"tag": "22.0.1"}}},
    {"credentials": {"image": {"repository": "example/credentials"}}},
    {"init": {"mysqlImage": {"tag": "8.4.12"}}},
    {"notes": {"enabled": False}, "init": {"tasks": [{"service": "mysql", "key": "init-07-mysql-credentials.sh"}]}},
])
def test_a_new_plugin_or_mysql_image_runs_the_init_tasks_again(change: dict[str, Any]) -> None:
    assert init_key(PLUGINS, change) != init_key(PLUGINS)


@pytest.mark.parametrize("change", [
    {"notes": {"replicaCount": 3, "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                                "limits": {"cpu": "2", "memory": "1Gi"}}}},
    {"credentials": {"readinessProbe": {"periodSeconds": 30}}},
])
def test_plugin_scaling_and_probes_leave_the_key_alone(change: dict[str, Any]) -> None:
    assert init_key(PLUGINS, change) == init_key(PLUGINS)


def test_an_instance_without_plugin_services_keeps_its_key() -> None:
    """The key of an instance with no plugin service and no mysql task is the hash it had before plugin services
    existed, so the chart upgrade that brings them runs no init task; a disabled service's image is no input."""
    inputs = {"image": "registry.example.com/overhangio/openedx:22.0.3", "revision": "",
              "settings": "openedx-settings-7f3a9c2e41",
              "tasks": [{"key": key, "service": service} for service, key in [
                  ("lms", "init-00-lms-mounted-directories.sh"), ("lms", "init-01-lms-meilisearch.sh"),
                  ("lms", "init-02-lms.sh"), ("cms", "init-03-cms.sh"), ("lms", "init-04-lms-forum.sh"),
                  ("lms", "init-05-lms-mfe.sh")]]}
    expected = hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
    assert init_key(PRODUCTION) == expected
    unused_images = {"notes": {"image": {"tag": "22.0.9"}}, "init": {"mysqlImage": {"tag": "9.0.0"}}}
    assert init_key(PRODUCTION, unused_images) == expected
