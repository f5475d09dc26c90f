"""When requests reach practices, against the published figures: Monday's share of the
Monday-Friday requests (BJGP19 27.6% of weekday online requests; GP Access 28%) and the Monday
08:00-09:00 rush (28% x 30% = 8.4% of the week, D). The tolerances are the calibration file's
(conf/calibration/england_2024.yaml), read from there, not written here.

Shares are counted here from the episodes' first request times, not by the KPI code. The run
covers September-October 2025 (no bank holidays) so every Monday is an ordinary one; the
published figures include the odd bank-holiday Monday, which lowers Monday's share by a few
tenths of a point at most (4 of 52 Mondays a year, their needs moving to Tuesday).
"""

from __future__ import annotations

import numpy as np
import pytest
from system_helpers import TWO_PER_LOCALITY, replicate, run_config

from sim.core.calendar import MINUTES_PER_DAY

AUTUMN = ("site.calendar_start=2025-09-01",)


def _target(kpi: str) -> tuple[float, float]:
    (t,) = [t for t in run_config().calibration.targets if t.kpi == kpi]
    return t.value, t.tolerance


def _shares(overrides: tuple[str, ...]) -> tuple[float, float, int]:
    res = replicate(AUTUMN + overrides, TWO_PER_LOCALITY, warmup_weeks=1, run_weeks=8)
    k = res.detail["inputs"]
    first = k.journeys.first_request_time
    first = first[k.in_window(np.nan_to_num(first, nan=-1.0))]
    weekday = (first // MINUTES_PER_DAY).astype(np.int64) % 7
    minute = first % MINUTES_PER_DAY
    monday = weekday == 0
    rush = monday & (minute >= 8 * 60) & (minute < 9 * 60)
    return monday.sum() / (weekday < 5).sum(), rush.sum() / len(first), len(first)


def test_monday_and_the_monday_morning_rush_are_as_published():
    monday, rush, n = _shares(())
    assert n > 20_000  # binomial sd of the Monday share under 0.4 points
    value, tol = _target("practice.monday_request_share")
    assert monday == pytest.approx(value, abs=tol), monday
    value, tol = _target("practice.monday_8to9_request_share")
    assert rush == pytest.approx(value, abs=tol), rush


def test_the_check_fails_when_every_waiting_need_rings_at_opening():
    """The mechanism the issue found (needs that waited over the weekend all ring at 08:00 on
    Monday): the Monday-morning rush is then far above the published share."""
    _, rush, _ = _shares(("assumptions.demand.waiting_request_hour_share=[1.0]",))
    value, tol = _target("practice.monday_8to9_request_share")
    assert rush > value + tol, rush
