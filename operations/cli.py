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
from operations.stack import Instance, OperationError

PASSWORD_KEY = "password"


@dataclass(frozen=True)
class Request:
    """A run: the command, its Secret's data (none when empty), what to print once the Job has completed."""

    command: Command
    secret: dict[str, str] = field(default_factory=dict)
    on_success: str = ""


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
        return Request(command, {PASSWORD_KEY: prompt_password()})
    password = generate_password()
    return Request(command, {PASSWORD_KEY: password}, f"password of {args.username}: {password}")


def _import_demo_course(args: argparse.Namespace, instance: Instance) -> Request:
    return Request(commands.import_demo_course(args.repository, args.version))


def _set_theme(args: argparse.Namespace, instance: Instance) -> Request:
    return Request(commands.set_theme(args.theme, args.domain or [instance.lms_host, instance.studio_host]))


def _reindex(args: argparse.Namespace, instance: Instance) -> Request:
    return Request(commands.reindex())


def _manage(args: argparse.Namespace, instance: Instance) -> Request:
    return Request(commands.manage(args.service, args.arguments))


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
    return main


def request(args: argparse.Namespace, instance: Instance) -> Request:
    """The run the parsed arguments ask for; ValueError when a value is refused."""
    build: Callable[[argparse.Namespace, Instance], Request] = args.build
    return build(args, instance)
