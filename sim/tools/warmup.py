"""Warm-up analysis: how many weeks to simulate before measuring (MSER-5).

Every replication starts with empty appointment books, an empty A&E and an empty intermediate
care (IC+) caseload, so the first weeks show shorter waits and lower occupancy than the system
settles to. This module runs pilot replications with no warm-up, builds daily series of the
quantities that start empty and fill, finds each series' truncation point with MSER-5
(White 1997) and recommends a warm-up in whole weeks. See ``docs/warmup.md``.

``python -m sim warmup [pilot_weeks=26] [replications=3] [seed=...] [site.*=... scenario=...]``
writes ``outputs/warmup/<timestamp>/`` and prints that folder's path as its last line.

The functions here are pure (no files, no Hydra) except :func:`main` and :func:`write_outputs`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config.schema import ConfigError, ModelConfig
from sim.core.calendar import MINUTES_PER_DAY
from sim.report.style import OKABE_ITO

HOURS_PER_DAY = 24
DEFAULT_PILOT_WEEKS = 26
DEFAULT_REPLICATIONS = 3
DEFAULT_BATCH = 5
#: Series colours: Okabe-Ito without black (kept for the warm-up line) and yellow (too pale
#: on white).
LINE_COLOURS = tuple(c for c in OKABE_ITO if c not in ("#000000", "#F0E442"))


@dataclass(frozen=True)
class SeriesInfo:
    title: str
    unit: str


#: The daily series analysed, in report order. Every one is indexed by simulation day from
#: day 0 (Monday of week 0) and is NaN on days where it is not defined (days without practice
#: opening for third-next-available and routine waits): those days are dropped, not carried
#: forward, before MSER.
SERIES: dict[str, SeriesInfo] = {
    "practice_third_next_available": SeriesInfo(
        "GP third next available appointment at opening, mean over practices (working days)",
        "days",
    ),
    "practice_routine_lead": SeriesInfo(
        "Routine wait, request to practice appointment, by request day (mean)", "days"
    ),
    "practice_booked_ahead": SeriesInfo(
        "Practice appointments already booked for today or later, at the start of the day",
        "appointments",
    ),
    "hub_booked_ahead": SeriesInfo(
        "Hub appointments already booked for today or later, at the start of the day",
        "appointments",
    ),
    "ae_occupancy": SeriesInfo("A&E patients in the department (daily mean)", "patients"),
    "ic_occupancy": SeriesInfo("IC+ places in use (daily mean)", "places"),
    "bed_occupancy": SeriesInfo("G&A beds occupied (daily mean)", "beds"),
    "social_care_occupancy": SeriesInfo("Social care places in use (daily mean)", "places"),
}


# --------------------------------------------------------------------------------------------
# MSER
# --------------------------------------------------------------------------------------------


def mser(series: np.ndarray, batch: int = DEFAULT_BATCH) -> tuple[int, np.ndarray]:
    """MSER-``batch`` truncation point of one output series (White 1997; MSER-5 by default).

    The series is cut into ``k = len(series) // batch`` non-overlapping batches (a trailing
    partial batch is dropped) and their means ``Z_1..Z_k`` are taken. For each candidate
    truncation ``d`` (whole batches removed from the start) the statistic is

        MSER(d) = sum_{j > d} (Z_j - mean(Z_{d+1..k}))^2 / (k - d)^2,

    the squared standard error of the truncated mean (up to a constant). The search covers the
    first half only, ``d < k / 2`` (more than half the batches always kept), because the
    statistic becomes unreliable, and trivially small, as the retained tail shrinks.

    Parameters
    ----------
    series
        1-D finite values in time order (drop undefined observations first).
    batch
        Observations per batch (5 for MSER-5; 1 for plain MSER).

    Returns
    -------
    (int, numpy.ndarray)
        The truncation point in observations of ``series`` (``batch * d*``, where ``d*`` is
        the first minimiser), and the statistic for ``d = 0 .. (k + 1) // 2 - 1`` (indexed by
        batches). A minimiser on the last value of the curve means the search limit was hit:
        the series had not settled within the first half, so the pilot run was too short.
    """
    x = np.asarray(series, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"mser: expected a 1-D series, got shape {x.shape}")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"mser: batch must be a whole number >= 1, got {batch!r}")
    if not np.isfinite(x).all():
        raise ValueError("mser: series contains NaN or infinite values; drop them first")
    k = x.size // batch
    if k < 2:
        raise ValueError(f"mser: need at least {2 * batch} observations, got {x.size}")
    z = x[: k * batch].reshape(k, batch).mean(axis=1)
    z = z - z.mean()  # centring avoids cancellation in the sum-of-squares identity below
    tail_sum = np.cumsum(z[::-1])[::-1]  # tail_sum[d] = sum_{j >= d} z_j
    tail_sq = np.cumsum((z * z)[::-1])[::-1]
    d = np.arange((k + 1) // 2)
    m = (k - d).astype(float)
    ss = np.maximum(tail_sq[d] - tail_sum[d] ** 2 / m, 0.0)
    curve = ss / m**2
    return int(np.argmin(curve)) * batch, curve


def truncation_day(
    values: np.ndarray, batch: int = DEFAULT_BATCH
) -> tuple[float, np.ndarray, bool]:
    """MSER on the defined (finite) days of a daily series, mapped back to a simulation day.

    Returns the first day to keep (so the warm-up is that many days), the MSER curve and
    whether the search limit was hit. NaN day when there are fewer than ``2 * batch`` defined
    observations.
    """
    values = np.asarray(values, dtype=float)
    days = np.flatnonzero(np.isfinite(values))
    if days.size < 2 * batch:
        return float("nan"), np.array([]), False
    cut, curve = mser(values[days], batch)
    return float(days[cut]), curve, cut // batch == curve.size - 1


# --------------------------------------------------------------------------------------------
# Daily series of one replication
# --------------------------------------------------------------------------------------------


def _booked_ahead(
    booked_minute: np.ndarray, appointment_day: np.ndarray, n_days: int
) -> np.ndarray:
    """Appointments in the book at the start of each day: booked before the day began, for
    that day or later. Booking at minute ``b`` for day ``a`` counts on days
    ``floor(b / 1440) + 1 .. a``."""
    b = np.asarray(booked_minute, dtype=float)
    a = np.asarray(appointment_day, dtype=np.int64)
    ok = np.isfinite(b) & (a >= 0)
    start = np.floor(b[ok] / MINUTES_PER_DAY).astype(np.int64) + 1
    end = np.minimum(a[ok], n_days - 1)
    keep = (start <= end) & (start < n_days)
    start, end = start[keep], end[keep]
    change = np.bincount(start, minlength=n_days + 1) - np.bincount(end + 1, minlength=n_days + 1)
    return np.cumsum(change)[:n_days].astype(float)


def daily_series(result: Any) -> dict[str, np.ndarray]:
    """Daily series (see :data:`SERIES`) over the whole simulated run, warm-up included.

    ``result`` is a :class:`sim.core.replication.ReplicationResult` run with
    ``keep_detail=True`` (or its
    :class:`sim.core.kpis.KpiInputs`). Each array has one value per day ``0 .. last_day - 1``; days
    on which a series is undefined are NaN (dropped, not carried forward, by the analysis).
    """
    from sim.core.demand import ROUTINE

    k = result.detail.get("inputs") if hasattr(result, "detail") else result
    if k is None:
        raise ValueError("daily_series needs a replication run with keep_detail=True")
    n_days = int(k.last_day)
    sj, h = k.journeys, k.hospital

    tna = np.asarray(sj.third_next_available, dtype=float)[:n_days]
    sampled = np.isfinite(tna)
    tna_mean = np.full(n_days, np.nan)
    rows = sampled.any(axis=1)
    tna_mean[: len(rows)][rows] = np.nansum(tna[rows], axis=1) / sampled[rows].sum(axis=1)

    request_day = np.floor(sj.first_request_time / MINUTES_PER_DAY)
    routine = (
        (k.episodes.urgency == ROUTINE)
        & (sj.appointment_day >= 0)
        & np.isfinite(request_day)
        & (request_day < n_days)
    )
    rday = request_day[routine].astype(np.int64)
    lead = (sj.appointment_day[routine] - rday).astype(float)
    count = np.bincount(rday, minlength=n_days)[:n_days]
    total = np.bincount(rday, weights=lead, minlength=n_days)[:n_days]
    routine_lead = np.divide(total, count, out=np.full(n_days, np.nan), where=count > 0)

    hub_time = sj.hub_time  # built over every episode on each reading: read once
    hub_day = np.where(
        np.isfinite(hub_time), np.floor(np.nan_to_num(hub_time) / MINUTES_PER_DAY), -1
    ).astype(np.int64)

    hourly = np.full(n_days * HOURS_PER_DAY, np.nan)
    occ = h.ae_hourly_occupancy(n_days * HOURS_PER_DAY)
    hourly[: occ.size] = occ
    day_edges = np.arange(n_days + 1, dtype=float) * MINUTES_PER_DAY

    return {
        "practice_third_next_available": tna_mean,
        "practice_routine_lead": routine_lead,
        "practice_booked_ahead": _booked_ahead(sj.booked_time, sj.appointment_day, n_days),
        "hub_booked_ahead": _booked_ahead(sj.hub_booked_time, hub_day, n_days),
        "ae_occupancy": hourly.reshape(n_days, HOURS_PER_DAY).mean(axis=1),
        "ic_occupancy": h.places_used(h.ic_stays, day_edges),
        "bed_occupancy": h.beds_occupied(day_edges),
        "social_care_occupancy": h.places_used(h.social_stays, day_edges),
    }


def pilot_series(cfg: ModelConfig, seed: int, replication: int, pilot_weeks: int) -> dict:
    """One pilot replication with no warm-up, reduced to its daily series (picklable, small)."""
    from sim.core.replication import run_replication

    result = run_replication(cfg, seed, replication, 0, pilot_weeks, keep_detail=True)
    return daily_series(result)


# --------------------------------------------------------------------------------------------
# The recommendation
# --------------------------------------------------------------------------------------------


def _whole_weeks(days: float) -> int:
    # round() first so 14.000000001 days (a mean of exact weeks) is still 2 weeks
    return int(math.ceil(round(days / 7, 9))) if np.isfinite(days) else 0


@dataclass
class WarmupReport:
    """Pilot replications' daily series and their MSER truncation points.

    ``series[name]`` is (replications, days); ``truncation_days[name]`` the first day to keep
    in each replication (NaN if the series had too few defined days); ``curves[name]`` the MSER
    statistic per replication; ``hit_limit[name]`` whether MSER chose the last point of its
    search (the series had not settled within the first half of the pilot).
    """

    seed: int
    replications: int
    pilot_weeks: int
    batch: int
    series: dict[str, np.ndarray]
    truncation_days: dict[str, np.ndarray]
    curves: dict[str, list[np.ndarray]]
    hit_limit: dict[str, np.ndarray]
    wall_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def mean_truncation_days(self) -> dict[str, float]:
        out = {}
        for name, days in self.truncation_days.items():
            finite = days[np.isfinite(days)]
            out[name] = float(finite.mean()) if finite.size else float("nan")
        return out

    @property
    def weeks_by_series(self) -> dict[str, int]:
        """Each series' mean truncation point over replications, rounded up to whole weeks."""
        return {name: _whole_weeks(d) for name, d in self.mean_truncation_days.items()}

    @property
    def recommended_weeks(self) -> int:
        """The warm-up to use: the largest of :attr:`weeks_by_series`."""
        return max(self.weeks_by_series.values(), default=0)

    @property
    def conclusive(self) -> bool:
        """False when MSER hit its search limit for some series and replication: that series
        had not settled within the first half of the pilot, so the recommendation may be too
        short (run a longer pilot)."""
        return not any(flags.any() for flags in self.hit_limit.values())

    @property
    def longest(self) -> str | None:
        """The series that sets the recommendation."""
        weeks = self.weeks_by_series
        return max(weeks, key=lambda n: (weeks[n], self.mean_truncation_days[n])) if weeks else None

    def table(self) -> pd.DataFrame:
        """One row per series: truncation day and week per replication, mean, weeks."""
        rows = []
        for name, info in SERIES.items():
            if name not in self.truncation_days:
                continue
            days = self.truncation_days[name]
            row: dict[str, Any] = {"series": name, "unit": info.unit}
            for r, d in enumerate(days):
                row[f"truncation_day_rep{r}"] = d
            for r, d in enumerate(days):
                row[f"truncation_week_rep{r}"] = _whole_weeks(d) if np.isfinite(d) else np.nan
            row["mean_truncation_days"] = self.mean_truncation_days[name]
            row["warmup_weeks"] = self.weeks_by_series[name]
            row["search_limit_hit"] = int(self.hit_limit[name].sum())
            rows.append(row)
        return pd.DataFrame(rows)


