"""Compose the Hydra configuration and validate it: used by every command.

``compose_validated`` composes ``conf/`` with a command line's overrides exactly as ``python
-m sim`` does and turns it into a :class:`~sim.config.schema.RunConfig`; every mistake comes
back as one :class:`~sim.config.schema.ConfigError` naming the key, the value, the rule and,
where there is one, the file. ``check_hydra_settings`` refuses code slipped into Hydra's own
settings by a file. Hydra is imported here and in ``sim/cli.py`` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sim.config import locations
from sim.config.locations import CONF_DIR
from sim.config.scenarios import apply_options, label, parse_options, read_option_file
from sim.config.schema import (
    Calibration,
    ConfigError,
    Experiment,
    RunConfig,
    build_model_config,
    check_experiment,
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
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("seed", seed, "must be a whole number >= 0")
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


#: What Hydra's own settings may name as code to import and call: Hydra's plugins (launchers,
#: sweepers), logging classes, and this project's sweep summary. Hydra calls whatever its
#: settings name, and a group file can reach them (a site file headed ``# @package _global_``
#: can add a ``hydra.callbacks`` entry), so anything else is refused unless typed on the
#: command line: configuration files are data, and a file shared by another organisation must
#: not be able to run code.
ALLOWED_HYDRA_CODE = (
    "hydra._internal.core_plugins.",
    "hydra_plugins.",
    "logging.",
    "sim.tools.sweep.SweepSummaryCallback",
    "sim.tools.uncertainty.PsaSummaryCallback",
)
#: Keys under which Hydra (``_target_``) and logging's dictConfig (``class``, ``()``) name code.
CODE_KEYS = ("_target_", "class", "()")


def check_hydra_settings(cfg: DictConfig, overrides: list[str]) -> None:
    """Refuse code, or environment variables, slipped into Hydra's settings by a file."""
    typed = [o.lstrip("+~").split("=", 1)[0] for o in overrides]

    def by_file(key: str) -> bool:
        return not any(key == t or key.startswith(t + ".") for t in typed)

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                here = f"{key}.{k}"
                if k in CODE_KEYS and by_file(here):
                    if not (isinstance(v, str) and v.startswith(ALLOWED_HYDRA_CODE)):
                        raise ConfigError(
                            here,
                            v,
                            "names code for Hydra to run; configuration files are data and may "
                            "name only Hydra's plugins and logging classes",
                        )
                walk(v, here)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{key}[{i}]")

    walk(OmegaConf.to_container(cfg.hydra, resolve=False), "hydra")
    env = OmegaConf.to_container(cfg.hydra.job.env_set, resolve=False)
    for name, value in (env or {}).items():
        if by_file(f"hydra.job.env_set.{name}"):
            raise ConfigError(
                f"hydra.job.env_set.{name}",
                value,
                "environment variables can change what programs run, so configuration files "
                "may not set them (type the setting on the command line if you mean it)",
            )


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
