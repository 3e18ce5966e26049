"""`python -m operations.tutor_import`: a Tutor installation made by Tutor's own CLI (`tutor plugins enable`,
`tutor config save --set ...`), imported into a stack, then rendered by the program and compared with what Tutor
rendered for it.

The command runs as the operator runs it, in a process of its own, with a fake `pulumi` first on PATH that
records its arguments and stdin. Expectations come from the installation's config.yml and from the settings the
test gave Tutor, never from the importer's code.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from Crypto.PublicKey import RSA

from components.openedx.tutor_checks import OWNED_KEYS
from components.settings.instance import CARRIED_SECRETS
from operations import stack_file
from tests.conftest import inputs, of_type

pytestmark = pytest.mark.xdist_group("tutor_import")  # one Tutor installation for the module, built once

REPO = Path(__file__).resolve().parents[1]
TUTOR = Path(sys.executable).parent / "tutor"
LMS = "learn.uni.example.org"
SETTINGS = {
    "LMS_HOST": LMS,
    "CMS_HOST": "studio.uni.example.org",
    "PLATFORM_NAME": "Uni Learning",
    "CONTACT_EMAIL": "help@uni.example.org",
    "LANGUAGE_CODE": "fr",
    "ENABLE_HTTPS": "true",
    # Its own mail relay, and its own MySQL, MongoDB and Redis servers.
    "RUN_SMTP": "false", "SMTP_HOST": "smtp.sendgrid.net", "SMTP_PORT": "465", "SMTP_USE_SSL": "true",
    "SMTP_USERNAME": "apikey", "SMTP_PASSWORD": "SG.relay-Pw_7",
    "RUN_MYSQL": "false", "MYSQL_HOST": "db.uni.internal",
    "RUN_MONGODB": "false", "MONGODB_HOST": "mongo.uni.internal",
    "RUN_REDIS": "false", "REDIS_HOST": "redis.uni.internal",
    "DOCKER_IMAGE_OPENEDX": "registry.uni.example.org/openedx:22.0.3-uni",
    "JWT_COMMON_AUDIENCE": "uni-audience",  # read by the settings the program renders: kept in tutorConfig
    "K8S_NAMESPACE": "uni",  # read by Tutor's manifests only
    "OPENEDX_EXTRA_PIP_REQUIREMENTS": '["xblock-poll"]',  # read by Tutor's image build only
    # A plugin that is not installed here (a theme built into the installation's image) and its setting.
    "PLUGINS": '["credentials", "discovery", "forum", "mfe", "notes", "theme-uni"]',
    "THEME_UNI_COLOR": "indigo",
}
PLUGINS = ["credentials", "forum", "mfe", "notes"]
"""The supported plugins among the installation's; discovery (installed, with a service the charts do not run)
and theme-uni (not installed) are not."""
MAPPED = {"LMS_HOST", "CMS_HOST", "PLATFORM_NAME", "CONTACT_EMAIL", "LANGUAGE_CODE", "ENABLE_HTTPS", "PLUGINS",
          "DOCKER_IMAGE_OPENEDX", "RUN_SMTP", "SMTP_HOST", "SMTP_PORT", "SMTP_USE_SSL", "SMTP_USERNAME",
          "SMTP_PASSWORD"}
"""The keys the entry's own fields carry."""
EXPECTED_ENTRY = {
    "name": "learn",
    "lmsHost": LMS,
    "cmsHost": "studio.uni.example.org",
    "platformName": "Uni Learning",
    "contactEmail": "help@uni.example.org",
    "language": "fr",
    "plugins": PLUGINS,
    "images": {"openedx": {"repository": "registry.uni.example.org/openedx", "tag": "22.0.3-uni"}},
    "email": {"host": "smtp.sendgrid.net", "tls": "ssl", "username": "apikey"},
    "maintenance": True,  # the restore that brings the data needs it
    "backups": {"enabled": True},  # and, on a dev stack, the backup machinery
    "tutorConfig": {"JWT_COMMON_AUDIENCE": "uni-audience"},
}
TUTOR_ENDPOINTS = ("db.uni.internal", "mongo.uni.internal", "redis.uni.internal")
PASSPHRASE = {"PULUMI_CONFIG_PASSPHRASE": "correct horse", "PULUMI_BACKEND_URL": "file:///nonexistent/state"}


