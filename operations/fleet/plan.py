"""The order a fleet's stacks run in: the canary stacks first, each alone, then each wave once the one before has
finished. Pure: what runs next, and what is not run after a failure, is decided here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from operations.fleet.file import FleetStack


@dataclass(frozen=True)
class Group:
    """Stacks that run together (at most `concurrency` at once); the next group starts when this one is done."""

    stacks: tuple[str, ...]
    wave: int
    canary: bool = False

    @property
    def label(self) -> str:
        return f"canary {self.stacks[0]}" if self.canary else f"wave {self.wave}"


def waves(stacks: Sequence[FleetStack]) -> list[tuple[int, tuple[str, ...]]]:
    """The stacks by wave, waves in order, each in the fleet file's order."""
    numbers = sorted({entry.wave for entry in stacks})
    return [(n, tuple(entry.stack for entry in stacks if entry.wave == n)) for n in numbers]


def update_plan(stacks: Sequence[FleetStack], canary: int) -> list[Group]:
    """`up`: the first `canary` stacks of the first wave, one group each, then the waves."""
    groups: list[Group] = []
    for index, (number, names) in enumerate(waves(stacks)):
        if index == 0 and canary:
            groups += [Group((name,), number, canary=True) for name in names[:canary]]
            names = names[canary:]
        if names:
            groups.append(Group(names, number))
    return groups


def preview_plan(stacks: Sequence[FleetStack]) -> list[Group]:
    """`preview`: every stack at once (a preview changes nothing, so neither waves nor a canary hold one back)."""
    return [Group(tuple(name for _, names in waves(stacks) for name in names), 0)] if stacks else []


def not_run_reason(group: Group, failed: Sequence[str], stop_on_failure: bool) -> str | None:
    """Why the groups after `group` do not run, given the stacks of `group` that failed: a failed canary stops
    everything; a failed wave stops the waves after it only with stopOnFailure."""
    if not failed:
        return None
    if group.canary:
        return f"not run: canary {failed[0]} failed"
    if stop_on_failure:
        return f"not run: wave {group.wave} failed ({', '.join(failed)}; stopOnFailure)"
    return None
