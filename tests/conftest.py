"""Shared fixtures and small helpers.

The configuration used by the tests is the REAL one: ``conf/`` composed by Hydra exactly as
``python -m sim`` composes it, then validated by :func:`sim.config.compose.validate`. Tests
shrink it to a
few practices and change individual settings through dotted paths, so a change to a default
in ``conf/`` is picked up (and tested) rather than silently ignored.

Statistical tests use fixed seeds, so they are deterministic. Their significance level is
chosen so that, were the seed changed, a correct model would fail a test family with
probability at most ``ALPHA`` (0.1%), while the sample sizes used make each test sensitive to
biases of a percentage point or two.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from scipy import stats

import sim.cli
import sim.config.compose
import sim.config.locations
from sim.config.schema import AGE_BANDS, RunConfig

#: Family-wise significance level of every statistical test in the suite (see module docs).
ALPHA = 1e-3
#: Seed of every statistical test (any fixed value; results are deterministic).
SEED = 20240601
#: Monday 00:00 of week 0 is a Monday, so day d has weekday d % 7 (0 = Monday).
MINUTES_PER_DAY = 1440
#: The checkout these tests belong to: a subprocess runs from it and imports its ``sim``.
REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------
# The real configuration
# --------------------------------------------------------------------------------------------


def run_sim(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """``python -m sim ARGV`` in this process (faster than a subprocess, and monkeypatches
    reach it); returns its exit code."""
    monkeypatch.setattr(sys, "argv", [sys.argv[0]])  # main() rewrites it
    try:
        sim.cli.main(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


def run_sim_in_subprocess(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess:
    """``python -m sim ARGV`` in a process of its own, as a user runs it, from this checkout
    (its ``sim`` first on the path); output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=timeout,
    )


