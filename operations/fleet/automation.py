"""The fleet's StackRunner on Pulumi's Automation API, which runs the `pulumi` CLI for each operation.

Each CLI process gets a process group of its own. A Ctrl-C on the terminal then reaches the driver alone, and the
driver passes exactly one SIGINT per interrupt to each operation in flight: the Pulumi CLI takes a first SIGINT as
"cancel" (finish the resource operations in flight, save the checkpoint, release the stack's lock) and a second
as "terminate now", so a terminal's SIGINT plus a forwarded one would be two.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from pulumi.automation.errors import create_command_error
from semver import VersionInfo  # the Automation API's own version type (semver is a dependency of pulumi)

from operations.fleet.locks import CliOperation, release_stale_locks
from operations.fleet.run import LastUpdate, OnEvent, OperationFailed

OPERATIONS = frozenset({"up", "preview", "destroy", "refresh", "import"})
"""The CLI commands an interrupt cancels; the others (outputs, history, stack select) are short and left to end."""
SKIP_VERSION_CHECK = "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK"


class NotStarted(Exception):
    """An operation asked for after an interrupt."""


def _stack_argument(args: list[str]) -> str:
    return args[args.index("--stack") + 1] if "--stack" in args[:-1] else ""


class FleetCommand(auto.PulumiCommand):
    """The Pulumi CLI, each process in its own process group, its operations tracked so that an interrupt reaches
    each exactly once. (The Automation API has no option for how it starts the CLI: `run` starts it as
    PulumiCommand.run does, in a process group of its own.)"""

    def __init__(self, root: str | None = None, skip_version_check: bool = False) -> None:
        super().__init__(root=root, skip_version_check=skip_version_check)
        self._lock = threading.Lock()
        self._running: dict[subprocess.Popen[str], CliOperation] = {}
        self.interrupted = False
        self.operations: list[CliOperation] = []

    def run(self, args: list[str], cwd: str, additional_env: Mapping[str, str],
            on_output: auto.OnOutput | None = None, on_error: auto.OnOutput | None = None) -> auto.CommandResult:
        # As the Automation API's own: never prompt, the CLI's directory first on PATH (its bundled plugins).
        args = list(args)
        end = args.index("--") if "--" in args else len(args)
        if "--non-interactive" not in args[:end]:
            args.insert(0, "--non-interactive")
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        if os.path.isabs(self.command):
            env["PATH"] = os.pathsep.join([os.path.dirname(self.command), env.get("PATH", "")])
        operation = next((arg for arg in args if not arg.startswith("-")), "") in OPERATIONS
        with self._lock:  # an interrupt either sees this process or stops it from starting
            if operation and self.interrupted:
                raise NotStarted("not started: interrupted")
            process = subprocess.Popen([self.command, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
                                       process_group=0)
            if operation:
                tracked = CliOperation(_stack_argument(args), process.pid)
                self._running[process] = tracked
                self.operations.append(tracked)
        with process:
            stdout, stderr = _collect(process, on_output, on_error)
            code = process.wait()
        with self._lock:
            if (tracked_process := self._running.pop(process, None)) is not None:
                tracked_process.returncode = code
        result = auto.CommandResult(stdout=stdout, stderr=stderr, code=code)
        if code != 0:
            raise create_command_error(result)
        return result

    def interrupt(self) -> None:
        with self._lock:
            self.interrupted = True
            for process, tracked in self._running.items():
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
                    tracked.signals += 1


def _collect(process: subprocess.Popen[str], on_output: auto.OnOutput | None,
             on_error: auto.OnOutput | None) -> tuple[str, str]:
    """Both streams, read line by line in threads (a full pipe would block the CLI), each line to its callback."""
    chunks: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def consume(name: str, stream: Any, callback: auto.OnOutput | None) -> None:
        for line in iter(stream.readline, ""):
            line = line.rstrip()
            if callback:
                callback(line)
            chunks[name].append(line)

    readers = [threading.Thread(target=consume, args=(name, stream, callback), daemon=True)
               for name, stream, callback in (("stdout", process.stdout, on_output),
                                              ("stderr", process.stderr, on_error))]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    return "\n".join(chunks["stdout"]), "\n".join(chunks["stderr"])


def pulumi_command() -> tuple[FleetCommand, dict[str, str]]:
    """The CLI on PATH and the environment its workspaces need. A CLI built from source may report a version the
    Automation API cannot parse: the check is then skipped, and the version taken to be the SDK's own (it chooses
    how the engine's events are streamed)."""
    try:
        return FleetCommand(), {}
    except auto.InvalidVersionError:
        command = FleetCommand(skip_version_check=True)
        if command.version is None:
            command.version = VersionInfo.parse(metadata.version("pulumi"))
        return command, {SKIP_VERSION_CHECK: "true"}


