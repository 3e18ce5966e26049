"""`python -m operations.tutor_import TUTOR_ROOT --stack STACK [--name NAME] [--dry-run]`: an existing Tutor
installation (`tutor local` or `tutor k8s`) as an instance entry of a stack.

It reads the installation's config.yml (with Tutor's Python API, `operations/tutor_root.py`), and writes into
`stacks/Pulumi.<stack>.yaml` the entry of `openedx:instances` that serves the same site: hosts, name, language,
HTTPS, the supported plugins, its own images, its mail relay, and every other setting the program would use
(`tutorConfig`). Its secrets that users' sessions, tokens and OAuth clients depend on are carried over as stack
secrets (`tutorSecrets`, set with `pulumi config set --secret`, the value on stdin, never on a command line). Every
other key of config.yml is listed with why it is not carried. The data moves separately: a backup of the
installation restored into the instance (README, "Coming from Tutor").

Exit codes: 0 done (or the dry run printed), 1 a secret could not be set (the entry is written: run it again), 2
refused before anything was written.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.openedx.tutor_checks import OWNED_KEYS
from components.openedx.tutor_keys import ignored_keys
from components.program import INSTANCE_CHECKS
from components.settings import plugins as supported_plugins
from components.settings.email import DEFAULT_PORTS
from components.settings.instance import CARRIED_SECRETS, InstanceSettings
from components.settings.model import INSTANCE_NAME_MAX, NAMESPACE, ConfigError
from components.settings.stack import load
from offline.evaluation import without_secure
from operations import stack_file
from operations.passphrase import passphrase_problem, uses_passphrase
from operations.stack import PROJECT_DIR
from operations.tutor_root import TutorRoot, TutorRootError, read

EXIT_PARTIAL = 1
EXIT_REFUSED = 2

_IMAGES = {"openedx": ("DOCKER_IMAGE_OPENEDX", ""), "mfe": ("MFE_DOCKER_IMAGE", "mfe"),
           "notes": ("NOTES_DOCKER_IMAGE", "notes"), "credentials": ("CREDENTIALS_DOCKER_IMAGE", "credentials")}
"""images.<name>: Tutor's key of that image, and the plugin that runs it ("" for every instance)."""
_SMTP = ("SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_USE_TLS", "SMTP_USE_SSL")
_SITE = ("LMS_HOST", "CMS_HOST", "PLATFORM_NAME", "CONTACT_EMAIL", "LANGUAGE_CODE", "ENABLE_HTTPS", "PLUGINS")
_SERVICES = {"MYSQL": "MySQL", "MONGODB": "MongoDB", "REDIS": "Redis", "MEILISEARCH": "Meilisearch",
             "SMTP": "a mail relay"}
_DATABASE_PASSWORD = re.compile(r"(\w+_)?(MYSQL|MONGODB)(_ROOT)?_PASSWORD")
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DEFAULTS = {name: field.default for name, field in InstanceSettings.model_fields.items()}


class ImportRefused(Exception):
    """What keeps the import from being written: one line (or several) for the operator."""


@dataclass(frozen=True)
class Secret:
    key: str
    """Under the instance's entry: `tutorSecrets.<KEY>`, `email.password`."""
    value: str


@dataclass(frozen=True)
class Import:
    entry: dict[str, Any]
    """The instance's entry, without its secrets."""
    secrets: tuple[Secret, ...]
    dropped: dict[str, str]
    """What of config.yml is not carried over (a key, or `plugin <name>`), with why."""


# --- the entry ----------------------------------------------------------------------------------------------------


