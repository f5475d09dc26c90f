"""Whole-system conservation: every episode ends in exactly one terminal state, in every
replication, whichever services exist, and the flows between services add up.

For several configurations (the default; stressed practices; no hubs; no rapid assessment
slots; no intermediate care places; and one where every no-slot action and referral route is
in use), each replication's ledger, flows, A&E times and bed days are recounted from the raw
arrays (``keep_detail=True``) rather than trusted.
"""

from __future__ import annotations

import numpy as np
import pytest
from system_helpers import (
    ONE_PER_LOCALITY,
    ae_outcome,
    in_core_hours,
    no_slot,
    replicate,
    scaled_practice_capacity,
)

from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY
from sim.core.flows import FLOW_NODES, NODE
from sim.services.catalogue import SERVICES
from sim.services.hospital.conservation import bed_ledger

WARMUP, RUN = 1, 4  # weeks
REPLICATIONS = 3

CONFIGS: dict[str, tuple[str, ...]] = {
    "default": (),
    "stressed_half_capacity": scaled_practice_capacity(0.5),
    "no_hubs": ("site.hubs.minutes_per_1000_per_week=0",),
    "no_rac": (
        "site.rapid_assessment.sites.shotley_bridge.slots_per_session=0",
        "site.rapid_assessment.sites.chester_le_street.slots_per_session=0",
        "assumptions.rapid_assessment.referral_share_from_practice=0.5",
    ),
    "zero_ic_places": (
        "site.intermediate_care.places=0",
        "assumptions.intermediate_care.step_up_share_from_practice=0.3",
    ),
    # Scarce practices, every no-slot action in use for every urgency, frequent referrals to
    # clinics and step-ups into a small IC+, urgent out-of-hours needs split 111 / A&E.
    "every_route": scaled_practice_capacity(0.4)
    + no_slot("urgent", book_later=0.2, callback_next_day=0.3, nhs111=0.2, ae=0.2, give_up=0.1)
    + no_slot("soon", book_later=0.3, callback_next_day=0.3, nhs111=0.2, ae=0.1, give_up=0.1)
    + no_slot("routine", book_later=0.5, callback_next_day=0.2, nhs111=0.1, ae=0.1, give_up=0.1)
    + (
        "assumptions.booking.urgent_out_of_hours_waits_share=0.3",
        "++assumptions.booking.out_of_hours_route={nhs111:0.7,ae:0.3}",
        "assumptions.rapid_assessment.referral_share_from_practice=0.5",
        "assumptions.rapid_assessment.referral_share_from_nhs111=0.5",
        "assumptions.intermediate_care.step_up_share_from_practice=0.3",
        "site.intermediate_care.places=10",
    ),
}

#: Where an episode in each terminal state ends up in the flow graph (the last node of its
#: chain of transitions). States added later and not listed here are not checked.
FINAL_NODES: dict[str, set[str]] = {
    "attended_practice": {"practice"},
    "did_not_attend": {"practice", "hub"},
    "gave_up": {"gave_up"},
    "waiting_at_end": {"practice", "hub", "rac", "nhs111", "intermediate_care"},
    "attended_hub": {"hub"},
    "self_care": {"self_care"},
    "pharmacy": {"pharmacy"},
    "out_of_hours_gp": {"out_of_hours_gp"},
    "ae_discharged": {"home"},
    "admitted": {"admission"},
    "rac_home": {"home"},
    "intermediate_care": {"intermediate_care"},
    "resolved_online": {"online_consultation"},
    "frail_weekend_gp": {"frail_weekend_gp"},
    "pharmacy_first": {"pharmacy"},
    "ae_left_unseen": {"home"},
}


@pytest.fixture(scope="module", params=list(CONFIGS))
def config_runs(request):
    """(name, replications) of one configuration. Module scope: pytest groups the tests by
    configuration, so each is simulated once and released before the next."""
    uncached = replicate.__wrapped__
    return request.param, [
        uncached(CONFIGS[request.param], ONE_PER_LOCALITY, WARMUP, RUN, rep)
        for rep in range(REPLICATIONS)
    ]


def window(k):
    return k.first_day * MINUTES_PER_DAY, k.last_day * MINUTES_PER_DAY


