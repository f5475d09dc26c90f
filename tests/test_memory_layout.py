"""How a replication holds its per-episode arrays to keep its peak memory down: the times few
episodes have kept as those episodes only (``SystemJourneys.sparse_times``), and the episodes'
attributes let go of after the last stage that reads them (``demand.LAST_READ_BY``). Neither
may change a number; the sparse times are checked against the flow log, which records the
same events independently."""

from __future__ import annotations

import numpy as np
from system_helpers import replicate, run_config

from sim.booking import codes
from sim.booking.state import RARE_TIMES
from sim.core.demand import LAST_READ_BY, UNIFORM_ATTRIBUTES, generate_episodes
from sim.core.replication import make_calendar, run_replication
from sim.core.streams import Streams
from sim.experiments.fingerprint import result_digest

#: Options that use every rare time: hubs, NHS 111 and rapid assessment (baseline),
#: weekend clinics, and reminders that cancel bookings ahead.
EVERY_RARE_TIME = ("scenario=[rac_weekend,text_reminders]",)


def test_sparse_times_hold_exactly_the_episodes_the_flow_log_sends_there():
    journeys = replicate(EVERY_RARE_TIME, warmup_weeks=1, run_weeks=6).detail["inputs"].journeys
    n = len(journeys.outcome)
    for name in RARE_TIMES:
        times = journeys.sparse_times[name]
        assert times.n_episodes == n
        assert np.all(np.diff(times.episode) > 0), name  # ascending, one each
        assert not np.isnan(times.minute).any(), name
        dense = getattr(journeys, name)
        assert np.isnan(np.delete(dense, times.episode)).all(), name
        np.testing.assert_array_equal(dense[times.episode], times.minute, err_msg=name)
    # Every NHS 111 call and every rapid assessment referral is a move in the flow log.
    for name, node in (("nhs111_time", codes.NODE_NHS111), ("rac_referral_time", codes.NODE_RAC)):
        went = np.unique(journeys.flow_episode[journeys.flow_to == node])
        assert len(went) > 0, name
        np.testing.assert_array_equal(journeys.sparse_times[name].episode, went, err_msg=name)
    assert len(journeys.nhs111_calls) == np.count_nonzero(journeys.flow_to == codes.NODE_NHS111)
    assert len(journeys.sparse_times["cancelled_time"].episode) > 0  # reminders cancelled some
    # A cancelled hub booking is no longer a hub appointment.
    hub = set(journeys.sparse_times["hub_time"].episode)
    assert hub == set(journeys.sparse_times["hub_booked_time"].episode)


def test_letting_go_of_attributes_changes_no_number():
    run_cfg = run_config(EVERY_RARE_TIME)
    kept, let_go = (
        run_replication(run_cfg.model, run_cfg.seed, 0, 1, 6, keep_detail=keep)
        for keep in (True, False)
    )
    assert result_digest(kept) == result_digest(let_go)


def test_without_drops_only_the_named_attributes_and_shares_the_rest():
    run_cfg = run_config()
    cfg = run_cfg.model
    episodes = generate_episodes(cfg, make_calendar(cfg, 0, 1), Streams(run_cfg.seed, 0))
    slim = episodes.without(*LAST_READ_BY["request order"], "staff_need")
    assert slim.staff_need is None and episodes.staff_need is not None
    assert set(slim.uniforms) == set(UNIFORM_ATTRIBUTES) - {"ooh_choice"}
    assert set(episodes.uniforms) == set(UNIFORM_ATTRIBUTES)  # the original is unchanged
    assert slim.time is episodes.time and slim.uniforms["dna"] is episodes.uniforms["dna"]
    assert episodes.without("uniforms").uniforms == {}


def test_episodes_reordered_in_place_let_go_of_what_only_the_request_order_reads():
    """A replication's own episodes are put in request order in place, the attributes it
    drops let go of before, so no unordered column outlives the reordering; a copy leaves
    the episodes it was made from as they were."""
    from sim.booking.preparation import in_request_order

    run_cfg = run_config()
    cfg = run_cfg.model
    calendar = make_calendar(cfg, 0, 2)
    episodes = generate_episodes(cfg, calendar, Streams(run_cfg.seed, 0))
    time, dna = episodes.time, episodes.uniforms["dna"]
    copy, _ = in_request_order(episodes, cfg, calendar, drop=("ooh_choice", "staff_need"))
    assert episodes.time is time and episodes.staff_need is not None
    assert set(episodes.uniforms) == set(UNIFORM_ATTRIBUTES)
    same, _ = in_request_order(
        episodes, cfg, calendar, in_place=True, drop=("ooh_choice", "staff_need")
    )
    assert same is episodes and episodes.staff_need is None and copy.staff_need is None
    assert set(episodes.uniforms) == set(copy.uniforms) == set(UNIFORM_ATTRIBUTES) - {"ooh_choice"}
    assert episodes.time is not time and episodes.uniforms["dna"] is not dna  # reordered
    np.testing.assert_array_equal(episodes.time, copy.time)
    np.testing.assert_array_equal(np.sort(episodes.time), np.sort(time))


def test_a_sparse_time_is_looked_up_by_episode_and_nan_where_there_is_none():
    from sim.booking.preparation import SparseTimes

    times = SparseTimes(np.array([2, 5, 9], np.int32), np.array([10.0, 50.0, 90.0]), 12)
    got = times.at(np.array([0, 2, 3, 5, 9, 11]))
    want = [np.nan, 10.0, np.nan, 50.0, 90.0, np.nan]  # by hand: episodes 2, 5, 9 have one
    np.testing.assert_array_equal(got, want)
    assert times.at(np.array([], np.int64)).shape == (0,)
    assert np.isnan(SparseTimes(np.array([], np.int32), np.array([]), 3).at(np.arange(3))).all()


def test_the_hospital_leaves_no_reference_cycles_behind():
    # Its parts call one another: left as reference cycles, only the cycle collector frees
    # them, late, and a worker carried one replication's per-patient lists (about 35 MB)
    # into the next one's peak. With the frailty team, so that every part is built.
    import gc

    run_cfg = run_config(("scenario=[frailty_front_of_house,ic_expansion]",))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what the collector finds, to look at
    try:
        run_replication(run_cfg.model, run_cfg.seed, 0, 1, 2)
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage if "hospital" in type(o).__module__}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == set()
