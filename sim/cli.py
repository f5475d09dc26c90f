"""The thin Hydra entry point of ``python -m sim``.

Composes the configuration, validates it (before any output folder exists), runs the
experiment through the pure core and writes the run folder. The last line printed is the run
folder's path, so scripts can capture it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from . import outputs
from .config import (
    Calibration,
    ConfigError,
    Experiment,
    RunConfig,
    build_model_config,
    check_experiment,
    from_dict,
)
from .memory_guard import check_memory
from .scenarios import apply_options, label, parse_options, read_option_file

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = PROJECT_ROOT / "conf"
SCENARIO_DIR = PROJECT_ROOT / "scenarios"
TOP_LEVEL_KEYS = ("seed", "site", "assumptions", "scenario", "experiment", "calibration")
#: Exit codes: 1 is any other failure (a write that failed, a bug); see docs/reliability.md.
EXIT_FAILURE = 1
EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C (128 + SIGINT)


# --------------------------------------------------------------------------------------------
# Hydra set-up: resolvers and the scenario catalogue
# --------------------------------------------------------------------------------------------


def _scenario_label(node: Any) -> str:
    names = list(node.keys()) if isinstance(node, (dict, DictConfig)) else [str(node)]
    return label([str(n) for n in names])


def register() -> None:
    """Register resolvers and make every ``scenarios/*.yaml`` an option of group ``scenario``.

    Each option is stored under the package ``scenario.<name>``, so selecting several
    (``scenario=[a,b]``) keeps each one's content and the order they were chosen in.
    """
    from hydra.core.config_store import ConfigStore

    if not OmegaConf.has_resolver("project_root"):
        OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT))
        OmegaConf.register_new_resolver("scenario_label", _scenario_label)
    store = ConfigStore.instance()
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        try:
            node: dict[str, Any] = read_option_file(path)
        except ConfigError as err:
            # Reported only if this option is chosen: one bad file must not block the others.
            # Escaped so OmegaConf does not try to resolve a "${" quoted in the message.
            parts = {"key": err.key, "value": err.value, "rule": err.rule}
            node = {"_load_error": {k: str(v).replace("${", "\\${") for k, v in parts.items()}}
        store.store(group="scenario", name=path.stem, node=node, package=f"scenario.{path.stem}")


# --------------------------------------------------------------------------------------------
# From composed config to validated objects
# --------------------------------------------------------------------------------------------


def _plain(cfg: DictConfig) -> dict[str, Any]:
    # Hydra's own node is left out (and unresolved: some of it exists only inside a job).
    return {
        str(k): OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
        for k, v in cfg.items_ex(resolve=False)
        if k != "hydra"
    }


def validate(cfg: DictConfig | dict[str, Any]) -> tuple[RunConfig, dict[str, Any]]:
    """Turn the composed config into a :class:`RunConfig`; raises :class:`ConfigError`."""
    data = _plain(cfg) if isinstance(cfg, DictConfig) else dict(cfg)
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
    options = parse_options(scenario_node, SCENARIO_DIR)
    site, assumptions = apply_options(
        data.get("site") or {}, data.get("assumptions") or {}, options, SCENARIO_DIR
    )
    model = build_model_config(site, assumptions, scenario=label(list(options)))
    check_memory(model, experiment)
    calibration = from_dict(Calibration, data.get("calibration") or {}, "calibration")
    from .kpis import KPI_DEFINITIONS

    for i, t in enumerate(calibration.targets):
        if t.kpi not in KPI_DEFINITIONS:
            raise ConfigError(f"calibration.targets[{i}].kpi", t.kpi, "is not a KPI of the model")
    for i, kpi in enumerate(experiment.headline_kpis):
        if kpi not in KPI_DEFINITIONS:
            raise ConfigError(f"experiment.headline_kpis[{i}]", kpi, "is not a KPI of the model")
    run = RunConfig(model, experiment, seed, options, calibration)
    return run, data


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
    if group in ("site", "assumptions", "experiment", "calibration") and isinstance(choice, str):
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


def report_config_error(err: ConfigError) -> None:
    print(f"Configuration error: {err}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# Preflight: compose and validate before Hydra creates an output folder
# --------------------------------------------------------------------------------------------

_HYDRA_FLAGS = (
    "--help",
    "-h",
    "--hydra-help",
    "--cfg",
    "-c",
    "--info",
    "-i",
    "--resolve",
    "--shell-completion",
    "-sc",
    "--version",
    "--multirun",
    "-m",
    "--run",
    "-r",
    "--experimental-rerun",
)


def compose_validated(
    overrides: list[str], job_name: str = "sim"
) -> tuple[DictConfig, RunConfig, dict[str, Any]]:
    """Compose ``conf/`` with these overrides as ``python -m sim`` does, and validate it.

    Every configuration mistake, whether Hydra finds it (an unknown option, a malformed
    YAML file) or the schema does, is raised as a :class:`ConfigError` naming the key, the
    value, the rule and, where there is one, the file.
    """
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    register()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name=job_name):
            cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    except yaml.YAMLError as err:
        raise _yaml_config_error(err) from None
    except (HydraException, OmegaConfBaseException) as err:
        raise _explain_hydra_error(err, overrides) from None
    choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
    assert isinstance(choices, dict)
    try:
        run_cfg, data = validate(cfg)
    except ConfigError as err:
        raise attach_file(err, choices, overrides, _search_path(cfg)) from None
    return cfg, run_cfg, data


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
    "sim.sweep.SweepSummaryCallback",
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


def output_folder(cfg: DictConfig) -> tuple[str, Path]:
    """(key, folder) of where Hydra will write: ``hydra.run.dir`` for a run, or
    ``hydra.sweep.dir`` for a sweep (``hydra.mode: MULTIRUN``, as in ``conf/sweep/``)."""
    from hydra.types import RunMode

    key = "hydra.sweep.dir" if cfg.hydra.mode == RunMode.MULTIRUN else "hydra.run.dir"
    return key, Path(str(OmegaConf.select(cfg, key)))


def check_output_folder(cfg: DictConfig, data: dict[str, Any]) -> None:
    """Refuse, before anything runs, an output folder that cannot be created or written,
    and a run folder holding replications of another configuration."""
    from .replication_store import check_resumable
    from .run_folder import config_fingerprint

    key, folder = output_folder(cfg)
    try:
        outputs.check_writable_folder(folder)
    except OSError as err:
        raise ConfigError(
            key,
            str(folder),
            f"cannot create or write the output folder ({err}); choose another with {key}=...",
        ) from None
    if key == "hydra.run.dir":
        check_resumable(folder, config_fingerprint(data), key)


def preflight(argv: list[str]) -> int:
    """Compose the config for these overrides and validate it, and check the output folder;
    0 when the run may start, otherwise the error is printed and the exit code returned."""
    overrides = [a for a in argv if not a.startswith("-")]
    try:
        cfg, _, data = compose_validated(overrides)
        check_hydra_settings(cfg, overrides)
        check_output_folder(cfg, data)
    except ConfigError as err:
        report_config_error(err)
        return EXIT_CONFIG_ERROR
    return 0


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
        group = text.split("Could not find '", 1)[-1].split("/", 1)[0]
        value = text.split("Could not find '", 1)[-1].split("'", 1)[0].split("/", 1)[-1]
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


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


def run_job(cfg: DictConfig) -> str:
    """Run one scenario with all its replications into Hydra's output folder.

    In a sweep, a job whose folder already holds a complete run of the same configuration is
    skipped (so re-running a sweep resumes it), and a job that fails records its error in its
    folder and lets the sweep go on. A run (or job) started again in a folder where it was
    interrupted uses the replications kept there (see :mod:`sim.replication_store`).
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from .replication_store import ResumeRefused, kept_replications
    from .run_folder import config_fingerprint, execute_run, print_summary

    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    folder_key = "hydra.sweep.dir" if in_sweep else "hydra.run.dir"
    try:
        run_cfg, data = validate(cfg)
    except ConfigError as err:
        report_config_error(err)
        outputs.atomic_write_json(
            out_dir / "manifest.json",
            {"status": "invalid_config", "error": str(err), "finished_utc": outputs.now_utc()},
        )
        if in_sweep:
            return str(out_dir)
        raise SystemExit(EXIT_CONFIG_ERROR) from None
    scenario = run_cfg.model.scenario
    if in_sweep and _already_complete(out_dir, config_fingerprint(data)):
        print(f"{scenario}: already complete, skipped")
        print(out_dir)
        return str(out_dir)
    from .booking_kernel import needs_compiling

    if needs_compiling():
        print(
            "First run of this version on this machine: compiling the booking pass "
            "(about 2-3 minutes, once; later runs start at once)",
            flush=True,
        )
    started = time.perf_counter()
    try:
        summary, calibration = execute_run(run_cfg, data, out_dir, started)
    except ResumeRefused as err:
        # The folder is left exactly as the interrupted run left it.
        report_config_error(err)
        if in_sweep:
            print(f"{scenario}: REFUSED ({err.rule})")
            return str(out_dir)
        raise SystemExit(EXIT_CONFIG_ERROR) from None
    except KeyboardInterrupt:
        if in_sweep:
            raise  # the launcher stops the sweep; main() says how to resume
        kept = len(kept_replications(out_dir))
        print(
            f"Interrupted: {kept} of {run_cfg.experiment.replications} replications finished "
            f"and are kept in {out_dir}; resume with: {resume_command(folder_key, out_dir)}",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_INTERRUPTED) from None
    except outputs.OutputWriteError as err:
        if in_sweep:
            print(f"{scenario}: FAILED ({err.strerror}) in {out_dir}")
            return str(out_dir)
        print(
            f"Output error: {folder_key} = {str(out_dir)!r}: {err.strerror}; fix that, then "
            f"resume with: {resume_command(folder_key, out_dir)}",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_FAILURE) from None
    except Exception as err:
        if not in_sweep:
            raise
        import traceback

        try:
            outputs.atomic_write_text(out_dir / "error.txt", traceback.format_exc())
        except OSError:
            pass  # the manifest already says "failed" with the error, if it could be written
        print(f"{scenario}: FAILED ({err!r}); see {out_dir / 'error.txt'}")
        return str(out_dir)
    print_summary(summary, run_cfg, None if in_sweep else calibration)
    if not in_sweep:  # a sweep writes its own report at the end
        print(f"For a board report (HTML, PDF): python -m sim.report {out_dir}")
    print(out_dir)
    return str(out_dir)


def resume_command(folder_key: str, folder: Path | None) -> str:
    """The command that resumes this one: the same arguments, in ``folder`` if given."""
    import shlex

    args = [a for a in sys.argv[1:] if not a.startswith(f"{folder_key}=")]
    if folder is not None:
        args.append(f"{folder_key}={folder}")
    return shlex.join(["python", "-m", "sim", *args])


def _already_complete(out_dir: Path, fingerprint: str) -> bool:
    path = out_dir / "manifest.json"
    if not path.exists():
        return False
    import json

    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("status") == "complete" and manifest.get("config_sha256") == fingerprint


def main(argv: list[str] | None = None) -> None:
    import hydra

    argv = sys.argv[1:] if argv is None else argv
    register()
    if not any(a in _HYDRA_FLAGS or a.split("=", 1)[0] in _HYDRA_FLAGS for a in argv):
        code = preflight(argv)
        if code:
            raise SystemExit(code)

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
    def _app(cfg: DictConfig) -> str:
        return run_job(cfg)

    sys.argv = [sys.argv[0], *argv]
    try:
        _app()
    except KeyboardInterrupt:
        # A single run says how to resume in run_job; this is a sweep, or a stop before any
        # replication started. Jobs that finished are complete; a job cut short keeps its
        # finished replications; re-running the same command picks up from there.
        dated = not any(a.startswith("hydra.sweep.dir=") for a in argv) and any(
            a in ("-m", "--multirun") for a in argv
        )
        where = " with hydra.sweep.dir=<the sweep folder>" if dated else ""
        print(
            "Interrupted: jobs that finished are kept, and a job cut short keeps its finished "
            f"replications; resume by running the same command again{where}",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_INTERRUPTED) from None