def build(root: TutorRoot, name: str | None, stack: str, environment: str) -> Import:
    """The entry and secrets that carry `root` over, and what is left behind."""
    user, effective = root.user, root.effective
    lms_host = str(effective["LMS_HOST"])
    name = name or instance_name(lms_host)
    plugins = [plugin for plugin in root.plugins if plugin in supported_plugins.SUPPORTED]
    dropped = {f"plugin {plugin}": str(supported_plugins.plugin_problem(plugin))
               for plugin in root.plugins if plugin not in supported_plugins.SUPPORTED}
    entry: dict[str, Any] = {"name": name, "lmsHost": lms_host, **_site(effective, lms_host, plugins),
                             "plugins": plugins}
    consumed = {*_SITE, *(["MFE_HOST"] if "mfe" in plugins else [])}
    images, taken, unusable = _images(root, plugins)
    entry |= {"images": images} if images else {}
    consumed |= taken
    dropped |= unusable
    secrets: list[Secret] = []
    if effective.get("RUN_SMTP") is False:
        entry["email"], password = _email(effective)
        secrets += [Secret("email.password", password)] if password else []
        consumed |= {"RUN_SMTP", *_SMTP}
    carried, not_carried = _carried(root, plugins)
    secrets = [Secret(f"tutorSecrets.{key}", value) for key, value in carried.items()] + secrets
    dropped |= not_carried
    # The restore that brings the data refuses to run unless the instance is in maintenance, with backups on.
    entry["maintenance"] = True
    if environment == "dev":
        entry["backups"] = {"enabled": True}
    rest = [key for key in user if key not in consumed and key not in carried and key not in dropped]
    reasons = _reasons(root, rest, plugins, stack, name)
    dropped |= reasons
    passed = [key for key in rest if key not in reasons]
    dropped |= ignored_keys(tuple(plugins), passed)
    tutor_config = {key: user[key] for key in sorted(passed) if key not in dropped}
    entry |= {"tutorConfig": tutor_config} if tutor_config else {}
    # The plugins left behind first, then the keys.
    return Import(entry, tuple(secrets), dict(sorted(dropped.items(), key=lambda item: (" " not in item[0], item))))


def release_warning(root: TutorRoot) -> str | None:
    """The installation runs another Open edX release than the stack (Tutor's major version is the release)."""
    if root.rendered_by is None or root.rendered_by.split(".")[0] == root.tutor_version.split(".")[0]:
        return None
    major = root.tutor_version.split(".")[0]
    return (f"the installation was last rendered by Tutor {root.rendered_by}, the stack runs Tutor "
            f"{root.tutor_version}: upgrade the installation to Tutor {major} with Tutor before backing it up (Open "
            "edX moves one release at a time, each with its own upgrade steps)")


def instance_name(lms_host: str) -> str:
    """The first label of the LMS host, as an instance name (a DNS label of at most 30 characters)."""
    label = lms_host.split(".")[0].lower()[:INSTANCE_NAME_MAX].rstrip("-")
    if not _DNS_LABEL.fullmatch(label):
        raise ImportRefused(f"no instance name can be derived from LMS_HOST {lms_host!r}: give one with --name")
    return label


def _site(effective: Mapping[str, Any], lms_host: str, plugins: list[str]) -> dict[str, Any]:
    """What the installation served, where it differs from the program's defaults (Tutor's too, but for the
    platform name and HTTPS, off in Tutor)."""
    values = {
        "cmsHost": (effective["CMS_HOST"], f"studio.{lms_host}"),
        "platformName": (effective["PLATFORM_NAME"], _DEFAULTS["platform_name"]),
        "contactEmail": (effective["CONTACT_EMAIL"], f"contact@{lms_host}"),
        "language": (effective["LANGUAGE_CODE"], _DEFAULTS["language"]),
        "https": (effective["ENABLE_HTTPS"], _DEFAULTS["https"]),
    }
    if "mfe" in plugins:
        values["mfeHost"] = (effective["MFE_HOST"], f"apps.{lms_host}")
    return {key: value for key, (value, default) in values.items() if value != default}


def _images(root: TutorRoot, plugins: list[str]) -> tuple[dict[str, Any], set[str], dict[str, str]]:
    """(images.<name> that differ from Tutor's defaults, the keys they come from, the keys that cannot be used)."""
    images: dict[str, Any] = {}
    taken: set[str] = set()
    unusable: dict[str, str] = {}
    for name, (key, plugin) in _IMAGES.items():
        if plugin and plugin not in plugins:
            continue
        reference = str(root.effective[key])
        image = _image(reference)
        if reference != root.defaults[key] and image is None:
            unusable[key] = f"{reference!r} names no tag: set images.{name} to the same image by repository and tag"
            continue
        if reference != root.defaults[key]:
            images[name] = image
        taken.add(key)
    return images, taken, unusable


