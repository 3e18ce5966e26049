"""The openedx chart: Tutor fidelity, settings mounts, probes, scaling, hooks, CronJobs, Ingress."""

from __future__ import annotations

import re
from typing import Any

import pytest
from chart_render import (
    Doc,
    Render,
    TutorReference,
    containers,
    env_map,
    main_container,
    mounted_volume,
    mounts,
    pod_spec,
    render,
    template,
    template_error,
    volumes,
    workloads,
)

DEFAULT = "default"
PRODUCTION = "production"
SETTINGS_MODULES = ("__init__", "production")
OPENEDX_WORKLOADS = ("lms", "lms-worker", "cms", "cms-worker")


def openedx(variant: str = DEFAULT) -> Render:
    return render("openedx", variant)


def deployment_container(render_: Render, name: str) -> tuple[Doc, Doc]:
    spec = pod_spec(render_.get("Deployment", name))
    assert spec is not None
    return spec, main_container(spec)


def openedx_pods(render_: Render) -> list[tuple[str, Doc, Doc]]:
    """(name, pod spec, main container) of every pod that runs Open edX: the openedx image, but in the settings
    pruner, which only runs a script of its own with the image's Python."""
    pods = []
    for doc, spec in workloads(render_):
        container = main_container(spec)
        if "overhangio/openedx:" in container["image"] and doc["metadata"]["name"] != "openedx-settings-prune":
            pods.append((doc["metadata"]["name"], spec, container))
    return pods


def variant_of(container: Doc) -> str:
    return str(env_map(container)["SERVICE_VARIANT"])


# --- Tutor fidelity -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*OPENEDX_WORKLOADS, "mfe", "caddy"])
def test_images_are_tutors(tutor_reference: TutorReference, name: str) -> None:
    _, container = deployment_container(openedx(), name)
    assert container["image"] == tutor_reference.container(name)["image"]


def test_every_openedx_pod_runs_the_openedx_image() -> None:
    pods = openedx_pods(openedx(PRODUCTION))
    # web, workers, six init tasks, three enabled CronJobs, the two templates of the operator commands
    assert len(pods) == 4 + 6 + 3 + 2
    assert {container["image"] for _, _, container in pods} == {"registry.example.com/overhangio/openedx:22.0.3"}


@pytest.mark.parametrize("name", ["lms-worker", "cms-worker"])
def test_worker_args_are_tutors_worker_command_plus_concurrency(tutor_reference: TutorReference, name: str) -> None:
    _, container = deployment_container(openedx(), name)
    tutor_args = tutor_reference.container(name)["args"]
    assert container["args"] == [*tutor_args, "--concurrency=1"]
    assert "command" not in container


@pytest.mark.parametrize(
    ("cpu_request", "concurrency"),
    [("500m", 1), ("1", 1), ("1500m", 1), ("2", 2), ("2500m", 2), (4, 4), ("0.25", 1)],
)
def test_worker_concurrency_follows_the_cpu_request(cpu_request: Any, concurrency: int) -> None:
    extra = {"lms": {"worker": {"resources": {"requests": {"cpu": cpu_request}}}}}
    _, container = deployment_container(template("openedx", extra=extra), "lms-worker")
    assert container["args"][-1] == f"--concurrency={concurrency}"
    assert sum(arg.startswith("--concurrency") for arg in container["args"]) == 1


def test_worker_concurrency_set_explicitly_and_from_a_larger_request() -> None:
    render_ = openedx(PRODUCTION)
    assert deployment_container(render_, "lms-worker")[1]["args"][-1] == "--concurrency=2"
    assert deployment_container(render_, "cms-worker")[1]["args"][-1] == "--concurrency=3"


def test_worker_args_may_not_carry_their_own_concurrency() -> None:
    args = ["celery", "--app=lms.celery", "worker", "--concurrency=8"]
    error = template_error("openedx", extra={"lms": {"worker": {"args": args}}})
    assert "lms.worker.args must not set --concurrency" in error


@pytest.mark.parametrize("name", OPENEDX_WORKLOADS)
def test_environment_is_tutors(tutor_reference: TutorReference, name: str) -> None:
    _, container = deployment_container(openedx(), name)
    expected = {item["name"]: item["value"] for item in tutor_reference.container(name)["env"]}
    assert env_map(container) == expected


def test_uwsgi_workers_come_from_values() -> None:
    _, container = deployment_container(openedx(PRODUCTION), "lms")
    assert env_map(container)["UWSGI_WORKERS"] == "4"


@pytest.mark.parametrize("name", OPENEDX_WORKLOADS)
def test_settings_mount_paths_are_tutors(tutor_reference: TutorReference, name: str) -> None:
    _, container = deployment_container(openedx(), name)
    tutor_mounts = {
        mount["mountPath"]: mount.get("subPath") for mount in tutor_reference.container(name)["volumeMounts"]
    }
    ours = mounts(container)
    for path, sub_path in tutor_mounts.items():
        assert path in ours, f"{name}: Tutor mounts {path}"
        assert ours[path].get("subPath") == sub_path
        assert ours[path]["readOnly"] is True


def test_settings_files_are_the_ones_tutor_renders(tutor_reference: TutorReference) -> None:
    """Tutor's Kubernetes manifests mount all its settings modules; the pods import the production one, and the
    modules of `tutor dev` and its tests are left out of the Secret."""
    for variant in ("lms", "cms"):
        assert sorted(tutor_reference.config_maps[f"openedx-settings-{variant}"]) == sorted(
            [*(f"{module}.py" for module in SETTINGS_MODULES), "development.py", "test.py"]
        )
    assert sorted(tutor_reference.config_maps["openedx-config"]) == ["cms.env.yml", "lms.env.yml"]
    assert tutor_reference.config_maps["openedx-uwsgi-config"] == ["uwsgi.ini"]


