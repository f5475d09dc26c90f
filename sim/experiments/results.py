"""Find and load run, sweep and validation folders for the analyst notebooks.

Only locating and reading files lives here (no model logic): the notebooks in ``notebooks/``
call these helpers so that they read the same folders the same way.

Which folder a notebook reads:

1. the folder named by its environment variable (``SIM_RUN_DIR``, ``SIM_SWEEP_DIR``,
   ``SIM_VALIDATION_DIR``), if set; otherwise
2. the newest *complete* matching folder under this project's ``outputs/`` (``runs/``,
   ``sweeps/``, ``validation/``), newest by the time its last file was written.

When neither exists a :class:`NoOutputsError` says what to run to make one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.catalogue import option_order, option_title
from sim.config.locations import OUTPUTS_DIR as OUTPUTS
from sim.core.kpis import KPI_DEFINITIONS

RUNS_ROOT = OUTPUTS / "runs"
SWEEPS_ROOT = OUTPUTS / "sweeps"
VALIDATION_ROOT = OUTPUTS / "validation"

ENV_RUN = "SIM_RUN_DIR"
ENV_SWEEP = "SIM_SWEEP_DIR"
ENV_VALIDATION = "SIM_VALIDATION_DIR"


class NoOutputsError(FileNotFoundError):
    """No folder to read: the message says which environment variable to set or what to run."""


# --------------------------------------------------------------------------- locating


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's ``manifest.json`` ({} when missing or unreadable)."""
    path = Path(folder) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def is_complete(folder: Path) -> bool:
    return read_manifest(folder).get("status") == "complete"


def _newest(
    root: Path, required: tuple[str, ...], accept: Callable[[Path], bool] | None = None
) -> Path | None:
    """Newest direct sub-folder of ``root`` holding every ``required`` file (and accepted)."""
    if not root.is_dir():
        return None
    candidates = []
    for folder in root.iterdir():
        if not folder.is_dir() or not all((folder / f).is_file() for f in required):
            continue
        if accept is not None and not accept(folder):
            continue
        stamp = max((folder / f).stat().st_mtime for f in required)
        candidates.append((stamp, folder.name, folder))
    return max(candidates)[2] if candidates else None


def _from_env(env: str, required: tuple[str, ...], explicit: str | Path | None) -> Path | None:
    value = explicit if explicit is not None else os.environ.get(env)
    if value is None or str(value).strip() == "":
        return None
    folder = Path(value).expanduser().resolve()
    missing = [f for f in required if not (folder / f).is_file()]
    if not folder.is_dir() or missing:
        source = "argument" if explicit is not None else f"${env}"
        raise NoOutputsError(
            f"{source} = {value}: not a folder holding {', '.join(required)}"
            + (f" (missing {', '.join(missing)})" if folder.is_dir() else "")
        )
    return folder


def find_run_dir(folder: str | Path | None = None, scenario: str | None = "baseline") -> Path:
    """A run folder: ``folder``, else ``$SIM_RUN_DIR``, else the newest complete run under
    ``outputs/runs/`` (of ``scenario``, by its manifest; ``None`` = any scenario)."""
    required = ("manifest.json", "summary.csv")
    found = _from_env(ENV_RUN, required, folder)
    if found is not None:
        return found

    def accept(f: Path) -> bool:
        m = read_manifest(f)
        return m.get("status") == "complete" and (scenario is None or m.get("scenario") == scenario)

    found = _newest(RUNS_ROOT, required, accept)
    if found is None:
        which = f"{scenario} run" if scenario else "run"
        raise NoOutputsError(
            f"No complete {which} folder under {RUNS_ROOT} and ${ENV_RUN} is not set. "
            f"Make one with `python -m sim experiment=quick` (its last line is the folder), "
            f"or set {ENV_RUN}=<run folder>."
        )
    return found


def find_sweep_dir(folder: str | Path | None = None) -> Path:
    """A sweep folder: ``folder``, else ``$SIM_SWEEP_DIR``, else the newest sweep under
    ``outputs/sweeps/`` with a ``comparison.csv`` and ``ranking.csv``."""
    required = ("comparison.csv", "ranking.csv")
    found = _from_env(ENV_SWEEP, required, folder) or _newest(SWEEPS_ROOT, required)
    if found is None:
        raise NoOutputsError(
            f"No summarised sweep (comparison.csv and ranking.csv) under {SWEEPS_ROOT} and "
            f"${ENV_SWEEP} is not set. Make one with `python -m sim +sweep=all_options "
            f"experiment=quick`, or set {ENV_SWEEP}=<sweep folder>."
        )
    return found


VALIDATION_FILES = ("manifest.json", "validation.csv")


def latest_validation_dir(root: Path | None = None) -> Path | None:
    """The newest complete ``python -m sim validate`` folder under ``root`` (default
    ``outputs/validation/``), or None. The board report uses this too."""
    return _newest(VALIDATION_ROOT if root is None else Path(root), VALIDATION_FILES, is_complete)


def find_validation_dir(folder: str | Path | None = None) -> Path:
    """A validation folder: ``folder``, else ``$SIM_VALIDATION_DIR``, else the newest complete
    one under ``outputs/validation/``."""
    found = _from_env(ENV_VALIDATION, VALIDATION_FILES, folder) or latest_validation_dir()
    if found is None:
        raise NoOutputsError(
            f"No complete validation folder under {VALIDATION_ROOT} and ${ENV_VALIDATION} is "
            f"not set. Make one with `python -m sim validate --quick` (its last line is the "
            f"folder), or set {ENV_VALIDATION}=<validation folder>."
        )
    return found


# --------------------------------------------------------------------------- display


