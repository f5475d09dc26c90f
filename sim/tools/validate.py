"""Verification and validation: ``python -m sim validate`` (DESIGN.md section 8).

Runs the model (or, for the appointment book, the book itself) in configurations where the
answer is known and compares the simulation with it:

``mmc_ae``
    A&E configured as an M/M/c queue (``conf/validation/mmc_ae.yaml``) against Erlang C: mean
    wait for a clinician, probability of waiting, mean number in the department and clinician
    utilisation.
``backlog``
    An appointment book with fixed daily capacity ``K``, booked by the booking pass's own
    compiled function, with Poisson daily demand against the backlog recursion
    ``B' = max(B + A - K, 0)``: mean backlog, mean lead time and share booked for the same day
    (see :func:`simulate_backlog`).
``erlang_beds``
    A pool of G&A beds with Poisson admissions and exponential stays
    (``conf/validation/erlang_beds.yaml``), as a delay system against Erlang C and as a loss
    system against Erlang B.
``boarding``
    A&E majors spaces blocked by admitted patients waiting for a bed
    (``conf/validation/boarding_ae.yaml``) against the exact Markov chain of
    :func:`sim.tools.hospital_theory.boarding_chain`.
``rota``
    A clinician rota with "finish the current patient" (``conf/validation/rota_ae.yaml``)
    against the exact time-varying chain solved by uniformisation
    (:func:`sim.tools.hospital_theory.rota_chain`).
``nhpp``
    Arrival counts by hour of the week (A&E self-presenting attendances, primary-care
    episodes) against the integral of their configured rate, by chi-square.
``little``
    Little's law ``L = lambda W`` on A&E (patients in the department), IC+ (places in use)
    and G&A beds, in its finite-window form (exact on every sample path): L from the time
    integrals the hospital keeps of its own counts, lambda and W from the patients' recorded
    times; every replication within 1e-9 of 1.
``bed_conservation``
    Every patient who asked for a bed is discharged, transferred, in a bed or waiting, in
    agreement with the bed pool's own counters (exact).
``calibration``
    The baseline against the published targets of ``conf/calibration/`` (within tolerance,
    :func:`sim.experiments.replications.calibration_table`).

``nhpp``, ``little``, ``bed_conservation`` and ``calibration`` share one set of baseline
replications
(``conf/validation/baseline.yaml``: the model as configured, with the design to run it).

Acceptance against theory is "theory inside the simulation's confidence interval" (a t
interval over independent replications), not a percentage tolerance. The intervals are at
level ``1 - FAMILY_ALPHA / k`` for the ``k`` theory checks run (Bonferroni), so that, were the
seed changed, a correct model would fail any of them with probability at most
``FAMILY_ALPHA``; the seed is fixed, so a run is reproducible. Chi-square checks pass when the
statistic lies in the central ``1 - FAMILY_ALPHA / k`` region of its distribution.

The table is printed and written to ``outputs/validation/<timestamp>/validation.csv`` with
``manifest.json`` written last (``"status": "complete"``); the last line printed is that
folder. The exit status is 0 when every check passes, 1 when any fails, 2 on a configuration
error. ``--quick`` runs shorter designs (for the tests) and leaves out the calibration
targets, which are annual figures that a short run cannot reproduce.

Usage::

    python -m sim validate [--quick] [--checks mmc_ae,backlog,...] [--seed N] [--jobs N]
                           [--out DIR] [HYDRA_OVERRIDE ...]

Hydra overrides (``key=value``) are applied to every model configuration composed (the M/M/c
A&E and the baseline), e.g. ``assumptions.ae.service_distribution=lognormal`` to see the
M/M/c checks fail when service is not exponential.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numba import njit
from scipy import stats

from sim import cli
from sim.booking.book import AppointmentBook
from sim.booking.books import book_earliest
from sim.booking.layout import session_slot_times, split_on_the_day
from sim.config import compose, locations
from sim.config.schema import AGE_BANDS, ConfigError, ModelConfig, RunConfig
from sim.core.calendar import (
    HOURS_PER_WEEK,
    MINUTES_PER_DAY,
    MINUTES_PER_HOUR,
    WEEKS_PER_YEAR,
    bank_holidays,
)
from sim.core.demand import practice_age_shares
from sim.core.statistics import t_interval
from sim.core.streams import Streams
from sim.experiments import interrupts, outputs
from sim.experiments.replications import calibration_table, resolve_n_jobs, summarise
from sim.services.hospital.conservation import BED_STATES, bed_ledger
from sim.tools.hospital_theory import (
    BedTheory,
    BoardingTheory,
    RotaTheory,
    boarding_chain,
    rota_chain,
)

#: A patience (minutes) at or above which walk-ins never leave unseen in practice (a year and
#: more): the validation configurations use it to switch leaving off.
NEVER_MINUTES = 1e6
#: Minutes in a year (365.25 days).
MINUTES_PER_YEAR = WEEKS_PER_YEAR * 7 * MINUTES_PER_DAY
#: Family-wise false-alarm rate of the theory checks (Bonferroni over the checks run).
FAMILY_ALPHA = 0.05
#: Level of the confidence intervals shown beside calibration targets (information only: a
#: target is met when the mean lies within target +/- tolerance).
CALIBRATION_CI_LEVEL = 0.95
GROUPS: tuple[str, ...] = (
    "mmc_ae",
    "backlog",
    "erlang_beds",
    "boarding",
    "rota",
    "nhpp",
    "little",
    "bed_conservation",
    "calibration",
)
#: Groups that read the baseline replications.
BASELINE_GROUPS = frozenset({"nhpp", "little", "bed_conservation", "calibration"})
VALIDATION_ROOT = locations.OUTPUTS_DIR / "validation"
EXIT_FAILED = 1


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class Check:
    """One row of the validation table."""

    group: str
    check: str
    unit: str
    theory: float  # theory, target value, or degrees of freedom (chi-square)
    simulated: float  # mean over replications, or the chi-square statistic
    ci_low: float  # confidence interval (or the chi-square acceptance region)
    ci_high: float
    level: float  # level of that interval
    n: int  # replications (or bins for chi-square)
    passed: bool
    acceptance: str
    tolerance: float = float("nan")  # calibration targets and exact identities only
    p_value: float = float("nan")  # chi-square only
    note: str = ""
    # False for held-out calibration targets: reported, but missing one is a finding about
    # the model, not a failure of the suite
    required: bool = True


def ci_check(
    group: str,
    name: str,
    values: Sequence[float],
    theory: float,
    level: float,
    unit: str = "",
    note: str = "",
) -> Check:
    """Theory inside the t confidence interval of the replication values."""
    x = np.asarray(values, dtype=float)
    mean, lo, hi = t_interval(x, level)
    passed = bool(np.isfinite(lo) and np.isfinite(hi) and lo <= theory <= hi)
    return Check(
        group=group,
        check=name,
        unit=unit,
        theory=float(theory),
        simulated=mean,
        ci_low=lo,
        ci_high=hi,
        level=level,
        n=int(np.isfinite(x).sum()),
        passed=passed,
        acceptance=f"theory in {level:.2%} CI",
        note=note,
    )


def chi_square_check(
    group: str, name: str, observed: np.ndarray, expected: np.ndarray, level: float, note: str = ""
) -> Check:
    """Pearson chi-square of counts against fully specified expectations (no parameter is
    estimated, so df = number of bins); passes inside the central ``level`` region."""
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if observed.shape != expected.shape or (expected <= 0).any():
        raise ValueError("chi-square needs matching bins with positive expected counts")
    statistic = float(((observed - expected) ** 2 / expected).sum())
    df = observed.size
    lo, hi = stats.chi2.ppf([(1 - level) / 2, (1 + level) / 2], df)
    p_two_sided = float(
        min(1.0, 2 * min(stats.chi2.cdf(statistic, df), stats.chi2.sf(statistic, df)))
    )
    return Check(
        group=group,
        check=name,
        unit="chi-square",
        theory=float(df),
        simulated=statistic,
        ci_low=float(lo),
        ci_high=float(hi),
        level=level,
        n=df,
        passed=bool(lo <= statistic <= hi),
        acceptance=f"statistic in central {level:.2%} of chi2({df})",
        p_value=p_two_sided,
        note="; ".join(x for x in (note, f"min expected count {expected.min():.0f}") if x),
    )


def theory_checks(
    group: str,
    label: str,
    reps: Sequence[dict[str, Any]],
    rows: Sequence[tuple[str, str, float, str]],
    level: float,
    note: str = "",
) -> list[Check]:
    """One :func:`ci_check` a row ``(name, key, theory, unit)``: the replications' values of
    ``key`` against ``theory``, named ``"<label>: <name>"``."""
    return [
        ci_check(group, f"{label}: {name}", [r[key] for r in reps], theory, level, unit, note)
        for name, key, theory, unit in rows
    ]


def departures_note(model: str, departures: Sequence[str]) -> str:
    """The note beside a theory check whose configuration departs from ``model`` (the
    comparison is then expected to fail); empty when it does not."""
    return f"departs from {model}: " + "; ".join(departures) if departures else ""


# --------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------


def compose_run_config(validation: str | None, overrides: Sequence[str] = ()) -> RunConfig:
    """``conf/config.yaml`` with ``+validation=<name>`` and overrides, composed by Hydra and
    validated exactly as ``python -m sim +validation=<name> ...`` would."""
    full = ([f"+validation={validation}"] if validation else []) + list(overrides)
    _, run_cfg, _ = compose.compose_validated(full, job_name="validate")
    return run_cfg


@dataclass(frozen=True)
class Design:
    """Replications of the whole model: ``warmup_weeks`` then ``run_weeks`` measured."""

    replications: int
    warmup_weeks: int
    run_weeks: int

    @classmethod
    def of(cls, run_cfg: RunConfig) -> Design:
        e = run_cfg.experiment
        return cls(e.replications, e.warmup_weeks, e.run_weeks)


#: Shorter designs of ``--quick`` (the full ones are in conf/validation/*.yaml).
QUICK_DESIGNS = {
    "mmc_ae": Design(10, 1, 13),
    "erlang_beds": Design(10, 1, 26),
    "boarding_ae": Design(8, 1, 13),
    "rota_ae": Design(8, 1, 13),
    "baseline": Design(3, 13, 13),
}


def _run_parallel(func: Callable, args: list[tuple], n_jobs: int) -> list[Any]:
    jobs = resolve_n_jobs(n_jobs, len(args))
    if jobs == 1:
        return [func(*a) for a in args]
    from joblib import Parallel, delayed

    with warnings.catch_warnings():
        # loky retires a worker whose memory grew during a long replication (after it has
        # returned its result) and warns about it; joblib still returns every result, in
        # order, or raises, so the notice is only noise here.
        warnings.filterwarnings(
            "ignore", message="A worker stopped while some jobs", category=UserWarning
        )
        return list(Parallel(n_jobs=jobs)(delayed(func)(*a) for a in args))


def run_measured(
    cfg: ModelConfig, seed: int, replication: int, warmup_weeks: int, run_weeks: int
) -> tuple[Any, Any, int, int]:
    """One replication of the whole model with its detail kept: its result, its inputs (the
    hospital, the episodes, the days run) and its measured window ``[lo, hi)`` in minutes."""
    from sim.core.replication import run_replication

    res = run_replication(cfg, seed, replication, warmup_weeks, run_weeks, keep_detail=True)
    k = res.detail["inputs"]
    return res, k, k.first_day * MINUTES_PER_DAY, k.last_day * MINUTES_PER_DAY


def registered_by_age(cfg: ModelConfig) -> np.ndarray:
    """Registered patients in each age band, whole site."""
    lists = np.array([p.list_size for p in cfg.site.practices.values()], dtype=float)
    return (lists[:, None] * practice_age_shares(cfg)).sum(axis=0)


def ae_annual_self_presenting(cfg: ModelConfig) -> float:
    """Expected self-presenting attendances a year: people x rate per 1,000 by age band."""
    rate = cfg.assumptions.ae.self_presenting_per_1000_year
    return float((registered_by_age(cfg) * [rate[b] for b in AGE_BANDS]).sum() / 1000)


def annual_episodes(cfg: ModelConfig) -> float:
    """Expected primary-care episodes a year: people x episodes per person-year x scale."""
    d = cfg.assumptions.demand
    per_person = np.array([d.episodes_per_person_year[b] for b in AGE_BANDS]) * d.scale
    return float((registered_by_age(cfg) * per_person).sum())


def expected_hour_of_week_counts(
    annual: float,
    weekday_share: Sequence[float],
    hour_share_by_weekday: np.ndarray,
    month_multiplier: Sequence[float],
    calendar_start: str,
    days: int,
    sunday_days: frozenset[int] = frozenset(),
) -> np.ndarray:
    """Integral of a piecewise-constant arrival rate over each hour of the week, summed over
    ``days`` days from ``calendar_start`` (a Monday).

    The rate in hour ``h`` of weekday ``w`` of a day in month ``m`` is ``annual x
    weekday_share[w] x hour_share[w][h] x month_multiplier[m] / mean(month_multiplier)``
    per week-of-the-year (a year is 365.25 / 7 weeks); days in ``sunday_days`` (bank holidays,
    for primary-care needs) take Sunday's share and hours. Computed here from the
    configuration, independently of :mod:`sim.core.demand` and
    :mod:`sim.services.hospital.arrivals`.
    """
    start = dt.date.fromisoformat(calendar_start)
    months = np.asarray(month_multiplier, dtype=float)
    months = months / months.mean() if months.mean() > 0 else months
    hours = np.asarray(hour_share_by_weekday, dtype=float).reshape(7, 24)
    out = np.zeros(HOURS_PER_WEEK)
    for d in range(days):
        w = d % 7
        m = (start + dt.timedelta(days=d)).month - 1
        like = 6 if d in sunday_days else w
        out[w * 24 : (w + 1) * 24] += annual * weekday_share[like] * hours[like] * months[m]
    return out / WEEKS_PER_YEAR


def ae_expected_counts(cfg: ModelConfig, days: int) -> np.ndarray:
    ae = cfg.assumptions.ae
    hours = np.tile(np.asarray(ae.hour_share, dtype=float), (7, 1))
    return expected_hour_of_week_counts(
        ae_annual_self_presenting(cfg),
        ae.weekday_share,
        hours,
        ae.month_multiplier,
        cfg.site.calendar_start,
        days,
    )


def episode_expected_counts(cfg: ModelConfig, days: int) -> np.ndarray:
    d = cfg.assumptions.demand
    hours = np.array([d.hour_share_weekday if w < 5 else d.hour_share_weekend for w in range(7)])
    start = dt.date.fromisoformat(cfg.site.calendar_start)
    holidays = bank_holidays(start, days, cfg.site.bank_holidays)
    return expected_hour_of_week_counts(
        annual_episodes(cfg),
        d.weekday_share,
        hours,
        d.month_multiplier,
        cfg.site.calendar_start,
        days,
        frozenset(int(x) for x in np.flatnonzero(holidays)),
    )


def hour_of_week_counts(minutes: np.ndarray) -> np.ndarray:
    """Arrivals in each of the 168 hours of the week (minute 0 is Monday 00:00)."""
    hour = np.floor(np.asarray(minutes, dtype=float) / MINUTES_PER_HOUR).astype(np.int64)
    return np.bincount(hour % HOURS_PER_WEEK, minlength=HOURS_PER_WEEK).astype(float)


# --------------------------------------------------------------------------------------------
# M/M/c: Erlang C
# --------------------------------------------------------------------------------------------


def erlang_c(c: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load ``a = lambda /
    mu`` (< c), by the stable Erlang B recursion ``B_k = a B_{k-1} / (k + a B_{k-1})`` and
    ``C = c B_c / (c - a (1 - B_c))``."""
    a = float(offered_load)
    if c < 1 or not 0 <= a < c:
        raise ValueError(f"Erlang C needs c >= 1 and 0 <= a < c (c={c}, a={a})")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1 - b))


