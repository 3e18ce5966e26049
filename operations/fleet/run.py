"""The concurrent runner: the plan's groups in order on a bounded thread pool, each stack's operations through a
`StackRunner`, and the interrupt that stops launching and cancels what runs.

Interrupts are requested from a signal handler, which only counts them (`request_interrupt`); the scheduling loop,
in the calling thread, acts on them: the first stops launching new stacks and asks the runner to cancel the
running operations; each further one is passed on too (the Pulumi CLI then terminates at once).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pulumi.automation import events

from operations.fleet.plan import Group, not_run_reason
from operations.fleet.progress import FINAL, Phase, StackProgress

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 130
OnEvent = Callable[[events.EngineEvent], None]
Operation = Literal["preview", "up", "destroy"]


class OperationFailed(Exception):
    """A Pulumi operation that did not succeed: its message is the CLI's output, the fallback for the engine's
    error diagnostics."""


@dataclass(frozen=True)
class LastUpdate:
    kind: str
    result: str
    time: datetime


class StackRunner(Protocol):
    """What the fleet asks of Pulumi, one stack at a time (the Automation API, or a fake in the tests). The
    operations raise OperationFailed on failure."""

    def preview(self, stack: str, on_event: OnEvent) -> None: ...

    def up(self, stack: str, on_event: OnEvent) -> None: ...

    def destroy(self, stack: str, on_event: OnEvent) -> None: ...

    def remove(self, stack: str) -> None:
        """`pulumi stack rm`, keeping the stack file."""

    def history(self, stack: str) -> LastUpdate | None:
        """The last operation, None when there is none (or no such stack)."""

    def outputs(self, stack: str) -> Mapping[str, Any]:
        """The stack's outputs, empty when it has none (or does not exist)."""

    def interrupt(self) -> None:
        """Send the operations running now one SIGINT each; refuse to start new ones."""

    def release_stale_locks(self) -> list[str]:
        """Once every operation has ended: remove the stack locks they left, if any; a line about each."""


class Reporter(Protocol):
    """How a run is shown: called from the stacks' threads (`changed`) and from the scheduling loop (the rest)."""

    def changed(self, progress: StackProgress, line: str) -> None: ...

    def tick(self, progress: Sequence[StackProgress]) -> None: ...

    def note(self, message: str) -> None: ...


# The phases each operation goes through, and the runner call of each.
STEPS: Mapping[Operation, tuple[tuple[Phase, str], ...]] = {
    "preview": (("preview", "preview"),),
    "up": (("preview", "preview"), ("updating", "up")),
    "destroy": (("destroying", "destroy"),),
}
INTERRUPTED = ("interrupted: no stack starts any more; the running ones are cancelling (the Pulumi CLI finishes the "
               "resource operations in flight, saves the state and releases the stack's lock). Interrupt again to "
               "make it terminate at once, which can leave pending operations and a locked stack.")
INTERRUPTED_AGAIN = "interrupted again: the running Pulumi CLIs are told to terminate at once"


class FleetRun:
    def __init__(self, runner: StackRunner, groups: Sequence[Group], operation: Operation, concurrency: int,
                 stop_on_failure: bool, reporter: Reporter, tick_seconds: float = 0.1,
                 waves: Mapping[str, int] | None = None) -> None:
        """`waves`: each stack's wave as the fleet file says, for the display (default: its group's)."""
        self.runner, self.groups, self.operation = runner, list(groups), operation
        self.concurrency, self.stop_on_failure, self.reporter = concurrency, stop_on_failure, reporter
        self.tick_seconds = tick_seconds
        self.progress = {name: StackProgress(name, (waves or {}).get(name, group.wave))
                         for group in self.groups for name in group.stacks}
        self._requested = 0  # interrupts asked for (by a signal handler: nothing else happens there)
        self._handled = 0
        self._cancel = threading.Event()

    @property
    def interrupted(self) -> bool:
        return self._cancel.is_set()

    def request_interrupt(self) -> None:
        """Safe in a signal handler: the scheduling loop acts on it within a tick."""
        self._requested += 1

    def run(self) -> int:
        """Run every group in order; return the exit code."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for index, group in enumerate(self.groups):
                self._handle_interrupts()
                if self.interrupted:
                    self._skip(self.groups[index:], "not run: interrupted")
                    break
                self._wait([pool.submit(self._run_stack, name) for name in group.stacks])
                failed = [name for name in group.stacks if self.progress[name].phase == "failed"]
                reason = not_run_reason(group, failed, self.stop_on_failure)
                if reason is not None and not self.interrupted:
                    self._skip(self.groups[index + 1:], reason)
                    break
            self._handle_interrupts()
        self.reporter.tick(list(self.progress.values()))
        return self.exit_code()

    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if any(p.phase != "succeeded" for p in self.progress.values()):
            return EXIT_FAILED
        return EXIT_OK

    def _wait(self, futures: list[concurrent.futures.Future[None]]) -> None:
        """Wait for a group, acting on interrupts and refreshing the display meanwhile."""
        pending = set(futures)
        while pending:
            _, pending = concurrent.futures.wait(pending, timeout=self.tick_seconds)
            self._handle_interrupts()
            self.reporter.tick(list(self.progress.values()))
        for future in futures:
            future.result()  # a bug of ours in a stack's thread is not swallowed

    def _handle_interrupts(self) -> None:
        while self._handled < self._requested:
            self._handled += 1
            first = not self._cancel.is_set()
            self._cancel.set()
            self.reporter.note(INTERRUPTED if first else INTERRUPTED_AGAIN)
            self.runner.interrupt()
            for progress in self.progress.values():
                progress.cancelling = progress.started is not None and progress.phase not in FINAL

    def _skip(self, groups: Sequence[Group], reason: str) -> None:
        for group in groups:
            for name in group.stacks:
                progress = self.progress[name]
                if progress.phase == "waiting":
                    progress.finish("skipped", reason)
                    self.reporter.changed(progress, reason)

    def _run_stack(self, name: str) -> None:
        progress = self.progress[name]
        if self._cancel.is_set():  # queued behind the pool's bound when the interrupt came
            progress.finish("skipped", "not run: interrupted")
            self.reporter.changed(progress, progress.error)
            return
        self.reporter.changed(progress, f"started (wave {progress.wave})")
        try:
            for phase, call in STEPS[self.operation]:
                if self._cancel.is_set():
                    raise OperationFailed("interrupted")
                if phase == "updating" and progress.plans_no_change():
                    # Nothing to update: the stack's own `up` would only evaluate the program again. (Its outputs
                    # stay as its last update wrote them.)
                    progress.message = "no changes"
                    break
                progress.enter(phase)
                self.reporter.changed(progress, phase)
                getattr(self.runner, call)(name, self._on_event(progress))
        except Exception as error:  # any failure of a stack is that stack's, never the fleet's
            if self._cancel.is_set():
                progress.finish("cancelled", "interrupted")
            else:
                progress.finish("failed", progress.failure(str(error)) or type(error).__name__)
        else:
            progress.finish("succeeded")
        self.reporter.changed(progress, progress.phase + (f": {progress.error}" if progress.error else ""))

    def _on_event(self, progress: StackProgress) -> OnEvent:
        def on_event(event: events.EngineEvent) -> None:
            line = progress.apply(event)
            if line:
                self.reporter.changed(progress, line)
        return on_event
