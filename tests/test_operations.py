"""The operator commands (`./ops.sh`, the `operations` package): the Job each command runs, built from the command
CronJob the openedx chart really renders and compared with the chart's own init Jobs of the same render; the
stack's outputs; the command line; a run's outcome against a fake cluster."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.openedx import commands
from operations import __main__ as entry
from operations import run
from operations.cli import PASSWORD_KEY, parser, request
from operations.job import build_job, build_secret, run_name, template_name
from operations.stack import Instance, KubeAccess, OperationError, parse_outputs
from tests.charts.chart_render import Render, env_map, main_container, mounts, template, volumes

INSTANCE = "campus"  # the instance of values/openedx-production.yaml
INSTANCE_LABEL = "app.openedx.org/instance"
COMMAND_VALUES = {"commands": {"activeDeadlineSeconds": 900, "ttlSecondsAfterFinished": 600}}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DEMO = Instance("demo", "openedx-demo", "learn.example.com", "studio.learn.example.com")
EVERY_COMMAND = {
    "createuser": commands.create_user("admin", "admin@example.com", superuser=True),
    "importdemocourse": commands.import_demo_course(version="open-release/verawood.1"),
    "settheme": commands.set_theme("indigo", ["learn.example.com"]),
    "reindex": commands.reindex(),
    "manage-lms": commands.manage("lms", ["showmigrations"]),
    "manage-cms": commands.manage("cms", ["showmigrations"]),
}


@pytest.fixture(scope="module")
def rendered() -> Render:
    return template("openedx", ("openedx-production.yaml",), extra=COMMAND_VALUES)


def init_job(render: Render, service: str) -> dict[str, Any]:
    """An init hook Job of the chart that runs in the `service` variant: what a command's pod must match."""
    return next(job for job in render.of_kind("Job") if main_container(job["spec"]["template"]["spec"])["name"]
                == service)


def command_job(render: Render, command: commands.Command, timeout: int | None = None) -> dict[str, Any]:
    cronjob = render.get("CronJob", template_name(command.service))
    return build_job(cronjob, command, run_name(command.name), timeout)


# --- the Job of each command, against the chart's init Jobs ------------------------------------------------------


@pytest.mark.parametrize("case", EVERY_COMMAND)
def test_a_command_runs_in_the_pod_the_init_jobs_run(rendered: Render, case: str) -> None:
    command = EVERY_COMMAND[case]
    job, init = command_job(rendered, command), init_job(rendered, command.service)
    pod, init_pod = job["spec"]["template"]["spec"], init["spec"]["template"]["spec"]
    container, init_container = main_container(pod), main_container(init_pod)
    assert container["image"] == init_container["image"] == "registry.example.com/overhangio/openedx:22.0.3"
    for variable in ("SERVICE_VARIANT", "DJANGO_SETTINGS_MODULE"):
        assert env_map(container)[variable] == env_map(init_container)[variable]
    assert env_map(container)["SERVICE_VARIANT"] == command.service
    # The init Job also mounts its own script; everything else is the same.
    assert mounts(container) == {path: mount for path, mount in mounts(init_container).items()
                                 if path != "/openedx/init-tasks"}
    assert volumes(pod) == {name: volume for name, volume in volumes(init_pod).items() if name != "init-task"}
    assert pod.get("initContainers") == init_pod.get("initContainers")
    assert pod["securityContext"] == init_pod["securityContext"]
    assert container["securityContext"] == init_container["securityContext"]
    assert container["resources"] == init_container["resources"]
    assert pod["serviceAccountName"] == init_pod["serviceAccountName"] == "openedx"
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    # The NetworkPolicies select the instance's pods by this label.
    assert job["spec"]["template"]["metadata"]["labels"][INSTANCE_LABEL] == INSTANCE
    assert job["metadata"]["labels"][INSTANCE_LABEL] == INSTANCE


@pytest.mark.parametrize("case", EVERY_COMMAND)
def test_the_container_runs_the_command_with_its_values(rendered: Render, case: str) -> None:
    command = EVERY_COMMAND[case]
    container = main_container(command_job(rendered, command)["spec"]["template"]["spec"])
    assert container["args"] == list(command.args)
    assert {k: v for k, v in env_map(container).items() if k in command.env} == dict(command.env)