@dataclass(frozen=True)
class MMcTheory:
    arrivals_per_minute: float
    service_mean_minutes: float
    servers: int
    after_treatment_minutes: float  # mean time in the department after the clinician

    @property
    def offered_load(self) -> float:
        return self.arrivals_per_minute * self.service_mean_minutes

    @property
    def utilisation(self) -> float:
        return self.offered_load / self.servers

    @property
    def p_wait(self) -> float:
        return erlang_c(self.servers, self.offered_load)

    @property
    def mean_wait(self) -> float:
        """Mean wait for a clinician (minutes): ``C / (c mu - lambda)``."""
        mu = 1 / self.service_mean_minutes
        return self.p_wait / (self.servers * mu - self.arrivals_per_minute)

    @property
    def mean_in_department(self) -> float:
        """Mean number present: waiting ``lambda Wq`` + being treated ``a`` + after
        treatment ``lambda x after``."""
        lam = self.arrivals_per_minute
        return lam * self.mean_wait + self.offered_load + lam * self.after_treatment_minutes


def mmc_theory(cfg: ModelConfig) -> tuple[MMcTheory, list[str]]:
    """Erlang C parameters read from the configuration, and the ways (if any) in which the
    configuration departs from M/M/c (the comparison is then expected to fail).

    Raises
    ------
    ConfigError
        If no M/M/c model can be read from it: minors clinicians not constant over the day,
        or an offered load of at least c (no steady state).
    """
    ae = cfg.assumptions.ae
    ed = cfg.site.emergency_department
    rota = list(ed.minors_clinicians_by_hour)
    if len(set(rota)) != 1 or rota[0] < 1:
        raise ConfigError(
            "site.emergency_department.minors_clinicians_by_hour",
            rota,
            "the M/M/c check needs the same number (>= 1) of clinicians in every hour",
        )
    c = int(rota[0])
    hours = np.outer(ae.weekday_share, ae.hour_share)
    months = np.asarray(ae.month_multiplier, dtype=float)
    per_hour = ae_annual_self_presenting(cfg) * hours / WEEKS_PER_YEAR
    lam = float(per_hour.mean()) / MINUTES_PER_HOUR
    service = ae.service_minutes["minors"].mean
    theory = MMcTheory(lam, service, c, ae.after_treatment_minutes["discharged"].mean)
    if not theory.offered_load < c:
        raise ConfigError(
            "site.emergency_department.minors_clinicians_by_hour",
            rota,
            f"offered load {theory.offered_load:.2f} >= {c} clinicians: no steady state",
        )
    departures = []
    if ae.service_distribution != "exponential":
        departures.append(f"service {ae.service_distribution}, not exponential")
    if per_hour.max() > per_hour.min() * (1 + 1e-6) or months.max() > months.min() * (1 + 1e-6):
        departures.append("arrival rate varies by hour, weekday or month")
    if ae.majors_share_walk_in > 0 or ae.ambulance_share > 0:
        departures.append("some attendances go to majors")
    if max(ae.admission_probability_by_age.values()) > 0:
        departures.append("some attendances are admitted")
    if cfg.assumptions.demand.scale > 0:
        departures.append("primary-care episodes also reach A&E")
    if ae.left_without_being_seen.patience_minutes.median < NEVER_MINUTES:
        departures.append("walk-ins may leave before being seen")
    return theory, departures