@pytest.mark.parametrize("variant", [DEFAULT, PRODUCTION])
def test_every_settings_file_comes_from_its_secret_key(variant: str) -> None:
    """Each mount projects exactly its keys of the one settings Secret, at Tutor's paths."""
    render_ = openedx(variant)
    secret = "openedx-settings-0a1b2c3d" if variant == DEFAULT else "openedx-settings-7f3a9c2e41"
    expected_items = {
        "/openedx/edx-platform/lms/envs/tutor/": {f"lms-settings-{m}.py": f"{m}.py" for m in SETTINGS_MODULES},
        "/openedx/edx-platform/cms/envs/tutor/": {f"cms-settings-{m}.py": f"{m}.py" for m in SETTINGS_MODULES},
        "/openedx/config": {"lms.env.yml": "lms.env.yml", "cms.env.yml": "cms.env.yml"},
    }
    pods = openedx_pods(render_)
    assert pods
    for name, spec, container in pods:
        for path, items in expected_items.items():
            _, volume = mounted_volume(spec, container, path)
            assert volume["secret"]["secretName"] == secret, name
            assert {item["key"]: item["path"] for item in volume["secret"]["items"]} == items, (name, path)
        # Managed servers' CAs: optional, so an instance without them (the Secret lacks the keys) still starts.
        _, ca = mounted_volume(spec, container, "/openedx/ca")
        assert ca["secret"] == {"secretName": secret, "defaultMode": 0o444, "optional": True,
                                "items": [{"key": "mongodb-ca.pem", "path": "mongodb-ca.pem"},
                                          {"key": "mysql-ca.pem", "path": "mysql-ca.pem"}]}, name
        is_web = name in ("lms", "cms")
        assert ("/openedx/uwsgi.ini" in mounts(container)) is is_web, name
        if is_web:
            mount, volume = mounted_volume(spec, container, "/openedx/uwsgi.ini")
            assert mount["subPath"] == "uwsgi.ini"
            assert volume["secret"] == {
                "secretName": secret,
                "defaultMode": 0o444,
                "items": [{"key": "uwsgi.ini", "path": "uwsgi.ini"}],
            }


@pytest.mark.parametrize(("name", "key"), [("caddy", "caddy-Caddyfile"), ("mfe", "mfe-Caddyfile")])
def test_caddyfiles_come_from_their_secret_keys(name: str, key: str) -> None:
    spec, container = deployment_container(openedx(), name)
    _, volume = mounted_volume(spec, container, "/etc/caddy/")
    assert volume["secret"]["secretName"] == "openedx-settings-0a1b2c3d"
    assert volume["secret"]["items"] == [{"key": key, "path": "Caddyfile"}]


def test_no_settings_in_config_maps_and_no_secret_created() -> None:
    """Settings only come from the Secret the caller names (it is never created nor read elsewhere); one ConfigMap
    records what the init tasks last ran with, the other holds the settings pruner's script."""
    for variant in (DEFAULT, PRODUCTION):
        render_ = openedx(variant)
        assert not render_.of_kind("Secret")
        assert render_.names("ConfigMap") == {"openedx-init", "openedx-settings-prune"}
        assert set(render_.get("ConfigMap", "openedx-init")["data"]) == {"key", "once", "settingsSecret", "image"}
        assert set(render_.get("ConfigMap", "openedx-settings-prune")["data"]) == {"prune.py"}
        for doc, spec in workloads(render_):
            config_maps = {volume["configMap"]["name"] for volume in spec.get("volumes", []) if "configMap" in volume}
            if doc["metadata"]["name"] != "openedx-settings-prune":
                assert not config_maps, doc["metadata"]["name"]


