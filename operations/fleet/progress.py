"""One stack's progress through a fleet run, kept up to date from the Pulumi engine's events.

The engine announces each resource step before it runs (ResourcePreEvent) and when it is done (ResOutputsEvent),
reports its diagnostics (an error's text is what a failure shows), and ends with a summary of the changes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pulumi.automation import events

Phase = Literal["waiting", "preview", "updating", "destroying", "succeeded", "failed", "cancelled", "skipped"]
FINAL: frozenset[Phase] = frozenset({"succeeded", "failed", "cancelled", "skipped"})

_VERBS = {"create": ("creating", "created"), "update": ("updating", "updated"), "delete": ("deleting", "deleted"),
          "replace": ("replacing", "replaced"), "create-replacement": ("creating replacement", "created replacement"),
          "delete-replaced": ("deleting replaced", "deleted replaced"), "read": ("reading", "read"),
          "refresh": ("refreshing", "refreshed"), "import": ("importing", "imported")}
# Terminal colours (ANSI) and the engine's own colour tags (`<{%fg 1%}>`), which a message may carry.
_COLOURS = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|<\{%[^%]*%\}>")
_GENERIC_FAILURE = re.compile(r"^(error: )?(update|preview|destroy|refresh) failed\.?$")


def _op(op: object) -> str:
    """An OpType, or the string the event carried."""
    return str(getattr(op, "value", op))


def _verb(op: object) -> tuple[str, str]:
    return _VERBS.get(_op(op), (_op(op), _op(op)))


def plain(text: str) -> str:
    return _COLOURS.sub("", text)


def last_line(text: str) -> str:
    lines = [line.strip() for line in plain(text).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def resource_name(urn: str) -> str:
    """`urn:pulumi:s::p::kubernetes:apps/v1:Deployment::lms` → `Deployment lms`."""
    parts = urn.split("::")
    if len(parts) < 4:
        return urn
    kind = parts[-2].split("$")[-1].split(":")[-1]
    return f"{kind} {parts[-1]}"


def format_changes(changes: Mapping[str, int] | None) -> str:
    """`+3 ~1 -0`, with `±N` when resources are replaced; empty when nothing was counted."""
    if not changes:
        return ""
    text = f"+{changes.get('create', 0)} ~{changes.get('update', 0)} -{changes.get('delete', 0)}"
    return text + (f" ±{changes['replace']}" if changes.get("replace") else "")


@dataclass
class StackProgress:
    stack: str
    wave: int
    phase: Phase = "waiting"
    started: float | None = None
    finished: float | None = None
    done: int = 0
    """Resource steps done in the current phase."""
    seen: int = 0
    """Resource steps announced in the current phase."""
    total: int = 0
    """Resource steps of the current phase: the preview's count during an update (or more, when more are announced),
    else those announced so far."""
    message: str = ""
    changes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    """The engine's error diagnostics, in order."""
    error: str = ""
    """Why the stack failed or was not run: one line."""
    cancelling: bool = False
    """Interrupted while running: its CLI is finishing the operations in flight."""

    def elapsed(self, now: float | None = None) -> float:
        if self.started is None:
            return 0.0
        end = self.finished if self.finished is not None else (now if now is not None else time.monotonic())
        return max(0.0, end - self.started)

    def enter(self, phase: Phase) -> None:
        """A new phase: its own steps and changes (an update after its preview counts against the preview's)."""
        if self.started is None:
            self.started = time.monotonic()
        planned = self.total if self.phase == "preview" else 0
        self.phase, self.done, self.seen, self.total, self.changes = phase, 0, 0, planned, {}

    def finish(self, phase: Phase, error: str = "") -> None:
        self.phase, self.error, self.finished = phase, error, time.monotonic()
        if phase == "succeeded":
            self.message = ""

    def plans_no_change(self) -> bool:
        """The phase's summary (a preview's plan) changes no resource."""
        return bool(self.changes) and set(self.changes) <= {"same"}

    def failure(self, fallback: str) -> str:
        """The line a failure shows: the engine's first error diagnostic but a generic "update failed" (the cause;
        those after it are its consequences, such as "Resource monitor has terminated"), else `fallback` (the
        CLI's output)."""
        specific = [e for e in self.errors if not _GENERIC_FAILURE.match(last_line(e))]
        chosen = specific or self.errors
        return last_line(chosen[0]) if chosen else last_line(fallback)

    def _doing(self, op: object) -> str:
        return f"would {_op(op)}" if self.phase == "preview" else _verb(op)[0]  # a preview only plans

    def apply(self, event: events.EngineEvent) -> str | None:
        """Take an engine event into account; return the line a plain log shows for it, if any."""
        if event.resource_pre_event is not None:
            step = event.resource_pre_event.metadata
            self.seen += 1
            self.total = max(self.total, self.seen)
            if _op(step.op) not in ("same", "read"):
                self.message = f"{self._doing(step.op)} {resource_name(step.urn)}"
            return None
        if event.res_outputs_event is not None:
            step = event.res_outputs_event.metadata
            self.done += 1
            if _op(step.op) in ("same", "read"):
                return None
            verb = f"would {_op(step.op)}" if self.phase == "preview" else _verb(step.op)[1]
            self.message = f"{verb} {resource_name(step.urn)}"
            return self.message
        if event.res_op_failed_event is not None:
            self.message = f"failed: {resource_name(event.res_op_failed_event.metadata.urn)}"
            return self.message
        if event.diagnostic_event is not None:
            diagnostic = event.diagnostic_event
            if diagnostic.severity == "error":
                self.errors.append(diagnostic.message)
            if diagnostic.severity in ("error", "warning") and not diagnostic.ephemeral:
                self.message = f"{diagnostic.severity}: {last_line(diagnostic.message)}"
                return self.message
            return None
        if event.summary_event is not None:
            self.changes = {_op(op): count for op, count in event.summary_event.resource_changes.items()}
            return None
        return None  # a CancelEvent only marks the end of the stream
