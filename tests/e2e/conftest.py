"""The end-to-end test's cluster and commands: a fresh KWOK cluster from `kit.sh up`, the real Pulumi CLI.

Everything is read back from the cluster itself (`kubectl … -o json`). When a test fails, its report gets the
state an operator would look at: Helm Release status, Jobs and pods with their conditions, and the events (no
`kubectl logs`: the simulated pods run no containers).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import kit

PROJECT_DIR = Path(__file__).resolve().parents[2]
STACK = "e2e"
# What the tests look for on the cluster, named here once (independently of the program's own constants).
SETTINGS_LABEL = "app.openedx.org/settings=true"
SERVICES_CREDENTIALS = "openedx-services-credentials"
# Seconds a command may take: everything here takes seconds, but a Release that never becomes ready makes Helm
# wait for its whole timeout (an hour for the application), so a stuck run is stopped and reported instead.
COMMAND_TIMEOUT = int(os.environ.get("OPENEDX_E2E_TIMEOUT", "600"))
DURATIONS: dict[str, float] = {}  # what the steps took, printed at the end of the run
KEPT: list[Path] = []  # clusters left running (OPENEDX_E2E_KEEP=1)
CONDITIONS = ("custom-columns=KIND:.kind,NAMESPACE:.metadata.namespace,NAME:.metadata.name,"
              "CONDITIONS:.status.conditions[*].type,REASONS:.status.conditions[*].reason")


def timestamp(value: str) -> datetime:
    """A Kubernetes or Helm time stamp."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Completed:
    command: str
    returncode: int
    output: str
    seconds: float

    def __str__(self) -> str:
        """What a failed assertion shows: the command, its exit code and the end of its output."""
        return f"{self.command} exited {self.returncode}:\n{self.output[-30000:]}"


def scheduled(item: dict[str, Any], scheduled_jobs: set[str]) -> bool:
    """A Job a CronJob started on its schedule, or a pod of one: the cluster's own life, not a deploy's doing
    (Open edX's daily commands fire whenever the clock says, during a test too)."""
    owners = {owner["kind"] for owner in item["metadata"].get("ownerReferences", [])}
    return "CronJob" in owners or item["metadata"].get("labels", {}).get("job-name") in scheduled_jobs


@dataclass
class Cluster:
    directory: Path
    env: dict[str, str]
    durations: dict[str, float]
    """What the steps took (a test module imports this file anew: it reaches the summary's dict through here)."""

    def run(self, *args: str, timeout: int = COMMAND_TIMEOUT, stdin: str | None = None,
            cwd: Path = PROJECT_DIR) -> Completed:
        """A command in the project directory (or `cwd`), with the kit's environment; output kept for the report."""
        started = time.monotonic()
        with subprocess.Popen(args, cwd=cwd, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True) as process:
            try:
                output, _ = process.communicate(stdin, timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the command and what it started (pulumi, its plugins)
                output = f"{process.communicate()[0]}\n[stopped after {timeout} s]"
        return Completed(shlex.join(args), process.returncode, output, time.monotonic() - started)

    def pulumi(self, *args: str) -> Completed:
        return self.run("pulumi", *args, "--stack", STACK, "--non-interactive")

    def kubectl(self, *args: str) -> Any:
        """`kubectl … -o json`, parsed."""
        done = self.run("kubectl", *args, "-o", "json", timeout=60)
        assert done.returncode == 0, f"{done.command}:\n{done.output}"
        return json.loads(done.output)

    def items(self, kind: str, namespace: str | None = None, selector: str | None = None) -> list[dict[str, Any]]:
        scope = ["-n", namespace] if namespace else ["-A"]
        return list(self.kubectl("get", kind, *scope, *(["-l", selector] if selector else []))["items"])

    def state(self) -> str:
        """What an operator reads when something failed."""
        sections = []
        for title, args in [
            ("Helm Releases", ["get", "secrets", "-A", "-l", "owner=helm", "-L", "name,status,version"]),
            ("Jobs", ["get", "jobs", "-A", "-o", "wide"]),
            ("Pods", ["get", "pods", "-A", "-o", "wide"]),
            ("Workloads", ["get", "deployments,statefulsets,pvc", "-A"]),
            ("Job and pod conditions", ["get", "jobs,pods", "-A", "-o", CONDITIONS]),
            ("Events", ["get", "events", "-A", "--sort-by=.lastTimestamp"]),
        ]:
            done = self.run("kubectl", *args, timeout=60)
            sections.append(f"--- {title}: kubectl {shlex.join(args)}\n{done.output}")
        return "\n".join(sections)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    directory = Path(tempfile.mkdtemp(prefix="openedx-e2e-"))
    started = time.monotonic()
    try:
        env = kit.up(directory)
    except kit.KitError as error:
        pytest.fail(str(error), pytrace=False)
    DURATIONS["cluster up"] = time.monotonic() - started
    try:
        yield Cluster(directory, env, DURATIONS)
    finally:
        if os.environ.get("OPENEDX_E2E_KEEP"):
            KEPT.append(directory)
        else:
            kit.down(directory)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if DURATIONS:
        terminalreporter.write_line("e2e durations: " + ", ".join(f"{k} {v:.1f}s" for k, v in DURATIONS.items()))
    for directory in KEPT:
        terminalreporter.write_line(f'e2e cluster kept: eval "$(cat {directory}/env)"; kit.sh down {directory}')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when == "call" and "cluster" in getattr(item, "funcargs", {}):
        report.sections.append(("cluster state", item.funcargs["cluster"].state()))
