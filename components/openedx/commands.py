"""The management work an operator runs on an instance, as the container command of a Job: create a user, import
the demo course, set a theme, reindex search, any `manage.py` command. Pure: no Pulumi, no Kubernetes.

Used twice: by the operator commands (`ops.sh`), and by the program for the first-install tasks of an instance
(its admin, the demo course). Every value an operator gives travels as an environment variable, never pasted
into the script: no quoting to get wrong, nothing to inject. A password comes from a Secret (`secret_env`), so it
is in no Job spec and no log.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

Service = Literal["lms", "cms"]
PASSWORD_ENV = "OPENEDX_USER_PASSWORD"
DEMO_COURSE_REPOSITORY = "https://github.com/openedx/openedx-demo-course"
_USERNAME = re.compile(r"^[\w.@+-]{1,150}$")  # Django's username validator (ASCII letters, digits, @.+-_)
_EMAIL = re.compile(r"^[^@\s\"'\\]+@[^@\s\"'\\]+\.[^@\s\"'\\]+$")
_THEME = re.compile(r"^[\w.-]{1,255}$")
_GIT_REF = re.compile(r"^[\w./-]{1,255}$")
_URL = re.compile(r"^https://[\w.-]+(:\d+)?(/[\w.~%-]*)*$")


@dataclass(frozen=True)
class Command:
    """One Job's work: run `args` in the `service` variant of the openedx image, with `env` (plain values) and
    `secret_env` (variable name -> key of the run's Secret)."""

    name: str
    service: Service
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, str] = field(default_factory=dict)


def container_env(command: Command, secret: str) -> list[dict[str, Any]]:
    """The Kubernetes env entries of `command`'s container: its values, and its secret ones from Secret `secret`."""
    return [
        *({"name": key, "value": value} for key, value in command.env.items()),
        *({"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": secret_key}}}
          for key, secret_key in command.secret_env.items()),
    ]


def _shell(name: str, service: Service, script: str, env: Mapping[str, str],
           secret_env: Mapping[str, str] | None = None) -> Command:
    return Command(name, service, ("sh", "-e", "-c", script.strip()), dict(env), dict(secret_env or {}))


def _require(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


_CREATE_USER = """
flags=""
if [ "$OPENEDX_STAFF" = true ]; then flags="$flags --staff"; fi
if [ "$OPENEDX_SUPERUSER" = true ]; then flags="$flags --superuser"; fi
# manage_user creates the user, or updates the flags of an existing one with that username and e-mail.
./manage.py lms manage_user $flags "$OPENEDX_USERNAME" "$OPENEDX_EMAIL"
./manage.py lms shell -c "
import os
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username=os.environ['OPENEDX_USERNAME'])
user.set_password(os.environ['OPENEDX_USER_PASSWORD'])
user.save()
print('password set for', user.username)"
"""


def create_user(username: str, email: str, *, staff: bool = False, superuser: bool = False,
                password_key: str = "password") -> Command:
    """Create (or update) a user; its password is read from the run's Secret under `password_key`."""
    return _shell("createuser", "lms", _CREATE_USER, {
        "OPENEDX_USERNAME": _require(_USERNAME, username, "a username (letters, digits and @.+-_, at most 150)"),
        "OPENEDX_EMAIL": _require(_EMAIL, email, "an e-mail address"),
        "OPENEDX_STAFF": "true" if staff or superuser else "false",
        "OPENEDX_SUPERUSER": "true" if superuser else "false",
    }, {PASSWORD_ENV: password_key})


_IMPORT_COURSE = """
git clone "$OPENEDX_COURSE_REPOSITORY" --branch "$OPENEDX_COURSE_VERSION" --depth 1 /tmp/course
# The course is the one directory holding a course.xml.
found="$(find /tmp/course -name course.xml)"
if [ -z "$found" ] || [ "$(printf '%s\\n' "$found" | wc -l)" -ne 1 ]; then
  echo "expected exactly one course.xml in $OPENEDX_COURSE_REPOSITORY, found: ${found:-none}" >&2
  exit 1
fi
course_root="$(dirname "$found")"
echo "importing the course at $course_root"
./manage.py cms import ../data "$course_root"
"""


@functools.cache
def openedx_release() -> str:
    """The Open edX release of the pinned Tutor (its OPENEDX_COMMON_VERSION): the demo course's matching branch."""
    defaults = importlib.resources.files("tutor").joinpath("templates/config/defaults.yml").read_text()
    return str(yaml.safe_load(defaults)["OPENEDX_COMMON_VERSION"])


def import_demo_course(repository: str = DEMO_COURSE_REPOSITORY, version: str | None = None) -> Command:
    """Clone the demo course (the branch of the instance's Open edX release by default) and import it in Studio."""
    return _shell("importdemocourse", "cms", _IMPORT_COURSE, {
        "OPENEDX_COURSE_REPOSITORY": _require(_URL, repository, "an https URL of a git repository"),
        "OPENEDX_COURSE_VERSION": _require(_GIT_REF, version or openedx_release(), "a git branch, tag or commit"),
    })


_SET_THEME = """
./manage.py lms shell -c "
import os
from django.contrib.sites.models import Site
theme = os.environ['OPENEDX_THEME']
for domain in os.environ['OPENEDX_DOMAINS'].split():
    site, _ = Site.objects.get_or_create(domain=domain, defaults={'name': domain[:50]})
    site.themes.all().delete()
    if theme != 'default':
        site.themes.create(theme_dir_name=theme)
    print('theme', theme, 'set for', domain)"
"""


def set_theme(theme: str, domains: Sequence[str]) -> Command:
    """Assign a comprehensive theme to the sites of `domains` (`default` removes it)."""
    if not domains:
        raise ValueError("at least one domain is needed")
    for domain in domains:
        _require(re.compile(r"^[a-z0-9.-]+(:\d+)?$"), domain, "a domain name")
    return _shell("settheme", "lms", _SET_THEME, {
        "OPENEDX_THEME": _require(_THEME, theme, "a theme directory name"),
        "OPENEDX_DOMAINS": " ".join(domains),
    })


_REINDEX = """
# Studio's content search (Meilisearch), then the courseware search index of every course.
./manage.py cms reindex_studio
./manage.py cms reindex_course --all
"""


def reindex() -> Command:
    return _shell("reindex", "cms", _REINDEX, {})


def manage(service: Service, args: Sequence[str]) -> Command:
    """`./manage.py <service> ARGS...`, the arguments passed as they are (no shell)."""
    if service not in ("lms", "cms"):
        raise ValueError(f"{service!r} is not lms or cms")
    if not args:
        raise ValueError("a management command is needed, e.g. showmigrations")
    return Command("manage", service, ("./manage.py", service, *args))