def test_a_job_is_labelled_as_an_operator_command_and_no_longer_as_helms(rendered: Render) -> None:
    job = command_job(rendered, EVERY_COMMAND["reindex"])
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels["app.openedx.org/command"] == "reindex"
        assert labels["app.kubernetes.io/managed-by"] == "ops.sh"
        assert labels["app.kubernetes.io/part-of"] == "openedx"


def test_a_job_never_retries_and_is_deleted_after_the_charts_ttl(rendered: Render) -> None:
    cronjob = rendered.get("CronJob", "openedx-command-lms")
    retrying = json.loads(json.dumps(cronjob))
    retrying["spec"]["jobTemplate"]["spec"]["backoffLimit"] = 3
    job = build_job(retrying, EVERY_COMMAND["manage-lms"], "openedx-manage-20300101000000-abcd")
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] == 600
    assert job["spec"]["activeDeadlineSeconds"] == 900


def test_timeout_replaces_the_charts_deadline(rendered: Render) -> None:
    job = command_job(rendered, EVERY_COMMAND["reindex"], timeout=120)
    assert job["spec"]["activeDeadlineSeconds"] == 120


def test_building_a_job_leaves_the_template_as_it_was(rendered: Render) -> None:
    cronjob = rendered.get("CronJob", "openedx-command-lms")
    before = json.dumps(cronjob, sort_keys=True)
    build_job(cronjob, EVERY_COMMAND["createuser"], "openedx-createuser-20300101000000-abcd", 5)
    assert json.dumps(cronjob, sort_keys=True) == before


