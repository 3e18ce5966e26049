"""What a fleet run shows: a live table of its stacks on a terminal, one line per change elsewhere (CI, logs), then
a summary; and the table of `status`. The tables are plain text built by pure functions."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Sequence
from typing import TextIO

from operations.fleet.progress import FINAL, StackProgress, format_changes

RESULTS = {"succeeded": "succeeded", "failed": "failed", "cancelled": "cancelled", "skipped": "not run"}


def duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int | None = None) -> list[str]:
    """Columns padded to their widest cell; lines cut at `width` (a wrapped line would break a live redraw)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
             for row in (headers, *rows)]
    if width is not None:
        lines = [line if len(line) <= width else line[: max(width - 1, 0)] + "…" for line in lines]
    return lines


def progress_rows(progress: Sequence[StackProgress], now: float) -> list[list[str]]:
    rows = []
    for p in progress:
        resources = f"{p.done}/{p.total}" if p.phase not in ("waiting", "skipped") and p.total else ""
        phase = f"{p.phase} (cancelling)" if p.cancelling and p.phase not in FINAL else p.phase
        rows.append([p.stack, str(p.wave), phase, resources, duration(p.elapsed(now)) if p.started else "",
                     p.error if p.phase in FINAL else p.message])
    return rows


# What a table too tall for the terminal keeps first: running stacks, then failures, then those yet to run.
_PRIORITY = {"preview": 0, "updating": 0, "destroying": 0, "failed": 1, "cancelled": 1, "waiting": 2}


def progress_table(progress: Sequence[StackProgress], now: float, width: int | None = None,
                   height: int | None = None) -> list[str]:
    """The live table; with `height`, the stacks that matter most when they do not all fit (a table taller than the
    screen could not be redrawn in place), and how many are left out."""
    shown, hidden = list(progress), []
    if height is not None and len(progress) + 1 > height:
        ranked = sorted(progress, key=lambda p: _PRIORITY.get(p.phase, 3))
        keep = {id(p) for p in ranked[: max(height - 2, 0)]}
        shown = [p for p in progress if id(p) in keep]
        hidden = [p for p in progress if id(p) not in keep]
    lines = table(["STACK", "WAVE", "PHASE", "RESOURCES", "ELAPSED", "MESSAGE"], progress_rows(shown, now), width)
    if hidden:
        counts: dict[str, int] = {}
        for p in hidden:
            counts[RESULTS.get(p.phase, p.phase)] = counts.get(RESULTS.get(p.phase, p.phase), 0) + 1
        lines.append(f"… {len(hidden)} more: " + ", ".join(f"{n} {phase}" for phase, n in counts.items()))
    return lines


def summary_table(progress: Sequence[StackProgress]) -> list[str]:
    rows = [[p.stack, RESULTS.get(p.phase, p.phase), duration(p.elapsed()) if p.started else "",
             format_changes(p.changes), p.error] for p in progress]
    return table(["STACK", "RESULT", "DURATION", "CHANGES", "ERROR"], rows)


def tally(progress: Sequence[StackProgress]) -> str:
    """`2 succeeded, 1 failed, 1 not run`."""
    counts = {label: sum(1 for p in progress if p.phase == phase) for phase, label in RESULTS.items()}
    return ", ".join(f"{count} {label}" for label, count in counts.items() if count)


class PlainReporter:
    """One line per change, for logs: phases, resource steps that change something, warnings and errors."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out, self._lock, self._start = out, threading.Lock(), time.monotonic()

    def _print(self, line: str) -> None:
        elapsed = duration(time.monotonic() - self._start)
        with self._lock:
            print(f"[{elapsed:>6}] {line}", file=self.out, flush=True)

    def changed(self, progress: StackProgress, line: str) -> None:
        self._print(f"{progress.stack}: {line}")

    def tick(self, progress: Sequence[StackProgress]) -> None:
        pass

    def note(self, message: str) -> None:
        self._print(message)


class LiveReporter:
    """A table redrawn in place on a terminal, a few times a second; notes are printed above it."""

    def __init__(self, out: TextIO = sys.stdout, refresh_seconds: float = 0.25) -> None:
        self.out, self.refresh_seconds = out, refresh_seconds
        self._drawn = 0  # lines of the table on screen, to go back over
        self._last = 0.0
        self._progress: Sequence[StackProgress] = ()

    def changed(self, progress: StackProgress, line: str) -> None:
        pass  # the stacks' state is read at the next tick

    def tick(self, progress: Sequence[StackProgress]) -> None:
        self._progress = progress
        now = time.monotonic()
        if now - self._last >= self.refresh_seconds or all(p.phase in FINAL for p in progress):
            self._last = now
            self._draw()

    def note(self, message: str) -> None:
        self._clear()
        print(message, file=self.out)
        self._draw()

    def _clear(self) -> None:
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")  # to the table's first line, then erase to the end
            self._drawn = 0

    def _draw(self) -> None:
        size = shutil.get_terminal_size()
        lines = progress_table(self._progress, time.monotonic(), size.columns, size.lines - 1) if self._progress else []
        self._clear()
        self.out.write("".join(line + "\n" for line in lines))
        self.out.flush()
        self._drawn = len(lines)