def analyse(
    series: dict[str, np.ndarray], seed: int, pilot_weeks: int, batch: int = DEFAULT_BATCH
) -> WarmupReport:
    """MSER per series per replication. ``series[name]`` is (replications, days)."""
    trunc, curves, limit = {}, {}, {}
    notes = []
    for name, values in series.items():
        per_rep = [truncation_day(row, batch) for row in values]
        trunc[name] = np.array([p[0] for p in per_rep], dtype=float)
        curves[name] = [p[1] for p in per_rep]
        limit[name] = np.array([p[2] for p in per_rep], dtype=bool)
        if limit[name].any():
            notes.append(
                f"{name}: MSER chose the end of its search in {int(limit[name].sum())} of "
                f"{len(per_rep)} replications (not settled in the first half): use a longer "
                "pilot (pilot_weeks)"
            )
        if not np.isfinite(trunc[name]).any():
            notes.append(f"{name}: too few defined days for MSER; ignored")
    n_reps = len(next(iter(series.values()))) if series else 0
    return WarmupReport(
        seed=seed,
        replications=n_reps,
        pilot_weeks=pilot_weeks,
        batch=batch,
        series=series,
        truncation_days=trunc,
        curves=curves,
        hit_limit=limit,
        notes=notes,
    )


def recommend_warmup(
    cfg: ModelConfig,
    seed: int,
    replications: int = DEFAULT_REPLICATIONS,
    pilot_weeks: int = DEFAULT_PILOT_WEEKS,
    batch: int = DEFAULT_BATCH,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> WarmupReport:
    """Run ``replications`` pilot replications of ``pilot_weeks`` weeks with no warm-up and
    recommend a warm-up in whole weeks (:attr:`WarmupReport.recommended_weeks`).

    Replication ``r`` uses the same streams as replication ``r`` of an experiment with this
    seed; results do not depend on ``n_jobs`` (joblib convention, -1 = all cores).
    ``progress`` shows a bar, by default only when standard error is a terminal.
    """
    from tqdm import tqdm

    from sim.experiments.replications import resolve_n_jobs

    if pilot_weeks < 2:
        raise ValueError(f"pilot_weeks must be at least 2, got {pilot_weeks}")
    if replications < 1:
        raise ValueError(f"replications must be at least 1, got {replications}")
    started = time.perf_counter()
    jobs = resolve_n_jobs(n_jobs, replications)
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=replications, desc="pilot replications", disable=not show) as bar:
        if jobs == 1:
            results = []
            for r in range(replications):
                results.append(pilot_series(cfg, seed, r, pilot_weeks))
                bar.update(1)
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=jobs)(
                delayed(pilot_series)(cfg, seed, r, pilot_weeks) for r in range(replications)
            )
            bar.update(replications)
    stacked = {name: np.vstack([res[name] for res in results]) for name in SERIES}
    report = analyse(stacked, seed, pilot_weeks, batch)
    report.wall_seconds = time.perf_counter() - started
    return report


