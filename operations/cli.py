"""The command line of `./ops.sh` (`python -m operations`), and what each command asks the cluster to run."""

from __future__ import annotations

import argparse
import getpass
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from components.openedx import commands
from components.openedx.commands import Command
from operations import backups
from operations.job import Manifest, build_job, build_step_job, template_name
from operations.stack import Instance, OperationError

PASSWORD_KEY = "password"


JobBuilder = Callable[[Manifest, str, int | None], Manifest]
"""(the template CronJob, the run's name, the timeout) -> the run's Job."""
Step = Callable[[backups.State, Instance], str]
"""What a run does on the cluster besides its Job, before it (refuses with OperationError) or after it has completed
(returns what to print)."""


@dataclass(frozen=True)
class Request:
    """A run: its name, the CronJob its Job is copied from and how, its Secret's data (none when empty), what is
    checked before and done after it, what to print once the Job has completed."""

    name: str
    template: str
    job: JobBuilder
    secret: dict[str, str] = field(default_factory=dict)
    on_success: str = ""
    before: Step | None = None
    after: Step | None = None


def _command(command: Command, secret: dict[str, str] | None = None, on_success: str = "") -> Request:
    """A management command, in a copy of its service's command CronJob."""
    return Request(command.name, template_name(command.service),
                   lambda cronjob, name, timeout: build_job(cronjob, command, name, timeout),
                   dict(secret or {}), on_success)


def _steps(name: str, template: str, env: dict[str, str], before: Step | None = None,
           after: Step | None = None) -> Request:
    """A backup command, in a copy of a backup CronJob with `env` set in every step."""
    return Request(name, template, lambda cronjob, run, timeout: build_step_job(cronjob, name, run, env, timeout),
                   before=before, after=after)


def generate_password() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))


def prompt_password() -> str:
    password = getpass.getpass("Password: ")
    if not password:
        raise OperationError("the password is empty")
    if getpass.getpass("Password (again): ") != password:
        raise OperationError("the passwords differ")
    return password


def _create_user(args: argparse.Namespace, instance: Instance) -> Request:
    command = commands.create_user(args.username, args.email, staff=args.staff, superuser=args.superuser,
                                   password_key=PASSWORD_KEY)
    if args.prompt_password:
        return _command(command, {PASSWORD_KEY: prompt_password()})
    password = generate_password()
    return _command(command, {PASSWORD_KEY: password}, f"password of {args.username}: {password}")


def _import_demo_course(args: argparse.Namespace, instance: Instance) -> Request:
    return _command(commands.import_demo_course(args.repository, args.version))


def _set_theme(args: argparse.Namespace, instance: Instance) -> Request:
    return _command(commands.set_theme(args.theme, args.domain or [instance.lms_host, instance.studio_host]))


def _reindex(args: argparse.Namespace, instance: Instance) -> Request:
    return _command(commands.reindex())


def _manage(args: argparse.Namespace, instance: Instance) -> Request:
    return _command(commands.manage(args.service, args.arguments))


def _backup(args: argparse.Namespace, instance: Instance) -> Request:
    return _steps("backup", backups.BACKUP, {"BACKUP_KIND": "manual"})


def _backups(args: argparse.Namespace, instance: Instance) -> Request:
    def status(state: backups.State, instance: Instance) -> str:
        return "\n".join(backups.status_line(what, state.jobs(instance.namespace, backups.selector(cronjob)))
                         for what, cronjob in (("backup", backups.BACKUP), ("verification", backups.VERIFY)))

    return _steps("backups", backups.LIST, {}, after=status)


def _verify(args: argparse.Namespace, instance: Instance) -> Request:
    # Named like the scheduled verification's Jobs: the same alert watches both.
    return _steps("backup-verify", backups.VERIFY, {"BACKUP_NAME": args.backup or ""})


def _restore(args: argparse.Namespace, instance: Instance) -> Request:
    def before(state: backups.State, instance: Instance) -> str:
        backups.require_maintenance(state, instance.namespace, instance.name, args.stack)
        return ""

    def after(state: backups.State, instance: Instance) -> str:
        return backups.after_restore(state, instance.namespace, instance.name, args.stack)

    env = {"BACKUP_NAME": args.backup or "", "TUTOR_DUMPS": "true" if args.tutor_dumps else "false"}
    if args.tutor_dumps and not args.backup:
        raise ValueError("--tutor-dumps needs the name of the folder that holds the dumps")
    return _steps("restore", backups.RESTORE, env, before, after)


