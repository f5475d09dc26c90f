"""``python -m sim uncertainty``: probabilistic sensitivity analysis of the options.

    python -m sim uncertainty                       # 200 parameter sets, every option
    python -m sim uncertainty psa=quick             # a first look in minutes
    python -m sim uncertainty psa.sets=50 hydra/launcher=slurm
    python -m sim uncertainty outputs/uncertainty/all_options    # re-make tables and report

Launching runs ``python -m sim +psa=<preset>``: a Hydra multirun with one job per parameter
set (through whichever launcher is chosen), each writing ``set_<i>/``; re-running resumes
(finished sets are skipped). When every set has run, the callback writes the tables,
figures and board report into the PSA folder (the last line printed). See docs/uncertainty.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.locations import SOURCE_ROOT
from sim.experiments import outputs, psa
from sim.experiments.psa import PSA_FILES
from sim.experiments.psa_analysis import ANALYSIS_TABLES, TORNADO_CENTILES, PsaAnalysis, analyse

DEFAULT_PRESET = "default"


def write_design(plan: psa.PsaPlan, folder: Path) -> None:
    """``psa.json`` (everything the analysis needs besides the sets), ``inputs.csv`` and
    ``factors.csv``: written before the first set runs."""
    exp = plan.run.experiment
    info = {
        "config_sha256": plan.fingerprint,
        "seed": plan.run.seed,
        "sets": plan.design.sets,
        "sampler": plan.design.sampler,
        "options": plan.design.options,
        "replications_per_set": exp.replications,
        "central_replications": plan.replications(psa.CENTRAL_SET),
        "warmup_weeks": exp.warmup_weeks,
        "run_weeks": exp.run_weeks,
        "headline_kpis": exp.headline_kpis,
        "wtp_gbp": plan.design.wtp_gbp,
        "width_multiplier": plan.data["uncertainty"].get("width_multiplier", 1.0),
        "uncertainty_title": plan.data["uncertainty"].get("title", ""),
        "site": plan.run.model.site.title,
        "git": outputs.git_state(SOURCE_ROOT),
        "packages": outputs.package_versions(),
        "command": " ".join(["python -m sim", *sys.argv[1:]]),
        "written_utc": outputs.now_utc(),
    }
    outputs.atomic_write_csv(folder / PSA_FILES["inputs"], psa.inputs_table(plan.inputs))
    ranges = psa.factor_ranges(plan.inputs, TORNADO_CENTILES)
    outputs.atomic_write_csv(folder / PSA_FILES["factors"], ranges)
    outputs.atomic_write_json(folder / "psa.json", info)


def read_design(folder: Path) -> dict[str, Any]:
    """``psa.json`` of a PSA folder, each setting the analysis reads checked (``ValueError``
    naming the file, the setting, its value and the rule: the file may have been edited)."""
    path = Path(folder) / "psa.json"
    info = json.loads(path.read_text(encoding="utf-8"))

    def whole(v: Any, least: int) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= least

    rules = {
        "config_sha256": (lambda v: isinstance(v, str) and len(v) == 64, "must be a SHA-256"),
        "sets": (lambda v: whole(v, 1), "must be a whole number >= 1"),
        "seed": (lambda v: whole(v, 0), "must be a whole number >= 0"),
        "run_weeks": (lambda v: whole(v, 1), "must be a whole number >= 1"),
        "headline_kpis": (
            lambda v: isinstance(v, list) and all(isinstance(k, str) for k in v),
            "must be a list of KPI names",
        ),
        "wtp_gbp": (
            lambda v: (
                isinstance(v, dict)
                and all(
                    isinstance(g, list)
                    and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in g)
                    for g in v.values()
                )
            ),
            "must map each outcome to a list of amounts",
        ),
    }
    if not isinstance(info, dict):
        raise ValueError(f"{path} is not the design of an uncertainty analysis")
    for key, (ok, rule) in rules.items():
        if key not in info or not ok(info[key]):
            raise ValueError(f"{path}: {key} = {info.get(key)!r}: {rule}")
    return info


def summarise(folder: Path) -> tuple[PsaAnalysis, dict[str, Any]]:
    """Read the complete sets of a PSA folder and write every table; returns the analysis
    and ``uncertainty.json`` (sets used, problems, flags)."""
    folder = Path(folder)
    info = read_design(folder)
    sets = psa.collect_sets(folder, info["config_sha256"])
    if sets.kpis.empty or psa.CENTRAL_SET not in sets.manifests:
        raise ValueError(
            f"{folder}: the central set (set_0) and at least one drawn set must be complete"
        )
    factors = pd.read_csv(folder / PSA_FILES["factors"])
    analysis = analyse(
        sets.kpis,
        sets.parameters,
        factors,
        info["headline_kpis"],
        info["wtp_gbp"],
        info["seed"],
        info["run_weeks"],
    )
    drawn = sorted(n for n in sets.manifests if n != psa.CENTRAL_SET)
    missing = info["sets"] - len(drawn)
    problems = list(sets.problems)
    if missing:
        problems.append(
            f"{missing} of {info['sets']} drawn sets are not complete (re-run to resume)"
        )
    outputs.atomic_write_csv(folder / PSA_FILES["parameters"], sets.parameters)
    for key in ANALYSIS_TABLES:
        outputs.atomic_write_csv(folder / PSA_FILES[key], getattr(analysis, key))
    status = {
        "sets_complete": len(drawn),
        "sets_planned": info["sets"],
        "problems": problems,
        "flags": analysis.flags,
        "wall_seconds_sets": round(
            sum(m.get("wall_seconds", 0) for m in sets.manifests.values()), 1
        ),
        "cpu_seconds_sets": round(sum(m.get("cpu_seconds", 0) for m in sets.manifests.values()), 1),
        "written_utc": outputs.now_utc(),
    }
    outputs.atomic_write_json(folder / "uncertainty.json", status)
    write_figures(folder)
    return analysis, status


def write_figures(folder: Path) -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    from sim.report.style import PLAIN_TEXT
    from sim.report.uncertainty import load_results, psa_figures

    # options' titles reach the figures: drawn as written, never read as mathematics
    with matplotlib.rc_context(PLAIN_TEXT):
        figures = psa_figures(load_results(folder))
        try:
            for f in figures:
                outputs.atomic_save_figure(f.figure, folder / "figures" / f"{f.key}.png", dpi=110)
        finally:
            for f in figures:
                plt.close(f.figure)


def report(folder: Path, with_board_report: bool = True) -> int:
    """Summarise, print the headline, write the board report; last line: the folder."""
    from sim.report.load import ReportError

    try:
        analysis, status = summarise(folder)
    except (OSError, ValueError, KeyError, ReportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    ranks = analysis.ranks
    best = ranks[(ranks["rank"] == 1) & (ranks["criterion"] == "cost per A&E attendance avoided")]
    print(
        f"\nProbability each option is best by cost per A&E attendance avoided "
        f"({status['sets_complete']} parameter sets):"
    )
    for r in best.sort_values("probability", ascending=False).itertuples():
        print(f"  {r.option:<32} {r.probability:6.1%}   (rank {r.central_rank} at central values)")
    for line in status["flags"] + status["problems"]:
        print(f"warning: {line}", file=sys.stderr)
    if with_board_report:
        from sim.tools.sweep import board_report

        written = board_report(folder)
        if written is not None:
            print(f"Board report: {written}")
        parent = folder.parent
        if (parent / "sweep.json").is_file():  # a PSA inside a sweep: its report gains the section
            board_report(parent)
    print(folder)
    return 0


# --------------------------------------------------------------------------------------------
# The Hydra side: one job per set, and the callback around them
# --------------------------------------------------------------------------------------------


def run_set_job(cfg: Any) -> str:
    """One Hydra job: run parameter set ``psa.set`` into the job's folder (skipped when it
    is already complete with the same configuration).

    As a run's folder: locked for the job (a second PSA into the same folder is refused the
    set), refused if it holds anything but a set of ours, and a set that stops for any reason
    is recorded (its manifest, ``error.txt``) while the other sets go on; Ctrl-C or SIGTERM
    stops the whole analysis (finished sets are kept, and skipped when it is run again)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from sim.config.compose import plain
    from sim.config.schema import ConfigError
    from sim.experiments import interrupts
    from sim.experiments.run_folder import check_folder_is_ours, claim_folder

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    number = OmegaConf.select(cfg, "psa.set")
    with interrupts.stop_on_signals():
        try:
            with claim_folder(out_dir, "hydra.sweep.dir"):
                check_folder_is_ours(out_dir, "hydra.sweep.dir")
                ran = _run_set(plain(cfg), out_dir)
        except ConfigError as err:
            print(f"set {number}: REFUSED: {err}", file=sys.stderr)
            return str(out_dir)
        except outputs.OutputWriteError as err:
            if interrupts.stop_requested():
                raise KeyboardInterrupt from None
            print(f"set {number}: FAILED ({err}) in {out_dir}", file=sys.stderr)
            return str(out_dir)
        except Exception as err:
            if interrupts.is_interruption(err):
                raise KeyboardInterrupt from None
            import traceback

            try:
                outputs.atomic_write_text(out_dir / "error.txt", traceback.format_exc())
            except OSError:
                pass  # the manifest says "failed" with the error, if it could be written
            print(f"set {number}: FAILED ({err!r}); see {out_dir / 'error.txt'}", file=sys.stderr)
            return str(out_dir)
    print(f"set {number}: {'complete' if ran else 'already complete, skipped'}", flush=True)
    return str(out_dir)


