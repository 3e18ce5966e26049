"""Stack locks the fleet's own CLI processes may have left behind, on a local file backend.

A DIY backend (file://, s3://, gs://, azblob://) locks a stack for an update or a destroy by writing
`.pulumi/locks/<organization>/<project>/<stack>/<lock id>.json` ({pid, username, hostname, timestamp}), and
deletes it when the operation ends, a cancelled one included. A CLI that dies before that (terminated by a second
interrupt, or signalled outside its cancellation window) leaves it, and every later operation on the stack is
refused. `pulumi cancel` (`Stack.cancel()`) on a DIY backend deletes every lock file of the stack, a live one of
another process's included, without stopping anything; so the fleet deletes only the lock files written by its
own CLI processes, once they have all exited, and names the stacks it cannot check.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from offline.evaluation import PROJECT


@dataclass
class CliOperation:
    """An operation's CLI process (`pulumi up --stack …`): what tells its lock files from others'."""

    stack: str
    pid: int
    signals: int = 0
    """SIGINTs it was sent."""
    returncode: int | None = None


def file_backend_root(backend_url: str | None, work_dir: Path) -> Path | None:
    """The directory of a `file://` backend; None for any other."""
    if not backend_url or not backend_url.startswith("file://"):
        return None
    path = Path(backend_url.removeprefix("file://").split("?", 1)[0]).expanduser()
    return path if path.is_absolute() else work_dir / path


def lock_dirs(root: Path, stack: str) -> list[Path]:
    """Where the backend keeps a stack's locks: project-scoped (the default), and the legacy unscoped layout."""
    locks = root / ".pulumi" / "locks"
    return [locks / "organization" / PROJECT / stack, locks / stack]


def own_stale_locks(lock_files: Iterable[Path], pids: set[int], hostname: str) -> list[Path]:
    """The lock files written by one of `pids` on this host: processes of ours that have exited."""
    stale = []
    for path in lock_files:
        try:
            content = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(content, dict) and content.get("pid") in pids and content.get("hostname") == hostname:
            stale.append(path)
    return stale


def release_stale_locks(operations: Sequence[CliOperation], backend_url: str | None, work_dir: Path) -> list[str]:
    """Delete the stale locks of our exited CLI processes; return a line for each lock deleted, and for each
    stack that may be locked and could not be checked (not a file backend, and a CLI that did not end cleanly)."""
    root = file_backend_root(backend_url, work_dir)
    notes: list[str] = []
    stacks = sorted({operation.stack for operation in operations if operation.stack})
    for stack in stacks:
        ours = [operation for operation in operations if operation.stack == stack]
        if root is None:
            if any(op.signals > 1 or (op.returncode is not None and op.returncode < 0) for op in ours):
                notes.append(f"{stack}: its Pulumi CLI did not end cleanly, so the stack may still be locked: once "
                             f"nothing runs on it, `pulumi cancel --stack {stack}` unlocks it")
            continue
        files = [path for directory in lock_dirs(root, stack) if directory.is_dir()
                 for path in sorted(directory.glob("*.json"))]
        for path in own_stale_locks(files, {op.pid for op in ours}, socket.gethostname()):
            path.unlink(missing_ok=True)
            notes.append(f"{stack}: removed the lock its Pulumi CLI left when it ended without releasing it ({path})")
    return notes
