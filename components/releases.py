"""A Helm Release of one of the project's own charts, as every instance Release and the provisioning Release are."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.charts import PROJECT_DIR, chart_digest, package_dependencies

RELEASE_HISTORY = 10


def with_chart_digest(chart: str, values: dict[str, Any]) -> dict[str, Any]:
    """Any edit of the chart's files changes the Release's inputs, so it is rolled out."""
    return {**values, "global": {**values.get("global", {}), "chartDigest": chart_digest(chart)}}


def chart_release(
    resource_name: str,
    chart: str,
    release_name: str,
    namespace: pulumi.Input[str],
    release_values: pulumi.Input[dict[str, Any]],
    opts: pulumi.ResourceOptions,
    depends_on: list[pulumi.Resource],
    timeout: int = 600,
) -> k8s.helm.v3.Release:
    """Atomic (a failed upgrade is rolled back), with a bounded history, and upgraded by any edit of the chart."""
    package_dependencies(PROJECT_DIR / chart)  # the provider would keep a stale copy of the library
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        chart=chart,
        namespace=namespace,
        values=pulumi.Output.from_input(release_values).apply(lambda v: with_chart_digest(chart, v)),
        atomic=True,
        cleanup_on_fail=True,
        max_history=RELEASE_HISTORY,
        timeout=timeout,
        # The Release name is fixed: a replacement must remove the old one before installing the new.
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=depends_on, delete_before_replace=True)
        ),
    )