def _mmc_replication(
    cfg: ModelConfig, seed: int, replication: int, warmup_weeks: int, run_weeks: int
) -> dict[str, float]:
    """One replication of the M/M/c configuration, reduced to the statistics compared."""
    from sim.core.distributions import lognormal_from_uniform
    from sim.core.streams import keyed_uniforms

    _, k, lo, hi = run_measured(cfg, seed, replication, warmup_weeks, run_weeks)
    h = k.hospital
    arrive = h.attendances.time
    seen, depart = h.ae.seen_time, h.ae.departure_time
    inside = (arrive >= lo) & (arrive < hi)
    wait = (seen - arrive)[inside]
    # Clinician time = departure - seen - time after treatment (recomputed from the same
    # keyed uniform the model used; nobody is admitted here), overlapped with the window.
    after_cfg = cfg.assumptions.ae.after_treatment_minutes["discharged"]
    u_after = keyed_uniforms(h.attendances.key, "ae_after")
    after = lognormal_from_uniform(u_after, after_cfg.median, after_cfg.mean)
    busy_end = depart - after
    busy = np.clip(np.minimum(busy_end, hi) - np.maximum(seen, lo), 0, None).sum()
    servers = max(cfg.site.emergency_department.minors_clinicians_by_hour)
    occupancy = h.ae_hourly_occupancy(k.last_day * 24)[k.first_day * 24 :]
    return {
        "mean_wait": float(wait.mean()) if wait.size else math.nan,
        "p_wait": float((wait > 0).mean()) if wait.size else math.nan,
        "mean_in_department": float(occupancy.mean()),
        "utilisation": float(busy / (servers * (hi - lo))),
        "arrivals": float(inside.sum()),
        "min_wait": float(wait.min()) if wait.size else math.nan,
    }


def replicate(
    validation: str,
    replication: Callable,
    overrides: Sequence[str],
    seed: int | None,
    design: Design | None,
    quick: bool,
    n_jobs: int,
) -> tuple[RunConfig, Design, int, list[Any]]:
    """Replications ``replication(model, seed, r, warmup_weeks, run_weeks)`` of validation
    case ``validation``: its design unless one is given (the quick one with ``quick``), its
    seed unless one is given. Returns the run config, design, seed and each replication's
    result."""
    run_cfg = compose_run_config(validation, overrides)
    design = design or (QUICK_DESIGNS[validation] if quick else Design.of(run_cfg))
    seed = run_cfg.seed if seed is None else seed
    args = [
        (run_cfg.model, seed, r, design.warmup_weeks, design.run_weeks)
        for r in range(design.replications)
    ]
    return run_cfg, design, seed, _run_parallel(replication, args, n_jobs)


def run_mmc(
    overrides: Sequence[str] = (),
    seed: int | None = None,
    design: Design | None = None,
    quick: bool = False,
    n_jobs: int = -1,
    level: float = 0.99,
    theory: MMcTheory | None = None,
) -> tuple[list[Check], dict[str, Any]]:
    """The M/M/c A&E checks; ``theory`` replaces the Erlang C figures (tests use it to show a
    wrong theory fails)."""
    run_cfg, design, seed, reps = replicate(
        "mmc_ae", _mmc_replication, overrides, seed, design, quick, n_jobs
    )
    derived, departures = mmc_theory(run_cfg.model)
    theory = theory or derived
    rows = (
        ("mean wait for a clinician", "mean_wait", theory.mean_wait, "minutes"),
        ("probability of waiting", "p_wait", theory.p_wait, "share of arrivals"),
        ("mean number in department", "mean_in_department", theory.mean_in_department, "patients"),
        ("clinician utilisation", "utilisation", theory.utilisation, "share of clinician time"),
    )
    note = departures_note("M/M/c", departures)
    checks = theory_checks("mmc_ae", "A&E M/M/c", reps, rows, level, note)
    info = {
        "design": asdict(design),
        "seed": seed,
        "lambda_per_hour": theory.arrivals_per_minute * 60,
        "service_mean_minutes": theory.service_mean_minutes,
        "servers": theory.servers,
        "offered_load": theory.offered_load,
        "arrivals_per_replication": float(np.mean([r["arrivals"] for r in reps])),
        "min_wait": float(np.min([r["min_wait"] for r in reps])),
        "departures_from_mmc": departures,
    }
    return checks, info


