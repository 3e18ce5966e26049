"""The joins between the program's parts, each checked against an expectation of its own: Tutor's own task list,
the Secret's own content, the provisioning Job's own user, the rendered NetworkPolicies, a secret the render
generated. A unit can be right and the join wrong; these fail then."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.evaluation import PROJECT_DIR
from offline.recording import Recording
from offline.render import main as render_main
from tests.conftest import STACKS, ExampleStacks, inputs, named, of_type

SECRET = "kubernetes:core/v1:Secret"
RELEASE = "kubernetes:helm.sh/v3:Release"
LOCAL = PROJECT_DIR / "stacks" / "Pulumi.local.yaml"
MANAGED_MYSQL = [
    PROJECT_DIR / "stacks" / f"Pulumi.{cloud}-{environment}.yaml"
    for cloud in ("aws", "gcp", "azure")
    for environment in ("dev", "production")
]


def settings_of(recording: Recording, instance: str) -> dict[str, str]:
    data: dict[str, str] = inputs(named(recording, SECRET, f"{instance}-settings"))["stringData"]
    return data


def instance_names(recording: Recording) -> list[str]:
    return sorted(r.name for r in of_type(recording, "openedx:index:Instance"))


# --- init tasks: the program hands the chart Tutor's order ------------------------------------------------------

TUTOR_TASKS = textwrap.dedent("""\
    import json, sys
    from tutor import hooks, plugins
    import tutor.commands.jobs  # registers the core init tasks
    hooks.Actions.CORE_READY.do()
    plugins.load_all(sys.argv[1:])
    print(json.dumps(list(hooks.Filters.CLI_DO_INIT_TASKS.iterate())))
""")


def tutors_tasks(plugins: list[str], tmp_path: Path) -> list[tuple[str, str]]:
    """Tutor's own init tasks for these plugins, in its order, from a Tutor process of their own."""
    env = {"PATH": "/usr/bin:/bin", "TUTOR_ROOT": str(tmp_path), "TUTOR_PLUGINS_ROOT": str(tmp_path / "none")}
    out = subprocess.run(
        [sys.executable, "-c", TUTOR_TASKS, *plugins], env=env, capture_output=True, text=True, check=True
    ).stdout
    return [(service, script) for service, script in json.loads(out)]


def static_lines(template: str) -> list[str]:
    """The lines of a task template that every rendering keeps: outside Jinja blocks, without expressions."""
    lines, depth = [], 0
    for line in template.splitlines():
        depth += len(re.findall(r"{%-?\s*(?:if|for)\b", line)) - len(re.findall(r"{%-?\s*end(?:if|for)\b", line))
        text = line.strip()
        if depth == 0 and text and "{" not in text and "}" not in text and not text.startswith("#"):
            lines.append(text)
    return lines


def test_the_chart_gets_the_init_tasks_in_tutors_order(example_stacks: ExampleStacks, tmp_path: Path) -> None:
    """The application Release's `init.tasks` (whose index is the hook weight) name, in order, the scripts of
    Tutor's own list for the instance's plugins, Tutor's MySQL task left out (each instance's database is
    provisioned instead), then the Site task the program adds."""
    recording = example_stacks[LOCAL].recording
    for instance in instance_names(recording):
        values = inputs(named(recording, RELEASE, f"{instance}-openedx"))["values"]
        settings = settings_of(recording, instance)
        tasks = [(task["service"], settings[task["key"]]) for task in values["init"]["tasks"]]
        plugins = sorted(_plugins_of(LOCAL, instance))
        expected = [(service, template) for service, template in tutors_tasks(plugins, tmp_path) if service != "mysql"]
        assert [service for service, _ in tasks] == [service for service, _ in expected] + ["lms"], instance
        for (service, script), (_, template) in zip(tasks, expected, strict=False):
            missing = [line for line in static_lines(template) if line not in script]
            assert not missing, f"{instance}: a {service} task lacks Tutor's lines {missing[:3]}"
        assert "django.contrib.sites" in tasks[-1][1]


def _plugins_of(stack_file: Path, instance: str) -> list[str]:
    """The instance's plugins as the stack file gives them (the program's default otherwise: forum and mfe)."""
    for item in yaml.safe_load(stack_file.read_text())["config"]["openedx:instances"]:
        if item["name"] == instance:
            return list(item.get("plugins", ["forum", "mfe"]))
    raise KeyError(instance)


# --- the settings Secret: named by its content --------------------------------------------------------------------