# --------------------------------------------------------------------------------------------
# Check: how much do the measured KPIs move with the warm-up?
# --------------------------------------------------------------------------------------------


def _window_kpis(
    cfg: ModelConfig, seed: int, replication: int, warmups: list[int], run_weeks: int
) -> dict[int, dict[str, float]]:
    """KPIs of windows ``[w, w + run_weeks)`` weeks of one long replication started empty."""
    from sim.core.kpis import system_kpis
    from sim.core.replication import run_replication

    total = max(warmups) + run_weeks
    inputs = run_replication(cfg, seed, replication, 0, total, keep_detail=True).detail["inputs"]
    return {
        w: system_kpis(dataclasses.replace(inputs, first_day=7 * w, last_day=7 * (w + run_weeks)))
        for w in warmups
    }


def kpi_bias_by_warmup(
    cfg: ModelConfig,
    seed: int,
    warmups: tuple[int, ...] = (0, 4, 8, 10, 12, 16, 28),
    run_weeks: int = 52,
    replications: int = 6,
    n_jobs: int = 1,
    level: float = 0.95,
) -> pd.DataFrame:
    """Every KPI measured over ``run_weeks`` after each warm-up in ``warmups``, against the
    longest warm-up (the reference), as paired differences over replications.

    Each replication is ONE run of ``max(warmups) + run_weeks`` weeks started empty, measured
    over shifted windows, so the differences are paired (same random numbers) and show the
    initialisation bias a shorter warm-up leaves in the KPIs, plus the noise of the weeks in
    which the windows differ. With calendar seasonality the windows also start in different
    months; a 52-week window covers every month either way.

    Returns columns ``kpi, warmup_weeks, mean, difference, ci_low, ci_high,
    relative_difference`` (difference = KPI with this warm-up minus the reference; t interval
    at ``level``; relative to the reference mean).
    """
    from sim.core.statistics import mean_of_defined, t_interval
    from sim.experiments.replications import resolve_n_jobs

    warmups = sorted(set(int(w) for w in warmups))
    reference = warmups[-1]
    jobs = resolve_n_jobs(n_jobs, replications)
    if jobs == 1:
        per_rep = [_window_kpis(cfg, seed, r, warmups, run_weeks) for r in range(replications)]
    else:
        from joblib import Parallel, delayed

        per_rep = Parallel(n_jobs=jobs)(
            delayed(_window_kpis)(cfg, seed, r, warmups, run_weeks) for r in range(replications)
        )
    rows = []
    for kpi in per_rep[0][reference]:
        ref = np.array([rep[reference][kpi] for rep in per_rep])
        for w in warmups:
            vals = np.array([rep[w][kpi] for rep in per_rep])
            diff, lo, hi = t_interval(vals - ref, level)
            ref_mean = mean_of_defined(ref)
            rel = diff / abs(ref_mean) if ref_mean else float("nan")
            rows.append((kpi, w, mean_of_defined(vals), diff, lo, hi, rel))
    return pd.DataFrame(
        rows,
        columns=[
            "kpi",
            "warmup_weeks",
            "mean",
            "difference",
            "ci_low",
            "ci_high",
            "relative_difference",
        ],
    )