def tutor(root: Path, *arguments: str) -> None:
    env = {**os.environ, "TUTOR_ROOT": str(root), "TUTOR_PLUGINS_ROOT": str(root.parent / "no-file-plugins")}
    subprocess.run([str(TUTOR), *arguments], env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def tutor_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Tutor installation as `tutor local` or `tutor k8s` leaves it: config.yml and the env/ Tutor rendered."""
    root = tmp_path_factory.mktemp("tutor") / "root"
    tutor(root, "plugins", "enable", "mfe", "forum", "notes", "credentials", "discovery")
    tutor(root, "config", "save", *(option for key, value in SETTINGS.items() for option in ("--set",
                                                                                              f"{key}={value}")))
    return root


def config_yml(root: Path) -> dict[str, Any]:
    return yaml.safe_load((root / "config.yml").read_text())


@dataclass
class Project:
    """A Pulumi project directory, with one stack file, and the fake pulumi's record of its calls."""

    directory: Path
    stack: Path
    log: Path
    bin: Path

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


FAKE_PULUMI = """\
#!{python}
import json, os, sys
stdin = sys.stdin.read()
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "stdin": stdin, "cwd": os.getcwd()}}) + "\\n")
failing = os.environ.get("FAKE_PULUMI_FAIL_ON")
if failing and failing in " ".join(sys.argv):
    print("error: decrypting: incorrect passphrase", file=sys.stderr)
    sys.exit(1)
"""


def make_project(tmp_path: Path, stack_text: str) -> Project:
    """A copy of the project's Pulumi.yaml, the stack `uni` with `stack_text`, and a fake pulumi."""
    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))
    directory = tmp_path / "project"
    (directory / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", directory / "Pulumi.yaml")
    stack = directory / "stacks" / "Pulumi.uni.yaml"
    stack.write_text(stack_text)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pulumi-calls.jsonl"
    (bin_dir / "pulumi").write_text(FAKE_PULUMI.format(python=sys.executable, log=str(log)))
    (bin_dir / "pulumi").chmod(0o755)
    return Project(directory, stack, log, bin_dir)


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str], Project]:
    return lambda stack_text: make_project(tmp_path, stack_text)


def run_import(root: Path, project: Project, *options: str, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("PULUMI_", "TUTOR_"))}
    environ |= {"PATH": f"{project.bin}{os.pathsep}{os.environ['PATH']}", **(PASSPHRASE if env is None else env)}
    return subprocess.run([sys.executable, "-m", "operations.tutor_import", str(root), "--stack", str(project.stack),
                           *options], cwd=REPO, env=environ, capture_output=True, text=True, check=False)


def not_carried(output: str) -> dict[str, str]:
    """The `# Not carried over:` list of the command's report, as {key or `plugin <name>`: why}."""
    section = output.split("# Not carried over:\n", 1)[1]
    found = {}
    for line in section.splitlines():
        if not line.startswith("#   "):
            break
        key, why = line.removeprefix("#   ").split(": ", 1)
        found[key] = why
    return found


MINIMAL_STACK = "config:\n  openedx:platform:\n    tls:\n      issuer: selfsigned\n"


@pytest.fixture(scope="module")
def imported(tutor_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str]:
    """The installation imported, for real, into a stack of its own: the project and the command's output."""
    target = make_project(tmp_path_factory.mktemp("imported"), MINIMAL_STACK)
    done = run_import(tutor_root, target)
    assert done.returncode == 0, done.stderr
    return target, done.stdout + done.stderr


# --- the entry, the secrets and what is left behind -----------------------------------------------------------------


def test_the_entry_serves_the_installations_site(imported: tuple[Project, str]) -> None:
    target, _ = imported
    document = yaml.safe_load(target.stack.read_text())
    assert document["config"]["openedx:instances"] == [EXPECTED_ENTRY]
    assert document["config"]["openedx:platform"] == {"tls": {"issuer": "selfsigned"}}