def setup_display() -> None:
    """The display settings every notebook starts with: wide pandas tables, light grids."""
    import matplotlib.pyplot as plt

    pd.set_option("display.width", 220)
    pd.set_option("display.max_colwidth", 70)
    plt.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3})


def fmt(x: float) -> str:
    """Numbers in tables: whole numbers for large values (costs), 4 significant figures
    otherwise, blank when missing."""
    if pd.isna(x):
        return ""
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:,.4g}"


# --------------------------------------------------------------------------- loading


def _csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def kpi_label(kpi: str) -> str:
    d = KPI_DEFINITIONS.get(kpi)
    return d.label if d else kpi


def kpi_unit(kpi: str) -> str:
    d = KPI_DEFINITIONS.get(kpi)
    return d.unit if d else ""


def with_labels(frame: pd.DataFrame, column: str = "kpi") -> pd.DataFrame:
    """A copy with a ``label`` column (the registry's plain-English name) after ``column``."""
    out = frame.copy()
    out.insert(out.columns.get_loc(column) + 1, "label", out[column].map(kpi_label))
    return out


def _config(folder: Path) -> dict[str, Any]:
    from sim.config import safe_yaml

    path = folder / ".hydra" / "config.yaml"
    if not path.is_file():
        return {}
    config = safe_yaml.load(path, "run configuration")  # ConfigError if it is not readable
    return config if isinstance(config, dict) else {}


@dataclass
class RunData:
    folder: Path
    manifest: dict[str, Any]
    config: dict[str, Any]
    summary: pd.DataFrame
    kpis: pd.DataFrame | None
    ledger: pd.DataFrame | None
    flows: pd.DataFrame | None
    calibration: pd.DataFrame | None
    timeseries: pd.DataFrame | None

    @property
    def headline_kpis(self) -> list[str]:
        """The experiment's headline KPIs (from the run's resolved configuration)."""
        return list((self.config.get("experiment") or {}).get("headline_kpis") or [])

    @property
    def ci_level(self) -> float:
        return float(self.manifest.get("ci_level", 0.95))

    def series(self, name: str) -> pd.DataFrame:
        """One series of ``timeseries.parquet``: columns ``replication, index, value``."""
        if self.timeseries is None:
            raise NoOutputsError(f"{self.folder} has no timeseries.parquet")
        t = self.timeseries
        return t.loc[t["series"] == name, ["replication", "index", "value"]].reset_index(drop=True)


def load_run(folder: str | Path | None = None, scenario: str | None = "baseline") -> RunData:
    """Every file of a run folder (see :func:`find_run_dir` for which folder)."""
    folder = find_run_dir(folder, scenario)
    ts = folder / "timeseries.parquet"
    return RunData(
        folder=folder,
        manifest=read_manifest(folder),
        config=_config(folder),
        summary=pd.read_csv(folder / "summary.csv"),
        kpis=_csv(folder / "kpis.csv"),
        ledger=_csv(folder / "ledger.csv"),
        flows=_csv(folder / "flows.csv"),
        calibration=_csv(folder / "calibration.csv"),
        timeseries=pd.read_parquet(ts) if ts.is_file() else None,
    )


@dataclass
class SweepData:
    folder: Path
    comparison: pd.DataFrame
    ranking: pd.DataFrame
    status: dict[str, Any]
    jobs: dict[str, Path] = field(default_factory=dict)
    money: pd.DataFrame | None = None  # money_comparison.csv: each option's money
    by_year: pd.DataFrame | None = None  # comparison_by_year.csv (programme sweeps)

    @property
    def options(self) -> list[str]:
        """Options compared with the baseline, in catalogue order (as in every figure)."""
        return option_order(self.comparison["option"].unique())

    @property
    def titles(self) -> dict[str, str]:
        """Human-readable name of every option (the scenario files' titles, as run)."""
        given = dict(zip(self.ranking["option"], self.ranking["title"], strict=True))
        return {o: option_title(o, given) for o in ["baseline", *self.options]}


def load_sweep(folder: str | Path | None = None) -> SweepData:
    """``comparison.csv``, ``ranking.csv``, ``sweep.json`` and the complete job folders."""
    folder = find_sweep_dir(folder)
    status_path = folder / "sweep.json"
    status = json.loads(status_path.read_text(encoding="utf-8")) if status_path.is_file() else {}
    jobs = {}
    for manifest_path in sorted(folder.glob("*/manifest.json")):
        m = read_manifest(manifest_path.parent)
        if m.get("status") == "complete" and "scenario" in m:
            jobs[m["scenario"]] = manifest_path.parent
    return SweepData(
        folder=folder,
        comparison=pd.read_csv(folder / "comparison.csv"),
        ranking=pd.read_csv(folder / "ranking.csv"),
        status=status,
        jobs=jobs,
        money=(
            pd.read_csv(folder / "money_comparison.csv", dtype={"period": str})
            if (folder / "money_comparison.csv").is_file()
            else None
        ),
        by_year=_csv(folder / "comparison_by_year.csv"),
    )


@dataclass
class ValidationData:
    folder: Path
    manifest: dict[str, Any]
    validation: pd.DataFrame

    @property
    def theory_checks(self) -> pd.DataFrame:
        return self.validation[self.validation["group"] != "calibration"].reset_index(drop=True)

    @property
    def calibration_checks(self) -> pd.DataFrame:
        return self.validation[self.validation["group"] == "calibration"].reset_index(drop=True)


def load_validation(folder: str | Path | None = None) -> ValidationData:
    """``validation.csv`` and the manifest of a validation folder."""
    folder = find_validation_dir(folder)
    return ValidationData(
        folder=folder,
        manifest=read_manifest(folder),
        validation=pd.read_csv(folder / "validation.csv"),
    )
