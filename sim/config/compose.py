"""Compose the Hydra configuration and validate it: used by every command.

``compose_validated`` composes ``conf/`` with a command line's overrides exactly as ``python
-m sim`` does and turns it into a :class:`~sim.config.schema.RunConfig`; every mistake comes
back as one :class:`~sim.config.schema.ConfigError` naming the key, the value, the rule and,
where there is one, the file. Every file Hydra reads is checked before it is parsed
(:mod:`sim.config.safe_yaml`) and for what it sets: only the Hydra settings of
:data:`FILE_HYDRA_SETTINGS`, and no interpolations outside them. Hydra is imported here and in
``sim/cli.py`` only.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sim.config import locations, safe_yaml
from sim.config.locations import CONF_DIR
from sim.config.phasing import PHASEABLE, OptionPhase, Phasing, config_at, unphaseable
from sim.config.scenarios import apply_options, label, parse_options, read_option_file
from sim.config.schema import (
    Calibration,
    ConfigError,
    Experiment,
    ModelConfig,
    RunConfig,
    ScenarioOption,
    build_model_config,
    check_experiment,
    check_programme,
    from_dict,
)
from sim.experiments.memory_guard import check_memory

TOP_LEVEL_KEYS = (
    "seed",
    "site",
    "assumptions",
    "scenario",
    "experiment",
    "calibration",
    # present only in a probabilistic sensitivity analysis (python -m sim uncertainty)
    "uncertainty",
    "psa",
)


# --------------------------------------------------------------------------------------------
# Hydra set-up: resolvers and the scenario catalogue
# --------------------------------------------------------------------------------------------


def _scenario_label(node: Any) -> str:
    names = list(node.keys()) if isinstance(node, (dict, DictConfig)) else [str(node)]
    return label([str(n) for n in names])


def register() -> None:
    """Register resolvers and make every option file an option of group ``scenario``.

    Each option is stored under the package ``scenario.<name>``, so selecting several
    (``scenario=[a,b]``) keeps each one's content and the order they were chosen in. Options
    come from the shipped catalogue and from the working folder's ``scenarios/``
    (:mod:`sim.config.locations`).
    """
    from hydra.core.config_store import ConfigStore

    _install_hydra_guards()
    if not OmegaConf.has_resolver("work_dir"):
        OmegaConf.register_new_resolver("work_dir", lambda: str(locations.WORK_DIR))
        # the name used before installed packages had a working folder (a clone's is its root)
        OmegaConf.register_new_resolver("project_root", lambda: str(locations.WORK_DIR))
        OmegaConf.register_new_resolver("scenario_label", _scenario_label)
        OmegaConf.register_new_resolver(
            "user_searchpath", lambda: [f"file://{d}" for d in locations.user_conf_dirs()]
        )
        # a PSA's jobs: the central set 0 and the draws 1..sets (conf/psa/)
        OmegaConf.register_new_resolver("psa_jobs", lambda sets: int(sets) + 1)
    store = ConfigStore.instance()
    files, clashes = locations.option_files()
    for name, path in files.items():
        try:
            node: dict[str, Any] = read_option_file(path)
        except ConfigError as err:
            node = _load_error(err.key, err.value, err.rule)
        if name in clashes:
            node = _load_error(
                f"scenario.{name}",
                str(clashes[name]),
                f"has the name of a shipped option ({path}), which would be used instead; "
                "rename your file and choose it by its new name",
            )
        store.store(group="scenario", name=name, node=node, package=f"scenario.{name}")


def _load_error(key: str, value: Any, rule: str) -> dict[str, Any]:
    """A stored option that reports its error only if chosen: one bad file must not block
    the others. Escaped so OmegaConf does not try to resolve a "${" quoted in the message."""
    parts = {"key": key, "value": value, "rule": rule}
    return {"_load_error": {k: str(v).replace("${", "\\${") for k, v in parts.items()}}


def option_files(names: list[str]) -> dict[str, Path]:
    """Each chosen option's file (the catalogue's, else the working folder's), for errors."""
    return {n: locations.option_file(n) for n in names}


