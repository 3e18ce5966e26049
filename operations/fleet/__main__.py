"""`python -m operations.fleet COMMAND FLEET_FILE [options]` (`./fleet.sh`): preview, update, show or remove the
instance stacks of a fleet. See the package's docstring for the fleet file.

Exit codes: 0 every stack succeeded; 1 a stack failed, or was not run because of a failure; 2 refused before
anything ran (a wrong fleet file or stack config, an instance name or host used twice, the platform stack not
deployed); 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from offline.evaluation import PROJECT_DIR
from operations.fleet import file as fleet_file
from operations.fleet import status
from operations.fleet.display import LiveReporter, PlainReporter, summary_table, table, tally
from operations.fleet.file import FleetError
from operations.fleet.plan import Group, preview_plan, update_plan
from operations.fleet.progress import last_line
from operations.fleet.run import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    FleetRun,
    Operation,
    Reporter,
    StackRunner,
)
from operations.fleet.stacks import Fleet, read_stack_files, resolve

PROJECT = Path(os.environ.get("FLEET_PROJECT_DIR") or PROJECT_DIR)
"""The Pulumi project of the fleet's stacks: this repository, or the program linked into another directory with
stack files of its own (the fleet benchmark's scratch project)."""
STACKS_DIR = PROJECT / "stacks"


class Refused(Exception):
    """Nothing ran: one line (or several), exit code 2."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="fleet.sh", description="Preview, update, show or remove a fleet's instance "
                                  "stacks (python -m operations.fleet).")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    helps = {"preview": "pulumi preview of every instance stack, in parallel",
             "up": "preview then update every instance stack: canary first, then wave by wave",
             "status": "each instance stack's last update, image, plugins and LMS URL",
             "remove": "destroy one instance stack of the fleet, then remove it (its stack file stays)"}
    for name, text in helps.items():
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("fleet_file", type=Path, metavar="FLEET_FILE")
        if name == "remove":
            command.add_argument("stack", metavar="STACK")
            command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        else:
            command.add_argument("--concurrency", type=int, metavar="N",
                                 help="at most N stacks at once (default: the fleet file's concurrency)")
    return top


def given_environ() -> dict[str, str]:
    """The environment as the operator gave it: without the empty passphrase fleet.sh defaults to (a production
    stack is refused without one, as deploy.sh refuses it)."""
    environ = dict(os.environ)
    if environ.get("FLEET_PASSPHRASE_DEFAULTED"):
        environ.pop("PULUMI_CONFIG_PASSPHRASE", None)
    return environ


def load(path: Path, check_configs: bool, concurrency: int | None = None) -> Fleet:
    path = Path(os.environ.get("FLEET_CALLER_DIR", ".")) / path  # fleet.sh runs from the project directory
    fleet = resolve(fleet_file.read(path), read_stack_files(STACKS_DIR), STACKS_DIR, check_configs,
                    given_environ() if check_configs else None)
    if concurrency is not None:
        if concurrency < 1:
            raise Refused("--concurrency: must be at least 1")
        fleet = dataclasses.replace(fleet, concurrency=concurrency)
    return fleet


def require_platform(runner: StackRunner, platform: str) -> None:
    """The instance stacks read the platform stack's `platform` output: it must have been deployed."""
    try:
        outputs = runner.outputs(platform)
    except Exception as error:
        raise Refused(f"the platform stack {platform} cannot be read: {last_line(str(error))}") from None
    if "platform" not in outputs:
        raise Refused(f"the platform stack {platform} has no `platform` output: deploy the platform stack first: "
                      f"./deploy.sh {platform}")


def reporter() -> Reporter:
    if sys.stdout.isatty() and os.environ.get("TERM") != "dumb":
        return LiveReporter()
    return PlainReporter()


@contextmanager
def interrupts_to(handler: Callable[[], None]) -> Iterator[None]:
    """SIGINT (Ctrl-C, `kill -INT`), SIGTERM and SIGHUP call `handler` instead of stopping the driver, for the run:
    the CLIs, in process groups of their own, would otherwise go on with nobody reading their output."""
    def on_signal(signum: int, frame: FrameType | None) -> None:
        handler()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)


