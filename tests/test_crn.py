"""Common random numbers: two scenarios see the same patients.

Every field of :class:`sim.core.demand.Episodes` is compared (found by introspection, so a field
added later is covered too): times, practice, age, frailty, urgency, staff need, earliest day
and every per-episode uniform draw.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from conftest import (
    SEED,
    capacity_overrides,
    clear_fte_overrides,
    configure,
    replication_arrays,
    small_site,
)

from sim.core.demand import Episodes, generate_episodes
from sim.core.replication import make_calendar, run_replication
from sim.core.streams import Streams

WARMUP, RUN = 1, 2


def episode_columns(ep: Episodes) -> dict[str, np.ndarray]:
    """Every per-episode array, flattened to name -> array (dict fields expanded)."""
    out = {}
    for f in dataclasses.fields(ep):
        value = getattr(ep, f.name)
        if isinstance(value, dict):
            out.update({f"{f.name}.{k}": v for k, v in value.items()})
        else:
            out[f.name] = value
    return out


def assert_same_episodes(a: Episodes, b: Episodes) -> None:
    cols_a, cols_b = episode_columns(a), episode_columns(b)
    assert cols_a.keys() == cols_b.keys()
    for name in cols_a:
        np.testing.assert_array_equal(cols_a[name], cols_b[name], err_msg=name)


def episodes_of(run_cfg, seed=SEED, replication=0):
    res = run_replication(run_cfg.model, seed, replication, WARMUP, RUN, keep_detail=True)
    return replication_arrays(res)[0], res


def test_same_seed_same_patients_when_only_capacity_differs(small_data):
    data = clear_fte_overrides(small_data)
    gp = data["site"]["practice_capacity"]["gp"]["fte_per_1000"]
    low = configure(data)
    high = configure(data, capacity_overrides({"gp": 2 * gp + 0.1}))
    ep_low, res_low = episodes_of(low)
    ep_high, res_high = episodes_of(high)
    assert len(ep_low) > 1000
    assert_same_episodes(ep_low, ep_high)
    # The two configurations really are different systems: same patients, other outcomes.
    assert res_high.kpis["practice.utilisation"] != res_low.kpis["practice.utilisation"]


def test_same_patients_when_booking_rules_differ(small_data):
    a = configure(small_data)
    b = configure(
        small_data,
        {
            "site.practice_capacity.on_the_day_share": 0.1,
            "site.practice_capacity.booking_horizon_days": 7,
            "assumptions.booking.max_callbacks": 0,
        },
    )
    assert_same_episodes(episodes_of(a)[0], episodes_of(b)[0])


def test_different_replication_or_seed_gives_different_patients(small_data):
    run_cfg = configure(small_data)
    base, _ = episodes_of(run_cfg, replication=0)
    for other, _ in (episodes_of(run_cfg, replication=1), episodes_of(run_cfg, seed=SEED + 1)):
        # Counts may coincide by chance; times (continuous) cannot.
        n = min(len(base), len(other))
        assert not np.array_equal(base.time[:n], other.time[:n])
        for name, col in episode_columns(other).items():
            if name.startswith("uniforms."):
                assert not np.array_equal(col[:n], episode_columns(base)[name][:n]), name


def test_replication_is_reproducible(small_data):
    run_cfg = configure(small_data)
    a, res_a = episodes_of(run_cfg, replication=3)
    b, res_b = episodes_of(run_cfg, replication=3)
    assert_same_episodes(a, b)
    np.testing.assert_equal(res_a.kpis, res_b.kpis)  # NaN-aware, exact
    assert res_a.ledger == res_b.ledger


def per_practice(ep: Episodes, index: int) -> dict[str, np.ndarray]:
    keep = ep.practice == index
    return {k: v[keep] for k, v in episode_columns(ep).items() if k != "practice"}


def test_adding_or_reordering_practices_leaves_others_patients_unchanged(real_data):
    two = small_site(real_data)
    codes = list(two["site"]["practices"])[:2]
    two["site"]["practices"] = {c: two["site"]["practices"][c] for c in codes}
    three = small_site(real_data, per_locality=2)  # the same two plus others, in site order
    extra = [c for c in three["site"]["practices"] if c not in codes]
    assert extra
    practices = three["site"]["practices"]
    reversed_ = {c: practices[c] for c in reversed(list(practices))}
    three_rev = dict(three, site=dict(three["site"], practices=reversed_))

    eps = {}
    for name, data in (("two", two), ("three", three), ("reversed", three_rev)):
        run_cfg = configure(data)
        cal = make_calendar(run_cfg.model, WARMUP, RUN)
        order = list(data["site"]["practices"])
        eps[name] = (generate_episodes(run_cfg.model, cal, Streams(SEED, 0)), order)

    for code in codes:
        ref_ep, ref_order = eps["two"]
        ref = per_practice(ref_ep, ref_order.index(code))
        assert len(ref["time"]) > 100
        for name in ("three", "reversed"):
            ep, order = eps[name]
            got = per_practice(ep, order.index(code))
            assert got.keys() == ref.keys()
            for col in ref:
                np.testing.assert_array_equal(got[col], ref[col], err_msg=f"{code} {name} {col}")


# --------------------------------------------------------------------------------------------
# Named streams
# --------------------------------------------------------------------------------------------


def test_streams_are_keyed_by_name_not_call_order():
    s1 = Streams(SEED, 0)
    a_first = s1.generator("arrivals.A").random(1000)
    s2 = Streams(SEED, 0)
    s2.generator("arrivals.B").random(10_000)  # draw heavily from another stream first
    s2.generator("attribute.dna.A").random(77)
    a_after = s2.generator("arrivals.A").random(1000)
    np.testing.assert_array_equal(a_first, a_after)


def test_drawing_more_from_one_stream_does_not_shift_another():
    s = Streams(SEED, 2)
    a, b = s.generator("one"), s.generator("two")
    b_alone = Streams(SEED, 2).generator("two").random(50)
    a.random(12345)
    np.testing.assert_array_equal(b.random(50), b_alone)


def test_streams_differ_by_name_replication_and_seed():
    draws = {
        "base": Streams(SEED, 0).generator("x").random(100),
        "name": Streams(SEED, 0).generator("y").random(100),
        "replication": Streams(SEED, 1).generator("x").random(100),
        "seed": Streams(SEED + 1, 0).generator("x").random(100),
    }
    names = list(draws)
    for i, p in enumerate(names):
        for q in names[i + 1 :]:
            assert not np.array_equal(draws[p], draws[q]), (p, q)
    # Independent-looking, not merely different: correlation within 4 standard errors of 0.
    assert abs(np.corrcoef(draws["base"], draws["name"])[0, 1]) < 4 / np.sqrt(100)