def test_run_names_are_unique_dns_labels_with_the_utc_time() -> None:
    longest = max(EVERY_COMMAND.values(), key=lambda command: len(command.name))
    before = datetime.now(UTC).replace(microsecond=0)
    names = {run_name(longest.name) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert DNS_LABEL.match(name) and len(name) <= 63, name
        found = re.fullmatch(rf"openedx-{longest.name}-(\d{{14}})-[a-z0-9]{{4}}", name)
        assert found, name
        stamp = datetime.strptime(found.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        assert before <= stamp <= datetime.now(UTC) + timedelta(seconds=1)


# --- createuser: the password only in the run's Secret ---------------------------------------------------------


def create_user_run(rendered: Render, *extra: str) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """The Job, Secret, password and success message of `createuser admin admin@example.com --superuser`."""
    args = parser().parse_args(["prod", "campus", "createuser", "admin", "admin@example.com", "--superuser", *extra])
    wanted = request(args, DEMO)
    job = requested_job(rendered, wanted)
    return job, build_secret(job, wanted.secret), wanted.secret[PASSWORD_KEY], wanted.on_success


def test_the_generated_password_is_only_in_the_runs_secret(rendered: Render) -> None:
    job, secret, password, on_success = create_user_run(rendered)
    assert re.fullmatch(r"[A-Za-z0-9]{24}", password)
    assert password not in json.dumps(job)
    assert secret["metadata"]["name"] == job["metadata"]["name"]
    assert secret["metadata"]["labels"] == job["metadata"]["labels"]
    assert secret["type"] == "Opaque"
    assert list(secret["stringData"].values()) == [password]
    env = env_map(main_container(job["spec"]["template"]["spec"]))
    key = env["OPENEDX_USER_PASSWORD"]["secretKeyRef"]
    assert key["name"] == secret["metadata"]["name"] and secret["stringData"][key["key"]] == password
    assert on_success == f"password of admin: {password}"


def test_each_run_generates_another_password(rendered: Render) -> None:
    assert create_user_run(rendered)[2] != create_user_run(rendered)[2]


def test_a_prompted_password_is_asked_twice_and_never_printed(rendered: Render, monkeypatch) -> None:
    answers = iter(["s3cret-Passw0rd", "s3cret-Passw0rd"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    job, secret, password, on_success = create_user_run(rendered, "--prompt-password")
    assert password == "s3cret-Passw0rd" and password not in json.dumps(job)
    assert list(secret["stringData"].values()) == [password]
    assert on_success == ""


def test_prompted_passwords_that_differ_are_refused(monkeypatch) -> None:
    answers = iter(["one-password", "another-one"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    args = parser().parse_args(["prod", "demo", "createuser", "admin", "admin@example.com", "--prompt-password"])
    with pytest.raises(OperationError, match="differ"):
        request(args, DEMO)


def requested_job(render: Render, wanted: Any) -> dict[str, Any]:
    """The Job of a parsed command line, from the CronJob the chart renders."""
    return wanted.job(render.get("CronJob", wanted.template), run_name(wanted.name), None)


def test_settheme_defaults_to_the_instances_lms_and_studio_hosts(rendered: Render) -> None:
    def domains(*argv: str) -> str:
        job = requested_job(rendered, request(parser().parse_args(["prod", "demo", "settheme", *argv]), DEMO))
        return str(env_map(main_container(job["spec"]["template"]["spec"]))["OPENEDX_DOMAINS"])

    assert domains("indigo") == "learn.example.com studio.learn.example.com"
    assert domains("indigo", "--domain", "a.org", "--domain", "b.org") == "a.org b.org"


def test_manage_passes_its_arguments_as_they_are(rendered: Render) -> None:
    args = parser().parse_args(["prod", "demo", "manage", "cms", "showmigrations", "--list", "courseware"])
    wanted = request(args, DEMO)
    container = main_container(requested_job(rendered, wanted)["spec"]["template"]["spec"])
    assert wanted.template == "openedx-command-cms"
    assert container["args"] == ["./manage.py", "cms", "showmigrations", "--list", "courseware"]


# --- the command line --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    [],
    ["prod", "demo"],
    ["prod", "demo", "nosuchcommand"],
    ["prod", "demo", "createuser", "admin"],
    ["prod", "demo", "manage", "php", "showmigrations"],
    ["prod", "demo", "reindex", "--timeout", "0"],
    ["prod", "demo", "reindex", "--timeout", "an hour"],
])
def test_bad_arguments_exit_2_with_the_usage(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        entry.main(argv)
    assert exited.value.code == 2
    assert "usage: ops.sh" in capsys.readouterr().err


OUTPUTS = {
    "instances": {
        "demo": {"namespace": "openedx-demo", "lmsUrl": "https://demo.example.org",
                 "studioUrl": "https://studio.demo.example.org"},
        "sandbox": {"namespace": "openedx-sandbox", "lmsUrl": "http://sandbox.example.org",
                    "studioUrl": "http://studio.sandbox.example.org"},
    },
}


@pytest.fixture
def fake_pulumi(tmp_path: Path, monkeypatch) -> Path:
    """A `pulumi` first on PATH that prints `stack-output.json` (or fails as the real one does for an unknown
    stack), and records its arguments."""
    script = tmp_path / "pulumi"
    script.write_text(f"""#!/bin/sh
echo "$@" > {tmp_path}/arguments
[ -f {tmp_path}/stack-output.json ] || {{ echo "error: no stack named 'prod' found" >&2; exit 255; }}
cat {tmp_path}/stack-output.json
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(entry, "connect", lambda access: pytest.fail("the cluster was contacted"))
    return tmp_path


def test_an_unknown_instance_is_refused_with_the_known_ones(fake_pulumi: Path, capsys) -> None:
    (fake_pulumi / "stack-output.json").write_text(json.dumps(OUTPUTS))
    assert entry.main(["prod", "nosuch", "reindex"]) == 2
    error = capsys.readouterr().err
    assert "nosuch" in error and "demo, sandbox" in error
    assert (fake_pulumi / "arguments").read_text().split() == ["stack", "output", "--json", "--stack", "prod"]


def test_a_stack_pulumi_cannot_read_is_one_line_and_exit_2(fake_pulumi: Path, capsys) -> None:
    assert entry.main(["prod", "demo", "reindex"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no stack named 'prod' found" in error


def test_a_stack_never_deployed_is_refused(fake_pulumi: Path, capsys) -> None:
    (fake_pulumi / "stack-output.json").write_text("{}")
    assert entry.main(["prod", "demo", "reindex"]) == 2
    assert "./deploy.sh prod" in capsys.readouterr().err


def test_a_refused_value_exits_2_before_the_cluster_is_contacted(fake_pulumi: Path, capsys) -> None:
    (fake_pulumi / "stack-output.json").write_text(json.dumps(OUTPUTS))
    assert entry.main(["prod", "demo", "createuser", "admin", "not-an-address"]) == 2
    assert "'not-an-address' is not an e-mail address" in capsys.readouterr().err


def kubeconfig(*servers: str) -> dict[str, Any]:
    """A kubeconfig with a context per server (`c0`, `c1`, ...), the first one current."""
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "c0",
        "clusters": [{"name": f"k{i}", "cluster": {"server": server}} for i, server in enumerate(servers)],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": f"c{i}", "context": {"cluster": f"k{i}", "user": "u"}} for i in range(len(servers))],
    }


def test_a_kubeconfig_output_is_used_with_its_context() -> None:
    outputs = parse_outputs("prod", {**OUTPUTS, "kubernetes": {
        "kubeconfig": yaml.safe_dump(kubeconfig("https://a.example:6443", "https://b.example:6443")),
        "kubeconfigPath": "", "context": "c1"}})
    assert outputs.access.context == "c1"
    assert entry.connect(outputs.access).configuration.host == "https://b.example:6443"


def test_a_kubeconfig_path_output_is_used(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kubeconfig("https://path.example:6443")))
    outputs = parse_outputs("prod", {**OUTPUTS, "kubernetes": {"kubeconfig": "", "kubeconfigPath": str(path),
                                                                "context": ""}})
    assert outputs.access == KubeAccess(path=str(path))
    assert entry.connect(outputs.access).configuration.host == "https://path.example:6443"


def test_without_the_kubernetes_output_the_default_kubeconfig_is_used(tmp_path: Path, monkeypatch) -> None:
    """A stack deployed before the output existed: $KUBECONFIG and its current context, as kubectl would."""
    path = tmp_path / "default"
    path.write_text(yaml.safe_dump(kubeconfig("https://default.example:6443", "https://other.example:6443")))
    monkeypatch.setenv("KUBECONFIG", str(path))
    outputs = parse_outputs("prod", OUTPUTS)
    assert outputs.access == KubeAccess()
    assert entry.connect(outputs.access).configuration.host == "https://default.example:6443"


def test_instances_come_with_their_namespace_and_hosts() -> None:
    assert parse_outputs("prod", OUTPUTS).instance("sandbox") == Instance(
        "sandbox", "openedx-sandbox", "sandbox.example.org", "studio.sandbox.example.org")


# --- a run, against a fake cluster -------------------------------------------------------------------------------

COMPLETE = [{"type": "Complete", "status": "True"}]
FAILED = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
           "message": "Job has reached the specified backoff limit"}]


class FakeCluster:
    """Answers a run's calls from scripted timelines (each call takes the next entry; the last one stays)."""

    def __init__(self, phases: list[dict[str, str]], conditions: list[list[dict[str, str]]],
                 logs: dict[str, list[bytes]] | None = None, fail_job_creation: bool = False) -> None:
        self.phases, self.condition_timeline, self.log_chunks = phases, conditions, logs
        self.fail_job_creation = fail_job_creation
        self.created: list[dict[str, Any]] = []
        self.owners: dict[str, dict[str, Any]] = {}
        self.deleted: list[tuple[str, str]] = []
        self.log_reads: list[str] = []

    @staticmethod
    def _next(timeline: list[Any]) -> Any:
        return timeline.pop(0) if len(timeline) > 1 else timeline[0]

    def create(self, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
        if manifest["kind"] == "Job" and self.fail_job_creation:
            raise RuntimeError("jobs.batch is forbidden")
        self.created.append(manifest)
        return {**manifest, "metadata": {**manifest["metadata"], "uid": f"uid-of-{manifest['metadata']['name']}"}}

    def set_owner(self, namespace: str, secret: str, owner: dict[str, Any]) -> None:
        self.owners[secret] = owner

    def delete(self, namespace: str, kind: str, name: str) -> None:
        self.deleted.append((kind, name))

    def pod_phases(self, namespace: str, job: str) -> dict[str, str]:
        return dict(self._next(self.phases))

    def logs(self, namespace: str, pod: str, container: str, timeout_s: float) -> Iterator[bytes]:
        """The scripted output of each container (by name; none for the others)."""
        self.log_reads.append(container)
        if self.log_chunks is None:
            raise run.LogsUnavailable("the node has no kubelet")
        yield from self.log_chunks.get(container, [])

    def conditions(self, namespace: str, job: str) -> list[dict[str, str]]:
        return list(self._next(self.condition_timeline))


@pytest.fixture
def user_run(rendered: Render) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    return create_user_run(rendered)


def test_a_completed_job_exits_0_after_streaming_its_output_and_prints_the_password_once(user_run, capsys) -> None:
    job, secret, password, on_success = user_run
    cluster = FakeCluster([{}, {"p": "Pending"}, {"p": "Running"}], [[], [], [], COMPLETE],
                          logs={"lms": [b"password set for ", b"admin\n"]})
    assert run.execute(cluster, "openedx-demo", job, secret, on_success, poll_s=0) == 0
    out = capsys.readouterr().out
    assert out == f"password set for admin\npassword of admin: {password}\n"
    assert cluster.log_reads == ["media-dirs", "lms"]  # each container of the pod, in the order they run
    assert [m["kind"] for m in cluster.created] == ["Secret", "Job"]  # the Secret first: the pod reads it
    assert cluster.owners == {secret["metadata"]["name"]: {
        "apiVersion": "batch/v1", "kind": "Job", "name": job["metadata"]["name"],
        "uid": f"uid-of-{job['metadata']['name']}"}}
    assert cluster.deleted == []


def test_a_failed_job_exits_1_with_its_reason_and_prints_no_password(user_run, capsys) -> None:
    job, secret, password, on_success = user_run
    cluster = FakeCluster([{"p": "Failed"}], [FAILED], logs={"lms": [b"CommandError: boom\n"]})
    assert run.execute(cluster, "openedx-demo", job, secret, on_success, poll_s=0) == 1
    captured = capsys.readouterr()
    assert password not in captured.out + captured.err
    assert "BackoffLimitExceeded: Job has reached the specified backoff limit" in captured.err
    assert captured.out == "CommandError: boom\n"


def test_unreadable_logs_are_said_once_and_the_result_still_awaited(rendered: Render, capsys) -> None:
    job = command_job(rendered, EVERY_COMMAND["reindex"])
    cluster = FakeCluster([{"p": "Running"}], [[], [], [], COMPLETE], logs=None)
    assert run.execute(cluster, "openedx-demo", job, None, poll_s=0) == 0
    assert capsys.readouterr().err.count("cannot be read") == 1
    assert cluster.log_reads == ["media-dirs"]  # not tried again for the next container


def test_a_job_that_outlives_the_local_wait_exits_1(rendered: Render, capsys, monkeypatch) -> None:
    monkeypatch.setattr(run, "DEADLINE_MARGIN_S", 0)
    job = command_job(rendered, EVERY_COMMAND["reindex"], timeout=1)
    job["spec"]["activeDeadlineSeconds"] = 0  # the local wait ends at once
    cluster = FakeCluster([{"p": "Running"}], [[]], logs={})
    assert run.execute(cluster, "openedx-demo", job, None, poll_s=0) == 1
    assert "has not finished" in capsys.readouterr().err


def test_an_interrupted_run_deletes_its_job(rendered: Render) -> None:
    job = command_job(rendered, EVERY_COMMAND["reindex"])

    class Interrupted(FakeCluster):
        def conditions(self, namespace: str, job: str) -> list[dict[str, str]]:
            raise KeyboardInterrupt

    cluster = Interrupted([{}], [[]])
    assert run.execute(cluster, "openedx-demo", job, None, poll_s=0) == 130
    assert cluster.deleted == [("Job", job["metadata"]["name"])]


def test_a_job_that_cannot_be_created_takes_its_secret_with_it(user_run) -> None:
    job, secret, _, on_success = user_run
    cluster = FakeCluster([{}], [[]], fail_job_creation=True)
    with pytest.raises(RuntimeError, match="forbidden"):
        run.execute(cluster, "openedx-demo", job, secret, on_success, poll_s=0)
    assert cluster.deleted == [("Secret", secret["metadata"]["name"])]
