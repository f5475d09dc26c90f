"""The urgent treatment centre option (sim/services/urgent_treatment_centre.py): who it sees,
when, within what capacity, what it costs, and that without it nothing changes.

Each expectation is worked out here from the configuration and the run's raw arrays
(``keep_detail=True``), not taken from the module under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.config.compose import compose_validated
from sim.config.schema import ConfigError
from sim.core.calendar import MINUTES_PER_DAY, WEEKS_PER_YEAR
from sim.core.flows import NODE
from sim.core.replication import run_replication
from sim.core.streams import keyed_uniforms
from sim.services.hospital.admission import admission_probability
from sim.services.hospital.arrivals import SELF_PRESENTING

WARMUP, RUN = 2, 8
UTC = "urgent_treatment_centre"
OPTION = [f"scenario=[{UTC}]"]


def run(overrides, seed=20251124):
    _, run_cfg, _ = compose_validated(overrides)
    res = run_replication(run_cfg.model, seed, 0, WARMUP, RUN, keep_detail=True)
    return run_cfg.model, res, res.detail["inputs"]


@pytest.fixture(scope="module")
def baseline():
    return run([])


@pytest.fixture(scope="module")
def with_utc():
    return run(OPTION)


def test_without_the_option_the_utc_reports_nothing(baseline):
    cfg, res, k = baseline
    assert not any(key.startswith("utc.") for key in res.kpis)
    assert UTC not in res.ledger
    assert not any(UTC in pair for pair in res.flows)
    assert k.service_books[UTC].appointment_books() == []


def test_the_option_opens_it_twelve_hours_every_day_for_its_locality(with_utc):
    cfg, _, _ = with_utc
    utc = cfg.site.urgent_treatment_centre
    assert utc.localities == ["chester_le_street"] and utc.clinicians == 3
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        hours = sum(w.end_minute - w.start_minute for w in utc.opening[day]) / 60
        assert hours >= 12, day  # the NHS England standard: at least 12 hours, 7 days


def test_episodes_seen_there_come_from_its_locality_by_its_routes(with_utc):
    cfg, res, k = with_utc
    sj, ep = k.journeys, k.episodes
    seen = np.flatnonzero(sj.outcome == _state(UTC))
    assert len(seen) > 20
    localities = list(cfg.site.localities)
    practice_locality = np.array(
        [localities.index(p.locality) for p in cfg.site.practices.values()]
    )
    assert (practice_locality[ep.practice[seen]] == localities.index("chester_le_street")).all()
    into = sj.flow_to == NODE[UTC]
    origins = set(sj.flow_from[into].tolist())
    assert origins <= {NODE["nhs111"], NODE["practice"], NODE["need_out_of_hours"]}
    assert NODE["nhs111"] in origins and NODE["practice"] in origins
    # every episode that entered the centre ended there, and once
    assert sorted(sj.flow_episode[into].tolist()) == sorted(seen.tolist())
    assert res.ledger[UTC] == int((k.in_window(ep.time)[seen]).sum())


def test_patients_a_and_e_would_admit_are_sent_on_not_seen(with_utc):
    """A&E's own admission draw for an episode: the displaced probability for walk-ins, by
    age and frailty for NHS 111's A&E dispositions. None the centre saw would have been
    admitted."""
    cfg, _, k = with_utc
    sj, ep = k.journeys, k.episodes
    into = sj.flow_to == NODE[UTC]
    episodes, origin = sj.flow_episode[into], sj.flow_from[into]
    u_admit = keyed_uniforms(ep.key[episodes], "ae_admit")
    by_age = admission_probability(
        ep.age_band[episodes], ep.frailty[episodes], np.zeros(len(episodes), bool), cfg
    )
    p = np.where(
        origin == NODE["nhs111"], by_age, cfg.assumptions.ae.displaced_admission_probability
    )
    assert (u_admit >= p).all()


def test_walk_ins_are_minors_in_opening_hours_seen_within_four_hours(with_utc):
    cfg, _, k = with_utc
    walk_ins = k.service_results[UTC]
    diverted = walk_ins.diverted
    assert diverted.sum() > 10
    arrival, seen = walk_ins.arrival_time[diverted], walk_ins.seen_time[diverted]
    wait = seen - arrival
    assert (wait >= 0).all() and (
        wait <= cfg.assumptions.urgent_treatment_centre.max_wait_minutes
    ).all()
    minute_of_day = seen % MINUTES_PER_DAY
    assert (minute_of_day >= 480).all() and (minute_of_day < 1200).all()
    assert (np.floor(seen / MINUTES_PER_DAY) == np.floor(arrival / MINUTES_PER_DAY)).all()


def test_the_same_patients_minus_those_diverted_reach_a_and_e(baseline, with_utc):
    """Common random numbers: the self-presenting attendances are the baseline's, less the
    walk-ins the centre took."""
    _, _, kb = baseline
    _, _, ku = with_utc
    att_b, att_u = kb.hospital.attendances, ku.hospital.attendances
    base = att_b.time[att_b.source == SELF_PRESENTING]
    walk_ins = ku.service_results[UTC]
    np.testing.assert_array_equal(walk_ins.arrival_time, base)
    left = att_u.time[att_u.source == SELF_PRESENTING]
    np.testing.assert_array_equal(left, base[~walk_ins.diverted])


def test_attendances_never_exceed_its_slots(with_utc):
    """A centre with one slot a day for the patients modelled (fewer than come) fills up:
    every slot is used at most once, and it sees fewer than the one with the default share."""
    _, full_res, _ = with_utc
    positions_a_week = 12 * 3 * 7  # 20-minute slot positions, 12 hours, 7 days
    share = 7 / (3 * positions_a_week)  # 3 clinicians: 7 slots a week
    cfg, res, k = run(
        OPTION + [f"site.urgent_treatment_centre.share_of_slots_for_ae_substitutes={share}"]
    )
    slots = k.service_books[UTC].slots_between(k.first_day, k.last_day)
    assert slots == 7 * RUN
    assert full_res.kpis["utc.attendances_per_week"] > 7  # demand exceeds the slots
    assert 0.5 < res.kpis["utc.utilisation"] <= 1
    assert res.kpis["utc.attendances_per_week"] <= 7


def test_its_running_cost_is_its_opening_hours(baseline, with_utc):
    """84 opening hours a week at £390 an hour, nothing else added to the services' cost."""
    _, b, _ = baseline
    _, u, _ = with_utc
    expected = 84 * 390 * WEEKS_PER_YEAR
    extra = u.kpis["cost.services_annual_gbp"] - b.kpis["cost.services_annual_gbp"]
    assert extra == pytest.approx(expected, rel=1e-9)


