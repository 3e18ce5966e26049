"""Tutor 22 as an in-process settings compiler: an instance's plain data in, its rendered settings out.

The recipe (its output is byte-identical to `tutor config save`'s, which the tests check):
- `import tutor.commands.jobs` before `Actions.CORE_READY.do()`, once per process: that registers the core init tasks;
- the full config is the user config merged with Tutor's base and defaults, then rendered key by key, on a plain dict
  (no TUTOR_ROOT, nothing written to disk);
- plugin hooks are process-global, so instances are rendered grouped by plugin set. A switch unloads every plugin the
  way `tutor plugins disable` does and reloads the full sorted set, as a fresh `tutor` would.

What is cached, and why it cannot change the output (a test compares against Tutor's own uncached path):
- one renderer per plugin set, with `config` swapped per instance: templates read the config only at render time;
- compiled `from_string` templates by source, and file templates in an in-memory Jinja bytecode cache, across renderer
  rebuilds, keyed by the filter set (Jinja's compiler inlines how each filter is called);
- the `rsa_import_key` filter by PEM, without pycryptodome's primality tests (the key's algebra is still checked).

Tutor's console output goes nowhere (Pulumi would log it) and `TUTOR_*` environment variables are hidden from it, so the
same instance renders the same bytes on every machine.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.resources
import io
import json
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import CodeType
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
import tutor.commands.jobs  # noqa: F401 -- its CORE_READY callback declares Tutor's core init tasks
from Crypto.IO import PEM
from Crypto.PublicKey import RSA
from Crypto.Util.asn1 import DerSequence
from tutor import config as tutor_config_module
from tutor import env as tutor_env
from tutor import exceptions as tutor_exceptions
from tutor import fmt as tutor_fmt
from tutor import hooks
from tutor import plugins as tutor_plugins
from tutor import utils as tutor_utils
from tutor.plugins import v0 as tutor_plugins_v0
from tutor.plugins import v1 as tutor_plugins_v1

from components.openedx import tutor_plugin
from components.openedx.tutor_config import plugin_names, tutor_config
from components.openedx.tutor_instance import TutorInstance
from components.settings import plugins as supported_plugins

Config = dict[str, Any]

# PLUGIN_UNLOADED deletes <root>/env/plugins/<name> when it exists: give it a root that never does.
_NO_ROOT = "/nonexistent/openedx-k8s/tutor-root"
# CORE_READY installs every *.py and *.yml plugin found there (default ~/.local/share/tutor-plugins).
_NO_PLUGINS_ROOT = "/nonexistent/openedx-k8s/tutor-plugins"
# PLUGINS_LOADED callbacks (tutor-mfe's) add hooks outside any plugin context: fired in ours, they go on each switch.
_LOADED_CONTEXT = hooks.Contexts.app("__openedx_k8s_plugins_loaded__")
_OPENEDX_SERVICES = ("lms", "cms")  # init tasks in the openedx image; plugin services' run in their own images
_MYSQL = "mysql"  # a plugin's MySQL task the instance's own user may run, in the MySQL client image

_FIXED_FILES = (
    ("apps/openedx/config/lms.env.yml", "lms.env.yml"),
    ("apps/openedx/config/cms.env.yml", "cms.env.yml"),
    ("apps/openedx/uwsgi.ini", "uwsgi.ini"),
    ("apps/caddy/Caddyfile", "caddy-Caddyfile"),
)
_MFE_CADDYFILE = ("mfe/apps/mfe/Caddyfile", "mfe-Caddyfile")
_SETTINGS_DIR = "apps/openedx/settings/"
# Tutor's settings modules for `tutor dev` and its test runs: the pods import the production module alone, and
# these would add two fifths to every instance's settings Secret, which Pulumi keeps three times in the stack's
# state and writes again after every step of an update.
_UNUSED_SETTINGS_MODULES = ("development.py", "test.py")


class TutorRenderError(RuntimeError):
    """Tutor could not render an instance, or produced something the chart cannot run."""


@dataclass(frozen=True)
class InitTask:
    """One of Tutor's init tasks, to run in order as a Job of the `service` image (`sh -e -c script`)."""

    service: str  # "lms", "cms", a plugin service ("notes"...) or "mysql" (a MySQL client, as the instance's user)
    key: str  # its key in the settings Secret, e.g. "init-03-lms.sh"
    script: str


