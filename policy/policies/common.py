"""What every policy shares: reading the inputs the engine passes (camelCase wire names, numbers as floats)
and the stack's environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi.runtime
from pulumi_policy import (
    PolicyConfigSchema,
    ResourceValidationArgs,
)

ENVIRONMENT_KEY = "openedx:environment"  # the stack config key; the program's default is dev
DEFAULT_ENVIRONMENT = "dev"
ENVIRONMENTS = ["dev", "staging", "production"]
ENVIRONMENT_SCHEMA = PolicyConfigSchema(
    properties={
        "environment": {
            "type": "string",
            "enum": ENVIRONMENTS,
            "description": "Overrides the stack's openedx:environment for this policy (e.g. to hold a staging "
            "stack to production rules).",
        }
    }
)

MIN_BACKUP_RETENTION_DAYS = 7
S3_BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
CHART_INIT_DEADLINE = 3000  # seconds: the openedx chart's init.activeDeadlineSeconds when the values leave it unset
MAX_RELEASE_HISTORY = 20  # revisions Helm keeps per Release (each one a Secret holding the whole manifest)


def at_path(props: Any, path: str) -> Any:
    """The value at a dotted path of nested mappings, or None if any step is missing."""
    value = props
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def is_true(value: Any) -> bool:
    return value is True


def number(value: Any) -> float | None:
    """Numbers arrive as floats (protobuf Struct); booleans are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def listed(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def kind_of(resource_type: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` → (`kubernetes`, `Deployment`)."""
    parts = resource_type.split(":")
    return parts[0], parts[-1]


def stack_environment(policy_config: Mapping[str, Any]) -> str:
    """The stack's environment: the policy's own `environment` setting if an operator gave one, else the stack
    config `openedx:environment`, which the CLI hands every policy pack in the PULUMI_CONFIG environment
    variable (`args.get_config()` is the policy-pack config, not the stack's), else the program's default."""
    value = policy_config.get("environment")
    if value is None:
        value = pulumi.runtime.get_config_env().get(ENVIRONMENT_KEY)
    return str(value) if value else DEFAULT_ENVIRONMENT


def in_production(args: ResourceValidationArgs) -> bool:
    return stack_environment(args.get_config()) == "production"