# --------------------------------------------------------------------------------------------
# Appointment book: the backlog recursion
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacklogDesign:
    """A book with ``slots_per_day`` slots every day, Poisson demand each day.

    Every request is made at the start of its day (before the first slot) and takes the
    earliest free slot that day or later, within ``horizon_days``.
    """

    slots_per_day: int = 10
    requests_per_day: float = 9.5
    days: int = 50_000
    warmup_days: int = 1_000
    replications: int = 20
    horizon_days: int = 365


QUICK_BACKLOG = BacklogDesign(days=10_000, warmup_days=1_000, replications=6)


def make_backlog_book(design: BacklogDesign, n_days: int) -> AppointmentBook:
    """The book of the backlog check, built as practices build theirs: one session of
    ``slots_per_day`` slots every day, no on-the-day release, no notice."""
    times = session_slot_times([(510, 690)], [1], design.slots_per_day)
    pre, otd = split_on_the_day(times, 0.0)
    weekdays = [d % 7 for d in range(n_days)]
    return AppointmentBook([pre] * 7, [otd] * 7, weekdays, design.horizon_days, 0)


@njit  # not cached: it is compiled for the booking function it is given
def _drive_backlog(bk, requests_per_day, horizon, warmup_days, slots_per_day, book_request):
    """Each day's requests booked in turn with ``book_request`` (made at minute 0, window
    today .. today + horizon); sums over the measured days of the end-of-day backlog (slots
    booked on later days, read from the book), lead days and same-day bookings."""
    n_days = bk.pre_len.shape[1]
    backlog_sum, lead_sum, same_day, requests, unbooked = 0, 0, 0, 0, 0
    for n in range(len(requests_per_day)):
        measured = n >= warmup_days
        for _ in range(requests_per_day[n]):
            day, _slot = book_request(bk, 0, n, 0.0, n, n + horizon)
            if day < 0:
                unbooked += 1
            elif measured:
                lead_sum += day - n
                same_day += day == n
                requests += 1
        if measured:
            d = n + 1  # bookings are contiguous: count booked slots day by day until one is free
            while d < n_days:
                booked = slots_per_day - (bk.pre_len[0, d] - bk.next_pre[0, d])
                if booked <= 0:
                    break
                backlog_sum += booked
                d += 1
    return backlog_sum, lead_sum, same_day, requests, unbooked


def simulate_backlog(
    design: BacklogDesign,
    seed: int,
    replication: int,
    book_request: Callable = book_earliest,
) -> dict[str, float]:
    """Drive an appointment book with Poisson daily demand; measure backlog and lead times.

    Each day ``n`` brings ``A_n ~ Poisson(requests_per_day)`` requests, made at minute 0
    (before the session). Each is booked by ``book_request``, by default
    :func:`sim.booking.books.book_earliest`: the compiled function with which the booking pass
    books a practice need for one staff type (today's slot, else the earliest later day's
    within the horizon). With every slot open to booking, slots are taken in order, so the
    end-of-day backlog (slots booked on later days, read from the book) obeys
    ``B_n = max(B_{n-1} + A_n - K, 0)`` and the ``j``-th request of day ``n`` waits
    ``floor((B_{n-1} + j) / K)`` days.

    Returns the means over days ``warmup_days .. days - 1`` (requests made on those days).
    """
    n_days = design.days + design.horizon_days + 1
    book = make_backlog_book(design, n_days)
    rng = Streams(seed, replication).generator("validation.backlog.requests")
    counts = rng.poisson(design.requests_per_day, design.days).astype(np.int64)
    backlog_sum, lead_sum, same_day, requests, unbooked = _drive_backlog(
        book.arrays,
        counts,
        design.horizon_days,
        design.warmup_days,
        design.slots_per_day,
        book_request,
    )
    days = design.days - design.warmup_days
    return {
        "mean_backlog": backlog_sum / days,
        "mean_lead_days": lead_sum / requests if requests else math.nan,
        "same_day_share": same_day / requests if requests else math.nan,
        "unbooked": float(unbooked),
    }


@dataclass(frozen=True)
class BacklogTheory:
    mean_backlog: float
    mean_lead_days: float
    same_day_share: float
    tail_mass: float  # stationary probability beyond the truncation (should be ~0)


def backlog_theory(
    requests_per_day: float, slots_per_day: int, max_backlog: int = 0
) -> BacklogTheory:
    """Stationary solution of ``B' = max(B + A - K, 0)``, ``A ~ Poisson(lambda)``, ``lambda <
    K``, on states 0..M (M large enough that the tail is negligible; reported).

    Mean lead time per request: ``E[sum_{j<A} floor((B + j) / K)] / lambda`` with ``B`` the
    previous day's backlog (independent of ``A``); same-day share: ``E[min(A, (K - B)+)] /
    lambda``.
    """
    lam, k = float(requests_per_day), int(slots_per_day)
    if not 0 < lam < k:
        raise ValueError(f"needs 0 < lambda < K (lambda={lam}, K={k})")
    a_max = int(stats.poisson.ppf(1 - 1e-16, lam)) + k
    pa = stats.poisson.pmf(np.arange(a_max + 1), lam)
    pa[-1] += 1 - pa.sum()
    # The stationary tail decays roughly like exp(-2 (K - lambda) b / lambda): 50 lambda /
    # (K - lambda) states past the jumps leave well under 1e-15 of the mass beyond them.
    m = max_backlog or int(50 * lam / (k - lam)) + 2 * a_max
    b = np.arange(m + 1)
    a = np.arange(a_max + 1)
    nxt = np.minimum(np.maximum(b[:, None] + a[None, :] - k, 0), m)
    p = np.zeros((m + 1, m + 1))
    np.add.at(p, (np.repeat(b, a_max + 1), nxt.ravel()), np.tile(pa, m + 1))
    system = p.T - np.eye(m + 1)
    system[-1, :] = 1.0
    rhs = np.zeros(m + 1)
    rhs[-1] = 1.0
    pi = np.linalg.solve(system, rhs)
    pi = np.clip(pi, 0, None)
    pi /= pi.sum()

    def cumulative_floor(x: np.ndarray) -> np.ndarray:  # sum_{i<x} floor(i / K)
        q, r = np.divmod(x, k)
        return k * q * (q - 1) // 2 + r * q

    waits = cumulative_floor(b[:, None] + a[None, :]) - cumulative_floor(b)[:, None]
    same = np.minimum(a[None, :], np.maximum(k - b[:, None], 0))
    weight = pi[:, None] * pa[None, :]
    return BacklogTheory(
        mean_backlog=float((pi * b).sum()),
        mean_lead_days=float((weight * waits).sum() / lam),
        same_day_share=float((weight * same).sum() / lam),
        tail_mass=float(pi[-max(k, 10) :].sum()),
    )


def run_backlog(
    design: BacklogDesign | None = None,
    seed: int = 0,
    quick: bool = False,
    level: float = 0.99,
    book_request: Callable = book_earliest,
    theory: BacklogTheory | None = None,
) -> tuple[list[Check], dict[str, Any]]:
    """The backlog-recursion checks of the appointment book; ``book_request`` and ``theory``
    let tests put in a broken booking function or a wrong theory and see the checks fail."""
    design = design or (QUICK_BACKLOG if quick else BacklogDesign())
    theory = theory or backlog_theory(design.requests_per_day, design.slots_per_day)
    reps = [simulate_backlog(design, seed, r, book_request) for r in range(design.replications)]
    unbooked = int(sum(r["unbooked"] for r in reps))
    note = f"{unbooked} requests found no slot within the horizon" if unbooked else ""
    label = f"book K={design.slots_per_day}/day, Poisson({design.requests_per_day:g})"
    rows = (
        ("mean backlog at end of day", "mean_backlog", theory.mean_backlog, "slots booked ahead"),
        ("mean lead time", "mean_lead_days", theory.mean_lead_days, "days"),
        ("share booked same day", "same_day_share", theory.same_day_share, "share of requests"),
    )
    checks = theory_checks("backlog", label, reps, rows, level, note)
    if unbooked:
        for c in checks:
            c.passed = False
    info = {"design": asdict(design), "seed": seed, "theory": asdict(theory)}
    return checks, info


