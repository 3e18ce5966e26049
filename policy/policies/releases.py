"""Application Releases: atomic, with a bounded history, and patient enough for their migrations."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .common import (
    CHART_INIT_DEADLINE,
    MAX_RELEASE_HISTORY,
    at_path,
    is_true,
    number,
)

# --- 9. application Releases are atomic, patient and bounded ------------------------------------------------------

HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


def local_chart(props: Mapping[str, Any]) -> PurePosixPath | None:
    """The chart path if the Release installs one of the project's charts (a path under charts/), else None."""
    chart = props.get("chart")
    if not isinstance(chart, str) or "://" in chart or at_path(props, "repositoryOpts.repo"):
        return None
    path = PurePosixPath(chart.removeprefix("./").rstrip("/"))
    parts = path.parts
    if "charts" not in parts or parts.index("charts") == len(parts) - 1:
        return None
    return path


def _check_release(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != HELM_RELEASE_TYPE:
        return
    props = args.props
    chart = local_chart(props)
    if chart is None:
        return
    if not is_true(props.get("atomic")):
        report_violation(f"Release of {chart} has atomic={props.get('atomic')!r}: set atomic=True, so a failed "
                         "upgrade rolls back instead of leaving the instance half-upgraded.", None)
    history = number(props.get("maxHistory"))
    if history is None or not 0 < history <= MAX_RELEASE_HISTORY:
        report_violation(f"Release of {chart} has maxHistory={props.get('maxHistory')!r}: set 1 to "
                         f"{MAX_RELEASE_HISTORY} (unset or 0 keeps every revision forever).", None)
    # In a preview the values may not be known yet: the check waits for the update, where they are.
    if chart.parts[-2:] == ("charts", "openedx") and isinstance(props.get("values"), Mapping):
        timeout = number(props.get("timeout"))
        deadline = number(at_path(props, "values.init.activeDeadlineSeconds")) or CHART_INIT_DEADLINE
        if timeout is None or timeout <= deadline:
            report_violation(
                f"Release of {chart} has timeout={props.get('timeout')!r}: set more than its init Jobs' deadline "
                f"({deadline:.0f} s, values init.activeDeadlineSeconds). Helm applies it to each hook, the "
                "provider's default is 300 s, and a first migration takes far longer: the atomic Release would "
                "roll back mid-migration.",
                None,
            )


ATOMIC_RELEASES = ResourceValidationPolicy(
    name="application-releases-atomic",
    description="Every helm.v3.Release of a chart under charts/ is atomic with a bounded maxHistory (1 to "
    f"{MAX_RELEASE_HISTORY}), and the charts/openedx Release has a timeout longer than its init Jobs' deadline "
    f"(values init.activeDeadlineSeconds, {CHART_INIT_DEADLINE} s unset) so migrations finish before Helm gives up.",
    validate=_check_release,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
)
