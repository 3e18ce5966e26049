"""An existing Tutor installation's settings, read with Tutor's own Python API (never its CLI, nothing written).

Tutor's `config.load_full` is not used as such: it fires `CONFIG_LOADED` (plugins print warnings there), reads
`TUTOR_*` variables of whoever runs the import, and converts a legacy `config.json` in place. The same steps are
taken without those effects: `config.yml` as Tutor reads it (keys of older releases renamed by
`upgrade_obsolete`), merged with Tutor's base and defaults and the enabled plugins', rendered as `tutor config
save` renders it. Only packaged plugins are looked for, as the program does (a file plugin of the installation's
plugin folder is reported as not installed).

Tutor's plugin hooks are process-global, and the program's settings compiler (used by the import's validation)
keeps its own plugin sets loaded: the installation's plugins are loaded in a child process of their own
(`python -m operations.tutor_root ROOT`, which writes the pickled TutorRoot on stdout).
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NO_PLUGINS_ROOT = "/nonexistent/openedx-k8s/tutor-plugins"


class TutorRootError(Exception):
    """The folder is not a Tutor installation Tutor could load: one line for the operator."""


@dataclass(frozen=True)
class TutorRoot:
    path: Path
    user: dict[str, Any]
    """config.yml as Tutor reads it: the keys the operator set (or `tutor config save` generated), unrendered."""
    effective: dict[str, Any]
    """What Tutor renders the installation with: `user`, then Tutor's and the loaded plugins' base and defaults,
    every value rendered."""
    defaults: dict[str, Any]
    """What Tutor would render with none of `user`'s settings but its generated ones (its defaults)."""
    plugins: tuple[str, ...]
    """Its PLUGINS, as listed (those installed here are loaded to read its settings)."""
    declared_by: dict[str, str]
    """Each key Tutor or a loaded plugin declares (base, defaults, unique, overrides), and who: "" for Tutor."""
    tutor_version: str
    """The Tutor installed here (the program's)."""
    rendered_by: str | None
    """The Tutor version that last rendered the installation's env/ (env/version), if any."""


def read(path: Path) -> TutorRoot:
    """The installation at `path` (its `tutor config printroot`). Raises TutorRootError."""
    if not (path / "config.yml").is_file():
        raise TutorRootError(f"{path} is not a Tutor root: it has no config.yml (`tutor config printroot` prints the "
                             "root of an installation)")
    # The same interpreter and import path as this process, so the same Tutor and plugins.
    done = subprocess.run([sys.executable, "-m", __name__, str(path)], capture_output=True, check=False,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    sys.stderr.write(done.stderr.decode(errors="replace"))  # Tutor's alerts about the installation
    if done.returncode != 0:
        raise TutorRootError(f"Tutor cannot load the installation at {path} (exit code {done.returncode})")
    result: TutorRoot | str = pickle.loads(done.stdout)  # our own child's output
    if isinstance(result, str):
        raise TutorRootError(result)
    return result


def _read(root: str) -> TutorRoot | str:
    """In a fresh process: the installation, or why Tutor cannot load it. What Tutor and its plugins print goes to
    stderr: the import's output is its own."""
    with contextlib.redirect_stdout(sys.stderr):
        return _load(root)


def _load(root: str) -> TutorRoot | str:
    # The importer's environment must not change what is read: TUTOR_* variables override Tutor's settings.
    for name in [name for name in os.environ if name.startswith("TUTOR_")]:
        del os.environ[name]
    from tutor import config as tutor_config
    from tutor import env as tutor_env
    from tutor import exceptions, hooks
    from tutor import plugins as tutor_plugins
    from tutor.__about__ import __version__
    from tutor.plugins import v0, v1

    v0.PLUGINS_ROOT = v1.PLUGINS_ROOT = _NO_PLUGINS_ROOT
    hooks.Actions.CORE_READY.do()  # discovers the installed plugins
    try:
        user = tutor_config.get_yaml_file(os.path.join(root, "config.yml"))
        tutor_config.upgrade_obsolete(user)
        listed = user.get("PLUGINS")
        plugins = tuple(str(name) for name in listed) if isinstance(listed, list) else ()
        loaded = tuple(sorted({name for name in plugins if tutor_plugins.is_installed(name)}))
        for name in loaded:  # the order a `tutor` command loads them in
            tutor_plugins.load(name)
        hooks.Actions.PLUGINS_LOADED.do()
        base = tutor_config.get_base()
        effective = _rendered(tutor_config, copy.deepcopy(user))
        defaults = _rendered(tutor_config, {key: copy.deepcopy(value) for key, value in user.items() if key in base})
    except exceptions.TutorError as error:
        return f"Tutor cannot load the installation at {root}: {error}"
    declared = {key: "" for key in [*tutor_config.get_template("base.yml"), *tutor_config.get_template("defaults.yml")]}
    for name in loaded:
        context = hooks.Contexts.app(name).name
        # A plugin's override of a key Tutor does not declare (discovery's ENABLE_PROGRAMS) is the plugin's too.
        for hook in (hooks.Filters.CONFIG_DEFAULTS, hooks.Filters.CONFIG_UNIQUE, hooks.Filters.CONFIG_OVERRIDES):
            for key, _ in hook.iterate_from_context(context):
                declared.setdefault(key, name)
    return TutorRoot(Path(root), user, effective, defaults, plugins, declared, __version__,
                     tutor_env.current_version(root))


def _rendered(tutor_config: Any, config: dict[str, Any]) -> dict[str, Any]:
    tutor_config.update_with_base(config)
    tutor_config.update_with_defaults(config)
    tutor_config.render_full(config)
    return config


if __name__ == "__main__":
    # Pickled as the classes of operations.tutor_root, the module the parent unpickles with, not this __main__.
    from operations import tutor_root

    sys.stdout.buffer.write(pickle.dumps(tutor_root._read(sys.argv[1])))