# --------------------------------------------------------------------------------------------
# From composed config to validated objects
# --------------------------------------------------------------------------------------------


def plain(cfg: DictConfig) -> dict[str, Any]:
    # Hydra's own node is left out (and unresolved: some of it exists only inside a job).
    return {
        str(k): OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
        for k, v in cfg.items_ex(resolve=False)
        if k != "hydra"
    }


def validate(cfg: DictConfig | dict[str, Any]) -> tuple[RunConfig, dict[str, Any]]:
    """Turn the composed config into a :class:`RunConfig`; raises :class:`ConfigError`."""
    data = plain(cfg) if isinstance(cfg, DictConfig) else dict(cfg)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(
                str(key), data[key], f"unknown key; expected one of {list(TOP_LEVEL_KEYS)}"
            )
    seed = data.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ConfigError("seed", seed, "must be a whole number >= 0 and below 2**63")
    experiment = from_dict(Experiment, data.get("experiment"), "experiment")
    check_experiment(experiment)
    scenario_node = data.get("scenario") or {}
    if not isinstance(scenario_node, dict):
        raise ConfigError("scenario", scenario_node, "must name options from scenarios/")
    files = option_files([str(n) for n in scenario_node])
    options = parse_options(scenario_node, files)
    site, assumptions = apply_options(
        data.get("site") or {}, data.get("assumptions") or {}, options, files
    )
    model = build_model_config(site, assumptions, scenario=label(list(options)))
    model = with_phasing(model, data, options)
    check_programme(model, experiment)
    check_memory(model, experiment)
    calibration = from_dict(Calibration, data.get("calibration") or {}, "calibration")
    from sim.core.kpis import KPI_DEFINITIONS

    for i, t in enumerate(calibration.targets):
        if t.kpi not in KPI_DEFINITIONS:
            raise ConfigError(f"calibration.targets[{i}].kpi", t.kpi, "is not a KPI of the model")
    for i, kpi in enumerate(experiment.headline_kpis):
        if kpi not in KPI_DEFINITIONS:
            raise ConfigError(f"experiment.headline_kpis[{i}]", kpi, "is not a KPI of the model")
    if "uncertainty" in data or "psa" in data:
        _check_uncertainty(data)
    run = RunConfig(model, experiment, seed, options, calibration)
    return run, data


def with_phasing(
    model: ModelConfig, data: dict[str, Any], options: dict[str, ScenarioOption]
) -> ModelConfig:
    """``model`` carrying what phased options need (:mod:`sim.config.phasing`), when some
    option starts after week 0 or ramps up; checked at half effect so a setting that cannot
    be blended stops the run now, not inside a replication."""
    phases = tuple(
        OptionPhase(name, o.start_week, o.ramp_weeks, o.changes) for name, o in options.items()
    )
    if not any(p.start_week or p.ramp_weeks for p in phases):
        return model
    for p in phases:
        fixed = unphaseable(p.changes) if (p.start_week or p.ramp_weeks) else []
        if fixed:
            raise ConfigError(
                f"scenario.{p.name}.start_week",
                p.start_week,
                f"this option changes {fixed[0]}, which the model does not yet follow week by "
                f"week; it can only be in place from the start (start_week 0, ramp_weeks 0). "
                f"Settings that can phase in: {', '.join(PHASEABLE)}",
            )
    phasing = Phasing(
        site=copy.deepcopy(data.get("site") or {}),
        assumptions=copy.deepcopy(data.get("assumptions") or {}),
        options=phases,
    )
    phased = dataclasses.replace(model, phasing=phasing)
    config_at(phased, tuple(0.5 for _ in phases))
    return phased


def option_changes(name: str) -> dict[str, Any] | None:
    """The ``changes`` of an option, shipped or the working folder's (None if there is no
    such option)."""
    path = locations.option_file(name)
    return read_option_file(path).get("changes") or {} if path.is_file() else None


def catalogue_names() -> list[str]:
    """Every option's name: the shipped catalogue's and the working folder's."""
    return sorted(locations.option_files()[0])


