"""The fleet driver (`./fleet.sh`, operations/fleet/): the fleet file and the checks of its stacks, the plan, and the
concurrent runner against a fake StackRunner (no Pulumi CLI): concurrency bound, waves, canary, stopOnFailure,
interrupts, exit codes and what the summary says."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation as auto
from pulumi.automation import events
from pulumi.automation.errors import create_command_error

from operations.fleet import __main__ as entry
from operations.fleet import file as fleet_file
from operations.fleet import locks, plan, stacks, status
from operations.fleet.automation import FleetCommand, NotStarted, fallback_message, pulumi_command
from operations.fleet.display import PlainReporter, progress_table, summary_table, table, tally
from operations.fleet.file import FleetError, FleetStack
from operations.fleet.progress import StackProgress, format_changes, resource_name
from operations.fleet.run import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    FleetRun,
    LastUpdate,
    OnEvent,
    OperationFailed,
)

# --- engine events, as the Automation API hands them over ----------------------------------------------------------


def _step(op: str, name: str) -> events.StepEventMetadata:
    urn = f"urn:pulumi:s::openedx::kubernetes:core/v1:Secret::{name}"
    return events.StepEventMetadata(op=events.OpType(op), urn=urn, type="kubernetes:core/v1:Secret", provider="")


def pre(op: str, name: str) -> events.EngineEvent:
    return events.EngineEvent(0, 0, resource_pre_event=events.ResourcePreEvent(_step(op, name)))


def outputs(op: str, name: str) -> events.EngineEvent:
    return events.EngineEvent(0, 0, res_outputs_event=events.ResOutputsEvent(_step(op, name)))


def diagnostic(message: str, severity: str = "error") -> events.EngineEvent:
    return events.EngineEvent(0, 0, diagnostic_event=events.DiagnosticEvent(message, "never", severity))


def summary(**changes: int) -> events.EngineEvent:
    counts = {events.OpType(op): count for op, count in changes.items()}
    return events.EngineEvent(0, 0, summary_event=events.SummaryEvent(False, 1, counts, {}))


# --- a fake runner ------------------------------------------------------------------------------------------------


class FakeRunner:
    """Operations that take `delay` seconds and emit a few engine events; `fail` makes one fail with an error
    diagnostic, `hang` makes one run until interrupted (then end as the CLI does: with an error)."""

    def __init__(self, fail: Mapping[tuple[str, str], str] | None = None, hang: set[str] | None = None,
                 delay: float = 0.02, on_start: Any = None) -> None:
        self.fail, self.hang, self.delay, self.on_start = dict(fail or {}), hang or set(), delay, on_start
        self.lock = threading.Lock()
        self.running = 0
        self.max_running = 0
        self.log: list[tuple[str, str, str]] = []  # ("start" | "end", stack, operation), in order
        self.interrupts = 0
        self.interrupted = threading.Event()
        self.started = threading.Event()
        self.removed: list[str] = []
        self.outputs_of: dict[str, dict[str, Any]] = {"fleet-platform": {"platform": {"version": 1}}}
        self.history_of: dict[str, LastUpdate] = {}
        self.unchanged: set[str] = set()
        """Stacks whose operations plan no change."""

    def _operation(self, stack: str, operation: str, on_event: OnEvent) -> None:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.log.append(("start", stack, operation))
        self.started.set()
        if self.on_start:
            self.on_start(stack, operation)
        try:
            for name in ("config", "secret"):
                on_event(pre("create", name))
            time.sleep(self.delay)
            if stack in self.hang and operation != "preview":
                assert self.interrupted.wait(5), "never interrupted"
                on_event(events.EngineEvent(0, 0, cancel_event=events.CancelEvent()))
                raise OperationFailed("error: update canceled")
            if (stack, operation) in self.fail:
                on_event(diagnostic(f"kubernetes:core/v1:Secret secret:\n  {self.fail[stack, operation]}\n"))
                on_event(diagnostic("update failed"))
                raise OperationFailed(f"stdout\nerror: {operation} failed")
            if stack in self.unchanged:
                on_event(summary(same=3))
                return
            for name in ("config", "secret"):
                on_event(outputs("create", name))
            on_event(summary(create=2, same=1))
        finally:
            with self.lock:
                self.running -= 1
                self.log.append(("end", stack, operation))

    def preview(self, stack: str, on_event: OnEvent) -> None:
        self._operation(stack, "preview", on_event)

    def up(self, stack: str, on_event: OnEvent) -> None:
        self._operation(stack, "up", on_event)

    def destroy(self, stack: str, on_event: OnEvent) -> None:
        self._operation(stack, "destroy", on_event)

    def remove(self, stack: str) -> None:
        self.removed.append(stack)

    def history(self, stack: str) -> LastUpdate | None:
        return self.history_of.get(stack)

    def outputs(self, stack: str) -> Mapping[str, Any]:
        return self.outputs_of.get(stack, {})

    def interrupt(self) -> None:
        self.interrupts += 1
        self.interrupted.set()

    def release_stale_locks(self) -> list[str]:
        return []


def entries(*spec: str | tuple[str, int]) -> tuple[FleetStack, ...]:
    return tuple(FleetStack(stack=s) if isinstance(s, str) else FleetStack(stack=s[0], wave=s[1]) for s in spec)


def fleet_run(runner: FakeRunner, groups: list[plan.Group], operation: str = "up", concurrency: int = 4,
              stop_on_failure: bool = False) -> tuple[FleetRun, int, str]:
    out = io.StringIO()
    run = FleetRun(runner, groups, operation, concurrency, stop_on_failure, PlainReporter(out),  # type: ignore[arg-type]
                   tick_seconds=0.01)
    code = run.run()
    return run, code, out.getvalue()


def phases(run: FleetRun) -> dict[str, str]:
    return {name: p.phase for name, p in run.progress.items()}


def starts(runner: FakeRunner, operation: str = "up") -> list[str]:
    return [stack for kind, stack, op in runner.log if kind == "start" and op == operation]


# --- the runner -----------------------------------------------------------------------------------------------------


def test_every_stack_previewed_then_updated():
    runner = FakeRunner()
    run, code, log = fleet_run(runner, plan.update_plan(entries("a", "b", ("c", 1)), canary=0))
    assert code == EXIT_OK
    assert set(phases(run).values()) == {"succeeded"}
    for stack in "abc":
        ops = [op for kind, s, op in runner.log if kind == "start" and s == stack]
        assert ops == ["preview", "up"]
    assert run.progress["a"].changes == {"create": 2, "same": 1}
    assert run.progress["a"].done == 2 and run.progress["a"].total == 2  # the update counted against its preview
    assert "a: started (wave 0)\n" in log and "a: updating\n" in log and "a: created Secret config\n" in log
    assert "c: started (wave 1)\n" in log and "a: succeeded\n" in log


def test_concurrency_bound_is_respected():
    runner = FakeRunner(delay=0.05)
    _, code, _ = fleet_run(runner, plan.update_plan(entries(*"abcdefgh"), canary=0), concurrency=3)
    assert code == EXIT_OK
    assert runner.max_running == 3  # reached, never passed


def test_a_wave_starts_once_the_previous_one_has_finished():
    runner = FakeRunner()
    groups = plan.update_plan(entries(("late", 2), "a", ("mid", 1), "b", ("mid2", 1)), canary=0)
    assert [g.stacks for g in groups] == [("a", "b"), ("mid", "mid2"), ("late",)]
    _, code, _ = fleet_run(runner, groups)
    assert code == EXIT_OK
    position = {(kind, stack, op): i for i, (kind, stack, op) in enumerate(runner.log)}
    for earlier, later in ((("a", "b"), ("mid", "mid2")), (("mid", "mid2"), ("late",))):
        last_end = max(position["end", s, "up"] for s in earlier)
        first_start = min(position["start", s, "preview"] for s in later)
        assert last_end < first_start


def test_canary_runs_alone_first():
    runner = FakeRunner()
    groups = plan.update_plan(entries("a", "b", "c", ("d", 1)), canary=2)
    assert [(g.stacks, g.canary) for g in groups] == [(("a",), True), (("b",), True), (("c",), False),
                                                      (("d",), False)]
    _, code, _ = fleet_run(runner, groups)
    assert code == EXIT_OK
    assert starts(runner) == ["a", "b", "c", "d"]
    assert runner.log[:4] == [("start", "a", "preview"), ("end", "a", "preview"), ("start", "a", "up"),
                              ("end", "a", "up")]


def test_a_failed_canary_stops_everything():
    runner = FakeRunner(fail={("a", "up"): "secrets \"x\" is forbidden"})
    run, code, _ = fleet_run(runner, plan.update_plan(entries("a", "b", ("c", 1)), canary=1))
    assert code == EXIT_FAILED
    assert phases(run) == {"a": "failed", "b": "skipped", "c": "skipped"}
    assert starts(runner, "preview") == ["a"]
    assert run.progress["a"].error == 'secrets "x" is forbidden'  # the diagnostic, not the generic "update failed"
    assert run.progress["b"].error == "not run: canary a failed"


def test_without_stop_on_failure_later_waves_still_run():
    runner = FakeRunner(fail={("b", "preview"): "bad config"})
    run, code, _ = fleet_run(runner, plan.update_plan(entries("a", "b", ("c", 1)), canary=0))
    assert code == EXIT_FAILED
    assert phases(run) == {"a": "succeeded", "b": "failed", "c": "succeeded"}
    assert ("start", "b", "up") not in runner.log  # a failed preview is not followed by an update


def test_stop_on_failure_stops_the_later_waves_not_the_running_wave():
    runner = FakeRunner(fail={("a", "up"): "boom"}, delay=0.03)
    run, code, _ = fleet_run(runner, plan.update_plan(entries("a", "b", ("c", 1), ("d", 2)), canary=0),
                             stop_on_failure=True)
    assert code == EXIT_FAILED
    assert phases(run) == {"a": "failed", "b": "succeeded", "c": "skipped", "d": "skipped"}
    assert run.progress["c"].error == "not run: wave 0 failed (a; stopOnFailure)"


def test_a_failure_message_falls_back_to_the_cli_output():
    class NoDiagnostics(FakeRunner):
        def up(self, stack: str, on_event: OnEvent) -> None:
            raise OperationFailed("Updating (x):\n\nerror: could not read plugin [random]\n")

    run, code, _ = fleet_run(NoDiagnostics(), plan.update_plan(entries("a"), canary=0))
    assert code == EXIT_FAILED
    assert run.progress["a"].error == "error: could not read plugin [random]"


def test_an_interrupt_cancels_the_running_stacks_and_skips_the_pending_ones():
    runner = FakeRunner(hang={"a", "b"})
    groups = plan.update_plan(entries("a", "b", "c", ("d", 1)), canary=0)
    run = FleetRun(runner, groups, "up", 2, False, PlainReporter(io.StringIO()), tick_seconds=0.01)

    def interrupt_once_both_update() -> None:
        deadline = time.monotonic() + 5
        while starts(runner).count("a") + starts(runner).count("b") < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        run.request_interrupt()  # what the SIGINT handler does

    threading.Thread(target=interrupt_once_both_update).start()
    assert run.run() == EXIT_INTERRUPTED
    assert runner.interrupts == 1  # the running operations were told, once
    assert phases(run) == {"a": "cancelled", "b": "cancelled", "c": "skipped", "d": "skipped"}
    assert "c" not in starts(runner, "preview") and "d" not in starts(runner, "preview")
    assert run.progress["c"].error == "not run: interrupted"


def test_a_second_interrupt_is_passed_on_too():
    runner = FakeRunner(hang={"a"})
    run = FleetRun(runner, plan.update_plan(entries("a"), canary=0), "up", 1, False, PlainReporter(io.StringIO()),
                   tick_seconds=0.01)

    def interrupt_twice(stack: str, op: str) -> None:
        if op == "up":
            run.request_interrupt()
            run.request_interrupt()

    runner.on_start = interrupt_twice
    assert run.run() == EXIT_INTERRUPTED
    assert runner.interrupts == 2


def test_an_interrupt_between_preview_and_update_stops_before_the_update():
    runner = FakeRunner()
    run = FleetRun(runner, plan.update_plan(entries("a"), canary=0), "up", 1, False, PlainReporter(io.StringIO()),
                   tick_seconds=0.01)
    runner.on_start = lambda stack, op: run._cancel.set() if op == "preview" else None
    assert run.run() == EXIT_INTERRUPTED
    assert starts(runner, "up") == [] and phases(run) == {"a": "cancelled"}


def test_preview_runs_everything_at_once_without_canary():
    runner = FakeRunner(delay=0.05)
    groups = plan.preview_plan(entries("a", ("b", 1), "c"))
    assert [g.stacks for g in groups] == [("a", "c", "b")]
    run, code, _ = fleet_run(runner, groups, operation="preview")
    assert code == EXIT_OK and runner.max_running == 3
    assert {op for _, _, op in runner.log} == {"preview"}
    assert run.progress["a"].changes == {"create": 2, "same": 1}


def test_summary_and_tally():
    runner = FakeRunner(fail={("b", "up"): "quota exceeded"})
    run, _, _ = fleet_run(runner, plan.update_plan(entries("a", "b", ("c", 1)), canary=0), stop_on_failure=True)
    text = "\n".join(summary_table(list(run.progress.values())))
    lines = text.splitlines()
    assert lines[0].split() == ["STACK", "RESULT", "DURATION", "CHANGES", "ERROR"]
    assert lines[1].startswith("a ") and "succeeded" in lines[1] and "+2 ~0 -0" in lines[1]
    assert lines[2].split()[:2] == ["b", "failed"] and lines[2].endswith("quota exceeded")
    assert "not run" in lines[3] and "stopOnFailure" in lines[3]
    assert tally(list(run.progress.values())) == "1 succeeded, 1 failed, 1 not run"


# --- progress and display -------------------------------------------------------------------------------------------


def test_progress_counts_steps_and_keeps_the_message():
    p = StackProgress("a", 0)
    p.enter("preview")
    for name in ("x", "y", "z"):
        p.apply(pre("same" if name == "z" else "create", name))
    assert p.total == 3 and p.message == "would create Secret y"
    p.enter("updating")
    assert (p.done, p.total) == (0, 3)
    p.apply(pre("create", "x"))
    assert p.apply(outputs("create", "x")) == "created Secret x"
    assert p.apply(outputs("same", "z")) is None
    assert (p.done, p.total) == (2, 3)
    assert p.apply(diagnostic("\x1b[31mdeprecated\x1b[0m field", "warning")) == "warning: deprecated field"


def test_changes_and_names():
    assert format_changes({"create": 3, "update": 1, "same": 9}) == "+3 ~1 -0"
    assert format_changes({"replace": 2}) == "+0 ~0 -0 ±2"
    assert format_changes({}) == ""
    assert resource_name("urn:pulumi:s::openedx::openedx:Instance$kubernetes:apps/v1:Deployment::lms") == \
        "Deployment lms"


def test_live_table_fits_the_terminal():
    p = StackProgress("fleet-a", 1)
    p.enter("preview")
    p.message = "would create " + "x" * 200
    lines = progress_table([p, StackProgress("fleet-b", 1)], now=p.started or 0, width=80)
    assert lines[0].split() == ["STACK", "WAVE", "PHASE", "RESOURCES", "ELAPSED", "MESSAGE"]
    assert all(len(line) <= 80 for line in lines) and lines[1].endswith("…")
    assert lines[2].split() == ["fleet-b", "1", "waiting"]


def test_a_live_table_taller_than_the_terminal_keeps_the_running_stacks():
    progress = [StackProgress(f"s{i}", 0) for i in range(10)]
    for p in progress[:3]:
        p.enter("preview")
        p.finish("succeeded")
    progress[7].enter("updating")
    lines = progress_table(progress, now=0, height=6)
    assert len(lines) == 6
    assert [line.split()[0] for line in lines[1:5]] == ["s3", "s4", "s5", "s7"]  # running, then waiting
    assert lines[5] == "… 6 more: 3 succeeded, 3 waiting"


def test_table_pads_columns():
    assert table(["A", "BB"], [["xxx", "y"]]) == ["A    BB", "xxx  y"]


# --- the fleet file -------------------------------------------------------------------------------------------------


def test_fleet_file_defaults_and_forms():
    parsed = fleet_file.parse({"platform": "fleet-platform", "instances": ["a", {"stack": "b", "wave": 1}]})
    assert parsed.instances == entries("a", ("b", 1))
    assert (parsed.concurrency, parsed.canary, parsed.stop_on_failure) == (4, 0, False)
    assert fleet_file.parse({"platform": "p"}).instances is None


def test_fleet_file_mistakes_are_all_reported_by_key():
    with pytest.raises(FleetError) as caught:
        fleet_file.parse({"instances": ["ok", {"stack": "b c", "wave": -1}, {"stak": "x"}], "concurrency": 0,
                          "canary": "one", "stopOnFailur": True})
    problems = caught.value.problems
    assert any(p.startswith("platform: Field required") for p in problems)
    assert any(p.startswith("instances[1].stack: 'b c' is not a stack name") for p in problems)
    assert any(p.startswith("instances[1].wave: Input should be greater than or equal to 0") for p in problems)
    assert any(p.startswith("instances[2].stak: unknown key; known keys: stack, wave") for p in problems)
    assert any(p.startswith("concurrency: ") for p in problems)
    assert any(p.startswith("canary: ") for p in problems)
    assert any(p.startswith("stopOnFailur: unknown key") for p in problems)


def test_fleet_file_read_errors(tmp_path: Path):
    with pytest.raises(FleetError, match="cannot be read"):
        fleet_file.read(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("platform: [")
    with pytest.raises(FleetError, match="not valid YAML"):
        fleet_file.read(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(FleetError, match="must be a mapping"):
        fleet_file.read(tmp_path / "list.yaml")


# --- the stacks of a fleet ------------------------------------------------------------------------------------------


def instance_stack(*instances: dict[str, Any], platform: str = "fleet-platform",
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"openedx:layout": "instances", "openedx:platformStack": platform,
            "openedx:instances": list(instances), **(extra or {})}


def files(**configs: Any) -> dict[str, stacks.StackFile]:
    return {name: stacks.StackFile(name, f"stacks/Pulumi.{name}.yaml", config,
                                   None if config is not None else "cannot be read: bad YAML")
            for name, config in configs.items()}


PLATFORM = {"openedx:layout": "platform"}


def resolve(fleet: dict[str, Any], stack_files: Mapping[str, stacks.StackFile], **kwargs: Any) -> stacks.Fleet:
    return stacks.resolve(fleet_file.parse(fleet), stack_files, Path("stacks"), **kwargs)


def test_default_instances_are_the_platforms_instance_stacks_in_name_order():
    stack_files = files(**{"fleet-platform": PLATFORM,
                           "fleet-b": instance_stack({"name": "b", "lmsHost": "b.example.com"}),
                           "fleet-a": instance_stack({"name": "a", "lmsHost": "a.example.com"},
                                                     platform="organization/openedx/fleet-platform"),
                           "other": instance_stack({"name": "o", "lmsHost": "o.example.com"}, platform="elsewhere"),
                           "local": {"openedx:cloud": "local"}})
    fleet = resolve({"platform": "fleet-platform"}, stack_files)
    assert fleet.names == ("fleet-a", "fleet-b")
    assert fleet.instances == {"fleet-a": ("a",), "fleet-b": ("b",)}


def test_stack_checks_name_their_stack_file():
    stack_files = files(**{
        "fleet-platform": PLATFORM,
        "all": {"openedx:instances": [{"name": "x", "lmsHost": "x.example.com"}]},
        "wrong-platform": instance_stack({"name": "w", "lmsHost": "w.example.com"}, platform="other-platform"),
        "bad-config": instance_stack({"name": "Bad Name", "lmsHost": "b.example.com"},
                                     extra={"openedx:aws": {"nodeGroup": {}}}),
        "unreadable": None,
    })
    fleet = {"platform": "fleet-platform",
             "instances": ["all", "wrong-platform", "bad-config", "unreadable", "missing"]}
    with pytest.raises(FleetError) as caught:
        resolve(fleet, stack_files)
    problems = caught.value.problems
    assert "stacks/Pulumi.all.yaml: openedx:layout: is 'all-in-one'; a fleet's instance stack has " \
        "openedx:layout: instances" in problems
    assert "stacks/Pulumi.wrong-platform.yaml: openedx:platformStack: is 'other-platform', not the fleet's " \
        "platform stack 'fleet-platform'" in problems
    assert any(p.startswith("stacks/Pulumi.bad-config.yaml: openedx:instances[0].name: ") for p in problems)
    assert any(p.startswith("stacks/Pulumi.bad-config.yaml: openedx:aws: set on the platform stack") for p in problems)
    assert "stacks/Pulumi.unreadable.yaml: cannot be read: bad YAML" in problems
    assert "stacks/Pulumi.missing.yaml: no such stack file" in problems


def test_secure_values_are_placeholders():
    config = instance_stack({"name": "a", "lmsHost": "a.example.com",
                             "email": {"host": "smtp.example.com", "username": "u", "from": "a@example.com",
                                       "password": {"secure": "v1:abc"}}})
    settings, problems = stacks.settings_problems(config)
    assert problems == [] and settings is not None and settings.instances[0].name == "a"


def test_platform_stack_checks():
    with pytest.raises(FleetError) as caught:
        resolve({"platform": "fleet-platform", "instances": ["a"]},
                files(**{"fleet-platform": {"openedx:layout": "instances"},
                         "a": instance_stack({"name": "a", "lmsHost": "a.example.com"})}))
    assert caught.value.problems == ["platform: stacks/Pulumi.fleet-platform.yaml has openedx:layout 'instances'; a "
                                     "fleet's platform stack has openedx:layout: platform"]
    with pytest.raises(FleetError, match=r"platform: no stack file stacks/Pulumi\.nowhere\.yaml"):
        resolve({"platform": "nowhere", "instances": ["a"]},
                files(a=instance_stack({"name": "a", "lmsHost": "a.example.com"})))


def test_fleet_level_mistakes():
    stack_files = files(**{"fleet-platform": PLATFORM, "a": instance_stack({"name": "a", "lmsHost": "a.example.com"})})
    with pytest.raises(FleetError) as caught:
        resolve({"platform": "fleet-platform", "instances": ["a", "a", "fleet-platform"], "canary": 4}, stack_files)
    assert caught.value.problems == ["instances[1]: 'a' is listed twice",
                                     "instances[2]: 'fleet-platform' is the platform stack",
                                     "canary: 4 is more than the 3 stack(s) of the first wave"]
    with pytest.raises(FleetError, match="instances: none listed"):
        resolve({"platform": "fleet-platform"}, files(**{"fleet-platform": PLATFORM}))


def test_instance_names_and_hosts_are_unique_across_stacks():
    stack_files = files(**{
        "fleet-platform": PLATFORM,
        "a": instance_stack({"name": "uni", "lmsHost": "learn.example.com"}),
        "b": instance_stack({"name": "uni", "lmsHost": "other.example.com"},
                            {"name": "college", "lmsHost": "college.example.com", "cmsHost": "learn.example.com"}),
    })
    with pytest.raises(FleetError) as caught:
        resolve({"platform": "fleet-platform"}, stack_files)
    assert caught.value.problems == [
        "stacks/Pulumi.b.yaml: openedx:instances[0].name: 'uni' is already used by stacks/Pulumi.a.yaml "
        "(openedx:instances[0])",
        "stacks/Pulumi.b.yaml: openedx:instances[1].cmsHost: host 'learn.example.com' is already used by "
        "stacks/Pulumi.a.yaml (openedx:instances[0].lmsHost)",
    ]


def test_the_platform_stacks_own_instances_count_too():
    platform = {**PLATFORM, "openedx:instances": [{"name": "moved", "lmsHost": "moved.example.com"}]}
    stack_files = files(**{"fleet-platform": platform,
                           "a": instance_stack({"name": "moved", "lmsHost": "a.example.com"})})
    with pytest.raises(FleetError) as caught:
        resolve({"platform": "fleet-platform"}, stack_files)
    assert caught.value.problems == ["stacks/Pulumi.a.yaml: openedx:instances[0].name: 'moved' is already used by "
                                     "stacks/Pulumi.fleet-platform.yaml (openedx:instances[0])"]


def test_a_production_stack_needs_a_passphrase(monkeypatch: pytest.MonkeyPatch):
    production = instance_stack({"name": "a", "lmsHost": "a.example.com"},
                                extra={"openedx:environment": "production"})
    stack_files = files(**{"fleet-platform": PLATFORM, "a": production})
    fleet = {"platform": "fleet-platform"}
    for environ, refused in (({"PULUMI_BACKEND_URL": "file:///state"}, True),
                             ({"PULUMI_BACKEND_URL": "file:///state", "PULUMI_CONFIG_PASSPHRASE": "s3cret"}, False)):
        with pytest.raises(FleetError) as caught:  # (and for its missing mail relay, whatever the passphrase)
            resolve(fleet, stack_files, environ=environ)
        assert any("production stack and PULUMI_CONFIG_PASSPHRASE is not set" in p
                   for p in caught.value.problems) == refused
    # fleet.sh's default empty passphrase is not one the operator gave
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    monkeypatch.setenv("FLEET_PASSPHRASE_DEFAULTED", "1")
    assert "PULUMI_CONFIG_PASSPHRASE" not in entry.given_environ()


def test_status_and_remove_do_not_need_valid_configs():
    stack_files = files(**{"fleet-platform": PLATFORM, "a": instance_stack({"name": "Bad Name"})})
    assert resolve({"platform": "fleet-platform"}, stack_files, check_configs=False).names == ("a",)


def test_the_repository_stacks_are_all_in_one():
    """The example stacks of stacks/ are no fleet's: a fleet of one of them is refused for its layout."""
    stack_files = stacks.read_stack_files(entry.STACKS_DIR)
    assert "local" in stack_files and stack_files["local"].config is not None
    assert stacks.discover(stack_files, "local") == ()