# --------------------------------------------------------------------------------------------
# Outputs: table, plot, folder
# --------------------------------------------------------------------------------------------


def format_table(report: WarmupReport) -> str:
    """The on-screen table: truncation week per replication, mean day, weeks per series."""
    reps = report.replications
    name_w = max(len(n) for n in SERIES)
    head = f"{'series':<{name_w}}  {'truncation week by replication':>30}  {'mean day':>8}  weeks"
    lines = [head, "-" * len(head)]
    for name in SERIES:
        if name not in report.truncation_days:
            continue
        days = report.truncation_days[name]
        weeks = " ".join(
            (f"{_whole_weeks(d):>3d}" if np.isfinite(d) else "  -")
            + ("*" if report.hit_limit[name][r] else " ")
            for r, d in enumerate(days)
        )
        mean = report.mean_truncation_days[name]
        mean_text = f"{mean:8.1f}" if np.isfinite(mean) else f"{'-':>8}"
        lines.append(
            f"{name:<{name_w}}  {weeks:>30}  {mean_text}  {report.weeks_by_series[name]:>5d}"
        )
    lines.append("-" * len(head))
    lines.append(
        f"Recommended warm-up: {report.recommended_weeks} weeks "
        f"(longest: {report.longest}; pilot {report.pilot_weeks} weeks x {reps} replications, "
        f"MSER-{report.batch})"
    )
    if not report.conclusive:
        lines.append(
            "* MSER hit its search limit (series not settled in the first half of the pilot): "
            "the recommendation may be too short; run a longer pilot"
        )
    return "\n".join(lines)


