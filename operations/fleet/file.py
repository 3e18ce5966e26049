"""The fleet file: which platform stack, which instance stacks in which waves, and how many update at once.

Parsed with PyYAML and validated by pydantic into `FleetFile`; every mistake is reported at once, one line each,
naming its key (`instances[1].wave: ...`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # what `pulumi stack init` accepts for a project-scoped name


class FleetError(Exception):
    """A fleet that cannot run: every problem, one line each, naming its key or stack file."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid fleet:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


def _stack_name(value: str) -> str:
    if not _STACK_NAME.match(value):
        raise ValueError(f"{value!r} is not a stack name (letters, digits, '-', '_' and '.')")
    return value


StackName = Annotated[str, AfterValidator(_stack_name)]


class FleetStack(BaseModel):
    """An instance stack and the wave it updates in (wave k+1 starts once wave k has finished)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stack: StackName
    wave: int = Field(default=0, ge=0)


def _entry(value: Any) -> Any:
    """A bare stack name is the stack in wave 0."""
    return {"stack": value} if isinstance(value, str) else value


class FleetFile(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)

    platform: StackName
    instances: tuple[Annotated[FleetStack, BeforeValidator(_entry)], ...] | None = None
    """None: every instance stack of stacks/ whose platform stack is `platform`, in name order."""
    concurrency: int = Field(default=4, ge=1)
    canary: int = Field(default=0, ge=0)
    stop_on_failure: bool = False


def key_path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or "(the file)"


def _known_keys(loc: tuple[str | int, ...]) -> list[str]:
    model: type[BaseModel] = FleetStack if loc[:1] == ("instances",) else FleetFile
    return sorted(field.alias or name for name, field in model.model_fields.items())


def describe(error: ValidationError) -> list[str]:
    """One line per mistake, starting with its key."""
    problems = []
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"{key_path(loc)}: unknown key; known keys: {', '.join(_known_keys(loc))}")
            continue
        message = str(err["msg"]).removeprefix("Value error, ").replace("a valid tuple", "a list")
        if err["type"] != "missing":
            message += f" (got {err['input']!r})"
        problems.append(f"{key_path(loc)}: {message}")
    return problems


def parse(document: Any) -> FleetFile:
    """The fleet file's YAML document, validated; FleetError with every mistake otherwise."""
    if not isinstance(document, dict):
        raise FleetError([f"(the file): must be a mapping with at least `platform:`, got {type(document).__name__}"])
    try:
        return FleetFile.model_validate(document)
    except ValidationError as error:
        raise FleetError(describe(error)) from None


def read(path: Path) -> FleetFile:
    try:
        text = path.read_text()
    except OSError as error:
        raise FleetError([f"{path}: cannot be read ({error.strerror or error})"]) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise FleetError([f"{path}: not valid YAML: {' '.join(str(error).split())}"]) from None
    try:
        return parse(document)
    except FleetError as error:
        raise FleetError([f"{path}: {problem}" for problem in error.problems]) from None
