"""The catalogue of bad inputs: each one stops ``python -m sim`` with a non-zero exit code and
ONE line naming the setting (key), the value, the rule broken and, when the value came from a
YAML file, that file; and none leaves a folder whose manifest says "complete".

Every case runs the real command line in-process (``sim.cli.main``), outputs redirected to
a temporary folder. Files a case needs (a broken site, a scenario, a folder in the way) are
written there: sites and experiment presets through ``hydra.searchpath`` (the way a user adds
their own configuration folder), scenarios by pointing the scenario catalogue at a temporary
copy, so no test writes into the repository.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_sim
from hydra.core.config_store import ConfigStore

import sim.cli
import sim.config.compose
import sim.config.locations

NORTH_DURHAM = sim.config.locations.CONF_DIR / "site" / "north_durham.yaml"
QUICK = sim.config.locations.CONF_DIR / "experiment" / "quick.yaml"
STANDARD = sim.config.locations.CONF_DIR / "experiment" / "standard.yaml"
ASSUMPTIONS = sim.config.locations.CONF_DIR / "assumptions" / "england_2024.yaml"
#: One replication of one week: the shortest run that writes a whole run folder.
TINY_RUN = (
    "experiment=quick",
    "experiment.replications=1",
    "experiment.warmup_weeks=0",
    "experiment.run_weeks=1",
)


# --------------------------------------------------------------------------------------------
# Set-ups: files and faults a case needs, made under the case's temporary folder
# --------------------------------------------------------------------------------------------


def site_file(name: str, edit: Callable[[str], str]) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """A copy of the North Durham site, edited, as ``<tmp>/conf/site/<name>.yaml``."""

    def setup(tmp: Path, _: pytest.MonkeyPatch) -> None:
        path = tmp / "conf" / "site" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = NORTH_DURHAM.read_text(encoding="utf-8")
        edited = edit(text)
        assert edited != text, "the edit changed nothing"
        path.write_text(edited.replace("{tmp}", str(tmp)), encoding="utf-8")

    return setup


def experiment_file(name: str, text: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def setup(tmp: Path, _: pytest.MonkeyPatch) -> None:
        path = tmp / "conf" / "experiment" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    return setup


def scenario_file(name: str, text: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """The scenario catalogue as a temporary copy holding one more option, ``name``."""

    def setup(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        folder = tmp / "scenarios"
        shutil.copytree(sim.config.locations.SCENARIO_DIR, folder)
        (folder / f"{name}.yaml").write_text(text.replace("{tmp}", str(tmp)), encoding="utf-8")
        # Hydra's ConfigStore lives as long as the process: the option registered from this
        # folder is removed again after the test (setitem undoes by deleting a key it added).
        sim.config.compose.register()
        options = ConfigStore.instance().repo["scenario"]
        assert f"{name}.yaml" not in options
        monkeypatch.setitem(options, f"{name}.yaml", options["baseline.yaml"])
        monkeypatch.setattr(sim.config.locations, "SCENARIO_DIR", folder)
        # the copy replaces the catalogue: the clone's own scenarios/ is not also read as the
        # working folder's options (which would clash with the copy's names)
        monkeypatch.setattr(sim.config.locations, "USER_SCENARIO_DIR", folder)

    return setup


def regular_file(relative: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """A file where the output folder's parent should be: nothing can be created under it
    (chmod would not do: tests may run as root, who can write anywhere)."""

    def setup(tmp: Path, _: pytest.MonkeyPatch) -> None:
        (tmp / relative).write_text("in the way\n", encoding="utf-8")

    return setup


def disk_full_at(file_name: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """Every write of ``file_name`` fails as on a full disk: ``fsync`` of its temporary file
    raises ENOSPC, after the data went into it (so the temporary file must be cleaned up)."""

    def setup(_: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(f".{file_name}."):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)

    return setup


def interrupted_run_of_another_config(relative: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """A run folder left by an interrupted run whose configuration fingerprint differs."""

    def setup(tmp: Path, _: pytest.MonkeyPatch) -> None:
        folder = tmp / relative
        (folder / "replications").mkdir(parents=True)
        other = {"status": "interrupted", "config_sha256": "0" * 64}
        (folder / "manifest.json").write_text(json.dumps(other), encoding="utf-8")
        rep = {"format": 1, "config_sha256": "0" * 64, "replication": 0}
        (folder / "replications" / "rep_0000.json").write_text(json.dumps(rep), encoding="utf-8")

    return setup


# --------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    """One bad input: the arguments typed, and what the one-line message must name.

    ``{tmp}`` in ``args``, ``value`` and ``file`` stands for the case's temporary folder.
    """

    name: str
    args: tuple[str, ...]
    key: str
    value: str
    rule: str
    file: str | None = None  # path (or file name) the message must name
    setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None
    exit_code: int = sim.cli.EXIT_CONFIG_ERROR


SEARCH = "hydra.searchpath=[file://{tmp}/conf]"

CATALOGUE = [
    # --- malformed YAML ---------------------------------------------------------------------
    BadInput(
        "site file is not valid YAML",
        (SEARCH, "site=broken"),
        "site",
        "'broken'",
        "is not valid YAML at line",
        "{tmp}/conf/site/broken.yaml",
        site_file("broken", lambda t: t.replace("title: North", "title: [North", 1)),
    ),
    BadInput(
        "experiment preset is not valid YAML",
        (SEARCH, "experiment=broken"),
        "experiment",
        "'broken'",
        "is not valid YAML at line 2",
        "{tmp}/conf/experiment/broken.yaml",
        experiment_file("broken", "replications: 2\n  warmup_weeks: 1\n"),
    ),
    BadInput(
        "scenario file is not valid YAML",
        ("scenario=broken",),
        "scenario.broken",
        "'broken.yaml'",
        "is not valid YAML at line 2",
        "{tmp}/scenarios/broken.yaml",
        scenario_file("broken", "title: [unclosed\ndescription: d\n"),
    ),
    # --- unknown keys -----------------------------------------------------------------------
    BadInput("unknown top-level key", ("no_such_key=1",), "no_such_key", "'1'", "unknown key"),
    BadInput("unknown key added with +", ("+no_such_key=1",), "no_such_key", "1", "unknown key"),
    BadInput(
        "misspelt experiment setting",
        ("experiment.replicatons=3",),
        "experiment.replicatons",
        "'3'",
        "unknown key; this setting does not exist",
    ),
    BadInput(
        "unknown key added to a group",
        ("+experiment.no_such=1",),
        "experiment.no_such",
        "1",
        "unknown key; expected one of",
    ),
    BadInput(
        "unknown key in a site file",
        (SEARCH, "site=extra_key"),
        "site.no_such_setting",
        "1",
        "unknown key; expected one of",
        "{tmp}/conf/site/extra_key.yaml",
        site_file("extra_key", lambda t: t + "\nno_such_setting: 1\n"),
    ),
    BadInput(
        "scenario changes a setting the model does not have",
        ("scenario=bogus_change",),
        "scenario.bogus_change.changes.site.hubs.no_such_setting",
        "3",
        "changes a setting that does not exist in the model",
        "{tmp}/scenarios/bogus_change.yaml",
        scenario_file(
            "bogus_change",
            "title: t\ndescription: d\nchanges:\n  site:\n    hubs:\n      no_such_setting: 3\n",
        ),
    ),
    # --- wrong types ------------------------------------------------------------------------
    BadInput(
        "replications not a number",
        ("experiment.replications=abc",),
        "experiment.replications",
        "'abc'",
        "must be a whole number",
    ),
    BadInput("seed not a number", ("seed=abc",), "seed", "'abc'", "must be a whole number"),
    BadInput(
        "list size not a number",
        ("site.practices.CLS01.list_size=many",),
        "site.practices.CLS01.list_size",
        "'many'",
        "must be a whole number",
    ),
    BadInput(
        "profile given as a number",
        ("assumptions.demand.weekday_share=7",),
        "assumptions.demand.weekday_share",
        "7",
        "must be a list",
    ),
    BadInput(
        "switch neither true nor false",
        ("site.emergency_department.frailty_front_of_house.enabled=maybe",),
        "site.emergency_department.frailty_front_of_house.enabled",
        "'maybe'",
        "must be true or false",
    ),
    # --- negative, zero, NaN, infinite ------------------------------------------------------
    BadInput(
        "negative workforce",
        ("site.practice_capacity.gp.fte_per_1000=-1",),
        "site.practice_capacity.gp.fte_per_1000",
        "-1.0",
        "must be >= 0",
    ),
    BadInput(
        "workforce not a number (NaN)",
        ("site.practice_capacity.gp.fte_per_1000=nan",),
        "site.practice_capacity.gp.fte_per_1000",
        "nan",
        "must be a finite number",
    ),
    BadInput(
        "infinite demand scale",
        ("assumptions.demand.scale=inf",),
        "assumptions.demand.scale",
        "inf",
        "must be a finite number",
    ),
    BadInput(
        "zero-minute hub slots",
        ("site.hubs.slot_minutes=0",),
        "site.hubs.slot_minutes",
        "0",
        "must be > 0",
    ),
    BadInput("negative seed", ("seed=-1",), "seed", "-1", "must be a whole number >= 0"),
    BadInput(
        "zero cores", ("experiment.n_jobs=0",), "experiment.n_jobs", "0", "positive number of cores"
    ),
    BadInput(
        "negative list size in a site file",
        (SEARCH, "site=negative"),
        "site.practices.CLS01.list_size",
        "-5",
        "must be >= 0",
        "{tmp}/conf/site/negative.yaml",
        site_file("negative", lambda t: t.replace("list_size: 11680", "list_size: -5", 1)),
    ),
    # --- probabilities above 1 --------------------------------------------------------------
    BadInput(
        "on-the-day share above 1",
        ("site.practice_capacity.on_the_day_share=1.5",),
        "site.practice_capacity.on_the_day_share",
        "1.5",
        "must be <= 1",
    ),
    BadInput(
        "hub DNA probability above 1",
        ("assumptions.hubs.dna_probability=1.2",),
        "assumptions.hubs.dna_probability",
        "1.2",
        "must be <= 1",
    ),
    # --- shares that do not sum to 1 ----------------------------------------------------------
    BadInput(
        "urgency shares sum above 1",
        ("assumptions.demand.urgency_share.urgent=0.9",),
        "assumptions.demand.urgency_share",
        "'urgent': 0.9",
        "shares must sum to 1 (they sum to 1.5600)",
        str(ASSUMPTIONS),
    ),
    BadInput(
        "no-slot rule shares sum above 1",
        ("++assumptions.booking.no_slot.urgent.give_up=0.9",),
        "assumptions.booking.no_slot.urgent",
        "'give_up': 0.9",
        "shares must sum to 1",
        str(ASSUMPTIONS),
    ),
    # --- profiles of the wrong length -------------------------------------------------------
    BadInput(
        "hour profile of 2 values",
        ("assumptions.demand.hour_share_weekday=[0.5,0.5]",),
        "assumptions.demand.hour_share_weekday",
        "[0.5, 0.5]",
        "must have exactly 24 values, not 2",
    ),
    BadInput(
        "month profile of 3 values",
        ("assumptions.ae.month_multiplier=[1,1,1]",),
        "assumptions.ae.month_multiplier",
        "[1.0, 1.0, 1.0]",
        "must have exactly 12 values, not 3",
    ),
    # --- unknown practices, localities, options ---------------------------------------------
    BadInput(
        "practice in an unknown locality",
        ("site.practices.CLS01.locality=nowhere",),
        "site.practices.CLS01.locality",
        "'nowhere'",
        "unknown locality; known localities are",
    ),
    BadInput(
        "unknown locality in a site file",
        (SEARCH, "site=lost_practice"),
        "site.practices.CLS01.locality",
        "'atlantis'",
        "unknown locality",
        "{tmp}/conf/site/lost_practice.yaml",
        site_file(
            "lost_practice",
            lambda t: t.replace("locality: chester_le_street", "locality: atlantis", 1),
        ),
    ),
    BadInput(
        "setting of an unknown practice",
        ("site.practices.NOPE99.gp_fte=2",),
        "site.practices.NOPE99.gp_fte",
        "'2'",
        "unknown key",
    ),
    BadInput(
        "unknown option",
        ("scenario=no_such_option",),
        "scenario",
        "'no_such_option'",
        "no such option; available: baseline, clinical_pharmacists,",
    ),  # fmt: skip
    BadInput(
        "unknown headline KPI",
        ("experiment.headline_kpis=[ae.no_such_kpi]",),
        "experiment.headline_kpis[0]",
        "'ae.no_such_kpi'",
        "is not a KPI of the model",
    ),
    # --- incompatible options ---------------------------------------------------------------
    BadInput(
        "two hub options together",
        ("scenario=[extended_access_8to8,enhanced_access_double]",),
        "scenario",
        "['extended_access_8to8', 'enhanced_access_double']",
        "cannot be combined",
        str(sim.config.locations.SCENARIO_DIR / "extended_access_8to8.yaml"),
    ),
    # --- experiment design ------------------------------------------------------------------
    BadInput(
        "zero replications",
        ("experiment.replications=0",),
        "experiment.replications",
        "0",
        "must be >= 1",
    ),
    BadInput(
        "zero weeks measured",
        ("experiment.run_weeks=0",),
        "experiment.run_weeks",
        "0",
        "must be >= 1",
    ),
    BadInput(
        "warm-up longer than the run",
        ("experiment.warmup_weeks=13", "experiment.run_weeks=4"),
        "experiment.warmup_weeks",
        "13",
        "must not be longer than experiment.run_weeks (4)",
    ),
    BadInput(
        "a preset's warm-up longer than a shortened run",
        ("experiment.run_weeks=4",),
        "experiment.warmup_weeks",
        "13",
        "shorten the warm-up (experiment.warmup_weeks=4)",
        str(STANDARD),
    ),
    BadInput(
        "confidence level of 1",
        ("experiment.ci_level=1",),
        "experiment.ci_level",
        "1.0",
        "must be < 1",
    ),
    # --- unknown scenario, site or preset ---------------------------------------------------
    BadInput("unknown site", ("site=no_such_site",), "site", "'no_such_site'", "no such option"),
    BadInput(
        "unknown experiment preset",
        ("experiment=no_such_preset",),
        "experiment",
        "'no_such_preset'",
        "no such option; available: board, programme, quick, standard",
    ),
    # --- files that try to run code ---------------------------------------------------------
    BadInput(
        "scenario naming code to run (_target_)",
        ("scenario=evil_target",),
        "scenario.evil_target.changes.site.hubs._target_",
        "'os.system'",
        "scenario files are data and cannot name code to run",
        "{tmp}/scenarios/evil_target.yaml",
        scenario_file(
            "evil_target",
            "title: t\ndescription: d\nchanges:\n  site:\n    hubs:\n"
            "      _target_: os.system\n      _args_: ['touch {tmp}/pwned']\n",
        ),
    ),
    BadInput(
        "scenario with an interpolation",
        ("scenario=evil_interpolation",),
        "scenario.evil_interpolation.changes.site.title",
        "${oc.env:HOME}",
        "interpolations (${...}) are not allowed in scenario files",
        "{tmp}/scenarios/evil_interpolation.yaml",
        scenario_file(
            "evil_interpolation",
            "title: t\ndescription: d\nchanges:\n  site:\n    title: ${oc.env:HOME}\n",
        ),
    ),
    BadInput(
        "scenario with a Python YAML tag",
        ("scenario=evil_tag",),
        "scenario.evil_tag",
        "'evil_tag.yaml'",
        "is not valid YAML",
        "{tmp}/scenarios/evil_tag.yaml",
        scenario_file("evil_tag", "title: !!python/object/apply:os.system ['touch {tmp}/pwned']\n"),
    ),
    BadInput(
        "site file naming code to run (_target_)",
        (SEARCH, "site=evil_target"),
        "site._target_",
        "'os.system'",
        "unknown key",
        "{tmp}/conf/site/evil_target.yaml",
        site_file("evil_target", lambda t: t + "\n_target_: os.system\n"),
    ),
    BadInput(
        "site file with a Python YAML tag",
        (SEARCH, "site=evil_tag"),
        "site",
        "'evil_tag'",
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply",
        "{tmp}/conf/site/evil_tag.yaml",
        site_file(
            "evil_tag",
            lambda t: re.sub(
                "^title: .*$",
                "title: !!python/object/apply:os.system ['touch {tmp}/pwned']",
                t,
                count=1,
                flags=re.MULTILINE,
            ),
        ),
    ),
    BadInput(
        "site file adding a Hydra callback",
        (SEARCH, "site=evil_callback"),
        "hydra.callbacks.evil._target_",
        "'subprocess.call'",
        "names code for Hydra to run; configuration files are data",
        "{tmp}/conf/site/evil_callback.yaml",
        site_file(
            "evil_callback",
            lambda t: (
                "# @package _global_\nhydra:\n  callbacks:\n    evil:\n"
                "      _target_: subprocess.call\n      _args_: ['touch {tmp}/pwned']\n"
                "      shell: true\nsite:\n" + re.sub("^", "  ", t, flags=re.MULTILINE)
            ),
        ),
    ),
    BadInput(
        "site file setting an environment variable",
        (SEARCH, "site=evil_environment"),
        "hydra.job.env_set.LD_PRELOAD",
        "'{tmp}/evil.so'",
        "configuration files may not set them",
        "{tmp}/conf/site/evil_environment.yaml",
        site_file(
            "evil_environment",
            lambda t: (
                "# @package _global_\nhydra:\n  job:\n    env_set:\n"
                "      LD_PRELOAD: {tmp}/evil.so\nsite:\n"
                + re.sub("^", "  ", t, flags=re.MULTILINE)
            ),
        ),
    ),
    # --- output folder ----------------------------------------------------------------------
    BadInput(
        "run folder cannot be created",
        ("experiment=quick", "hydra.run.dir={tmp}/in_the_way/run"),
        "hydra.run.dir",
        "'{tmp}/in_the_way/run'",
        "cannot create or write the output folder ([Errno 20] Not a directory",
        setup=regular_file("in_the_way"),
    ),
    BadInput(
        "sweep folder cannot be created",
        ("+sweep=all_options", "experiment=quick", "hydra.sweep.dir={tmp}/in_the_way/sweep"),
        "hydra.sweep.dir",
        "'{tmp}/in_the_way/sweep'",
        "cannot create or write the output folder",
        setup=regular_file("in_the_way"),
    ),
    BadInput(
        "disk full while writing the results",
        (*TINY_RUN, "hydra.run.dir={tmp}/full"),
        "hydra.run.dir",
        "'{tmp}/full'",
        "cannot write summary.csv: No space left on device",
        "summary.csv",
        disk_full_at("summary.csv"),
        exit_code=sim.cli.EXIT_FAILURE,
    ),
    BadInput(
        "run folder holding another configuration's replications",
        ("experiment=quick", "hydra.run.dir={tmp}/other"),
        "hydra.run.dir",
        "'{tmp}/other'",
        "holds a run of a different configuration",
        setup=interrupted_run_of_another_config("other"),
    ),
    # --- memory guard -----------------------------------------------------------------------
    BadInput(
        "population beyond the memory guard",
        ("site.practices.CLS01.list_size=100000000",),
        "experiment.max_memory_gb",
        "8.0",
        "one replication is estimated to need",
        str(STANDARD),
    ),
    BadInput(
        "memory limit below one replication",
        ("experiment=quick", "experiment.max_memory_gb=0.01"),
        "experiment.max_memory_gb",
        "0.01",
        "raise experiment.max_memory_gb if the machine has the memory",
    ),
    BadInput(
        "zero memory limit",
        ("experiment.max_memory_gb=0",),
        "experiment.max_memory_gb",
        "0.0",
        "must be > 0",
    ),
]


# --------------------------------------------------------------------------------------------
# Hostile inputs (issue 19): files that try to write, delete or run something outside the run
# folder, files built to hang or crash the reader, windows that would give wrong results,
# values that would overflow, folders that are not ours or are in use, writes that fail
# --------------------------------------------------------------------------------------------

VICTIM = "victim"  # {tmp}/victim/: files a hostile input aims at; must be left untouched


def victim_files(tmp: Path) -> None:
    folder = tmp / VICTIM
    folder.mkdir(exist_ok=True)
    for name in ("config.yaml", "notes.txt", "important.log"):
        (folder / name).write_text("victim\n", encoding="utf-8")


def global_site(name: str, hydra_yaml: str, defaults: str = ""):
    """A site file headed ``# @package _global_`` that also sets Hydra settings
    (``hydra_yaml``: the lines under ``hydra:``, indented by two spaces) and, optionally,
    entries of its defaults list; victim files are laid out beside it."""

    def edit(text: str) -> str:
        head = "# @package _global_\n"
        if defaults:
            head += "defaults:\n" + defaults
        return head + "hydra:\n" + hydra_yaml + "site:\n" + re.sub("^", "  ", text, flags=re.M)

    make_site = site_file(name, edit)

    def setup(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        victim_files(tmp)
        make_site(tmp, monkeypatch)

    return setup


def conf_files(files: dict[str, str | bytes]) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """Files under ``<tmp>/conf/`` (the folder added with hydra.searchpath), text or bytes."""

    def setup(tmp: Path, _: pytest.MonkeyPatch) -> None:
        victim_files(tmp)
        for relative, content in files.items():
            path = tmp / "conf" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content.replace("{tmp}", str(tmp)), encoding="utf-8")

    return setup


def scenario_bytes(name: str, data: bytes) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """As :func:`scenario_file`, the file's content given as bytes (encodings, bombs)."""

    def setup(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        scenario_file(name, "title: t\ndescription: d\n")(tmp, monkeypatch)
        (tmp / "scenarios" / f"{name}.yaml").write_bytes(data)

    return setup


def user_folder(relative: str, files: dict[str, str]) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """A folder of the user's own files where a run is pointed."""

    def setup(tmp: Path, _: pytest.MonkeyPatch) -> None:
        for name, text in files.items():
            path = tmp / relative / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    return setup


def in_working_folder(
    setup: Callable[[Path, pytest.MonkeyPatch], None],
) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """``setup``'s files in ``<tmp>/conf`` found as the working folder's own configuration
    (``nhs-sim init``; added to Hydra's search path by conf/config.yaml), not through
    ``hydra.searchpath`` typed on the command line."""

    def in_home(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        setup(tmp, monkeypatch)
        monkeypatch.setattr(sim.config.locations, "USER_CONF_DIR", tmp / "conf")

    return in_home


def user_bytes(relative: str, data: bytes) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """A file of the user's, given as bytes (encodings)."""

    def setup(tmp: Path, _: pytest.MonkeyPatch) -> None:
        path = tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return setup


def locked_folder(relative: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """A run folder whose lock another run holds. The lock is an operating-system lock on an
    open file (flock), so a second lock object, on its own open file, is refused it even in
    the same process: the run is refused just as it would be by another process's lock."""

    def setup(tmp: Path, _: pytest.MonkeyPatch) -> None:
        from filelock import FileLock

        folder = tmp / relative
        folder.mkdir(parents=True)
        lock = FileLock(str(folder / ".lock"))
        lock.acquire()
        HELD.append(lock)

    return setup


#: Locks a case holds, released after it (see the fixture below).
HELD: list = []


@pytest.fixture(autouse=True)
def _release_locks():
    yield
    while HELD:
        HELD.pop().release()


#: An alias bomb: lists of nine, each of the one before, seven levels (4.8 million values
#: once expanded).
ALIAS_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdef", "bcdefg", strict=True)
)
#: A smaller one (six levels, 531,441 values): under a million, yet Hydra took minutes on it.
SMALL_ALIAS_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcde", "bcdef", strict=True)
)
#: An interpolation bomb: the same, written with ${...} references.
INTERPOLATION_BOMB = "bomb_a: [x, x, x, x, x, x, x, x, x]\n" + "".join(
    "bomb_" + b + ": [" + ", ".join(['"${bomb_' + a + '}"'] * 9) + "]\n"
    for a, b in zip("abcdef", "bcdefg", strict=True)
)


def site_with(name: str, old: str, new: str):
    return site_file(name, lambda t: t.replace(old, new, 1))


SITE = "hydra.searchpath=[file://{tmp}/conf]"
HOSTILE = [
    # --- Hydra settings a file may not set ----------------------------------------------------
    BadInput(
        "site file moving Hydra's record over the user's files (output_subdir)",
        (SITE, "site=evil_subdir"),
        "hydra.output_subdir",
        "'{tmp}/victim'",
        "a configuration file may only set null here",
        "{tmp}/conf/site/evil_subdir.yaml",
        global_site("evil_subdir", "  output_subdir: {tmp}/victim\n"),
    ),
    BadInput(
        "working folder's site file moving Hydra's record (output_subdir)",
        ("site=evil_home",),
        "hydra.output_subdir",
        "'{tmp}/victim'",
        "a configuration file may only set null here",
        "{tmp}/conf/site/evil_home.yaml",
        in_working_folder(global_site("evil_home", "  output_subdir: {tmp}/victim\n")),
    ),
    BadInput(
        "site file adding a log file that empties a user's file",
        (SITE, "site=evil_log"),
        "hydra.job_logging.handlers.evil.filename",
        "'{tmp}/victim/important.log'",
        "a log file must be in the run folder",
        "{tmp}/conf/site/evil_log.yaml",
        global_site(
            "evil_log",
            "  job_logging:\n    handlers:\n      evil:\n        class: logging.FileHandler\n"
            "        filename: {tmp}/victim/important.log\n        mode: w\n"
            "    root:\n      handlers: [evil]\n",
        ),
    ),
    BadInput(
        "site file adding a log handler that sends mail",
        (SITE, "site=evil_handler"),
        "hydra.hydra_logging.handlers.mail.class",
        "'logging.handlers.SMTPHandler'",
        "logging handlers named by a configuration file must be one of",
        "{tmp}/conf/site/evil_handler.yaml",
        global_site(
            "evil_handler",
            "  hydra_logging:\n    handlers:\n      mail:\n"
            "        class: logging.handlers.SMTPHandler\n        mailhost: localhost\n",
        ),
    ),
    BadInput(
        "site file adding a logging factory (code)",
        (SITE, "site=evil_factory"),
        "hydra.job_logging.formatters.evil.()",
        "'os.system'",
        "names code for Hydra to run",
        "{tmp}/conf/site/evil_factory.yaml",
        global_site(
            "evil_factory", "  job_logging:\n    formatters:\n      evil:\n        (): os.system\n"
        ),
    ),
    BadInput(
        "site file logging to an arbitrary object",
        (SITE, "site=evil_stream"),
        "hydra.job_logging.handlers.console.stream",
        "'ext://os.system'",
        "a log stream must be ext://sys.stdout or ext://sys.stderr",
        "{tmp}/conf/site/evil_stream.yaml",
        global_site(
            "evil_stream",
            "  job_logging:\n    handlers:\n      console:\n        stream: ext://os.system\n",
        ),
    ),
    BadInput(
        "site file adding a Python package to the search path",
        (SITE, "site=evil_searchpath"),
        "command line",
        "site=evil_searchpath",
        "Overriding hydra.searchpath is only supported from the primary config",
        setup=global_site("evil_searchpath", "  searchpath: ['pkg://antigravity']\n"),
    ),
    BadInput(
        "site file sweeping over Hydra's own settings",
        (SITE, "site=evil_sweep"),
        "hydra.sweeper.params.hydra.output_subdir",
        "'{tmp}/victim'",
        "may vary the model's settings, not Hydra's",
        "{tmp}/conf/site/evil_sweep.yaml",
        global_site(
            "evil_sweep", "  sweeper:\n    params:\n      hydra.output_subdir: {tmp}/victim\n"
        ),
    ),
    BadInput(
        "site file sending the sweep's jobs to a Dask scheduler of its choosing",
        (SITE, "site=evil_dask"),
        "hydra.launcher.address",
        "'tcp://203.0.113.9:8786'",
        "may not choose the cluster that receives the jobs",
        "{tmp}/conf/site/evil_dask.yaml",
        global_site(
            "evil_dask",
            "  launcher:\n    address: tcp://203.0.113.9:8786\n",
            "  - override /hydra/launcher: dask\n",
        ),
    ),
    BadInput(
        "site file putting the run folder outside outputs/",
        (SITE, "site=evil_run_dir"),
        "hydra.run.dir",
        "'{tmp}/victim/run'",
        "may put outputs only under the working folder's outputs/",
        "{tmp}/conf/site/evil_run_dir.yaml",
        global_site("evil_run_dir", "  run:\n    dir: {tmp}/victim/run\n"),
    ),
    BadInput(
        "site file climbing out of the sweep folder (subdir)",
        (SITE, "site=evil_subdir_climb"),
        "hydra.sweep.subdir",
        "'../../victim'",
        "must name one folder inside the sweep folder",
        "{tmp}/conf/site/evil_subdir_climb.yaml",
        global_site("evil_subdir_climb", "  sweep:\n    subdir: ../../victim\n"),
    ),
    BadInput(
        "uncertainty analysis named with a path",
        ("uncertainty", "psa=quick", "psa.name=../../victim"),
        "psa.name",
        "'../../victim'",
        "must be a plain folder name",
    ),
    BadInput(
        "site file sweeping a billion seeds",
        (SITE, "site=evil_billion"),
        "seed",
        "range(0,1000000000)",
        "makes the sweep more than 100,000 jobs (1,000,000,000); split it",
        None,
        global_site(
            "evil_billion",
            "  mode: MULTIRUN\n  sweeper:\n    params:\n      seed: range(0,1000000000)\n",
        ),
    ),
    BadInput(
        "multirun of 60,000 seeds times two options",
        ("-m", "seed=range(0,60000)", "scenario=baseline,rac_weekend"),
        "scenario",
        "baseline,rac_weekend",
        "makes the sweep more than 100,000 jobs (120,000)",
    ),
    BadInput(
        "uncertainty analysis of a billion parameter sets",
        ("uncertainty", "psa=quick", "psa.sets=1000000000"),
        "psa.sets",
        "1000000000",
        "must be <= 100000",
    ),
    BadInput(
        "site file giving a cluster job shell commands",
        (SITE, "site=evil_setup"),
        "hydra.launcher.setup",
        "['rm -rf {tmp}/victim']",
        "is a Hydra setting a configuration file may not set",
        "{tmp}/conf/site/evil_setup.yaml",
        global_site("evil_setup", "  launcher:\n    setup: ['rm -rf {tmp}/victim']\n"),
    ),
    BadInput(
        "site file putting the cluster's files outside the sweep",
        (SITE, "site=evil_submitit"),
        "hydra.launcher.submitit_folder",
        "'{tmp}/victim'",
        "must be a folder inside the sweep folder",
        "{tmp}/conf/site/evil_submitit.yaml",
        global_site("evil_submitit", "  launcher:\n    submitit_folder: {tmp}/victim\n"),
    ),
    BadInput(
        "site file renaming the job (and so its log file)",
        (SITE, "site=evil_job_name"),
        "hydra.job.name",
        "'../victim/important'",
        "is a Hydra setting a configuration file may not set",
        "{tmp}/conf/site/evil_job_name.yaml",
        global_site("evil_job_name", "  job:\n    name: ../victim/important\n"),
    ),
    BadInput(
        "site file passing extra arguments to the sweep summary",
        (SITE, "site=evil_callback_arg"),
        "hydra.callbacks.sweep_summary.shell",
        "True",
        "is a Hydra setting a configuration file may not set",
        "{tmp}/conf/site/evil_callback_arg.yaml",
        global_site("evil_callback_arg", "  callbacks:\n    sweep_summary:\n      shell: true\n"),
    ),
    BadInput(
        "site file choosing a logging file from its folder",
        (SITE, "site=evil_choice"),
        "hydra.job_logging.handlers.file.filename",
        "'{tmp}/victim/notes.txt'",
        "a log file must be in the run folder",
        "{tmp}/conf/hydra/job_logging/evil.yaml",
        conf_files(
            {
                "site/evil_choice.yaml": "# @package _global_\ndefaults:\n"
                "  - override /hydra/job_logging: evil\n"
                "site:\n" + re.sub("^", "  ", NORTH_DURHAM.read_text(encoding="utf-8"), flags=re.M),
                "hydra/job_logging/evil.yaml": "version: 1\nhandlers:\n  file:\n"
                "    class: logging.FileHandler\n    filename: {tmp}/victim/notes.txt\n"
                "    mode: w\nroot:\n  handlers: [file]\n",
            }
        ),
    ),
    # --- files built to hang or crash the reader -------------------------------------------
    BadInput(
        "site file reading an environment variable",
        (SITE, "site=env_title"),
        "site.title",
        "${oc.env:HOME}",
        "interpolations (${...}) are allowed only in Hydra's settings",
        "{tmp}/conf/site/env_title.yaml",
        site_file(
            "env_title",
            lambda t: re.sub("^title: .*$", "title: ${oc.env:HOME}", t, count=1, flags=re.M),
        ),
    ),
    BadInput(
        "site file with an interpolation bomb",
        (SITE, "site=interpolation_bomb"),
        "site.bomb_b[0]",
        "${bomb_a}",
        "multiply a file's size without limit",
        "{tmp}/conf/site/interpolation_bomb.yaml",
        site_file("interpolation_bomb", lambda t: t + "\n" + INTERPOLATION_BOMB),
    ),
    BadInput(
        "site file with an alias bomb",
        (SITE, "site=alias_bomb"),
        "site",
        "'alias_bomb'",
        "uses a YAML anchor or alias",
        "{tmp}/conf/site/alias_bomb.yaml",
        site_file("alias_bomb", lambda t: t + "\n" + ALIAS_BOMB),
    ),
    BadInput(
        "experiment file with an alias bomb",
        (SITE, "experiment=alias_bomb"),
        "experiment",
        "'alias_bomb'",
        "expands to more than 10,000 values through its aliases",
        "{tmp}/conf/experiment/alias_bomb.yaml",
        experiment_file("alias_bomb", QUICK.read_text(encoding="utf-8") + ALIAS_BOMB),
    ),
    BadInput(
        "disk full while Hydra writes a sweep's record (multirun.yaml)",
        ("-m", "scenario=baseline,rac_weekend", *TINY_RUN),
        "hydra.sweep.dir",
        "'{tmp}/sweep'",
        "cannot write multirun.yaml: No space left on device; fix that, then run the same "
        "command again",
        None,
        disk_full_at("multirun.yaml"),
        exit_code=sim.cli.EXIT_FAILURE,
    ),
    BadInput(
        "scenario title holding a control character",
        ("scenario=ctrl_title",),
        "scenario.ctrl_title.title",
        "'Hubs\\x01'",
        "must be printable text: it holds the control character U+0001 at position 5",
        "{tmp}/scenarios/ctrl_title.yaml",
        scenario_file("ctrl_title", 'title: "Hubs\\x01"\ndescription: d\n'),
    ),
    BadInput(
        "site title holding U+FFFE",
        (SITE, "site=fffe_title"),
        "site.title",
        "'North\\ufffe'",
        "must be printable text: it holds the control character U+FFFE at position 6",
        "{tmp}/conf/site/fffe_title.yaml",
        site_file(
            "fffe_title",
            lambda t: t.replace("\ntitle: ", '\ntitle: "North\\uFFFE"  # ', 1),
        ),
    ),
    BadInput(
        "uncertainty file with half a million aliased values",
        ("uncertainty", "psa=quick", SITE, "uncertainty=small_bomb"),
        "uncertainty",
        "'small_bomb'",
        "expands to more than 10,000 values through its aliases",
        "{tmp}/conf/uncertainty/small_bomb.yaml",
        user_folder("conf/uncertainty", {"small_bomb.yaml": "title: t\n" + SMALL_ALIAS_BOMB}),
    ),
    BadInput(
        "uncertainty file saved in Windows-1252",
        ("uncertainty", "psa=quick", SITE, "uncertainty=pounds"),
        "uncertainty",
        "'pounds'",
        "is not UTF-8 text: byte 0xA3 at line 1, column 8 (the file looks like Windows-1252",
        "{tmp}/conf/uncertainty/pounds.yaml",
        user_bytes("conf/uncertainty/pounds.yaml", "title: £5\n".encode("cp1252")),
    ),
    BadInput(
        "uncertainty into the folder of an analysis of another configuration",
        ("uncertainty", "psa=quick", "hydra.sweep.dir={tmp}/psa"),
        "hydra.sweep.dir",
        "'{tmp}/psa'",
        "holds an uncertainty analysis of a different configuration (psa.json has "
        "config_sha256 000000000000...",
        None,
        user_folder("psa", {"psa.json": json.dumps({"config_sha256": "0" * 64})}),
    ),
    BadInput(
        "uncertainty into a sweep's folder",
        ("uncertainty", "psa=quick", "hydra.sweep.dir={tmp}/swept"),
        "hydra.sweep.dir",
        "'{tmp}/swept'",
        "holds a sweep, not an uncertainty analysis, and is left as it is; give the analysis a "
        "folder of its own, e.g. hydra.sweep.dir={tmp}/swept/uncertainty",
        None,
        user_folder(
            "swept",
            {"sweep.json": "{}", "baseline/manifest.json": '{"status": "interrupted"}'},
        ),
    ),
    BadInput(
        "sweep into an uncertainty analysis's folder",
        ("-m", "scenario=baseline,rac_weekend", *TINY_RUN, "hydra.sweep.dir={tmp}/psa"),
        "hydra.sweep.dir",
        "'{tmp}/psa'",
        "holds an uncertainty analysis (psa.json), not a sweep, and is left as it is",
        None,
        user_folder(
            "psa", {"psa.json": "{}", "set_0/manifest.json": '{"status": "interrupted", "set": 0}'}
        ),
    ),
    BadInput(
        "uncertainty into a folder of the user's files",
        ("uncertainty", "psa=quick", "hydra.sweep.dir={tmp}/mine"),
        "hydra.sweep.dir",
        "'{tmp}/mine'",
        "is not a sweep folder of this program (it holds notes.txt)",
        None,
        user_folder("mine", {"notes.txt": "mine\n"}),
    ),
    BadInput(
        "uncertainty with an unknown sampler",
        ("uncertainty", "psa=quick", "psa.sampler=guess"),
        "psa.sampler",
        "'guess'",
        "must be one of ['sobol', 'latin_hypercube']",
    ),
    BadInput(
        "uncertainty with no parameter sets",
        ("uncertainty", "psa=quick", "psa.sets=0"),
        "psa.sets",
        "0",
        "must be >= 1",
    ),
    BadInput(
        "experiment file nested 100 deep",
        (SITE, "experiment=deep"),
        "experiment",
        "'deep'",
        "nests deeper than 64 levels",
        "{tmp}/conf/experiment/deep.yaml",
        experiment_file("deep", "deep: " + "[" * 100 + "]" * 100 + "\n"),
    ),
    BadInput(
        "site file saved in Windows-1252",
        (SITE, "site=windows"),
        "site",
        "'windows'",
        "is not UTF-8 text: byte 0xA3 at line 1",
        "{tmp}/conf/site/windows.yaml",
        conf_files(
            {
                "site/windows.yaml": ("# costs in £\n" + NORTH_DURHAM.read_text("utf-8"))
                .replace("—", "-")
                .encode("cp1252", errors="replace")
            }
        ),
    ),
    BadInput(
        "site file saved in Latin-1",
        (SITE, "site=latin1"),
        "site",
        "'latin1'",
        "save it as UTF-8",
        "{tmp}/conf/site/latin1.yaml",
        conf_files({"site/latin1.yaml": "title: Bishop Auckland \xe9\n".encode("latin-1")}),
    ),
    BadInput(
        "site file saved in UTF-16",
        (SITE, "site=utf16"),
        "site",
        "'utf16'",
        "is encoded as UTF-16; save it as UTF-8",
        "{tmp}/conf/site/utf16.yaml",
        conf_files({"site/utf16.yaml": NORTH_DURHAM.read_text("utf-8").encode("utf-16")}),
    ),
    BadInput(
        "site file of 9 MB",
        (SITE, "site=huge"),
        "site",
        "'huge'",
        "is larger than 8 MB",
        "{tmp}/conf/site/huge.yaml",
        conf_files({"site/huge.yaml": b"# " + b"x" * (9 * 1024 * 1024) + b"\n"}),
    ),
    BadInput(
        "scenario file with an alias bomb, chosen",
        ("scenario=bomb",),
        "scenario.bomb",
        "'bomb.yaml'",
        "uses a YAML anchor or alias",
        "{tmp}/scenarios/bomb.yaml",
        scenario_bytes("bomb", ("title: t\ndescription: d\n" + ALIAS_BOMB).encode()),
    ),
    BadInput(
        "scenario file saved in Windows-1252, chosen",
        ("scenario=pounds",),
        "scenario.pounds",
        "'pounds.yaml'",
        "the file looks like Windows-1252, with '£'",
        "{tmp}/scenarios/pounds.yaml",
        scenario_bytes("pounds", "title: t\ndescription: costs £2m\n".encode("cp1252")),
    ),
    BadInput(
        "scenario file that is a list",
        ("scenario=a_list",),
        "scenario.a_list",
        "['title', 'description']",
        "must be a mapping with title, description, changes",
        "{tmp}/scenarios/a_list.yaml",
        scenario_file("a_list", "- title\n- description\n"),
    ),
    BadInput(
        "scenario file of 9 MB",
        ("scenario=huge",),
        "scenario.huge",
        "'huge.yaml'",
        "is larger than 8 MB",
        "{tmp}/scenarios/huge.yaml",
        scenario_bytes("huge", b"title: t\ndescription: d\n# " + b"x" * (9 * 1024 * 1024)),
    ),
    BadInput(
        "scenario changing demand without declaring it",
        ("scenario=quiet_demand",),
        "scenario.quiet_demand.changes.assumptions.demand.scale",
        "1.5",
        "must declare it with 'changes_demand: true'",
        "{tmp}/scenarios/quiet_demand.yaml",
        scenario_file(
            "quiet_demand",
            "title: t\ndescription: d\nchanges:\n  assumptions:\n    demand:\n      scale: 1.5\n",
        ),
    ),
    BadInput(
        "scenario changing a list size without declaring it",
        ("scenario=quiet_list",),
        "scenario.quiet_list.changes.site.practices.CLS01.list_size",
        "20000",
        "changes who the patients are",
        "{tmp}/scenarios/quiet_list.yaml",
        scenario_file(
            "quiet_list",
            "title: t\ndescription: d\nchanges:\n  site:\n    practices:\n      CLS01:\n"
            "        list_size: 20000\n",
        ),
    ),
    # --- time windows ----------------------------------------------------------------------
    BadInput(
        "hub window ending before it starts (20:00 to 10:00)",
        ("site.hubs.opening.mon=[{start_minute:1200,end_minute:600}]",),
        "site.hubs.opening.mon[0].end_minute",
        "600",
        "must be after start_minute (1200, 20:00)",
    ),
    BadInput(
        "hub windows overlapping",
        (
            "site.hubs.opening.sat=[{start_minute:540,end_minute:800},"
            "{start_minute:700,end_minute:900}]",
        ),
        "site.hubs.opening.sat",
        "'start_minute': 540",
        "windows overlap (09:00-13:20 and 11:40-15:00)",
    ),
    BadInput(
        "practice session at 23:00, after core hours",
        ("site.practice_capacity.sessions=[{start_minute:1380,end_minute:1410}]",),
        "site.practice_capacity.sessions[0]",
        "'start_minute': 1380",
        "23:00-23:30 is outside core hours (08:00-18:30)",
    ),
    BadInput(
        "practice session before opening",
        (
            "site.practice_capacity.sessions=[{start_minute:360,end_minute:690},"
            "{start_minute:900,end_minute:1080}]",
        ),
        "site.practice_capacity.sessions[0]",
        "'start_minute': 360",
        "sessions_outside_core_hours: true",
    ),
    BadInput(
        "practice sessions overlapping",
        (
            "site.practice_capacity.sessions=[{start_minute:510,end_minute:900},"
            "{start_minute:800,end_minute:1080}]",
        ),
        "site.practice_capacity.sessions",
        "'start_minute': 510",
        "windows overlap",
    ),
    BadInput(
        "practice session of no length",
        ("site.practice_capacity.sessions=[{start_minute:600,end_minute:600}]",),
        "site.practice_capacity.sessions[0].end_minute",
        "600",
        "must be after start_minute",
    ),
    BadInput(
        "practice session past midnight",
        ("site.practice_capacity.sessions=[{start_minute:1380,end_minute:1500}]",),
        "site.practice_capacity.sessions[0].end_minute",
        "1500",
        "must be <= 1440",
    ),
    BadInput(
        "clinic session ending before it starts",
        ("site.rapid_assessment.sites.shotley_bridge.session_end_minute=500",),
        "site.rapid_assessment.sites.shotley_bridge.session_end_minute",
        "500",
        "must be after session_start_minute (570, 09:30)",
    ),
    BadInput(
        "weekend GP window ending before it starts",
        ("site.frail_weekend_service.opening.sun=[{start_minute:1020,end_minute:540}]",),
        "site.frail_weekend_service.opening.sun[0].end_minute",
        "540",
        "must be after start_minute (1020, 17:00)",
    ),
    BadInput(
        "frailty team with no hours",
        ("site.emergency_department.frailty_front_of_house.close_minute=480",),
        "site.emergency_department.frailty_front_of_house.close_minute",
        "480",
        "must differ from open_minute",
    ),
    BadInput(
        "core hours closing before they open",
        ("site.core_hours.close_minute=420",),
        "site.core_hours.close_minute",
        "420",
        "must be after open_minute",
    ),
    BadInput(
        "A&E majors rota with nobody on it",
        (
            "site.emergency_department.majors_clinicians_by_hour=[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]",
        ),  # noqa: E501
        "site.emergency_department.majors_clinicians_by_hour",
        "[0, 0, 0",
        "patients reach majors: they would never be seen",
    ),
    BadInput(
        "A&E minors rota with nobody on it",
        (
            "site.emergency_department.minors_clinicians_by_hour=[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]",
        ),  # noqa: E501
        "site.emergency_department.minors_clinicians_by_hour",
        "[0, 0, 0",
        "patients reach minors",
    ),
    # --- values that would overflow --------------------------------------------------------
    BadInput(
        "workforce of 1e308 per 1,000",
        ("site.practice_capacity.gp.fte_per_1000=1e308",),
        "site.practice_capacity.gp.fte_per_1000",
        "1e+308",
        "must be at most 1e+12 in size",
    ),
    BadInput(
        "workforce of 50 GPs per 1,000 patients",
        ("site.practice_capacity.gp.fte_per_1000=50",),
        "site.practice_capacity.gp.fte_per_1000",
        "50.0",
        "must be <= 10",
    ),
    BadInput(
        "a million slots a session",
        ("site.practice_capacity.nurse.slots_per_session=1000000",),
        "site.practice_capacity.nurse.slots_per_session",
        "1000000",
        "must be <= 100",
    ),
    BadInput(
        "hub minutes beyond a week's",
        ("site.hubs.minutes_per_1000_per_week=1e9",),
        "site.hubs.minutes_per_1000_per_week",
        "1000000000.0",
        "must be <= 10080",
    ),
    BadInput(
        "list size of 10^15",
        ("site.practices.CLS01.list_size=1000000000000000",),
        "site.practices.CLS01.list_size",
        "1000000000000000",
        "must be at most 1e+12 in size",
    ),
    BadInput(
        "seed of 2^70",
        ("seed=1180591620717411303424",),
        "seed",
        "1180591620717411303424",
        "must be a whole number >= 0 and below 2**63",
    ),
    BadInput(
        "a billion IC+ places",
        ("site.intermediate_care.places=1000000000",),
        "site.intermediate_care.places",
        "1000000000",
        "must be <= 100000",
    ),
    BadInput(
        "unit cost of 1e300 pounds",
        ("assumptions.unit_costs.bed_day=1e300",),
        "assumptions.unit_costs.bed_day",
        "1e+300",
        "must be at most 1e+12 in size",
    ),
    BadInput(
        "a million call-backs",
        ("assumptions.booking.max_callbacks=1000000",),
        "assumptions.booking.max_callbacks",
        "1000000",
        "must be <= 100",
    ),
    BadInput(
        "A&E stays of a billion minutes",
        ("assumptions.ae.service_minutes.majors.mean=1e9",),
        "assumptions.ae.service_minutes.majors.mean",
        "1000000000.0",
        "must be <= 1000000.0",
    ),
    # --- folders that are not ours, or are in use --------------------------------------------
    BadInput(
        "run into a folder of the user's files",
        (*TINY_RUN, "hydra.run.dir={tmp}/mine"),
        "hydra.run.dir",
        "'{tmp}/mine'",
        "is not a run folder of this program (it holds replications, summary.csv)",
        setup=user_folder("mine", {"summary.csv": "mine\n", "replications/a.txt": "mine\n"}),
    ),
    BadInput(
        "run into a folder whose manifest is corrupt",
        (*TINY_RUN, "hydra.run.dir={tmp}/corrupt"),
        "hydra.run.dir",
        "'{tmp}/corrupt'",
        "its manifest.json cannot be read",
        setup=user_folder("corrupt", {"manifest.json": '{"status": "comp'}),
    ),
    BadInput(
        "run into a folder whose manifest is someone else's",
        (*TINY_RUN, "hydra.run.dir={tmp}/foreign"),
        "hydra.run.dir",
        "'{tmp}/foreign'",
        "its manifest.json is not a run manifest of this program",
        setup=user_folder("foreign", {"manifest.json": '{"name": "a web app", "version": 3}'}),
    ),
    BadInput(
        "run into a file",
        (*TINY_RUN, "hydra.run.dir={tmp}/a_file"),
        "hydra.run.dir",
        "'{tmp}/a_file'",
        "is a file, not a folder",
        setup=user_folder("", {"a_file": "mine\n"}),
    ),
    BadInput(
        "sweep into a folder of the user's files",
        ("+sweep=all_options", "experiment=quick", "hydra.sweep.dir={tmp}/mine"),
        "hydra.sweep.dir",
        "'{tmp}/mine'",
        "is not a sweep folder of this program",
        setup=user_folder("mine", {"thesis.docx": "mine\n"}),
    ),
    BadInput(
        "multirun into a folder of the user's files",
        ("-m", "experiment=quick", "seed=1,2", "hydra.sweep.dir={tmp}/mine"),
        "hydra.sweep.dir",
        "'{tmp}/mine'",
        "is not a sweep folder of this program",
        setup=user_folder("mine", {"thesis.docx": "mine\n"}),
    ),
    BadInput(
        "multirun choosing a site with an alias bomb",
        ("-m", SITE, "site=north_durham,alias_bomb", "hydra.sweep.dir={tmp}/sweep"),
        "site",
        "'alias_bomb'",
        "uses a YAML anchor or alias",
        "{tmp}/conf/site/alias_bomb.yaml",
        site_file("alias_bomb", lambda t: t + "\n" + ALIAS_BOMB),
    ),
    BadInput(
        "run into a folder another run is using",
        (*TINY_RUN, "hydra.run.dir={tmp}/busy"),
        "hydra.run.dir",
        "'{tmp}/busy'",
        "another run is using this folder right now",
        setup=locked_folder("busy"),
    ),
    # --- writes that fail ------------------------------------------------------------------
    BadInput(
        "disk full while writing Hydra's record of the configuration",
        (*TINY_RUN, "hydra.run.dir={tmp}/full"),
        "hydra.run.dir",
        "'{tmp}/full'",
        "cannot write config.yaml: No space left on device",
        "config.yaml",
        disk_full_at("config.yaml"),
        exit_code=sim.cli.EXIT_FAILURE,
    ),
    BadInput(
        "disk full while writing the first manifest",
        (*TINY_RUN, "hydra.run.dir={tmp}/full"),
        "hydra.run.dir",
        "'{tmp}/full'",
        "cannot write manifest.json: No space left on device",
        "manifest.json",
        disk_full_at("manifest.json"),
        exit_code=sim.cli.EXIT_FAILURE,
    ),
    BadInput(
        "disk full while keeping a replication",
        (*TINY_RUN, "hydra.run.dir={tmp}/full"),
        "hydra.run.dir",
        "'{tmp}/full'",
        "cannot write rep_0000.json: No space left on device",
        "rep_0000.json",
        disk_full_at("rep_0000.json"),
        exit_code=sim.cli.EXIT_FAILURE,
    ),
]
CATALOGUE += HOSTILE


def test_the_catalogue_is_large_and_its_names_unique():
    assert len(CATALOGUE) >= 100
    assert len({case.name for case in CATALOGUE}) == len(CATALOGUE)
    # docs/reliability.md states its size
    reliability = sim.config.locations.PROJECT_ROOT / "docs" / "reliability.md"
    assert f"catalogue of {len(CATALOGUE)} such mistakes" in reliability.read_text("utf-8")


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_bad_input_stops_with_one_clear_line(case, tmp_path, monkeypatch, capsys):
    if case.setup is not None:
        case.setup(tmp_path, monkeypatch)

    def here(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path))

    args = [here(a) for a in case.args]
    # Outputs go to the temporary folder, unless the case is about the folder itself.
    if not any(a.startswith("hydra.run.dir=") for a in args):
        args.append(f"hydra.run.dir={tmp_path / 'run'}")
    if not any(a.startswith("hydra.sweep.dir=") for a in args):
        args.append(f"hydra.sweep.dir={tmp_path / 'sweep'}")
    code = run_sim(args, monkeypatch)
    err = capsys.readouterr().err

    assert code == case.exit_code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert "Traceback" not in line
    prefix = "Output error" if code == sim.cli.EXIT_FAILURE else "Configuration error"
    assert line.startswith(f"{prefix}: {case.key} = "), line
    stated = line[len(f"{prefix}: {case.key} = ") :]
    assert here(case.value) in stated, line
    assert here(case.rule) in stated, line
    if case.file is not None:
        assert here(case.file) in stated, line
    # Nothing ran that a file asked for, and nothing says it finished.
    assert not (tmp_path / "pwned").exists()
    for manifest in tmp_path.rglob("manifest.json"):
        try:
            status = json.loads(manifest.read_text(encoding="utf-8")).get("status")
        except ValueError:
            continue  # a user's file, left as it was
        assert status != "complete", manifest
    assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left behind"
    # Files a hostile input aimed at are exactly as they were.
    if (tmp_path / VICTIM).exists():
        files = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / VICTIM).iterdir()}
        assert files == dict.fromkeys(("config.yaml", "notes.txt", "important.log"), "victim\n")


def test_disk_full_marks_the_run_failed_and_keeps_its_replications(tmp_path, monkeypatch, capsys):
    disk_full_at("kpis.csv")(tmp_path, monkeypatch)
    folder = tmp_path / "full"
    code = run_sim([*TINY_RUN, f"hydra.run.dir={folder}"], monkeypatch)
    assert code == sim.cli.EXIT_FAILURE
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"
    assert "No space left on device" in manifest["error"]
    assert manifest["replications_kept"] == [0]
    assert "resume with: python -m sim" in capsys.readouterr().err
    assert not (folder / "kpis.csv").exists()