# --- status ---------------------------------------------------------------------------------------------------------


def test_status_rows():
    deployed = status.StackStatus(
        "fleet-a", ("uni", "new"), LastUpdate("update", "succeeded", datetime(2026, 5, 1, 12, 3)),
        {"instances": {"uni": {"namespace": "openedx-uni", "lmsUrl": "https://learn.example.com",
                               "image": "docker.io/overhangio/openedx:22.0.3", "tutor": "22.0.3",
                               "plugins": {"mfe": "22.1.0", "notes": "22.0.0"}}}})
    rows = status.status_rows([deployed, status.StackStatus("fleet-b", ("b",)),
                               status.StackStatus("fleet-c", (), error="no stack named 'fleet-c'")])
    assert rows == [
        ["fleet-a", "uni", "2026-05-01 12:03 UTC update succeeded", "docker.io/overhangio/openedx:22.0.3",
         "tutor 22.0.3, mfe 22.1.0, notes 22.0.0", "https://learn.example.com"],
        ["", "new", "", "", "", ""],
        ["fleet-b", "b", "never", "", "", ""],
        ["fleet-c", "", "cannot read: no stack named 'fleet-c'", "", "", ""],
    ]


# --- the command line -----------------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stacks/ directory with a platform stack and three instance stacks, and a fleet file of them."""
    stacks_dir = tmp_path / "stacks"
    stacks_dir.mkdir()
    (stacks_dir / "Pulumi.fleet-platform.yaml").write_text(yaml.safe_dump({"config": PLATFORM}))
    for name in ("fleet-a", "fleet-b", "fleet-c"):
        config = instance_stack({"name": name.removeprefix("fleet-"), "lmsHost": f"{name}.example.com"})
        (stacks_dir / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(
        {"platform": "fleet-platform", "instances": ["fleet-a", "fleet-b", {"stack": "fleet-c", "wave": 1}],
         "canary": 1}))
    monkeypatch.setattr(entry, "STACKS_DIR", stacks_dir)
    monkeypatch.setenv("FLEET_CALLER_DIR", str(tmp_path))
    return tmp_path