def _check_uncertainty(data: dict[str, Any]) -> None:
    """The distributions (``uncertainty``) and the PSA design (``psa``), validated against
    the composed configuration (sim/config/uncertainty.py)."""
    from sim.config.uncertainty import parse_psa, parse_uncertainty

    if data.get("uncertainty") is None:
        raise ConfigError(
            "uncertainty", None, "is required for a PSA (e.g. +uncertainty=england_2024)"
        )
    parse_uncertainty(
        data["uncertainty"], data.get("site") or {}, data.get("assumptions") or {}, option_changes
    )
    if "psa" in data:
        parse_psa(data["psa"], [n for n in catalogue_names() if n != "baseline"])
        chosen = list(data.get("scenario") or {})
        if chosen != ["baseline"]:
            raise ConfigError(
                "scenario",
                chosen,
                "a PSA runs the baseline and every option in psa.options; list them there",
            )


def attach_file(
    err: ConfigError,
    choices: dict[str, Any],
    overrides: list[str],
    search_path: list[Path] | None = None,
) -> ConfigError:
    """Name the YAML file a bad ``site.*``/``assumptions.*``/``experiment.*``/``calibration.*``
    key came from (not when the key was typed on the command line). The file is looked for
    in ``conf/`` and then in the folders of ``hydra.searchpath`` (``search_path``)."""
    # Choosing a group's file (experiment=quick) is not typing its values.
    typed = {o.lstrip("+~").split("=", 1)[0] for o in overrides} - set(TOP_LEVEL_KEYS)
    if err.file or any(err.key == t or err.key.startswith((t + ".", t + "[")) for t in typed):
        return err
    group = err.key.split(".", 1)[0].split("[", 1)[0]
    choice = choices.get(group)
    if group in ("site", "assumptions", "experiment", "calibration", "uncertainty", "psa") and (
        isinstance(choice, str)
    ):
        for folder in [CONF_DIR, *(search_path or [])]:
            path = Path(folder) / group / f"{choice}.yaml"
            if path.exists():
                return ConfigError(err.key, err.value, err.rule, str(path))
    return err


def _search_path(cfg: DictConfig) -> list[Path]:
    """Folders of ``hydra.searchpath`` (``file://`` entries), in Hydra's order."""
    sources = OmegaConf.to_container(cfg.hydra.runtime.config_sources)
    assert isinstance(sources, list)
    return [Path(str(s["path"])) for s in sources if s.get("schema") == "file"]


def _yaml_config_error(err: Exception) -> ConfigError:
    """A malformed YAML file in a configuration group (``conf/site/x.yaml``, or one on
    ``hydra.searchpath``) as a one-line error naming the group, the option and the line."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if mark is None:
        return ConfigError("configuration", "YAML", f"is not valid YAML: {problem}")
    path = Path(mark.name)
    return ConfigError(
        path.parent.name,
        path.stem,
        f"is not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}",
        str(path),
    )


def compose_config(
    overrides: list[str] | tuple[str, ...] = (), job_name: str = "sim"
) -> DictConfig:
    """Compose ``conf/`` with these overrides as ``python -m sim`` does (Hydra's own node
    included), without validating it; Hydra's errors are raised as :class:`ConfigError`."""
    import yaml
    from hydra import compose, initialize_config_dir, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    register()
    overrides = list(overrides)
    source = locations.CONF_SOURCE
    try:
        if source.startswith("pkg://"):  # installed: the configuration shipped in the package
            context = initialize_config_module(
                config_module=source.removeprefix("pkg://"), version_base="1.3", job_name=job_name
            )
        else:
            context = initialize_config_dir(
                config_dir=str(CONF_DIR), version_base="1.3", job_name=job_name
            )
        with context:
            return compose(config_name="config", overrides=overrides, return_hydra_config=True)
    except ConfigFileRefused as refused:
        raise refused.error from None
    except yaml.YAMLError as err:
        raise _yaml_config_error(err) from None
    except (HydraException, OmegaConfBaseException) as err:
        raise _explain_hydra_error(err, overrides) from None