# --------------------------------------------------------------------------------------------
# Baseline replications: NHPP counts, Little's law, calibration
# --------------------------------------------------------------------------------------------


def _baseline_replication(
    cfg: ModelConfig, seed: int, replication: int, warmup_weeks: int, run_weeks: int
) -> dict[str, Any]:
    """One replication of the baseline, reduced to KPIs and the statistics the checks use."""
    from sim.services.hospital.arrivals import SELF_PRESENTING

    res, k, lo, hi = run_measured(cfg, seed, replication, warmup_weeks, run_weeks)
    h = k.hospital
    span = hi - lo

    # L from the hospital's census (its own counts, integrated over time as they change), and
    # lambda, W from the patients' recorded times: two records of the same flow kept apart.
    # The finite-window form of Little's law (see window_little) for all three.
    census = h.census
    first, last = np.searchsorted(census["time"], [lo, hi])
    if census["time"][first] != lo or census["time"][last] != hi:
        raise AssertionError("the census is read on every hour; the window is whole days")

    def census_mean(name: str) -> float:
        return float(census[name][last] - census[name][first]) / span

    arrive = h.attendances.time
    ae_l = census_mean("ae_minutes")
    ae_lam, ae_w = window_little(arrive, h.ae.departure_time, lo, hi)

    stays = h.ic_stays
    ic_l = census_mean("ic_minutes")
    ic_lam, ic_w = window_little(stays["start"], stays["end"], lo, hi)

    a = h.admissions
    took = np.isfinite(a.core_time)
    bed_l = census_mean("bed_minutes")
    bed_lam, bed_w = window_little(a.core_time[took], a.leave_time[took], lo, hi)

    return {
        "kpis": dict(res.kpis),
        "ae_little": (ae_l, float(ae_lam), ae_w),
        "ic_little": (float(ic_l), float(ic_lam), ic_w),
        "bed_little": (bed_l, float(bed_lam), bed_w),
        "ae_counts": hour_of_week_counts(arrive[h.attendances.source == SELF_PRESENTING]),
        "bed_ledger": bed_ledger(h),
        "episode_counts": hour_of_week_counts(k.episodes.time),
        "wall_seconds": res.wall_seconds,
    }


def window_little(start: np.ndarray, end: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """lambda and W of Little's law on the window ``[lo, hi)`` in its finite-window form,
    exact on every sample path: lambda counts everyone present at some time in the window
    (arrived in it, or already in at its start) per minute, W is their mean time present
    within the window (an ``end`` of NaN: still in). The usual form (arrivals in the window,
    their whole stays) needs the window's two ends to balance, which stays of weeks to months
    (IC+, beds) and seasonal occupancy do not give: on the tests' small site it gave
    L / (lambda W) of 0.90-0.94 for beds and 0.90-1.02 for IC+."""
    end = np.where(np.isnan(end), np.inf, end)
    overlap = np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0.0, None)
    held = overlap > 0
    return float(held.sum() / (hi - lo)), float(overlap[held].mean()) if held.any() else 0.0


def _ratio(l_value: float, lam: float, w: float) -> float:
    return l_value / (lam * w) if lam * w > 0 else math.nan


#: Little's law in its finite-window form is exact on every sample path: L (the model's own
#: integral) and lambda W (the records') may differ only by floating-point rounding.
LITTLE_TOLERANCE = 1e-9


def little_checks(reps: list[dict[str, Any]], level: float) -> list[Check]:
    """Little's law per replication, ``L / (lambda W)``, against 1: within
    :data:`LITTLE_TOLERANCE` in every replication (``level`` is not used: no sampling error)."""
    rows = (
        ("A&E", "ae_little", "patients in the department"),
        ("IC+", "ic_little", "places in use"),
        ("G&A beds", "bed_little", "beds occupied"),
    )
    checks = []
    for where, key, what in rows:
        ratios = np.array([_ratio(*r[key]) for r in reps], dtype=float)
        passed = bool(np.isfinite(ratios).all() and (abs(ratios - 1) <= LITTLE_TOLERANCE).all())
        checks.append(
            Check(
                group="little",
                check=f"Little's law, {where}: L / (lambda W)",
                unit="ratio",
                theory=1.0,
                simulated=float(ratios.mean()),
                ci_low=float(ratios.min()),
                ci_high=float(ratios.max()),
                level=1.0,
                n=len(ratios),
                passed=passed,
                acceptance=f"every replication within {LITTLE_TOLERANCE:g} of 1",
                tolerance=LITTLE_TOLERANCE,
                note=f"L = {np.mean([r[key][0] for r in reps]):.1f} {what}",
            )
        )
    return checks


def nhpp_checks(
    reps: list[dict[str, Any]], cfg: ModelConfig, days: int, level: float
) -> list[Check]:
    """Hour-of-week counts pooled over replications against the integral of the rate."""
    n = len(reps)
    ae_obs = np.sum([r["ae_counts"] for r in reps], axis=0)
    ep_obs = np.sum([r["episode_counts"] for r in reps], axis=0)
    ae_exp = n * ae_expected_counts(cfg, days)
    ep_exp = n * episode_expected_counts(cfg, days)
    g = "nhpp"
    return [
        chi_square_check(
            g,
            "A&E self-presenting arrivals by hour of week",
            ae_obs,
            ae_exp,
            level,
            f"{ae_obs.sum():.0f} arrivals, expected {ae_exp.sum():.0f}",
        ),
        chi_square_check(
            g,
            "Primary-care episodes by hour of week",
            ep_obs,
            ep_exp,
            level,
            f"{ep_obs.sum():.0f} episodes, expected {ep_exp.sum():.0f}",
        ),
    ]


def calibration_checks(reps: list[dict[str, Any]], run_cfg: RunConfig) -> list[Check]:
    rows = [(i, name, value) for i, r in enumerate(reps) for name, value in r["kpis"].items()]
    kpis = pd.DataFrame(rows, columns=["replication", "kpi", "value"])
    summary = summarise(kpis, CALIBRATION_CI_LEVEL)
    table = calibration_table(summary, run_cfg.calibration)
    checks = []
    for target, row in zip(run_cfg.calibration.targets, table.itertuples(), strict=True):
        checks.append(
            Check(
                group="calibration",
                check=str(row.target),
                unit="",
                theory=float(row.target_value),
                simulated=float(row.simulated_mean),
                ci_low=float(row.ci_low),
                ci_high=float(row.ci_high),
                level=CALIBRATION_CI_LEVEL,
                n=len(reps),
                passed=bool(row.within),
                required=row.role == "fitted",
                acceptance="mean within target +/- tolerance",
                tolerance=float(row.tolerance),
                note=f"{target.kpi}; {row.role.replace('_', ' ')}; source: {row.source}",
            )
        )
    return checks


def run_baseline(
    overrides: Sequence[str] = (),
    seed: int | None = None,
    design: Design | None = None,
    quick: bool = False,
    n_jobs: int = -1,
) -> tuple[RunConfig, Design, int, list[dict[str, Any]]]:
    """The baseline replications shared by the nhpp, little and calibration checks."""
    return replicate("baseline", _baseline_replication, overrides, seed, design, quick, n_jobs)


# --------------------------------------------------------------------------------------------
# The hospital: a bed pool against Erlang B and C
# --------------------------------------------------------------------------------------------


