"""The thin Hydra entry point of ``python -m sim``.

Composes the configuration, validates it (before any output folder exists), runs the
experiment through the pure core and writes the run folder. The last line printed is the run
folder's path, so scripts can capture it.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sim.config.compose import (
    check_hydra_settings,
    compose_validated,
    register,
    validate,
)
from sim.config.locations import CONF_DIR, CONF_SOURCE
from sim.config.schema import ConfigError
from sim.experiments import outputs

#: Writes to the run folder's run.log (configured in conf/config.yaml, hydra.job_logging).
log = logging.getLogger(__name__)

#: Exit codes: 1 is any other failure (a write that failed, a bug); see docs/reliability.md.
EXIT_FAILURE = 1
EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C (128 + SIGINT)


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


def output_folder(cfg: DictConfig) -> tuple[str, Path]:
    """(key, folder) of where Hydra will write: ``hydra.run.dir`` for a run, or
    ``hydra.sweep.dir`` for a sweep (``hydra.mode: MULTIRUN``, as in ``conf/sweep/``)."""
    from hydra.types import RunMode

    key = "hydra.sweep.dir" if cfg.hydra.mode == RunMode.MULTIRUN else "hydra.run.dir"
    return key, Path(str(OmegaConf.select(cfg, key)))


def check_output_folder(cfg: DictConfig, data: dict[str, Any]) -> None:
    """Refuse, before anything runs, an output folder that cannot be created or written,
    and a run folder holding replications of another configuration."""
    from sim.experiments.replication_store import check_resumable
    from sim.experiments.run_folder import config_fingerprint

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


#: Hydra's name for the job, as ``hydra.main`` names it after this file (``cli.log``).
JOB_NAME = "cli"


def checked_config(argv: list[str]) -> DictConfig:
    """The config composed for these overrides (Hydra's node included), validated, with its
    output folder checked; raises :class:`ConfigError`."""
    overrides = [a for a in argv if not a.startswith("-")]
    cfg, _, data = compose_validated(overrides, job_name=JOB_NAME)
    check_hydra_settings(cfg, overrides)
    check_output_folder(cfg, data)
    return cfg


def preflight(argv: list[str]) -> int:
    """Compose the config for these overrides and validate it, and check the output folder;
    0 when the run may start, otherwise the error is printed and the exit code returned."""
    try:
        checked_config(argv)
    except ConfigError as err:
        report_config_error(err)
        return EXIT_CONFIG_ERROR
    return 0


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


def run_job(cfg: DictConfig) -> str:
    """Run one scenario with all its replications into Hydra's output folder.

    In a sweep, a job whose folder already holds a complete run of the same configuration is
    skipped (so re-running a sweep resumes it), and a job that fails records its error in its
    folder and lets the sweep go on. A run (or job) started again in a folder where it was
    interrupted uses the replications kept there (see :mod:`sim.experiments.replication_store`).
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from sim.experiments.replication_store import ResumeRefused, kept_replications
    from sim.experiments.run_folder import config_fingerprint, execute_run, print_summary

    if "psa" in cfg:  # a parameter set of python -m sim uncertainty
        import importlib

        return importlib.import_module("sim.tools.uncertainty").run_set_job(cfg)
    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    folder_key = "hydra.sweep.dir" if in_sweep else "hydra.run.dir"
    try:
        run_cfg, data = validate(cfg)
    except ConfigError as err:
        report_config_error(err)
        log.error("Configuration error: %s", err)
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
        log.info("Already complete with the same configuration: skipped")
        print(out_dir)
        return str(out_dir)
    from sim.booking.engine import needs_compiling

    if needs_compiling():
        print(
            "First run of this version on this machine: compiling the booking pass "
            "(under a minute, once; later runs start at once)",
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
        print(f"For a board report (HTML, PDF): python -m sim report {out_dir}")
    print(out_dir)
    return str(out_dir)


def is_sweep(cfg: DictConfig) -> bool:
    from hydra.types import RunMode

    return cfg.hydra.mode == RunMode.MULTIRUN


def run_composed(cfg: DictConfig) -> None:
    """Run a single job with the configuration the preflight composed, as ``hydra.main``
    would run it (Hydra's logging, the run folder and its ``.hydra/``, the job, the
    callbacks), without composing it twice more: Hydra composes once to learn whether the
    command is a sweep and once to run it, about 0.15 s of CPU each."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.utils import configure_log
    from hydra.core.utils import run_job as run_hydra_job
    from hydra.types import HydraContext, RunMode
    from omegaconf import open_dict

    with open_dict(cfg.hydra):
        cfg.hydra.mode = RunMode.RUN
        cfg.hydra.overrides.hydra.append("hydra.mode=RUN")  # as Hydra records it
    configure_log(cfg.hydra.hydra_logging, cfg.hydra.verbose)
    callbacks = Callbacks(cfg)
    callbacks.on_run_start(config=cfg, config_name="config")
    done = run_hydra_job(
        # only the launchers of sweeps use a config loader
        hydra_context=HydraContext(config_loader=None, callbacks=callbacks),  # type: ignore[arg-type]
        task_function=run_job,
        config=cfg,
        job_dir_key="hydra.run.dir",
        job_subdir_key=None,
    )
    callbacks.on_run_end(config=cfg, config_name="config", job_return=done)
    done.return_value  # noqa: B018 (raises the job's exception, if it failed)


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


#: ``python -m sim <command> ...``: the commands beside running the model, each a module
#: with ``main(argv) -> exit code``. Anything else on the command line is Hydra overrides.
COMMANDS = {
    "compare": ("sim.tools.compare", "paired comparison of an option's run with the baseline's"),
    "report": ("sim.report", "board report (HTML, Markdown, PDF) of a run or sweep folder"),
    "budget": ("sim.tools.budget", "best combination of options within a budget, from a sweep"),
    "sweep": ("sim.tools.sweep", "re-make a sweep's comparison, ranking and board report"),
    "validate": ("sim.tools.validate", "verification and validation suite"),
    "warmup": ("sim.tools.warmup", "how long the warm-up must be (MSER-5)"),
    "site-from-csv": ("sim.tools.site_from_csv", "a site from NHS Digital registration files"),
    "app": ("sim.app", "the web app: choose options, run them, read and download the results"),
    "init": ("sim.tools.workspace", "a working folder for your own sites, options and outputs"),
    "uncertainty": (
        "sim.tools.uncertainty",
        "probabilistic sensitivity analysis of the options (or re-make one's tables and report)",
    ),
}


def command_list() -> str:
    """What ``nhs-sim --help`` with settings says first (the commands), before Hydra's help
    for a run with those settings; ``--help`` alone is :func:`usage`."""
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: nhs-sim [KEY=VALUE ...]         run the model (same as: python -m sim ...)",
        "       nhs-sim COMMAND [ARGS ...]      (COMMAND --help for its options)",
        "",
        "commands:",
        *(f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()),
        "",
    ]
    return "\n".join(lines)


def run_command(name: str, argv: list[str]) -> int:
    """Run ``python -m sim <name> argv...``; returns its exit code."""
    import importlib

    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(argv) or 0)


#: Configuration groups a command line chooses from (``group=option``), in the order shown.
GROUPS = ("site", "assumptions", "scenario", "experiment", "calibration")


def usage() -> str:
    """``nhs-sim --help`` (``python -m sim --help``): the commands, the options of each
    configuration group (shipped, and the working folder's own) and where to read more.
    Answered from the folders, without starting Hydra (which would compose the whole
    configuration first); ``--hydra-help`` gives Hydra's own help."""
    import textwrap

    from sim.config.locations import option_files, user_conf_dirs

    def options(group: str) -> str:
        if group == "scenario":
            names = set(option_files()[0])
        else:
            folders = [CONF_DIR / group, *(d / group for d in user_conf_dirs())]
            names = {p.stem for folder in folders for p in folder.glob("*.yaml")}
        return ", ".join(sorted(names))

    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: nhs-sim [group=option ...] [setting=value ...]   run the model",
        "       nhs-sim COMMAND [ARGS ...]                       run a tool",
        "(nhs-sim is python -m sim.)",
        "",
        "Without arguments, runs the default configuration (the North Durham baseline) and",
        "prints the run folder last.",
        "",
        "commands (nhs-sim COMMAND --help for each):",
        *(f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()),
        "",
        "configuration groups (group=option):",
    ]
    for group in GROUPS:
        lines += textwrap.wrap(
            options(group), 92, initial_indent=f"  {group}: ", subsequent_indent=" " * 6
        )
    lines += [
        f"  +sweep: {options('sweep')}  (a named sweep: one job per option)",
        "",
        "examples:",
        "  nhs-sim experiment=quick                  a few seconds, for a first look",
        "  nhs-sim scenario=[extended_access_8to8,rac_weekend] seed=7",
        "  nhs-sim site.practice_capacity.gp.fte_per_1000=0.55",
        "  nhs-sim +sweep=all_options                every option against the baseline",
        "  nhs-sim --cfg job                         the full configuration",
        "  nhs-sim --hydra-help                      Hydra's own flags",
        "",
        "More: README.md and docs/ (docs/experiments.md, docs/sweeps.md, docs/kpis.md).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv in (["--help"], ["-h"]):
        print(usage())
        return
    if argv and argv[0] in COMMANDS:
        raise SystemExit(run_command(argv[0], argv[1:]))
    if argv[:1] in (["--help"], ["-h"]):
        print(command_list())
    register()
    composed = None
    if not any(a in _HYDRA_FLAGS or a.split("=", 1)[0] in _HYDRA_FLAGS for a in argv):
        try:
            composed = checked_config(argv)
        except ConfigError as err:
            report_config_error(err)
            raise SystemExit(EXIT_CONFIG_ERROR) from None

    import hydra

    @hydra.main(version_base="1.3", config_path=CONF_SOURCE, config_name="config")
    def _app(cfg: DictConfig) -> str:
        return run_job(cfg)

    sys.argv = [sys.argv[0], *argv]
    try:
        if composed is not None and not is_sweep(composed):
            run_composed(composed)
        else:
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
