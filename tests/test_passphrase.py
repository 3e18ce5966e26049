"""deploy.sh refuses to encrypt a production stack's secrets with an empty passphrase (operations/passphrase.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.charts import PROJECT_DIR
from operations.passphrase import passphrase_problem

FILE_BACKEND = {"PULUMI_BACKEND_URL": "file:///srv/state"}


def stack(environment: str | None, **keys: str) -> dict[str, object]:
    config = {} if environment is None else {"openedx:environment": environment}
    return {"config": config, **keys}


def test_a_production_stack_without_a_passphrase_is_refused_with_what_to_do() -> None:
    problem = passphrase_problem(stack("production"), FILE_BACKEND)
    assert problem is not None
    assert "PULUMI_CONFIG_PASSPHRASE" in problem and "change-secrets-provider" in problem


@pytest.mark.parametrize("passphrase", [{"PULUMI_CONFIG_PASSPHRASE": "correct horse"},
                                        {"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secrets/passphrase"},
                                        {"PULUMI_CONFIG_PASSPHRASE": ""}])  # set on purpose (a test rig)
def test_a_production_stack_with_a_passphrase_goes_on(passphrase: dict[str, str]) -> None:
    assert passphrase_problem(stack("production"), {**FILE_BACKEND, **passphrase}) is None


@pytest.mark.parametrize("environment", [None, "dev", "staging"])
def test_other_environments_may_use_an_empty_passphrase(environment: str | None) -> None:
    assert passphrase_problem(stack(environment), {**FILE_BACKEND, "PULUMI_CONFIG_PASSPHRASE": ""}) is None


@pytest.mark.parametrize(("keys", "backend"), [
    ({"secretsprovider": "awskms://alias/openedx"}, "s3://state"),
    ({"secretsprovider": "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k"}, "gs://state"),
    ({}, "https://api.pulumi.com"),
])
def test_a_production_stack_with_a_key_of_its_own_needs_no_passphrase(keys: dict[str, str], backend: str) -> None:
    assert passphrase_problem(stack("production", **keys), {"PULUMI_BACKEND_URL": backend}) is None


def test_a_passphrase_provider_named_in_the_stack_file_needs_one_on_any_backend() -> None:
    production = stack("production", secretsprovider="passphrase")
    assert passphrase_problem(production, {"PULUMI_BACKEND_URL": "https://api.pulumi.com"}) is not None


def test_the_command_exits_1_naming_the_stack_file(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.campus.yaml"
    path.write_text(yaml.safe_dump(stack("production")))
    done = subprocess.run([sys.executable, "-m", "operations.passphrase", str(path)], cwd=PROJECT_DIR,
                          env={"PULUMI_BACKEND_URL": "file:///srv/state"}, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith(f"{path}: this is a production stack")
    done = subprocess.run([sys.executable, "-m", "operations.passphrase", str(path)], cwd=PROJECT_DIR,
                          env={"PULUMI_BACKEND_URL": "file:///srv/state", "PULUMI_CONFIG_PASSPHRASE": ""},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr.startswith(f"{path}: warning: a production stack with an empty")
    example = PROJECT_DIR / "stacks" / "Pulumi.aws-production.yaml"
    done = subprocess.run([sys.executable, "-m", "operations.passphrase", str(example)], cwd=PROJECT_DIR,
                          env={"PULUMI_BACKEND_URL": "file:///srv/state", "PULUMI_CONFIG_PASSPHRASE": "x"},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
