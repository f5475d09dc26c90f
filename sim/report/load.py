"""Reading a finished run folder or sweep folder into memory for the report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.config.catalogue import option_title
from sim.experiments import results


class ReportError(Exception):
    """The folder cannot be reported on (message is one line, for the user)."""


@dataclass
class RunData:
    name: str
    folder: Path
    manifest: dict[str, Any]
    config: dict[str, Any]
    summary: pd.DataFrame
    calibration: pd.DataFrame
    flows: pd.DataFrame
    timeseries: pd.DataFrame | None
    equity: pd.DataFrame | None
    ledger: pd.DataFrame | None = None

    @property
    def scenario(self) -> dict[str, Any]:
        """Title, description, cost_basis and assumptions of every option in this run."""
        return self.config.get("scenario") or {}

    @property
    def title(self) -> str:
        """Human-readable name: the options' titles as run, joined with " + "."""
        titles = [str((o or {}).get("title") or n) for n, o in self.scenario.items()]
        return " + ".join(titles) if titles else option_title(self.name)

    def kpi(self, name: str) -> pd.Series | None:
        rows = self.summary[self.summary.kpi == name]
        return None if rows.empty else rows.iloc[0]


@dataclass
class ReportData:
    folder: Path
    kind: str  # "run", "sweep" or "psa"
    runs: dict[str, RunData]
    comparison: pd.DataFrame | None = None
    ranking: pd.DataFrame | None = None
    problems: list[str] = field(default_factory=list)
    validation: pd.DataFrame | None = None
    validation_folder: Path | None = None
    validation_manifest: dict[str, Any] = field(default_factory=dict)
    validation_searched: Path | None = None  # where the latest validation was looked for

    @property
    def base(self) -> RunData:
        """The baseline job of a sweep (else its first job), or the single run."""
        return self.runs.get("baseline") or next(iter(self.runs.values()))

    @property
    def headline(self) -> list[str]:
        return list(self.base.config.get("experiment", {}).get("headline_kpis") or [])

    @property
    def titles(self) -> dict[str, str]:
        """Human-readable name of every job, as used in every table and figure."""
        titles = {name: run.title for name, run in self.runs.items()}
        if self.ranking is not None and "title" in self.ranking:
            for r in self.ranking.itertuples():
                titles.setdefault(str(r.option), str(r.title))
        return titles

    def title(self, name: str) -> str:
        return option_title(name, self.titles)


def _csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise ReportError(f"{path} cannot be read ({err})") from err


def load_run(folder: Path, name: str | None = None) -> RunData:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ReportError(f"{folder} is not a run folder (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportError(f"{manifest_path} cannot be read ({err})") from err
    if not isinstance(manifest, dict) or manifest.get("status") != "complete":
        status = manifest.get("status") if isinstance(manifest, dict) else None
        raise ReportError(f"{folder} holds a run that did not complete (status {status!r})")
    missing = [f for f in manifest.get("files", []) if not (folder / f).is_file()]
    for required in ("summary.csv", "calibration.csv", "flows.csv", ".hydra/config.yaml"):
        if not (folder / required).is_file() and required not in missing:
            missing.append(required)
    if missing:
        raise ReportError(f"{folder} is missing {', '.join(missing)}")
    try:
        config = yaml.safe_load((folder / ".hydra/config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ReportError(f"{folder}/.hydra/config.yaml cannot be read ({err})") from err
    ts_path = folder / "timeseries.parquet"
    timeseries = pd.read_parquet(ts_path) if ts_path.is_file() else None
    eq_path = folder / "equity.csv"
    ledger_path = folder / "ledger.csv"
    return RunData(
        name=name or str(manifest.get("scenario", folder.name)),
        folder=folder,
        manifest=manifest,
        config=config or {},
        summary=_csv(folder / "summary.csv"),
        calibration=_csv(folder / "calibration.csv"),
        flows=_csv(folder / "flows.csv"),
        timeseries=timeseries,
        equity=_csv(eq_path) if eq_path.is_file() else None,
        ledger=_csv(ledger_path) if ledger_path.is_file() else None,
    )


def load_folder(
    folder: Path, validation: Path | None = None, validation_root: Path | None = None
) -> ReportData:
    """A run folder (``manifest.json``) or a sweep folder (``comparison.csv``/``sweep.json``).

    ``validation`` names a ``python -m sim validate`` folder to include; without it the newest
    complete one under ``validation_root`` (default ``outputs/validation/``) is included.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a folder")
    if (folder / "psa.json").is_file():  # python -m sim uncertainty (sim/report/uncertainty.py)
        if not (folder / "uncertainty.json").is_file():
            raise ReportError(f"{folder} holds a PSA whose tables were not written yet")
        return ReportData(folder=folder, kind="psa", runs={})
    if (folder / "manifest.json").is_file():
        data = ReportData(folder=folder, kind="run", runs={})
        run = load_run(folder)
        data.runs[run.name] = run
    elif (folder / "comparison.csv").is_file() or (folder / "sweep.json").is_file():
        data = _load_sweep(folder)
    else:
        raise ReportError(f"{folder} is not a run or sweep folder (no manifest.json or sweep.json)")
    _attach_validation(data, validation, validation_root)
    return data


def _load_sweep(folder: Path) -> ReportData:
    if not (folder / "comparison.csv").is_file() or not (folder / "ranking.csv").is_file():
        raise ReportError(f"{folder} is a sweep without its summary (comparison.csv, ranking.csv)")
    data = ReportData(folder=folder, kind="sweep", runs={})
    sweep_json = folder / "sweep.json"
    if sweep_json.is_file():
        try:
            data.problems = [str(p) for p in json.loads(sweep_json.read_text()).get("problems", [])]
        except (OSError, ValueError) as err:
            raise ReportError(f"{sweep_json} cannot be read ({err})") from err
    for sub in sorted(p for p in folder.iterdir() if (p / "manifest.json").is_file()):
        try:
            data.runs[sub.name] = load_run(sub, sub.name)
        except ReportError as err:
            data.problems.append(f"job {sub.name} left out: {err}")
    if not data.runs:
        raise ReportError(f"{folder} is a sweep with no complete job")
    order = ["baseline"] + sorted(n for n in data.runs if n != "baseline")
    data.runs = {n: data.runs[n] for n in order if n in data.runs}
    data.comparison = _csv(folder / "comparison.csv")
    data.ranking = _csv(folder / "ranking.csv")
    return data


def _attach_validation(
    data: ReportData, validation: Path | None, validation_root: Path | None
) -> None:
    """The given validation folder (which must be complete), else the newest complete one."""
    if validation is not None:
        folder = Path(validation)
        missing = [f for f in results.VALIDATION_FILES if not (folder / f).is_file()]
        if missing:
            raise ReportError(f"{folder} is not a validation folder (no {', '.join(missing)})")
        if not results.is_complete(folder):
            raise ReportError(f"{folder} holds a validation that did not complete")
    else:
        data.validation_searched = (
            results.VALIDATION_ROOT if validation_root is None else Path(validation_root)
        )
        folder = results.latest_validation_dir(data.validation_searched)
        if folder is None:
            return
    data.validation = _csv(folder / "validation.csv")
    data.validation_folder = folder
    data.validation_manifest = results.read_manifest(folder)
