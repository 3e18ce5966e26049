"""The openedx chart over an instance's life: when the init tasks run again (their key), the first-time tasks, the
maintenance switch, and the template of the operator commands' Jobs."""

from __future__ import annotations

from typing import Any

import pytest
from chart_render import Doc, Render, main_container, pod_spec, template

PRODUCTION = ("openedx-production.yaml",)
ONCE = [
    {"name": "admin", "service": "lms", "args": ["sh", "-e", "-c", "create the admin"],
     "env": [{"name": "OPENEDX_USERNAME", "value": "admin"},
             {"name": "OPENEDX_USER_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "openedx-admin",
                                                                             "key": "password"}}}]},
    {"name": "demo-course", "service": "cms", "args": ["sh", "-e", "-c", "import the course"]},
]


def openedx(extra: dict[str, Any] | None = None) -> Render:
    return template("openedx", PRODUCTION, extra=extra)


def init_key(extra: dict[str, Any] | None = None) -> str:
    return str(openedx(extra).get("ConfigMap", "openedx-init")["data"]["key"])


def hooks(render_: Render) -> list[Doc]:
    """The hook Jobs run before the Release's objects are applied, in the order Helm runs them (by weight)."""
    jobs = [job for job in render_.of_kind("Job")
            if "pre-upgrade" in job["metadata"].get("annotations", {}).get("helm.sh/hook", "")]
    return sorted(jobs, key=lambda job: int(job["metadata"]["annotations"]["helm.sh/hook-weight"]))


# --- the init key: what makes the init tasks run again ----------------------------------------------------------


@pytest.mark.parametrize("change", [
    {"global": {"settingsSecret": "openedx-settings-0000000001"}},
    {"global": {"openedxImage": {"tag": "22.0.4"}}},
    {"global": {"imageRegistry": "mirror.example.com"}},
    {"init": {"revision": "tutor 22.0.4, forum 22.0.0, mfe 22.1.0"}},
    {"init": {"tasks": [{"service": "lms", "key": "init-02-lms.sh"}]}},
])
def test_what_the_init_tasks_depend_on_changes_their_key(change: dict[str, Any]) -> None:
    assert init_key(change) != init_key()


@pytest.mark.parametrize("change", [
    {"lms": {"web": {"autoscaling": {"minReplicas": 3, "maxReplicas": 9}}}},
    {"cms": {"worker": {"resources": {"requests": {"cpu": "1", "memory": "2Gi"},
                                      "limits": {"cpu": "2", "memory": "4Gi"}}}}},
    {"lms": {"web": {"readinessProbe": {"periodSeconds": 30}}}},
    {"global": {"maintenance": {"enabled": True}}},
    {"init": {"activeDeadlineSeconds": 600, "backoffLimit": 0}},
    {"cronJobs": []},
])
def test_scaling_sizing_probes_and_maintenance_leave_the_key_alone(change: dict[str, Any]) -> None:
    assert init_key(change) == init_key()


def test_the_init_record_says_what_the_tasks_last_ran_with() -> None:
    record = openedx({"init": {"once": ONCE}}).get("ConfigMap", "openedx-init")
    assert record["data"] == {
        "key": init_key(),
        "once": "admin,demo-course",
        "settingsSecret": "openedx-settings-7f3a9c2e41",
        "image": "registry.example.com/overhangio/openedx:22.0.3",
    }
    # An object of the Release, not a hook: written once every hook has succeeded, rolled back with it.
    assert "helm.sh/hook" not in record["metadata"].get("annotations", {})


def test_without_a_record_every_init_task_runs_then_the_first_time_tasks() -> None:
    """`helm template` (like a first install) finds no openedx-init ConfigMap: everything runs."""
    jobs = hooks(openedx({"init": {"once": ONCE}}))
    names = [job["metadata"]["name"] for job in jobs]
    assert names[-2:] == ["once-admin", "once-demo-course"]
    assert len(names) == 6 + 2 and all(name.startswith("init-") for name in names[:-2])
    assert [job["metadata"]["annotations"]["helm.sh/hook-weight"] for job in jobs] == [str(i) for i in range(8)]