def test_ledger_balances_and_nothing_is_left_pending(config_runs):
    states = [name for name, _ in ledger.TERMINAL_STATES]
    for res in config_runs[1]:
        k = res.detail["inputs"]
        ep, sj = k.episodes, k.journeys
        lo, hi = window(k)
        n = len(ep)
        assert n == res.episodes_total > 0
        assert ep.time.min() >= 0 and ep.time.max() < hi  # nothing arises after the run
        # Every episode (warm-up too) has exactly one valid, final state.
        assert len(sj.outcome) == n
        assert ((sj.outcome > ledger.PENDING) & (sj.outcome < len(states))).all()
        # The ledger is the recount of the episodes arising in the window, and sums to them.
        in_window = ep.time >= lo
        counts = np.bincount(sj.outcome[in_window], minlength=len(states))
        assert res.ledger["generated"] == int(in_window.sum()) > 10_000
        # States of a service the site does not have (an option not taken) are left out and
        # must count 0; every other state is reported.
        absent = {
            s
            for service in SERVICES
            if not service.present(k.cfg)
            for s, _ in service.terminal_states
        }
        assert set(res.ledger) == {"generated"} | (set(states[1:]) - absent)
        for i, name in enumerate(states[1:], start=1):
            assert res.ledger.get(name, 0) == counts[i], name
        assert sum(res.ledger.get(s, 0) for s in states[1:]) == res.ledger["generated"]
        assert res.kpis["system.episodes_per_week"] == pytest.approx(in_window.sum() / k.weeks)


def test_hand_offs_end_where_the_services_sent_them(config_runs):
    for res in config_runs[1]:
        k = res.detail["inputs"]
        sj, h = k.journeys, k.hospital
        att, su_out = h.attendances, h.step_ups
        rows = np.flatnonzero(att.source == 1)
        np.testing.assert_array_equal(sj.outcome[att.episode[rows]], ae_outcome(h.ae, rows))
        su = np.asarray(sj.handoffs.step_up_episode, dtype=np.int64)
        expected = np.where(
            su_out.admitted_instead,
            ledger.ADMITTED,
            np.where(su_out.started, ledger.INTERMEDIATE_CARE, ledger.WAITING_AT_END),
        )
        np.testing.assert_array_equal(sj.outcome[su], expected)
        assert not (su_out.started & su_out.admitted_instead).any()
        admit = np.asarray(sj.handoffs.admit_episode, dtype=np.int64)
        assert (sj.outcome[admit] == ledger.ADMITTED).all()
        # An episode is handed to at most one of A&E, direct admission and step-up.
        handed = np.concatenate([att.episode[rows], su, admit])
        assert len(np.unique(handed)) == len(handed)


def test_flows_non_negative_and_conserved_per_episode(config_runs):
    n_nodes = len(FLOW_NODES)
    checked_states = 0
    for res in config_runs[1]:
        k = res.detail["inputs"]
        ep, sj = k.episodes, k.journeys
        att, ae = k.hospital.attendances, k.hospital.ae
        lo, hi = window(k)
        # Reported flows: known nodes, finite, non-negative, and the recount of the raw ones.
        assert all(a in NODE and b in NODE for a, b in res.flows)
        values = np.array(list(res.flows.values()))
        assert np.isfinite(values).all() and (values >= 0).all()
        keep = ep.time[sj.flow_episode] >= lo
        matrix = np.zeros((n_nodes, n_nodes))
        np.add.at(matrix, (sj.flow_from[keep], sj.flow_to[keep]), 1)
        sp = (att.source == 0) & (att.time >= lo) & (att.time < hi)
        matrix[NODE["self_presenting"], NODE["ae"]] += sp.sum()
        matrix[NODE["ae"], NODE["admission"]] += (sp & ae.admitted).sum()
        matrix[NODE["ae"], NODE["home"]] += (sp & ~ae.admitted).sum()
        for (a, b), per_week in res.flows.items():
            assert per_week * k.weeks == pytest.approx(matrix[NODE[a], NODE[b]]), (a, b)
        assert len(res.flows) == np.count_nonzero(matrix)

        # Flow is conserved per episode: its transitions form one path (recorded in any
        # order) from where it arose, in hours or not, to one final node. So at each node,
        # transitions out minus transitions in is +1 at the start, -1 at the end, else 0.
        assert ((sj.flow_from >= 0) & (sj.flow_from < n_nodes)).all()
        assert ((sj.flow_to >= 0) & (sj.flow_to < n_nodes)).all()
        net = np.zeros((len(ep), n_nodes), dtype=np.int64)
        np.add.at(net, (sj.flow_episode, sj.flow_from), 1)
        np.add.at(net, (sj.flow_episode, sj.flow_to), -1)
        assert ((net == 1).sum(axis=1) == 1).all(), "an episode without exactly one start"
        assert ((net == -1).sum(axis=1) == 1).all(), "an episode without exactly one end"
        assert (np.abs(net).sum(axis=1) == 2).all(), "flow not conserved at some node"
        start, last_node = net.argmax(axis=1), net.argmin(axis=1)
        arose_in_hours = in_core_hours(k.cfg, ep.time)
        expected_start = np.where(arose_in_hours, NODE["need_in_hours"], NODE["need_out_of_hours"])
        np.testing.assert_array_equal(start, expected_start)
        # ... and that end agrees with the episode's terminal state.
        for code, (name, _) in enumerate(ledger.TERMINAL_STATES):
            if name not in FINAL_NODES:
                continue
            mine = sj.outcome == code
            allowed = [NODE[x] for x in FINAL_NODES[name] if x in NODE]
            bad = mine & ~np.isin(last_node, allowed)
            assert not bad.any(), (
                f"{bad.sum()} episodes {name} end at "
                f"{sorted({FLOW_NODES[x] for x in last_node[bad]})}"
            )
            checked_states += int(mine.any())
    assert checked_states >= 3 * REPLICATIONS


