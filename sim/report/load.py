"""Reading a finished run folder or sweep folder into memory for the report.

Nothing read is trusted: a results folder may have been edited, damaged or made by someone
else. Every table is checked against its schema (:data:`TABLES`: the columns it must have,
which hold numbers, which counts, which shares), every headline KPI must be in the summary,
and ``.hydra/config.yaml`` is read through :mod:`sim.config.safe_yaml`. A problem stops the
report with one line naming the file, the row, the column and the value.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import safe_yaml
from sim.config.catalogue import option_title
from sim.config.schema import ConfigError
from sim.core.kpis import KPI_DEFINITIONS
from sim.experiments import results
from sim.experiments.comparison import COMPARISON_COLUMNS


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
    by_year: pd.DataFrame | None = None  # summary_by_year.csv of a programme run
    money: pd.DataFrame | None = None  # money.csv of a programme run

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

    def kpi_in_year(self, name: str, year: int) -> pd.Series | None:
        if self.by_year is None:
            return None
        rows = self.by_year[(self.by_year.kpi == name) & (self.by_year.year == year)]
        return None if rows.empty else rows.iloc[0]


@dataclass
class ReportData:
    folder: Path
    kind: str  # "run", "sweep" or "psa"
    runs: dict[str, RunData]
    comparison: pd.DataFrame | None = None
    ranking: pd.DataFrame | None = None
    money_comparison: pd.DataFrame | None = None  # each option's money (sweeps)
    comparison_by_year: pd.DataFrame | None = None  # paired differences per year (programmes)
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
    def years(self) -> int:
        """Programme years each run measured (0 when not a programme run)."""
        return int(self.base.manifest.get("programme_years") or 0)

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


@dataclass(frozen=True)
class Table:
    """What a results table must hold: ``text`` columns, ``numbers`` (empty cells allowed:
    an interval that cannot be computed), ``counts`` (whole numbers >= 0), ``flags``
    (true/false) and ``shares`` (probabilities: numbers in [0, 1], or empty); with ``rest``,
    every other column it has holds numbers."""

    text: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    rest: bool = False
    shares: tuple[str, ...] = ()


_INTERVAL = ("mean", "ci_low", "ci_high")
#: The schema of every table the report reads.
TABLES = {
    "summary.csv": Table(text=("kpi", "unit"), numbers=_INTERVAL, counts=("n",)),
    "calibration.csv": Table(
        text=("target", "source"),
        numbers=("target_value", "tolerance", "simulated_mean", "ci_low", "ci_high"),
        flags=("within",),
    ),
    "flows.csv": Table(
        text=("origin", "destination"),
        numbers=("per_week_mean", "ci_low", "ci_high"),
        counts=("n",),
    ),
    "equity.csv": Table(text=("group", "level", "measure"), numbers=_INTERVAL, counts=("n",)),
    "ledger.csv": Table(counts=("replication",)),
    "comparison.csv": Table(
        text=("option", "kpi", "unit"),
        numbers=tuple(c for c in COMPARISON_COLUMNS if c not in ("kpi", "unit", "n")),
        counts=("n",),
    ),
    # every other column of the ranking is a number
    "ranking.csv": Table(
        text=("option", "title"), counts=("rank_by_ae", "rank_by_admissions"), rest=True
    ),
}


def _csv(path: Path) -> pd.DataFrame:
    """A results table, read and checked against its schema in :data:`TABLES`."""
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ReportError(f"{path} cannot be read ({reason})") from None
    schema = TABLES.get(path.name)
    return frame if schema is None else check_table(frame, schema, path)


def check_table(frame: pd.DataFrame, schema: Table, path: Path) -> pd.DataFrame:
    """``frame`` with its numbers as floats, counts as integers and flags as booleans, or
    :class:`ReportError` naming the first cell that breaks the schema."""
    frame = frame.copy()
    if schema.rest:
        named = schema.text + schema.counts + schema.flags + schema.shares
        extra = tuple(c for c in frame.columns if c not in named)
        schema = dataclasses.replace(schema, numbers=schema.numbers + extra)
    wanted = schema.text + schema.numbers + schema.counts + schema.flags + schema.shares
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ReportError(f"{path} has no column {missing[0]!r} (it needs {list(wanted)})")

    def bad(row: int, column: str, rule: str) -> ReportError:
        value = frame[column].iloc[row]
        value = value.item() if isinstance(value, np.generic) else value  # 2, not np.int64(2)
        return ReportError(f"{path}, row {row + 2}, column {column!r}: {value!r} {rule}")

    for column in schema.text:
        blank = frame[column].isna()
        if column in ("kpi", "option", "origin", "destination", "group") and blank.any():
            raise bad(int(blank.to_numpy().argmax()), column, "must not be empty")
        frame[column] = frame[column].astype(object).where(~blank, "").astype(str)
    for column in schema.numbers + schema.counts + schema.shares:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        wrong = numbers.isna() & frame[column].notna()
        if wrong.any():
            raise bad(int(wrong.to_numpy().argmax()), column, "must be a number")
        if column in schema.shares:
            outside = ~(numbers.isna() | numbers.between(0, 1))
            if outside.any():
                raise bad(int(outside.to_numpy().argmax()), column, "must lie in [0, 1]")
        if column in schema.counts:
            whole = numbers.isna() | ((numbers >= 0) & (numbers == numbers.round()))
            if not whole.all():
                raise bad(int((~whole).to_numpy().argmax()), column, "must be a whole number >= 0")
        frame[column] = numbers.astype(float)
    for column in schema.flags:
        text = frame[column].astype(str).str.strip().str.lower()
        known = text.isin(["true", "false"])
        if not known.all():
            raise bad(int((~known).to_numpy().argmax()), column, "must be True or False")
        frame[column] = text == "true"
    if "ci_low" in frame.columns and "ci_high" in frame.columns:
        lo, hi = frame["ci_low"], frame["ci_high"]
        reversed_ = (lo > hi).to_numpy()
        if reversed_.any():
            raise bad(int(reversed_.argmax()), "ci_low", f"is above ci_high ({path.name})")
    return frame


def check_summary(summary: pd.DataFrame, headline: list[str], path: Path) -> None:
    """Every headline KPI has its row; shares lie in [0, 1]; each mean lies in its CI."""
    if summary["kpi"].duplicated().any():
        row = int(summary["kpi"].duplicated().to_numpy().argmax())
        raise ReportError(f"{path}, row {row + 2}: KPI {summary['kpi'].iloc[row]!r} twice")
    for kpi in headline:
        if kpi not in set(summary["kpi"]):
            raise ReportError(
                f"{path} has no row for headline KPI {kpi!r} (experiment.headline_kpis): the "
                "file is incomplete; make the run again"
            )
    for i, row in enumerate(summary.itertuples()):
        definition = KPI_DEFINITIONS.get(row.kpi)
        share = definition is not None and definition.unit.startswith("share")
        # (Only the mean: a t interval over few replications may reach past 0 or 1.)
        if share and math.isfinite(row.mean) and not -1e-9 <= row.mean <= 1 + 1e-9:
            raise ReportError(
                f"{path}, row {i + 2}, column 'mean': {row.mean!r} for {row.kpi} must lie in "
                "[0, 1] (it is a share)"
            )
        lo, mean, hi = row.ci_low, row.mean, row.ci_high
        if all(math.isfinite(x) for x in (lo, mean, hi)) and not lo - 1e-9 <= mean <= hi + 1e-9:
            raise ReportError(
                f"{path}, row {i + 2}: mean {mean!r} of {row.kpi} lies outside its interval "
                f"({lo!r} to {hi!r})"
            )


def load_run(folder: Path, name: str | None = None) -> RunData:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ReportError(f"{folder} is not a run folder (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportError(f"{manifest_path} cannot be read ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("status") != "complete":
        status = manifest.get("status") if isinstance(manifest, dict) else None
        raise ReportError(f"{folder} holds a run that did not complete (status {status!r})")
    level = manifest.get("ci_level", 0.95)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ReportError(f"{manifest_path}: ci_level = {level!r}: must lie between 0 and 1")
    for key in ("replications", "run_weeks", "warmup_weeks", "seed"):
        value = manifest.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ReportError(f"{manifest_path}: {key} = {value!r}: must be a whole number")
    missing = [f for f in manifest.get("files", []) if not (folder / f).is_file()]
    for required in ("summary.csv", "calibration.csv", "flows.csv", ".hydra/config.yaml"):
        if not (folder / required).is_file() and required not in missing:
            missing.append(required)
    if missing:
        raise ReportError(f"{folder} is missing {', '.join(missing)}")
    try:
        config = safe_yaml.load(folder / ".hydra" / "config.yaml", "run configuration")
    except ConfigError as err:
        raise ReportError(f"{folder}/.hydra/config.yaml cannot be used ({err})") from None
    if not isinstance(config, dict):
        raise ReportError(f"{folder}/.hydra/config.yaml is not a run's configuration")
    experiment = config.get("experiment") if isinstance(config.get("experiment"), dict) else {}
    headline = experiment.get("headline_kpis") or []
    if not isinstance(headline, list) or not all(isinstance(k, str) for k in headline):
        raise ReportError(f"{folder}/.hydra/config.yaml: experiment.headline_kpis is not a list")
    if not isinstance(config.get("scenario") or {}, dict):
        raise ReportError(f"{folder}/.hydra/config.yaml: scenario is not a mapping of options")
    ts_path = folder / "timeseries.parquet"
    try:
        timeseries = pd.read_parquet(ts_path) if ts_path.is_file() else None
    except (OSError, ValueError) as err:
        raise ReportError(f"{ts_path} cannot be read ({type(err).__name__})") from None
    eq_path = folder / "equity.csv"
    ledger_path = folder / "ledger.csv"
    by_year_path, money_path = folder / "summary_by_year.csv", folder / "money.csv"
    summary = _csv(folder / "summary.csv")
    check_summary(summary, headline, folder / "summary.csv")
    return RunData(
        name=name or str(manifest.get("scenario", folder.name)),
        folder=folder,
        manifest=manifest,
        config=config,
        summary=summary,
        calibration=_csv(folder / "calibration.csv"),
        flows=_csv(folder / "flows.csv"),
        timeseries=timeseries,
        equity=_csv(eq_path) if eq_path.is_file() else None,
        ledger=_csv(ledger_path) if ledger_path.is_file() else None,
        by_year=_csv(by_year_path) if by_year_path.is_file() else None,
        money=_money_csv(money_path) if money_path.is_file() else None,
    )


def _money_csv(path: Path) -> pd.DataFrame:
    """A money table: its ``period`` column is text ("1", "2", ..., "total", "present_value")."""
    try:
        return pd.read_csv(path, dtype={"period": str})
    except (OSError, ValueError) as err:
        raise ReportError(f"{path} cannot be read ({err})") from err


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
            problems = json.loads(sweep_json.read_text(encoding="utf-8")).get("problems", [])
        except (OSError, ValueError, AttributeError) as err:
            raise ReportError(f"{sweep_json} cannot be read ({err})") from None
        data.problems = [str(p) for p in problems] if isinstance(problems, list) else []
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
    if (folder / "money_comparison.csv").is_file():
        data.money_comparison = _money_csv(folder / "money_comparison.csv")
    if (folder / "comparison_by_year.csv").is_file():
        data.comparison_by_year = _csv(folder / "comparison_by_year.csv")
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
