"""The security baseline of an Open edX deployment, as Pulumi policies.

Importable without side effects: `__main__.py` serves `POLICIES` to the Pulumi CLI as a policy pack, and the
tests call each policy's `validate` on the resources recorded from every example stack.

What every policy sees is the resource's *inputs* as the program declared them (stack policies: the outputs
after an update), in camelCase wire names, without the defaults the provider computes later. So a rule only
accepts a missing property where the provider's documented default already satisfies it (for example RDS
`publiclyAccessible`, which defaults to false); everything else must be stated explicitly.

This package depends on nothing but `pulumi-policy` (and the `pulumi` SDK it brings): the pack runs in its own
virtualenv, without the program's packages. One module per concern: `encryption`, `exposure`, `production`,
`workloads` (pods, namespaces, ConfigMaps), `releases`; `common` reads what the engine passes.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from .common import stack_environment
from .encryption import (
    ENCRYPTED_DATABASES,
    ENCRYPTED_OBJECT_STORAGE,
    S3_BUCKETS_ENCRYPTED,
    S3_BUCKETS_PRIVATE,
    S3_PUBLIC_ACCESS_FLAGS,
)
from .exposure import NO_PUBLIC_BUCKETS, NO_PUBLIC_DATABASES
from .production import PRODUCTION_BACKUPS, PRODUCTION_PROTECT
from .releases import ATOMIC_RELEASES, local_chart
from .workloads import NO_CREDENTIALS_IN_CONFIGMAPS, NO_PRIVILEGED_PODS, RESTRICTED_NAMESPACES

POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ENCRYPTED_DATABASES,
    ENCRYPTED_OBJECT_STORAGE,
    S3_BUCKETS_ENCRYPTED,
    S3_BUCKETS_PRIVATE,
    NO_PUBLIC_BUCKETS,
    NO_PUBLIC_DATABASES,
    PRODUCTION_BACKUPS,
    PRODUCTION_PROTECT,
    NO_PRIVILEGED_PODS,
    RESTRICTED_NAMESPACES,
    NO_CREDENTIALS_IN_CONFIGMAPS,
    ATOMIC_RELEASES,
]

__all__ = [
    "ATOMIC_RELEASES", "ENCRYPTED_DATABASES", "ENCRYPTED_OBJECT_STORAGE", "NO_CREDENTIALS_IN_CONFIGMAPS",
    "NO_PRIVILEGED_PODS", "NO_PUBLIC_BUCKETS", "NO_PUBLIC_DATABASES", "POLICIES", "PRODUCTION_BACKUPS",
    "PRODUCTION_PROTECT", "RESTRICTED_NAMESPACES", "S3_BUCKETS_ENCRYPTED", "S3_BUCKETS_PRIVATE",
    "S3_PUBLIC_ACCESS_FLAGS", "local_chart", "stack_environment",
]
