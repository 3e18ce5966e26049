"""What every part of the stack config is made of: the base model (camelCase keys, unknown keys refused), the
validated field types, and the one error that carries every problem.

Bad input stops the program before any resource exists: all problems are collected and reported together,
one line each, naming the key path (`openedx:instances[1].lmsHost: 'x y' is not a valid host name`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

NAMESPACE = "openedx"
Cloud = Literal["local", "aws", "gcp", "azure"]
Environment = Literal["dev", "staging", "production"]
Layout = Literal["all-in-one", "platform", "instances"]
"""all-in-one: the cluster, the add-ons and every instance in one stack; platform: the same, and what instance stacks
need exported (its `platform` output: it usually holds no instance, or the ones not yet moved to stacks of their
own); instances: instances on a platform stack's cluster and shared servers."""

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")
CREDENTIAL = re.compile(r"[A-Za-z0-9!#%&()*+,./:;<=>?@\[\]^_|~=-]+")
"""What a credential issued by someone else (SMTP, S3 static keys) may hold: base64 and URL-safe punctuation, never
a quote, backslash, brace (Tutor renders every value as Jinja), "$" or backtick (shell), whitespace or control
character."""
INSTANCE_NAME_MAX = 30  # leaves room for derived names (`<name>-services`, namespaces, Helm's 53-char limit)


class ConfigError(Exception):
    """Invalid stack config: every problem, one line each, naming its key path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid stack config:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


def _instance_name(value: str) -> str:
    if len(value) > INSTANCE_NAME_MAX:
        raise ValueError(f"{value!r} is too long ({len(value)} characters, at most {INSTANCE_NAME_MAX})")
    if not _DNS_LABEL.match(value):
        raise ValueError(f"{value!r} is not a DNS label (lowercase letters, digits and '-', starting with a letter)")
    return value


def is_host_name(value: str) -> bool:
    labels = value.split(".")
    return (
        len(value) <= 253
        and len(labels) >= 2
        and all(len(label) <= 63 and _HOST_LABEL.match(label) for label in labels)
    )


def _host_name(value: str) -> str:
    if not is_host_name(value):
        raise ValueError(f"{value!r} is not a valid host name")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)")
    return value


def _stack_name(value: str) -> str:
    if not _STACK_NAME.match(value):
        raise ValueError(f"{value!r} is not a stack name ([organization/[project/]]stack: letters, digits, '-', "
                         "'_' and '.')")
    return value


_STACK_NAME = re.compile(r"^([\w.-]+/){0,2}[\w.-]+$")
StackName = Annotated[str, AfterValidator(_stack_name)]
InstanceName = Annotated[str, AfterValidator(_instance_name)]
HostName = Annotated[str, AfterValidator(_host_name)]
Email = Annotated[str, AfterValidator(_email)]
Quantity = Annotated[str, AfterValidator(_quantity)]


class Model(BaseModel):
    """Stack keys are camelCase; unknown keys are errors (typos must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR block (e.g. 203.0.113.0/24)") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


def api_access_problems(key: str, cidrs: tuple[str, ...] | None, production: bool) -> list[str]:
    """Who may reach a managed cluster's API: required, and never the whole internet in production."""
    if cidrs is None:
        return [f"{NAMESPACE}:{key}: required: the CIDRs that may reach the Kubernetes API (where pulumi up "
                "runs), or [] for a private endpoint only"]
    if production and any(ipaddress.ip_network(c).prefixlen == 0 for c in cidrs):
        return [f"{NAMESPACE}:{key}: the whole internet may not reach a production cluster's API; list the "
                "CIDRs that need it"]
    return []


SectionCheck = tuple[frozenset[str], Callable[..., list[str]]]
"""A check that spans several keys of one part of the stack, with the keys it reads: it runs only when none of
them is wrong (a wrong key gives way to its default, which would make the check's findings wrong too)."""