def _flat(shares: Sequence[float]) -> bool:
    x = np.asarray(shares, dtype=float)
    return bool(x.max() <= x.min() * (1 + 1e-6))


def bed_pool_theory(cfg: ModelConfig) -> tuple[BedTheory, list[str]]:
    """Erlang parameters of the background admissions and beds of a configuration, and the
    ways (if any) in which it departs from a bed pool with Poisson arrivals and exponential
    stays (the comparison is then expected to fail)."""
    bg = cfg.assumptions.background_admissions
    beds = cfg.site.acute_beds
    theory = BedTheory(
        arrivals_per_minute=beds.background_admissions_per_week / (7 * MINUTES_PER_DAY),
        stay_mean_minutes=bg.stay_days.mean * MINUTES_PER_DAY,
        beds=beds.general_and_acute,
    )
    departures = []
    if not (_flat(bg.weekday_share) and _flat(bg.hour_share)):
        departures.append("arrival rate varies by weekday or hour")
    if bg.stay_distribution != "exponential":
        departures.append(f"stays {bg.stay_distribution}, not exponential")
    d = cfg.assumptions.discharge
    if d.senior_review_minute is not None or (d.open_minute, d.close_minute) != (0, 1440):
        departures.append("discharge waits for a senior review or a discharge window")
    if cfg.assumptions.demand.scale > 0 or sum(
        cfg.assumptions.ae.self_presenting_per_1000_year.values()
    ):
        departures.append("emergency admissions also need beds")
    if beds.escalation_spaces:
        departures.append("escalation spaces add beds")
    return theory, departures


def _bed_pool_replication(
    cfg: ModelConfig, seed: int, replication: int, warmup_weeks: int, run_weeks: int
) -> dict[str, float]:
    from sim.services.hospital.model import BACKGROUND

    _, k, lo, hi = run_measured(cfg, seed, replication, warmup_weeks, run_weeks)
    h = k.hospital
    a = h.admissions
    inside = (a.kind == BACKGROUND) & (a.request_time >= lo) & (a.request_time < hi)
    waited = (a.bed_time - a.request_time)[inside & ~a.cancelled]
    return {
        "p_wait": float((waited > 0).mean()) if waited.size else math.nan,
        "mean_wait": float(waited.mean()) if waited.size else math.nan,
        "blocking": float(a.cancelled[inside].mean()) if inside.any() else math.nan,
        "occupancy": float(h.beds_occupied(np.array([lo, hi]))[0]),
        "arrivals": float(inside.sum()),
    }


def run_erlang_beds(
    overrides: Sequence[str] = (),
    seed: int | None = None,
    design: Design | None = None,
    quick: bool = False,
    n_jobs: int = -1,
    level: float = 0.99,
    theory: BedTheory | None = None,
) -> tuple[list[Check], dict[str, Any]]:
    """The bed pool as a delay system (Erlang C) and, with cancellations, as a loss system
    (Erlang B); ``theory`` replaces the Erlang figures (tests use it)."""
    checks: list[Check] = []
    info: dict[str, Any] = {}
    for mode in ("wait", "cancel"):
        when_full = f"assumptions.background_admissions.when_full={mode}"
        run_cfg, design_m, seed_m, reps = replicate(
            "erlang_beds",
            _bed_pool_replication,
            [*overrides, when_full],
            seed,
            design,
            quick,
            n_jobs,
        )
        derived, departures = bed_pool_theory(run_cfg.model)
        t = theory or derived
        note = departures_note("M/M/c", departures)
        label = f"beds c={t.beds}, offered load {t.offered_load:.1f}"
        if mode == "wait":
            rows = (
                ("delay (Erlang C): probability of waiting", "p_wait", t.p_wait, "share"),
                ("delay (Erlang C): mean wait for a bed", "mean_wait", t.mean_wait, "minutes"),
                ("delay: mean beds occupied", "occupancy", t.offered_load, "beds"),
            )
        else:
            rows = (
                ("loss (Erlang B): share turned away", "blocking", t.blocking, "share"),
                ("loss: mean beds occupied", "occupancy", t.loss_occupancy, "beds"),
            )
        checks += theory_checks("erlang_beds", label, reps, rows, level, note)
        info[mode] = {
            "design": asdict(design_m),
            "seed": seed_m,
            "arrivals_per_replication": float(np.mean([r["arrivals"] for r in reps])),
            "departures": departures,
        }
    return checks, info


# --------------------------------------------------------------------------------------------
# The hospital: A&E spaces blocked by boarders, against an exact Markov chain
# --------------------------------------------------------------------------------------------


def boarding_theory(cfg: ModelConfig) -> tuple[dict[str, float], list[str]]:
    """The boarding chain's parameters read from a configuration, and its departures from
    the chain's assumptions."""
    ae = cfg.assumptions.ae
    site = cfg.site
    p = list(ae.admission_probability_by_age.values())
    los = list(cfg.assumptions.admissions.length_of_stay_days_by_age.values())
    params = {
        "arrivals_per_minute": ae_annual_self_presenting(cfg) / MINUTES_PER_YEAR,
        "treatment_mean_minutes": ae.service_minutes["majors"].mean,
        "p_admit": p[0],
        "stay_mean_minutes": los[0] * MINUTES_PER_DAY,
        "spaces": site.emergency_department.majors_spaces,
        "beds": site.acute_beds.general_and_acute,
    }
    departures = []
    if (
        ae.service_distribution != "exponential"
        or cfg.assumptions.admissions.stay_distribution != "exponential"
    ):
        departures.append("treatment or stays not exponential")
    if len(set(p)) > 1 or len(set(los)) > 1:
        departures.append("admission or stay depends on age")
    if ae.ambulance_share < 1:
        departures.append("walk-ins (a second queue, leaving unseen)")
    if not (_flat(ae.weekday_share) and _flat(ae.hour_share) and _flat(ae.month_multiplier)):
        departures.append("arrival rate varies")
    if (
        min(site.emergency_department.majors_clinicians_by_hour)
        < site.emergency_department.majors_spaces
    ):
        departures.append("fewer clinicians than spaces in some hour")
    if site.acute_beds.background_admissions_per_week > 0 or site.emergency_department.sdec.spaces:
        departures.append("background admissions or SDEC")
    return params, departures


def _boarding_replication(
    cfg: ModelConfig, seed: int, replication: int, warmup_weeks: int, run_weeks: int
) -> dict[str, float]:
    from sim.core.occupancy import occupancy_between

    _, k, lo, hi = run_measured(cfg, seed, replication, warmup_weeks, run_weeks)
    h = k.hospital
    window = np.array([lo, hi])
    arrive, ae = h.attendances.time, h.ae
    no_space = np.where(np.isnan(ae.space_time), np.inf, ae.space_time)
    depart = np.where(np.isnan(ae.departure_time), np.inf, ae.departure_time)
    decided = np.isfinite(ae.decision_time)
    inside = (arrive >= lo) & (arrive < hi)
    return {
        "waiting_for_space": float(occupancy_between(arrive, no_space, window)[0]),
        "boarding": float(occupancy_between(ae.decision_time[decided], depart[decided], window)[0]),
        "beds_occupied": float(h.beds_occupied(window)[0]),
        "p_wait": float((no_space[inside] > arrive[inside]).mean()),
    }