def execute(runner: StackRunner, groups: Sequence[Group], operation: Operation, fleet: Fleet, title: str) -> int:
    """Run the groups with progress, release the locks our CLIs may have left, print the summary."""
    print(title, flush=True)
    run = FleetRun(runner, groups, operation, fleet.concurrency, fleet.stop_on_failure, reporter(),
                   waves={entry.stack: entry.wave for entry in fleet.stacks})
    with interrupts_to(run.request_interrupt):
        code = run.run()
    for note in runner.release_stale_locks():
        print(note)
    progress = list(run.progress.values())
    print()
    print("\n".join(summary_table(progress)))
    print(f"\n{tally(progress)}: exit {code}" + (" (interrupted)" if code == EXIT_INTERRUPTED else ""))
    return code


def confirm(stack: str) -> None:
    if not sys.stdin.isatty():
        raise Refused(f"remove destroys every resource of {stack}: pass --yes to confirm")
    try:
        answer = input(f"Destroy every resource of stack {stack} and remove the stack (its stack file stays)? "
                       "Type its name to confirm: ")
    except EOFError:
        answer = ""
    if answer.strip() != stack:
        raise Refused("not confirmed: nothing was done")


def command(args: argparse.Namespace, make_runner: Callable[[], StackRunner]) -> int:
    if args.command == "remove":
        fleet = load(args.fleet_file, check_configs=False)
        if args.stack == fleet.platform:
            raise Refused(f"{args.stack} is the fleet's platform stack: fleet.sh removes instance stacks only")
        if args.stack not in fleet.names:
            raise Refused(f"{args.stack} is not a stack of this fleet (its stacks: {', '.join(fleet.names)})")
        if not args.yes:
            confirm(args.stack)
        runner = make_runner()
        wave = next(entry.wave for entry in fleet.stacks if entry.stack == args.stack)
        code = execute(runner, [Group((args.stack,), wave)], "destroy", fleet, f"destroying {args.stack}")
        if code != EXIT_OK:
            return code
        try:
            runner.remove(args.stack)
        except Exception as error:
            print(f"{args.stack}: destroyed, but not removed: {str(error).strip()}", file=sys.stderr)
            return EXIT_FAILED
        print(f"{args.stack}: destroyed and removed; its stack file stays in {STACKS_DIR.name}/")
        return EXIT_OK

    fleet = load(args.fleet_file, check_configs=args.command != "status", concurrency=args.concurrency)
    runner = make_runner()
    if args.command == "status":
        statuses = status.gather(runner, fleet)
        print("\n".join(table(status.HEADERS, status.status_rows(statuses))))
        return EXIT_FAILED if any(s.error for s in statuses) else EXIT_OK

    require_platform(runner, fleet.platform)
    operation: Operation = "up" if args.command == "up" else "preview"
    groups = update_plan(fleet.stacks, fleet.canary) if operation == "up" else preview_plan(fleet.stacks)
    title = (f"{args.command} of {len(fleet.stacks)} stack(s) on platform {fleet.platform} (concurrency "
             f"{fleet.concurrency}" + (f", canary {fleet.canary}" if operation == "up" and fleet.canary else "")
             + (", stopOnFailure" if operation == "up" and fleet.stop_on_failure else "") + ")")
    return execute(runner, groups, operation, fleet, title)


def real_runner() -> StackRunner:
    from operations.fleet.automation import PulumiRunner  # the CLI is looked for only when a command needs it

    try:
        return PulumiRunner(PROJECT)
    except FileNotFoundError:
        raise Refused("the Pulumi CLI is needed (https://www.pulumi.com/docs/install/)") from None


def main(argv: Sequence[str] | None = None, make_runner: Callable[[], StackRunner] = real_runner) -> int:
    args = parser().parse_args(argv)
    # The Automation API warns when a CLI's event stream breaks off (the CLI died): the stack's failure says so.
    warnings.filterwarnings("ignore", message="Error in event stream", category=UserWarning)
    try:
        return command(args, make_runner)
    except FleetError as error:
        print("\n".join(["the fleet cannot run:", *(f"  {p}" for p in error.problems)]), file=sys.stderr)
        return EXIT_REFUSED
    except Refused as error:
        print(f"refused: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