@dataclass(frozen=True)
class RenderedSettings:
    files: dict[str, str]
    """Settings Secret key -> content: lms/cms.env.yml, uwsgi.ini, caddy-Caddyfile, mfe-Caddyfile (with mfe),
    and <lms|cms>-settings-<file> for Tutor's settings modules but those of `tutor dev` and its tests."""
    init_tasks: tuple[InitTask, ...]

    def secret_data(self) -> dict[str, str]:
        """Everything the settings Secret holds: the files and each task's script under its key (sorted keys)."""
        data = {**self.files, **{task.key: task.script for task in self.init_tasks}}
        return dict(sorted(data.items()))

    @property
    def content_hash(self) -> str:
        """10 hex characters of sha256 over `secret_data()`: part of the immutable Secret's name."""
        canonical = json.dumps(self.secret_data(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def _with_certificates(settings: RenderedSettings, instance: TutorInstance) -> RenderedSettings:
    """The CA bundles managed servers are verified against travel in the settings Secret (the chart mounts them)."""
    bundles = {"mysql": instance.mysql.ca_certificate, "mongodb": instance.mongodb.ca_certificate}
    certificates = {tutor_plugin.CA_KEYS[service]: pem for service, pem in bundles.items() if pem}
    if not certificates:
        return settings
    return RenderedSettings(dict(sorted({**settings.files, **certificates}.items())), settings.init_tasks)


def render_settings(instance: TutorInstance) -> RenderedSettings:
    """The rendered settings of one instance (switches the process's plugin set if it has to: the program creates
    instances with the same plugins together, so that it switches once per set)."""
    return _COMPILER.compile(instance)


def read_keys(plugins: tuple[str, ...]) -> frozenset[str]:
    """Every Tutor key that what the charts run reads, for an instance with `plugins`: its settings files, init
    tasks and the patches they pull in, every branch, and the keys their defaults are made of. A key outside it
    changes nothing the instance runs (it is for Tutor's own manifests, images or commands)."""
    return _COMPILER.read_keys(plugin_names(plugins))


# --- Tutor's process-wide state -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Tutor reports through click.echo (to `fmt.STDOUT` when set) and plugins may print: none of it is for Pulumi's
    logs. Errors still surface as exceptions."""
    sink = io.StringIO()
    saved = tutor_fmt.STDOUT
    tutor_fmt.STDOUT = sink  # type: ignore[assignment]  # typed None upstream, any text stream works
    try:
        with contextlib.redirect_stdout(sink):
            yield
    finally:
        tutor_fmt.STDOUT = saved


@contextlib.contextmanager
def _without_tutor_env() -> Iterator[None]:
    """Hide TUTOR_* variables: they override config defaults (`update_with_env`) and switch plugin discovery off,
    which would make the output depend on the machine running Pulumi."""
    hidden = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("TUTOR_")}
    try:
        yield
    finally:
        os.environ.update(hidden)


def _add_site_task(plugin: str) -> None:
    """PLUGIN_LOADED callback: runs inside the plugin's app context, so unloading the plugin removes the task again."""
    if plugin == tutor_plugin.NAME:
        hooks.Filters.CLI_DO_INIT_TASKS.add_item(
            (tutor_plugin.SITE_TASK_SERVICE, tutor_plugin.SITE_TASK), priority=hooks.priorities.LOW
        )


def _boot() -> None:
    """Once per process: discover installed plugins and core init tasks, and install our own plugin."""
    with _without_tutor_env():
        # Only packaged plugins: file plugins in someone's home directory would change what gets rendered.
        tutor_plugins_v0.PLUGINS_ROOT = _NO_PLUGINS_ROOT
        tutor_plugins_v1.PLUGINS_ROOT = _NO_PLUGINS_ROOT
        if not list(hooks.Filters.CLI_DO_INIT_TASKS.iterate_from_context(hooks.Contexts.app("lms").name)):
            hooks.Actions.CORE_READY.do()  # not already done by someone else in this process
    if tutor_plugins.is_installed(tutor_plugin.NAME):
        raise TutorRenderError(f"a Tutor plugin named {tutor_plugin.NAME!r} is installed: it clashes with ours")
    with hooks.Contexts.PLUGINS.enter():
        tutor_plugins_v0.DictPlugin(tutor_plugin.dict_plugin_data())
        hooks.Actions.PLUGIN_LOADED.add()(_add_site_task)


def _switch_plugins(wanted: tuple[str, ...]) -> None:
    """Unload everything and load `wanted` (sorted): loading only the difference would change hook order."""
    missing = [name for name in wanted if not tutor_plugins.is_installed(name)]
    if missing:
        installed = ", ".join(tutor_plugins.iter_installed())
        raise TutorRenderError(f"Tutor plugins not installed: {', '.join(missing)} (installed: {installed})")
    hooks.clear_all(context=_LOADED_CONTEXT.name)
    for name in list(tutor_plugins.iter_loaded()):
        # What `tutor plugins disable` does: clears the plugin's hooks, every hooks.lru_cache, and its module from
        # sys.modules (so the next load registers its hooks again). The config passed is a throwaway.
        hooks.Actions.PLUGIN_UNLOADED.do(name, _NO_ROOT, {})
    for name in wanted:
        tutor_plugins.load(name)
    with _LOADED_CONTEXT.enter():
        hooks.Actions.PLUGINS_LOADED.do()


# --- caches ------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _rsa_import_key(pem: str) -> RSA.RsaKey:
    """Tutor's `rsa_import_key` filter, memoised (common_all.py imports the JWT key in each of 4 settings files).

    pycryptodome's import tests p and q for primality (~12 ms a key). Our keys come from pulumi_tls, so a PKCS#1 key
    is rebuilt from its components after the cheap algebraic checks only; any other form goes through Tutor's filter.
    """
    der, marker, encrypted = PEM.decode(pem)
    if marker != "RSA PRIVATE KEY" or encrypted:
        return tutor_utils.rsa_import_key(pem)
    version, n, e, d, p, q = DerSequence().decode(der, nr_elements=9, only_ints_expected=True)[:6]
    if version != 0 or n != p * q or (e * d - 1) % math.lcm(p - 1, q - 1):
        raise TutorRenderError("JWT_RSA_PRIVATE_KEY is not a consistent RSA private key")
    # The CRT coefficient the way pycryptodome's own PKCS#1 import computes it: p^-1 mod q.
    return RSA.construct((n, e, d, p, q, pow(p, -1, q)), consistency_check=False)


class _BytecodeMemory(jinja2.BytecodeCache):
    """Compiled file templates kept in memory, so a renderer rebuilt after a plugin switch does not recompile them."""

    def __init__(self) -> None:
        self._codes: dict[str, tuple[str, CodeType]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        hit = self._codes.get(bucket.key)
        if hit is not None and hit[0] == bucket.checksum:  # the checksum covers the template's source
            bucket.code = hit[1]

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.code is not None:
            self._codes[bucket.key] = (bucket.checksum, bucket.code)


@dataclass(frozen=True)
class _CompiledForFilters:
    sources: dict[str, CodeType]
    files: _BytecodeMemory


class _Compiled:
    """Compiled templates for the whole process, per filter signature: Jinja's compiler writes how each filter is
    called (with or without context) into the code, so code is reusable only with the same filters."""

    def __init__(self) -> None:
        self._by_signature: dict[tuple[tuple[str, str], ...], _CompiledForFilters] = {}

    def for_environment(self, environment: jinja2.Environment) -> _CompiledForFilters:
        signature = tuple(
            sorted(
                (f"{kind}:{name}", repr(getattr(func, "jinja_pass_arg", None)))
                for kind, functions in (("filter", environment.filters), ("test", environment.tests))
                for name, func in functions.items()
            )
        )
        if signature not in self._by_signature:
            self._by_signature[signature] = _CompiledForFilters({}, _BytecodeMemory())
        return self._by_signature[signature]


class _Renderer(tutor_env.Renderer):
    """Tutor's renderer, built once per plugin set and reused for each of its instances with `config` swapped."""

    def __init__(self, compiled: _Compiled) -> None:
        super().__init__({})
        environment = self.environment
        environment.auto_reload = False  # installed templates do not change under us: no stat() per template
        # Set directly, not through the ENV_TEMPLATE_FILTERS hook, which would print a "conflicting filter" alert.
        environment.filters["rsa_import_key"] = _rsa_import_key
        self._compiled = compiled.for_environment(environment)
        environment.bytecode_cache = self._compiled.files
        self._templates: dict[str, jinja2.Template] = {}

    def render_str(self, text: str) -> str:
        if "{" not in text and "\r" not in text:
            # No Jinja syntax: Jinja would only drop one trailing newline. Most per-instance values (hosts,
            # passwords, keys) are like that; compiling and caching each would cost time and memory for nothing.
            return text[:-1] if text.endswith("\n") else text
        template = self._templates.get(text)
        if template is None:
            template = self._templates[text] = self._from_string(text)
        try:
            return template.render(**self.config)
        except jinja2.exceptions.UndefinedError as error:  # as Tutor reports it
            raise tutor_exceptions.TutorError(f"Missing configuration value: {error.args[0]}") from error

    def _from_string(self, text: str) -> jinja2.Template:
        """`environment.from_string`, which Jinja never caches, with the compiled code shared across renderers."""
        environment = self.environment
        code = self._compiled.sources.get(text)
        if code is None:
            try:
                code = self._compiled.sources[text] = environment.compile(text)
            except jinja2.exceptions.TemplateSyntaxError as error:
                raise tutor_exceptions.TutorError(f"Template syntax error: {error.args[0]}") from error
        return environment.template_class.from_code(environment, code, environment.make_globals(None), None)

    def render_value(self, value: Any) -> Any:
        """`tutor.env.render_unknown` with this renderer: strings rendered, dicts and lists recursively."""
        if isinstance(value, str):
            return self.render_str(value)
        if isinstance(value, dict):
            return {key: self.render_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.render_value(item) for item in value]
        return value


# --- the engine ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PluginSet:
    """What depends on the loaded plugins: rebuilt after every switch."""

    names: tuple[str, ...]
    renderer: _Renderer
    base: Config  # unrendered, never mutated: merged values are replaced by rendered copies
    defaults: Config
    files: tuple[tuple[str, str], ...]  # (template, Secret key)
    tasks: tuple[tuple[str, str], ...]  # (service, unrendered script)
    unique: tuple[str, ...]  # the keys Tutor would fill at random where unset
    borrowed: dict[str, str]  # unsupported plugins' keys the init tasks read, unrendered (`SupportedPlugin.borrowed`)


class _Compiler:
    def __init__(self) -> None:
        self._lock = threading.RLock()  # hooks are process-global and not thread-safe
        self._booted = False
        self._current: _PluginSet | None = None
        self._compiled = _Compiled()
        self._base_defaults: dict[tuple[str, ...], tuple[Config, Config]] = {}
        self._read_keys: dict[tuple[str, ...], frozenset[str]] = {}

    def compile(self, instance: TutorInstance) -> RenderedSettings:
        config = tutor_config(instance)  # refuse bad input before touching Tutor
        with self._lock, _quiet():
            plugin_set = self._use(tuple(config["PLUGINS"]))
            return _with_certificates(self._render_one(plugin_set, instance.name, config), instance)

    def read_keys(self, names: tuple[str, ...]) -> frozenset[str]:
        with self._lock, _quiet():
            if names not in self._read_keys:
                self._read_keys[names] = _keys_read(self._use(names))
            return self._read_keys[names]

    def _use(self, names: tuple[str, ...]) -> _PluginSet:
        if not self._booted:
            _boot()
            self._booted = True
        if tuple(tutor_plugins.iter_loaded()) != names:
            _switch_plugins(names)
            self._current = None
        if self._current is None or self._current.names != names:
            self._current = self._build(names)
        return self._current

    def _build(self, names: tuple[str, ...]) -> _PluginSet:
        renderer = _Renderer(self._compiled)  # captures the loaded plugins' template roots, filters and globals
        if names not in self._base_defaults:
            with _without_tutor_env():  # get_defaults() applies TUTOR_* overrides
                self._base_defaults[names] = (tutor_config_module.get_base(), tutor_config_module.get_defaults())
        base, defaults = self._base_defaults[names]
        unique = tuple(key for key, _ in hooks.Filters.CONFIG_UNIQUE.iterate())
        borrowed = {key: value for plugin in _loaded_plugins() for key, value in plugin.borrowed.items()}
        return _PluginSet(names, renderer, base, defaults, _file_templates(renderer), _init_tasks(), unique, borrowed)

    def _full_config(self, plugin_set: _PluginSet, user: Config) -> Config:
        """update_with_base + update_with_defaults + render_full, with our renderer and the cached base/defaults."""
        config = dict(user)
        tutor_config_module.merge(config, plugin_set.base)
        tutor_config_module.merge(config, plugin_set.defaults)
        renderer = plugin_set.renderer
        renderer.config = config  # live: each value is rendered against the keys before it, already rendered
        for key, value in config.items():
            config[key] = renderer.render_value(value)
        return config

    def _render_one(self, plugin_set: _PluginSet, name: str, user: Config) -> RenderedSettings:
        random = [key for key in plugin_set.unique if key not in user]
        if random:  # a new value on every render: the settings would never be the same twice
            raise TutorRenderError(f"instance {name!r}: the program does not set {', '.join(random)}, which Tutor "
                                   "would generate at random")
        try:
            self._full_config(plugin_set, user)  # leaves the renderer's config set to it
            renderer = plugin_set.renderer
            files = {key: _text(template, renderer.render_template(template)) for template, key in plugin_set.files}
            # The init tasks alone see the borrowed keys (the settings files test whether they are defined).
            config = renderer.config
            renderer.config = {**{key: renderer.render_str(value) for key, value in plugin_set.borrowed.items()},
                               **config}
            tasks = tuple(
                InitTask(service, f"init-{position:02d}-{service}.sh", _render_task(renderer, service, script))
                for position, (service, script) in enumerate(plugin_set.tasks, start=1)
            )
        except tutor_exceptions.TutorError as error:
            raise TutorRenderError(f"instance {name!r}: {error}") from error
        return RenderedSettings(dict(sorted(files.items())), tasks)


def _render_task(renderer: _Renderer, service: str, script: str) -> str:
    """A task's script. A plugin's MySQL task runs as the instance's own user, which owns the plugins' databases:
    Tutor's root-credential keys stand for that user there (the root credential is never given to Tutor)."""
    if service != _MYSQL:
        return renderer.render_str(script).strip()
    config = renderer.config
    renderer.config = {**config, "MYSQL_ROOT_USERNAME": config["OPENEDX_MYSQL_USERNAME"],
                       "MYSQL_ROOT_PASSWORD": config["OPENEDX_MYSQL_PASSWORD"]}
    try:
        return renderer.render_str(script).strip()
    finally:
        renderer.config = config


def _loaded_plugins() -> list[supported_plugins.SupportedPlugin]:
    """The loaded plugins the program supports (ours is loaded too, and is not one of them)."""
    return [supported_plugins.SUPPORTED[name] for name in tutor_plugins.iter_loaded()
            if name in supported_plugins.SUPPORTED]


def _loaded_services() -> list[supported_plugins.PluginService]:
    return [service for plugin in _loaded_plugins() for service in plugin.services]


def _file_templates(renderer: tutor_env.Renderer) -> tuple[tuple[str, str], ...]:
    """(template, Secret key) of every file the chart mounts, for the loaded plugins."""
    files = list(_FIXED_FILES)
    files += [(service.settings_template, service.settings_key) for service in _loaded_services()]
    for variant in ("lms", "cms"):
        for template in renderer.iter_templates_in(f"{_SETTINGS_DIR}{variant}"):
            relative = template.removeprefix(f"{_SETTINGS_DIR}{variant}/")
            if relative in _UNUSED_SETTINGS_MODULES:
                continue
            files.append((template, f"{variant}-settings-{relative.replace('/', '-')}"))
    if tutor_plugins.is_loaded("mfe"):
        files.append(_MFE_CADDYFILE)
    keys = [key for _, key in files]
    if len(set(keys)) != len(keys):
        raise TutorRenderError(f"two templates map to the same Secret key: {sorted(keys)}")
    return tuple(files)


def _init_tasks() -> tuple[tuple[str, str], ...]:
    """Tutor's init tasks for the loaded plugins, in its order, without the root-only ones: Tutor's mysql.sh and
    the plugins' database creation, which the program's provisioning does instead."""
    core_mysql = set(hooks.Filters.CLI_DO_INIT_TASKS.iterate_from_context(hooks.Contexts.app("mysql").name))
    loaded = _loaded_plugins()
    provisioned = {_resource_text(path) for plugin in loaded for path in plugin.provisioned_tasks}
    as_user = {_resource_text(path) for plugin in loaded for path in plugin.user_tasks}
    services = {*_OPENEDX_SERVICES, *(service.name for service in _loaded_services())}
    tasks = []
    for service, script in hooks.Filters.CLI_DO_INIT_TASKS.iterate():
        if (service, script) in core_mysql or (service == _MYSQL and script in provisioned):
            continue
        if service in services or (service == _MYSQL and script in as_user):
            tasks.append((service, script))
            continue
        first_line = script.strip().splitlines()[0] if script.strip() else ""
        raise TutorRenderError(
            f"an init task runs in service {service!r} ({first_line!r}); the charts run {', '.join(sorted(services))}"
            " and the supported plugins' own MySQL tasks")
    return tuple(tasks)


@functools.cache
def _resource_text(path: str) -> str:
    """A file of an installed package, `package:relative/path` (a plugin's task template, as it registers it)."""
    package, _, relative = path.partition(":")
    return importlib.resources.files(package).joinpath(relative).read_text(encoding="utf-8")


def _keys_read(plugin_set: _PluginSet) -> frozenset[str]:
    """`read_keys` of a loaded plugin set, from the templates' syntax trees (all branches, no rendering)."""
    environment = plugin_set.renderer.environment
    names: set[str] = set()
    templates: set[str] = set()
    patches: set[str] = set()

    def visit(source: str) -> None:
        tree = environment.parse(source)
        names.update(jinja2.meta.find_undeclared_variables(tree))
        for included in jinja2.meta.find_referenced_templates(tree):
            if included is not None and included not in templates:
                templates.add(included)
                visit(environment.loader.get_source(environment, included)[0])
        for call in tree.find_all(jinja2.nodes.Call):
            if (isinstance(call.node, jinja2.nodes.Name) and call.node.name == "patch" and call.args
                    and isinstance(call.args[0], jinja2.nodes.Const) and call.args[0].value not in patches):
                patches.add(call.args[0].value)
                for content in tutor_plugins.iter_patches(call.args[0].value):
                    visit(content)

    for template, _ in plugin_set.files:
        templates.add(template)
        visit(environment.loader.get_source(environment, template)[0])
    for _, script in plugin_set.tasks:
        visit(script)
    # A key read through another's default (NOTES_HOST: "notes.{{ LMS_HOST }}") is read too.
    values = {**plugin_set.base, **plugin_set.defaults}
    pending = list(names)
    while pending:
        for text in _strings(values.get(pending.pop())):
            if "{" in text:
                found = jinja2.meta.find_undeclared_variables(environment.parse(text)) - names
                names.update(found)
                pending += found
    return frozenset(names - set(environment.globals))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _text(template: str, rendered: str | bytes) -> str:
    if not isinstance(rendered, str):
        raise TutorRenderError(f"{template} is a binary file; the settings Secret holds text only")
    return rendered


_COMPILER = _Compiler()
