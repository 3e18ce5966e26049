"""Open edX instances under the offline mocks: isolation, secrets, lifecycle and determinism."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.openedx.values import INSTANCE_LABEL
from offline.render import REDACTED, reveal
from tests.conftest import inputs, of_type

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
BASE = {"openedx:platform": {"tls": {"issuer": "selfsigned"}}}
TWO = {
    **BASE,
    "openedx:instances": [
        {"name": "alpha", "lmsHost": "alpha.example.com"},
        {"name": "beta", "lmsHost": "learn.beta.org", "plugins": ["mfe"]},
    ],
}


@pytest.fixture(scope="module")
def two(request) -> Any:
    from offline.evaluation import cli_config, evaluate

    config, secret_keys = cli_config(TWO)
    return evaluate(config, "test", secret_keys)


def settings_data(recording, instance: str) -> dict[str, str]:
    (secret,) = [s for s in of_type(recording, SECRET) if s.name == f"{instance}-settings"]
    return inputs(secret)["stringData"]


def release(recording, name: str) -> dict[str, Any]:
    (found,) = [r for r in of_type(recording, RELEASE) if r.name == name]
    return inputs(found)


def test_each_instance_owns_its_resources_on_the_cluster_provider(two) -> None:
    provider = next(r for r in two.resources.values() if r.type == "pulumi:providers:kubernetes")
    for name in ("alpha", "beta"):
        (component,) = [r for r in two.resources.values() if r.type == "openedx:index:Instance" and r.name == name]
        children = [r for r in two.resources.values() if r.parent == component.urn]
        assert {r.type for r in children} >= {"kubernetes:core/v1:Namespace", SECRET, RELEASE,
                                             "random:index/randomPassword:RandomPassword",
                                             "tls:index/privateKey:PrivateKey"}
        assert all(r.name.startswith(f"{name}-") for r in children)
        for child in children:
            if child.type.startswith("kubernetes:"):
                assert child.provider.startswith(provider.urn + "::"), child.urn
                assert namespace_of(child) == namespace_name_of(name), child.urn


def namespace_of(resource) -> str:
    """Where a Kubernetes resource lives: a Release's namespace, a namespaced object's metadata.namespace, a
    Namespace's own name."""
    spec = inputs(resource)
    if resource.type == RELEASE:
        return str(spec["namespace"])
    metadata = spec["metadata"]
    return str(metadata["name"] if resource.type == "kubernetes:core/v1:Namespace" else metadata["namespace"])


def namespace_name_of(instance: str) -> str:
    return f"openedx-{instance}"


def test_releases_install_in_order_with_long_timeouts(two) -> None:
    foundation, services, app = (two.resources[f"urn:pulumi:test::openedx::openedx:index:Instance$"
                                              f"{RELEASE}::alpha-{part}"] for part in ("foundation", "services",
                                                                                        "openedx"))
    assert foundation.urn in services.depends_on
    assert services.urn in app.depends_on
    settings = next(s for s in of_type(two, SECRET) if s.name == "alpha-settings")
    assert settings.urn in app.depends_on
    app_inputs = inputs(app)
    assert app_inputs["timeout"] >= 3600
    assert app_inputs["atomic"] and app_inputs["cleanupOnFail"]
    assert 0 < app_inputs["maxHistory"] <= 20
    assert app_inputs["chart"] == "charts/openedx" and app_inputs["name"] == "openedx"
    assert app_inputs["namespace"] == "openedx-alpha"
    assert app_inputs["values"]["global"]["chartDigest"]
    assert app.delete_before_replace


def test_settings_are_an_immutable_secret_named_by_content(two) -> None:
    for name in ("alpha", "beta"):
        (secret,) = [s for s in of_type(two, SECRET) if s.name == f"{name}-settings"]
        secret_inputs = inputs(secret)
        assert secret_inputs["immutable"] is True
        secret_name = secret_inputs["metadata"]["name"]
        assert secret_name.startswith("openedx-settings-")
        assert release(two, f"{name}-openedx")["values"]["global"]["settingsSecret"] == secret_name
        assert secret.retain_on_delete  # a Helm rollback still finds the settings it names


