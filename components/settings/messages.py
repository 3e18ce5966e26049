"""Pydantic's errors as one line each, starting with the key path, with a hint for unknown keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from components.settings.model import NAMESPACE

SECRET_KEYS = frozenset({"password"})
"""Keys whose input an error message never repeats."""


def describe(error: ValidationError, model: type[BaseModel], prefix: tuple[str | int, ...]) -> list[str]:
    return [_describe_one(dict(e), model, prefix) for e in error.errors(include_url=False)]


def _describe_one(err: dict[str, Any], model: type[BaseModel], prefix: tuple[str | int, ...]) -> str:
    loc = tuple(err["loc"])
    path = key_path(prefix + loc)
    if err["type"] == "extra_forbidden":
        known = _field_names(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else f"; known keys: {', '.join(sorted(known))}"
        return f"{path}: unknown key{hint}"
    message = str(err["msg"]).removeprefix("Value error, ").replace("a valid tuple", "a list")
    if err["type"] in (
        "literal_error",
        "string_type",
        "int_type",
        "int_parsing",
        "bool_type",
        "bool_parsing",
        "list_type",
        "tuple_type",
        "dict_type",
        "model_type",
        "float_type",
    ) and not (loc and loc[-1] in SECRET_KEYS):
        message += f" (got {err['input']!r})"
    return f"{path}: {message}"


def key_path(loc: Iterable[str | int]) -> str:
    path = NAMESPACE
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += (":" if index == 0 else ".") + part
    return path


def _field_names(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The camelCase keys accepted at `loc` inside `model` (for "did you mean" hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {(f.alias or name): f for name, f in current.model_fields.items()}
        if part not in fields:
            return []
        current = _model_in(fields[part].annotation)
        if current is None:
            return []
    return [(f.alias or name) for name, f in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None or get_args(annotation):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