def test_up_command(project: Path, capsys: pytest.CaptureFixture[str]):
    runner = FakeRunner()
    assert entry.main(["up", "fleet.yaml", "--concurrency", "2"], lambda: runner) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("up of 3 stack(s) on platform fleet-platform (concurrency 2, canary 1)")
    assert "3 succeeded: exit 0" in out
    assert starts(runner)[0] == "fleet-a"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the run's handler is gone


def test_up_updates_only_the_stacks_whose_preview_plans_a_change(project: Path,
                                                                 capsys: pytest.CaptureFixture[str]):
    runner = FakeRunner()
    runner.unchanged = {"fleet-a", "fleet-c"}
    assert entry.main(["up", "fleet.yaml"], lambda: runner) == EXIT_OK
    assert [(stack, operation) for event, stack, operation in runner.log if event == "start"] == [
        ("fleet-a", "preview"), ("fleet-b", "preview"), ("fleet-b", "up"), ("fleet-c", "preview")]
    assert "3 succeeded: exit 0" in capsys.readouterr().out


def test_up_refuses_an_undeployed_platform(project: Path, capsys: pytest.CaptureFixture[str]):
    runner = FakeRunner()
    runner.outputs_of = {}
    assert entry.main(["up", "fleet.yaml"], lambda: runner) == EXIT_REFUSED
    assert "deploy the platform stack first: ./deploy.sh fleet-platform" in capsys.readouterr().err
    assert runner.log == []


