"""The management work an operator runs (components/openedx/commands.py): each script run for real by `sh` against a
stand-in `./manage.py` and `git` that record how they are called, so the arguments Open edX receives are checked,
not the script's text; values travel as environment variables, never pasted into a script."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from components.openedx import commands

RECORDER = """#!/bin/sh
# Records its arguments: each ends with a unit separator, each call with a record separator.
{ for arg in "$@"; do printf '%s\\037' "$arg"; done; printf '\\036'; } >> "$RECORD"
"""


def run(command: commands.Command, tmp_path: Path, secrets: dict[str, str] | None = None) -> list[list[str]]:
    """Run `command` as the Job's container would (its args, its env, the Secret's values), in a directory whose
    ./manage.py and git record their calls; returns each call's arguments."""
    record = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for path, prefix in ((tmp_path / "manage.py", ""), (bin_dir / "git", "git")):
        path.write_text(RECORDER.replace('"$@"', f'{prefix} "$@"' if prefix else '"$@"'))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RECORD": str(record), **command.env}
    env |= {name: (secrets or {})[key] for name, key in command.secret_env.items()}
    args = list(command.args)
    subprocess.run(args, cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    calls = record.read_text().split("\x1e")[:-1] if record.exists() else []
    return [call.split("\x1f")[:-1] for call in calls]


def test_createuser_makes_a_staff_superuser_and_sets_the_password_from_the_secret(tmp_path: Path) -> None:
    command = commands.create_user("ada", "ada@example.org", superuser=True)
    assert (command.service, command.secret_env) == ("lms", {"OPENEDX_USER_PASSWORD": "password"})
    manage_user, shell = run(command, tmp_path, {"password": "s3cret-Pw"})
    assert manage_user == ["lms", "manage_user", "--staff", "--superuser", "ada", "ada@example.org"]
    assert shell[:3] == ["lms", "shell", "-c"]
    assert "os.environ['OPENEDX_USER_PASSWORD']" in "\n".join(shell[3:])
    assert "s3cret-Pw" not in " ".join(command.args)  # in no Job spec


def test_createuser_without_flags_makes_a_plain_user(tmp_path: Path) -> None:
    manage_user, _ = run(commands.create_user("bob", "bob@example.org"), tmp_path, {"password": "x"})
    assert manage_user == ["lms", "manage_user", "bob", "bob@example.org"]


def test_values_travel_as_environment_never_inside_the_script() -> None:
    one = commands.create_user("ada", "ada@example.org", staff=True)
    other = commands.create_user("bob.smith+x", "b@example.com")
    assert one.args == other.args
    assert commands.set_theme("indigo", ["a.example.org"]).args == commands.set_theme("x", ["b.org"]).args


def test_importdemocourse_clones_the_release_branch_and_imports_it_in_studio(tmp_path: Path) -> None:
    command = commands.import_demo_course()
    assert command.service == "cms"
    assert command.env["OPENEDX_COURSE_VERSION"] == commands.openedx_release()
    assert commands.openedx_release().startswith("release/")  # Tutor 22 pins a named release
    # The clone is simulated: one course.xml where the script looks.
    (Path("/tmp/course") / "demo").mkdir(parents=True, exist_ok=True)
    (Path("/tmp/course") / "demo" / "course.xml").write_text("<course/>")
    try:
        git, manage = run(command, tmp_path)
    finally:
        subprocess.run(["rm", "-rf", "/tmp/course"], check=True)
    assert git == ["git", "clone", commands.DEMO_COURSE_REPOSITORY, "--branch", commands.openedx_release(),
                   "--depth", "1", "/tmp/course"]
    assert manage == ["cms", "import", "../data", "/tmp/course/demo"]


def test_settheme_and_reindex_run_their_management_commands(tmp_path: Path) -> None:
    (theme,) = run(commands.set_theme("indigo", ["learn.example.org", "studio.learn.example.org"]), tmp_path)
    assert theme[:3] == ["lms", "shell", "-c"]
    (tmp_path / "calls").unlink()
    assert run(commands.reindex(), tmp_path) == [["cms", "reindex_studio"], ["cms", "reindex_course", "--all"]]


def test_manage_passes_its_arguments_as_they_are(tmp_path: Path) -> None:
    command = commands.manage("lms", ["showmigrations", "--list", "a b"])
    assert command.args == ("./manage.py", "lms", "showmigrations", "--list", "a b")
    assert run(command, tmp_path) == [["lms", "showmigrations", "--list", "a b"]]


@pytest.mark.parametrize(("build", "message"), [
    (lambda: commands.create_user("a b", "a@example.org"), "is not a username"),
    (lambda: commands.create_user("ada", "not-an-address"), "is not an e-mail address"),
    (lambda: commands.create_user("ada", "a'@example.org"), "is not an e-mail address"),
    (lambda: commands.import_demo_course("http://example.org/course"), "is not an https URL"),
    (lambda: commands.import_demo_course(version="main; rm -rf /"), "is not a git branch"),
    (lambda: commands.set_theme("my theme", ["a.org"]), "is not a theme directory name"),
    (lambda: commands.set_theme("indigo", []), "at least one domain"),
    (lambda: commands.manage("worker", ["x"]), "is not lms or cms"),
    (lambda: commands.manage("lms", []), "a management command is needed"),
])
def test_bad_input_is_refused_before_any_job(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
