"""Probabilistic sensitivity analysis: parameter sets drawn from the distributions, each run
for the baseline and every option with common random numbers, one folder per set.

Set 0 is the central set (every input at its configured value) with
``psa.central_replications`` replications and the run's own seed: it is exactly the ordinary
run. Sets 1..N are rows of a scrambled Sobol' (or Latin hypercube) design over the unit cube,
drawn from ``seed``; set ``i`` runs ``experiment.replications`` replications with its own seed
(derived from ``seed`` and ``i``), the same for every option, so options are paired within a
set and the stochastic noise is independent between sets. Each set is an independent job
(through the Hydra launchers) that writes ``set_<i>/`` and is skipped when re-run complete.
See docs/uncertainty.md.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config.compose import catalogue_names, option_changes, validate
from sim.config.locations import option_file
from sim.config.scenarios import apply_options, label, parse_options, read_option_file
from sim.config.schema import ConfigError, ModelConfig, RunConfig, build_model_config
from sim.config.uncertainty import (
    PsaDesign,
    ResolvedInput,
    apply_parameter_set,
    parse_psa,
    parse_uncertainty,
)
from sim.core.replication import replicate_together
from sim.experiments import interrupts, outputs

BASELINE = "baseline"
CENTRAL_SET = 0
SET_FILES = ("kpis.csv", "parameters.csv")
#: Tables at the top of a PSA folder, besides ``set_*/`` and the report: the design's
#: (``inputs``, ``factors``), the sets' parameters, and the analysis's (the fields of
#: :class:`sim.experiments.psa_analysis.PsaTables`), each with its file.
PSA_FILES = {
    "inputs": "inputs.csv",
    "factors": "factors.csv",
    "parameters": "parameters.csv",
    "results": "psa_results.csv",
    "summary": "psa_summary.csv",
    "ranks": "rank_probabilities.csv",
    "ceac": "ceac.csv",
    "tornado": "tornado.csv",
    "sobol": "sensitivity_indices.csv",
    "flips": "ranking_flips.csv",
    "evppi": "evppi.csv",
}
#: Experiment settings that change speed, never numbers (left out of the fingerprint).
SPEED_ONLY = ("n_jobs", "max_memory_gb")


@dataclass
class PsaPlan:
    """A validated PSA: the baseline run configuration, the inputs and the design."""

    run: RunConfig
    data: dict[str, Any]
    inputs: list[ResolvedInput]
    design: PsaDesign

    @property
    def alternatives(self) -> list[str]:
        """The baseline then every option, in the order run within a set."""
        return [BASELINE, *self.design.options]

    @property
    def fingerprint(self) -> str:
        """SHA-256 of everything that decides a set's numbers (not which set, nor speed)."""
        exp = {k: v for k, v in self.data["experiment"].items() if k not in SPEED_ONLY}
        psa = {k: v for k, v in self.data["psa"].items() if k != "set"}
        return outputs.config_sha256({**self.data, "experiment": exp, "psa": psa})

    def replications(self, number: int) -> int:
        k = self.run.experiment.replications
        return max(self.design.central_replications, k) if number == CENTRAL_SET else k

    def seed(self, number: int) -> int:
        return set_seed(self.run.seed, number)


def plan_from_data(data: dict[str, Any]) -> PsaPlan:
    """Validate a composed PSA configuration (plain data) into a :class:`PsaPlan`."""
    run, data = validate(data)
    _, inputs = parse_uncertainty(
        data["uncertainty"], data.get("site") or {}, data.get("assumptions") or {}, option_changes
    )
    design = parse_psa(data.get("psa"), [n for n in catalogue_names() if n != BASELINE])
    # an option's own effect matters only if that option runs: no coordinate for the others
    inputs = [r for r in inputs if r.option is None or r.option in design.options]
    return PsaPlan(run, data, inputs, design)


# --------------------------------------------------------------------------------------------
# The design: uniforms for every factor of every set, and each set's seed
# --------------------------------------------------------------------------------------------


def factor_names(inputs: list[ResolvedInput]) -> list[str]:
    return [f.name for r in inputs for f in r.factors]