def _run_set(data: dict[str, Any], out_dir: Path) -> bool:
    """Validate the set's configuration (an invalid one is recorded in its folder, never
    over a manifest already there) and run it; False when it was already complete."""
    from sim.config.schema import ConfigError
    from sim.experiments.run_folder import read_manifest

    try:
        plan = psa.plan_from_data(data)
        if plan.design.set is None:
            raise ConfigError(
                "psa.set", None, "is chosen by the PSA's sweep (run python -m sim uncertainty)"
            )
    except ConfigError as err:
        if read_manifest(out_dir) is None:
            outputs.atomic_write_json(
                out_dir / "manifest.json", {"status": "invalid_config", "error": str(err)}
            )
        raise
    from sim.booking.engine import needs_compiling

    if needs_compiling():
        print("compiling the booking pass (2-3 minutes, once)", flush=True)
    return psa.run_set_into_folder(plan, plan.design.set, out_dir)


try:  # the callback needs Hydra; the functions above do not
    from hydra.experimental.callback import Callback

    class PsaSummaryCallback(Callback):
        """Write the PSA's design before the sets run, its tables, figures and board report
        after (configured in conf/psa/)."""

        def __init__(self, board_report: bool = True) -> None:
            self.board_report = board_report

        def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
            from sim.config.compose import plain

            write_design(psa.plan_from_data(plain(config)), Path(config.hydra.sweep.dir))

        def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
            report(Path(config.hydra.sweep.dir), with_board_report=self.board_report)

except ImportError:  # pragma: no cover - hydra is a dependency
    pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv and Path(argv[0]).is_dir():
        if len(argv) != 1:
            print("usage: python -m sim uncertainty PSA_FOLDER", file=sys.stderr)
            return 2
        if not (Path(argv[0]) / "psa.json").is_file():
            print(
                f"error: {argv[0]}: is not an uncertainty analysis folder (it has no psa.json); "
                "nothing was written",
                file=sys.stderr,
            )
            return 2
        return report(Path(argv[0]))
    from sim.cli import main as run_hydra

    preset = [a for a in argv if a.lstrip("+").startswith("psa=")]
    rest = [a for a in argv if a not in preset]
    chosen = preset[-1].lstrip("+").split("=", 1)[1] if preset else DEFAULT_PRESET
    run_hydra([f"+psa={chosen}", *rest])
    return 0
