"""`status`: each instance stack's last update and what its outputs say of its instances (image, plugins, LMS URL),
one row per instance. Gathering reads Pulumi; the rows are a pure function of what was read."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from operations.fleet.progress import last_line
from operations.fleet.run import LastUpdate, StackRunner
from operations.fleet.stacks import Fleet

HEADERS = ["STACK", "INSTANCE", "LAST UPDATE", "IMAGE", "TUTOR AND PLUGINS", "LMS URL"]


@dataclass(frozen=True)
class StackStatus:
    stack: str
    configured: tuple[str, ...]
    """The instance names its stack file lists."""
    last_update: LastUpdate | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""
    """Why it could not be read."""


def last_update_text(update: LastUpdate | None) -> str:
    if update is None:
        return "never"
    return f"{update.time:%Y-%m-%d %H:%M} UTC {update.kind} {update.result}"


def versions(output: Mapping[str, Any]) -> str:
    """Tutor's version and each plugin's, as the instance output gives them ({plugin: version})."""
    plugins = output.get("plugins")
    plugins = plugins if isinstance(plugins, dict) else {}
    tutor = [f"tutor {output['tutor']}"] if output.get("tutor") else []
    return ", ".join([*tutor, *(f"{name} {version}" for name, version in plugins.items())])


def status_rows(statuses: Sequence[StackStatus]) -> list[list[str]]:
    """A row per instance, deployed ones first as the outputs list them, then those only the stack file lists;
    the stack and its last update on its first row."""
    rows = []
    for status in statuses:
        deployed = status.outputs.get("instances")
        deployed = deployed if isinstance(deployed, dict) else {}
        names = list(dict.fromkeys([*deployed, *status.configured])) or [""]
        update = f"cannot read: {status.error}" if status.error else last_update_text(status.last_update)
        for index, name in enumerate(names):
            output = deployed.get(name)
            output = output if isinstance(output, dict) else {}
            rows.append([status.stack if index == 0 else "", name, update if index == 0 else "",
                         str(output.get("image") or ""), versions(output), str(output.get("lmsUrl") or "")])
    return rows


def read_status(runner: StackRunner, stack: str, configured: tuple[str, ...]) -> StackStatus:
    try:
        return StackStatus(stack, configured, runner.history(stack), runner.outputs(stack))
    except Exception as error:  # one unreadable stack does not hide the others
        return StackStatus(stack, configured, error=last_line(str(error)) or type(error).__name__)


def gather(runner: StackRunner, fleet: Fleet) -> list[StackStatus]:
    """Every stack of the fleet, read `concurrency` at a time."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=fleet.concurrency) as pool:
        return list(pool.map(lambda name: read_status(runner, name, fleet.instances.get(name, ())), fleet.names))
