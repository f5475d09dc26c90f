"""Conservation: every episode ends in exactly one terminal state, in every replication.

The ledger is recounted here from the raw arrays (``keep_detail=True``) rather than trusted,
for the baseline and for stressed systems where most needs find no slot.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import (
    MINUTES_PER_DAY,
    PRACTICE_ONLY,
    SEED,
    capacity_overrides,
    clear_fte_overrides,
    configure,
    replication_arrays,
)

from sim.core import ledger
from sim.core.replication import run_replication
from sim.services.catalogue import SERVICES

WARMUP, RUN = 1, 2
REPLICATIONS = 3

SCENARIOS = {
    "baseline": {},
    "low_capacity": {"fraction": 0.2},
    "no_capacity": {"fraction": 0.0},
    "no_callbacks_short_horizon": {
        "assumptions.booking.max_callbacks": 0,
        "site.practice_capacity.booking_horizon_days": 3,
    },
    # Needs only in core hours and scarce capacity: the last call-backs of the run come after
    # every first request, so they must still be resolved after the request stream ends.
    "needs_only_in_core_hours": {
        "fraction": 0.2,
        "assumptions.demand.hour_share_weekday": [0.0] * 9 + [0.125] * 8 + [0.0] * 7,
        "assumptions.demand.weekday_share": [0.2] * 5 + [0.0, 0.0],
        "assumptions.booking.max_callbacks": 3,
        "assumptions.booking.no_slot": {
            u: {"book_later": 0.0, "callback_next_day": 1.0, "give_up": 0.0}
            for u in ("urgent", "soon", "routine")
        },
    },
}


def scenario_config(data, name, practice_only=False):
    spec = {**(PRACTICE_ONLY if practice_only else {}), **SCENARIOS[name]}
    data = clear_fte_overrides(data)
    if "fraction" in spec:
        f = spec.pop("fraction")
        cap = data["site"]["practice_capacity"]
        spec.update(
            capacity_overrides(
                {s: f * cap[s]["fte_per_1000"] for s in ("gp", "nurse", "pharmacist")}
            )
        )
    return configure(data, spec)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_ledger_balances_in_every_replication(small_data, scenario):
    run_cfg = scenario_config(small_data, scenario)
    first_minute = 7 * WARMUP * MINUTES_PER_DAY
    end_minute = 7 * (WARMUP + RUN) * MINUTES_PER_DAY
    states = {name for name, _ in ledger.TERMINAL_STATES}
    for rep in range(REPLICATIONS):
        res = run_replication(run_cfg.model, SEED, rep, WARMUP, RUN, keep_detail=True)
        ep, pj = replication_arrays(res)
        n = len(ep)
        assert n == res.episodes_total > 0

        # Every array describes every episode; none is left pending, every code is a state.
        for name in (
            "outcome",
            "first_request_time",
            "booked_time",
            "appointment_day",
            "appointment_minute",
            "staff_type",
            "attempts",
        ):
            assert len(getattr(pj, name)) == n, name
        assert (pj.outcome != ledger.PENDING).all()
        assert ((pj.outcome >= 0) & (pj.outcome < len(ledger.TERMINAL_STATES))).all()

        # The window: episodes arising from the end of warm-up; none arise after the run.
        assert ep.time.min() >= 0 and ep.time.max() < end_minute
        in_window = ep.time >= first_minute
        counts = np.bincount(pj.outcome[in_window], minlength=len(ledger.TERMINAL_STATES))
        assert res.ledger["generated"] == int(in_window.sum())
        # States of a service the site does not have (an option not taken) are left out and
        # must count 0; every other state is reported.
        absent = {
            s for svc in SERVICES if not svc.present(run_cfg.model) for s, _ in svc.terminal_states
        }
        assert absent == {"urgent_treatment_centre"}
        assert set(res.ledger) == {"generated"} | (states - {"pending"} - absent)
        for i, (name, _) in enumerate(ledger.TERMINAL_STATES):
            if name != "pending":
                assert res.ledger.get(name, 0) == counts[i], name
        assert sum(v for k, v in res.ledger.items() if k != "generated") == in_window.sum()


@pytest.mark.parametrize("scenario", ["baseline", "low_capacity"])
def test_outcomes_agree_with_bookings_practice_only(small_data, scenario):
    # Practices alone (no hubs, no onward referrals): an episode was seen or missed its
    # appointment exactly when it holds a practice booking inside the run.
    run_cfg = scenario_config(small_data, scenario, practice_only=True)
    res = run_replication(run_cfg.model, SEED, 0, WARMUP, RUN, keep_detail=True)
    _, pj = replication_arrays(res)
    run_days = 7 * (WARMUP + RUN)
    booked = pj.appointment_day >= 0
    seen = np.isin(pj.outcome, [ledger.ATTENDED_PRACTICE, ledger.DID_NOT_ATTEND])
    np.testing.assert_array_equal(seen, booked & (pj.appointment_day < run_days))
    assert (pj.outcome[booked & (pj.appointment_day >= run_days)] == ledger.WAITING_AT_END).all()
    assert (pj.appointment_day[pj.outcome == ledger.GAVE_UP] == -1).all()
    # A booking is never in the past, and staff and minute are recorded with it.
    book_day = np.floor(pj.booked_time[booked] / MINUTES_PER_DAY)
    assert (pj.appointment_day[booked] >= book_day).all()
    assert (pj.staff_type[booked] >= 0).all() and (pj.appointment_minute[booked] >= 0).all()
    assert (pj.staff_type[~booked] == -1).all()
    # Stress must actually stress: under low capacity some needs give up.
    if scenario == "low_capacity":
        assert (pj.outcome == ledger.GAVE_UP).sum() > 100


@pytest.mark.parametrize("scenario", ["baseline", "low_capacity"])
def test_outcomes_agree_with_bookings_whole_system(small_data, scenario):
    run_cfg = scenario_config(small_data, scenario)
    res = run_replication(run_cfg.model, SEED, 0, WARMUP, RUN, keep_detail=True)
    _, pj = replication_arrays(res)
    end_minute = 7 * (WARMUP + RUN) * MINUTES_PER_DAY
    run_days = 7 * (WARMUP + RUN)
    booked = pj.appointment_day >= 0
    at_hub = ~np.isnan(pj.hub_time)
    # Seen at the practice <=> a practice appointment inside the run; at the hub likewise.
    attended = pj.outcome == ledger.ATTENDED_PRACTICE
    assert (booked[attended] & (pj.appointment_day[attended] < run_days)).all()
    hub = pj.outcome == ledger.ATTENDED_HUB
    assert (at_hub[hub] & (pj.hub_time[hub] < end_minute)).all()
    # Did not attend: a booking (practice or hub) inside the run to miss.
    missed = pj.outcome == ledger.DID_NOT_ATTEND
    in_run = (booked & (pj.appointment_day < run_days)) | (at_hub & (pj.hub_time < end_minute))
    assert in_run[missed].all()
    # A practice booking after the end is still waiting; giving up means no booking at all.
    assert (pj.outcome[booked & (pj.appointment_day >= run_days)] == ledger.WAITING_AT_END).all()
    gave_up = pj.outcome == ledger.GAVE_UP
    assert not booked[gave_up].any() and not at_hub[gave_up].any()
    assert (pj.outcome != ledger.PENDING).all()
    if scenario == "low_capacity":
        assert gave_up.sum() > 100


def test_no_demand_means_nothing_happens(small_data):
    run_cfg = configure(small_data, {"assumptions.demand.scale": 0.0})
    res = run_replication(run_cfg.model, SEED, 0, WARMUP, RUN)
    assert res.episodes_total == 0
    assert set(res.ledger.values()) == {0}
    assert res.kpis["practice.appointments_per_1000_week"] == 0
    assert res.kpis["practice.utilisation"] == 0


# --------------------------------------------------------------------------------------------
# The run's own ledger check can fail
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_run():
    from sim.config.compose import compose_validated

    _, run_cfg, _ = compose_validated([])
    res = run_replication(run_cfg.model, SEED, 0, 1, 2, keep_detail=True)
    return run_cfg.model, res


def _ledger(cfg, k, outcome=None, flow_episode=None, flow_to=None):
    from sim.core.flows import FLOW_NODES

    sj = k.journeys
    in_window = k.episodes.time >= k.first_day * MINUTES_PER_DAY
    return ledger.ledger_counts(
        sj.outcome if outcome is None else outcome,
        in_window,
        sj.flow_episode if flow_episode is None else flow_episode,
        sj.flow_to if flow_to is None else flow_to,
        FLOW_NODES,
        ledger.reported_states(cfg),
    )


def test_the_ledger_agrees_with_the_flow_log(default_run):
    cfg, res = default_run
    k = res.detail["inputs"]
    counts = _ledger(cfg, k)
    assert counts == res.ledger
    assert counts["admitted"] > 0 and counts["gave_up"] > 0 and counts["self_care"] > 0


@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [("gave_up", "self_care"), ("admitted", "ae_discharged"), ("self_care", "attended_practice")],
)
def test_the_ledger_fails_when_a_rule_records_another_outcome_than_its_move(
    default_run, from_state, to_state
):
    """A rule that logs one move but sets another outcome (one episode is enough)."""
    cfg, res = default_run
    k = res.detail["inputs"]
    outcome = k.journeys.outcome.copy()
    in_window = k.episodes.time >= k.first_day * MINUTES_PER_DAY
    i = np.flatnonzero(in_window & (outcome == ledger.STATE_INDEX[from_state]))[0]
    outcome[i] = ledger.STATE_INDEX[to_state]
    with pytest.raises(ledger.ConservationError, match="the flow log"):
        _ledger(cfg, k, outcome=outcome)


def test_the_ledger_fails_when_a_move_is_lost_or_logged_twice(default_run):
    from sim.core.flows import NODE

    cfg, res = default_run
    k = res.detail["inputs"]
    sj = k.journeys
    in_window = k.episodes.time >= k.first_day * MINUTES_PER_DAY
    into_admission = np.flatnonzero((sj.flow_to == NODE["admission"]) & in_window[sj.flow_episode])
    keep = np.ones(len(sj.flow_to), dtype=bool)
    keep[into_admission[0]] = False
    with pytest.raises(ledger.ConservationError, match="moves into admission"):
        _ledger(cfg, k, flow_episode=sj.flow_episode[keep], flow_to=sj.flow_to[keep])
    twice = np.concatenate([np.arange(len(sj.flow_to)), into_admission[:1]])
    with pytest.raises(ledger.ConservationError, match="moves into admission"):
        _ledger(cfg, k, flow_episode=sj.flow_episode[twice], flow_to=sj.flow_to[twice])


def test_a_replication_whose_hand_offs_are_not_settled_fails_its_ledger(monkeypatch):
    """The replication settles hand-offs after the hospital (settle_outcomes); one that sets
    their outcomes but forgets their moves (into home or an admission) is refused by the run
    itself."""
    from sim.config.compose import compose_validated
    from sim.core import replication

    original = replication.settle_outcomes

    def forgets_the_moves(sj, hospital):
        n = len(sj.flow_to)
        original(sj, hospital)
        sj.flow_episode, sj.flow_from, sj.flow_to = (
            sj.flow_episode[:n],
            sj.flow_from[:n],
            sj.flow_to[:n],
        )

    _, run_cfg, _ = compose_validated([])
    monkeypatch.setattr(replication, "settle_outcomes", forgets_the_moves)
    with pytest.raises(ledger.ConservationError, match="the flow log"):
        replication.run_replication(run_cfg.model, SEED, 0, 1, 2)