def test_a_first_time_task_runs_its_command_with_its_environment_as_an_init_job_does() -> None:
    jobs = {job["metadata"]["name"]: job for job in hooks(openedx({"init": {"once": ONCE}}))}
    admin, migrate = jobs["once-admin"], jobs["init-02-lms-init-02-lms-sh"]
    container, reference = main_container(pod_spec(admin) or {}), main_container(pod_spec(migrate) or {})
    assert container["args"] == ["sh", "-e", "-c", "create the admin"]
    env = {item["name"]: item for item in container["env"]}
    assert env["OPENEDX_USERNAME"]["value"] == "admin"
    assert env["OPENEDX_USER_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "openedx-admin", "key": "password"}}
    assert env["SERVICE_VARIANT"]["value"] == "lms"
    for field in ("image", "securityContext", "resources"):
        assert container[field] == reference[field]
    script_free = {m["name"] for m in reference["volumeMounts"]} - {"init-task"}
    assert {m["name"] for m in container["volumeMounts"]} == script_free
    assert admin["spec"]["activeDeadlineSeconds"] == migrate["spec"]["activeDeadlineSeconds"]


def test_the_deadline_and_retries_of_the_init_jobs_are_values() -> None:
    for job in hooks(openedx({"init": {"activeDeadlineSeconds": 900, "backoffLimit": 0, "once": ONCE}})):
        assert (job["spec"]["activeDeadlineSeconds"], job["spec"]["backoffLimit"]) == (900, 0)


# --- maintenance --------------------------------------------------------------------------------------------------

MAINTENANCE = {"global": {"maintenance": {"enabled": True, "retryAfterSeconds": 900}}}
SCALED = ("lms", "lms-worker", "cms", "cms-worker")


def test_maintenance_scales_web_and_workers_to_zero_without_autoscaler_or_budget() -> None:
    render_ = openedx(MAINTENANCE)
    for name in SCALED:
        assert render_.get("Deployment", name)["spec"]["replicas"] == 0
    assert not render_.names("HorizontalPodAutoscaler") & set(SCALED)
    assert not render_.names("PodDisruptionBudget") & set(SCALED)
    assert render_.get("Deployment", "caddy")["spec"]["replicas"] == 2


def test_maintenance_off_gives_the_workloads_their_bounds_back() -> None:
    render_ = openedx()
    # The values' own: autoscaled lms, lms-worker and cms (the HPA owns the count), a fixed cms-worker.
    assert render_.names("HorizontalPodAutoscaler") == {"lms", "lms-worker", "cms"}
    for name in ("lms", "lms-worker", "cms"):
        assert "replicas" not in render_.get("Deployment", name)["spec"]
    assert render_.get("Deployment", "cms-worker")["spec"]["replicas"] == 1
    assert "caddy-maintenance" not in render_.names("ConfigMap")


def test_maintenance_answers_every_host_with_503_and_retry_after_but_keeps_the_router_ready() -> None:
    render_ = openedx(MAINTENANCE)
    caddyfile = render_.get("ConfigMap", "caddy-maintenance")["data"]["Caddyfile"]
    assert "http://:8080 {" in caddyfile and "HTML 503" in caddyfile
    assert 'header Retry-After "900"' in caddyfile
    # The kubelet's probes still get 200: the router stays ready, so the Ingress keeps sending visitors to it.
    assert "@probe header User-Agent kube-probe/*" in caddyfile and "respond @probe 200" in caddyfile
    pod = pod_spec(render_.get("Deployment", "caddy")) or {}
    (volume,) = [v for v in pod["volumes"] if v["name"] == "caddyfile"]
    assert volume["configMap"]["name"] == "caddy-maintenance"


def test_maintenance_runs_no_init_job_of_its_own() -> None:
    assert init_key(MAINTENANCE) == init_key()


# --- the template of the operator commands ----------------------------------------------------------------------


@pytest.mark.parametrize("service", ["lms", "cms"])
def test_each_variant_has_a_suspended_never_scheduled_command_template(service: str) -> None:
    template_ = openedx().get("CronJob", f"openedx-command-{service}")
    spec = template_["spec"]
    assert spec["suspend"] is True and spec["schedule"] == "0 0 30 2 *"
    assert template_["metadata"]["labels"]["app.kubernetes.io/component"] == "command"
    job = spec["jobTemplate"]["spec"]
    assert (job["backoffLimit"], job["activeDeadlineSeconds"], job["ttlSecondsAfterFinished"]) == (0, 3600, 3600)
    pod = job["template"]["spec"]
    container = main_container(pod)
    assert {e["name"]: e.get("value") for e in container["env"]}["SERVICE_VARIANT"] == service
    assert pod["restartPolicy"] == "Never"