def test_an_invalid_fleet_is_refused_before_anything_runs(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "stacks" / "Pulumi.fleet-b.yaml").write_text(yaml.safe_dump(
        {"config": instance_stack({"name": "a", "lmsHost": "fleet-a.example.com"})}))
    runner = FakeRunner()
    assert entry.main(["preview", "fleet.yaml"], lambda: runner) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "stacks/Pulumi.fleet-b.yaml: openedx:instances[0].name: 'a' is already used" in err
    assert "host 'fleet-a.example.com' is already used" in err
    assert runner.log == []


def test_a_failure_exits_1(project: Path, capsys: pytest.CaptureFixture[str]):
    runner = FakeRunner(fail={("fleet-b", "up"): "timed out"})
    assert entry.main(["up", "fleet.yaml"], lambda: runner) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "2 succeeded, 1 failed: exit 1" in out and "timed out" in out


def test_status_command(project: Path, capsys: pytest.CaptureFixture[str]):
    runner = FakeRunner()
    runner.history_of = {"fleet-a": LastUpdate("update", "failed", datetime(2026, 1, 2, 3, 4))}
    runner.outputs_of["fleet-a"] = {"instances": {"a": {"lmsUrl": "https://fleet-a.example.com", "image": "img:1",
                                                        "plugins": {}}}}
    assert entry.main(["status", "fleet.yaml"], lambda: runner) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["STACK", "INSTANCE", "LAST", "UPDATE", "IMAGE", "TUTOR", "AND", "PLUGINS", "LMS",
                                "URL"]
    assert lines[1].split() == ["fleet-a", "a", "2026-01-02", "03:04", "UTC", "update", "failed", "img:1",
                                "https://fleet-a.example.com"]
    assert lines[2].split() == ["fleet-b", "b", "never"]