def test_each_instance_settings_carry_only_its_own_hosts_and_credentials(two) -> None:
    alpha, beta = settings_data(two, "alpha"), settings_data(two, "beta")
    assert yaml.safe_load(alpha["lms.env.yml"])["LMS_BASE"] == "alpha.example.com"
    assert yaml.safe_load(beta["lms.env.yml"])["LMS_BASE"] == "learn.beta.org"
    assert "learn.beta.org" not in json.dumps(alpha) and "alpha.example.com" not in json.dumps(beta)
    credentials = {n: inputs(next(s for s in of_type(two, SECRET) if s.name == f"{n}-services-credentials"))
                   ["stringData"] for n in ("alpha", "beta")}
    assert credentials["alpha"]["mysql-password"] in alpha["lms.env.yml"]
    assert credentials["alpha"]["mysql-password"] not in json.dumps(beta)
    assert credentials["alpha"]["mysql-password"] != credentials["beta"]["mysql-password"]


def test_no_root_credential_reaches_settings_or_release_values(two) -> None:
    for name in ("alpha", "beta"):
        credentials = inputs(next(s for s in of_type(two, SECRET) if s.name == f"{name}-services-credentials"))
        roots = [credentials["stringData"][k] for k in ("mysql-root-password", "mongodb-root-password")]
        everything_else = json.dumps([inputs(r) for r in two.resources.values()
                                      if r.name != f"{name}-services-credentials"])
        for root in roots:
            assert root not in everything_else


def test_plugins_change_the_settings(two) -> None:
    alpha, beta = settings_data(two, "alpha"), settings_data(two, "beta")
    assert "FORUM_SEARCH_BACKEND" in alpha["lms-settings-production.py"]
    assert "FORUM_SEARCH_BACKEND" not in beta["lms-settings-production.py"]
    assert "mfe-Caddyfile" in alpha and "mfe-Caddyfile" in beta
    alpha_tasks = release(two, "alpha-openedx")["values"]["init"]["tasks"]
    beta_tasks = release(two, "beta-openedx")["values"]["init"]["tasks"]
    assert len(alpha_tasks) == len(beta_tasks) + 1  # the forum's init task
    assert all(t["key"] in alpha for t in alpha_tasks)


