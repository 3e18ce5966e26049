"""The bad-input corpus: every stack in tests/bad_configs/ is invalid, and the offline render must refuse it.

Each `Pulumi.<case>.yaml` there starts with one `# expect: <key path>[: <message fragment>]` line per problem
the render must report (several when the file has several mistakes). The render must exit 2, print one line per
problem on stderr, each starting with its key path, report exactly the expected key paths (no more: a case that
also trips another rule, e.g. the default Let's Encrypt issuer without an e-mail, would hide what it tests), and
write nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from components.settings.model import NAMESPACE
from components.settings.stack import REQUIRED_PROVIDER_KEYS, StackSettings
from offline.evaluation import PROJECT_DIR
from offline.render import main as render_main

CORPUS = Path(__file__).parent / "bad_configs"
CASES = sorted(CORPUS.glob("Pulumi.*.yaml"))
MIN_CASES = 25
END_TO_END_CASE = CORPUS / "Pulumi.many-mistakes.yaml"

KEY_PATH = r"[a-z][a-z-]*:[A-Za-z0-9_.\[\]-]*"
PROBLEM_LINE = re.compile(rf"^({KEY_PATH}): \S")
EXPECT_LINE = re.compile(rf"^# expect: ({KEY_PATH})(?:: (.+))?$")


@dataclass(frozen=True)
class Expected:
    path: str
    fragment: str | None  # text the problem's line must contain, when given


def case_id(stack_file: Path) -> str:
    return stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")


def expectations(stack_file: Path) -> list[Expected]:
    """The `# expect:` lines of the file's leading comment block."""
    found = []
    for line in stack_file.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# expect:"):
            match = EXPECT_LINE.match(line)
            assert match, f"{stack_file.name}: malformed expect line {line!r}"
            found.append(Expected(match[1], match[2]))
    return found


def reported_paths(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    assert lines, "nothing reported on stderr"
    matches = [(line, PROBLEM_LINE.match(line)) for line in lines]
    unlabelled = [line for line, match in matches if match is None]
    assert not unlabelled, f"stderr lines that do not start with a key path: {unlabelled}"
    return [match[1] for _, match in matches if match is not None]


def check_refused(stack_file: Path, code: int, stderr: str, out: Path) -> list[str]:
    """Exit 2, exactly the expected problems, each on a line starting with its key path, nothing rendered."""
    report = f"{stack_file.name} reported:\n{stderr}"
    assert code == 2, report
    assert not out.exists(), f"{stack_file.name}: {out} was written"
    paths = reported_paths(stderr)
    lines = stderr.splitlines()
    for expected in expectations(stack_file):
        at_path = [line for line in lines if line.startswith(f"{expected.path}: ")]
        assert at_path, f"no problem reported at {expected.path}; {report}"
        if expected.fragment is not None:
            assert any(expected.fragment in line for line in at_path), (
                f"no problem at {expected.path} says {expected.fragment!r}; {report}"
            )
    assert Counter(paths) == Counter(e.path for e in expectations(stack_file)), f"unexpected problems; {report}"
    return paths


# --- the corpus itself ---------------------------------------------------------------------------------------------


def test_corpus_files_are_stacks_that_say_what_they_expect() -> None:
    assert len(CASES) >= MIN_CASES, f"{len(CASES)} cases in {CORPUS}, at least {MIN_CASES} expected"
    for stack_file in CASES:
        first_line = stack_file.read_text().splitlines()[0]
        assert EXPECT_LINE.match(first_line), f"{stack_file.name} must start with '# expect: <key path>'"
        document = yaml.safe_load(stack_file.read_text())
        assert isinstance(document, dict) and set(document) == {"config"}, f"{stack_file.name}: only a config: map"
        assert isinstance(document["config"], dict) and document["config"], stack_file.name
        assert all(":" in key for key in document["config"]), f"{stack_file.name}: keys are namespaced"


def _models_in(annotation: Any) -> Iterator[tuple[type[BaseModel], bool]]:
    """The models an annotation holds, each with whether it is a list of them (`tuple[Model, ...]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, False
        return
    for arg in get_args(annotation):
        for model, listed in _models_in(arg):
            yield model, listed or get_origin(annotation) is tuple


def sections(model: type[BaseModel] = StackSettings, path: str = NAMESPACE) -> Iterator[tuple[str, str]]:
    """(model name, key path) of every nested settings model; list items as `[]`."""
    for name, field in model.model_fields.items():
        key = field.alias or name
        for nested, listed in _models_in(field.annotation):
            nested_path = f"{path}{':' if path == NAMESPACE else '.'}{key}{'[]' if listed else ''}"
            yield nested.__name__, nested_path
            yield from sections(nested, nested_path)


def test_corpus_covers_every_settings_section_and_provider_key() -> None:
    """A bad case for every part of the model (instances, workloads, local, aws, platform.tls.dns01, …), every
    top-level key and every provider key a cloud requires: a new section needs a bad example here."""
    expected = {re.sub(r"\[\d+\]", "[]", e.path) for stack_file in CASES for e in expectations(stack_file)}

    def covered(path: str) -> bool:
        return any(p == path or p.startswith((f"{path}.", f"{path}[")) for p in expected)

    by_model: dict[str, list[str]] = {}
    for model, path in sections():
        by_model.setdefault(model, []).append(path)
    missing = sorted(model for model, paths in by_model.items() if not any(covered(p) for p in paths))
    assert not missing, f"no bad case for: {missing}"
    top_level = [f"{NAMESPACE}:{field.alias or name}" for name, field in StackSettings.model_fields.items()]
    assert not [p for p in top_level if not covered(p)], "a top-level key without a bad case"
    provider_keys = {key for keys in REQUIRED_PROVIDER_KEYS.values() for key in keys}
    assert provider_keys <= expected, f"no bad case for {sorted(provider_keys - expected)}"


# --- the render refuses each case ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack_file", CASES, ids=[case_id(c) for c in CASES])
def test_bad_stack_is_refused_with_every_problem_at_its_key_path(
    stack_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = render_main([str(stack_file), "--out", str(out)])
    captured = capsys.readouterr()
    check_refused(stack_file, code, captured.err, out)
    assert captured.out == ""


def test_the_command_exits_2_end_to_end(tmp_path: Path) -> None:
    """One case through `python -m offline.render`: the exit status and stderr a user or CI sees, problems in
    the order of the instances they concern (stack-wide ones first)."""
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "offline.render", str(END_TO_END_CASE), "--out", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    paths = check_refused(END_TO_END_CASE, result.returncode, result.stderr, out)
    assert paths == [e.path for e in expectations(END_TO_END_CASE)]
    assert result.stdout == ""
