"""The offline mocks behave as the engine does where the program's correctness depends on it."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from offline.evaluation import evaluate


def _program_with_a_resource_inside_an_apply() -> None:
    """What a preview cannot show: a resource created only once a computed value is known."""
    password = random.RandomPassword("outer", length=16)
    password.result.apply(lambda _: random.RandomString("inner", length=8))
    pulumi.export("outer", password.result)


def test_a_preview_leaves_computed_outputs_unknown() -> None:
    """So a resource created inside an `apply` of a computed output is missing from a preview, as with the engine
    (a preview test that compares the preview with the update can fail for this reason)."""
    update = evaluate({}, "test", program=_program_with_a_resource_inside_an_apply)
    preview = evaluate({}, "test", preview=True, program=_program_with_a_resource_inside_an_apply)
    names = lambda recording: sorted(r.name for r in recording.resources.values())  # noqa: E731
    assert names(update) == ["inner", "outer"]
    assert names(preview) == ["outer"]


def test_a_preview_keeps_what_the_program_gave() -> None:
    preview = evaluate({}, "test", preview=True, program=lambda: random.RandomPassword("outer", length=16))
    (outer,) = preview.resources.values()
    assert outer.outputs["length"] == 16 and "result" not in outer.outputs
