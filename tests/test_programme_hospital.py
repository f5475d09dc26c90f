"""Hospital capacities, clinics and the urgent treatment centre phasing in over a programme.

The hand-built tests give each expected minute in advance: a capacity change happens at the
start of a week (Monday 00:00); a rise gives the new places at once to those waiting; a cut
never ends a stay, the pool closes places as they free. The whole-system tests compare a
phased option with the baseline (identical by common random numbers before the start) and
with the option in place throughout (the same once the waiting list built up before the start
has cleared), and its cost with a hand-computed figure.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SEED
from hospital_helpers import DAY, ED, attendances, hospital_model, requests, run
from system_helpers import replicate, run_config

from sim.config.phasing import unphaseable
from sim.core.calendar import MINUTES_PER_DAY
from sim.core.money import capacity_costs
from sim.services.hospital.capacity import capacity_schedule
from sim.services.hospital.discharge import STEP_DOWN

WEEK = 7 * DAY
IC = "site.intermediate_care.places"
BEDS = "site.acute_beds.general_and_acute"


def _ic(real_data, places: int, wait_days: float = 60):
    return hospital_model(
        real_data, {IC: places, "assumptions.intermediate_care.step_up_max_wait_days": wait_days}
    )


# --------------------------------------------------------------------------------------------
# The pools, by hand
# --------------------------------------------------------------------------------------------


def test_ic_places_opened_in_week_one_go_at_once_to_those_waiting(real_data):
    one, three = _ic(real_data, 1), _ic(real_data, 3)
    up = requests([0.0, 1.0, 2.0])
    out = run(one, attendances([]), step_ups=up, step_up_stay=30 * DAY, run_minutes=3 * WEEK,
              weekly=[one, three])  # fmt: skip
    np.testing.assert_array_equal(out.step_ups.start_time, [0.0, WEEK, WEEK])
    # with one place throughout the second waits for the first to leave
    same = run(one, attendances([]), step_ups=up, step_up_stay=30 * DAY, run_minutes=3 * WEEK)
    assert same.step_ups.start_time[1] == 30 * DAY
    assert out.ic_places == 3 and out.capacity["ic_places"].values == (1, 3)


def test_ic_places_cut_in_week_one_close_as_they_free(real_data):
    """Three places, cut to one from day 7 while three people hold them (stays ending on days
    8, 9 and 10): nobody is moved out; the places freed on days 8 and 9 close, so a request
    made on day 7.5 waits until day 10 (day 8 with three places)."""
    three, one = _ic(real_data, 3), _ic(real_data, 1)
    up = requests([0.0, 1.0, 2.0, 7.5 * DAY])
    stays = [8 * DAY, 9 * DAY - 1, 10 * DAY - 2, DAY]
    kw = {"step_up_stay": stays, "run_minutes": 4 * WEEK}
    cut = run(three, attendances([]), step_ups=up, weekly=[three, one], **kw)
    kept = run(three, attendances([]), step_ups=up, **kw)
    np.testing.assert_array_equal(kept.step_ups.start_time, [0, 1, 2, 8 * DAY])
    np.testing.assert_array_equal(cut.step_ups.start_time, [0, 1, 2, 10 * DAY])
    np.testing.assert_array_equal(cut.ic_stays["end"][:3], [8 * DAY, 9 * DAY, 10 * DAY])
    assert cut.end_state["ic_places_free"] == 1 and cut.ic_places == 1


def test_social_care_places_follow_the_week(real_data):
    """Step-downs by the social care pathway wait in their bed for a place: one place in week
    0, two from week 1."""
    from sim.services.hospital.discharge import SOCIAL_CARE

    one = hospital_model(real_data, {"site.social_care.places": 1})
    two = hospital_model(real_data, {"site.social_care.places": 2})
    direct = requests([0.0, 1.0])
    out = run(one, attendances([]), direct=direct, stay=60.0, pathway=SOCIAL_CARE,
              place=30 * DAY, run_minutes=3 * WEEK, weekly=[one, two])  # fmt: skip
    place = out.admissions.place_time
    assert place[0] == pytest.approx(60.0, abs=1.0) and place[1] == WEEK


def test_beds_opened_take_the_queue_and_beds_closed_wait_for_their_patient(real_data):
    one = hospital_model(real_data, {BEDS: 1})
    two = hospital_model(real_data, {BEDS: 2})
    direct = requests([0.0, 1.0])
    opened = run(one, attendances([]), direct=direct, stay=20 * DAY, run_minutes=4 * WEEK,
                 weekly=[one, two])  # fmt: skip
    np.testing.assert_array_equal(opened.admissions.bed_time, [0.0, WEEK])
    # two beds cut to one from day 7: both patients keep theirs; the bed freed on day 8
    # closes, so a patient asking on day 7.5 gets the one freed on day 9
    direct = requests([0.0, 1.0, 7.5 * DAY])
    stays = [8 * DAY, 9 * DAY - 1, DAY]
    closed = run(two, attendances([]), direct=direct, stay=stays, run_minutes=4 * WEEK,
                 weekly=[two, one])  # fmt: skip
    kept = run(two, attendances([]), direct=direct, stay=stays, run_minutes=4 * WEEK)
    assert kept.admissions.bed_time[2] == 8 * DAY
    assert closed.admissions.bed_time[2] == 9 * DAY
    np.testing.assert_array_equal(closed.admissions.leave_time[:2], [8 * DAY, 9 * DAY])
    assert closed.beds == 1 and closed.end_state["beds_free"] == 1


def test_escalation_spaces_opened_later_take_those_who_have_waited(real_data):
    """No escalation spaces in week 0, one from week 1: an emergency waiting since minute 0
    for the only (occupied) bed moves into the new space at the start of week 1."""
    over = {BEDS: 1, "site.acute_beds.escalate_after_hours": 12.0}
    none = hospital_model(real_data, {**over, "site.acute_beds.escalation_spaces": 0})
    one = hospital_model(real_data, {**over, "site.acute_beds.escalation_spaces": 1})
    direct = requests([0.0, 1.0])
    out = run(none, attendances([]), direct=direct, stay=20 * DAY, run_minutes=4 * WEEK,
              weekly=[none, one])  # fmt: skip
    assert out.admissions.bed_time[1] == WEEK  # its stay starts in the escalation space
    assert out.admissions.core_time[1] == 20 * DAY  # and moves to the bed when it frees


def test_sdec_opens_when_the_option_starts(real_data):
    sdec = {"spaces": 1, "open_minute": 480, "close_minute": 1200,
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}  # fmt: skip
    shut = hospital_model(real_data, {f"{ED}.sdec.spaces": 0})
    open_ = hospital_model(real_data, {f"{ED}.sdec": sdec})
    times = [2 * DAY + 600, WEEK + 2 * DAY + 600]  # Wednesday 10:00 of weeks 0 and 1
    out = run(shut, attendances(times), admitted=True, same_day=True, run_minutes=3 * WEEK,
              weekly=[shut, open_])  # fmt: skip
    np.testing.assert_array_equal(out.ae.sdec, [False, True])
    # opening hours too: from week 1 SDEC shuts at 09:00
    early = hospital_model(real_data, {f"{ED}.sdec": {**sdec, "close_minute": 540}})
    out = run(open_, attendances(times), admitted=True, same_day=True, run_minutes=3 * WEEK,
              weekly=[open_, early])  # fmt: skip
    np.testing.assert_array_equal(out.ae.sdec, [True, False])


def test_a_place_is_only_ever_given_below_the_capacity_of_that_moment(real_data):
    """Random requests through IC+ places that change every week (up and down): every stay
    starts with fewer places in use than were open at that minute."""
    rng = np.random.default_rng(SEED)
    sizes = (6, 2, 7, 1, 4, 3)  # cuts and rises
    weekly = [_ic(real_data, int(n), wait_days=5) for n in sizes]
    up = requests(np.sort(rng.uniform(0, 6 * WEEK, 300)))
    direct = requests(np.sort(rng.uniform(0, 6 * WEEK, 100)))
    out = run(weekly[0], attendances([]), direct=direct, step_ups=up, stay=DAY,
              pathway=STEP_DOWN, place=rng.exponential(3 * DAY, 400),
              step_up_stay=rng.exponential(3 * DAY, 300), run_minutes=6 * WEEK,
              weekly=weekly)  # fmt: skip
    s, e = out.ic_stays["start"], out.ic_stays["end"]
    assert len(s) > 100
    for t in s[s < 6 * WEEK]:
        in_use = int(((s < t) & (e > t)).sum())
        open_then = sizes[int(t // WEEK)]
        assert in_use < open_then, (t, in_use, open_then)


# --------------------------------------------------------------------------------------------
# The schedule
# --------------------------------------------------------------------------------------------


def test_a_schedule_changes_only_when_the_capacity_does_and_averages_exactly(real_data):
    a, b = _ic(real_data, 10), _ic(real_data, 20)
    sched = capacity_schedule([a, a, b, b, a], lambda c: c.site.intermediate_care.places, 1e9)
    assert sched.times == (0.0, 2 * WEEK, 4 * WEEK) and sched.values == (10, 20, 10)
    # weeks 1 to 3: 10, 20, 20 -> 50/3
    mean = sched.mean_between(np.array([WEEK, 4 * WEEK, 5 * WEEK]))
    np.testing.assert_allclose(mean, [50 / 3, 10.0])
    flat = capacity_schedule([a] * 5, lambda c: c.site.intermediate_care.places, 1e9)
    assert flat.constant and flat.mean_between(np.array([0.0, 3.5 * WEEK]))[0] == 10.0


# --------------------------------------------------------------------------------------------
# What may phase in
# --------------------------------------------------------------------------------------------

OPTIONS_NOW_PHASEABLE = (
    "ic_expansion",
    "discharge_to_assess",
    "more_acute_beds",
    "sdec_extended",
    "frailty_front_of_house",
    "rac_weekend",
    "urgent_treatment_centre",
)


@pytest.mark.parametrize("name", OPTIONS_NOW_PHASEABLE)
def test_hospital_clinic_and_utc_options_can_phase_in(name):
    run_cfg = run_config((f"scenario=[{name}]", f"scenario.{name}.start_week=10"))
    assert unphaseable(run_cfg.options[name].changes) == []
    assert run_cfg.model.phasing is not None and run_cfg.model.phasing.gradual


def test_the_frailty_teams_size_and_effect_still_cannot_phase_in():
    """Its opening follows the week; its size and what its assessment can do do not (yet)."""
    changes = {"site": {"emergency_department": {"frailty_front_of_house": {
        "clinicians": 3, "turnaround_share": 0.3}}}}  # fmt: skip
    assert unphaseable(changes) == [
        "site.emergency_department.frailty_front_of_house.clinicians",
        "site.emergency_department.frailty_front_of_house.turnaround_share",
    ]


# --------------------------------------------------------------------------------------------
# Whole system: IC+ expansion from programme week 26
# --------------------------------------------------------------------------------------------

RUN_WEEKS = 104
START = 26
# The small test site (one practice per locality) uses 10 to 14 IC+ places when places are
# never short; 5 places are always full, 20 never.
PLACES, EXPANDED = 5, 20
SMALL_IC = (f"{IC}={PLACES}", f"scenario.ic_expansion.changes.{IC}={EXPANDED}")


def _ic_runs():
    option = ("scenario=[ic_expansion]", *SMALL_IC)
    later = replicate((*option, f"scenario.ic_expansion.start_week={START}"),
                      warmup_weeks=1, run_weeks=RUN_WEEKS)  # fmt: skip
    base = replicate(SMALL_IC[:1], warmup_weeks=1, run_weeks=RUN_WEEKS)
    full = replicate(option, warmup_weeks=1, run_weeks=RUN_WEEKS)
    return later, base, full


def _ic_used(res, lo_week: int, hi_week: int) -> float:
    """Mean IC+ places in use over programme weeks ``lo_week .. hi_week - 1``."""
    k = res.detail["inputs"]
    h = k.hospital
    edges = (k.first_day + 7 * np.array([lo_week, hi_week])) * MINUTES_PER_DAY
    return float(h.places_used(h.ic_stays, edges.astype(float))[0])


def test_ic_expansion_from_week_26_is_the_baseline_before_and_the_option_after():
    later, base, full = _ic_runs()
    k, kb = later.detail["inputs"], base.detail["inputs"]
    start = (k.first_day + 7 * START) * MINUTES_PER_DAY
    # Before week 26 the hospital is the baseline's, stay for stay (common random numbers):
    # the extra places exist only from then.
    h, hb = k.hospital, kb.hospital
    before, before_b = h.ic_stays["start"] < start, hb.ic_stays["start"] < start
    np.testing.assert_array_equal(h.ic_stays["start"][before], hb.ic_stays["start"][before_b])
    np.testing.assert_array_equal(h.ic_stays["index"][before], hb.ic_stays["index"][before_b])
    assert h.capacity["ic_places"].values == (PLACES, EXPANDED)
    assert h.capacity["ic_places"].times == (0.0, float(start))
    # The baseline's places are always full, so the new ones fill at once with the patients
    # who waited for them (step-downs wait in their bed without limit): for a while more are
    # in use than with the option throughout, then, the backlog cleared, as many (year 2,
    # within 5%: the two runs differ only by what happened before week 26).
    backlog, backlog_full = (_ic_used(r, START, START + 8) for r in (later, full))
    assert backlog > backlog_full + 2, (backlog, backlog_full)
    used, used_base, used_full = (_ic_used(r, 52, RUN_WEEKS) for r in (later, base, full))
    assert used_base == pytest.approx(PLACES, rel=0.02)
    assert used == pytest.approx(used_full, rel=0.05), (used, used_full)
    assert used > used_base + 3, (used, used_base)
    # never more in use than open: at most PLACES in any census hour before week 26
    per_hour = np.diff(h.census["ic_minutes"]) / 60.0
    assert per_hour[: int(start // 60)].max() <= PLACES + 1e-9
    assert per_hour[int(start // 60) :].max() > PLACES


def test_ic_expansion_from_week_26_costs_its_places_only_from_then():
    """Hand-computed: 5 places for 26 weeks and 20 for 78 weeks at £205 a place-day."""
    later, base, _ = _ic_runs()
    k = later.detail["inputs"]
    cost = capacity_costs(k, {})["intermediate_care"]
    assert cost == pytest.approx((5 * 182 + 20 * 546) * 205.0)
    kb = base.detail["inputs"]
    assert capacity_costs(kb, {})["intermediate_care"] == pytest.approx(5 * 728 * 205.0)
    # the occupancy KPI is of the places open: time-weighted (5 x 26 + 20 x 78) / 104
    open_places = (5 * 26 + 20 * 78) / 104
    assert later.kpis["ic.occupancy"] == pytest.approx(
        min(_ic_used(later, 0, RUN_WEEKS), open_places) / open_places
    )
    # and in year 1 (26 weeks at 5, 26 at 20) and year 2 (20 throughout)
    for year, places in ((1, 12.5), (2, 20.0)):
        lo = 52 * (year - 1)
        used = _ic_used(later, lo, lo + 52)
        assert later.kpis_by_year[year]["ic.occupancy"] == pytest.approx(min(used, places) / places)
    assert later.kpis["cost.services_annual_gbp"] > base.kpis["cost.services_annual_gbp"]


def test_a_ramp_opens_places_week_by_week_in_between():
    """ic_expansion from week 10 over 10 weeks: the hospital's places rise 115 -> 145 a step
    a week, each week 115 + 30 x its effect (mid-week), whole places rounded half up."""
    from sim.core.programme import weekly_configs
    from sim.core.replication import make_calendar
    from sim.services.hospital.capacity import CAPACITIES

    cfg = run_config(("scenario=[ic_expansion]", "scenario.ic_expansion.start_week=10",
                      "scenario.ic_expansion.ramp_weeks=10")).model  # fmt: skip
    cal = make_calendar(cfg, 1, 52)
    sched = capacity_schedule(weekly_configs(cfg, cal).by_week, CAPACITIES["ic_places"], 1e9)
    effects = [min((k + 0.5) / 10, 1.0) for k in range(11)]  # programme weeks 10 .. 20
    expected = [115] + [int(np.floor(115 + e * (145 - 115) + 0.5)) for e in effects]
    assert list(sched.values) == expected and expected[-1] == 145
    assert all(115 < v < 145 for v in expected[1:-1])
    # programme week w starts after the one warm-up week
    assert sched.times[1:] == tuple(float((1 + 10 + k) * WEEK) for k in range(11))


# --------------------------------------------------------------------------------------------
# Whole system: clinic sessions and the urgent treatment centre from programme week 4
# --------------------------------------------------------------------------------------------

LATER = 4


def _later(option: str) -> tuple:
    """(phased from week 4, baseline, option throughout): 8 measured weeks."""
    runs = (
        (f"scenario=[{option}]", f"scenario.{option}.start_week={LATER}"),
        (),
        (f"scenario=[{option}]",),
    )
    return tuple(replicate(o, warmup_weeks=1, run_weeks=8).detail["inputs"] for o in runs)


def _slots(k, service: str, lo_week: int, hi_week: int) -> int:
    books = k.service_books[service].books
    lo, hi = k.first_day + 7 * lo_week, k.first_day + 7 * hi_week
    return sum(b.slots_between(lo, hi) for b in books)


def test_clinic_sessions_added_later_are_held_and_referred_to_only_from_the_start_week():
    k, kb, kf = _later("rac_weekend")
    assert _slots(k, "rapid_assessment", 0, LATER) == _slots(kb, "rapid_assessment", 0, LATER)
    assert _slots(k, "rapid_assessment", LATER, 8) == _slots(kf, "rapid_assessment", LATER, 8)
    assert _slots(kf, "rapid_assessment", LATER, 8) > 2 * _slots(kb, "rapid_assessment", LATER, 8)
    # Referrals: the clinic's referral shares rise from the start week (by the day referred)
    start = (k.first_day + 7 * LATER) * MINUTES_PER_DAY

    def referred(kk, before: bool) -> int:
        t = kk.journeys.rac_referral_time
        t = t[~np.isnan(t)]
        return int((t < start).sum() if before else (t >= start).sum())

    assert referred(k, True) == referred(kb, True) < referred(kf, True)
    assert referred(k, False) > 2 * referred(kb, False)
    # Clinic sessions are costed on the days held, at the week's configuration: two sites,
    # one session each weekday before the start week; two each weekday and one each weekend
    # day after; none on a bank holiday
    from sim.services.rapid_assessment import running_cost

    sessions = 0
    for day in range(k.first_day, k.last_day):
        weekday, after = day % 7, day >= k.first_day + 7 * LATER
        if not k.calendar.is_bank_holiday[day]:
            sessions += 2 * ((2 if after else 1) if weekday < 5 else (1 if after else 0))
    cost = k.cfg.site.rapid_assessment.running_cost_per_session_gbp
    assert running_cost(k) == pytest.approx(sessions * cost)


def test_an_urgent_treatment_centre_opened_later_sees_nobody_before_its_start_week():
    from sim.services.urgent_treatment_centre import NAME, running_cost

    k, kb, kf = _later(NAME)
    assert _slots(k, NAME, 0, LATER) == 0
    assert _slots(k, NAME, LATER, 8) == _slots(kf, NAME, LATER, 8) > 0
    start = (k.first_day + 7 * LATER) * MINUTES_PER_DAY
    sj = k.journeys
    node = k.node_code(NAME)
    into = sj.flow_to == node
    when = k.episodes.time[sj.flow_episode[into]]
    assert (when >= start - MINUTES_PER_DAY).all()  # nobody seen there before it opens
    full_into = kf.journeys.flow_to == node
    full_when = kf.episodes.time[kf.journeys.flow_episode[full_into]]
    assert (full_when < start).sum() > 0
    # from its start as many as with it open throughout (9 and 9 with this seed: the runs
    # differ only by what happened before; a same-day book carries no backlog)
    assert (when >= start).sum() == pytest.approx((full_when >= start).sum(), rel=0.2)
    walk = k.service_results[NAME]
    assert not (walk.diverted & (walk.arrival_time < start)).any()
    assert (walk.diverted & (walk.arrival_time >= start)).sum() > 0
    # Its running cost: 84 opening hours a week for the 4 weeks open, none before
    utc = kf.cfg.site.urgent_treatment_centre
    assert running_cost(k) == pytest.approx(84 * (8 - LATER) * utc.running_cost_per_open_hour_gbp)
    assert running_cost(kf) == pytest.approx(84 * 8 * utc.running_cost_per_open_hour_gbp)


def test_the_frailty_team_starting_later_sees_attenders_only_from_its_start_week():
    """Its opening follows the week a patient arrives; its assessments, and its hours' cost,
    from then on only (84 hours a week x 2 clinicians at £125 an hour, hand-computed)."""
    from sim.services.hospital.kpis import hospital_capacity_costs

    k, kb, kf = _later("frailty_front_of_house")
    h, hf = k.hospital, kf.hospital
    start = (k.first_day + 7 * LATER) * MINUTES_PER_DAY
    np.testing.assert_array_equal(h.attendances.time, hf.attendances.time)
    before = h.attendances.time < start
    assert not h.ae.front_of_house[before].any() and hf.ae.front_of_house[before].sum() > 20
    # From then on the team assesses about as many as when in place all along (whether it
    # reaches a patient in time depends a little on the rest of the hospital)
    later_n, full_n = h.ae.front_of_house[~before].sum(), hf.ae.front_of_house[~before].sum()
    assert later_n > 20 and abs(later_n - full_n) <= 0.05 * full_n
    cost = capacity_costs(k, {})["frailty_front_of_house"]
    foh = kf.cfg.site.emergency_department.frailty_front_of_house
    hour = foh.clinicians * foh.running_cost_per_clinician_hour_gbp
    assert foh.clinicians == 2 and hour == 250
    assert cost == pytest.approx(84 * (8 - LATER) * hour)
    full_week = hospital_capacity_costs(kf.cfg, np.ones(7))["frailty_front_of_house"]
    assert full_week == pytest.approx(84 * hour)


def test_sdec_extended_later_opens_its_evening_hours_from_the_start_week():
    """sdec_extended keeps SDEC open until midnight (20:00 today): nobody goes to SDEC after
    20:00 before the start week; from it, some do."""
    k, _, kf = _later("sdec_extended")
    h = k.hospital
    decided = h.ae.decision_time
    start = (k.first_day + 7 * LATER) * MINUTES_PER_DAY
    evening = (decided % MINUTES_PER_DAY) >= 20 * 60
    took = h.ae.sdec & evening
    assert not (took & (decided < start)).any()
    assert (took & (decided >= start)).sum() > 5
    assert (kf.hospital.ae.sdec & evening & (decided < start)).sum() > 5
    assert h.capacity["sdec_spaces"].values == (8, 12)