def design_matrix(inputs: list[ResolvedInput], sets: int, sampler: str, seed: int) -> np.ndarray:
    """``sets`` x factors uniforms in (0, 1): scrambled Sobol' or Latin hypercube
    (:mod:`scipy.stats.qmc`), reproducible from ``seed``. Row ``i - 1`` is set ``i``."""
    from scipy.stats import qmc

    dims = len(factor_names(inputs))
    if dims == 0:
        return np.empty((sets, 0))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x505341]))  # "PSA"
    if sampler == "sobol":
        engine: Any = qmc.Sobol(d=dims, scramble=True, rng=rng)
        with warnings.catch_warnings():
            # balance is best at powers of 2; any number of sets is still a valid design
            warnings.filterwarnings("ignore", message=".*balance properties.*")
            u = engine.random(sets)
    else:
        u = qmc.LatinHypercube(d=dims, rng=rng).random(sets)
    # a scrambled point is never exactly 0 or 1, but keep every inverse CDF finite regardless
    return np.clip(u, 1e-12, 1 - 1e-12)


def set_seed(seed: int, number: int) -> int:
    """The replications' seed of set ``number``: the run's own seed for the central set (so
    it is the ordinary run), otherwise a seed derived from (seed, number)."""
    if number == CENTRAL_SET:
        return int(seed)
    return int(np.random.SeedSequence([seed, number]).generate_state(1, dtype=np.uint32)[0])


def uniforms(inputs: list[ResolvedInput], row: np.ndarray) -> dict[str, np.ndarray]:
    """Split one design row into each input's uniforms."""
    out, at = {}, 0
    for r in inputs:
        n = len(r.factors)
        out[r.name] = row[at : at + n]
        at += n
    return out


def parameter_set(plan: PsaPlan, number: int):
    from sim.config.uncertainty import ParameterSet

    if number == CENTRAL_SET:
        return ParameterSet(-1, {})
    matrix = design_matrix(plan.inputs, plan.design.sets, plan.design.sampler, plan.run.seed)
    return ParameterSet(number, uniforms(plan.inputs, matrix[number - 1]))


# --------------------------------------------------------------------------------------------
# One set: the baseline and every option, paired
# --------------------------------------------------------------------------------------------


def option_model(plan: PsaPlan, option: str, pset: Any) -> ModelConfig:
    """The model of one alternative with the parameter set's draws applied."""
    files = {option: option_file(option)}
    options = parse_options({option: read_option_file(files[option])}, files)
    site, assumptions = apply_options(
        plan.data.get("site") or {}, plan.data.get("assumptions") or {}, options, files
    )
    site, assumptions = apply_parameter_set(site, assumptions, list(options), plan.inputs, pset)
    return build_model_config(site, assumptions, scenario=label(list(options)))


def parameter_table(plan: PsaPlan, pset: Any) -> pd.DataFrame:
    """Every factor's uniform and interpretable value (multiplier, odds ratio, share...)."""
    rows = []
    for r in plan.inputs:
        if pset.number < 0:
            u, values = [np.nan] * len(r.factors), _central_factor_values(r)
        else:
            u, values = pset.u[r.name], r.factor_values(r.central, pset.u[r.name])
        for f, ui, v in zip(r.factors, u, values, strict=True):
            rows.append((f.name, r.name, r.group, float(ui), float(v)))
    return pd.DataFrame(rows, columns=["factor", "input", "group", "uniform", "value"])


def _central_factor_values(r: ResolvedInput) -> list[float]:
    """Factor values of the configured (central) setting."""
    if r.spec.apply in ("scale", "odds", "growth") and r.spec.distribution != "dirichlet":
        return [1.0]
    c = r.central
    if r.entries:
        return [float(c[int(e)] if isinstance(c, list) else c[e]) for e in r.entries]
    return [float(c)]