@pytest.mark.parametrize(("name", "port"), [("lms", 8000), ("cms", 8000), ("mfe", 8002), ("caddy", 80)])
def test_services_have_the_names_and_ports_the_settings_use(name: str, port: int) -> None:
    render_ = openedx()
    service = render_.get("Service", name)
    assert service["spec"]["type"] == "ClusterIP"
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(port, "http")]
    _, container = deployment_container(render_, name)
    container_port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert container_port == {"lms": 8000, "cms": 8000, "mfe": 8002, "caddy": 8080}[name]
    # The Service selects exactly the pods of its Deployment.
    selector = render_.get("Deployment", name)["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector


def test_service_ports_match_tutors(tutor_reference: TutorReference) -> None:
    render_ = openedx()
    for name in ("lms", "cms", "mfe"):
        tutor_ports = [port["port"] for port in tutor_reference.services[name]["spec"]["ports"]]
        assert [port["port"] for port in render_.get("Service", name)["spec"]["ports"]] == tutor_ports
    assert tutor_reference.services["caddy"]["spec"]["ports"][0]["port"] == 80


@pytest.mark.parametrize("name", OPENEDX_WORKLOADS)
def test_openedx_pods_run_as_tutors_user(tutor_reference: TutorReference, name: str) -> None:
    spec, _ = deployment_container(openedx(), name)
    tutor = tutor_reference.pod_security(name)
    assert (spec["securityContext"]["runAsUser"], spec["securityContext"]["runAsGroup"]) == (
        tutor["runAsUser"],
        tutor["runAsGroup"],
    )


# --- Caddy and the MFE image under the restricted profile ------------------------------------------


def test_tutors_caddyfile_listens_on_default_site_port(tutor_reference: TutorReference) -> None:
    """Every site block of Tutor's Caddyfile (ENABLE_WEB_PROXY=false) takes its port from the env."""
    sites = re.findall(r"^([^\s(]\S*) \{$", tutor_reference.caddyfile, flags=re.MULTILINE)
    assert sites, "no site block found"
    for site in sites:
        assert site.endswith("{$default_site_port}"), site
    assert "learn.example.com{$default_site_port}" in sites


def test_tutors_caddyfile_with_the_readme_patch_serves_plain_http_on_caddys_port(
    tutor_reference: TutorReference,
) -> None:
    """On a port other than 80 Caddy serves automatic HTTPS unless it is the global `http_port`."""
    global_options = tutor_reference.caddyfile.split("\n}", 1)[0]
    _, container = deployment_container(openedx(), "caddy")
    port = container["ports"][0]["containerPort"]
    assert re.search(rf"^\s*http_port {port}$", global_options, flags=re.MULTILINE), global_options


def test_caddy_listens_on_8080_through_default_site_port() -> None:
    render_ = openedx()
    _, container = deployment_container(render_, "caddy")
    assert env_map(container)["default_site_port"] == ":8080"
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    readiness = container["readinessProbe"]["httpGet"]
    assert readiness == {"path": "/", "port": "http"}


def test_caddy_port_is_configurable() -> None:
    render_ = template("openedx", extra={"caddy": {"containerPort": 80}})
    _, container = deployment_container(render_, "caddy")
    assert env_map(container)["default_site_port"] == ":80"
    assert container["ports"][0]["containerPort"] == 80


def test_mfe_caddyfile_serves_the_probe_path(tutor_reference: TutorReference) -> None:
    caddyfile = tutor_reference.mfe_caddyfile
    assert caddyfile.lstrip().startswith(":8002 {")
    assert "root * /openedx/dist/learning" in caddyfile
    _, container = deployment_container(openedx(), "mfe")
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/learning/", "port": "http"}


@pytest.mark.parametrize("name", ["caddy", "mfe"])
def test_caddy_images_keep_net_bind_service_and_have_writable_dirs(name: str) -> None:
    spec, container = deployment_container(openedx(), name)
    security = container["securityContext"]
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert security["readOnlyRootFilesystem"] is True
    assert (spec["securityContext"]["runAsUser"], spec["securityContext"]["runAsGroup"]) == (1000, 1000)
    for path in ("/data", "/config", "/tmp"):
        _, volume = mounted_volume(spec, container, path)
        assert volume.get("emptyDir") == {}, path


# --- writable paths of the openedx image ---------------------------------------------------------------


def test_openedx_writable_paths_are_empty_dirs_without_media_claim() -> None:
    for name, spec, container in openedx_pods(openedx()):
        for path in ("/openedx/data", "/openedx/media", "/openedx/media-private", "/tmp", "/openedx/.cache"):
            _, volume = mounted_volume(spec, container, path)
            assert volume.get("emptyDir") == {}, (name, path)
        assert "initContainers" not in spec


def test_media_comes_from_the_claim_with_subpaths() -> None:
    for name, spec, container in openedx_pods(openedx(PRODUCTION)):
        for path, sub_path in (
            ("/openedx/media", "media"),
            ("/openedx/media-private", "media-private"),
            ("/openedx/data/ora2", "ora2"),
        ):
            mount, volume = mounted_volume(spec, container, path)
            assert mount["subPath"] == sub_path, (name, path)
            assert volume["persistentVolumeClaim"] == {"claimName": "media"}, (name, path)
        _, data = mounted_volume(spec, container, "/openedx/data")
        assert data.get("emptyDir") == {}
        # The subPath directories are created by the openedx user before the main container starts.
        (init,) = spec["initContainers"]
        assert init["command"][:2] == ["mkdir", "-p"]
        assert set(init["command"][2:]) == {"/mnt/media/media", "/mnt/media/media-private", "/mnt/media/ora2"}


# --- probes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["lms", "cms"])
def test_web_probes_send_an_allowed_host_header(variant: str) -> None:
    _, container = deployment_container(openedx(), variant)
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {
            "path": "/heartbeat",
            "port": "http",
            "httpHeaders": [{"name": "Host", "value": variant}],
        }
    assert container["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert "httpGet" not in container["livenessProbe"]


def test_worker_liveness_probe_pings_its_own_celery_node() -> None:
    _, worker = deployment_container(openedx(), "lms-worker")
    command = worker["livenessProbe"]["exec"]["command"]
    assert command[:2] == ["sh", "-c"]
    assert command[2] == (
        "exec celery --app=lms.celery inspect ping --destination=celery@edx.lms.core.default.${HOSTNAME} --timeout=10"
    )
    assert worker["livenessProbe"]["timeoutSeconds"] >= 30


# --- scaling ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [DEFAULT, PRODUCTION])
def test_no_replicas_while_an_hpa_owns_the_deployment(variant: str) -> None:
    render_ = openedx(variant)
    hpas = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in render_.of_kind("HorizontalPodAutoscaler")}
    for deployment in render_.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        assert ("replicas" in deployment["spec"]) is (name not in hpas), name
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["type"] == "Utilization"
    expected = set(OPENEDX_WORKLOADS) if variant == DEFAULT else {"lms", "lms-worker", "cms"}
    assert set(hpas) == expected


def test_hpa_defaults_are_the_small_size() -> None:
    render_ = openedx()
    bounds = {
        hpa["metadata"]["name"]: (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])
        for hpa in render_.of_kind("HorizontalPodAutoscaler")
    }
    assert bounds == {"lms": (1, 2), "cms": (1, 2), "lms-worker": (1, 2), "cms-worker": (1, 2)}