def compose_validated(
    overrides: list[str] | tuple[str, ...] = (), job_name: str = "sim"
) -> tuple[DictConfig, RunConfig, dict[str, Any]]:
    """Compose ``conf/`` with these overrides as ``python -m sim`` does, and validate it.

    Every configuration mistake, whether Hydra finds it (an unknown option, a malformed
    YAML file) or the schema does, is raised as a :class:`ConfigError` naming the key, the
    value, the rule and, where there is one, the file.
    """
    overrides = list(overrides)
    cfg = compose_config(overrides, job_name)
    choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
    assert isinstance(choices, dict)
    check_not_shadowed(choices, _search_path(cfg))
    try:
        run_cfg, data = validate(cfg)
    except ConfigError as err:
        raise attach_file(err, choices, overrides, _search_path(cfg)) from None
    return cfg, run_cfg, data


def check_not_shadowed(choices: dict[str, Any], search_path: list[Path]) -> None:
    """Refuse a chosen group file of the working folder (or ``hydra.searchpath``) that has the
    name of a shipped one: Hydra would silently use the shipped file instead."""
    for group, choice in choices.items():
        if not isinstance(choice, str) or group.startswith("hydra"):
            continue
        shipped = CONF_DIR / group / f"{choice}.yaml"
        if not shipped.exists():
            continue
        for folder in search_path:
            own = Path(folder) / group / f"{choice}.yaml"
            if Path(folder).resolve() != CONF_DIR.resolve() and own.exists():
                raise ConfigError(
                    group,
                    choice,
                    f"{own} has the name of a shipped file ({shipped}), which Hydra would use "
                    "instead; rename your file and choose it by its new name",
                    str(own),
                )


# --------------------------------------------------------------------------------------------
# Configuration files are data: what Hydra reads, and the Hydra settings a file may set
# --------------------------------------------------------------------------------------------


class ConfigFileRefused(BaseException):
    """A configuration file refused while Hydra reads or composes it.

    Raised from inside Hydra, whose own error reporting prints a traceback for any
    ``Exception``; as a ``BaseException`` it passes through to the command line, which prints
    :attr:`error` as one line. :func:`compose_config` turns it back into its
    :class:`ConfigError`.
    """

    def __init__(self, error: ConfigError):
        super().__init__(str(error))
        self.error = error


#: Groups whose files planners share between organisations: YAML aliases are refused there
#: outright (elsewhere their expansion is capped; see :mod:`sim.config.safe_yaml`).
ALIAS_FREE_GROUPS = ("site",)

_OUTPUT_DIR = "${hydra.runtime.output_dir}/"


def _text(value: Any) -> str | None:
    ok = isinstance(value, (str, int)) and not isinstance(value, bool)
    return None if ok else "must be text"


def _number(value: Any) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return None if ok or value is None else "must be a number"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _one_of(*choices: Any) -> Callable[[Any], str | None]:
    return lambda value: None if value in choices else f"must be one of {list(choices)}"


def _null(value: Any) -> str | None:
    if value is None:
        return None
    return (
        "Hydra would write its copy of the configuration there; this program writes it into "
        ".hydra/ of the run folder itself, and a configuration file may only set null here"
    )


def _folders_only(value: Any) -> str | None:
    # ${user_searchpath:} is the working folder's conf/ (sim.config.locations), as file://
    if value == "${user_searchpath:}":
        return None
    entries = value if isinstance(value, list) else [value]
    if all(isinstance(e, str) and e.startswith("file://") for e in entries):
        return None
    return "may list only folders (file://...): a pkg:// entry makes Hydra import a package"


#: Code a configuration file may name for Hydra to import and call: Hydra's own plugins and
#: the installed launcher plugins (a ``hydra_plugins`` package, such as this project's Dask
#: and SLURM launchers); installed code, never code a file brings.
PLUGIN_CODE = ("hydra._internal.core_plugins.", "hydra_plugins.")