def test_namespaces_enforce_the_restricted_pod_security_level(two) -> None:
    for ns in of_type(two, "kubernetes:core/v1:Namespace"):
        labels = inputs(ns)["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels[INSTANCE_LABEL] in ("alpha", "beta")
        assert not ns.retain_on_delete  # dev: removing an instance removes its data


def test_production_keeps_an_instance_data_when_it_is_removed(evaluate_stack) -> None:
    recording = evaluate_stack(config={**TWO, "openedx:environment": "production",
                                       "openedx:platform": {**BASE["openedx:platform"],
                                                            "email": {"host": "smtp.example.com"}}})
    for ns in of_type(recording, "kubernetes:core/v1:Namespace"):
        assert ns.retain_on_delete and not ns.protect
    # The passwords that open the kept volumes stay with them, in the Secret the foundation Release guards.
    for instance in ("alpha", "beta"):
        credentials = next(r for r in of_type(recording, SECRET)
                           if r.name == f"{instance}-services-credentials")
        assert credentials.retain_on_delete
        foundation = release(recording, f"{instance}-foundation")
        services = release(recording, f"{instance}-services")
        assert foundation["values"]["keptData"]["secretName"] == services["values"]["existingSecret"]
        assert credentials.inputs["metadata"]["name"] == services["values"]["existingSecret"]
        assert next(r for r in of_type(recording, RELEASE) if r.name == f"{instance}-foundation").urn \
            in credentials.depends_on


def test_dev_removes_the_credentials_with_the_data(two) -> None:
    credentials = [r for r in of_type(two, SECRET) if r.name.endswith("-services-credentials")]
    assert len(credentials) == 2 and not any(r.retain_on_delete for r in credentials)


def test_evaluation_is_deterministic(evaluate_stack, two) -> None:
    again = evaluate_stack(config=TWO)
    assert {u: (r.inputs, r.depends_on) for u, r in again.resources.items()} == {
        u: (r.inputs, r.depends_on) for u, r in two.resources.items()}


def test_removing_an_instance_leaves_the_others_unchanged(evaluate_stack, two) -> None:
    alone = evaluate_stack(config={**BASE, "openedx:instances": [TWO["openedx:instances"][0]]})
    alpha = {u: (r.inputs, r.depends_on, r.parent) for u, r in two.resources.items() if "beta" not in u}
    assert {u: (r.inputs, r.depends_on, r.parent) for u, r in alone.resources.items()} == alpha
    assert not any("beta" in u for u in alone.resources)


def test_waves_roll_out_one_after_the_other(evaluate_stack) -> None:
    config = {**BASE, "openedx:instances": [
        {"name": "canary", "lmsHost": "canary.example.com"},
        {"name": "bulk", "lmsHost": "bulk.example.com", "wave": 1},
    ]}
    recording = evaluate_stack(config=config)
    canary = next(r for r in of_type(recording, RELEASE) if r.name == "canary-openedx")
    bulk = next(r for r in of_type(recording, RELEASE) if r.name == "bulk-openedx")
    assert canary.urn in bulk.depends_on
    assert bulk.urn not in canary.depends_on


def test_instances_without_waves_do_not_depend_on_each_other(two) -> None:
    alpha_urns = {u for u in two.resources if "alpha" in u}
    for registration in two.resources.values():
        if "beta" in registration.urn:
            assert not alpha_urns & set(registration.depends_on)


def test_stack_outputs_give_urls_namespaces_and_versions(two) -> None:
    """Where each instance is and what it runs (the image, Tutor's and its plugins' versions: `fleet.sh status`)."""
    runs = {"image": "docker.io/overhangio/openedx:22.0.3", "tutor": "22.0.3"}
    assert two.stack_outputs["instances"] == {
        "alpha": {"lmsUrl": "https://alpha.example.com", "studioUrl": "https://studio.alpha.example.com",
                  "namespace": "openedx-alpha", **runs, "plugins": {"forum": "22.0.0", "mfe": "22.1.0"}},
        "beta": {"lmsUrl": "https://learn.beta.org", "studioUrl": "https://studio.learn.beta.org",
                 "namespace": "openedx-beta", **runs, "plugins": {"mfe": "22.1.0"}},
    }


def test_a_local_stack_tells_the_operator_commands_to_use_its_kubeconfig(two) -> None:
    assert two.stack_outputs["kubernetes"] == {"kubeconfig": "", "kubeconfigPath": "", "context": ""}


@pytest.mark.parametrize("stack_file", ["aws-dev", "gcp-dev", "azure-dev"])
def test_a_built_cluster_gives_the_operator_commands_its_kubeconfig_without_a_credential(
        stack_file: str, example_stacks) -> None:
    from offline.evaluation import PROJECT_DIR

    recording = example_stacks[PROJECT_DIR / f"stacks/Pulumi.{stack_file}.yaml"].recording
    output = recording.stack_outputs["kubernetes"]
    provider = next(r for r in recording.resources.values() if r.type == "pulumi:providers:kubernetes")
    assert output["kubeconfig"] == inputs(provider)["kubeconfig"]
    (user,) = json.loads(output["kubeconfig"])["users"]
    assert set(user["user"]) == {"exec"}  # a credential plugin: no token, no client key


# --- operating an instance: init tasks, first-time tasks, maintenance, timeouts ------------------------------------

def _pins() -> dict[str, str]:
    """The pinned versions of Tutor and its plugins, read from requirements.txt (not from the program)."""
    from offline.evaluation import PROJECT_DIR

    pins = dict(line.split("==") for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines()
                if line.startswith("tutor"))
    return {name.removeprefix("tutor-") if name != "tutor" else name: version for name, version in pins.items()}


def test_the_init_tasks_depend_on_the_tutor_version_and_the_plugins(two) -> None:
    pins = _pins()
    alpha, beta = (release(two, f"{name}-openedx")["values"]["init"] for name in ("alpha", "beta"))
    assert alpha["revision"] == f"tutor {pins['tutor']}, forum {pins['forum']}, mfe {pins['mfe']}"
    assert beta["revision"] == f"tutor {pins['tutor']}, mfe {pins['mfe']}"
    assert (alpha["activeDeadlineSeconds"], alpha["backoffLimit"]) == (3000, 1)
    assert alpha["once"] == []


OPERATED = {**BASE, "openedx:instances": [
    {"name": "alpha", "lmsHost": "alpha.example.com", "admin": {"username": "root", "email": "root@example.com"},
     "demoCourse": True, "init": {"deadlineSeconds": 7200, "backoffLimit": 0}, "releaseTimeoutSeconds": 9000,
     "maintenance": True},
    {"name": "beta", "lmsHost": "learn.beta.org"},
]}


@pytest.fixture(scope="module")
def operated() -> Any:
    from offline.evaluation import cli_config, evaluate

    config, secret_keys = cli_config(OPERATED)
    return evaluate(config, "test", secret_keys)


def test_the_deadlines_and_the_release_timeout_are_the_instance_settings(operated) -> None:
    (app,) = [r for r in of_type(operated, RELEASE) if r.name == "alpha-openedx"]
    values = inputs(app)["values"]
    assert (values["init"]["activeDeadlineSeconds"], values["init"]["backoffLimit"]) == (7200, 0)
    assert inputs(app)["timeout"] == 9000
    assert inputs(next(r for r in of_type(operated, RELEASE) if r.name == "beta-openedx"))["timeout"] == 3600


def test_the_admin_is_created_once_with_a_generated_password_kept_as_a_secret_output(operated) -> None:
    values = release(operated, "alpha-openedx")["values"]
    admin, course = values["init"]["once"]
    assert (admin["name"], admin["service"], course["name"], course["service"]) == (
        "admin", "lms", "demo-course", "cms")
    env = {e["name"]: e for e in admin["env"]}
    assert env["OPENEDX_USERNAME"]["value"] == "root" and env["OPENEDX_SUPERUSER"]["value"] == "true"
    password_ref = env["OPENEDX_USER_PASSWORD"]["valueFrom"]["secretKeyRef"]
    (secret,) = [s for s in of_type(operated, SECRET) if s.name == "alpha-admin"]
    assert inputs(secret)["metadata"]["name"] == password_ref["name"]
    password = inputs(secret)["stringData"][password_ref["key"]]
    assert len(password) == 24 and password.isalnum()
    # The stack output holds it as a secret; no Helm value, settings Secret or other output does.
    admins = operated.stack_outputs["admins"]
    assert reveal(admins, show_secrets=True) == {"alpha": {"username": "root", "password": password}}
    assert reveal(admins, show_secrets=False) == {"alpha": {"username": "root", "password": REDACTED}}
    for resource in of_type(operated, RELEASE) + [s for s in of_type(operated, SECRET) if s.name != "alpha-admin"]:
        assert password not in json.dumps(inputs(resource)), resource.urn
    assert not [s for s in of_type(operated, SECRET) if s.name == "beta-admin"]


def test_maintenance_changes_the_application_values_alone(operated, two) -> None:
    maintained, normal = release(operated, "alpha-openedx")["values"], release(two, "alpha-openedx")["values"]
    assert maintained["global"]["maintenance"] == {"enabled": True}
    assert normal["global"]["maintenance"] == {"enabled": False}
    # The settings (so the init key's inputs) are the same: switching maintenance runs no migration.
    assert maintained["init"]["tasks"] == normal["init"]["tasks"]
    assert maintained["init"]["revision"] == normal["init"]["revision"]
