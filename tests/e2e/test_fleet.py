"""The fleet layout for real: a platform stack, instance stacks rolled out by `./fleet.sh up` two at a time (one
of them failing without stopping the others), `./fleet.sh status`, an instance moved out of the platform stack
into a stack of its own without a change to what it runs, and the removal of one instance stack.

The stack files are written into stacks/ for the run (as an operator's are) and removed after it. Expectations
come from the cluster and the Pulumi CLI, never from the program.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.charts import PROJECT_DIR
from tests.e2e.conftest import SETTINGS_LABEL, Cluster, Completed

PLATFORM = "e2e-fleet-platform"
PREFIX = "e2e-fleet-"
# The image tag the kit's KWOK fails every init Job pod of (tests/e2e/kwok-init-exits-1.yaml).
FAILING_TAG = "e2e-init-exits-1"
INSTANCES = {"alpha": {}, "beta": {}, "gamma": {"images": {"openedx": {"repository": "overhangio/openedx",
                                                                       "tag": FAILING_TAG}}}}
MOVED = "moved"


def instance(name: str, **settings: Any) -> dict[str, Any]:
    return {"name": name, "lmsHost": f"{name}.fleet.e2e.openedx.test", **settings}


def stack_file(stack: str) -> Path:
    return PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml"


def write_stack(stack: str, config: dict[str, Any]) -> None:
    stack_file(stack).write_text(yaml.safe_dump({"config": config}, sort_keys=False))


# The kit's cluster has no ingress controller, cert-manager or metrics-server (their charts come from remote
# repositories, which the test cannot reach).
PLATFORM_CONFIG = {
    "openedx:layout": "platform",
    "openedx:platform": {"ingress": {"install": False}, "tls": {"issuer": "none"}, "metricsServer": False},
    "openedx:instances": [instance(MOVED)],
}


def instance_config(name: str) -> dict[str, Any]:
    return {"openedx:layout": "instances", "openedx:platformStack": PLATFORM,
            "openedx:instances": [instance(name, **INSTANCES.get(name, {}))]}


class Fleet:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.file = cluster.directory / "fleet.yaml"
        self.file.write_text(yaml.safe_dump({"platform": PLATFORM, "concurrency": 2}))

    def run(self, *args: str) -> Completed:
        return self.cluster.run("./fleet.sh", args[0], str(self.file), *args[1:])

    def pulumi(self, stack: str, *args: str) -> Completed:
        return self.cluster.run("pulumi", *args, "--stack", stack, "--non-interactive")

    def releases(self, namespace: str, revision: bool = False) -> dict[str, Any]:
        """Each Helm Release of the namespace and the status of its newest revision (or that revision)."""
        latest: dict[str, tuple[int, str]] = {}
        for secret in self.cluster.items("secrets", namespace, "owner=helm"):
            labels = secret["metadata"]["labels"]
            latest[labels["name"]] = max(latest.get(labels["name"], (0, "")), (int(labels["version"]),
                                                                              labels["status"]))
        return {name: number if revision else status for name, (number, status) in latest.items()}


@pytest.fixture(scope="module")
def fleet(cluster: Cluster) -> Iterator[Fleet]:
    written = [PLATFORM, *(PREFIX + name for name in INSTANCES)]
    write_stack(PLATFORM, PLATFORM_CONFIG)
    for name in INSTANCES:
        write_stack(PREFIX + name, instance_config(name))
    try:
        yield Fleet(cluster)
    finally:
        for stack in [*written, PREFIX + MOVED]:
            stack_file(stack).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def platform_up(fleet: Fleet) -> Completed:
    done = fleet.cluster.run("./deploy.sh", PLATFORM, "--yes")
    fleet.cluster.durations["fleet platform up"] = done.seconds
    return done


@pytest.fixture(scope="module")
def fleet_up(fleet: Fleet, platform_up: Completed) -> Completed:
    assert platform_up.returncode == 0, str(platform_up)
    done = fleet.run("up", "--concurrency", "2")
    fleet.cluster.durations["fleet up"] = done.seconds
    return done


def test_the_platform_stack_deploys_and_exports_the_platform(fleet: Fleet, platform_up: Completed) -> None:
    assert platform_up.returncode == 0, str(platform_up)
    done = fleet.pulumi(PLATFORM, "stack", "output", "platform", "--json")
    assert done.returncode == 0, str(done)
    platform = json.loads(done.output)
    assert platform["cloud"] == "local" and platform["routing"]["ingressClass"] == "traefik", platform
    assert fleet.releases(f"openedx-{MOVED}") == {"openedx-namespace": "deployed", "openedx-services": "deployed",
                                                  "openedx": "deployed"}


def test_a_failing_instance_stack_does_not_stop_the_others(fleet: Fleet, fleet_up: Completed) -> None:
    assert fleet_up.returncode == 1, fleet_up
    for name in ("alpha", "beta"):
        assert fleet.releases(f"openedx-{name}") == {
            "openedx-namespace": "deployed", "openedx-services": "deployed", "openedx": "deployed"}, name
    # gamma's migrations failed: its application Release was rolled back (atomic), the rest of it deployed.
    assert fleet.releases("openedx-gamma").get("openedx") != "deployed"
    summary = fleet_up.output[fleet_up.output.rindex(PREFIX + "alpha") - 200:]
    assert re.search(rf"{PREFIX}gamma\b.*failed", summary), fleet_up
    assert re.search(rf"{PREFIX}alpha\b.*succeeded", summary), fleet_up


def test_at_most_two_stacks_update_at_once(fleet: Fleet, fleet_up: Completed) -> None:
    """The driver's log says when each stack starts and ends: never more than two at once, and two at some point."""
    running: set[str] = set()
    most = 0
    for line in fleet_up.output.splitlines():
        # Each line starts with the time since the run started, `[  1:02] `.
        if started := re.search(rf"\] ({PREFIX}\w+): started\b", line):
            running.add(started.group(1))
            most = max(most, len(running))
        elif ended := re.search(rf"\] ({PREFIX}\w+): (succeeded|failed)(:|$)", line):
            running.discard(ended.group(1))
    assert most == 2, fleet_up


