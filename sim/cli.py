"""The thin Hydra entry point of ``python -m sim``.

Composes the configuration, validates it (before any output folder exists), runs the
experiment through the pure core and writes the run folder. The last line printed is the run
folder's path, so scripts can capture it.

Whatever happens, the command ends with an exit code and one line saying what happened
(docs/reliability.md): a configuration or folder refused (2), a write that failed (1),
Ctrl-C or SIGTERM anywhere, even while composing the configuration or inside the compiled
booking pass (130, with the command that resumes).
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sim.config.compose import (
    ConfigFileRefused,
    compose_config,
    compose_validated,
    register,
    validate,
)
from sim.config.locations import CONF_DIR, CONF_SOURCE
from sim.config.scenarios import label
from sim.config.schema import ConfigError
from sim.experiments import interrupts, outputs

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
_MULTIRUN_FLAGS = ("--multirun", "-m")


def output_folder(cfg: DictConfig) -> tuple[str, Path]:
    """(key, folder) of where Hydra will write: ``hydra.run.dir`` for a run, or
    ``hydra.sweep.dir`` for a sweep (``hydra.mode: MULTIRUN``, as in ``conf/sweep/``)."""
    from hydra.types import RunMode

    key = "hydra.sweep.dir" if cfg.hydra.mode == RunMode.MULTIRUN else "hydra.run.dir"
    return key, Path(str(OmegaConf.select(cfg, key)))


def check_output_folder(cfg: DictConfig, data: dict[str, Any] | None, sweep: bool = False) -> None:
    """Refuse, before anything runs, an output folder that cannot be created or written, one
    that is not a run (or sweep) folder of this program, and a run folder holding a run or
    replications of another configuration (``data``: the composed configuration)."""
    from sim.experiments.replication_store import check_resumable
    from sim.experiments.run_folder import (
        check_folder_is_ours,
        check_sweep_folder_is_ours,
        check_sweep_kind,
        config_fingerprint,
    )

    key, folder = output_folder(cfg)
    if sweep:
        key, folder = "hydra.sweep.dir", Path(str(OmegaConf.select(cfg, "hydra.sweep.dir")))
    if key == "hydra.run.dir":
        check_folder_is_ours(folder, key)
    else:
        check_sweep_folder_is_ours(folder, key)
        check_sweep_kind(folder, key, psa=OmegaConf.select(cfg, "psa") is not None)
    try:
        outputs.check_writable_folder(folder)
    except OSError as err:
        raise ConfigError(
            key,
            str(folder),
            f"cannot create or write the output folder ({err}); choose another with {key}=...",
        ) from None
    if key == "hydra.run.dir" and data is not None:
        check_resumable(folder, config_fingerprint(data), key)
    if key == "hydra.sweep.dir" and data is not None and "psa" in data:
        from sim.experiments import psa  # an uncertainty analysis never overwrites another

        psa.check_psa_folder(folder, psa.plan_from_data(data).fingerprint, key)


#: Most jobs one sweep (or uncertainty analysis) may have. Hydra lists every job before the
#: first starts, so a sweep over a range of a billion seeds (set in a file, or psa.sets) kept
#: it busy, and its memory growing, for ever instead of stopping with a line.
MAX_SWEEP_JOBS = 100_000


def check_sweep_size(cfg: DictConfig, overrides: list[str]) -> None:
    """Refuse a sweep of more than :data:`MAX_SWEEP_JOBS` jobs, counted from its parameters
    (``hydra.sweeper.params``, from a file) and the sweeps typed on the command line."""
    import math

    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, RangeSweep
    from hydra.errors import HydraException

    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    lines = [*(f"{k}={v}" for k, v in params.items()), *overrides]
    try:
        parsed = OverridesParser.create().parse_overrides(lines)
    except HydraException:
        return  # Hydra explains a malformed override itself
    total = 1
    for o in parsed:
        value = o.value() if o.is_sweep_override() else None
        if isinstance(value, RangeSweep):
            start, stop, step = value.start, value.stop, value.step
            n = math.ceil((stop - start) / step) if step and math.isfinite(stop - start) else 0
        elif isinstance(value, ChoiceSweep):
            n = len(value.list)
        else:
            continue
        total *= max(n, 1)
        if total > MAX_SWEEP_JOBS:
            raise ConfigError(
                o.key_or_group,
                o.input_line.split("=", 1)[-1],
                f"makes the sweep more than {MAX_SWEEP_JOBS:,} jobs ({total:,}); split it into "
                "several sweeps",
            )


#: Hydra's name for the job, as ``hydra.main`` names it after this file (``cli.log``).
JOB_NAME = "cli"


def checked_config(argv: list[str]) -> DictConfig:
    """The config composed for these overrides (Hydra's node included), validated, with its
    output folder checked; raises :class:`ConfigError`."""
    overrides = [a for a in argv if not a.startswith("-")]
    cfg, _, data = compose_validated(overrides, job_name=JOB_NAME)
    if is_sweep(cfg):  # a sweep file, or an uncertainty analysis
        check_sweep_size(cfg, overrides)
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


def preflight_multirun(argv: list[str]) -> int:
    """For ``--multirun``: before Hydra starts, read every configuration file a job may
    choose (each is checked as it is read: size, encoding, aliases, the Hydra settings it
    sets) and check the sweep folder. The jobs' own settings are validated by each job."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    overrides = [a for a in argv if not a.startswith("-")]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return 0  # Hydra explains a malformed override itself
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    try:
        cfg = compose_config(fixed)
        check_sweep_size(cfg, [o.input_line for o in parsed if o.is_sweep_override()])
        for o in parsed:
            if o.is_sweep_override() and "." not in o.key_or_group and o.key_or_group != "seed":
                for value in o.sweep_string_iterator():
                    compose_config([*fixed, f"{o.key_or_group}={value}"])
        check_output_folder(cfg, None, sweep=True)
    except ConfigError as err:
        report_config_error(err)
        return EXIT_CONFIG_ERROR
    return 0


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


def run_job(cfg: DictConfig) -> str:
    """Run one scenario with all its replications into Hydra's output folder.

    The folder is locked for the job and must be a run folder of this program. A folder
    whose run of the same configuration is complete is left as it is (said, not redone). A
    run (or job) started again in a folder where it was interrupted uses the replications
    kept there (see :mod:`sim.experiments.replication_store`). In a sweep, a job that fails
    for any reason records its error and lets the sweep go on.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    interrupts.exit_with_parent(interrupts.run_pid())  # a sweep's job in a worker process
    if "psa" in cfg:  # a parameter set of python -m sim uncertainty
        import importlib

        return importlib.import_module("sim.tools.uncertainty").run_set_job(cfg)
    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    folder_key = "hydra.sweep.dir" if in_sweep else "hydra.run.dir"
    name = label([str(k) for k in (cfg.get("scenario") or {})])
    with interrupts.stop_on_signals():
        try:
            return _run_job_in_folder(cfg, out_dir, in_sweep, folder_key)
        except ConfigError as err:
            report_config_error(err)
            log.error("Configuration error: %s", err)
            if in_sweep:
                print(f"{name}: REFUSED ({err.rule})")
                return str(out_dir)
            raise SystemExit(EXIT_CONFIG_ERROR) from None
        except outputs.OutputWriteError as err:
            if interrupts.stop_requested():
                return _interrupted(in_sweep, out_dir, folder_key, None)
            if in_sweep:
                print(f"{name}: FAILED ({err.strerror}) in {out_dir}")
                return str(out_dir)
            print(
                f"Output error: {folder_key} = {str(out_dir)!r}: {err.strerror}; fix that, then "
                f"resume with: {resume_command(folder_key, out_dir)}",
                file=sys.stderr,
            )
            raise SystemExit(EXIT_FAILURE) from None
        except KeyboardInterrupt:
            return _interrupted(in_sweep, out_dir, folder_key, cfg)
        except Exception as err:
            if interrupts.is_interruption(err):
                return _interrupted(in_sweep, out_dir, folder_key, cfg)
            if not in_sweep:
                raise
            import traceback

            try:
                outputs.atomic_write_text(out_dir / "error.txt", traceback.format_exc())
            except OSError:
                pass  # the manifest already says "failed" with the error, if it could be written
            print(f"{name}: FAILED ({err!r}); see {out_dir / 'error.txt'}")
            return str(out_dir)


def _interrupted(in_sweep: bool, out_dir: Path, folder_key: str, cfg: DictConfig | None) -> str:
    """Ctrl-C or SIGTERM stopped the job: a sweep stops (main() says how to resume); a run
    says what was kept and how to resume, and exits with 130, unless it had finished (its
    complete manifest in place): it then says so and ends as a finished run does."""
    from sim.experiments.replication_store import discard_replications, kept_replications
    from sim.experiments.results import is_complete

    if in_sweep:
        raise KeyboardInterrupt
    if is_complete(out_dir):
        # The signal came as the run finished, once its complete manifest was in place: its
        # results are all there, so nothing is to be resumed (exit code 0).
        discard_replications(out_dir)  # as the run would have, had it gone on
        print(
            f"{interrupts.stop_signal_name()} came as the run finished: its results are "
            f"complete in {out_dir}",
            file=sys.stderr,
        )
        print(out_dir)
        return str(out_dir)
    kept = len(kept_replications(out_dir))
    wanted = OmegaConf.select(cfg, "experiment.replications") if cfg is not None else None
    of = f" of {wanted}" if isinstance(wanted, int) else ""
    print(
        f"Interrupted{_by()}: {kept}{of} replications finished and "
        f"are kept in {out_dir}; resume with: {resume_command(folder_key, out_dir)}",
        file=sys.stderr,
    )
    raise SystemExit(EXIT_INTERRUPTED)


def _run_job_in_folder(cfg: DictConfig, out_dir: Path, in_sweep: bool, folder_key: str) -> str:
    from sim.experiments.replication_store import check_resumable
    from sim.experiments.run_folder import (
        check_folder_is_ours,
        claim_folder,
        config_fingerprint,
        execute_run,
        print_summary,
        read_manifest,
    )

    with claim_folder(out_dir, folder_key):
        check_folder_is_ours(out_dir, folder_key)
        manifest = read_manifest(out_dir)
        try:
            run_cfg, data = validate(cfg)
        except ConfigError as err:
            if manifest is None:  # never over a manifest that is already there
                write_hydra_record(out_dir, cfg)
                outputs.atomic_write_json(
                    out_dir / "manifest.json",
                    {
                        "status": "invalid_config",
                        "error": str(err),
                        "finished_utc": outputs.now_utc(),
                    },
                )
            raise
        fingerprint = config_fingerprint(data)
        scenario = run_cfg.model.scenario
        if manifest and manifest.get("status") == "complete":
            if manifest.get("config_sha256") == fingerprint:
                print(
                    f"{scenario}: already complete, skipped (this configuration's run in "
                    f"{out_dir} finished; choose another folder for a new run)"
                )
                log.info("Already complete with the same configuration: skipped")
                print(out_dir)
                return str(out_dir)
        check_resumable(out_dir, fingerprint, folder_key)
        from sim.booking.engine import needs_compiling

        if needs_compiling():
            print(
                "First run of this version on this machine: compiling the booking pass "
                "(under a minute, once; later runs start at once)",
                flush=True,
            )
        started = time.perf_counter()
        write_hydra_record(out_dir, cfg)
        summary, calibration = execute_run(run_cfg, data, out_dir, started)
    print_summary(summary, run_cfg, None if in_sweep else calibration)
    if not in_sweep:  # a sweep writes its own report at the end
        print(f"For a board report (HTML, PDF): python -m sim report {out_dir}")
    print(out_dir)
    return str(out_dir)


def write_hydra_record(out_dir: Path, cfg: DictConfig) -> None:
    """Hydra's record of the job in ``.hydra/``: the composed configuration, Hydra's own
    settings and the overrides typed. Written here, atomically, rather than by Hydra
    (``hydra.output_subdir: null`` in conf/config.yaml), so a failure (a full disk) is
    reported like any other write and never leaves a 0-byte config.yaml behind."""
    from hydra.core.hydra_config import HydraConfig

    hydra = HydraConfig.instance().cfg
    assert hydra is not None
    record = {
        "config.yaml": cfg,
        "hydra.yaml": hydra,
        "overrides.yaml": hydra.hydra.overrides.task,
    }
    for file_name, node in record.items():
        outputs.atomic_write_text(out_dir / ".hydra" / file_name, OmegaConf.to_yaml(node))


class SweepRecordFailed(BaseException):
    """Hydra's record of a sweep (``multirun.yaml``) could not be written. A
    ``BaseException`` so that it passes through Hydra's own error reporting (a traceback) to
    :func:`main`, which prints it as one line."""

    def __init__(self, error: outputs.OutputWriteError):
        super().__init__(str(error))
        self.error = error


class _AtomicRecord:
    """OmegaConf as Hydra's sweeper sees it, but ``save`` writes atomically (no half-written
    or 0-byte ``multirun.yaml`` left by a full disk) and fails as :class:`SweepRecordFailed`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(OmegaConf, name)

    @staticmethod
    def save(config: Any, f: Any, resolve: bool = False) -> None:
        try:
            outputs.atomic_write_text(Path(f), OmegaConf.to_yaml(config, resolve=resolve))
        except outputs.OutputWriteError as err:
            raise SweepRecordFailed(err) from None


