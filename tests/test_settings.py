"""The typed stack config: every class of mistake is rejected with a message naming its key path."""

from __future__ import annotations

from typing import Any

import pytest

from components.program import INSTANCE_CHECKS
from components.settings.model import ConfigError
from components.settings.stack import StackSettings, load

GOOD_INSTANCE = {"name": "demo", "lmsHost": "learn.example.com"}


def instance(**overrides: Any) -> dict[str, Any]:
    return {**GOOD_INSTANCE, **overrides}


NO_TLS = {"platform": {"tls": {"issuer": "none"}}}


def problems_of(raw: dict[str, Any]) -> list[str]:
    """Every problem, as the program reports them (with the Open edX layer's checks)."""
    with pytest.raises(ConfigError) as caught:
        load({**NO_TLS, **raw}, instance_checks=INSTANCE_CHECKS)
    return caught.value.problems


MISTAKES = [
    ("ACME issuer without e-mail", {"platform": {}}, "openedx:platform.tls.email: required for the letsencrypt issuer"),
    ("dns01 without ACME", {"platform": {"tls": {"issuer": "selfsigned", "dns01": {"provider": "route53"}}}},
     "openedx:platform.tls: dns01 applies only"),
    ("backups without a location", {"platform": {"tls": {"issuer": "none"}, "backups": {"enabled": True}}},
     "openedx:platform.backups: provider and bucket are required"),
    ("unknown ingress service type", {"platform": {"tls": {"issuer": "none"}, "ingress": {"serviceType": "Ingress"}}},
     "openedx:platform.ingress.serviceType: Input should be 'LoadBalancer' or 'NodePort'"),
    ("unknown cloud", {"cloud": "openstack"}, "openedx:cloud:"),
    ("unknown environment", {"environment": "prod"}, "openedx:environment:"),
    ("instances not a list", {"instances": {"name": "demo"}}, "openedx:instances: must be a list"),
    ("missing name", {"instances": [{"lmsHost": "a.example.com"}]}, "openedx:instances[0].name: Field required"),
    (
        "name not a DNS label",
        {"instances": [instance(name="Demo_1")]},
        "openedx:instances[0].name: 'Demo_1' is not a DNS label",
    ),
    (
        "name too long",
        {"instances": [instance(name="a" * 31)]},
        "openedx:instances[0].name: " + repr("a" * 31) + " is too long",
    ),
    (
        "duplicate name",
        {"instances": [instance(), instance(lmsHost="other.example.com")]},
        "openedx:instances[1].name: 'demo' is already used by instances[0]",
    ),
    ("missing lmsHost", {"instances": [{"name": "demo"}]}, "openedx:instances[0].lmsHost: Field required"),
    (
        "invalid host",
        {"instances": [instance(lmsHost="x y")]},
        "openedx:instances[0].lmsHost: 'x y' is not a valid host name",
    ),
    (
        "invalid cmsHost",
        {"instances": [instance(cmsHost="-bad.example.com")]},
        "openedx:instances[0].cmsHost: '-bad.example.com'",
    ),
    (
        "host used twice in the stack",
        {"instances": [instance(), instance(name="other", lmsHost="other.example.com", cmsHost="learn.example.com")]},
        "openedx:instances[1].cmsHost: host 'learn.example.com' is already used by openedx:instances[0].lmsHost",
    ),
    (
        "derived host collides",
        {"instances": [instance(), instance(name="b", lmsHost="studio.learn.example.com")]},
        "openedx:instances[1].lmsHost: host 'studio.learn.example.com' is already used by openedx:instances[0].cmsHost",
    ),
    (
        "cmsHost equals lmsHost",
        {"instances": [instance(cmsHost="learn.example.com")]},
        "openedx:instances[0]: cmsHost must differ from lmsHost",
    ),
    (
        "wrong type, string for bool",
        {"instances": [instance(https="sometimes")]},
        "openedx:instances[0].https: Input should be a valid boolean",
    ),
    (
        "wrong type, number for string",
        {"instances": [instance(platformName=42)]},
        "openedx:instances[0].platformName: Input should be a valid string",
    ),
    (
        "wrong type, list expected",
        {"instances": [instance(plugins="mfe")]},
        "openedx:instances[0].plugins: Input should be a list",
    ),
    (
        "unknown instance key",
        {"instances": [instance(lmsHots="a.example.com")]},
        "openedx:instances[0].lmsHots: unknown key; did you mean 'lmsHost'?",
    ),
    ("unknown top-level key", {"instance": []}, "openedx:instance: unknown key; did you mean 'instances'?"),
    (
        "unknown nested key",
        {"instances": [instance(workloads={"lms": {"maxReplica": 3}})]},
        "openedx:instances[0].workloads.lms.maxReplica: unknown key; did you mean 'maxReplicas'?",
    ),
    ("unknown local key", {"local": {"kubeContext": "kind"}}, "openedx:local.kubeContext: unknown key"),
    (
        "replicas below 1",
        {"instances": [instance(workloads={"lms": {"minReplicas": 0}})]},
        "openedx:instances[0].workloads.lms.minReplicas: Input should be greater than or equal to 1",
    ),
    (
        "replicas above bound",
        {"instances": [instance(workloads={"cmsWorker": {"maxReplicas": 500}})]},
        "openedx:instances[0].workloads.cmsWorker.maxReplicas: Input should be less than or equal to 200",
    ),
    (
        "min greater than max",
        {"instances": [instance(workloads={"lms": {"minReplicas": 4, "maxReplicas": 2}})]},
        "openedx:instances[0].workloads.lms: minReplicas (4) is greater than maxReplicas (2)",
    ),
    (
        "bad quantity",
        {"instances": [instance(workloads={"lms": {"resources": {"limits": {"memory": "lots"}}}})]},
        "openedx:instances[0].workloads.lms.resources.limits.memory: 'lots' is not a Kubernetes quantity",
    ),
    (
        "bad e-mail",
        {"instances": [instance(contactEmail="nobody")]},
        "openedx:instances[0].contactEmail: 'nobody' is not an e-mail",
    ),
    (
        "plugin not installed",
        {"instances": [instance(plugins=["mfe", "indigo"])]},
        "openedx:instances[0].plugins[1]: 'indigo' is not a supported Tutor plugin",
    ),
    (
        "tutorConfig key not Tutor-shaped",
        {"instances": [instance(tutorConfig={"platform_name": "x"})]},
        "openedx:instances[0].tutorConfig.platform_name: Tutor settings are UPPER_SNAKE_CASE",
    ),
    (
        "tutorConfig key owned by the program",
        {"instances": [instance(tutorConfig={"LMS_HOST": "x.example.com"})]},
        "openedx:instances[0].tutorConfig.LMS_HOST: set by the program; use lmsHost instead",
    ),
    (
        "tutorConfig key the program sets for a reason",
        {"instances": [instance(tutorConfig={"MYSQL_ROOT_PASSWORD": "x"})]},
        "openedx:instances[0].tutorConfig.MYSQL_ROOT_PASSWORD: set by the program; the database root credential is "
        "never given to Tutor",
    ),
    (
        "platform name Tutor could not render",
        {"instances": [instance(platformName='The "Best" University')]},
        "openedx:instances[0].platformName: must be text without double quotes",
    ),
    (
        "image Tutor could not render",
        {"instances": [instance(images={"openedx": {"repository": "my registry/openedx", "tag": "1"}})]},
        "openedx:instances[0].images.openedx.repository: must be an image reference",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_reported_with_its_key_path(raw: dict[str, Any], expected: str) -> None:
    problems = problems_of(raw)
    assert any(p.startswith(expected) for p in problems), problems


def test_all_mistakes_are_reported_together() -> None:
    raw = {
        "cloud": "openstack",
        "environment": "prod",
        "instances": [
            instance(name="Bad"),
            instance(lmsHost="x y"),
            instance(name="c", cmsHost="c.example.com", lmsHost="c.example.com"),
        ],
    }
    problems = problems_of(raw)
    assert [p.split(":")[1] for p in problems] == [
        "cloud",
        "environment",
        "instances[0].name",
        "instances[1].lmsHost",
        "instances[2]",
    ]


def test_every_mistake_of_an_instance_is_reported_in_one_run() -> None:
    """Field errors do not hide the checks of the instance's other keys, nor a duplicate host it shares."""
    raw = {"instances": [
        instance(name="Bad", platformName='Say "hi"', plugins=["nope"], tutorConfig={"CMS_HOST": "x"}),
        instance(name="other"),
    ]}
    assert problems_of(raw) == [
        "openedx:instances[0].name: 'Bad' is not a DNS label (lowercase letters, digits and '-', starting with a "
        "letter)",
        "openedx:instances[0].platformName: must be text without double quotes, backslashes, braces or control "
        "characters",
        "openedx:instances[0].plugins[0]: 'nope' is not a supported Tutor plugin (supported: credentials, forum, mfe, "
        "notes): the charts would not run its services; README \"Adding a Tutor plugin\" says what supporting one "
        "takes",
        "openedx:instances[0].tutorConfig.CMS_HOST: set by the program; use cmsHost instead",
        "openedx:instances[1].cmsHost: host 'studio.learn.example.com' is already used by "
        "openedx:instances[0].cmsHost",
        "openedx:instances[1].lmsHost: host 'learn.example.com' is already used by openedx:instances[0].lmsHost",
        "openedx:instances[1].meilisearch: host 'meilisearch.learn.example.com' is already used by "
        "openedx:instances[0].meilisearch",
    ]


def test_a_wrong_key_does_not_make_its_checks_report_a_default() -> None:
    """A wrong value gives way to the default only to check the other keys: what reads the wrong key is not run
    (here: the API-access check would otherwise report the valid-but-wrong key as missing)."""
    problems = problems_of({"cloud": "aws", "aws": {"publicAccessCidrs": ["office"]}})
    assert [p for p in problems if p.startswith("openedx:aws")] == [
        "openedx:aws.publicAccessCidrs[0]: 'office' is not a CIDR block (e.g. 203.0.113.0/24)"]


def test_defaults_are_applied_in_code() -> None:
    settings = load({**NO_TLS, "instances": [GOOD_INSTANCE]})
    assert isinstance(settings, StackSettings)
    assert (settings.cloud, settings.environment) == ("local", "dev")
    demo = settings.instances[0]
    assert demo.studio_host == "studio.learn.example.com"
    assert demo.apps_host == "apps.learn.example.com"
    assert demo.plugins == ("forum", "mfe")
    assert demo.contact == "contact@learn.example.com"


def test_an_empty_stack_is_valid() -> None:
    assert load(NO_TLS).instances == ()