def test_fleet_status_lists_every_instance_stack(fleet: Fleet, fleet_up: Completed) -> None:
    done = fleet.run("status")
    assert done.returncode == 0, str(done)
    rows = {line.split()[0].strip("│|"): line for line in done.output.splitlines() if PREFIX in line}
    rows = {stack: line for stack, line in rows.items() if stack.startswith(PREFIX)}
    assert set(rows) == {PREFIX + name for name in INSTANCES}, done
    assert "alpha.fleet.e2e.openedx.test" in rows[PREFIX + "alpha"] and "succeeded" in rows[PREFIX + "alpha"], done
    assert "failed" in rows[PREFIX + "gamma"], done
    assert "overhangio/openedx:22" in rows[PREFIX + "beta"], done


def test_ctrl_c_cancels_the_running_updates_and_leaves_no_stack_locked(fleet: Fleet, fleet_up: Completed) -> None:
    """An interrupt (Ctrl-C: SIGINT to fleet.sh's process group) while alpha's update runs: the driver exits
    130, alpha's update is cancelled, no lock is left behind, and the next `fleet.sh up` deploys the change."""
    write_stack(PREFIX + "alpha", {**instance_config("alpha"), "openedx:instances": [
        instance("alpha", platformName="Alpha, interrupted")]})
    with subprocess.Popen(["./fleet.sh", "up", str(fleet.file)], cwd=PROJECT_DIR, env=fleet.cluster.env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True) as driver:
        assert driver.stdout is not None
        lines: list[str] = []
        updating = False
        for line in driver.stdout:
            lines.append(line)
            # Once its update has changed a first resource (a new settings Secret), while its Release upgrades.
            if re.search(rf"\] {PREFIX}alpha: updating$", line):
                updating = True
            elif updating and re.search(rf"\] {PREFIX}alpha: (?!warning)", line):
                os.killpg(driver.pid, signal.SIGINT)  # a terminal's Ctrl-C: fleet.sh and the driver it runs
                break
        else:
            pytest.fail("alpha's update never started:\n" + "".join(lines))
        output, _ = driver.communicate(timeout=300)
    output = "".join(lines) + output
    assert driver.returncode == 130, output
    assert re.search(rf"\] {PREFIX}alpha: cancelled", output), output
    backend = Path(fleet.cluster.env["PULUMI_BACKEND_URL"].removeprefix("file://"))
    assert not [lock for lock in (backend / ".pulumi" / "locks").rglob("*.json")], output
    done = fleet.run("up")
    assert re.search(rf"\] {PREFIX}alpha: succeeded", done.output), done
    settings = fleet.cluster.items("secrets", "openedx-alpha", SETTINGS_LABEL)
    assert any("Alpha, interrupted" in base64.b64decode(data).decode(errors="replace")
               for secret in settings for data in secret["data"].values()), "the change was not deployed"