def _write_sweep_record_atomically() -> None:
    """Hydra writes a sweep's ``multirun.yaml`` itself, with no setting to turn it off; its
    sweeper (hydra/_internal/core_plugins/basic_sweeper.py) is given :class:`_AtomicRecord`
    as its OmegaConf (the catalogue of ``tests/test_bad_inputs.py`` fails if Hydra changes that)."""
    from hydra._internal.core_plugins import basic_sweeper

    basic_sweeper.OmegaConf = _AtomicRecord()  # type: ignore[attr-defined]


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
    """Run ``python -m sim <name> argv...``; returns its exit code. A file a command cannot
    write ends it with one line naming the file (exit code 1)."""
    import importlib

    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(argv) or 0)
    except outputs.OutputWriteError as err:
        print(f"Output error: {err.path}: {err.reason}", file=sys.stderr)
        return EXIT_FAILURE


def _by() -> str:
    """ " by SIGTERM" when that (rather than Ctrl-C) stopped the command."""
    name = interrupts.stop_signal_name()
    return "" if name == "Ctrl-C" else f" by {name}"


def _interrupted_message(argv: list[str]) -> str:
    """What Ctrl-C outside a running job leaves, and how to carry on."""
    if argv and argv[0] in COMMANDS:
        return (
            f"Interrupted{_by()}: python -m sim {argv[0]} stopped; "
            "it writes its results only when it finishes, so run it again"
        )
    if any(a.startswith("+psa=") for a in argv):  # python -m sim uncertainty
        return (
            f"Interrupted{_by()}: parameter sets that finished are kept (set_*/ in the "
            "analysis folder); resume by running the same command again"
        )
    if any(a in _MULTIRUN_FLAGS for a in argv) or any(a.startswith("+sweep=") for a in argv):
        dated = not any(a.startswith("hydra.sweep.dir=") for a in argv) and any(
            a in _MULTIRUN_FLAGS for a in argv
        )
        where = " with hydra.sweep.dir=<the sweep folder>" if dated else ""
        return (
            f"Interrupted{_by()}: jobs that finished are kept, and a "
            "job cut short keeps its finished replications; resume by running the same "
            f"command again{where}"
        )
    return (
        f"Interrupted{_by()} before any replication ran; nothing "
        f"to keep; run it again with: {resume_command('hydra.run.dir', None)}"
    )


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