def test_the_secrets_are_config_ymls_each_on_stdin_only(imported: tuple[Project, str], tutor_root: Path) -> None:
    target, output = imported
    config = config_yml(tutor_root)
    select, *sets = target.calls()
    assert select["argv"] == ["stack", "select", "--create", "--stack", "uni"]
    carried = {key for key in CARRIED_SECRETS if key in config}
    assert carried >= {"OPENEDX_SECRET_KEY", "JWT_RSA_PRIVATE_KEY", "CMS_OAUTH2_SECRET", "NOTES_SECRET_KEY",
                       "NOTES_OAUTH2_SECRET", "CREDENTIALS_OAUTH2_SECRET", "CREDENTIALS_OAUTH2_SECRET_SSO"}
    expected = {f"openedx:instances[0].tutorSecrets.{key}": config[key] for key in carried}
    expected["openedx:instances[0].email.password"] = SETTINGS["SMTP_PASSWORD"]
    assert {call["argv"][-1]: call["stdin"] for call in sets} == {path: f"{value}\n" for path, value in
                                                                   expected.items()}
    for call in sets:
        assert call["argv"][:-1] == ["config", "set", "--stack", "uni", "--path", "--secret"]
        assert call["cwd"] == str(target.directory)
    for value in expected.values():
        assert not any(value in argument for call in target.calls() for argument in call["argv"])
        assert value not in output and value not in target.stack.read_text()


def test_every_key_of_config_yml_is_carried_or_named_with_why(imported: tuple[Project, str],
                                                             tutor_root: Path) -> None:
    _, output = imported
    config = config_yml(tutor_root)
    dropped = not_carried(output)
    carried = {key for key in CARRIED_SECRETS if key in config}
    kept = set(EXPECTED_ENTRY["tutorConfig"])
    assert {key for key in dropped if " " not in key} == set(config) - MAPPED - carried - kept
    assert dropped["plugin discovery"].startswith("'discovery' is not a supported Tutor plugin")
    assert dropped["plugin theme-uni"].startswith("'theme-uni' is not a supported Tutor plugin")
    for key in ("DISCOVERY_SECRET_KEY", "DISCOVERY_MYSQL_PASSWORD", "ENABLE_PROGRAMS"):
        assert dropped[key] == "a setting of the discovery plugin, which the program does not support"
    assert dropped["THEME_UNI_COLOR"] == "a setting of the theme-uni plugin, which the program does not support"
    for key in ("OPENEDX_MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD", "NOTES_MYSQL_PASSWORD", "CREDENTIALS_MYSQL_PASSWORD"):
        assert "own database user" in dropped[key] and "./ops.sh uni learn restore" in dropped[key], key
    for key in ("MEILISEARCH_MASTER_KEY", "MEILISEARCH_API_KEY", "MEILISEARCH_API_KEY_UID"):
        assert "new search server" in dropped[key] and "./ops.sh uni learn reindex" in dropped[key], key
    assert dropped["RUN_MYSQL"].startswith("the stack provides MySQL")
    assert dropped["RUN_MONGODB"].startswith("the stack provides MongoDB")
    assert dropped["RUN_REDIS"].startswith("the stack provides Redis")
    for key in ("MYSQL_HOST", "MONGODB_HOST", "REDIS_HOST", "CREDENTIALS_OAUTH2_SECRET_DEV"):
        assert dropped[key] == f"set by the program; {OWNED_KEYS[key]}", key
    assert "ignore" in dropped["K8S_NAMESPACE"] and "ignore" in dropped["OPENEDX_EXTRA_PIP_REQUIREMENTS"]
    assert "tutor plugins" in dropped["PLUGIN_INDEXES"]


def test_tutors_own_defaults_are_what_the_entry_keeps(tmp_path: Path) -> None:
    """A config.yml with little set: Tutor's defaults (HTTPS off, "My Open edX", its own mail relay) are what the
    installation served, so the entry says so where the program's defaults differ."""
    from operations.tutor_import import build
    from operations.tutor_root import read

    digest = "registry.example.com/openedx@sha256:" + "0" * 64
    (tmp_path / "config.yml").write_text(yaml.safe_dump({
        "LMS_HOST": "courses.example.com", "PLUGINS": ["indigo", "mfe"], "SMTP_HOST": "mail.example.com",
        "DOCKER_IMAGE_OPENEDX": digest, "OPENEDX_SECRET_KEY": "Abc123", "MFE_HOST": "apps.courses.example.com"}))
    imported = build(read(tmp_path), None, "mystack", "production")
    assert imported.entry == {"name": "courses", "lmsHost": "courses.example.com", "platformName": "My Open edX",
                              "https": False, "plugins": ["mfe"], "maintenance": True}
    assert imported.secrets[0].key == "tutorSecrets.OPENEDX_SECRET_KEY" and imported.secrets[0].value == "Abc123"
    assert imported.dropped["plugin indigo"].startswith("'indigo' is not a supported Tutor plugin")
    assert imported.dropped["SMTP_HOST"].startswith("the installation sent mail through Tutor's own relay")
    assert imported.dropped["DOCKER_IMAGE_OPENEDX"] == (f"{digest!r} names no tag: set images.openedx to the same "
                                                        "image by repository and tag")
    assert set(imported.dropped) == {"plugin indigo", "SMTP_HOST", "DOCKER_IMAGE_OPENEDX"}