def fallback_message(error: auto.CommandError) -> str:
    """The CLI's own last words (what a failure shows when the engine reported no error diagnostic): its error
    output, else its output without the progress dots, else how it ended."""
    text = str(error)  # "\n code: N\n stdout: …\n stderr: …", as the Automation API formats a CommandResult
    code_text, _, rest = text.partition("\n stdout: ")
    stdout, _, stderr = rest.partition("\n stderr: ")
    code = int(code_text.rpartition("code: ")[2]) if code_text.rpartition("code: ")[2].lstrip("-").isdigit() else 0
    if code < 0:
        return f"the Pulumi CLI was killed ({signal.Signals(-code).name})"
    for output in (stderr, stdout):
        lines = [line for line in output.splitlines() if line.strip() and not line.startswith("@ ")]
        if lines:
            return lines[-1]
    return f"the Pulumi CLI exited with code {code}"


class PulumiRunner:
    """The StackRunner of the real fleet: a workspace per stack on the project directory, sharing one CLI."""

    def __init__(self, work_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.work_dir = work_dir
        self.command, extra = pulumi_command()
        # The environment (backend, passphrase, TMPDIR, KUBECONFIG, …) passes through; no update check per run.
        self.env = {"PULUMI_SKIP_UPDATE_CHECK": "true", **(env or {}), **extra}
        self._stacks: dict[str, auto.Stack] = {}
        self._select = threading.Lock()  # `stack select` writes the workspace's current stack: one at a time

    def _options(self) -> auto.LocalWorkspaceOptions:
        return auto.LocalWorkspaceOptions(work_dir=str(self.work_dir), env_vars=self.env, pulumi_command=self.command)

    def _stack(self, name: str, create: bool = False) -> auto.Stack:
        with self._select:
            if name not in self._stacks:
                select = auto.create_or_select_stack if create else auto.select_stack
                self._stacks[name] = select(name, work_dir=str(self.work_dir), opts=self._options())
            return self._stacks[name]

    def _operation(self, name: str, call: str, on_event: OnEvent) -> None:
        try:
            getattr(self._stack(name, create=call != "destroy"), call)(on_event=on_event, color="never")
        except auto.CommandError as error:
            raise OperationFailed(fallback_message(error)) from None

    def preview(self, stack: str, on_event: OnEvent) -> None:
        self._operation(stack, "preview", on_event)

    def up(self, stack: str, on_event: OnEvent) -> None:
        self._operation(stack, "up", on_event)

    def destroy(self, stack: str, on_event: OnEvent) -> None:
        self._operation(stack, "destroy", on_event)

    def remove(self, stack: str) -> None:
        try:  # the stack file is the operator's: `stack rm` would delete it
            self._stack(stack).workspace.remove_stack(stack, preserve_config=True)
        except auto.CommandError as error:
            raise OperationFailed(fallback_message(error)) from None
        self._stacks.pop(stack, None)

    def history(self, stack: str) -> LastUpdate | None:
        try:
            entries = self._stack(stack).history(page_size=1, show_secrets=False)
        except auto.StackNotFoundError:
            return None
        if not entries:
            return None
        last = entries[0]
        return LastUpdate(last.kind, last.result, last.end_time or last.start_time)

    def outputs(self, stack: str) -> Mapping[str, Any]:
        try:
            return {key: output.value for key, output in self._stack(stack).outputs().items()}
        except auto.StackNotFoundError:
            return {}

    def interrupt(self) -> None:
        self.command.interrupt()

    def release_stale_locks(self) -> list[str]:
        backend = self.env.get("PULUMI_BACKEND_URL") or os.environ.get("PULUMI_BACKEND_URL")
        return release_stale_locks(self.command.operations, backend, self.work_dir)