#: Whether :func:`main` paused the cycle collector for the start-up of this process.
_collector_paused = False


def pause_collector() -> None:
    """Pause Python's cycle collector while the process starts (see ``sim/__main__.py``)."""
    global _collector_paused
    gc.disable()
    _collector_paused = True


def resume_collector() -> None:
    """Turn the collector back on once start-up is done, before a job or command runs. What
    start-up made is frozen first (``gc.freeze``): it lives as long as the process, so later
    collections skip it rather than going through it again. Start-up's own cyclic garbage
    (about 17,000 small objects, 2 MB, most of them from composing the configuration once) is
    kept with it rather than collected (0.08 s of CPU)."""
    global _collector_paused
    if _collector_paused:
        gc.freeze()
        gc.enable()
        _collector_paused = False


def main(argv: list[str] | None = None) -> None:
    as_command = argv is None  # the process's own entry point (python -m sim, nhs-sim)
    argv = sys.argv[1:] if argv is None else argv
    if argv in (["--help"], ["-h"]):
        print(usage())
        return
    if as_command:
        pause_collector()
    interrupts.record_run_pid()
    with interrupts.stop_on_signals():
        try:
            code = _main(argv)
        except ConfigFileRefused as refused:
            report_config_error(refused.error)
            code = EXIT_CONFIG_ERROR
        except SweepRecordFailed as failed:
            folder = failed.error.path.parent
            print(
                f"Output error: hydra.sweep.dir = {str(folder)!r}: {failed.error.strerror}; "
                "fix that, then run the same command again",
                file=sys.stderr,
            )
            code = EXIT_FAILURE
        except KeyboardInterrupt:
            print(_interrupted_message(argv), file=sys.stderr)
            code = EXIT_INTERRUPTED
        except SystemExit as stop:  # a job's own ending (its one line is printed)
            if stop.code is not None and not isinstance(stop.code, int):
                raise
            code = stop.code or 0
    if as_command:  # a signal while the process shuts down changes nothing that was done
        interrupts.exit_at_once_on_signals(code)
    if code:
        raise SystemExit(code)


def _main(argv: list[str]) -> int:
    if argv and argv[0] in COMMANDS:
        resume_collector()
        return run_command(argv[0], argv[1:])
    if argv[:1] in (["--help"], ["-h"]):
        print(command_list())
    register()
    composed = None
    if any(a in _MULTIRUN_FLAGS for a in argv):
        # a sweep's preflight composes once per option chosen: what each leaves is collected
        resume_collector()
        code = preflight_multirun(argv)
        if code:
            return code
    elif not any(a in _HYDRA_FLAGS or a.split("=", 1)[0] in _HYDRA_FLAGS for a in argv):
        try:
            composed = checked_config(argv)
        except ConfigError as err:
            report_config_error(err)
            return EXIT_CONFIG_ERROR

    import hydra

    @hydra.main(version_base="1.3", config_path=CONF_SOURCE, config_name="config")
    def _app(cfg: DictConfig) -> str:
        return run_job(cfg)

    _write_sweep_record_atomically()
    sys.argv = [sys.argv[0], *argv]
    resume_collector()
    if composed is not None and not is_sweep(composed):
        run_composed(composed)  # a single run, with the configuration the preflight composed
    else:
        _app()
    return 0