def _image(reference: str) -> dict[str, str] | None:
    if "@" in reference:
        return None
    repository, colon, tag = reference.rpartition(":")
    if not colon or "/" in tag:  # no tag: the port of a registry, or nothing
        return {"repository": reference, "tag": "latest"}
    return {"repository": repository, "tag": tag}


def _email(effective: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The relay Tutor sent through (RUN_SMTP false), as `email`, and its password."""
    tls = "ssl" if effective["SMTP_USE_SSL"] else "starttls" if effective["SMTP_USE_TLS"] else "none"
    email: dict[str, Any] = {"host": effective["SMTP_HOST"]}
    if tls != "starttls":
        email["tls"] = tls
    if effective["SMTP_PORT"] != DEFAULT_PORTS[tls]:
        email["port"] = effective["SMTP_PORT"]
    if effective["SMTP_USERNAME"]:
        email["username"] = effective["SMTP_USERNAME"]
    return email, str(effective["SMTP_PASSWORD"] or "")


def _carried(root: TutorRoot, plugins: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the secrets of config.yml carried over, as Tutor used them; those left behind with why): a plugin's only
    with the plugin."""
    owners = {key: name for name, plugin in supported_plugins.SUPPORTED.items() for key in plugin.secrets}
    carried: dict[str, str] = {}
    left: dict[str, str] = {}
    for key in CARRIED_SECRETS:
        if key not in root.user:
            continue
        owner = owners.get(key)
        if owner is not None and owner not in plugins:
            left[key] = f"a secret of the {owner} plugin, which the installation does not enable"
        else:
            carried[key] = str(root.effective[key])
    return carried, left


def _reasons(root: TutorRoot, keys: list[str], plugins: list[str], stack: str, name: str) -> dict[str, str]:
    """Why each of `keys` cannot be carried over, for those that cannot (the others may go to tutorConfig)."""
    restore = (f"the program provisions the instance's own database user; the data moves by restoring a backup of "
               f"the installation (./ops.sh {stack} {name} restore FOLDER --tutor-dumps)")
    search = f"the instance gets a new search server, indexed from the databases (./ops.sh {stack} {name} reindex)"
    reasons: dict[str, str] = {}
    for key in keys:
        plugin = _plugin_of(root, key)
        if plugin and plugin not in plugins:
            supported = plugin in supported_plugins.SUPPORTED
            reasons[key] = (f"a setting of the {plugin} plugin, which "
                            + ("the installation does not enable" if supported else "the program does not support"))
        elif key == "PLUGIN_INDEXES":
            reasons[key] = ("read by `tutor plugins` only: the program's plugins are Python packages pinned in "
                            "requirements.txt")
        elif _DATABASE_PASSWORD.fullmatch(key):
            reasons[key] = restore
        elif key.startswith("MEILISEARCH_"):
            reasons[key] = search
        elif key.startswith("RUN_") and key.removeprefix("RUN_") in _SERVICES:
            reasons[key] = f"the stack provides {_SERVICES[key.removeprefix('RUN_')]} (Tutor's RUN_* services)"
        elif key in _SMTP:
            reasons[key] = ("the installation sent mail through Tutor's own relay (RUN_SMTP): the stack provides one "
                            "(platform.email, or the instance's email)")
        elif key in OWNED_KEYS:
            reasons[key] = f"set by the program; {OWNED_KEYS[key]}"
    return reasons


def _plugin_of(root: TutorRoot, key: str) -> str:
    """The plugin a key belongs to: the loaded plugin that declares it, else a listed (or supported) plugin whose
    name prefixes it, Tutor's convention (`NOTES_HOST`); "" for Tutor's own and unknown keys."""
    if key in root.declared_by:
        return root.declared_by[key]
    candidates = [*root.plugins, *supported_plugins.SUPPORTED]
    return next((plugin for plugin in candidates if key.startswith(plugin.upper().replace("-", "_") + "_")), "")


# --- the checks the program runs ------------------------------------------------------------------------------------


def problems(imported: Import, document: Mapping[str, Any], index: int) -> list[str]:
    """What the program's validation says of the entry (with its secrets), placed at `index` among the stack's
    instances; secret values never appear."""
    config = document.get("config") or {}
    prefix = f"{NAMESPACE}:"
    raw = {key.removeprefix(prefix): without_secure(value) for key, value in config.items()
           if key.startswith(prefix)}
    providers = {key: value for key, value in config.items() if not key.startswith(prefix)}
    instances = list(raw.get("instances") or [])
    instances[index:index + 1] = [_with_secrets(imported)]
    try:
        load({**raw, "instances": instances}, providers, INSTANCE_CHECKS)
    except ConfigError as error:
        mine = f"{prefix}instances[{index}]"
        found = [problem for problem in error.problems if problem.startswith(mine)]
        for secret in imported.secrets:
            found = [problem.replace(secret.value, "[secret]") for problem in found]
        return found
    return []


def _with_secrets(imported: Import) -> dict[str, Any]:
    entry = {**imported.entry, "tutorSecrets": {}}
    for secret in imported.secrets:
        section, key = secret.key.split(".", 1)
        entry[section] = {**entry.get(section, {}), key: secret.value}
    if not entry["tutorSecrets"]:
        del entry["tutorSecrets"]
    return entry


# --- the stack file and the secrets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackFile:
    path: Path
    name: str
    project: Path
    """The Pulumi project directory (`pulumi config` runs there; its Pulumi.yaml keeps stack files in stacks/)."""


def stack_file_of(argument: str) -> StackFile:
    """`--stack`: a stack name (stacks/Pulumi.<name>.yaml of this project) or the stack file's path."""
    if "/" in argument or argument.endswith((".yaml", ".yml")):
        path = Path(argument).resolve()
        name = path.name.removeprefix("Pulumi.").rsplit(".", 1)[0]
        if not path.name.startswith("Pulumi.") or not name:
            raise ImportRefused(f"{argument}: a stack file is named Pulumi.<stack>.yaml")
        project = path.parent.parent
        if path.parent.name != "stacks" or not (project / "Pulumi.yaml").is_file():
            raise ImportRefused(f"{argument}: not in the stacks/ folder of a Pulumi project, where `pulumi config "
                                "set` writes the stack's secrets")
    else:
        name, project = argument, PROJECT_DIR
        path = project / "stacks" / f"Pulumi.{name}.yaml"
    if not path.is_file():
        raise ImportRefused(f"no stack file {path}: create the stack first (copy an example of stacks/, as the "
                            "README's quickstarts do)")
    return StackFile(path, name, project)


def pulumi_environment(stack: StackFile, document: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """The environment `deploy.sh` runs pulumi in (scripts/pulumi-env.sh): the project's file backend unless
    PULUMI_BACKEND_URL says otherwise, an empty passphrase where none is set, refused for a production stack."""
    env = dict(environ)
    if not env.get("PULUMI_BACKEND_URL"):
        state = stack.project / ".pulumi-state"
        state.mkdir(exist_ok=True)
        env["PULUMI_BACKEND_URL"] = f"file://{state}"
    problem = passphrase_problem(document, env)
    if problem is not None:
        raise ImportRefused(f"{stack.path}: {problem}")
    passphrase_set = "PULUMI_CONFIG_PASSPHRASE" in env or env.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if uses_passphrase(document, env["PULUMI_BACKEND_URL"]) and not passphrase_set:
        print("PULUMI_CONFIG_PASSPHRASE is not set: using an empty passphrase for this stack's secrets (set one for "
              "anything shared).", file=sys.stderr)
        env["PULUMI_CONFIG_PASSPHRASE"] = ""
    return env


def secret_command(stack: str, index: int, secret: Secret) -> list[str]:
    """`pulumi config set` of one secret; its value goes on stdin (a command line shows in `ps`)."""
    return ["pulumi", "config", "set", "--stack", stack, "--path", "--secret",
            f"{NAMESPACE}:instances[{index}].{secret.key}"]


def _pulumi(command: list[str], stack: StackFile, env: Mapping[str, str], stdin: str | None = None) -> str | None:
    """Run pulumi in the project; None, or the last line it printed on failure."""
    # No terminal for pulumi to prompt on: a value comes on stdin, or nothing does.
    streams: dict[str, Any] = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    try:
        done = subprocess.run(command, cwd=stack.project, env=env, capture_output=True, text=True, check=False,
                              **streams)
    except FileNotFoundError:
        return "the Pulumi CLI is needed: https://www.pulumi.com/docs/install/"
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no error output"])[-1]


def _write(path: Path, text: str) -> None:
    """Replace the file in one step (a stack file is never left half written), keeping its mode."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.chmod(temporary, path.stat().st_mode & 0o7777)
    os.replace(temporary, path)


# --- the command ---------------------------------------------------------------------------------------------------


def report(imported: Import, stack: StackFile, placement: stack_file.Placement, dry_run: bool) -> str:
    index, name = placement.index, imported.entry["name"]
    where = f"{NAMESPACE}:instances[{index}] of {stack.path}"
    what = f"replaces the entry named {name}" if placement.replaced else "a new entry"
    lines = [f"# {where} ({what}){': dry run, nothing written' if dry_run else ''}:",
             *yaml.safe_dump([imported.entry], sort_keys=False, default_flow_style=None, allow_unicode=True,
                             width=4096).splitlines()]
    if imported.secrets:
        lines += ["", "# Secrets carried over, each set from stdin (values not shown):",
                  *(shlex.join(secret_command(stack.name, index, secret)) for secret in imported.secrets)]
    if imported.dropped:
        lines += ["", "# Not carried over:", *(f"#   {key}: {why}" for key, why in imported.dropped.items())]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m operations.tutor_import",
        description="Import an existing Tutor installation into a stack: its instance entry in "
                    "stacks/Pulumi.<stack>.yaml, its secrets as stack secrets, and the list of what is not carried "
                    "over. The data moves separately, by restoring a backup (README, \"Coming from Tutor\").")
    main.add_argument("root", type=Path, metavar="TUTOR_ROOT",
                      help="the installation's root (`tutor config printroot`)")
    main.add_argument("--stack", required=True, help="a stack name, or its file stacks/Pulumi.<stack>.yaml")
    main.add_argument("--name", help="the instance's name (default: the first label of LMS_HOST)")
    main.add_argument("--dry-run", action="store_true",
                      help="print the entry, the pulumi commands (values elided) and what is not carried; "
                           "write nothing")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        stack = stack_file_of(args.stack)
        text = stack.path.read_text()
        document = yaml.safe_load(text) or {}
        environment = str((document.get("config") or {}).get(f"{NAMESPACE}:environment", "dev"))
        root = read(args.root.resolve())
        warning = release_warning(root)
        if warning:
            print(f"tutor_import: warning: {warning}", file=sys.stderr)
        imported = build(root, args.name, stack.name, environment)
        placement = stack_file.place(text, imported.entry)
        found = problems(imported, document, placement.index)
        if found:
            raise ImportRefused("the entry would be refused by the program:\n  " + "\n  ".join(found))
        env = None if args.dry_run else pulumi_environment(stack, document, os.environ)
        if env is not None:  # a stack never deployed has no state yet: create it as deploy.sh would
            failure = _pulumi(["pulumi", "stack", "select", "--create", "--stack", stack.name], stack, env)
            if failure:
                raise ImportRefused(f"stack {stack.name} cannot be selected or created: {failure}")
            placement = stack_file.place(stack.path.read_text(), imported.entry)  # as pulumi may have left it
    except (ImportRefused, TutorRootError, stack_file.StackFileError) as error:
        print(f"tutor_import: error: {error}", file=sys.stderr)
        return EXIT_REFUSED
    print(report(imported, stack, placement, args.dry_run), flush=True)
    if env is None:
        return 0
    _write(stack.path, placement.text)
    for position, secret in enumerate(imported.secrets):
        failure = _pulumi(secret_command(stack.name, placement.index, secret), stack, env, secret.value + "\n")
        if failure:
            left = ", ".join(s.key for s in imported.secrets[position:])
            print(f"tutor_import: error: pulumi config set {secret.key}: {failure}\nThe entry is written; not set: "
                  f"{left}. Once pulumi works, run the import again: it replaces the entry.", file=sys.stderr)
            return EXIT_PARTIAL
    print(f"\nWritten: {stack.path}, and {len(imported.secrets)} secrets. Next: review the entry, "
          f"`pulumi preview --stack {stack.name}`, ./deploy.sh {stack.name}, then restore the data "
          "(README, \"Coming from Tutor\").", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
