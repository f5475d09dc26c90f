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
        monkeypatch.setattr(sim.config.compose, "SCENARIO_DIR", folder)

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
        "no such option; available: board, quick, standard",
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


def test_the_catalogue_is_large_and_its_names_unique():
    assert len(CATALOGUE) >= 30
    assert len({case.name for case in CATALOGUE}) == len(CATALOGUE)


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
        status = json.loads(manifest.read_text(encoding="utf-8")).get("status")
        assert status != "complete", manifest
    assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left behind"


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