def plot(report: WarmupReport, path: Path) -> None:
    """Each series' daily values averaged over replications, with the recommended warm-up
    (solid vertical line) and the series' own mean truncation point (dotted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in SERIES if n in report.series]
    ncols = 2
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 3.4 * nrows), squeeze=False)
    cut_weeks = report.recommended_weeks
    for i, name in enumerate(names):
        ax = axes[i // ncols][i % ncols]
        values = report.series[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(values, axis=0)
        days = np.flatnonzero(np.isfinite(mean))
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        for row in values:
            ok = np.isfinite(row)
            ax.plot(np.flatnonzero(ok) / 7, row[ok], color=colour, alpha=0.2, lw=0.6)
        ax.plot(days / 7, mean[days], color=colour, lw=1.4, label="mean of replications")
        ax.axvline(cut_weeks, color=OKABE_ITO[0], lw=1.4, label=f"warm-up {cut_weeks} weeks")
        own = report.mean_truncation_days[name]
        if np.isfinite(own):
            ax.axvline(own / 7, color=OKABE_ITO[0], lw=1.0, ls=":", label="this series' MSER-5")
        info = SERIES[name]
        ax.set_title(f"{info.title}\n({info.unit})", fontsize=9)
        ax.set_xlabel("week of pilot run")
        ax.set_ylabel(info.unit)
        ax.set_xlim(0, report.pilot_weeks)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best", framealpha=0.8)
    for j in range(len(names), nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    fig.suptitle(
        f"Warm-up (MSER-{report.batch}): {report.replications} pilot replications of "
        f"{report.pilot_weeks} weeks, seed {report.seed}; recommended {cut_weeks} weeks",
        fontsize=11,
    )
    fig.tight_layout()
    from sim.experiments.outputs import atomic_save_figure

    try:
        atomic_save_figure(fig, path, dpi=110)
    finally:
        plt.close(fig)


def series_long(report: WarmupReport) -> pd.DataFrame:
    """``series, replication, day, value`` of every pilot series (undefined days left out)."""
    frames = []
    for name, values in report.series.items():
        for r, row in enumerate(values):
            ok = np.flatnonzero(np.isfinite(row))
            frames.append(
                pd.DataFrame({"series": name, "replication": r, "day": ok, "value": row[ok]})
            )
    return pd.concat(frames, ignore_index=True)


def new_output_dir(root: Path) -> Path:
    """``root/<YYYY-mm-dd_HH-MM-SS>`` (a suffix when two runs start in the same second)."""
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1000):
        path = root / (stamp if n == 0 else f"{stamp}_{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise RuntimeError(f"could not create an output folder under {root}")


def write_outputs(report: WarmupReport, out_dir: Path, manifest: dict[str, Any]) -> None:
    """``warmup.csv``, ``series.csv``, ``warmup.png`` then, last, ``manifest.json``."""
    from sim.experiments import outputs

    outputs.atomic_write_csv(out_dir / "warmup.csv", report.table())
    outputs.atomic_write_csv(out_dir / "series.csv", series_long(report))
    plot(report, out_dir / "warmup.png")
    manifest = {
        **manifest,
        "status": "complete",
        "recommended_warmup_weeks": report.recommended_weeks,
        "longest_series": report.longest,
        "conclusive": report.conclusive,
        "warmup_weeks_by_series": report.weeks_by_series,
        "mean_truncation_days": report.mean_truncation_days,
        "notes": report.notes,
        "wall_seconds": round(report.wall_seconds, 2),
        "finished_utc": outputs.now_utc(),
    }
    outputs.atomic_write_json(out_dir / "manifest.json", manifest)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

USAGE = """\
usage: python -m sim warmup [pilot_weeks=N] [replications=N] [batch=N] [output_dir=PATH]
                            [seed=N] [site.*=...] [assumptions.*=...] [scenario=...] ...