def run_small_psa(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    """``python -m sim uncertainty`` small enough for a test, into ``folder``: the quick
    preset, 3 drawn sets of 2 weeks, two options (plus ``extra`` overrides)."""
    return run_sim_in_subprocess(
        [
            "uncertainty",
            "psa=quick",
            "psa.sets=3",
            "psa.options=[frailty_front_of_house,rac_weekend]",
            "experiment.run_weeks=2",
            f"hydra.sweep.dir={folder}",
            *extra,
        ],
        timeout=1800,
    )


def compose_with_hydra(overrides: Sequence[str] = ()) -> Any:
    """``conf/config.yaml`` composed by Hydra with these command-line overrides, as
    ``python -m sim`` composes it (a DictConfig)."""
    sim.config.compose.register()
    with initialize_config_dir(
        config_dir=str(sim.config.locations.CONF_DIR), version_base="1.3", job_name="tests"
    ):
        return compose(config_name="config", overrides=list(overrides))


def compose_real(overrides: list[str] | None = None) -> dict[str, Any]:
    """``conf/config.yaml`` composed by Hydra (as ``python -m sim`` does), as plain data."""
    data = OmegaConf.to_container(compose_with_hydra(overrides or []), resolve=True)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def real_data() -> dict[str, Any]:
    """The full composed configuration (do not mutate: use :func:`small_site_data`)."""
    return compose_real()


def small_site(data: dict[str, Any], per_locality: int = 1) -> dict[str, Any]:
    """A deep copy of ``data`` keeping the first ``per_locality`` practices of each locality."""
    out = copy.deepcopy(data)
    kept: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for code, practice in out["site"]["practices"].items():
        loc = practice["locality"]
        if seen.get(loc, 0) < per_locality:
            kept[code] = practice
            seen[loc] = seen.get(loc, 0) + 1
    out["site"]["practices"] = kept
    return out


@pytest.fixture
def small_data(real_data: dict[str, Any]) -> dict[str, Any]:
    """Three practices (one per locality) of the real site; a fresh copy per test."""
    return small_site(real_data)


#: Overrides that leave a need's own practice as the only service it can reach through the
#: booking rules: no hub capacity or hub offers, no rapid assessment referral, intermediate
#: care step-up or escalation to A&E after a practice appointment. Tests of the practice
#: booking rules use it so that each expectation is about the practice alone.
PRACTICE_ONLY: dict[str, Any] = {
    "site.hubs.minutes_per_1000_per_week": 0.0,
    "assumptions.booking.hub_offer_share": 0.0,
    "assumptions.hubs.prefer_hub_share_non_urgent": 0.0,
    "assumptions.rapid_assessment.referral_share_from_practice": 0.0,
    "assumptions.rapid_assessment.referral_share_from_nhs111": 0.0,
    "assumptions.intermediate_care.step_up_share_from_practice": 0.0,
    "assumptions.rapid_assessment.escalation_probability": 0.0,
    "assumptions.ae.gp_referral_share_of_urgent": 0.0,
}


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """``set_path(d, "site.practice_capacity.gp.fte_per_1000", 0)`` (in place)."""
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value


def get_path(data: dict[str, Any], dotted: str) -> Any:
    node = data
    for key in dotted.split("."):
        node = node[key]
    return node


def configure(data: dict[str, Any], overrides: dict[str, Any] | None = None) -> RunConfig:
    """Validate a copy of ``data`` with dotted-path ``overrides`` applied."""
    out = copy.deepcopy(data)
    for dotted, value in (overrides or {}).items():
        set_path(out, dotted, value)
    run_cfg, _ = sim.config.compose.validate(out)
    return run_cfg


def capacity_overrides(fte_per_1000: float | dict[str, float]) -> dict[str, Any]:
    """Overrides giving every staff type this FTE per 1,000 patients (and no per-practice
    absolute FTE that would bypass it)."""
    if not isinstance(fte_per_1000, dict):
        fte_per_1000 = {s: fte_per_1000 for s in ("gp", "nurse", "pharmacist")}
    return {f"site.practice_capacity.{s}.fte_per_1000": v for s, v in fte_per_1000.items()}


def clear_fte_overrides(data: dict[str, Any]) -> dict[str, Any]:
    """Remove per-practice absolute FTE overrides so fte_per_1000 governs every practice."""
    out = copy.deepcopy(data)
    for practice in out["site"]["practices"].values():
        for staff in ("gp", "nurse", "pharmacist"):
            practice.pop(f"{staff}_fte", None)
    return out


def practice_age_share(data: dict[str, Any], code: str) -> np.ndarray:
    """Age mix of a practice by the documented fallback: practice, then locality, then site."""
    site = data["site"]
    practice = site["practices"][code]
    share = (
        practice.get("age_share")
        or site["localities"][practice["locality"]].get("age_share")
        or site["age_share"]
    )
    return np.array([share[b] for b in AGE_BANDS], dtype=float)


def expected_annual_episodes(data: dict[str, Any], code: str) -> float:
    """List size x sum over age bands of (age share x episodes per person-year) x scale."""
    demand = data["assumptions"]["demand"]
    rates = np.array([demand["episodes_per_person_year"][b] for b in AGE_BANDS], dtype=float)
    list_size = data["site"]["practices"][code]["list_size"]
    return float(list_size * (practice_age_share(data, code) * rates).sum() * demand["scale"])


def replication_arrays(result) -> tuple[Any, Any]:
    """(episodes, journeys) of a replication run with ``keep_detail=True``, whichever way the
    model packs its detail (flat, or inside one ``inputs`` record)."""
    detail = result.detail
    if "inputs" in detail:
        return detail["inputs"].episodes, detail["inputs"].journeys
    return detail["episodes"], detail["journeys"]


# --------------------------------------------------------------------------------------------
# Statistical assertions
# --------------------------------------------------------------------------------------------


def binomial_pvalue(k: int, n: int, p: float) -> float:
    """Exact two-sided binomial test (degenerate p handled exactly)."""
    if p <= 0:
        return 1.0 if k == 0 else 0.0
    if p >= 1:
        return 1.0 if k == n else 0.0
    return float(stats.binomtest(int(k), int(n), p).pvalue)


def assert_shares(counts: np.ndarray, probs: np.ndarray, what: str, alpha: float = ALPHA) -> None:
    """Each category's count is consistent with its configured probability: an exact
    binomial test per category at ``alpha`` / categories (Bonferroni)."""
    counts = np.asarray(counts)
    probs = np.asarray(probs, dtype=float)
    n = int(counts.sum())
    assert n > 0, f"{what}: no observations"
    level = alpha / len(probs)
    for i, (k, p) in enumerate(zip(counts, probs, strict=True)):
        pv = binomial_pvalue(int(k), n, float(p))
        assert pv > level, (
            f"{what}: category {i} observed {k}/{n} = {k / n:.4f}, configured {p:.4f} "
            f"(two-sided p = {pv:.2e} <= {level:.1e})"
        )


def poisson_pvalue(k: int, mu: float) -> float:
    """Exact two-sided Poisson test (doubling the smaller tail)."""
    if mu <= 0:
        return 1.0 if k == 0 else 0.0
    lower = stats.poisson.cdf(k, mu)
    upper = stats.poisson.sf(k - 1, mu)
    return float(min(1.0, 2 * min(lower, upper)))


def days_in(k, months: tuple[int, ...]) -> int:
    """Days of a replication's measurement window (``k``: its KPI inputs) whose calendar month
    (1 = January) is in ``months``, counted from the configured start date."""
    start = dt.date.fromisoformat(k.cfg.site.calendar_start)
    return sum(
        (start + dt.timedelta(days=d)).month in months for d in range(k.first_day, k.last_day)
    )