def _plugin(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(PLUGIN_CODE):
        return None
    return "names code for Hydra to run; a configuration file may name only Hydra's plugins"


#: Where a configuration file may put outputs: the working folder's outputs/ (``project_root``
#: is its older name), never a folder of the file's choosing elsewhere on the disk.
_OUTPUTS = ("${work_dir:}/outputs/", "${project_root:}/outputs/")


def _in_outputs(value: Any) -> str | None:
    ok = isinstance(value, str) and value.startswith(_OUTPUTS) and ".." not in value
    if ok:
        return None
    return (
        "a configuration file may put outputs only under the working folder's outputs/ "
        "(${work_dir:}/outputs/...); type another folder on the command line if you mean it"
    )


def _subfolder(value: Any) -> str | None:
    ok = isinstance(value, (str, int)) and not isinstance(value, bool)
    ok = ok and "/" not in str(value) and ".." not in str(value)
    return None if ok else "must name one folder inside the sweep folder (no '/' or '..')"


def _no_address(value: Any) -> str | None:
    if value is None:
        return None
    return (
        "a configuration file may not choose the cluster that receives the jobs (they are "
        "sent to it, and its results read back); type it on the command line or set "
        "$DASK_SCHEDULER_ADDRESS"
    )


def _in_sweep_folder(value: Any) -> str | None:
    ok = isinstance(value, str) and value.startswith("${hydra.sweep.dir}/") and ".." not in value
    return None if ok else "must be a folder inside the sweep folder (${hydra.sweep.dir}/...)"


def _log_class(value: Any) -> str | None:
    allowed = ("logging.StreamHandler", "logging.FileHandler", "logging.NullHandler")
    if value in allowed:
        return None
    return f"logging handlers named by a configuration file must be one of {list(allowed)}"


def _log_stream(value: Any) -> str | None:
    if value in ("ext://sys.stdout", "ext://sys.stderr"):
        return None
    return "a log stream must be ext://sys.stdout or ext://sys.stderr"


def _log_file(value: Any) -> str | None:
    """A log file in the run folder: ``${hydra.runtime.output_dir}/<name>.log``."""
    if isinstance(value, str) and value.startswith(_OUTPUT_DIR):
        name = value[len(_OUTPUT_DIR) :].replace("${hydra.job.name}", "job")
        if name and ".." not in name and all(c.isalnum() or c in "._-" for c in name):
            return None
    return f"a log file must be in the run folder: {_OUTPUT_DIR}<name>.log"


def _names(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return None if ok else "must be a list of names"


def _logging_settings(node: str) -> list[tuple[str, Callable[[Any], str | None]]]:
    """What a file may set in Hydra's logging configuration ``node`` (Python's dictConfig):
    levels, formats and which handlers are used; handlers only print or write a log inside
    the run folder, and nothing names code (no ``()`` factories, no filters)."""
    return [
        (f"{node}.version", _number),
        (f"{node}.disable_existing_loggers", _flag),
        (f"{node}.root.level", _text),
        (f"{node}.root.handlers", _names),
        (f"{node}.loggers.*.level", _text),
        (f"{node}.loggers.*.handlers", _names),
        (f"{node}.loggers.*.propagate", _flag),
        (f"{node}.formatters.*.format", _text),
        (f"{node}.formatters.*.datefmt", _text),
        (f"{node}.handlers.*.class", _log_class),
        (f"{node}.handlers.*.formatter", _text),
        (f"{node}.handlers.*.level", _text),
        (f"{node}.handlers.*.stream", _log_stream),
        (f"{node}.handlers.*.filename", _log_file),
        (f"{node}.handlers.*.mode", _one_of("a", "w")),
        (f"{node}.handlers.*.encoding", _one_of("utf-8", "UTF-8")),
    ]


#: The Hydra settings a configuration file may set, each with the rule its value must follow
#: (``*`` stands for any one name). Hydra writes files, starts processes and imports code as
#: its settings say, and any group file can reach them (one headed ``# @package _global_``,
#: or a file chosen for a ``hydra/...`` group), so everything else under ``hydra`` is refused
#: in a file: a configuration file shared by another organisation is data. Settings typed on
#: the command line are the user's own and are not checked.
FILE_HYDRA_SETTINGS: list[tuple[str, Callable[[Any], str | None]]] = [
    ("hydra.run.dir", _in_outputs),
    ("hydra.sweep.dir", _in_outputs),
    ("hydra.sweep.subdir", _subfolder),
    ("hydra.job.chdir", _flag),
    ("hydra.mode", _one_of("RUN", "MULTIRUN")),
    ("hydra.output_subdir", _null),
    ("hydra.searchpath", _folders_only),
    ("hydra.sweeper.params.*", lambda v: None),  # the name is checked: see _sweep_param
    ("hydra.help.app_name", _text),
    ("hydra.callbacks.sweep_summary._target_", _one_of("sim.tools.sweep.SweepSummaryCallback")),
    ("hydra.callbacks.sweep_summary.board_report", _flag),
    ("hydra.callbacks.psa_summary._target_", _one_of("sim.tools.uncertainty.PsaSummaryCallback")),
    ("hydra.callbacks.psa_summary.board_report", _flag),
    ("hydra.launcher._target_", _plugin),
    ("hydra.sweeper._target_", _plugin),
    *(
        (f"hydra.launcher.{name}", _number)
        for name in (
            "n_jobs",
            "timeout_min",
            "cpus_per_task",
            "gpus_per_node",
            "mem_gb",
            "nodes",
            "tasks_per_node",
            "array_parallelism",
            "n_workers",
        )
    ),
    *((f"hydra.launcher.{name}", _text) for name in ("partition", "account", "qos", "name")),
    ("hydra.launcher.submitit_folder", _in_sweep_folder),
    ("hydra.launcher.address", _no_address),  # Dask's scheduler
    ("hydra.launcher.ray.init.address", _no_address),
    ("hydra.launcher.ray.init.include_dashboard", _flag),
    ("hydra.launcher.ray.remote.num_cpus", _number),
    ("hydra.launcher.ray.remote.num_gpus", _number),
    *_logging_settings("hydra.job_logging"),
    *_logging_settings("hydra.hydra_logging"),
]


#: Keys under which Hydra (``_target_``) and logging's dictConfig (``class``, ``()``) name code.
CODE_KEYS = ("_target_", "class", "()")


def _matches(pattern: str, key: str) -> bool:
    want, have = pattern.split("."), key.split(".")
    return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


def _sweep_param(key: str) -> str | None:
    name = key.split(".", 3)[3].lstrip("+~")
    if name.startswith("hydra"):
        return "a sweep set in a file may vary the model's settings, not Hydra's"
    return None


def hydra_setting_problem(key: str, value: Any) -> str | None:
    """Why a configuration file may not set Hydra setting ``key`` to ``value``, or None."""
    if key.startswith("hydra.job.env_set."):
        return (
            "environment variables can change what programs run, so configuration files "
            "may not set them (type the setting on the command line if you mean it)"
        )
    if key.startswith("hydra.sweeper.params."):  # the swept setting's name may hold dots
        return _sweep_param(key)
    for pattern, rule in FILE_HYDRA_SETTINGS:
        if _matches(pattern, key):
            return rule(value)
    if key.rsplit(".", 1)[-1] in CODE_KEYS:
        return (
            "names code for Hydra to run; configuration files are data and may not (type it "
            "on the command line if you mean it)"
        )
    return (
        "is a Hydra setting a configuration file may not set: Hydra writes, runs or imports "
        "what its settings name (type it on the command line if you mean it; see "
        "docs/reliability.md#configuration-files-are-data)"
    )


def _dict_leaves(node: Any, key: str) -> list[tuple[str, Any]]:
    """(dotted key, value) of every setting in ``node``; a list is one value."""
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _dict_leaves(v, f"{key}.{k}")]
    return [(key, node)]


def _interpolations(node: Any, key: str) -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [i for k, v in node.items() for i in _interpolations(v, f"{key}.{k}".lstrip("."))]
    if isinstance(node, list):
        return [i for n, v in enumerate(node) for i in _interpolations(v, f"{key}[{n}]")]
    return [(key, node)] if isinstance(node, str) and "${" in node else []


def check_file_settings(content: dict[str, Any], file: str) -> None:
    """Refuse what a configuration file may not do: set a Hydra setting outside
    :data:`FILE_HYDRA_SETTINGS`, or use an interpolation (``${...}``) outside Hydra's
    settings (there it could read environment variables, or refer to a list that refers to
    a list... and multiply the configuration's size without limit). ``content`` is the file
    as placed in the configuration (under its package)."""
    for key, value in _dict_leaves(content.get("hydra") or {}, "hydra"):
        if key == "hydra" or value == {}:
            continue
        problem = hydra_setting_problem(key, value)
        if problem:
            raise ConfigError(key, value, problem, file)
    data = {k: v for k, v in content.items() if k != "hydra"}
    for key, value in _interpolations(data, ""):
        raise ConfigError(
            key,
            value,
            "interpolations (${...}) are allowed only in Hydra's settings: elsewhere they can "
            "read environment variables and multiply a file's size without limit",
            file,
        )


def _install_hydra_guards() -> None:
    """Make Hydra check every configuration file before it parses it, and what each file
    sets once parsed: Hydra has no public hook for either, so two of its internal methods are
    wrapped (``tests/test_bad_inputs.py`` fails if Hydra changes them)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.config_repository import ConfigRepository
    from hydra.core.object_type import ObjectType
    from hydra.plugins.config_source import ConfigSource

    if getattr(ConfigRepository.load_config, "_sim_guard", False):
        return
    read = ConfigRepository.load_config
    compose_one = ConfigLoaderImpl._load_single_config

    def load_config(self: Any, config_path: str) -> Any:
        source = self._find_object_source(config_path, ObjectType.CONFIG)
        if source is not None and source.scheme() == "file":
            path = Path(source.path) / ConfigSource._normalize_file_name(config_path)
            group, _, option = config_path.rpartition("/")
            try:
                safe_yaml.checked_text(
                    path,
                    group or "configuration",
                    allow_aliases=group.split("/")[0] not in ALIAS_FREE_GROUPS,
                    value=option,
                )
            except ConfigError as err:
                raise ConfigFileRefused(err) from None
        return read(self, config_path)

    def load_single_config(self: Any, default: Any, repo: Any) -> Any:
        loaded = compose_one(self, default, repo)
        if str(loaded.path).startswith("file://"):
            folder = Path(str(loaded.path)[len("file://") :])
            file = str(folder / ConfigSource._normalize_file_name(default.config_path))
            content = OmegaConf.to_container(loaded.config, resolve=False)
            try:
                check_file_settings(content if isinstance(content, dict) else {}, file)
            except ConfigError as err:
                raise ConfigFileRefused(err) from None
        return loaded

    load_config._sim_guard = True  # type: ignore[attr-defined]
    ConfigRepository.load_config = load_config  # type: ignore[method-assign]
    ConfigLoaderImpl._load_single_config = load_single_config  # type: ignore[method-assign]


def _explain_hydra_error(err: Exception, overrides: list[str]) -> ConfigError:
    """Hydra's error about the command line as a one-line :class:`ConfigError`."""
    text = str(err).strip()
    if "not in struct" in text or "Could not override" in text:
        for o in overrides:
            key, _, value = o.lstrip("+~").partition("=")
            if f"'{key}'" in text:
                return ConfigError(
                    key,
                    value,
                    "unknown key; this setting does not exist "
                    f"(top-level keys are {list(TOP_LEVEL_KEYS)}; see `python -m sim --cfg job`)",
                )
    if "Could not find" in text and "Available options" in text:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # the last part is the option, the rest its group (nested: hydra/launcher/ray)
        group, _, value = text.split("Could not find '", 1)[-1].split("'", 1)[0].rpartition("/")
        start = lines.index(next(line for line in lines if line.startswith("Available options")))
        options = [
            line
            for line in lines[start + 1 :]
            if not line.startswith(("Config search", "provider="))
        ]
        return ConfigError(group, value, f"no such option; available: {', '.join(options)}")
    lines = [line for line in text.splitlines() if line.strip() and "HYDRA_FULL_ERROR" not in line]
    rule = " ".join(lines[:3]) or type(err).__name__
    return ConfigError("command line", " ".join(overrides), rule)