def test_a_dry_run_prints_the_entry_and_the_commands_and_writes_nothing(tutor_root: Path, project) -> None:
    target = project(MINIMAL_STACK)
    done = run_import(tutor_root, target, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert target.stack.read_text() == MINIMAL_STACK and target.calls() == []
    printed = yaml.safe_load(done.stdout.split("\n\n")[0])
    assert printed == [EXPECTED_ENTRY]
    commands = [line for line in done.stdout.splitlines() if line.startswith("pulumi ")]
    assert "pulumi config set --stack uni --path --secret 'openedx:instances[0].tutorSecrets.JWT_RSA_PRIVATE_KEY'" \
        in commands
    config = config_yml(tutor_root)
    for key in CARRIED_SECRETS:
        assert str(config[key]) not in done.stdout + done.stderr


# --- the stack file -------------------------------------------------------------------------------------------------


def test_the_stack_file_keeps_everything_else_and_an_entry_is_replaced_by_name(tutor_root: Path, project) -> None:
    original = (REPO / "stacks" / "Pulumi.local.yaml").read_text()
    target = project(original)
    assert run_import(tutor_root, target, "--name", "sandbox").returncode == 0
    replaced = target.stack.read_text()
    head = original[:original.index("    - name: sandbox")]
    assert replaced.startswith(head)  # every comment and key before the replaced entry, byte for byte
    before, after = yaml.safe_load(original), yaml.safe_load(replaced)
    assert {k: v for k, v in after["config"].items() if k != "openedx:instances"} == \
        {k: v for k, v in before["config"].items() if k != "openedx:instances"}
    demo, sandbox = after["config"]["openedx:instances"]
    assert demo == before["config"]["openedx:instances"][0]
    assert sandbox == {**EXPECTED_ENTRY, "name": "sandbox"}
    assert "openedx:instances[1].tutorSecrets.OPENEDX_SECRET_KEY" in {call["argv"][-1] for call in target.calls()}
    assert run_import(tutor_root, target, "--name", "sandbox").returncode == 0  # again: it replaces itself
    assert target.stack.read_text() == replaced


@pytest.mark.parametrize(("text", "index", "replaced"), [
    ("", 0, False),
    ("# kept\nconfig:\n", 0, False),
    ("config:\n  openedx:cloud: local  # kept\n", 0, False),
    ("config:\n  openedx:instances: []\n  openedx:cloud: local  # kept\n", 0, False),
    ("config:\n  openedx:instances:\n  # kept\n  openedx:cloud: local\n", 0, False),
    ("config:\n  openedx:instances:\n  - name: a\n    lmsHost: a.example.org  # kept\n# kept\n", 1, False),
    ("config:\n    openedx:instances:\n      - name: new\n        lmsHost: old.example.org\n"
     "        tutorConfig:\n          X: |\n            two\n            lines\n      # kept\n"
     "      - name: b\n        lmsHost: b.example.org\n", 0, True),
])
def test_an_entry_fits_any_stack_file_layout(text: str, index: int, replaced: bool) -> None:
    entry = {"name": "new", "lmsHost": "new.example.org", "plugins": ["mfe"], "tutorConfig": {"A": "x: y"}}
    placement = stack_file.place(text, entry)
    instances = yaml.safe_load(placement.text)["config"]["openedx:instances"]
    assert (placement.index, placement.replaced) == (index, replaced) and instances[index] == entry
    assert placement.text.count("# kept") == text.count("# kept")  # the operator's comments stay


def test_a_layout_it_cannot_edit_is_refused() -> None:
    with pytest.raises(stack_file.StackFileError, match="block list"):
        stack_file.place("config:\n  openedx:instances: [{name: a, lmsHost: a.example.org}]\n",
                         {"name": "b", "lmsHost": "b.example.org"})


# --- refusals -------------------------------------------------------------------------------------------------------


def test_a_production_stack_without_passphrase_is_refused_before_anything_is_written(tutor_root: Path,
                                                                                      project) -> None:
    text = MINIMAL_STACK + "  openedx:environment: production\n"
    target = project(text)
    done = run_import(tutor_root, target, env={"PULUMI_BACKEND_URL": "file:///nonexistent/state"})
    assert done.returncode == 2 and "PULUMI_CONFIG_PASSPHRASE is not set" in done.stderr
    assert target.stack.read_text() == text and target.calls() == []


def test_an_entry_the_program_would_refuse_is_not_written(tutor_root: Path, project, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(tutor_root, root)
    config = config_yml(root) | {"PLATFORM_NAME": 'The "Uni"'}
    (root / "config.yml").write_text(yaml.safe_dump(config))
    target = project(MINIMAL_STACK)
    done = run_import(root, target)
    assert done.returncode == 2
    assert "openedx:instances[0].platformName: must be text without double quotes" in done.stderr
    assert target.stack.read_text() == MINIMAL_STACK and target.calls() == []


def test_a_secret_pulumi_cannot_set_is_named_and_the_import_can_be_run_again(tutor_root: Path, project) -> None:
    target = project(MINIMAL_STACK)
    done = run_import(tutor_root, target, env={**PASSPHRASE, "FAKE_PULUMI_FAIL_ON": "NOTES_SECRET_KEY"})
    assert done.returncode == 1
    assert "tutorSecrets.NOTES_SECRET_KEY: error: decrypting: incorrect passphrase" in done.stderr
    assert "not set: tutorSecrets.NOTES_SECRET_KEY, tutorSecrets.NOTES_OAUTH2_SECRET" in done.stderr
    assert yaml.safe_load(target.stack.read_text())["config"]["openedx:instances"] == [EXPECTED_ENTRY]
    assert run_import(tutor_root, target).returncode == 0
    assert yaml.safe_load(target.stack.read_text())["config"]["openedx:instances"] == [EXPECTED_ENTRY]


def test_an_installation_of_another_release_is_warned_about(tutor_root: Path, project, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(tutor_root, root)
    (root / "env" / "version").write_text("21.0.8\n")  # last rendered by Tutor 21 (Ulmo)
    done = run_import(root, project(MINIMAL_STACK), "--dry-run")
    assert done.returncode == 0
    assert "last rendered by Tutor 21.0.8, the stack runs Tutor 22.0.3: upgrade the installation to Tutor 22" \
        in done.stderr


def test_a_folder_that_is_not_a_tutor_root_is_refused(project, tmp_path: Path) -> None:
    done = run_import(tmp_path, project(MINIMAL_STACK))
    assert done.returncode == 2 and "has no config.yml" in done.stderr


# --- the key test: the program renders what Tutor rendered, on the stack's data services ----------------------------

RENDERED = {  # the settings Secret's key -> the file `tutor config save` wrote under env/
    "lms.env.yml": "apps/openedx/config/lms.env.yml",
    "cms.env.yml": "apps/openedx/config/cms.env.yml",
    "lms-settings-production.py": "apps/openedx/settings/lms/production.py",
    "cms-settings-production.py": "apps/openedx/settings/cms/production.py",
    "notes-settings-tutor.py": "plugins/notes/apps/settings/tutor.py",
    "credentials-settings-production.py": "plugins/credentials/apps/credentials/settings/production.py",
    "caddy-Caddyfile": "apps/caddy/Caddyfile",
    "mfe-Caddyfile": "plugins/mfe/apps/mfe/Caddyfile",
}
PUBLIC_HOSTS = (LMS, "studio.uni.example.org", f"apps.{LMS}", f"notes.{LMS}", f"credentials.{LMS}",
                f"meilisearch.{LMS}")


@pytest.fixture(scope="module")
def program_settings(imported: tuple[Project, str]) -> dict[str, str]:
    """The imported instance's settings Secret, as the program renders it from the stack: the stack's config, with
    each secret the fake pulumi received where the real one would have stored it (and hands the program
    decrypted)."""
    from offline.evaluation import cli_config, evaluate

    target, _ = imported
    config = yaml.safe_load(target.stack.read_text())["config"]
    for call in target.calls():
        if call["argv"][:2] == ["config", "set"]:
            match = re.fullmatch(r"openedx:instances\[(\d+)\]\.(\w+)\.(\w+)", call["argv"][-1])
            assert match is not None
            entry = config["openedx:instances"][int(match[1])]
            entry.setdefault(match[2], {})[match[3]] = call["stdin"].removesuffix("\n")
    engine, secret_keys = cli_config(config)
    recording = evaluate(engine, "uni", secret_keys)
    (secret,) = [s for s in of_type(recording, "kubernetes:core/v1:Secret") if s.name == "learn-settings"]
    data: dict[str, str] = inputs(secret)["stringData"]
    return data


def _jwk_block(source: str, name: str) -> str:
    """The `JWT_AUTH["<name>"] = json.dumps(...)` statement of a settings file."""
    start = source.index(f'JWT_AUTH["{name}"]')
    return source[start:source.index("\n)", start)]


def _base64url(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).decode().rstrip("=")


def test_the_program_renders_the_installations_identity_on_the_stacks_data_services(
        program_settings: dict[str, str], tutor_root: Path) -> None:
    config = config_yml(tutor_root)
    tutor_files = {key: (tutor_root / "env" / path).read_text() for key, path in RENDERED.items()}
    # What users, tokens and OAuth clients know the site by: every line of Tutor's settings that holds one of the
    # installation's hosts or secrets (SECRET_KEY, the OAuth clients' secrets, the relay's password) is rendered,
    # unchanged, in the same file.
    # The lines of the discovery plugin (its site, its catalog URLs), which the program does not run, aside.
    identity = [config[key] for key in CARRIED_SECRETS if key in config and key != "JWT_RSA_PRIVATE_KEY"]
    identity += [*PUBLIC_HOSTS, SETTINGS["SMTP_PASSWORD"]]
    checked = 0
    for key, tutor_text in tutor_files.items():
        program_lines = set(program_settings[key].splitlines())
        for line in tutor_text.splitlines():
            if any(value in line for value in identity) and f"discovery.{LMS}" not in line:
                assert line in program_lines, f"{key}: {line!r}"
                checked += 1
    assert checked > 100
    for secret in ("NOTES_SECRET_KEY", "NOTES_OAUTH2_SECRET", "CREDENTIALS_OAUTH2_SECRET",
                   "CREDENTIALS_OAUTH2_SECRET_SSO", "OPENEDX_SECRET_KEY", "CMS_OAUTH2_SECRET"):
        assert config[secret] in "\n".join(program_settings.values()), secret
    # The JWT signing key: the same private JWK and public JWKS, made of config.yml's RSA key.
    modulus = _base64url(RSA.import_key(config["JWT_RSA_PRIVATE_KEY"]).n)
    for key in ("lms-settings-production.py", "cms-settings-production.py"):
        for name in ("JWT_PRIVATE_SIGNING_JWK", "JWT_PUBLIC_SIGNING_JWK_SET"):
            block = _jwk_block(tutor_files[key], name)
            assert modulus in block and block == _jwk_block(program_settings[key], name), (key, name)
    assert _jwk_block(program_settings["credentials-settings-production.py"], "JWT_PUBLIC_SIGNING_JWK_SET") == \
        _jwk_block(tutor_files["credentials-settings-production.py"], "JWT_PUBLIC_SIGNING_JWK_SET")
    # The data services are the stack's (the instance's own, on this local stack), never the installation's.
    everything = "\n".join(program_settings.values())
    for gone in (*TUTOR_ENDPOINTS, config["OPENEDX_MYSQL_PASSWORD"], config["NOTES_MYSQL_PASSWORD"],
                 config["CREDENTIALS_MYSQL_PASSWORD"], config["MEILISEARCH_MASTER_KEY"]):
        assert gone not in everything
    for key in ("lms.env.yml", "cms.env.yml"):
        tutor_env, program_env = yaml.safe_load(tutor_files[key]), yaml.safe_load(program_settings[key])
        assert tutor_env["DATABASES"]["default"]["HOST"] == "db.uni.internal"
        assert program_env["DATABASES"]["default"]["HOST"] == "mysql"
        assert tutor_env["CELERY_BROKER_HOSTNAME"] == "redis.uni.internal:6379"
        assert program_env["CELERY_BROKER_HOSTNAME"] == "redis:6379"
    for key in ("lms-settings-production.py", "cms-settings-production.py"):
        assert '"host": "mongo.uni.internal"' in tutor_files[key] and '"host": "mongodb"' in program_settings[key]
    assert '"HOST": "mysql"' in program_settings["notes-settings-tutor.py"]
    assert '"HOST": "mysql"' in program_settings["credentials-settings-production.py"]
    assert program_settings["mfe-Caddyfile"] == tutor_files["mfe-Caddyfile"]  # the MFEs' router, byte for byte
