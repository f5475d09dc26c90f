"""Whole-system routing (the rules of sim/booking/rules.py), end to end.

Each test composes the real ``conf/`` through Hydra with overrides that isolate one rule, runs
replications through :func:`sim.core.replication.run_replication` (``keep_detail=True``) and
checks the
rule episode by episode on the raw arrays: where each need went, when, and how it ended.
Wherever a rule is checked by an absence (e.g. "no hub appointments"), a control run with the
rule switched the other way shows the same run *would* have produced it, so the check can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_shares, binomial_pvalue, compose_with_hydra
from omegaconf import OmegaConf
from system_helpers import (
    ALL_PRACTICES,
    AMPLE_PRACTICE,
    HUB_CLOSED_DAYS,
    NO_PRACTICE_CAPACITY,
    NO_SLOT_WITHOUT_111_OR_AE,
    ONE_PER_LOCALITY,
    TWO_PER_LOCALITY,
    _compose,
    ae_outcome,
    ae_rows_of_episodes,
    in_core_hours,
    keep_practices,
    nhs111_disposition,
    no_slot,
    out_of_hours_route,
    replicate,
    scaled_practice_capacity,
    window_minutes,
    working_days_after,
)

from sim.booking.codes import (
    ADMIT_FROM_RAC_NO_SLOT,
    AE_VIA_AMBULANCE,
    AE_VIA_DISPLACED,
    AE_VIA_NHS111,
    AE_VIA_RAC_NO_SLOT,
    STEP_UP_FROM_PRACTICE,
)
from sim.config.schema import (
    AGE_BANDS,
    FIRST_OLDER_BAND,
    FRAILTY_BANDS,
    NHS111_DISPOSITIONS,
    WEEKDAYS,
)
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY
from sim.core.demand import ROUTINE, URGENT
from sim.core.flows import NODE
from sim.experiments.replications import kpi_table, summarise
from sim.services.hospital.model import BACKGROUND, FROM_AE, FROM_CLINIC, FROM_STEP_UP

MODERATE = FRAILTY_BANDS.index("moderate")
AGE_85 = AGE_BANDS.index("85+")
NO_HUB_CAPACITY = ("site.hubs.minutes_per_1000_per_week=0",)
NO_RAC_SLOTS = (
    "site.rapid_assessment.sites.shotley_bridge.slots_per_session=0",
    "site.rapid_assessment.sites.chester_le_street.slots_per_session=0",
)
ALL_RAC = (
    "assumptions.rapid_assessment.referral_share_from_practice=1.0",
    # the GP's referral to A&E comes first; switched off so every frail need can be referred
    "assumptions.ae.gp_referral_share_of_urgent=0.0",
)
#: ... and NHS 111 reached only out of hours (never in clinic hours): referrals from practices.
RAC_FROM_PRACTICES = ALL_RAC + NO_SLOT_WITHOUT_111_OR_AE


def parts(res):
    k = res.detail["inputs"]
    return k, k.episodes, k.journeys


def hub_booked(sj) -> np.ndarray:
    return ~np.isnan(sj.hub_time)


def same_float_dict(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (np.isnan(a[k]) and np.isnan(b[k])) or a[k] == b[k] for k in a
    )


def test_fast_composition_matches_hydra():
    """The helpers' shortcut (Hydra's override step on a copy of the default composition)
    gives exactly what ``compose`` gives, for every kind of override used in these files."""
    overrides = (
        keep_practices(ONE_PER_LOCALITY)
        + HUB_CLOSED_DAYS
        + no_slot("urgent", ae=1)
        + out_of_hours_route(0.25, 0.75)
        + nhs111_disposition(self_care=1)
        + AMPLE_PRACTICE
        + ACCEPT_85_ZERO
        + NO_RAC_SLOTS
        + ("site.intermediate_care.places=0", "experiment.replications=2")
    )
    fast = OmegaConf.to_container(_compose(overrides), resolve=True)
    full = OmegaConf.to_container(compose_with_hydra(overrides), resolve=True)
    assert fast == full
    assert list(fast["site"]["practices"]) == list(ONE_PER_LOCALITY)


# --------------------------------------------------------------------------------------------
# Hubs
# --------------------------------------------------------------------------------------------


def test_default_run_uses_hubs():
    """Control for the hub tests below: with the defaults, hubs are used."""
    k, ep, sj = parts(replicate())
    assert hub_booked(sj).sum() > 200
    assert (sj.outcome == ledger.ATTENDED_HUB).sum() > 200


def test_zero_hub_capacity_gives_no_hub_appointments():
    res = replicate(NO_HUB_CAPACITY)
    k, ep, sj = parts(res)
    assert not hub_booked(sj).any()
    assert np.isnan(sj.hub_booked_time).all()
    assert not (sj.outcome == ledger.ATTENDED_HUB).any()
    assert not (sj.flow_to == NODE["hub"]).any()
    assert res.kpis["hub.appointments_per_week"] == 0
    # No slot offered: utilisation is 0/0, reported as NaN (or 0), never an error or inf.
    util = res.kpis["hub.utilisation"]
    assert np.isnan(util) or util == 0
    # ... and the experiment summary copes with it.
    summary = summarise(kpi_table([res, replicate(NO_HUB_CAPACITY, replication=1)]), 0.95)
    row = summary.set_index("kpi").loc["hub.utilisation"]
    assert np.isnan(row["mean"]) or row["mean"] == 0
    assert np.isfinite(summary.set_index("kpi").loc["hub.appointments_per_week", "mean"])
    # No hub slots are paid for: the services' cost falls by exactly the default hub slots.
    base = replicate()
    kb = base.detail["inputs"]
    slots = sum(b.slots_on(d) for b in kb.hubs.books for d in range(kb.first_day, kb.last_day))
    per_slot = kb.cfg.site.hubs.running_cost_per_slot_gbp
    saved = base.kpis["cost.services_annual_gbp"] - res.kpis["cost.services_annual_gbp"]
    assert slots > 0
    assert saved == pytest.approx(slots * per_slot * 365.25 / 7 / kb.weeks, rel=1e-9)


def test_zero_hub_capacity_behaves_like_closed_hubs():
    """No minutes and no opening hours are the same thing: every episode ends the same way."""
    zero = replicate(NO_HUB_CAPACITY)
    closed = replicate(HUB_CLOSED_DAYS)
    kz, _, sz = parts(zero)
    kc, _, sc = parts(closed)
    assert all(len(b.slot_times_on(d)) == 0 for b in kc.hubs.books for d in range(kc.last_day))
    for name in (
        "outcome",
        "first_request_time",
        "booked_time",
        "appointment_day",
        "appointment_minute",
        "staff_type",
        "attempts",
        "hub_time",
        "nhs111_time",
        "rac_referral_time",
        "rac_time",
        "flow_episode",
        "flow_from",
        "flow_to",
    ):
        np.testing.assert_array_equal(getattr(sz, name), getattr(sc, name), err_msg=name)
    assert zero.ledger == closed.ledger
    assert zero.flows == closed.flows
    assert same_float_dict(zero.kpis, closed.kpis)
    # And unlike the default run, which does use its hubs.
    assert zero.ledger != replicate().ledger


def closed_single_day_routine(k, ep, sj) -> np.ndarray:
    """Routine needs whose window is one day (earliest acceptable day >= the routine target,
    documented in docs/model.md) falling on a day the practice is shut: no practice slot in
    time exists, however much capacity, so the no-slot rules (and a hub offer) apply."""
    target = k.cfg.assumptions.booking.target_days["routine"]
    day = np.floor(np.nan_to_num(sj.first_request_time) / MINUTES_PER_DAY).astype(int)
    window_day = day + ep.earliest_offset_days
    open_days = [WEEKDAYS.index(w) for w in k.cfg.site.core_hours.weekdays]
    return (
        (ep.urgency == ROUTINE)
        & (ep.earliest_offset_days >= target)
        & ~np.isin(window_day % 7, open_days)
    )


@pytest.mark.parametrize("urgent_ooh_waits", [1.0, 0.6])
def test_no_hub_preference_and_ample_practice_capacity_sends_nobody_to_a_hub(urgent_ooh_waits):
    waits = (f"assumptions.booking.urgent_out_of_hours_waits_share={urgent_ooh_waits}",)
    overrides = (
        AMPLE_PRACTICE
        + NO_SLOT_WITHOUT_111_OR_AE
        + waits
        + ("assumptions.hubs.prefer_hub_share_non_urgent=0",)
    )
    res = replicate(overrides)
    k, ep, sj = parts(res)
    lo, hi = window_minutes(res)
    # The practice finds every request made in the run a slot in time, except routine needs
    # whose one-day window is a closed day.
    asked = ~np.isnan(sj.first_request_time) & (sj.first_request_time < hi)
    exempt = closed_single_day_routine(k, ep, sj)
    assert asked.sum() > 10_000
    assert (sj.appointment_day[asked & ~exempt] >= 0).all()
    from_practice = sj.flow_episode[
        (sj.flow_from == NODE["practice"]) & (sj.flow_to == NODE["hub"])
    ]
    assert exempt[from_practice].all()
    if urgent_ooh_waits == 1.0:
        # Nothing reaches NHS 111, so the hub can be reached only by those routine needs (and
        # their one day, 2+ weeks ahead, is beyond the hub's booking horizon).
        assert k.cfg.site.hubs.booking_horizon_days < 15
        assert not hub_booked(sj).any()
        assert res.kpis["hub.appointments_per_week"] == 0
        assert np.isnan(sj.nhs111_time).all()
    else:
        # Urgent out-of-hours needs still reach NHS 111, whose primary-care disposition books
        # the hub (rule 5): every hub booking came that way, none from a practice.
        via_111 = sj.flow_episode[(sj.flow_from == NODE["nhs111"]) & (sj.flow_to == NODE["hub"])]
        assert hub_booked(sj).sum() > 0
        np.testing.assert_array_equal(np.flatnonzero(hub_booked(sj)), np.unique(via_111))
    # Control: the same run with every soon/routine need preferring the hub does use hubs,
    # and only for non-urgent needs asking first.
    pref = replicate(
        AMPLE_PRACTICE
        + NO_SLOT_WITHOUT_111_OR_AE
        + waits
        + ("assumptions.hubs.prefer_hub_share_non_urgent=1",)
    )
    _, ep2, sj2 = parts(pref)
    first = (sj2.flow_from == NODE["practice"]) & (sj2.flow_to == NODE["hub"])
    preferred = sj2.flow_episode[first]
    assert len(preferred) > 500
    assert (ep2.urgency[preferred] != URGENT).all()


ACCEPT_85_ZERO = (
    "assumptions.hubs.accept_share_by_age="
    "{0-4:1,5-14:1,15-24:1,25-44:1,45-64:1,65-74:1,75-84:1,85+:0}",
    "assumptions.hubs.prefer_hub_share_non_urgent=1",
)
ACCEPT_ALL = (
    "assumptions.hubs.accept_share_by_age="
    "{0-4:1,5-14:1,15-24:1,25-44:1,45-64:1,65-74:1,75-84:1,85+:1}",
    "assumptions.hubs.prefer_hub_share_non_urgent=1",
)


def test_hub_acceptance_by_age_zero_for_85_plus():
    # Every soon/routine need asks the hub first, so every 85+ one is offered a slot when
    # the hub has one; with acceptance 0 none takes it.
    res = replicate(ACCEPT_85_ZERO, TWO_PER_LOCALITY)
    _, ep, sj = parts(res)
    old = ep.age_band == AGE_85
    assert old.sum() > 300
    assert not (hub_booked(sj) & old).any()
    assert not ((sj.outcome == ledger.ATTENDED_HUB) & old).any()
    assert (hub_booked(sj) & ~old).sum() > 500
    # Control: the same patients (common random numbers) accepting at 85+ do use the hub.
    _, ep_c, sj_c = parts(replicate(ACCEPT_ALL, TWO_PER_LOCALITY))
    np.testing.assert_array_equal(ep_c.age_band, ep.age_band)
    assert (hub_booked(sj_c) & (ep_c.age_band == AGE_85)).sum() > 20


# --------------------------------------------------------------------------------------------
# NHS 111 dispositions
# --------------------------------------------------------------------------------------------

#: Scarce practices and an NHS 111 share in the urgent no-slot rule, so that NHS 111 is
#: reached both out of hours and from a practice in hours.
BOTH_111_ROUTES = scaled_practice_capacity(0.5) + no_slot(
    "urgent", book_later=0.2, callback_next_day=0.2, nhs111=0.5, give_up=0.1
)


def contacts(sj) -> np.ndarray:
    return np.flatnonzero(~np.isnan(sj.nhs111_time))


def out_of_111(sj) -> tuple[np.ndarray, np.ndarray]:
    """(episode, destination) of each transition out of NHS 111."""
    m = sj.flow_from == NODE["nhs111"]
    return sj.flow_episode[m], sj.flow_to[m]


def test_every_nhs111_contact_self_care():
    res = replicate(BOTH_111_ROUTES + nhs111_disposition(self_care=1))
    _, ep, sj = parts(res)
    c = contacts(sj)
    assert len(c) > 300
    # Both routes in: out of hours and from practices without a slot.
    into = sj.flow_from[sj.flow_to == NODE["nhs111"]]
    assert (into == NODE["need_out_of_hours"]).sum() > 50 and (into == NODE["practice"]).sum() > 50
    assert (sj.outcome[c] == ledger.SELF_CARE).all()
    assert len(sj.nhs111_calls) == len(c)  # self-care ends the need: one call each
    eps, dest = out_of_111(sj)
    np.testing.assert_array_equal(np.sort(eps), c)  # one transition out per contact
    assert (dest == NODE["self_care"]).all()
    _, ae_eps = ae_rows_of_episodes(res)
    assert not np.isin(c, ae_eps).any()


def test_every_nhs111_contact_ambulance_reaches_ae():
    res = replicate(BOTH_111_ROUTES + nhs111_disposition(ambulance=1))
    k, ep, sj = parts(res)
    att, ae = k.hospital.attendances, k.hospital.ae
    c = contacts(sj)
    assert len(c) > 300
    rows, ae_eps = ae_rows_of_episodes(res)
    order = np.argsort(ae_eps)
    rows, ae_eps = rows[order], ae_eps[order]
    assert np.isin(c, ae_eps).all()
    r = rows[np.searchsorted(ae_eps, c)]
    assert (att.via[r] == AE_VIA_AMBULANCE).all()
    assert att.ambulance[r].all()
    assert not att.primary_care_treatable[r].any()
    minutes = k.cfg.assumptions.nhs111.minutes_to_ae
    np.testing.assert_allclose(att.time[r], sj.nhs111_time[c] + minutes)
    expected = ae_outcome(ae, r)
    np.testing.assert_array_equal(sj.outcome[c], expected)
    eps, dest = out_of_111(sj)
    assert (dest == NODE["ambulance"]).all() and len(eps) == len(c)
    hop = (sj.flow_from == NODE["ambulance"]) & (sj.flow_to == NODE["ae"])
    np.testing.assert_array_equal(np.sort(sj.flow_episode[hop]), c)


def disposition_of_contacts(res) -> np.ndarray:
    """The disposition each episode that called NHS 111 was given, read back from where it
    went next (its first transition out of NHS 111: a need calling again after a call-back
    carries the same disposition draw, so it is counted once)."""
    k, ep, sj = parts(res)
    c = contacts(sj)
    eps, dest = out_of_111(sj)
    first = np.unique(eps, return_index=True)[1]
    eps, dest = eps[first], dest[first]
    np.testing.assert_array_equal(eps, c)  # every contact goes somewhere
    via = dict(zip(sj.handoffs.ae_episode, sj.handoffs.ae_via, strict=True))
    name = {
        NODE["self_care"]: "self_care",
        NODE["pharmacy"]: "pharmacy",
        # primary care: a hub slot, the practice today (or its call-back), the
        # out-of-hours GP, or giving up after the last call-back
        NODE["hub"]: "primary_care",
        NODE["practice"]: "primary_care",
        NODE["out_of_hours_gp"]: "primary_care",
        NODE["gave_up"]: "primary_care",
        NODE["rac"]: "ae",
        NODE["ambulance"]: "ambulance",
    }
    out = []
    for e, d in zip(eps.tolist(), dest.tolist(), strict=True):
        if d == NODE["ae"]:
            # An A&E disposition, or (in earlier versions) primary care with no slot today.
            assert via[e] in (AE_VIA_NHS111, AE_VIA_DISPLACED)
            out.append("ae" if via[e] == AE_VIA_NHS111 else "primary_care")
        else:
            out.append(name[d])
    return np.array([NHS111_DISPOSITIONS.index(x) for x in out])


def first_call_reason(res) -> np.ndarray:
    """For each episode that called NHS 111 (``contacts`` order): True if its first call was
    made because no practice or hub slot was found, False for an urgent need out of hours."""
    k, ep, sj = parts(res)
    into = np.flatnonzero(sj.flow_to == NODE["nhs111"])
    eps = sj.flow_episode[into]
    first = np.unique(eps, return_index=True)[1]  # transitions are in the order they happened
    np.testing.assert_array_equal(eps[first], contacts(sj))
    origin = sj.flow_from[into][first]
    assert np.isin(origin, [NODE["practice"], NODE["need_out_of_hours"]]).all()
    return origin == NODE["practice"]


def test_nhs111_dispositions_depend_on_why_the_person_called():
    res = replicate(BOTH_111_ROUTES, ALL_PRACTICES, 1, 3)
    disp = disposition_of_contacts(res)
    displaced = first_call_reason(res)
    assert (~displaced).sum() > 2000 and displaced.sum() > 500
    cfg = res.detail["inputs"].cfg.assumptions.nhs111
    # Each episode's draw comes from its own key; the mix is the one for why it called:
    # counts are multinomial, each exact-binomial at ALPHA / 5, for each reason.
    for name, sel, mix in (
        ("out of hours", ~displaced, cfg.disposition),
        ("no slot", displaced, cfg.disposition_displaced),
    ):
        counts = np.bincount(disp[sel], minlength=len(NHS111_DISPOSITIONS))
        assert_shares(counts, [mix[d] for d in NHS111_DISPOSITIONS], f"111 dispositions, {name}")
    # And the two mixes differ where the configuration says they do.
    amb = NHS111_DISPOSITIONS.index("ambulance")
    assert cfg.disposition["ambulance"] > cfg.disposition_displaced["ambulance"]
    assert (disp[~displaced] == amb).mean() > (disp[displaced] == amb).mean()


# --------------------------------------------------------------------------------------------
# No slot: what an urgent need does when neither practice nor hub can see it
# --------------------------------------------------------------------------------------------

NOTHING_AVAILABLE = NO_PRACTICE_CAPACITY + NO_HUB_CAPACITY


def urgent_in_hours_requests(res):
    k, ep, sj = parts(res)
    lo, hi = window_minutes(res)
    return np.flatnonzero((ep.urgency == URGENT) & in_core_hours(k.cfg, ep.time) & (ep.time < hi))


def test_no_slot_urgent_ae_sends_every_urgent_in_hours_need_to_ae():
    res = replicate(NOTHING_AVAILABLE + no_slot("urgent", ae=1))
    k, ep, sj = parts(res)
    att = k.hospital.attendances
    urgent = urgent_in_hours_requests(res)
    assert len(urgent) > 1000
    np.testing.assert_array_equal(sj.first_request_time[urgent], ep.time[urgent])
    rows, ae_eps = ae_rows_of_episodes(res)
    pos = {e: r for r, e in zip(rows.tolist(), ae_eps.tolist(), strict=True)}
    assert all(e in pos for e in urgent.tolist())
    r = np.array([pos[e] for e in urgent.tolist()])
    assert (att.via[r] == AE_VIA_DISPLACED).all()
    assert att.primary_care_treatable[r].all()  # displaced primary-care need
    assert not att.ambulance[r].any()
    minutes = k.cfg.assumptions.nhs111.minutes_to_ae
    np.testing.assert_allclose(att.time[r], ep.time[urgent] + minutes)
    assert np.isin(
        sj.outcome[urgent], [ledger.AE_DISCHARGED, ledger.ADMITTED, ledger.AE_LEFT_UNSEEN]
    ).all()
    assert (sj.attempts[urgent] == 1).all()
    assert (sj.appointment_day[urgent] == -1).all() and np.isnan(sj.hub_time[urgent]).all()
    # Their path: need in hours -> practice -> A&E -> home or admission.
    for e in urgent[:200].tolist():
        f = sj.flow_episode == e
        path = list(zip(sj.flow_from[f].tolist(), sj.flow_to[f].tolist(), strict=True))
        assert path[:2] == [
            (NODE["need_in_hours"], NODE["practice"]),
            (NODE["practice"], NODE["ae"]),
        ]
        assert path[2][0] == NODE["ae"] and path[2][1] in (NODE["home"], NODE["admission"])


def test_no_slot_urgent_give_up_gives_gave_up():
    res = replicate(NOTHING_AVAILABLE + no_slot("urgent", give_up=1))
    k, ep, sj = parts(res)
    urgent = urgent_in_hours_requests(res)
    assert len(urgent) > 1000
    assert (sj.outcome[urgent] == ledger.GAVE_UP).all()
    assert (sj.attempts[urgent] == 1).all()
    _, ae_eps = ae_rows_of_episodes(res)
    assert not np.isin(urgent, ae_eps).any()
    gave_up = sj.flow_episode[(sj.flow_from == NODE["practice"]) & (sj.flow_to == NODE["gave_up"])]
    assert np.isin(urgent, gave_up).all()


# --------------------------------------------------------------------------------------------
# Urgent needs arising while practices are shut
# --------------------------------------------------------------------------------------------


def urgent_out_of_hours(res) -> np.ndarray:
    k, ep, _ = parts(res)
    return np.flatnonzero((ep.urgency == URGENT) & ~in_core_hours(k.cfg, ep.time))


OOH_TO_111 = (
    ("assumptions.booking.urgent_out_of_hours_waits_share=0",)
    + out_of_hours_route(1, 0)
    + NO_SLOT_WITHOUT_111_OR_AE
)


def test_urgent_out_of_hours_needs_go_to_nhs111_at_once():
    res = replicate(OOH_TO_111)
    k, ep, sj = parts(res)
    ooh = urgent_out_of_hours(res)
    assert len(ooh) > 500
    # Every one calls NHS 111 the minute it arises, and never asks its practice.
    np.testing.assert_array_equal(sj.nhs111_time[ooh], ep.time[ooh])
    assert np.isnan(sj.first_request_time[ooh]).all()
    into = sj.flow_episode[
        (sj.flow_from == NODE["need_out_of_hours"]) & (sj.flow_to == NODE["nhs111"])
    ]
    np.testing.assert_array_equal(np.sort(into), ooh)
    # Nothing else calls NHS 111 (the no-slot rules here have no NHS 111 share).
    np.testing.assert_array_equal(contacts(sj), ooh)
    # Control: with the default 60% waiting, most urgent out-of-hours needs ask the practice.
    _, _, sj_d = parts(replicate(out_of_hours_route(1, 0) + NO_SLOT_WITHOUT_111_OR_AE))
    assert np.isnan(sj_d.nhs111_time[ooh]).mean() > 0.5


def test_urgent_out_of_hours_route_ae():
    res = replicate(
        ("assumptions.booking.urgent_out_of_hours_waits_share=0",)
        + out_of_hours_route(0, 1)
        + NO_SLOT_WITHOUT_111_OR_AE
    )
    k, ep, sj = parts(res)
    att = k.hospital.attendances
    ooh = urgent_out_of_hours(res)
    assert len(ooh) > 500
    rows, ae_eps = ae_rows_of_episodes(res)
    order = np.argsort(ae_eps)
    rows, ae_eps = rows[order], ae_eps[order]
    assert np.isin(ooh, ae_eps).all()
    r = rows[np.searchsorted(ae_eps, ooh)]
    minutes = k.cfg.assumptions.nhs111.minutes_to_ae
    np.testing.assert_allclose(att.time[r], ep.time[ooh] + minutes)
    assert att.primary_care_treatable[r].all()
    assert np.isnan(sj.nhs111_time).all()


# --------------------------------------------------------------------------------------------
# Rapid assessment clinics
# --------------------------------------------------------------------------------------------


def referred(sj) -> np.ndarray:
    return np.flatnonzero(~np.isnan(sj.rac_referral_time))


def assert_frail_urgent(ep, idx, what):
    assert (ep.frailty[idx] >= MODERATE).all(), f"{what}: a non-frail episode"
    assert (ep.age_band[idx] >= FIRST_OLDER_BAND).all(), f"{what}: an episode under 65"
    bad = idx[ep.urgency[idx] != URGENT]
    assert len(bad) == 0, f"{what}: {len(bad)} of {len(idx)} not urgent"


def test_rac_referrals_only_frail_urgent():
    res = replicate(RAC_FROM_PRACTICES, TWO_PER_LOCALITY)
    _, ep, sj = parts(res)
    ref = referred(sj)
    assert len(ref) > 300
    assert_frail_urgent(ep, ref, "RAC referrals")
    # ... and with referral from practice certain, every frail urgent need seen at its
    # practice in the run is referred (the rule is a filter, not an accident of the data).
    k = res.detail["inputs"]
    seen = (sj.appointment_day >= 0) & (sj.appointment_day < k.last_day)
    seen &= ~np.isnan(sj.first_request_time) & (sj.outcome != ledger.DID_NOT_ATTEND)
    frail_urgent = (ep.frailty >= MODERATE) & (ep.urgency == URGENT)
    assert np.isin(np.flatnonzero(seen & frail_urgent), ref).all()


#: NHS 111 reached in clinic hours by needs of every urgency (from practices with no slot),
#: and every frail urgent A&E disposition there sent to a clinic.
EVERY_URGENCY_TO_111 = (
    scaled_practice_capacity(0.5)
    + no_slot("urgent", book_later=0.2, callback_next_day=0.3, nhs111=0.5)
    + no_slot("soon", book_later=0.5, nhs111=0.5)
    + no_slot("routine", book_later=0.7, nhs111=0.3)
    + ("assumptions.rapid_assessment.referral_share_from_nhs111=1.0",)
)


def test_rac_referrals_via_nhs111_only_frail_urgent():
    # A regression test: before 4f12f26 an NHS 111 A&E disposition referred frail needs of
    # any urgency.
    k, ep, sj = parts(replicate(EVERY_URGENCY_TO_111, TWO_PER_LOCALITY))
    from_111 = sj.flow_episode[(sj.flow_from == NODE["nhs111"]) & (sj.flow_to == NODE["rac"])]
    assert len(from_111) > 10
    assert_frail_urgent(ep, referred(sj), "RAC referrals")
    # Frail soon/routine needs given an A&E disposition in clinic hours went to A&E instead.
    via = np.asarray(sj.handoffs.ae_via)
    to_ae = np.asarray(sj.handoffs.ae_episode, dtype=np.int64)[via == AE_VIA_NHS111]
    frail_non_urgent = (ep.frailty[to_ae] >= MODERATE) & (ep.urgency[to_ae] != URGENT)
    in_hours = in_core_hours(k.cfg, sj.nhs111_time[to_ae])
    assert (frail_non_urgent & in_hours).sum() > 5


#: Clinics only Wednesday to Friday, and urgent out-of-hours needs all sent through NHS 111 to
#: a hub (so frail urgent needs are seen at Saturday hubs and referred on a Saturday). A
#: Saturday or Sunday referral may wait until Tuesday (2 working days), when there is no
#: clinic: a Wednesday booking would be 3 working days.
MIDWEEK_CLINICS = (
    ALL_RAC
    + (
        "assumptions.booking.urgent_out_of_hours_waits_share=0",
        "site.rapid_assessment.sites.shotley_bridge.sessions_per_weekday="
        "{mon:0,tue:0,wed:1,thu:1,fri:1,sat:0,sun:0}",
        "site.rapid_assessment.sites.chester_le_street.sessions_per_weekday="
        "{mon:0,tue:0,wed:1,thu:1,fri:1,sat:0,sun:0}",
    )
    + out_of_hours_route(1, 0)
    + nhs111_disposition(primary_care=1)
)


@pytest.mark.parametrize(
    "overrides", [ALL_RAC, MIDWEEK_CLINICS], ids=["weekday_clinics", "midweek_clinics"]
)
def test_rac_waits_within_two_working_days(overrides):
    # Every frail urgent need seen in primary care is referred: clinics are saturated, so the
    # limit binds (some referrals are seen on the last day allowed, others not at all).
    res = replicate(overrides, ALL_PRACTICES, 1, 3)
    k, ep, sj = parts(res)
    att = k.hospital.attendances
    limit = k.cfg.assumptions.rapid_assessment.max_wait_working_days
    ref = referred(sj)
    seen = ref[~np.isnan(sj.rac_time[ref])]
    ref_day = (sj.rac_referral_time[seen] // MINUTES_PER_DAY).astype(int)
    rac_day = (sj.rac_time[seen] // MINUTES_PER_DAY).astype(int)
    waited = working_days_after(k.cfg, ref_day, rac_day)  # counted by hand, not by Calendar
    assert len(seen) > 50
    assert (sj.rac_time[seen] >= sj.rac_referral_time[seen]).all()
    assert waited.max() <= limit, (
        f"{(waited > limit).sum()} of {len(seen)} waited more than {limit} working days, "
        f"referred on weekdays {sorted(set((ref_day[waited > limit] % 7).tolist()))}"
    )
    assert (waited == limit).sum() > 10
    # Referrals the clinics could not take in time went to A&E or were admitted at once.
    unseen = np.setdiff1d(ref, seen)
    assert len(unseen) > 100
    went = np.concatenate(
        [
            att.episode[(att.source == 1) & (att.via == AE_VIA_RAC_NO_SLOT)],
            sj.handoffs.admit_episode,
        ]
    )
    assert np.isin(unseen, went).all()
    if overrides is MIDWEEK_CLINICS:
        weekend = (sj.rac_referral_time[ref] // MINUTES_PER_DAY).astype(int) % 7 >= 5
        assert weekend.sum() > 20  # referrals from Saturday hubs are tested too


@pytest.mark.parametrize("to_ae", [0.0, 0.5, 1.0])
def test_rac_no_slot_splits_between_ae_and_direct_admission(to_ae):
    overrides = (
        ALL_RAC + NO_RAC_SLOTS + (f"assumptions.rapid_assessment.no_slot_to_ae_share={to_ae}",)
    )
    res = replicate(overrides, TWO_PER_LOCALITY)
    k, ep, sj = parts(res)
    att = k.hospital.attendances
    ref = referred(sj)
    assert len(ref) > 300
    assert np.isnan(sj.rac_time).all()
    assert res.kpis["rac.attendances_per_week"] == 0
    rows, ae_eps = ae_rows_of_episodes(res)
    to_ae_rows = rows[att.via[rows] == AE_VIA_RAC_NO_SLOT]
    went_ae = att.episode[to_ae_rows]
    hand = np.asarray(sj.handoffs.admit_source, dtype=int) == ADMIT_FROM_RAC_NO_SLOT
    admitted = np.asarray(sj.handoffs.admit_episode, dtype=np.int64)[hand]
    # Each referral goes exactly one way, at once.
    assert len(np.intersect1d(went_ae, admitted)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([went_ae, admitted])), ref)
    minutes = k.cfg.assumptions.nhs111.minutes_to_ae
    np.testing.assert_allclose(att.time[to_ae_rows], sj.rac_referral_time[went_ae] + minutes)
    np.testing.assert_allclose(
        np.asarray(sj.handoffs.admit_time, dtype=float)[hand], sj.rac_referral_time[admitted]
    )
    assert (sj.outcome[admitted] == ledger.ADMITTED).all()
    assert np.isin(
        sj.outcome[went_ae], [ledger.AE_DISCHARGED, ledger.ADMITTED, ledger.AE_LEFT_UNSEEN]
    ).all()
    # Sent to A&E from the clinic: majors, not primary-care treatable.
    assert att.majors[to_ae_rows].all()
    assert not att.primary_care_treatable[to_ae_rows].any()
    n = len(ref)
    pv = binomial_pvalue(len(went_ae), n, to_ae)
    assert pv > 1e-3, f"{len(went_ae)}/{n} to A&E, configured {to_ae} (p = {pv:.1e})"


# --------------------------------------------------------------------------------------------
# Intermediate care step-up
# --------------------------------------------------------------------------------------------

MANY_STEP_UPS = ("assumptions.intermediate_care.step_up_share_from_practice=0.5",)
FRAIL_URGENT_ONLY_ROUTES = MANY_STEP_UPS + NO_SLOT_WITHOUT_111_OR_AE


def step_ups(sj):
    return np.asarray(sj.handoffs.step_up_episode, dtype=np.int64)


def test_step_ups_only_from_frail_urgent_episodes():
    res = replicate(FRAIL_URGENT_ONLY_ROUTES, TWO_PER_LOCALITY)
    k, ep, sj = parts(res)
    su = step_ups(sj)
    assert len(su) > 100
    assert len(np.unique(su)) == len(su)
    assert_frail_urgent(ep, su, "step-ups")
    # From a practice or hub appointment (rule 6), or after a clinic.
    src = np.asarray(sj.handoffs.step_up_source)
    origin = {
        e: f
        for e, f, t in zip(
            sj.flow_episode.tolist(), sj.flow_from.tolist(), sj.flow_to.tolist(), strict=True
        )
        if t == NODE["intermediate_care"]
    }
    from_practice = [origin[e] for e in su[src == STEP_UP_FROM_PRACTICE].tolist()]
    assert set(from_practice) <= {NODE["practice"], NODE["hub"]}
    assert np.isin(sj.outcome[su], [ledger.INTERMEDIATE_CARE, ledger.ADMITTED]).all()


def test_zero_ic_places_every_step_up_ends_admitted():
    res = replicate(MANY_STEP_UPS + ("site.intermediate_care.places=0",), TWO_PER_LOCALITY)
    k, ep, sj = parts(res)
    h = k.hospital
    su = step_ups(sj)
    assert len(su) > 100
    assert h.step_ups.admitted_instead.all() and not h.step_ups.started.any()
    assert (sj.outcome[su] == ledger.ADMITTED).all()
    assert len(h.ic_stays["start"]) == 0
    assert res.kpis["ic.step_up_per_week"] == 0
    # Each failed step-up is one admission, at request + max wait, and one flow IC -> admission.
    wait = k.cfg.assumptions.intermediate_care.step_up_max_wait_days * MINUTES_PER_DAY
    a = h.admissions
    failed_rows = a.kind == FROM_STEP_UP
    order = np.argsort(a.index[failed_rows])
    np.testing.assert_array_equal(a.index[failed_rows][order], np.arange(len(su)))
    np.testing.assert_allclose(
        a.request_time[failed_rows][order], np.asarray(sj.handoffs.step_up_time) + wait
    )
    failed = sj.flow_episode[
        (sj.flow_from == NODE["intermediate_care"]) & (sj.flow_to == NODE["admission"])
    ]
    np.testing.assert_array_equal(np.sort(failed), np.sort(su))
    # Control: with places to spare the same step-ups all start IC.
    _, _, sj_c = parts(
        replicate(MANY_STEP_UPS + ("site.intermediate_care.places=5000",), TWO_PER_LOCALITY)
    )
    assert (sj_c.outcome[step_ups(sj_c)] == ledger.INTERMEDIATE_CARE).all()


# --------------------------------------------------------------------------------------------
# A&E and admissions: self-presenting arrivals plus hand-offs
# --------------------------------------------------------------------------------------------

MANY_HANDOFFS = BOTH_111_ROUTES + ALL_RAC + MANY_STEP_UPS


@pytest.mark.parametrize("overrides", [(), MANY_HANDOFFS], ids=["default", "many_handoffs"])
def test_ae_arrivals_are_self_presenting_plus_handoffs(overrides):
    res = replicate(overrides)
    k, ep, sj = parts(res)
    att, ae = k.hospital.attendances, k.hospital.ae
    n_sp = int((att.source == 0).sum())
    handed = np.asarray(sj.handoffs.ae_episode, dtype=np.int64)
    assert len(att.time) == n_sp + len(handed)
    rows, ae_eps = ae_rows_of_episodes(res)
    np.testing.assert_array_equal(ae_eps, handed)
    np.testing.assert_array_equal(att.time[rows], sj.handoffs.ae_time)
    assert len(np.unique(handed)) == len(handed)  # an episode reaches A&E at most once
    assert (att.episode[att.source == 0] == -1).all()
    # Self-presenting attendances do not depend on routing (common random numbers).
    base = replicate().detail["inputs"].hospital.attendances
    np.testing.assert_array_equal(att.time[att.source == 0], base.time[base.source == 0])
    # Every episode handed to A&E ends discharged from A&E or admitted, as A&E decided.
    expected = ae_outcome(ae, rows)
    np.testing.assert_array_equal(sj.outcome[handed], expected)
    # The KPI counts both kinds of arrival in the window.
    lo, hi = window_minutes(res)
    inside = (att.time >= lo) & (att.time < hi)
    assert res.kpis["ae.attendances_per_week"] == pytest.approx(inside.sum() / k.weeks)
    if overrides:
        assert len(handed) > 400
        assert inside[rows].sum() > 300


def test_admissions_are_ae_admissions_plus_rac_plus_failed_step_ups():
    res = replicate(MANY_HANDOFFS + ("site.intermediate_care.places=5",))
    k, ep, sj = parts(res)
    h = k.hospital
    att, ae, a = h.attendances, h.ae, h.admissions
    to_bed = ae.admitted & ~ae.sdec
    n_rac = len(sj.handoffs.admit_episode)
    n_failed = int(h.step_ups.admitted_instead.sum())
    assert n_rac > 10 and n_failed > 10
    emergency = a.kind != BACKGROUND
    assert emergency.sum() == to_bed.sum() + n_rac + n_failed
    # An A&E patient asks for a bed at the decision to admit; a clinic's at its hand-off.
    from_ae = a.kind == FROM_AE
    np.testing.assert_array_equal(np.sort(a.index[from_ae]), np.flatnonzero(to_bed))
    np.testing.assert_array_equal(a.request_time[from_ae], ae.decision_time[a.index[from_ae]])
    clinic = a.kind == FROM_CLINIC
    np.testing.assert_array_equal(
        a.request_time[clinic], np.asarray(sj.handoffs.admit_time)[a.index[clinic]]
    )
    stayed = np.isfinite(a.leave_time)
    assert (a.leave_time[stayed] >= a.bed_time[stayed]).all()
    assert len(att) == len(ae.admitted)