def test_remove_command(project: Path, capsys: pytest.CaptureFixture[str]):
    runner = FakeRunner()
    assert entry.main(["remove", "fleet.yaml", "fleet-c", "--yes"], lambda: runner) == EXIT_OK
    assert starts(runner, "destroy") == ["fleet-c"] and runner.removed == ["fleet-c"]
    assert (project / "stacks" / "Pulumi.fleet-c.yaml").exists()
    assert "fleet-c: destroyed and removed" in capsys.readouterr().out


def test_remove_refusals(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    runner = FakeRunner()
    assert entry.main(["remove", "fleet.yaml", "fleet-platform", "--yes"], lambda: runner) == EXIT_REFUSED
    assert "is the fleet's platform stack" in capsys.readouterr().err
    assert entry.main(["remove", "fleet.yaml", "local", "--yes"], lambda: runner) == EXIT_REFUSED
    assert "not a stack of this fleet" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert entry.main(["remove", "fleet.yaml", "fleet-a"], lambda: runner) == EXIT_REFUSED
    assert "pass --yes" in capsys.readouterr().err
    assert runner.log == [] and runner.removed == []


def test_a_failed_destroy_keeps_the_stack(project: Path):
    runner = FakeRunner(fail={("fleet-a", "destroy"): "in use"})
    assert entry.main(["remove", "fleet.yaml", "fleet-a", "--yes"], lambda: runner) == EXIT_FAILED
    assert runner.removed == []


# --- stale locks ----------------------------------------------------------------------------------------------------


def test_only_our_own_stale_locks_are_removed(tmp_path: Path):
    lock_dir = tmp_path / ".pulumi" / "locks" / "organization" / "openedx" / "fleet-a"
    lock_dir.mkdir(parents=True)
    ours = lock_dir / "ours.json"
    ours.write_text(json.dumps({"pid": 4242, "username": "root", "hostname": socket.gethostname()}))
    theirs = lock_dir / "theirs.json"
    theirs.write_text(json.dumps({"pid": 77, "username": "root", "hostname": socket.gethostname()}))
    operations = [locks.CliOperation("fleet-a", 4242, signals=2, returncode=-2)]
    notes = locks.release_stale_locks(operations, f"file://{tmp_path}", Path("/"))
    assert not ours.exists() and theirs.exists()
    assert notes == [f"fleet-a: removed the lock its Pulumi CLI left when it ended without releasing it ({ours})"]


def test_other_backends_are_named_when_a_cli_did_not_end_cleanly():
    operations = [locks.CliOperation("fleet-a", 1, signals=2), locks.CliOperation("fleet-b", 2, signals=1,
                                                                                   returncode=1)]
    notes = locks.release_stale_locks(operations, "s3://bucket", Path("/"))
    assert notes == ["fleet-a: its Pulumi CLI did not end cleanly, so the stack may still be locked: once nothing "
                     "runs on it, `pulumi cancel --stack fleet-a` unlocks it"]


def test_file_backend_root():
    assert locks.file_backend_root("file:///var/state", Path("/p")) == Path("/var/state")
    assert locks.file_backend_root("file://~", Path("/p")) == Path.home()
    assert locks.file_backend_root("file://state?no_tmp_dir=1", Path("/p")) == Path("/p/state")
    assert locks.file_backend_root("s3://bucket", Path("/p")) is None


# --- the CLI processes: own process groups, one SIGINT per interrupt --------------------------------------------------

FAKE_CLI = """#!/bin/bash
# A stand-in for the pulumi CLI: `version`, and an operation that runs until its first SIGINT, counting them.
case "$*" in *version*) echo "${FAKE_VERSION:-v3.274.1}"; exit 0;; esac
awk '{print $5}' /proc/$$/stat > "$FAKE_DIR/pgid.$$"
count=0
trap 'count=$((count+1)); echo $count > "$FAKE_DIR/sigints"' INT
touch "$FAKE_DIR/started"
for i in $(seq 1 100); do
  [ "$count" -ge 1 ] && { sleep 0.1; echo "error: update canceled" >&2; exit 255; }
  sleep 0.02
done
echo done
"""


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "bin").mkdir()
    cli = tmp_path / "bin" / "pulumi"
    cli.write_text(FAKE_CLI)
    cli.chmod(0o755)
    monkeypatch.setenv("FAKE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    return tmp_path


def test_an_interrupt_reaches_each_operation_once_in_its_own_process_group(fake_cli: Path):
    command = FleetCommand(root=str(fake_cli))
    errors: list[Exception] = []

    def operation() -> None:
        try:
            command.run(["up", "--yes", "--stack", "fleet-a"], str(fake_cli), {})
        except Exception as error:
            errors.append(error)

    thread = threading.Thread(target=operation)
    thread.start()
    deadline = time.monotonic() + 5
    while not (fake_cli / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    command.interrupt()
    thread.join(5)
    assert (fake_cli / "sigints").read_text().strip() == "1"
    assert len(errors) == 1 and isinstance(errors[0], auto.CommandError) and "update canceled" in str(errors[0])
    [tracked] = command.operations
    assert (tracked.stack, tracked.signals, tracked.returncode) == ("fleet-a", 1, 255)
    assert int((fake_cli / f"pgid.{tracked.pid}").read_text()) == tracked.pid != os.getpgrp()
    with pytest.raises(NotStarted):  # no operation starts after an interrupt
        command.run(["preview", "--stack", "fleet-b"], str(fake_cli), {})
    assert command.run(["version"], str(fake_cli), {}).stdout == "v3.274.1"  # other commands still run


def test_an_odd_cli_version_skips_the_check(fake_cli: Path, monkeypatch: pytest.MonkeyPatch):
    command, env = pulumi_command()
    assert str(command.version) == "3.274.1" and env == {}
    monkeypatch.setenv("FAKE_VERSION", "(devel)")
    command, env = pulumi_command()
    assert command.version is not None and command.version.major == 3
    assert env == {"PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true"}


def test_the_cli_output_is_the_fallback_message():
    def error(stdout: str, stderr: str, code: int) -> auto.CommandError:
        return create_command_error(auto.CommandResult(stdout=stdout, stderr=stderr, code=code))

    assert fallback_message(error("Updating\n@ updating....", "", -9)) == "the Pulumi CLI was killed (SIGKILL)"
    assert fallback_message(error("x\n@ updating....", "error: no stack named 'a' found", 255)) == \
        "error: no stack named 'a' found"
    assert fallback_message(error("Updating\nerror: oops\n@ updating...", "", 1)) == "error: oops"
    assert fallback_message(error("", "", 3)) == "the Pulumi CLI exited with code 3"


def test_a_real_sigint_interrupts_the_run(project: Path, capsys: pytest.CaptureFixture[str]):
    """The driver's own SIGINT (Ctrl-C, `kill -INT`): the running stack is cancelled, the others not run, 130."""
    runner = FakeRunner(hang={"fleet-a"})
    runner.on_start = lambda stack, op: os.kill(os.getpid(), signal.SIGINT) if op == "up" else None
    assert entry.main(["up", "fleet.yaml"], lambda: runner) == EXIT_INTERRUPTED
    out = capsys.readouterr().out
    assert "1 cancelled, 2 not run: exit 130 (interrupted)" in out and runner.interrupts == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_fleet_sh_is_an_executable_script():
    script = entry.PROJECT_DIR / "fleet.sh"
    assert os.access(script, os.X_OK)
    subprocess.run(["bash", "-n", str(script)], check=True)