def test_an_instance_moves_out_of_the_platform_stack_unchanged(fleet: Fleet, fleet_up: Completed) -> None:
    """As the README says: its own stack file, `pulumi state move` of the instance's component (its children and
    provider follow), then neither stack has anything to change, and its objects are the same ones."""
    moved = PREFIX + MOVED
    namespace_uid = fleet.cluster.kubectl("get", "namespace", f"openedx-{MOVED}")["metadata"]["uid"]
    write_stack(moved, instance_config(MOVED))
    platform = {**PLATFORM_CONFIG, "openedx:instances": []}
    write_stack(PLATFORM, platform)
    for args in (("stack", "init", moved), ("stack", "select", PLATFORM)):
        done = fleet.cluster.run("pulumi", *args, "--non-interactive")
        assert done.returncode == 0, str(done)
    urn = f"urn:pulumi:{PLATFORM}::openedx::openedx:index:Instance::{MOVED}"
    done = fleet.cluster.run("pulumi", "state", "move", "--source", PLATFORM, "--dest", moved, "--yes", urn,
                             "--non-interactive")
    assert done.returncode == 0, str(done)
    revisions = fleet.releases(f"openedx-{MOVED}", revision=True)
    # The instance stack's first preview: its adapter component is new (a grouping of its own, nothing on the
    # cluster); the moved resources and their provider are the same.
    done = fleet.pulumi(moved, "preview", "--json")
    assert done.returncode == 0, str(done)
    preview, _ = json.JSONDecoder().raw_decode(done.output[done.output.index("{"):])  # warnings may follow
    assert {(step["op"], step["urn"].rsplit("::", 2)[1].rsplit("$", 1)[-1]) for step in preview["steps"]} == {
        ("same", "pulumi:pulumi:Stack"), ("read", "pulumi:pulumi:StackReference"),
        ("create", "openedx:clouds:LocalCluster")}, preview["steps"]
    assert set(preview["changeSummary"]) == {"create", "same"}, preview["changeSummary"]
    done = fleet.pulumi(moved, "up", "--yes")
    assert done.returncode == 0, str(done)
    for stack in (moved, PLATFORM):
        done = fleet.pulumi(stack, "preview", "--expect-no-changes")
        assert done.returncode == 0, str(done)
    assert fleet.cluster.kubectl("get", "namespace", f"openedx-{MOVED}")["metadata"]["uid"] == namespace_uid
    assert fleet.releases(f"openedx-{MOVED}", revision=True) == revisions  # no Release was upgraded


def test_removing_an_instance_stack_removes_only_its_instance(fleet: Fleet, fleet_up: Completed) -> None:
    done = fleet.run("remove", PREFIX + "beta", "--yes")
    assert done.returncode == 0, str(done)
    namespaces = {n["metadata"]["name"] for n in fleet.cluster.items("namespaces")}
    assert "openedx-beta" not in namespaces
    assert {"openedx-alpha", "openedx-gamma"} <= namespaces
    listed = fleet.cluster.run("pulumi", "stack", "ls", "--json", "--non-interactive")
    assert PREFIX + "beta" not in {s["name"] for s in json.loads(listed.output)}, listed
