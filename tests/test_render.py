"""The offline render: same code path as `pulumi up`, deterministic, and clear on bad config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from offline.evaluation import PROJECT_DIR, evaluate_stack_file
from offline.render import main as render_main
from tests.conftest import STACKS, ExampleStacks

LOCAL = PROJECT_DIR / "stacks" / "Pulumi.local.yaml"


def resources(out: Path) -> list[dict]:
    return json.loads((out / "resources.json").read_text())["resources"]


def test_local_stack_renders_with_an_explicit_provider_for_everything(tmp_path: Path) -> None:
    assert render_main([str(LOCAL), "--out", str(tmp_path)]) == 0
    records = resources(tmp_path)
    providers = [r for r in records if r["type"] == "pulumi:providers:kubernetes"]
    assert len(providers) == 1
    provider_ref = f"{providers[0]['urn']}::{providers[0]['name']}-id"
    stack_urn = "urn:pulumi:local::openedx::pulumi:pulumi:Stack::openedx-local"
    urns = {r["urn"] for r in records} | {stack_urn}
    for record in records:
        assert record["parent"] in urns, record["urn"]
        if record["type"].startswith("kubernetes:"):
            assert record["provider"] == provider_ref, record["urn"]
    assert providers[0]["inputs"]["clusterIdentifier"] == "local:current-context"
    # Fixed-name Secrets (credentials, a rotated password) are updated in place, never replaced under their name.
    assert providers[0]["inputs"]["enableSecretMutable"] in (True, "true")


def _files(out: Path) -> dict[Path, bytes]:
    return {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("stack_file", STACKS, ids=[s.name for s in STACKS])
def test_two_renders_are_byte_identical(stack_file: Path, tmp_path: Path, example_stacks: ExampleStacks) -> None:
    """A second render, in a process that has evaluated other stacks since, writes the same bytes."""
    first = example_stacks[stack_file].out
    assert render_main([str(stack_file), "--out", str(tmp_path)]) == 0
    assert _files(tmp_path) == _files(first)


def test_component_type_tokens_have_three_parts(tmp_path: Path) -> None:
    assert render_main([str(LOCAL), "--out", str(tmp_path), "--no-manifests"]) == 0
    for record in resources(tmp_path):
        package, module, name = record["type"].split(":")
        assert package and module and name


def write_stack(tmp_path: Path, config: dict) -> Path:
    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}))
    return stack_file


def test_bad_config_exits_2_with_one_line_per_mistake_and_renders_nothing(tmp_path: Path) -> None:
    stack_file = write_stack(
        tmp_path,
        {
            "openedx:cloud": "openstack",
        "openedx:platform": {"tls": {"issuer": "none"}},
            "openedx:instances": [
                {"name": "demo", "lmsHost": "x y"},
                {"name": "demo", "lmsHost": "ok.example.com", "lmsHots": "typo.example.com"},
            ],
        },
    )
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "offline.render", str(stack_file), "--out", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "openedx:cloud: Input should be 'local', 'aws', 'gcp' or 'azure' (got 'openstack')",
        "openedx:instances[0].lmsHost: 'x y' is not a valid host name",
        "openedx:instances[1].lmsHots: unknown key; did you mean 'lmsHost'?",
        "openedx:instances[1].name: 'demo' is already used by instances[0]",
    ]
    assert not out.exists()


@pytest.mark.parametrize("stack_file", STACKS, ids=[s.name for s in STACKS])
def test_a_preview_registers_what_the_update_does(stack_file: Path, example_stacks: ExampleStacks) -> None:
    """In a preview whatever a provider computes is unknown (the mocks leave it so, as the engine does): nothing the
    program creates may wait for such a value, or the preview would not show it."""
    preview = evaluate_stack_file(stack_file, preview=True)
    assert set(preview.resources) == set(example_stacks[stack_file].recording.resources)


def test_secrets_are_redacted_unless_asked(tmp_path: Path) -> None:
    hidden, shown = tmp_path / "hidden", tmp_path / "shown"
    assert render_main([str(LOCAL), "--out", str(hidden), "--no-manifests"]) == 0
    assert render_main([str(LOCAL), "--out", str(shown), "--no-manifests", "--show-secrets"]) == 0
    assert "4dabf18193072939515e22adb298388d" not in (hidden / "resources.json").read_text()
    assert "4dabf18193072939515e22adb298388d" not in (shown / "resources.json").read_text()
