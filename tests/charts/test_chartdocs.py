"""The chart docs: one description per value in values.yaml, from which the README tables (readme-generator-for-helm)
and values.schema.json (charts/tools/chartdocs.py) are generated, and what the schema accepts and refuses."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from chart_render import CHARTS, template, template_error

sys.path.insert(0, str(CHARTS / "tools"))
import chartdocs

DOCUMENTED_CHARTS = sorted(chartdocs.charts())
ROW = re.compile(r"^\| `([^`]+)` +\| (.*?) +\|")


def described(schema: dict[str, Any], prefix: str = "") -> dict[str, str | None]:
    """Every property of a schema by its dotted path (as the README names it), with its description."""
    result: dict[str, str | None] = {}
    for key, node in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        result[path] = node.get("description")
        result.update(described(node, path + "."))
    return result


@pytest.mark.parametrize("chart", DOCUMENTED_CHARTS, ids=lambda path: path.name)
def test_the_readme_and_the_schema_say_the_same_of_each_value(chart: Path) -> None:
    """The two generators read the one description: every row of the README's Parameters tables is the schema's
    description of that path."""
    schema = described(chartdocs.chart_schema(chart))
    parameters = (chart / "README.md").read_text().split("### Parameters", 1)[1]
    rows = [ROW.match(line) for line in parameters.splitlines()]
    documented = {match.group(1): match.group(2) for match in rows if match}
    assert len(documented) >= 10
    assert {path: schema.get(path) for path in documented} == documented


def write_chart(tmp_path: Path, values: str) -> Path:
    chart = tmp_path / "demo"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text(textwrap.dedent(values))
    return chart


def test_a_schema_takes_types_from_defaults_and_descriptions_from_the_param_lines(tmp_path: Path) -> None:
    chart = write_chart(
        tmp_path,
        """\
        ## @section Pods
        ## @descriptionStart
        ## The web pods.
        ## @descriptionEnd
        web:
          ## @param web.replicaCount Replicas.
          replicaCount: 2
          ## @param web.concurrency [nullable] Processes per pod; null: one per CPU.
          concurrency: 1
          ## @param web.podLabels Extra pod labels.
          podLabels: {}
          ## @param web.args Arguments.
          args: [a, b]
        """,
    )
    web = chartdocs.chart_schema(chart)["properties"]["web"]
    assert web["description"] == "Pods: The web pods."
    assert web["additionalProperties"] is False
    props = web["properties"]
    assert props["replicaCount"] == {"description": "Replicas.", "type": "integer", "minimum": 0}
    assert props["concurrency"]["type"] == ["integer", "null"] and props["concurrency"]["minimum"] == 1
    assert props["podLabels"]["additionalProperties"] == {"type": "string"}
    assert props["args"] == {"description": "Arguments.", "type": "array", "items": {"type": "string"}}


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ("## @param web.grace Grace.\nweb:\n  grace: null\n", "web.grace"),
        ("## @param hosts Hosts.\nhosts: []\n", "hosts"),
    ],
)
def test_a_value_whose_default_cannot_say_its_type_is_refused(tmp_path: Path, values: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        chartdocs.chart_schema(write_chart(tmp_path, values))


def test_the_schema_accepts_the_kubernetes_fields_the_charts_pass_through() -> None:
    """Open maps stay open: what Kubernetes accepts there, the schema accepts."""
    worker = {
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "resources": {"requests": {"cpu": 1, "memory": "1Gi", "ephemeral-storage": "1Gi"}},
        "livenessProbe": {"successThreshold": 1, "initialDelaySeconds": 30},
        "nodeSelector": {"pool": "workers"},
    }
    render_ = template("openedx", extra={"cms": {"worker": worker}})
    (deployment,) = [doc for doc in render_.of_kind("Deployment") if doc["metadata"]["name"] == "cms-worker"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"
    assert deployment["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "workers"}


def test_each_alias_of_the_edxapp_chart_is_checked_by_its_schema() -> None:
    error = template_error("openedx", extra={"cms": {"worker": {"args": []}}})
    assert "cms:\n- worker.args: Array must have at least 1 items" in error