def run_set(plan: PsaPlan, number: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """KPIs of every alternative in set ``number`` (tidy: ``option, replication, kpi,
    value``), its parameter table, and its wall and CPU seconds (CPU time is what the
    benchmark projects from: it does not depend on what else the machine is doing)."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    pset = parameter_set(plan, number)
    exp = plan.run.experiment
    seed = plan.seed(number)
    models = {option: option_model(plan, option, pset) for option in plan.alternatives}
    # Alternatives on the same patients (all but options that change demand) share each
    # replication's episodes: drawn once, not once per alternative (identical numbers).
    by_option: dict[str, list] = {option: [] for option in plan.alternatives}
    for r in range(plan.replications(number)):
        together = replicate_together(models, seed, r, exp.warmup_weeks, exp.run_weeks)
        for option, res in together.items():
            by_option[option] += [(option, r, k, v) for k, v in res.kpis.items()]
    # rows in the order of alternatives, then replications, as before the sharing
    rows = [row for option in plan.alternatives for row in by_option[option]]
    kpis = pd.DataFrame(rows, columns=["option", "replication", "kpi", "value"])
    timing = {
        "wall_seconds": round(time.perf_counter() - started, 3),
        "cpu_seconds": round(time.process_time() - cpu_started, 3),
    }
    return kpis, parameter_table(plan, pset), timing


def file_checksums(folder: Path, names: tuple[str, ...] = SET_FILES) -> dict[str, str]:
    """SHA-256 of each of a set's files, as its manifest records them."""
    return {n: hashlib.sha256((Path(folder) / n).read_bytes()).hexdigest() for n in names}


def set_problem(folder: Path, fingerprint: str | None) -> str | None:
    """Why the set in ``folder`` cannot be used (None: it is complete, of this configuration,
    and its files are exactly as written). A set is the unit a PSA resumes by, as a
    replication is a run's: its files carry checksums in its manifest, so a file edited or
    damaged since is never read as results (the set is left out, and run again on resume)."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no readable manifest"
    if not isinstance(manifest, dict) or manifest.get("status") != "complete":
        return str(manifest.get("status") if isinstance(manifest, dict) else "no manifest")
    if fingerprint and manifest.get("config_sha256") != fingerprint:
        return "another configuration; left out"
    recorded = manifest.get("sha256")
    try:
        found = file_checksums(folder)
    except OSError as err:
        return f"a file cannot be read ({err.strerror}: {Path(str(err.filename)).name}); left out"
    if not isinstance(recorded, dict) or recorded != found:
        changed = [
            n for n in SET_FILES if not isinstance(recorded, dict) or recorded.get(n) != found[n]
        ]
        return (
            f"{', '.join(changed)} changed after it was written (checksum mismatch); left out, "
            "and run again when the PSA is resumed"
        )
    return None


def set_complete(folder: Path, fingerprint: str) -> bool:
    return set_problem(folder, fingerprint) is None


def run_set_into_folder(plan: PsaPlan, number: int, folder: Path) -> bool:
    """Run set ``number`` into ``folder`` (manifest first and last); False when the folder
    already holds this set complete (a resumed PSA skips it)."""
    fingerprint = plan.fingerprint
    if set_complete(folder, fingerprint):
        return False
    from sim.config.locations import SOURCE_ROOT

    manifest: dict[str, Any] = {
        "status": "running",
        "set": number,
        "central": number == CENTRAL_SET,
        "seed": plan.seed(number),
        "run_seed": plan.run.seed,
        "replications": plan.replications(number),
        "options": plan.alternatives,
        "warmup_weeks": plan.run.experiment.warmup_weeks,
        "run_weeks": plan.run.experiment.run_weeks,
        "config_sha256": fingerprint,
        "git": outputs.git_state(SOURCE_ROOT),
        "started_utc": outputs.now_utc(),
    }
    try:
        # Both manifests inside the try: a signal at any moment after the first is in place
        # leaves the set interrupted, never "running" (unless the complete one is in place)
        outputs.atomic_write_json(folder / "manifest.json", manifest)
        kpis, params, timing = run_set(plan, number)
        outputs.atomic_write_csv(folder / "kpis.csv", kpis)
        outputs.atomic_write_csv(folder / "parameters.csv", params)
        finished = {
            **manifest,
            "status": "complete",
            **timing,
            "finished_utc": outputs.now_utc(),
            "files": list(SET_FILES),
            "sha256": file_checksums(folder),
        }
        outputs.atomic_write_json(folder / "manifest.json", finished)
    except BaseException as err:
        # Ctrl-C or SIGTERM (inside the compiled booking pass it surfaces as another error)
        # leaves the set interrupted, never failed
        if interrupts.is_interruption(err):
            if set_complete(folder, fingerprint):  # it came once the set was complete
                raise KeyboardInterrupt from None
            manifest["status"] = "interrupted"
        else:
            manifest.update({"status": "failed", "error": f"{type(err).__name__}: {err}"})
        try:
            outputs.atomic_write_json(folder / "manifest.json", manifest)
        except (OSError, KeyboardInterrupt):
            pass  # a full disk, or a second Ctrl-C: the manifest keeps saying "running"
        if manifest["status"] == "interrupted":
            raise KeyboardInterrupt from None
        raise
    return True


# --------------------------------------------------------------------------------------------
# Reading the sets back
# --------------------------------------------------------------------------------------------


@dataclass
class PsaSets:
    """Every complete set of a PSA folder with the same fingerprint."""

    kpis: pd.DataFrame  # set, option, replication, kpi, value
    parameters: pd.DataFrame  # set, factor, input, group, uniform, value
    manifests: dict[int, dict[str, Any]]
    problems: list[str]


def collect_sets(psa_dir: Path, fingerprint: str | None = None) -> PsaSets:
    """Read every complete ``set_*/`` of ``psa_dir``; sets of another configuration (or
    incomplete ones) are left out and listed as problems."""
    kpis, params, manifests, problems = [], [], {}, []
    fingerprint = fingerprint or _psa_fingerprint(psa_dir)
    for folder in sorted(Path(psa_dir).glob("set_*"), key=_set_number):
        problem = set_problem(folder, fingerprint)
        if problem is not None:
            problems.append(f"{folder.name}: {problem}")
            continue
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        number = int(manifest["set"])
        k = pd.read_csv(folder / "kpis.csv")
        p = pd.read_csv(folder / "parameters.csv")
        k.insert(0, "set", number)
        p.insert(0, "set", number)
        kpis.append(k)
        params.append(p)
        manifests[number] = manifest
    return PsaSets(
        pd.concat(kpis, ignore_index=True) if kpis else pd.DataFrame(),
        pd.concat(params, ignore_index=True) if params else pd.DataFrame(),
        manifests,
        problems,
    )


def check_psa_folder(folder: Path, fingerprint: str, key: str = "hydra.sweep.dir") -> None:
    """Refuse (:class:`~sim.config.schema.ConfigError`) a PSA folder that holds the analysis
    of another configuration: running into it would redo every set and overwrite an earlier
    analysis. A folder of the same configuration is resumed; a new one is started. Each set's
    folder already there must be a set of ours (:func:`check_folder_is_ours`): someone's
    files in one are refused before any set runs, and left untouched."""
    from sim.experiments.run_folder import check_folder_is_ours

    for set_folder in sorted(Path(folder).glob("set_*"), key=_set_number):
        check_folder_is_ours(set_folder, key)
    path = Path(folder) / "psa.json"
    if not path.exists():
        return
    try:
        theirs = json.loads(path.read_text(encoding="utf-8")).get("config_sha256")
    except (OSError, ValueError, AttributeError) as err:
        raise ConfigError(
            key,
            str(folder),
            f"its psa.json cannot be read ({err}), so it is left untouched; choose another "
            f"folder with {key}=... (or another psa.name=...)",
        ) from None
    if theirs != fingerprint:
        raise ConfigError(
            key,
            str(folder),
            f"holds an uncertainty analysis of a different configuration (psa.json has "
            f"config_sha256 {str(theirs)[:12]}..., this one {fingerprint[:12]}...), kept as it "
            f"is; resume it with the settings it was started with, or choose another folder "
            f"with psa.name=... or {key}=...",
        )


def _set_number(folder: Path) -> int:
    try:
        return int(folder.name.split("_", 1)[1])
    except (IndexError, ValueError):
        return 1 << 30


def _psa_fingerprint(psa_dir: Path) -> str | None:
    try:
        info = json.loads((Path(psa_dir) / "psa.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info.get("config_sha256")


def factor_ranges(inputs: list[ResolvedInput], centiles: tuple[float, float]) -> pd.DataFrame:
    """Each factor's value at two centiles of its own uniform, the input's other factors at
    their medians: the 'low' and 'high' of a one-way sensitivity analysis."""
    rows = []
    for r in inputs:
        n = len(r.factors)
        for j, f in enumerate(r.factors):
            values = []
            for c in centiles:
                u = np.full(n, 0.5)
                u[j] = c
                values.append(r.factor_values(r.central, u)[j])
            rows.append((f.name, r.name, r.group, *values))
    return pd.DataFrame(rows, columns=["factor", "input", "group", "low", "high"])


def inputs_table(inputs: list[ResolvedInput]) -> pd.DataFrame:
    """One row per uncertain input: where it is, its distribution and width, its basis."""
    rows = []
    for r in inputs:
        s = r.spec
        rows.append(
            {
                "input": r.name,
                "setting": s.setting,
                "group": r.group,
                "distribution": s.distribution,
                "apply": s.apply,
                "code": s.code,
                "width_from": "cv" if s.cv is not None else "range" if s.range else "code",
                "cv": r.cv,
                "factors": len(r.factors),
                "option": r.option or "",
                "basis": s.basis,
            }
        )
    return pd.DataFrame(rows)