def test_it_avoids_attendances_not_admissions(baseline, with_utc):
    """It sees patients A&E would not admit: A&E attendances fall by what it saw, admissions
    do not fall. They are not exactly equal: in the coupled hospital a quieter A&E loses fewer
    patients who leave before being seen, some of whom A&E would have admitted, so admissions
    may rise by a few (allowed: 1% of admissions, about 30 patients over the run)."""
    _, b, _ = baseline
    _, u, _ = with_utc
    fewer = b.kpis["ae.attendances_per_week"] - u.kpis["ae.attendances_per_week"]
    assert fewer == pytest.approx(u.kpis["utc.attendances_per_week"], rel=0.05)
    base_admissions = b.kpis["system.admissions_per_week"]
    assert u.kpis["system.admissions_per_week"] >= base_admissions * (1 - 1e-3)
    assert u.kpis["system.admissions_per_week"] <= base_admissions * 1.01


@pytest.mark.parametrize(
    ("override", "key"),
    [
        (
            "site.urgent_treatment_centre.localities=[nowhere]",
            "site.urgent_treatment_centre.localities",
        ),
        (
            "+site.urgent_treatment_centre.opening.mon=[{start_minute:600,end_minute:480}]",
            "site.urgent_treatment_centre.opening.mon[0].end_minute",
        ),
    ],
)
def test_a_bad_setting_names_its_key(override, key):
    with pytest.raises(ConfigError) as err:
        compose_validated([override])
    assert err.value.key == key


def _state(name: str) -> int:
    from sim.core import ledger

    return ledger.STATE_INDEX[name]


def test_the_values_the_docs_quote_are_the_configuration():
    """docs/model.md and the option's file state the UTC's settings: the text must follow the
    configuration."""
    from pathlib import Path

    import yaml

    project = Path(__file__).resolve().parent.parent
    _, run_cfg, _ = compose_validated(OPTION)
    site, use = run_cfg.model.site.urgent_treatment_centre, run_cfg.model.assumptions
    use = use.urgent_treatment_centre
    model = (project / "docs" / "model.md").read_text(encoding="utf-8")
    option = yaml.safe_load((project / "scenarios" / f"{UTC}.yaml").read_text(encoding="utf-8"))
    quoted = " ".join([model, option["cost_basis"], *option["assumptions"]])
    assert use.nhs111_ae_share == 0.5 and "books half" in quoted
    assert f"{use.walk_in_share:.0%}" == "15%" and "15% of the" in quoted
    assert f"{use.onward_ae_share:.1%}" == "7.5%" and "(7.5%)" in model
    assert use.max_wait_minutes == 4 * 60 and "within 4 hours" in quoted
    assert site.running_cost_per_open_hour_gbp == 390 and "£390" in quoted
    assert f"{site.share_of_slots_for_ae_substitutes:.0%}" == "20%" and "(20%)" in model
    assert site.clinicians == 3 and "three clinicians" in model
    hours = sum(w.end_minute - w.start_minute for d in site.opening.values() for w in d) / 60
    assert hours == 84 and "84 hours a week" in quoted