def test_the_settings_secret_name_changes_when_and_only_when_its_content_does(evaluate_stack) -> None:
    base = {"openedx:platform": {"tls": {"issuer": "none"}}}
    instance = {"name": "demo", "lmsHost": "demo.example.com"}

    def settings_secret(**changes: Any) -> tuple[str, dict[str, str]]:
        recording = evaluate_stack(config={**base, "openedx:instances": [{**instance, **changes}]})
        secret = inputs(named(recording, SECRET, "demo-settings"))
        return secret["metadata"]["name"], secret["stringData"]

    def content_name(data: dict[str, str]) -> str:
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return f"openedx-settings-{hashlib.sha256(canonical.encode()).hexdigest()[:10]}"

    name, data = settings_secret()
    assert name == content_name(data)
    rescaled_name, rescaled = settings_secret(workloads={"lms": {"minReplicas": 3, "maxReplicas": 5}})
    assert (rescaled, rescaled_name) == (data, name)  # the settings did not change: neither did the name
    renamed_name, renamed = settings_secret(platformName="Another University")
    assert renamed != data and renamed_name == content_name(renamed) != name


# --- managed MySQL: each instance connects as its own user ---------------------------------------------------------


def env_of(job: dict[str, Any]) -> dict[str, Any]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item for item in container["env"]}


def secret_value(recording: Recording, name: str, key: str) -> str:
    (secret,) = [s for s in of_type(recording, SECRET) if inputs(s)["metadata"]["name"] == name]
    value: str = inputs(secret)["stringData"][key]
    return value


@pytest.mark.parametrize("stack_file", MANAGED_MYSQL, ids=lambda p: p.stem.removeprefix("Pulumi."))
def test_each_instance_connects_to_the_shared_server_as_its_own_user(
    example_stacks: ExampleStacks, stack_file: Path
) -> None:
    """What the provisioning Job (rendered from the instance's openedx-provisioning Release) creates (database, user,
    password) is what the instance's settings use, and the server's admin is in no instance's settings."""
    stack = example_stacks[stack_file]
    recording = stack.recording
    admin = inputs(named(recording, SECRET, "shared-mysql-admin"))["stringData"]
    users = set()
    for instance in instance_names(recording):
        manifest = stack.out / "manifests" / "openedx-system" / f"provision-{instance}.yaml"
        (job,) = [doc for doc in stack.manifests[manifest]
                  if doc["kind"] == "Job" and doc["metadata"]["name"] == f"provision-mysql-{instance}"]
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
        (user_secret,) = [source["secret"]["name"] for volume in job["spec"]["template"]["spec"]["volumes"]
                          for source in volume.get("projected", {}).get("sources", [])
                          if any(item["path"] == "app-password" for item in source["secret"]["items"])]
        job = env_of(job)
        assert int(job["MAX_CONNECTIONS"]["value"]) > 0
        database = yaml.safe_load(settings_of(recording, instance)["lms.env.yml"])["DATABASES"]["default"]
        assert (database["USER"], database["PASSWORD"]) == (
            job["APP_USER"]["value"],
            secret_value(recording, user_secret, "password"),
        )
        assert database["HOST"] == job["SERVER_HOST"]["value"]
        assert database["USER"] != admin["username"] and database["PASSWORD"] != admin["password"]
        users.add(database["USER"])
    assert len(users) == len(instance_names(recording)) >= 2


# --- network isolation, from the rendered manifests --------------------------------------------------------------


@pytest.mark.parametrize("stack_file", STACKS, ids=lambda p: p.stem.removeprefix("Pulumi."))
def test_every_instance_namespace_denies_all_traffic_by_default(
    example_stacks: ExampleStacks, stack_file: Path
) -> None:
    stack = example_stacks[stack_file]
    namespaces = [path.name for path in (stack.out / "manifests").iterdir() if path.name != "openedx-system"]
    assert namespaces
    for namespace in namespaces:
        policies = [
            doc
            for path, docs in stack.manifests.items()
            if path.parent.name == namespace
            for doc in docs
            if doc["kind"] == "NetworkPolicy"
        ]
        default_deny = [p for p in policies if p["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}]
        assert len(default_deny) == 1, f"{namespace}: {[p['metadata']['name'] for p in policies]}"


# --- redaction: proven on a secret the render generated ------------------------------------------------------------


def test_a_render_without_show_secrets_hides_what_it_generated(example_stacks: ExampleStacks, tmp_path: Path) -> None:
    stack = example_stacks[LOCAL]
    # The passwords the render derived for each instance's own data services.
    generated = [
        value
        for r in stack.shown["resources"]
        if r["type"] == SECRET and r["name"].endswith("-services-credentials")
        for value in r["inputs"]["stringData"].values()
    ]
    assert len(generated) >= 4 and all(len(value) >= 32 for value in generated)
    hidden = (stack.out / "resources.json").read_text()
    assert render_main([str(LOCAL), "--out", str(tmp_path), "--no-manifests", "--show-secrets"]) == 0
    shown = (tmp_path / "resources.json").read_text()
    for value in generated:
        assert value in shown and value not in hidden