@pytest.mark.parametrize(
    ("variant", "expected"),
    [(DEFAULT, set()), (PRODUCTION, {"lms", "lms-worker", "cms", "mfe", "caddy"})],
)
def test_pdb_only_with_two_replicas_or_more(variant: str, expected: set[str]) -> None:
    render_ = openedx(variant)
    assert render_.names("PodDisruptionBudget") == expected
    for pdb in render_.of_kind("PodDisruptionBudget"):
        deployment = render_.get("Deployment", pdb["metadata"]["name"])
        assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        assert pdb["spec"]["maxUnavailable"] == 1


def test_default_sizes_are_tutors_and_memory_is_never_overcommitted() -> None:
    """Tutor's manifests request 2Gi for an LMS or Studio pod of 2 uwsgi processes; the application pods get the
    memory they may use (request = limit), so a neighbour's growth never evicts them."""
    render_ = openedx()
    expected = {"lms": ("500m", "2Gi"), "cms": ("250m", "2Gi"), "lms-worker": ("250m", "1536Mi"),
                "cms-worker": ("250m", "1536Mi")}
    for name, (cpu, memory) in expected.items():
        _, container = deployment_container(render_, name)
        assert container["resources"]["requests"] == {"cpu": cpu, "memory": memory}
        assert container["resources"]["limits"]["memory"] == memory
    # The uwsgi processes are Tutor's: test_environment_is_tutors compares the whole environment with its render.
    for _, spec in workloads(render_):
        for container in spec["containers"]:
            assert set(container["resources"]) == {"requests", "limits"}


def test_deployments_keep_a_bounded_history() -> None:
    for deployment in openedx().of_kind("Deployment"):
        assert deployment["spec"]["revisionHistoryLimit"] == 3


# --- rollouts and stopping without dropped requests ------------------------------------------------------

WEB_PODS = ("lms", "cms", "caddy", "mfe")
ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
#: The LMS high-memory queue's own workers enabled (see below).
HIGH_MEM = {"lms": {"highMemWorker": {"enabled": True}}}


