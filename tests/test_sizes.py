"""Size presets: what each environment gets unset, what an instance's own fields change, what the charts run alone,
and what the program hands the charts for each size."""

from __future__ import annotations

from typing import Any

import pytest

from components.charts import chart_values
from components.settings.instance import InstanceSettings
from components.settings.sizes import PRESETS, mongodb_cache_gb, plan, redis_maxmemory
from tests.conftest import inputs, of_type

RELEASE = "kubernetes:helm.sh/v3:Release"


def instance(**settings: Any) -> InstanceSettings:
    return InstanceSettings.model_validate({"name": "demo", "lmsHost": "demo.example.com", **settings})


@pytest.mark.parametrize(("environment", "size"), [("dev", "small"), ("staging", "medium"),
                                                   ("production", "medium")])
def test_unset_size_follows_the_environment(environment: str, size: str) -> None:
    assert plan(instance(), environment).size == size  # type: ignore[arg-type]
    assert plan(instance(size="large"), environment).size == "large"  # type: ignore[arg-type]


def test_each_field_of_an_instance_replaces_the_presets_alone() -> None:
    planned = plan(instance(size="medium", volumes={"mysql": "50Gi"}, workloads={
        "lms": {"minReplicas": 8, "resources": {"requests": {"cpu": "1500m"}}, "processes": 6},
        "caddy": {"replicas": 3}}), "production")
    lms = planned.workloads["lms"]
    assert (lms.min_replicas, lms.max_replicas, lms.processes) == (8, 8, 6)  # a minimum above the preset's maximum
    assert lms.resources.requests.cpu == "1500m" and lms.resources.requests.memory == "3Gi"
    assert (lms.resources.limits.cpu, lms.resources.limits.memory) == ("2", "3Gi")
    assert planned.volumes == {"mysql": "50Gi", "mongodb": "10Gi", "redis": "2Gi", "meilisearch": "5Gi"}
    assert (planned.workloads["caddy"].min_replicas, planned.workloads["caddy"].max_replicas) == (3, 3)
    assert planned.workloads["cms"] == PRESETS["medium"].workloads["cms"]


@pytest.mark.parametrize(("environment", "setting", "enabled"), [
    ("dev", None, False), ("staging", None, True), ("production", None, True), ("dev", True, True),
    ("production", False, False)])
def test_high_memory_workers_are_off_in_dev_unless_asked(environment: str, setting: bool | None,
                                                         enabled: bool) -> None:
    workloads = {} if setting is None else {"lmsHighMemWorker": {"enabled": setting}}
    assert plan(instance(workloads=workloads), environment).workloads["lmsHighMemWorker"].enabled is enabled  # type: ignore[arg-type]


def test_sizes_grow_with_each_step() -> None:
    """Nothing shrinks from small to medium to large: resources, bounds and volumes."""
    from components.settings.sizes import cpu_millis, memory_bytes

    for smaller, larger in (("small", "medium"), ("medium", "large")):
        for key, low in PRESETS[smaller].workloads.items():
            high = PRESETS[larger].workloads[key]
            assert high.max_replicas >= low.max_replicas and high.processes >= low.processes, key
            assert cpu_millis(high.resources.requests.cpu) >= cpu_millis(low.resources.requests.cpu), key
            assert memory_bytes(high.resources.limits.memory) >= memory_bytes(low.resources.limits.memory), key
        for service, size in PRESETS[smaller].volumes.items():
            assert memory_bytes(PRESETS[larger].volumes[service]) >= memory_bytes(size), service


def test_memory_is_requested_as_limited() -> None:
    for preset in PRESETS.values():
        for key, workload in preset.workloads.items():
            assert workload.resources.requests.memory == workload.resources.limits.memory, (preset.size, key)


def test_derived_server_settings() -> None:
    assert [redis_maxmemory(PRESETS[s]) for s in ("small", "medium", "large")] == ["384mb", "768mb", "1536mb"]
    assert [mongodb_cache_gb(PRESETS[s]) for s in ("small", "medium", "large")] == [0.35, 0.5, 1.0]


