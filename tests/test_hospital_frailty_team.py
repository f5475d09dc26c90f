"""The frailty team at the A&E front door (comprehensive geriatric assessment, CGA), and
winter in the hospital (length of stay by month).

Expected values are computed here from the configuration and the recorded times (the team's
capacity from clinician-minutes and the assessment time, IC+ places in use from the IC+
stays), never from the team's own code. Four weeks of self-presenting arrivals of the real
site keep each run to a second.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from conftest import SEED, configure
from hospital_helpers import DAY, ED
from test_hospital_emergency_department import as_hospital_arrivals, self_presenting

from sim.config.schema import FRAILTY_BANDS
from sim.core.calendar import Calendar
from sim.core.streams import Streams
from sim.services.hospital.arrivals import (
    generate_self_presenting,
    in_daily_window,
    in_daily_window_at,
)
from sim.services.hospital.intermediate_care import FRONT_DOOR
from sim.services.hospital.kpis import hospital_capacity_costs
from sim.services.hospital.model import draw_patients, run_hospital

FOH = f"{ED}.frailty_front_of_house"
WEEKS = 4
MODERATE = FRAILTY_BANDS.index("moderate")


@pytest.fixture(scope="module")
def month(real_data):
    """Four weeks of self-presenting arrivals (the same patients in every scenario)."""
    run_cfg = configure(real_data)
    return run_cfg.model, self_presenting(run_cfg, WEEKS)


def _run(real_data, sp, overrides=None):
    model = configure(copy.deepcopy(real_data), overrides).model
    cal = Calendar(model.site.calendar_start, 7 * WEEKS, (0, 1, 2, 3, 4))
    arr = as_hospital_arrivals(sp, model)
    draws = draw_patients(arr, model, cal, Streams(SEED, 0))
    return draws, run_hospital(arr, draws, model, cal.run_days * DAY)


def _team(**fields):
    return {f"{FOH}.enabled": True, **{f"{FOH}.{k}": v for k, v in fields.items()}}


def _same_outcomes(a, b):
    for name in ("seen_time", "decision_time", "departure_time", "admitted", "sdec"):
        np.testing.assert_array_equal(getattr(a.ae, name), getattr(b.ae, name), err_msg=name)
    for name in ("row", "request_time", "bed_time", "leave_time"):
        np.testing.assert_array_equal(
            getattr(a.admissions, name), getattr(b.admissions, name), err_msg=name
        )
    for name in ("start", "end", "kind"):
        np.testing.assert_array_equal(a.ic_stays[name], b.ic_stays[name], err_msg=name)


@pytest.mark.parametrize(
    "overrides",
    [
        {"clinicians": 0},  # no team
        {"turnaround_share": 0.0},  # a team that assesses but can turn nobody round
        {
            "home_without_place_share": 0.0,
            "weekdays": ["sat"],
            "open_minute": 0,
            "close_minute": 1,
        },  # open a minute a week: nobody reached in time
    ],  # fmt: skip
    ids=["no_team", "no_turnaround", "closed"],
)
def test_a_team_that_cannot_act_gives_the_baseline_exactly(real_data, month, overrides):
    _, sp = month
    _, base = _run(real_data, sp)
    _, option = _run(real_data, sp, _team(**overrides))
    _same_outcomes(base, option)
    assert not option.ae.turned_round.any()


def test_the_team_turns_round_only_assessed_would_be_admissions(real_data, month):
    _, sp = month
    _, base = _run(real_data, sp)
    share = 0.5
    draws, out = _run(real_data, sp, _team(clinicians=2, turnaround_share=share))
    ae = out.ae
    turned = ae.turned_round
    assert turned.sum() > 20
    eligible = (sp.frailty >= MODERATE) & (sp.time % DAY >= 480) & (sp.time % DAY < 1200)
    np.testing.assert_array_equal(draws.front_of_house, eligible)  # frail, 08:00-20:00 daily
    # Only frail patients the team assessed and who would have been admitted; none admitted.
    assert not (turned & ~(ae.front_of_house & draws.admitted & draws.turn_round)).any()
    assert not (turned & ae.admitted).any() and base.ae.admitted[turned].all()
    # Their CGA finished by the minute the baseline decided to admit them, and they left then.
    cga_end = ae.assessment_time + draws.assessment
    assert (cga_end[turned] <= base.ae.decision_time[turned]).all()
    np.testing.assert_array_equal(ae.departure_time[turned], base.ae.decision_time[turned])
    # A CGA starts at or after arrival, while the team is open, once per patient at most.
    start = ae.assessment_time[ae.front_of_house]
    assert (start >= sp.time[ae.front_of_house]).all()
    assert ((start % DAY >= 480) & (start % DAY < 1200)).all()
    # Turned round with a keyed probability: about `share` of would-be admissions whose CGA
    # finished in time and who could go home (a place free, or no place needed).
    assessed_in_time = ae.front_of_house & draws.admitted & (cga_end <= base.ae.decision_time)
    k, n = turned.sum(), assessed_in_time.sum()
    assert k <= n and k > 0.25 * n  # places are sometimes all taken, so below `share`


def test_assessments_never_exceed_the_team_capacity(real_data, month):
    """One clinician, a fixed 240-minute CGA, open 08:00-20:00: at most ceil(720 / 240) = 3
    CGAs start per clinician per day, and no two run at once."""
    _, sp = month
    minutes, clinicians, open_, close = 240.0, 1, 480, 1200
    draws, out = _run(
        real_data,
        sp,
        _team(clinicians=clinicians, assessment_minutes={"median": minutes, "mean": minutes}),
    )
    np.testing.assert_allclose(draws.assessment[draws.front_of_house], minutes)
    start = np.sort(out.ae.assessment_time[out.ae.front_of_house])
    per_day = math.ceil((close - open_) / minutes) * clinicians
    assert len(start) <= WEEKS * 7 * per_day
    counts = np.bincount((start // DAY).astype(int), minlength=WEEKS * 7)
    assert counts.max() <= per_day
    # Work-conserving: demand (about 7 frail arrivals a day) exceeds capacity on most days.
    assert len(start) > 0.8 * WEEKS * 7 * per_day
    # CGAs in progress at any start never exceed the clinicians on duty.
    running = np.searchsorted(start, start, side="right") - np.searchsorted(
        start + minutes, start, side="right"
    )
    assert running.max() <= clinicians


def test_turned_round_patients_take_only_free_ic_places(real_data, month):
    """Everyone turned round needs a place (none goes home without one): each front-door
    IC+ stay starts at the patient's departure from A&E when a place was free, and with no
    IC+ places nobody is turned round."""
    _, sp = month
    team = _team(clinicians=2, turnaround_share=1.0, home_without_place_share=0.0)
    _, out = _run(real_data, sp, {**team, "site.intermediate_care.places": 20})
    stays = out.ic_stays
    front = stays["kind"] == FRONT_DOOR
    turned = np.flatnonzero(out.ae.turned_round)
    assert front.sum() == len(turned) > 0
    np.testing.assert_array_equal(np.sort(stays["index"][front]), turned)
    np.testing.assert_array_equal(
        np.sort(stays["start"][front]), np.sort(out.ae.departure_time[turned])
    )
    # Places in use just before each front-door start, from the recorded stays: below 20.
    for s in stays["start"][front]:
        in_use = ((stays["start"] < s) & (stays["end"] > s)).sum()
        assert in_use < 20
    _, none = _run(real_data, sp, {**team, "site.intermediate_care.places": 0})
    assert not none.ae.turned_round.any()


def test_team_cost_is_hours_open_times_clinicians(real_data):
    model = configure(
        copy.deepcopy(real_data),
        _team(clinicians=3, running_cost_per_clinician_hour_gbp=125.0),
    ).model
    week = np.ones(7)
    assert hospital_capacity_costs(model, week)["frailty_front_of_house"] == 7 * 12 * 3 * 125.0
    off = configure(copy.deepcopy(real_data), {f"{FOH}.enabled": False}).model
    assert hospital_capacity_costs(off, week)["frailty_front_of_house"] == 0.0


# --------------------------------------------------------------------------------------------
# Winter: length of stay by month
# --------------------------------------------------------------------------------------------


def test_winter_stays_scale_overnight_emergency_stays_by_month(real_data):
    """Stays of the same patients with the configured month profile and with a flat one: an
    overnight stay of an admission arriving in month m is longer by profile[m] / mean(profile)
    exactly; same-day stays and background admissions do not change."""
    run_cfg = configure(real_data)
    model = run_cfg.model
    weeks = 52
    sp = self_presenting(run_cfg, weeks)
    profile = np.array(model.assumptions.admissions.length_of_stay_month_multiplier)
    assert profile.max() > profile.min()  # the default has a winter
    flat_months = {"assumptions.admissions.length_of_stay_month_multiplier": [1] * 12}
    flat = configure(copy.deepcopy(real_data), flat_months).model
    cal = Calendar(model.site.calendar_start, 7 * weeks, (0, 1, 2, 3, 4))
    arr = as_hospital_arrivals(sp, model)
    winter = draw_patients(arr, model, cal, Streams(SEED, 0))
    plain = draw_patients(arr, flat, cal, Streams(SEED, 0))
    n = len(sp)
    month = cal.month[(sp.time // DAY).astype(int)]
    night = ~plain.same_day[:n]
    np.testing.assert_allclose(
        winter.stay[:n][night] / plain.stay[:n][night], (profile / profile.mean())[month[night]]
    )
    np.testing.assert_array_equal(winter.stay[:n][~night], plain.stay[:n][~night])
    np.testing.assert_array_equal(winter.stay[n:], plain.stay[n:])  # background
    # The year's mean multiplier is 1: a whole year of arrivals keeps its mean stay.
    assert profile.mean() == pytest.approx(1.0, abs=1e-12)
    december_to_february = np.isin(month, (11, 0, 1)) & night
    june_to_august = np.isin(month, (5, 6, 7)) & night
    ratio = (
        winter.stay[:n][december_to_february].sum() / plain.stay[:n][december_to_february].sum()
    ) / (winter.stay[:n][june_to_august].sum() / plain.stay[:n][june_to_august].sum())
    assert ratio == pytest.approx(profile[[11, 0, 1]].mean() / profile[[5, 6, 7]].mean())


def test_winter_stays_fill_winter_beds(real_data):
    """A year of self-presenting patients (flat A&E months, so the stays are the only season)
    in a hospital with beds to spare (no queue): the winter profile raises December-February
    occupancy and lowers June-August occupancy by the extra (or fewer) bed days that fall in
    the season, counted from each admitted patient's drawn stays as the interval between the
    end of their flat-profile stay and the end of their winter-profile stay, both from their
    arrival (discharge rounds to the next discharge window: 15% tolerance)."""
    weeks = 52
    spare = {
        "site.acute_beds.general_and_acute": 2000,
        "site.acute_beds.escalation_spaces": 0,
        "assumptions.ae.month_multiplier": [1.0] * 12,
    }
    flat_months = {"assumptions.admissions.length_of_stay_month_multiplier": [1.0] * 12}
    winter_cfg = configure(copy.deepcopy(real_data), spare).model
    flat_cfg = configure(copy.deepcopy(real_data), {**spare, **flat_months}).model
    cal = Calendar(winter_cfg.site.calendar_start, 7 * weeks, (0, 1, 2, 3, 4))
    sp = generate_self_presenting(winter_cfg, cal, Streams(SEED, 0))
    arr = as_hospital_arrivals(sp, winter_cfg)
    days = np.arange(cal.run_days + 1, dtype=float) * DAY
    month = cal.month[: cal.run_days]
    seasons = {"winter": np.isin(month, (11, 0, 1)), "summer": np.isin(month, (5, 6, 7))}
    occupied, draws = {}, {}
    for name, model in (("winter", winter_cfg), ("flat", flat_cfg)):
        draws[name] = draw_patients(arr, model, cal, Streams(SEED, 0))
        h = run_hospital(arr, draws[name], model, cal.run_days * DAY)
        assert np.isfinite(h.admissions.bed_time).all()  # nobody queued
        daily = h.beds_occupied(days)
        occupied[name] = {s: daily[d].mean() for s, d in seasons.items()}
    n = len(sp)
    admitted = draws["flat"].admitted & ~draws["flat"].same_day[:n]
    t = sp.time[admitted]
    end_flat = t + draws["flat"].stay[:n][admitted]
    end_winter = t + draws["winter"].stay[:n][admitted]
    for season, in_season in seasons.items():
        lo, hi = np.flatnonzero(in_season)[[0, -1]] * DAY + [0, DAY]  # one run of days
        assert in_season.sum() == (hi - lo) / DAY
        longer = np.clip(end_winter, lo, hi) - np.clip(end_flat, lo, hi)  # < 0 if shorter
        expected = longer.sum() / (hi - lo)
        got = occupied["winter"][season] - occupied["flat"][season]
        assert abs(got - expected) <= 0.15 * abs(expected), (season, got, expected)
    assert occupied["flat"]["winter"] < occupied["winter"]["winter"]
    assert occupied["flat"]["summer"] > occupied["winter"]["summer"]


@pytest.mark.parametrize(
    ("open_minute", "close_minute", "weekdays"),
    [
        (480, 1200, ["mon", "tue", "wed", "thu", "fri"]),
        (1200, 480, ["sat", "sun"]),  # overnight, weekends
        (600, 600, ["mon"]),  # equal minutes: never open
        (0, 1440, ["mon", "wed", "fri", "sun"]),
    ],
)
def test_one_minute_window_agrees_with_the_vectorised_rule(open_minute, close_minute, weekdays):
    # The team asks whether it is open at one minute during the run (in_daily_window_at);
    # the same rule over arrays (in_daily_window) decides who is eligible. They must agree,
    # at and either side of every boundary, over two weeks (days before the run too).
    rng = np.random.default_rng(3)
    days = np.arange(-7, 14) * DAY
    edges = np.array([0, open_minute, close_minute, 1440], dtype=float)
    times = np.concatenate(
        [
            (days[:, None] + edges[None, :]).ravel(),
            np.nextafter((days[:, None] + edges[None, :]).ravel(), -np.inf),
            rng.uniform(-7 * DAY, 14 * DAY, 5000),
        ]
    )
    expected = in_daily_window(times, open_minute, close_minute, weekdays)
    got = [in_daily_window_at(t, open_minute, close_minute, weekdays) for t in times.tolist()]
    assert got == expected.tolist()
    assert 0 < expected.sum() < len(times) or open_minute == close_minute
