"""Outgoing e-mail: the relay a stack (or one instance) sends through, its password as a Pulumi secret that reaches
the settings Secret only, the egress it opens, SES credentials on AWS, and the in-cluster relay for dev only."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from offline.evaluation import PROJECT_DIR
from offline.recording import Recording
from offline.render import REDACTED, reveal
from tests.conftest import inputs, named, of_type

SECRET = "kubernetes:core/v1:Secret"
RELEASE = "kubernetes:helm.sh/v3:Release"
PASSWORD = "Sg.Relay-pass/word+1="
RELAY = {"host": "smtp.sendgrid.net", "port": 2525, "username": "apikey", "password": {"secure": "x"},
         "from": "no-reply@example.org"}


def stack(relay: dict[str, Any] | None = None, **instance: Any) -> dict[str, Any]:
    """A production stack of two instances, with `relay` as its platform.email; `instance` keys go to demo."""
    platform: dict[str, Any] = {"tls": {"issuer": "none"}}
    if relay is not None:
        platform["email"] = relay
    return {"openedx:environment": "production", "openedx:platform": platform,
            "openedx:instances": [{"name": "demo", "lmsHost": "learn.example.org", **instance},
                                  {"name": "other", "lmsHost": "other.example.org"}]}


def evaluated(config: dict[str, Any], password: str = PASSWORD) -> Recording:
    """The stack with its `secure:` password decrypted as Pulumi would hand it over (the program sees plain text)."""
    from offline.evaluation import cli_config, evaluate

    engine, secret_keys = cli_config(config)
    engine = {key: value.replace("offline-secure-value", password) for key, value in engine.items()}
    assert "openedx:platform" in secret_keys or "openedx:instances" in secret_keys
    return evaluate(engine, "test", secret_keys)


def env_yml(recording: Recording, instance: str) -> dict[str, Any]:
    data = inputs(named(recording, SECRET, f"{instance}-settings"))["stringData"]
    return dict(yaml.safe_load(data["lms.env.yml"]))


def release_values(recording: Recording, name: str) -> dict[str, Any]:
    return dict(inputs(named(recording, RELEASE, name))["values"])


@pytest.fixture(scope="module")
def relayed() -> Recording:
    return evaluated(stack(RELAY))


def test_the_stack_relay_is_in_the_settings_tutor_renders(relayed) -> None:
    env = env_yml(relayed, "demo")
    assert (env["EMAIL_HOST"], env["EMAIL_PORT"], env["EMAIL_USE_TLS"]) == ("smtp.sendgrid.net", 2525, True)
    assert (env["EMAIL_HOST_USER"], env["EMAIL_HOST_PASSWORD"]) == ("apikey", PASSWORD)
    production = inputs(named(relayed, SECRET, "demo-settings"))["stringData"]["lms-settings-production.py"]
    assert 'DEFAULT_FROM_EMAIL = "no-reply@example.org"' in production
    assert "EMAIL_USE_SSL = False" in production


def test_the_password_reaches_the_settings_secret_and_nothing_else(relayed) -> None:
    holders = [r.urn for r in relayed.resources.values() if PASSWORD in json.dumps(inputs(r))]
    assert sorted(holders) == sorted(named(relayed, SECRET, f"{i}-settings").urn for i in ("demo", "other"))
    assert PASSWORD not in json.dumps(relayed.stack_outputs)
    # The settings Secret's data is a secret in the state: encrypted, never shown.
    assert reveal(named(relayed, SECRET, "demo-settings").inputs, show_secrets=False)["stringData"] == REDACTED


def test_with_a_relay_no_in_cluster_relay_runs_and_only_its_port_may_leave(relayed) -> None:
    services = release_values(relayed, "demo-services")
    assert services["smtp"] == {"enabled": False}
    egress = release_values(relayed, "demo-foundation")["networkPolicy"]["external"]
    assert egress == {"smtpPorts": [2525]}


def test_an_instance_relay_overrides_the_stack_one() -> None:
    own = {"host": "smtp.mailgun.org", "port": 465, "tls": "ssl", "username": "postmaster@mg.example.org",
           "password": {"secure": "x"}}
    recording = evaluated(stack(RELAY, email=own))
    demo, other = env_yml(recording, "demo"), env_yml(recording, "other")
    assert (demo["EMAIL_HOST"], demo["EMAIL_PORT"], demo["EMAIL_USE_TLS"]) == ("smtp.mailgun.org", 465, False)
    production = inputs(named(recording, SECRET, "demo-settings"))["stringData"]["lms-settings-production.py"]
    assert "EMAIL_USE_SSL = True" in production
    assert other["EMAIL_HOST"] == "smtp.sendgrid.net"
    assert release_values(recording, "demo-foundation")["networkPolicy"]["external"] == {"smtpPorts": [465]}


def test_a_dev_stack_sends_through_its_in_cluster_relay(evaluate_stack) -> None:
    recording = evaluate_stack(config={**stack(), "openedx:environment": "dev"})
    env = env_yml(recording, "demo")
    assert (env["EMAIL_HOST"], env["EMAIL_PORT"], env["EMAIL_HOST_PASSWORD"]) == ("smtp", 8025, "")
    assert release_values(recording, "demo-services")["smtp"] == {"enabled": True, "priorityClassName": "openedx-data"}
    assert release_values(recording, "demo-foundation")["networkPolicy"]["external"] == {"smtpPorts": []}


def test_a_production_stack_without_a_relay_is_refused_before_anything_is_created(evaluate_stack) -> None:
    from components.program import InvalidStackConfig

    with pytest.raises(InvalidStackConfig) as error:
        evaluate_stack(config=stack())
    (problem,) = error.value.problems
    assert problem.startswith("openedx:platform.email: required on a production stack (demo, other would send no mail")
    assert "pulumi config set --path --secret openedx:platform.email.password" in problem


def test_a_password_in_a_bad_stack_is_never_repeated(evaluate_stack) -> None:
    from components.program import InvalidStackConfig

    bad = {**RELAY, "password": 987654321, "tls": "ssl", "port": 587}
    with pytest.raises(InvalidStackConfig) as error:
        evaluate_stack(config=stack(bad))
    assert "987654321" not in str(error.value)
    assert any(p.startswith("openedx:platform.email.password: ") for p in error.value.problems)


# --- Amazon SES ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ses(example_stacks) -> Recording:
    return example_stacks[PROJECT_DIR / "stacks/Pulumi.aws-production.yaml"].recording


def test_ses_gives_each_instance_an_iam_user_that_may_only_send_from_the_domain(ses) -> None:
    users = of_type(ses, "aws:iam/user:User")
    assert sorted(u.name for u in users) == ["partners-smtp", "university-smtp"]
    for policy in of_type(ses, "aws:iam/userPolicy:UserPolicy"):
        document = json.loads(inputs(policy)["policy"])
        assert document["Statement"] == [{"Effect": "Allow", "Action": "ses:SendRawEmail",
                                          "Resource": "arn:aws:ses:eu-west-1:123456789012:identity/example.edu"}]


def test_ses_credentials_are_written_into_the_instance_settings(ses) -> None:
    for name in ("university", "partners"):
        key = named(ses, "aws:iam/accessKey:AccessKey", f"{name}-smtp")
        env = env_yml(ses, name)
        assert (env["EMAIL_HOST"], env["EMAIL_PORT"], env["EMAIL_USE_TLS"]) == (
            "email-smtp.eu-west-1.amazonaws.com", 587, True)
        assert env["EMAIL_HOST_USER"] == key.outputs["id"]
        assert env["EMAIL_HOST_PASSWORD"] == key.outputs["sesSmtpPasswordV4"]
        production = inputs(named(ses, SECRET, f"{name}-settings"))["stringData"]["lms-settings-production.py"]
        assert 'DEFAULT_FROM_EMAIL = "no-reply@example.edu"' in production
        assert key.outputs["sesSmtpPasswordV4"] not in json.dumps(ses.stack_outputs)