def run_boarding(
    overrides: Sequence[str] = (),
    seed: int | None = None,
    design: Design | None = None,
    quick: bool = False,
    n_jobs: int = -1,
    level: float = 0.99,
    theory: BoardingTheory | None = None,
) -> tuple[list[Check], dict[str, Any]]:
    """A&E spaces blocked by boarders against the exact chain; ``theory`` replaces it."""
    run_cfg, design, seed, reps = replicate(
        "boarding_ae", _boarding_replication, overrides, seed, design, quick, n_jobs
    )
    params, departures = boarding_theory(run_cfg.model)
    t = theory or boarding_chain(**params)
    note = departures_note("the chain", departures)
    label = f"A&E {params['spaces']} spaces, {params['beds']} beds"
    rows = (
        ("mean waiting for a space", "waiting_for_space", t.mean_waiting_for_space, "patients"),
        ("mean boarding (waiting for a bed)", "boarding", t.mean_boarding, "patients"),
        ("mean beds occupied", "beds_occupied", t.mean_beds_occupied, "beds"),
        ("share of arrivals waiting for a space", "p_wait", t.p_wait_for_space, "share"),
    )
    checks = theory_checks("boarding", label, reps, rows, level, note)
    return checks, {
        "design": asdict(design),
        "seed": seed,
        "params": params,
        "tail_mass": t.tail_mass,
        "departures": departures,
    }


# --------------------------------------------------------------------------------------------
# The hospital: the rota with "finish the current patient", by uniformisation
# --------------------------------------------------------------------------------------------

#: Periods of the day compared (hours), each the mean number in the department.
ROTA_PERIODS: tuple[tuple[str, int, int], ...] = (
    ("00:00-08:00", 0, 8),
    ("08:00-20:00", 8, 20),
    ("20:00-24:00", 20, 24),
)


def rota_theory(cfg: ModelConfig) -> tuple[dict[str, float], list[str]]:
    """The rota chain's parameters read from a configuration: one stream (minors) whose rota
    is one clinician all day and two during one daytime block."""
    ae = cfg.assumptions.ae
    rota = list(cfg.site.emergency_department.minors_clinicians_by_hour)
    if min(rota) != 1 or max(rota) != 2 or sum(1 for h in range(24) if rota[h] != rota[h - 1]) != 2:
        raise ConfigError(
            "site.emergency_department.minors_clinicians_by_hour",
            rota,
            "the rota check needs 1 clinician all day and a second in one block of hours",
        )
    on = next(h for h in range(24) if rota[h] == 2 and rota[h - 1] == 1)
    off = next(h for h in range(24) if rota[h] == 1 and rota[h - 1] == 2)
    params = {
        "arrivals_per_minute": ae_annual_self_presenting(cfg) / MINUTES_PER_YEAR,
        "treatment_mean_minutes": ae.service_minutes["minors"].mean,
        "on_minute": on * 60,
        "off_minute": off * 60,
    }
    departures = []
    if ae.service_distribution != "exponential":
        departures.append("clinician time not exponential")
    if ae.majors_share_walk_in > 0 or ae.ambulance_share > 0:
        departures.append("some attendances go to majors")
    if not (_flat(ae.weekday_share) and _flat(ae.hour_share) and _flat(ae.month_multiplier)):
        departures.append("arrival rate varies")
    if ae.left_without_being_seen.patience_minutes.median < NEVER_MINUTES:
        departures.append("walk-ins may leave before being seen")
    return params, departures


def _rota_replication(
    cfg: ModelConfig, seed: int, replication: int, warmup_weeks: int, run_weeks: int
) -> dict[str, float]:
    _, k, _, _ = run_measured(cfg, seed, replication, warmup_weeks, run_weeks)
    occ = k.hospital.ae_hourly_occupancy(k.last_day * 24)[k.first_day * 24 :]
    by_hour = occ.reshape(-1, 24).mean(axis=0)
    return {name: float(by_hour[a:b].mean()) for name, a, b in ROTA_PERIODS}


def run_rota(
    overrides: Sequence[str] = (),
    seed: int | None = None,
    design: Design | None = None,
    quick: bool = False,
    n_jobs: int = -1,
    level: float = 0.99,
    theory: RotaTheory | None = None,
) -> tuple[list[Check], dict[str, Any]]:
    """The rota's finish-the-current-patient rule against the uniformised chain."""
    run_cfg, design, seed, reps = replicate(
        "rota_ae", _rota_replication, overrides, seed, design, quick, n_jobs
    )
    params, departures = rota_theory(run_cfg.model)
    t = theory or rota_chain(**params)
    label = (
        f"A&E rota 1 + 1 ({params['on_minute'] // 60:02d}:00-"
        f"{params['off_minute'] // 60:02d}:00), finish the current patient"
    )
    rows = [
        (
            f"mean in department {name}",
            name,
            float(t.mean_in_department_by_hour[a:b].mean()),
            "patients",
        )
        for name, a, b in ROTA_PERIODS
    ]
    note = departures_note("the chain", departures)
    checks = theory_checks("rota", label, reps, rows, level, note)
    return checks, {
        "design": asdict(design),
        "seed": seed,
        "params": params,
        "tail_mass": t.tail_mass,
        "departures": departures,
    }


def bed_conservation_checks(reps: list[dict[str, Any]]) -> list[Check]:
    """Every patient who asked for a bed ends in exactly one place, the records agree with the
    bed pool's own counters, and each patient's times are in order (every replication)."""
    ledgers = [r["bed_ledger"] for r in reps]
    asked = np.array([led["asked"] for led in ledgers], dtype=float)
    parts = np.array([sum(led[s] for s in BED_STATES) for led in ledgers], dtype=float)
    balanced = all(bool(led["balanced"]) for led in ledgers)
    mean = {s: float(np.mean([led[s] for led in ledgers])) for s in BED_STATES}
    return [
        Check(
            group="bed_conservation",
            check="Conservation through beds: discharged, transferred, in a bed or waiting",
            unit="patients asking for a bed",
            theory=float(asked.mean()),
            simulated=float(parts.mean()),
            ci_low=float(parts.min()),
            ci_high=float(parts.max()),
            level=1.0,
            n=len(reps),
            passed=balanced,
            acceptance="every replication balances (records = pool counters, times in order)",
            note=", ".join(f"{s} {v:.0f}" for s, v in mean.items()),
        )
    ]


# --------------------------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------------------------

#: Theory checks per group (the Bonferroni family).
THEORY_CHECKS = {
    "mmc_ae": 4,
    "backlog": 3,
    "erlang_beds": 5,
    "boarding": 4,
    "rota": 3,
    "nhpp": 2,
    "little": 3,
    "bed_conservation": 0,
    "calibration": 0,
}


def check_level(groups: Sequence[str], family_alpha: float = FAMILY_ALPHA) -> float:
    """Per-check level: Bonferroni over the theory checks of ``groups``."""
    k = sum(THEORY_CHECKS[g] for g in groups)
    return 1 - family_alpha / max(k, 1)


