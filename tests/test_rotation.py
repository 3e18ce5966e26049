"""Rotating one credential of an instance (`rotations` in its stack entry): that credential changes everywhere it
is held — the settings, the in-cluster servers' credentials Secret (whose server restarts and syncs), the shared
server's provisioning — and nothing else does. A stack without `rotations` keeps the values it was installed with."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from components.openedx.secrets import derive, generation_label
from offline.evaluation import PROJECT_DIR, cli_config, evaluate
from offline.recording import Recording
from tests.conftest import inputs, named, provisioning

SECRET = "kubernetes:core/v1:Secret"
BASE = {"openedx:platform": {"tls": {"issuer": "none"}}}
DEMO = {"name": "demo", "lmsHost": "demo.example.com"}
Evaluate = Callable[..., Recording]


def held_values(recording: Recording) -> dict[str, str]:
    """Each rotatable credential of demo as the places that use it hold it: the credentials Secret of its own
    servers (their root passwords too), and the settings Tutor rendered."""
    services = inputs(named(recording, SECRET, "demo-services-credentials"))["stringData"]
    settings = inputs(named(recording, SECRET, "demo-settings"))["stringData"]
    lms = yaml.safe_load(settings["lms.env.yml"])
    production = settings["lms-settings-production.py"]
    jwk = production[production.index('JWT_AUTH["JWT_PRIVATE_SIGNING_JWK"]'):]
    (oauth2,) = set(re.findall(r"--client-secret (\S+)", "".join(settings.values())))
    return {
        "mysql": services["mysql-password"], "mongodb": services["mongodb-password"],
        "meilisearch": services["meilisearch-master-key"], "secretKey": lms["SECRET_KEY"],
        "jwt": re.search(r'"n": "([^"]+)"', jwk).group(1),  # type: ignore[union-attr]  # the key's modulus
        "oauth2": oauth2,
        "mysqlRoot": services["mysql-root-password"], "mongodbRoot": services["mongodb-root-password"],
    }


def everything_held(recording: Recording) -> str:
    """Every Secret and Release input of the stack, as one text."""
    return json.dumps([inputs(r) for r in recording.resources.values()
                       if r.type in (SECRET, "kubernetes:helm.sh/v3:Release")])


@pytest.fixture(scope="module")
def baseline() -> Recording:
    engine, secret_keys = cli_config({**BASE, "openedx:instances": [DEMO]})
    return evaluate(engine, "test", secret_keys)


def rotated(evaluate_stack: Evaluate, **rotations: int) -> Recording:
    return evaluate_stack(config={**BASE, "openedx:instances": [{**DEMO, "rotations": rotations}]})


def test_generation_0_is_what_an_instance_was_installed_with(baseline: Recording, evaluate_stack: Evaluate) -> None:
    explicit = rotated(evaluate_stack, mysql=0, mongodb=0, secretKey=0, jwt=0, oauth2=0, meilisearch=0)
    assert held_values(explicit) == held_values(baseline)
    assert named(explicit, "tls:index/privateKey:PrivateKey", "demo-jwt")


@pytest.mark.parametrize("credential", ["mysql", "mongodb", "meilisearch", "secretKey", "jwt", "oauth2"])
def test_a_rotation_changes_that_credential_everywhere_and_no_other(
        credential: str, baseline: Recording, evaluate_stack: Evaluate) -> None:
    before, recording = held_values(baseline), rotated(evaluate_stack, **{credential: 1})
    after = held_values(recording)
    assert {key for key in before if before[key] != after[key]} == {credential}
    old, new = before[credential], after[credential]
    assert old not in everything_held(recording)
    assert everything_held(recording).count(new) == everything_held(baseline).count(old)
    # A second rotation is another value again (a new JWT key is a new resource: the offline mocks draw keys from a
    # small pool, so that is what the next test checks for it).
    if credential != "jwt":
        assert held_values(rotated(evaluate_stack, **{credential: 2}))[credential] not in (old, new)


def test_a_rotation_restarts_only_the_server_holding_it(evaluate_stack: Evaluate) -> None:
    values = inputs(named(rotated(evaluate_stack, mysql=2, meilisearch=1), "kubernetes:helm.sh/v3:Release",
                          "demo-services"))["values"]
    assert values["credentials"]["revision"] == {"mysql": 2, "mongodb": 0, "meilisearch": 1}


def test_a_rotated_jwt_key_is_a_new_key_resource(evaluate_stack: Evaluate) -> None:
    recording = rotated(evaluate_stack, jwt=3)
    assert named(recording, "tls:index/privateKey:PrivateKey", "demo-jwt-3")
    assert not [r for r in recording.resources.values() if r.name == "demo-jwt"]


def test_generations_derive_from_labels_of_their_own() -> None:
    master = "m" * 64
    assert generation_label("mysql-password", 0) == "mysql-password"
    assert len({derive(master, generation_label("mysql-password", n), 32) for n in range(5)}) == 5


def test_a_rotation_on_a_shared_server_upgrades_the_provisioning_with_the_new_password(
        evaluate_stack: Evaluate) -> None:
    def aws_dev(**rotations: int) -> tuple[dict[str, Any], str, str]:
        config = yaml.safe_load((PROJECT_DIR / "stacks" / "Pulumi.aws-dev.yaml").read_text())["config"]
        instance = config["openedx:instances"][0]
        instance["rotations"] = rotations
        recording = evaluate_stack(config=config, stack="aws-dev")
        _, values = provisioning(recording, instance["name"])
        password = inputs(named(recording, SECRET, f"{instance['name']}-mysql-user"))["stringData"]["password"]
        settings = inputs(named(recording, SECRET, f"{instance['name']}-settings"))["stringData"]
        used = yaml.safe_load(settings["lms.env.yml"])["DATABASES"]["default"]["PASSWORD"]
        return values["mysql"], password, used

    before, old, _ = aws_dev()
    after, new, used = aws_dev(mysql=1)
    # The Release's values change (so it upgrades and its Job runs), and the Job sets what the settings use.
    assert (before["passwordRevision"], after["passwordRevision"]) == (0, 1)
    assert new != old and used == new