def web_values(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` where the web pods of `name` take theirs: lms.web, cms.web, caddy, mfe."""
    return {name: {"web": values}} if name in ("lms", "cms") else {name: values}


@pytest.mark.parametrize("variant", [DEFAULT, PRODUCTION])
@pytest.mark.parametrize(("name", "grace"), [("lms", 75), ("cms", 75), ("caddy", 30), ("mfe", 30)])
def test_web_pods_keep_serving_while_their_removal_from_the_endpoints_spreads(
    variant: str, name: str, grace: int
) -> None:
    """A stopping web pod sleeps 10 s in preStop, still serving, before its SIGTERM, within its grace period."""
    spec, container = deployment_container(openedx(variant), name)
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}
    assert spec["terminationGracePeriodSeconds"] == grace


@pytest.mark.parametrize("variant", [DEFAULT, PRODUCTION])
def test_web_rollouts_start_a_new_pod_before_they_stop_an_old_one(variant: str) -> None:
    """A rollout never lowers the number of serving web pods: one pod above the count, none unavailable."""
    render_ = openedx(variant)
    for name in WEB_PODS:
        assert render_.get("Deployment", name)["spec"]["strategy"] == ROLLING, name


@pytest.mark.parametrize("variant", [DEFAULT, PRODUCTION])
def test_only_the_pods_behind_a_service_get_a_pre_stop_sleep(variant: str) -> None:
    """Workers, Jobs and CronJobs leave no endpoints behind: they stop at once, with no sleep."""
    render_ = template("openedx", () if variant == DEFAULT else ("openedx-production.yaml",), extra=HIGH_MEM)
    with_lifecycle = {
        doc["metadata"]["name"] for doc, spec in workloads(render_) for container in containers(spec)
        if "lifecycle" in container
    }
    assert with_lifecycle == {"lms", "cms", "caddy", "mfe"}


@pytest.mark.parametrize(("name", "grace"), [("lms-worker", 300), ("cms-worker", 300), ("lms-worker-high-mem", 900)])
def test_workers_get_the_time_to_finish_their_tasks(name: str, grace: int) -> None:
    """Celery's warm shutdown finishes the running tasks: 5 minutes for a worker, 15 for a high-memory report."""
    spec, container = deployment_container(template("openedx", extra=HIGH_MEM), name)
    assert spec["terminationGracePeriodSeconds"] == grace
    assert "lifecycle" not in container


@pytest.mark.parametrize("name", WEB_PODS)
def test_the_pre_stop_sleep_is_a_value_and_zero_turns_it_off(name: str) -> None:
    """Each web Deployment takes its own preStopSeconds; 0 gives its pods no preStop hook at all."""
    longer = template("openedx", extra=web_values(name, {"preStopSeconds": 20}))
    assert deployment_container(longer, name)[1]["lifecycle"] == {"preStop": {"sleep": {"seconds": 20}}}
    off = template("openedx", extra=web_values(name, {"preStopSeconds": 0}))
    assert "lifecycle" not in deployment_container(off, name)[1]
    for other in WEB_PODS:
        if other != name:
            assert deployment_container(off, other)[1]["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("lms", {"preStopSeconds": 75},
         "lms.web.preStopSeconds (75) must be below lms.web.terminationGracePeriodSeconds (75; null: 30)"),
        ("cms", {"preStopSeconds": 30, "terminationGracePeriodSeconds": 20},
         "cms.web.preStopSeconds (30) must be below cms.web.terminationGracePeriodSeconds (20; null: 30)"),
        ("caddy", {"preStopSeconds": 30},
         "caddy.preStopSeconds (30) must be below caddy.terminationGracePeriodSeconds (30; null: 30)"),
        ("mfe", {"preStopSeconds": 45},
         "mfe.preStopSeconds (45) must be below mfe.terminationGracePeriodSeconds (30; null: 30)"),
        # Kubernetes' own 30 s when the values leave the grace period out.
        ("caddy", {"preStopSeconds": 40, "terminationGracePeriodSeconds": None},
         "caddy.preStopSeconds (40) must be below caddy.terminationGracePeriodSeconds (30; null: 30)"),
    ],
)
def test_a_pre_stop_sleep_that_leaves_no_time_to_stop_is_refused(
    name: str, values: dict[str, Any], message: str
) -> None:
    """A sleep as long as the grace period would have the pod killed before its server stops gracefully; the
    message names the values that do it."""
    assert message in template_error("openedx", extra=web_values(name, values))


def test_a_longer_grace_period_allows_a_longer_pre_stop_sleep() -> None:
    """The check follows the grace period the values give, not the default's 75 s."""
    render_ = template("openedx", extra=web_values("lms", {"preStopSeconds": 75, "terminationGracePeriodSeconds": 120}))
    spec, container = deployment_container(render_, "lms")
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 75}}}
    assert spec["terminationGracePeriodSeconds"] == 120


# --- the LMS high-memory queue's own workers ----------------------------------------------------------------

LMS_QUEUES = "--queues=edx.lms.core.default,edx.lms.core.high,edx.lms.core.high_mem"


def high_mem(values: dict[str, Any] | None = None) -> Render:
    """The openedx chart with the high-memory workers enabled and `values` laid over lms.highMemWorker."""
    return template("openedx", extra={"lms": {"highMemWorker": {"enabled": True, **(values or {})}}})


@pytest.mark.parametrize("variant", [DEFAULT, PRODUCTION])
def test_no_high_mem_workers_by_default_and_the_lms_workers_consume_every_queue(variant: str) -> None:
    """Unless enabled, reports run on the LMS workers, which consume Tutor's three LMS queues."""
    render_ = openedx(variant)
    assert "lms-worker-high-mem" not in render_.names("Deployment")
    assert "lms-worker-high-mem" not in render_.names("HorizontalPodAutoscaler")
    assert LMS_QUEUES in deployment_container(render_, "lms-worker")[1]["args"]


def test_high_mem_workers_consume_only_their_queue_one_task_per_process() -> None:
    """The report workers take edx.lms.core.high_mem alone, one process per pod, replaced after every task."""
    _, container = deployment_container(high_mem(), "lms-worker-high-mem")
    assert container["args"] == [
        "celery",
        "--app=lms.celery",
        "worker",
        "--loglevel=info",
        "--hostname=edx.lms.core.high_mem.%h",
        "--queues=edx.lms.core.high_mem",
        "--max-tasks-per-child=1",
        "--prefetch-multiplier=1",
        "--without-gossip",
        "--without-mingle",
        "--concurrency=1",
    ]
    assert env_map(container) == {"SERVICE_VARIANT": "lms", "DJANGO_SETTINGS_MODULE": "lms.envs.tutor.production"}


def test_with_high_mem_workers_the_lms_workers_leave_that_queue_to_them() -> None:
    """A long report never holds up the default and high queues; Studio's workers are untouched."""
    render_ = high_mem()
    _, lms_worker = deployment_container(render_, "lms-worker")
    assert lms_worker["args"] == [
        "celery",
        "--app=lms.celery",
        "worker",
        "--loglevel=info",
        "--hostname=edx.lms.core.default.%h",
        "--queues=edx.lms.core.default,edx.lms.core.high",
        "--max-tasks-per-child=100",
        "--prefetch-multiplier=1",
        "--without-gossip",
        "--without-mingle",
        "--concurrency=1",
    ]
    _, cms_worker = deployment_container(render_, "cms-worker")
    assert "--queues=edx.cms.core.default,edx.cms.core.high,edx.cms.core.low" in cms_worker["args"]
    assert "cms-worker-high-mem" not in render_.names("Deployment")


def test_high_mem_workers_have_their_own_size_and_autoscaler() -> None:
    """Reports get 3Gi, requested as limited, and an HPA of their own (1 to 1); the LMS workers keep theirs."""
    render_ = high_mem()
    deployment = render_.get("Deployment", "lms-worker-high-mem")
    assert "replicas" not in deployment["spec"]
    assert deployment["spec"]["strategy"] == ROLLING
    _, container = deployment_container(render_, "lms-worker-high-mem")
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "3Gi"},
                                      "limits": {"cpu": "1", "memory": "3Gi"}}
    hpa = render_.get("HorizontalPodAutoscaler", "lms-worker-high-mem")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                            "name": "lms-worker-high-mem"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 1)
    lms_hpa = render_.get("HorizontalPodAutoscaler", "lms-worker")
    assert (lms_hpa["spec"]["minReplicas"], lms_hpa["spec"]["maxReplicas"]) == (1, 2)
    assert deployment_container(render_, "lms-worker")[1]["resources"]["requests"] == {"cpu": "250m",
                                                                                       "memory": "1536Mi"}
    assert not render_.names("PodDisruptionBudget")


def test_high_mem_worker_values_apply_to_them_only() -> None:
    """Their resources, bounds and fixed count are highMemWorker's; two fixed replicas also get a budget."""
    resources = {"requests": {"cpu": "500m", "memory": "6Gi"}, "limits": {"cpu": "2", "memory": "6Gi"}}
    sized = high_mem({"resources": resources, "autoscaling": {"maxReplicas": 3}})
    _, container = deployment_container(sized, "lms-worker-high-mem")
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "6Gi"},
                                      "limits": {"cpu": "2", "memory": "6Gi"}}
    hpa = sized.get("HorizontalPodAutoscaler", "lms-worker-high-mem")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    assert deployment_container(sized, "lms-worker")[1]["resources"]["limits"] == {"cpu": "1", "memory": "1536Mi"}
    fixed = high_mem({"autoscaling": {"enabled": False}, "replicaCount": 2})
    assert fixed.get("Deployment", "lms-worker-high-mem")["spec"]["replicas"] == 2
    assert "lms-worker-high-mem" not in fixed.names("HorizontalPodAutoscaler")
    pdb = fixed.get("PodDisruptionBudget", "lms-worker-high-mem")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/instance": "demo",
                                                      "app.kubernetes.io/name": "lms-worker-high-mem",
                                                      "app.openedx.org/instance": "demo"}


@pytest.mark.parametrize(("values", "concurrency"), [({}, 1), ({"resources": {"requests": {"cpu": "2"}}}, 1),
                                                     ({"concurrency": 2}, 2)])
def test_high_mem_worker_concurrency_is_its_own_value_not_the_cpu_request(
    values: dict[str, Any], concurrency: int
) -> None:
    """One report per pod unless highMemWorker.concurrency says otherwise, whatever CPU it requests."""
    _, container = deployment_container(high_mem(values), "lms-worker-high-mem")
    assert [arg for arg in container["args"] if arg.startswith("--concurrency")] == [f"--concurrency={concurrency}"]


def test_high_mem_workers_take_the_workers_placement_and_their_own_priority_class() -> None:
    """The LMS workers' nodeSelector reaches the report workers; highMemWorker.priorityClassName is theirs alone."""
    workers = {"nodeSelector": {"pool": "workers"}, "priorityClassName": "openedx-workers"}
    render_ = template("openedx", extra={"lms": {"highMemWorker": {"enabled": True, "priorityClassName": "reports"},
                                                 "worker": workers}})
    spec, _ = deployment_container(render_, "lms-worker-high-mem")
    assert (spec["nodeSelector"], spec["priorityClassName"]) == ({"pool": "workers"}, "reports")
    assert deployment_container(render_, "lms-worker")[0]["priorityClassName"] == "openedx-workers"


def test_high_mem_workers_without_a_priority_class_of_their_own_take_the_workers() -> None:
    """An empty highMemWorker.priorityClassName means the workers', as its description says."""
    render_ = template("openedx", extra={"lms": {"highMemWorker": {"enabled": True},
                                                 "worker": {"priorityClassName": "openedx-workers"}}})
    assert deployment_container(render_, "lms-worker-high-mem")[0]["priorityClassName"] == "openedx-workers"


def test_a_worker_command_without_hostname_or_task_limit_gets_them_for_the_high_mem_queue() -> None:
    """A custom worker command still gives the report workers their own node name and one task per process."""
    args = ["celery", "--app=lms.celery", "worker", "--queues=edx.lms.core.default,edx.lms.core.high_mem"]
    render_ = template("openedx", extra={"lms": {"highMemWorker": {"enabled": True}, "worker": {"args": args}}})
    assert deployment_container(render_, "lms-worker-high-mem")[1]["args"] == [
        "celery", "--app=lms.celery", "worker", "--queues=edx.lms.core.high_mem",
        "--hostname=edx.lms.core.high_mem.%h", "--max-tasks-per-child=1", "--concurrency=1"]
    assert deployment_container(render_, "lms-worker")[1]["args"] == [
        "celery", "--app=lms.celery", "worker", "--queues=edx.lms.core.default", "--concurrency=1"]


def test_high_mem_worker_liveness_probe_pings_its_own_celery_node() -> None:
    """A hung report worker is restarted on its own node's ping, not on the LMS workers' answer."""
    _, worker = deployment_container(high_mem(), "lms-worker-high-mem")
    assert worker["livenessProbe"]["exec"]["command"] == [
        "sh",
        "-c",
        "exec celery --app=lms.celery inspect ping --destination=celery@edx.lms.core.high_mem.${HOSTNAME} --timeout=10",
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"cms": {"highMemWorker": {"enabled": True}}},
         "cms.highMemWorker.queue is required when highMemWorker.enabled"),
        ({"lms": {"highMemWorker": {"enabled": True, "queue": "edx.lms.core.reports"}}},
         'lms.worker.args: the worker command consumes no queue "edx.lms.core.reports" '
         "(its --queues= lists edx.lms.core.default,edx.lms.core.high,edx.lms.core.high_mem)"),
        ({"lms": {"highMemWorker": {"enabled": True},
                  "worker": {"args": ["celery", "--app=lms.celery", "worker", "--queues=edx.lms.core.high_mem"]}}},
         'lms.worker.args: "edx.lms.core.high_mem" is the only queue of the worker command: '
         "no queue would be left for the other workers"),
    ],
)
def test_high_mem_workers_that_would_leave_a_queue_unconsumed_are_refused(extra: dict[str, Any], message: str) -> None:
    """No queue without workers: a missing queue, one the command does not consume, or its only one fails the render."""
    assert message in template_error("openedx", extra=extra)


def test_maintenance_scales_the_high_mem_workers_to_zero_too() -> None:
    """During maintenance no report runs: zero replicas, no autoscaler, no budget, as for the other workers."""
    maintenance = {"global": {"maintenance": {"enabled": True}}}
    for values in ({}, {"autoscaling": {"enabled": False}, "replicaCount": 2}):
        extra = {**maintenance, "lms": {"highMemWorker": {"enabled": True, **values}}}
        render_ = template("openedx", ("openedx-production.yaml",), extra=extra)
        assert render_.get("Deployment", "lms-worker-high-mem")["spec"]["replicas"] == 0
        assert "lms-worker-high-mem" not in render_.names("HorizontalPodAutoscaler")
        assert "lms-worker-high-mem" not in render_.names("PodDisruptionBudget")


# --- init tasks as hook Jobs ---------------------------------------------------------------------------


def init_jobs(render_: Render) -> list[Doc]:
    return [job for job in render_.of_kind("Job") if job["metadata"]["labels"]["app.kubernetes.io/component"] == "init"]


def test_hook_jobs_run_the_init_tasks_in_order() -> None:
    render_ = openedx(PRODUCTION)
    tasks = [
        ("lms", "init-00-lms-mounted-directories.sh"),
        ("lms", "init-01-lms-meilisearch.sh"),
        ("lms", "init-02-lms.sh"),
        ("cms", "init-03-cms.sh"),
        ("lms", "init-04-lms-forum.sh"),
        ("lms", "init-05-lms-mfe.sh"),
    ]
    jobs = init_jobs(render_)
    assert len(jobs) == len(tasks)
    weights = [int(job["metadata"]["annotations"]["helm.sh/hook-weight"]) for job in jobs]
    assert weights == sorted(weights) and len(set(weights)) == len(weights)
    for job, (service, key) in zip(jobs, tasks, strict=True):
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
        spec = job["spec"]
        assert spec["backoffLimit"] == 1
        assert spec["activeDeadlineSeconds"] == 3300
        assert "ttlSecondsAfterFinished" not in spec
        pod = spec["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        container = main_container(pod)
        assert container["args"] == ["sh", "-e", f"/openedx/init-tasks/{key}"]
        assert "command" not in container
        assert env_map(container) == {
            "SERVICE_VARIANT": service,
            "DJANGO_SETTINGS_MODULE": f"{service}.envs.tutor.production",
        }
        _, script = mounted_volume(pod, container, "/openedx/init-tasks")
        assert script["secret"]["items"] == [{"key": key, "path": key}]
        assert script["secret"]["secretName"] == "openedx-settings-7f3a9c2e41"


def test_hook_job_defaults_fit_a_first_migration() -> None:
    render_ = template("openedx", extra={"init": {"tasks": [{"service": "lms", "key": "lms.sh"}]}})
    (job,) = init_jobs(render_)
    assert job["spec"]["backoffLimit"] == 1
    assert job["spec"]["activeDeadlineSeconds"] == 3000
    assert job["spec"]["activeDeadlineSeconds"] < 3600


def test_hook_jobs_depend_on_nothing_the_release_creates() -> None:
    """Pre-install hooks run before the Release's objects: they may only name what exists before it."""
    render_ = openedx(PRODUCTION)
    created = {(doc["kind"], doc["metadata"]["name"]) for doc in render_.docs}
    pre_install = [job for job in render_.of_kind("Job")
                   if "pre-install" in job["metadata"]["annotations"]["helm.sh/hook"]]
    assert pre_install
    for job in pre_install:
        pod = job["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "openedx"
        assert ("ServiceAccount", "openedx") not in created
        for volume in pod["volumes"]:
            assert set(volume) & {"secret", "emptyDir", "persistentVolumeClaim"}, volume
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) not in created
        assert pod["automountServiceAccountToken"] is False


def test_no_init_tasks_no_init_jobs() -> None:
    assert not init_jobs(openedx())


def test_init_task_service_is_checked() -> None:
    error = template_error("openedx", extra={"init": {"tasks": [{"service": "worker", "key": "x.sh"}]}})
    assert 'init.tasks[0].service: "worker" is not a service the init tasks run in' in error


# --- CronJobs --------------------------------------------------------------------------------------------


def scheduled(render_: Render) -> list[Doc]:
    """The CronJobs that run on a schedule (not the suspended templates of the operator commands)."""
    return [job for job in render_.of_kind("CronJob") if not job["spec"].get("suspend")]


def test_default_cron_jobs_run_the_scheduled_management_commands() -> None:
    render_ = openedx()
    commands = {job["metadata"]["name"]: main_container(pod_spec(job) or {})["args"] for job in scheduled(render_)}
    assert commands == {
        "send-recurring-nudge": ["./manage.py", "lms", "send_recurring_nudge", "lms.example.com"],
        "send-upgrade-reminder": ["./manage.py", "lms", "send_upgrade_reminder", "lms.example.com"],
        "send-course-update": ["./manage.py", "lms", "send_course_update", "lms.example.com"],
        "send-course-next-section-update": ["./manage.py", "lms", "send_course_next_section_update", "lms.example.com"],
        "send-email-digest-daily": ["./manage.py", "lms", "send_email_digest", "Daily"],
        "send-email-digest-weekly": ["./manage.py", "lms", "send_email_digest", "Weekly"],
        "clear-expired-tokens": ["./manage.py", "lms", "edx_clear_expired_tokens"],
    }


@pytest.mark.parametrize("variant", [DEFAULT, PRODUCTION])
def test_cron_jobs_never_overlap_and_are_bounded(variant: str) -> None:
    jobs = scheduled(openedx(variant))
    assert jobs
    for job in jobs:
        spec = job["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["successfulJobsHistoryLimit"] <= 3 and spec["failedJobsHistoryLimit"] <= 3
        assert spec["startingDeadlineSeconds"] > 0
        assert spec["timeZone"] == "Etc/UTC"
        job_spec = spec["jobTemplate"]["spec"]
        assert job_spec["activeDeadlineSeconds"] > 0 and job_spec["backoffLimit"] <= 1
        assert "ttlSecondsAfterFinished" not in job_spec
        assert job_spec["template"]["spec"]["restartPolicy"] == "Never"


def test_cron_jobs_can_be_disabled_and_run_in_either_variant() -> None:
    render_ = openedx(PRODUCTION)
    assert {job["metadata"]["name"] for job in scheduled(render_)} == {
        "send-recurring-nudge", "send-email-digest-daily", "reindex-courses"}
    reindex = render_.get("CronJob", "reindex-courses")
    pod = pod_spec(reindex)
    assert pod is not None
    container = main_container(pod)
    assert variant_of(container) == "cms"
    assert reindex["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 7200
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "1Gi"}
    nudge = main_container(pod_spec(render_.get("CronJob", "send-recurring-nudge")) or {})
    assert nudge["args"][-1] == "learn.example.com"


def test_cron_command_needing_the_lms_host_fails_without_it() -> None:
    error = template_error(
        "openedx",
        extra={"global": {"hosts": {"lms": ""}}, "ingress": {"enabled": False}},
    )
    assert "is global.hosts.lms set?" in error


# --- Ingress and TLS --------------------------------------------------------------------------------------


def test_one_ingress_with_every_host_to_caddy_and_one_tls_entry() -> None:
    render_ = openedx(PRODUCTION)
    (ingress,) = render_.of_kind("Ingress")
    hosts = ["learn.example.com", "studio.learn.example.com", "apps.learn.example.com", "meilisearch.learn.example.com"]
    assert ingress["metadata"]["name"] == "campus"
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == hosts
    for rule in ingress["spec"]["rules"]:
        (path,) = rule["http"]["paths"]
        assert path["path"] == "/" and path["pathType"] == "Prefix"
        assert path["backend"] == {"service": {"name": "caddy", "port": {"number": 80}}}
    assert ingress["spec"]["tls"] == [{"hosts": hosts, "secretName": "campus-tls"}]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-production"
    assert annotations["traefik.ingress.kubernetes.io/router.entrypoints"] == "websecure"


def test_ingress_skips_empty_hosts() -> None:
    (ingress,) = openedx().of_kind("Ingress")
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == ["lms.example.com"]
    assert ingress["spec"]["tls"] == [{"hosts": ["lms.example.com"], "secretName": "demo-tls"}]
    assert "annotations" not in ingress["metadata"]


@pytest.mark.parametrize(
    ("tls", "secret", "annotation"),
    [
        ({"issuer": "local-ca"}, "demo-tls", ("cert-manager.io/issuer", "local-ca")),
        ({"existingSecret": "wildcard-cert"}, "wildcard-cert", None),
        ({"secretName": "lms-cert", "clusterIssuer": "le"}, "lms-cert", ("cert-manager.io/cluster-issuer", "le")),
    ],
)
def test_certificate_sources(tls: dict[str, str], secret: str, annotation: tuple[str, str] | None) -> None:
    (ingress,) = template("openedx", extra={"ingress": {"tls": tls}}).of_kind("Ingress")
    assert ingress["spec"]["tls"][0]["secretName"] == secret
    annotations = ingress["metadata"].get("annotations", {})
    cert_manager = {key: value for key, value in annotations.items() if key.startswith("cert-manager.io/")}
    assert cert_manager == (dict([annotation]) if annotation else {})


def test_tls_can_be_disabled_and_sources_cannot_be_mixed() -> None:
    (ingress,) = template("openedx", extra={"ingress": {"tls": {"enabled": False}}}).of_kind("Ingress")
    assert "tls" not in ingress["spec"]
    error = template_error("openedx", extra={"ingress": {"tls": {"existingSecret": "x", "clusterIssuer": "le"}}})
    assert "existingSecret" in error


# --- composition ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("subchart", ["lms", "cms", "mfe", "caddy"])
def test_each_subchart_can_be_disabled(subchart: str) -> None:
    render_ = template("openedx", extra={subchart: {"enabled": False}})
    assert subchart not in render_.names("Deployment")
    assert subchart not in render_.names("Service")
    assert render_.of_kind("Deployment")


def test_required_values_fail_clearly() -> None:
    error = template_error("openedx", required=False, extra={"global": {"hosts": {"lms": "lms.example.com"}}})
    assert "global.instance" in error and "global.settingsSecret" in error


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"global": {"instance": ""}}, "global.instance is required"),
        ({"global": {"settingsSecret": ""}}, "global.settingsSecret is required"),
    ],
)
def test_required_values_fail_clearly_without_the_schema(extra: dict[str, Any], message: str) -> None:
    """The templates check the required values too (helm --skip-schema-validation bypasses the schema)."""
    from chart_render import CHARTS, REQUIRED, helm

    from components.charts import package_dependencies

    package_dependencies(CHARTS / "openedx")
    args = ["template", "x", str(CHARTS / "openedx"), "--skip-schema-validation"]
    values = {**REQUIRED["openedx"]["global"], **extra["global"]}
    for key, value in values.items():
        if isinstance(value, str):
            args += ["--set", f"global.{key}={value}"]
    args += ["--set", "global.hosts.lms=lms.example.com"]
    result = helm(*args)
    assert result.returncode != 0
    assert message in result.stderr


def test_volumes_are_named_once() -> None:
    for variant in (DEFAULT, PRODUCTION):
        for _, spec in workloads(openedx(variant)):
            names = [volume["name"] for volume in spec.get("volumes", [])]
            assert len(names) == len(set(names))
            assert set(volumes(spec)) >= {mount["name"] for c in spec["containers"] for mount in c["volumeMounts"]}