Runs pilot replications with no warm-up, finds each daily series' MSER-5 truncation point and
recommends a warm-up in whole weeks. Defaults: pilot_weeks=26, replications=3, batch=5. The
`warmup.` prefix is accepted (warmup.pilot_weeks=26); experiment.replications=N sets the
replications when replications= is not given. Every other key=value goes to the model's
configuration as in `python -m sim`. Writes outputs/warmup/<timestamp>/ (warmup.csv,
series.csv, warmup.png, manifest.json); the last line printed is that folder.
"""

#: Own settings: name -> (minimum, maximum); all whole numbers. output_dir is a path.
_OWN_INTS = {"pilot_weeks": (2, 520), "replications": (1, 1000), "batch": (1, 52)}


def _whole(key: str, text: str, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(key, text, f"must be a whole number from {lo} to {hi}") from None
    if not lo <= value <= hi:
        raise ConfigError(key, value, f"must be a whole number from {lo} to {hi}")
    return value


def parse_args(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Split ``key=value`` arguments into this tool's settings and Hydra overrides."""
    own: dict[str, Any] = {}
    overrides: list[str] = []
    for arg in argv:
        if arg.startswith("-"):
            raise ConfigError(arg, arg, "unknown option; settings are key=value (see --help)")
        if "=" not in arg:
            raise ConfigError(arg, arg, "expected key=value")
        key, value = arg.split("=", 1)
        name = key[len("warmup.") :] if key.startswith("warmup.") else key
        if name in _OWN_INTS:
            own[name] = _whole(key, value, *_OWN_INTS[name])
        elif name == "output_dir":
            if not value:
                raise ConfigError(key, value, "must be a folder path")
            own["output_dir"] = Path(value)
        elif key.startswith("warmup."):
            raise ConfigError(
                key, value, f"unknown key; expected one of {[*_OWN_INTS, 'output_dir']}"
            )
        else:
            overrides.append(arg)
    return own, overrides