def _resources(values: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {kind: {name: str(amount) for name, amount in values[kind].items()} for kind in ("requests", "limits")}


def test_the_charts_alone_run_the_small_size() -> None:
    """The charts' defaults are the small preset, so a chart used without the program runs a known size."""
    small = {key: w.resources.as_values() for key, w in PRESETS["small"].workloads.items()}
    edxapp = chart_values("charts/openedx/charts/edxapp/values.yaml")
    parent = chart_values("charts/openedx/values.yaml")
    assert _resources(edxapp["web"]["resources"]) == small["lms"]
    cms = {kind: {**edxapp["web"]["resources"][kind], **parent["cms"]["web"]["resources"][kind]}
           for kind in ("requests", "limits")}
    assert _resources(cms) == small["cms"]
    assert _resources(edxapp["worker"]["resources"]) == small["lmsWorker"] == small["cmsWorker"]
    assert _resources(edxapp["highMemWorker"]["resources"]) == small["lmsHighMemWorker"]
    assert edxapp["web"]["uwsgiWorkers"] == PRESETS["small"].workloads["lms"].processes
    assert (edxapp["web"]["autoscaling"]["minReplicas"], edxapp["web"]["autoscaling"]["maxReplicas"]) == (1, 2)
    ida = chart_values("charts/openedx/charts/ida/values.yaml")
    assert _resources(ida["resources"]) == small["notes"]
    credentials = {kind: {**ida["resources"][kind], **parent["credentials"]["resources"][kind]}
                   for kind in ("requests", "limits")}
    assert _resources(credentials) == small["credentials"]
    assert (ida["autoscaling"]["minReplicas"], ida["autoscaling"]["maxReplicas"]) == (1, 2)
    for chart in ("mfe", "caddy"):
        assert _resources(chart_values(f"charts/openedx/charts/{chart}/values.yaml")["resources"]) == small[chart]
    services = chart_values("charts/openedx-services/values.yaml")
    for service in ("mysql", "mongodb", "redis", "meilisearch"):
        assert _resources(services[service]["resources"]) == small[service], service
        assert services[service]["persistence"]["size"] == PRESETS["small"].volumes[service], service
    assert services["redis"]["maxmemory"] == redis_maxmemory(PRESETS["small"])
    assert services["mongodb"]["wiredTigerCacheSizeGB"] == mongodb_cache_gb(PRESETS["small"])


def test_the_program_hands_each_chart_its_size(evaluate_stack) -> None:
    recording = evaluate_stack(config={
        "openedx:environment": "staging", "openedx:platform": {"tls": {"issuer": "none"}},
        "openedx:instances": [{"name": "demo", "lmsHost": "learn.example.org", "size": "large",
                               "volumes": {"mongodb": "80Gi"}}]})
    releases = {r.name: inputs(r)["values"] for r in of_type(recording, RELEASE)}
    app, services = releases["demo-openedx"], releases["demo-services"]
    assert app["lms"]["web"]["uwsgiWorkers"] == 4
    assert app["lms"]["web"]["autoscaling"] == {"enabled": True, "minReplicas": 3, "maxReplicas": 20}
    assert app["lms"]["web"]["resources"] == {"requests": {"cpu": "1", "memory": "3Gi"},
                                              "limits": {"cpu": "2", "memory": "3Gi"}}
    assert app["lms"]["worker"]["concurrency"] == 2
    assert app["lms"]["highMemWorker"]["enabled"] is True
    assert app["lms"]["highMemWorker"]["concurrency"] == 1
    assert app["lms"]["highMemWorker"]["resources"]["limits"]["memory"] == "6Gi"
    assert "highMemWorker" not in app["cms"]
    assert app["caddy"]["replicaCount"] == 3
    # The instance sizes mongodb's volume itself: the program grows it; the others take the size's at install.
    assert services["mongodb"]["persistence"] == {"size": "80Gi", "expand": True}
    assert services["mysql"]["persistence"] == {"size": "100Gi", "expand": False}
    assert services["redis"]["maxmemory"] == "1536mb" and services["mongodb"]["wiredTigerCacheSizeGB"] == 1.0
    assert services["mysql"]["extraArgs"] == ["--innodb-buffer-pool-size=2048M"]  # half of the 4Gi limit
    patches = {inputs(r)["metadata"]["name"]: inputs(r)["spec"]["resources"]["requests"]["storage"]
               for r in of_type(recording, "kubernetes:core/v1:PersistentVolumeClaimPatch")}
    assert patches == {"data-mongodb-0": "80Gi"}
    for patch in of_type(recording, "kubernetes:core/v1:PersistentVolumeClaimPatch"):
        assert patch.retain_on_delete and inputs(patch)["metadata"]["annotations"] == {"pulumi.com/patchForce": "true"}
        assert any(urn.endswith("demo-services") for urn in patch.depends_on)


def test_the_readme_capacity_tables_are_current() -> None:
    """The README's tables are what `python -m operations.capacity` prints (run it after changing a preset)."""
    import re
    from pathlib import Path

    from operations.capacity import markdown_table, presets_table

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for name, table in (("presets", presets_table()), ("footprint", markdown_table())):
        found = re.search(rf"<!-- capacity:{name} -->\n(.*?)\n<!-- /capacity:{name} -->", readme, re.S)
        assert found and found.group(1) == table, f"README's capacity:{name} table is out of date"


def test_instances_fit_by_the_scarcer_resource() -> None:
    from operations.capacity import fits

    # 6 nodes of 3.5 CPU and 13 GiB for pods: 21 CPUs, 78 GiB.
    assert fits(6, 1000, 2 * 2**30) == 21  # CPU runs out first
    assert fits(6, 500, 10 * 2**30) == 7  # memory runs out first