def _seconds(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    return int(text)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="ops.sh",
        description="Run Open edX management work as a Kubernetes Job in an instance's namespace, with the "
                    "instance's image, settings and network rules; its output is streamed, its result is the "
                    "exit code (0 completed, 1 failed, 2 refused before anything ran, 130 interrupted).")
    main.add_argument("stack", help="the Pulumi stack (stacks/Pulumi.STACK.yaml)")
    main.add_argument("instance", help="an instance of the stack")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                        help="the Job's deadline (default: the chart's commands.activeDeadlineSeconds)")
    subcommands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, build: Callable[[argparse.Namespace, Instance], Request],
            description: str) -> argparse.ArgumentParser:
        sub = subcommands.add_parser(name, parents=[common], help=description, description=description)
        sub.set_defaults(build=build)
        return sub

    create_user = add("createuser", _create_user,
                      "Create a user, or update the flags and password of an existing one; the generated password "
                      "is printed once the Job has completed.")
    create_user.add_argument("username")
    create_user.add_argument("email")
    create_user.add_argument("--staff", action="store_true")
    create_user.add_argument("--superuser", action="store_true", help="implies --staff")
    create_user.add_argument("--prompt-password", action="store_true",
                             help="ask for the password (twice) instead of generating one")
    import_course = add("importdemocourse", _import_demo_course, "Import the Open edX demo course in Studio.")
    import_course.add_argument("--repository", default=commands.DEMO_COURSE_REPOSITORY, metavar="URL")
    import_course.add_argument("--version", metavar="REF",
                               help="a branch, tag or commit (default: the instance's Open edX release)")
    set_theme = add("settheme", _set_theme, "Assign a comprehensive theme to sites (`default` removes it).")
    set_theme.add_argument("theme")
    set_theme.add_argument("--domain", action="append", metavar="DOMAIN",
                           help="a site's domain, repeatable (default: the instance's LMS and Studio hosts)")
    add("reindex", _reindex, "Rebuild Studio's content search and the courseware search index.")
    manage = add("manage", _manage, "./manage.py lms|cms ARGS... (options of ops.sh go before lms|cms).")
    manage.add_argument("service", choices=("lms", "cms"))
    manage.add_argument("arguments", nargs=argparse.REMAINDER, metavar="ARGS")
    add("backup", _backup, "Back up the instance now (MySQL, MongoDB, media on a volume) into its backup storage.")
    add("backups", _backups, "List the instance's backups, and the result of the newest backup and verification.")
    verify = add("verify", _verify, "Restore a backup (the newest by default) into scratch servers and compare "
                                    "its row and document counts with its manifest.")
    verify.add_argument("backup", nargs="?", help="a backup's name (default: the newest complete one)")
    restore = add("restore", _restore, "Restore a backup (the newest by default) into the instance, which must be "
                                       "in maintenance; the next deploy runs the migrations.")
    restore.add_argument("backup", nargs="?", help="a backup's name (default: the newest complete one)")
    restore.add_argument("--tutor-dumps", action="store_true",
                         help="BACKUP is a folder of a Tutor installation's dumps (openedx.sql[.gz], "
                              "openedx.archive[.gz]) copied into the backup storage")
    clone = subcommands.add_parser(
        "clone", parents=[common],
        help="Restore a backup of INSTANCE into another instance of the stack, which must be in maintenance.",
        description="Restore a backup of INSTANCE into another instance of the stack (TARGET: add it to the stack "
                    "with `maintenance: true` and deploy it first). The source serves its backups to the target for "
                    "the time of the run only; the next deploy of the target runs the migrations.")
    clone.add_argument("backup", help="the backup's name (./ops.sh STACK INSTANCE backups lists them)")
    clone.add_argument("--to", required=True, metavar="TARGET", help="the instance that receives the data")
    return main


def request(args: argparse.Namespace, instance: Instance) -> Request:
    """The run the parsed arguments ask for; ValueError when a value is refused."""
    build: Callable[[argparse.Namespace, Instance], Request] = args.build
    return build(args, instance)
