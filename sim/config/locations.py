"""Where the project's folders are: configuration, the option catalogue, docs, and the user's
working folder (their own sites and options, and outputs).

Defined once here; every command, the API and the report find them through these names.

Two ways the code runs:

* **From a clone** of the repository (an editable install, or ``PYTHONPATH``): the
  configuration, the catalogue and the docs are the repository's ``conf/``, ``scenarios/`` and
  ``docs/``, edited in place.
* **Installed** from a wheel (``pip install nhs-capacity-sim``, pipx, a cluster node): the
  build step (``setup.py``) ships copies inside the package as ``sim/conf`` (found by Hydra as
  ``pkg://sim.conf``), ``sim/scenarios`` and ``sim/docs``. They are read, never written.

The **working folder** is where a user's own files live and where outputs go, never into the
package: ``$NHS_SIM_HOME`` if set; else the nearest of the current folder and its parents
holding a ``.nhs-sim`` marker (``nhs-sim init`` makes one); else, from a clone, the
repository; else the current folder. Its ``conf/`` (e.g. ``conf/site/my_area.yaml``) is added
to Hydra's search path and its ``scenarios/`` to the option catalogue; results go to its
``outputs/``. It is decided once, when ``sim`` is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The ``sim`` package folder.
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Environment variable naming the working folder.
HOME_ENV = "NHS_SIM_HOME"
#: File that marks a working folder (written by ``nhs-sim init``).
WORK_MARKER = ".nhs-sim"


def _clone_root() -> Path | None:
    root = PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / "conf" / "config.yaml").is_file():
        return root
    return None


#: The repository when running from a clone; None when installed from a wheel (then there is
#: no git commit to record: the package version is the provenance).
SOURCE_ROOT = _clone_root()
if SOURCE_ROOT is not None:
    CONF_DIR = SOURCE_ROOT / "conf"
    SCENARIO_DIR = SOURCE_ROOT / "scenarios"
    DOCS_DIR = SOURCE_ROOT / "docs"
    #: Where Hydra finds the primary configuration (a folder, or a package).
    CONF_SOURCE = str(CONF_DIR)
else:
    CONF_DIR = PACKAGE_DIR / "conf"
    SCENARIO_DIR = PACKAGE_DIR / "scenarios"
    DOCS_DIR = PACKAGE_DIR / "docs"
    CONF_SOURCE = "pkg://sim.conf"


def find_work_dir(start: Path | None = None, environ: dict[str, str] | None = None) -> Path:
    """The working folder (rules in the module docstring), from ``start`` (default: the
    current folder)."""
    env = os.environ if environ is None else environ
    if env.get(HOME_ENV, "").strip():
        return Path(env[HOME_ENV]).expanduser().resolve()
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:  # the current folder was removed under us
        here = Path.home()
    for folder in (here, *here.parents):
        if (folder / WORK_MARKER).is_file():
            return folder
    return SOURCE_ROOT if SOURCE_ROOT is not None else here


WORK_DIR = find_work_dir()
#: The working folder under its older name (code that writes under ``PROJECT_ROOT / "outputs"``
#: writes into the working folder, as a clone always did).
PROJECT_ROOT = WORK_DIR
OUTPUTS_DIR = WORK_DIR / "outputs"
#: The user's own configuration groups (``conf/site/*.yaml``, ...), when not the shipped ones.
USER_CONF_DIR = WORK_DIR / "conf"
#: The user's own options (``scenarios/*.yaml``), when not the shipped catalogue.
USER_SCENARIO_DIR = WORK_DIR / "scenarios"


def user_conf_dirs() -> list[Path]:
    """The working folder's ``conf/`` if it exists and is not the shipped configuration."""
    own = USER_CONF_DIR
    return [own] if own.is_dir() and own.resolve() != CONF_DIR.resolve() else []


def option_folders(catalogue: Path | None = None) -> list[Path]:
    """Folders of options: the catalogue (default: the shipped one), then the working
    folder's ``scenarios/``."""
    catalogue = SCENARIO_DIR if catalogue is None else catalogue
    own = USER_SCENARIO_DIR
    extra = [own] if own.is_dir() and own.resolve() != catalogue.resolve() else []
    return [catalogue, *extra]


def option_files(catalogue: Path | None = None) -> tuple[dict[str, Path], dict[str, Path]]:
    """(options, clashes): every option's file by name, the catalogue's first; ``clashes``
    holds the working folder's files that have the name of a catalogue option (not used: see
    :func:`sim.config.compose.register`)."""
    found: dict[str, Path] = {}
    clashes: dict[str, Path] = {}
    for folder in option_folders(catalogue):
        for path in sorted(folder.glob("*.yaml")):
            if path.stem in found:
                clashes[path.stem] = path
            else:
                found[path.stem] = path
    return found, clashes


def option_file(name: str) -> Path:
    """The file of option ``name`` (shipped, or the working folder's); the catalogue's path
    if there is none."""
    return option_files()[0].get(name, SCENARIO_DIR / f"{name}.yaml")