@dataclass
class SuiteResult:
    checks: list[Check]
    info: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every theory check and every fitted calibration target passed."""
        return bool(self.checks) and all(c.passed for c in self.checks if c.required)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(c) for c in self.checks])


def _run_backlog_with_run_seed(
    overrides: Sequence[str], seed: int | None, quick: bool, n_jobs: int, level: float
) -> tuple[list[Check], dict[str, Any]]:
    """:func:`run_backlog` called as the model's checks are: the book is no model
    configuration, so ``overrides`` only give the seed (when ``seed`` does not) and it runs
    serially whatever ``n_jobs``."""
    backlog_seed = compose_run_config(None, overrides).seed if seed is None else seed
    return run_backlog(seed=backlog_seed, quick=quick, level=level)


def run_suite(
    groups: Sequence[str] = GROUPS,
    quick: bool = False,
    seed: int | None = None,
    n_jobs: int = -1,
    overrides: Sequence[str] = (),
) -> SuiteResult:
    """Run the chosen check groups; ``quick`` shortens designs and drops calibration."""
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown check groups {unknown}; choose from {list(GROUPS)}")
    skipped = ["calibration"] if quick and "calibration" in groups else []
    groups = [g for g in GROUPS if g in groups and g not in skipped]
    level = check_level(groups)
    result = SuiteResult(
        checks=[],
        info={
            "ci_level": level,
            "family_alpha": FAMILY_ALPHA,
            "groups": groups,
            "skipped": skipped,
        },
    )
    # In the order of the printed table
    theory_runs = (
        ("mmc_ae", run_mmc),
        ("erlang_beds", run_erlang_beds),
        ("boarding", run_boarding),
        ("rota", run_rota),
        ("backlog", _run_backlog_with_run_seed),
    )
    for group, runner in theory_runs:
        if group in groups:
            started = time.perf_counter()
            checks, info = runner(overrides, seed, quick=quick, n_jobs=n_jobs, level=level)
            result.checks += checks
            result.info[group] = info
            result.timings[group] = time.perf_counter() - started
    if BASELINE_GROUPS & set(groups):
        started = time.perf_counter()
        run_cfg, design, base_seed, reps = run_baseline(overrides, seed, quick=quick, n_jobs=n_jobs)
        result.timings["baseline_replications"] = time.perf_counter() - started
        result.info["baseline"] = {
            "design": asdict(design),
            "seed": base_seed,
            "replication_wall_seconds": [round(r["wall_seconds"], 2) for r in reps],
        }
        days = 7 * (design.warmup_weeks + design.run_weeks)
        if "nhpp" in groups:
            result.checks += nhpp_checks(reps, run_cfg.model, days, level)
        if "little" in groups:
            result.checks += little_checks(reps, level)
        if "bed_conservation" in groups:
            result.checks += bed_conservation_checks(reps)
        if "calibration" in groups:
            result.checks += calibration_checks(reps, run_cfg)
    return result


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if x != x:
        return "-"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.3f}"
    return f"{x:.4f}"


def format_table(checks: Sequence[Check]) -> str:
    """Check | theory or target | simulated | interval | pass."""
    rows = []
    for c in checks:
        if c.group == "calibration":
            theory = f"{_fmt(c.theory)} ± {_fmt(c.tolerance)}"
        elif c.unit == "chi-square":
            theory = f"chi2({int(c.theory)})"
        else:
            theory = _fmt(c.theory)
        if c.unit == "chi-square":
            interval = f"accept {_fmt(c.ci_low)} to {_fmt(c.ci_high)}"
        else:
            interval = f"{_fmt(c.ci_low)} to {_fmt(c.ci_high)}"
        result = "pass" if c.passed else ("FAIL" if c.required else "outside (held out)")
        rows.append((c.check, theory, _fmt(c.simulated), interval, result))
    head = ("Check", "Theory or target", "Simulated", "Interval", "Result")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(head, widths, strict=True))
        ),
        "-" * (sum(widths) + 8),
    ]
    for r in rows:
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)


def new_folder(root: Path, quick: bool) -> Path:
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S") + ("_quick" if quick else "")
    folder = root / stamp
    k = 2
    while folder.exists():
        folder = root / f"{stamp}_{k}"
        k += 1
    folder.mkdir(parents=True)
    return folder


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sim validate",
        description="Verification and validation of the model against theory and data.",
    )
    parser.add_argument("--quick", action="store_true", help="short designs, no calibration")
    parser.add_argument(
        "--checks",
        default=",".join(GROUPS),
        help=f"comma-separated check groups (default all: {','.join(GROUPS)})",
    )
    parser.add_argument("--seed", type=int, default=None, help="default: conf/config.yaml seed")
    parser.add_argument("--jobs", type=int, default=-1, help="parallel workers (-1 = all cores)")
    parser.add_argument("--out", type=Path, default=VALIDATION_ROOT, help="parent output folder")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every model config")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    groups = [g.strip() for g in args.checks.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        print(f"--checks: choose from {', '.join(GROUPS)} (got {args.checks!r})", file=sys.stderr)
        return cli.EXIT_CONFIG_ERROR
    if args.quick and groups == ["calibration"]:
        print("--quick leaves out the calibration targets: nothing to run", file=sys.stderr)
        return cli.EXIT_CONFIG_ERROR
    if args.seed is not None and not 0 <= args.seed < 2**63:
        cli.report_config_error(ConfigError("--seed", args.seed, "must be a whole number >= 0"))
        return cli.EXIT_CONFIG_ERROR
    if args.jobs == 0:
        cli.report_config_error(
            ConfigError("--jobs", 0, "must be a positive number of cores or -1 for all")
        )
        return cli.EXIT_CONFIG_ERROR
    started = time.perf_counter()
    folder = new_folder(args.out, args.quick)
    manifest: dict[str, Any] = {
        "status": "running",
        "command": " ".join(["python -m sim validate", *argv]),
        "quick": args.quick,
        "groups": groups,
        "overrides": args.overrides,
        "started_utc": outputs.now_utc(),
        "git": outputs.git_state(locations.SOURCE_ROOT),
        "packages": outputs.package_versions(),
        "machine": outputs.machine(),
    }
    outputs.atomic_write_json(folder / "manifest.json", manifest)
    try:
        result = run_suite(groups, args.quick, args.seed, args.jobs, args.overrides)
    except (ConfigError, HydraException, OmegaConfBaseException) as err:
        if isinstance(err, ConfigError):
            cli.report_config_error(err)
        else:
            print(f"Configuration error: {err}", file=sys.stderr)
        manifest.update({"status": "invalid_config", "error": str(err)})
        outputs.atomic_write_json(folder / "manifest.json", manifest)
        print(folder)
        return cli.EXIT_CONFIG_ERROR
    except BaseException as err:
        # Ctrl-C or SIGTERM (inside compiled code it surfaces as another error), or a failure:
        # the folder says which, rather than "running" for ever
        stopped = interrupts.is_interruption(err)
        manifest["status"] = "interrupted" if stopped else "failed"
        if not stopped:
            manifest["error"] = f"{type(err).__name__}: {err}"
        try:
            outputs.atomic_write_json(folder / "manifest.json", manifest)
        except (OSError, KeyboardInterrupt):
            pass  # a full disk, or a second Ctrl-C: the manifest keeps saying "running"
        if stopped:
            raise KeyboardInterrupt from None
        raise
    text = format_table(result.checks)
    failed = [c.check for c in result.checks if c.required and not c.passed]
    held_out_missed = [c.check for c in result.checks if not c.required and not c.passed]
    level = result.info["ci_level"]
    print()
    print(text)
    print()
    print(
        f"Intervals: t intervals over replications at {level:.2%} (Bonferroni: family-wise "
        f"{FAMILY_ALPHA:.0%} over the theory checks); calibration: mean within tolerance."
    )
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    print(f"Run times: {timing}; total {time.perf_counter() - started:.1f} s")
    if result.info["skipped"]:
        print("Skipped in --quick mode (annual targets need a year's run): calibration")
    if held_out_missed:
        print(
            "Held-out calibration targets outside tolerance (reported, not failures): "
            + "; ".join(held_out_missed)
        )
    required = sum(c.required for c in result.checks)
    if failed:
        print(f"FAILED: {len(failed)} of {required} required checks: " + "; ".join(failed))
    else:
        print(f"PASSED: all {required} required checks")
    outputs.atomic_write_csv(folder / "validation.csv", result.table())
    outputs.atomic_write_text(folder / "validation.txt", text + "\n")
    manifest.update(
        {
            "status": "complete",
            "passed": result.passed,
            "n_checks": len(result.checks),
            "failed_checks": failed,
            "held_out_targets_missed": held_out_missed,
            "ci_level": level,
            "family_alpha": FAMILY_ALPHA,
            "details": result.info,
            "timings_seconds": {k: round(v, 2) for k, v in result.timings.items()},
            "wall_seconds": round(time.perf_counter() - started, 2),
            "finished_utc": outputs.now_utc(),
            "files": ["validation.csv", "validation.txt"],
        }
    )
    outputs.atomic_write_json(folder / "manifest.json", manifest)
    print(folder)
    return 0 if result.passed else EXIT_FAILED