def _compose(overrides: list[str]) -> tuple[Any, dict[str, Any]]:
    """Compose and validate like ``python -m sim``; returns (RunConfig, plain data)."""
    from sim.config import compose

    _, run_cfg, data = compose.compose_validated(overrides, job_name="warmup")
    return run_cfg, data


def main(argv: list[str] | None = None) -> int:
    from sim import cli
    from sim.config import locations
    from sim.experiments import outputs

    argv = sys.argv[1:] if argv is None else list(argv)
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE, end="")
        return 0
    try:
        own, overrides = parse_args(argv)
        run_cfg, data = _compose(overrides)
    except ConfigError as err:
        cli.report_config_error(err)
        return cli.EXIT_CONFIG_ERROR

    typed_reps = any(o.split("=", 1)[0] == "experiment.replications" for o in overrides)
    replications = own.get(
        "replications", run_cfg.experiment.replications if typed_reps else DEFAULT_REPLICATIONS
    )
    pilot_weeks = own.get("pilot_weeks", DEFAULT_PILOT_WEEKS)
    batch = own.get("batch", DEFAULT_BATCH)
    root = own.get("output_dir") or locations.OUTPUTS_DIR / "warmup"
    out_dir = new_output_dir(Path(root))
    manifest: dict[str, Any] = {
        "status": "running",
        "tool": "sim.tools.warmup",
        "method": f"MSER-{batch} (White 1997), search over the first half",
        "site": run_cfg.model.site.name,
        "scenario": run_cfg.model.scenario,
        "seed": run_cfg.seed,
        "replications": replications,
        "pilot_weeks": pilot_weeks,
        "batch": batch,
        "experiment": run_cfg.experiment.name,
        "experiment_warmup_weeks": run_cfg.experiment.warmup_weeks,
        "config_sha256": outputs.config_sha256(data),
        "git": outputs.git_state(locations.SOURCE_ROOT),
        "packages": outputs.package_versions(),
        "machine": outputs.machine(),
        "command": " ".join(["python -m sim warmup", *argv]),
        "started_utc": outputs.now_utc(),
    }
    outputs.atomic_write_json(out_dir / "manifest.json", manifest)
    report = recommend_warmup(
        run_cfg.model,
        run_cfg.seed,
        replications=replications,
        pilot_weeks=pilot_weeks,
        batch=batch,
        n_jobs=run_cfg.experiment.n_jobs,
    )
    preset = run_cfg.experiment.warmup_weeks
    manifest["experiment_warmup_sufficient"] = preset >= report.recommended_weeks
    write_outputs(report, out_dir, manifest)

    print(format_table(report))
    for note in report.notes:
        print(f"Note: {note}")
    if preset < report.recommended_weeks:
        verdict = "too short"
    elif report.conclusive:
        verdict = "enough"
    else:
        verdict = "enough for this pilot, which did not settle: inconclusive"
    print(
        f"Experiment '{run_cfg.experiment.name}' warm-up: {preset} weeks ({verdict}). "
        f"Run time {report.wall_seconds:.1f} s."
    )
    print(out_dir)
    return 0