def test_ae_times_and_bed_days_are_consistent(config_runs):
    for res in config_runs[1]:
        k = res.detail["inputs"]
        h = k.hospital
        arrive, ae = h.attendances.time, h.ae
        seen, leave = ae.seen_time, ae.departure_time
        assert len(arrive) > 100
        assert np.isfinite(arrive).all() and np.isfinite(leave).all()
        # Everyone is seen, except those who left unseen (who leave after arriving).
        np.testing.assert_array_equal(np.isnan(seen), ae.left_unseen)
        ok = ~ae.left_unseen
        assert (seen[ok] >= arrive[ok]).all() and (leave[ok] >= seen[ok]).all()
        assert (leave >= arrive).all()
        assert (h.ae_hourly_occupancy() >= 0).all()
        a = h.admissions
        stayed = np.isfinite(a.leave_time)
        assert (a.bed_time[stayed] >= a.request_time[stayed]).all()
        assert (a.leave_time[stayed] >= a.optimised_time[stayed]).all()
        assert bed_ledger(h)["balanced"]
        assert res.kpis["system.bed_days_per_week"] >= 0
        # Every KPI is a count, rate, share, time or cost: never negative (NaN = undefined).
        bad = {name: v for name, v in res.kpis.items() if not (np.isnan(v) or v >= 0)}
        assert not bad, bad


#: NHS 111 reached both out of hours and from practices with no slot, most of those without a
#: practice slot that day either: so some needs call NHS 111 more than once (after the
#: call-back NHS 111 advised).
REPEAT_111 = (
    scaled_practice_capacity(0.4)
    + no_slot("urgent", book_later=0.1, callback_next_day=0.3, nhs111=0.5, give_up=0.1)
    + no_slot("soon", book_later=0.3, callback_next_day=0.2, nhs111=0.4, give_up=0.1)
)


def check_nhs111_contacts(res) -> tuple[int, int]:
    """Every NHS 111 call is one transition into NHS 111 and one out of it. Returns (calls in
    the run, episodes calling more than once)."""
    k = res.detail["inputs"]
    ep, sj = k.episodes, k.journeys
    lo, hi = window(k)
    calls = np.asarray(sj.nhs111_calls)  # one entry per call (sim/booking/rules.py)
    out_of = sj.flow_from == NODE["nhs111"]
    into = sj.flow_to == NODE["nhs111"]
    # Over the whole run, and for the episodes arising in the window.
    assert out_of.sum() == into.sum() == len(calls)
    arose_in = ep.time[sj.flow_episode] >= lo
    assert (out_of & arose_in).sum() == (into & arose_in).sum()
    # Each episode's calls: as many in as out; its first call is nhs111_time.
    per_episode_out = np.bincount(sj.flow_episode[out_of], minlength=len(ep))
    per_episode_in = np.bincount(sj.flow_episode[into], minlength=len(ep))
    np.testing.assert_array_equal(per_episode_out, per_episode_in)
    np.testing.assert_array_equal(per_episode_out > 0, ~np.isnan(sj.nhs111_time))
    first = sj.nhs111_time[per_episode_out > 0]
    assert np.isin(first, calls).all()
    # The KPI counts the calls made in the window.
    in_run = (calls >= lo) & (calls < hi)
    assert res.kpis["nhs111.contacts_per_week"] * k.weeks == pytest.approx(in_run.sum())
    return len(calls), int((per_episode_out > 1).sum())


def test_flows_out_of_nhs111_equal_the_contacts(config_runs):
    total = 0
    for res in config_runs[1]:
        calls, _ = check_nhs111_contacts(res)
        total += calls
    assert total > 100


def test_flows_out_of_nhs111_equal_the_contacts_when_needs_call_again():
    # A regression test: before 4f12f26 a second call overwrote the first and the KPI (and
    # the NHS 111 contact cost) counted episodes, not calls.
    repeats = 0
    for rep in range(2):
        res = replicate(REPEAT_111, ONE_PER_LOCALITY, WARMUP, RUN, rep)
        repeats += check_nhs111_contacts(res)[1]
    assert repeats > 20
