"""Equity breakdowns of one replication: the same measures as the system KPIs, by group.

Groups are age band, frailty band (with everyone under 65 as its own level, since frailty is
only assessed from 65) and registered practice. Measures, each computed exactly as the system
KPI it mirrors (:mod:`sim.core.kpis`), restricted to the group:

* ``urgent_same_day_rate`` - urgent requests given a same-day appointment (share);
* ``routine_lead_days_mean`` - routine wait, request to appointment (days);
* ``unmet_need_per_1000_week`` - episodes that gave up without care, per 1,000 people a week;
* ``ae_per_1000_year`` - A&E attendances per 1,000 people a year.

Denominators are people in the group: practice list sizes x age mix for age bands, the 65+
population x ``frailty_share_65plus`` for frailty bands, list sizes for practices.
Self-presenting A&E arrivals are not registered to a practice in the model; for the
by-practice breakdown each is shared between practices in proportion to the practice's
population in the arrival's age band (its expected share), so the practice rates weighted by
list size add up to the system rate. Weighted sums of every breakdown reproduce the system
KPIs (``tests/test_report.py`` checks this).

:func:`replication_equity` returns a flat dict ``{"by_age.<band>.<measure>": value, ...}``;
:func:`equity_table` summarises replications into ``equity.csv``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.config.schema import AGE_BANDS, FIRST_OLDER_BAND, FRAILTY_BANDS
from sim.core.calendar import WEEKS_PER_YEAR
from sim.core.demand import practice_age_shares
from sim.core.kpis import KpiInputs

if TYPE_CHECKING:  # a replication never builds a table: pandas is imported in equity_table
    import pandas as pd

UNDER_65 = "under 65"
MEASURES: dict[str, tuple[str, str]] = {
    "urgent_same_day_rate": ("share of urgent requests", "Urgent requests seen same day"),
    "routine_lead_days_mean": ("days", "Routine wait (mean)"),
    "unmet_need_per_1000_week": ("episodes per 1,000 people per week", "Unmet need"),
    "ae_per_1000_year": ("attendances per 1,000 people per year", "A&E attendances"),
}
GROUPS: dict[str, str] = {"by_age": "Age band", "by_frailty": "Frailty", "by_practice": "Practice"}
EQUITY_COLUMNS = ["group", "level", "measure", "mean", "ci_low", "ci_high", "n"]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _frailty_level(frailty: np.ndarray) -> np.ndarray:
    """0 = under 65 (not assessed), 1.. = FRAILTY_BANDS index + 1."""
    f = np.asarray(frailty, dtype=np.int64)
    return np.where(f < 0, 0, f + 1)


def replication_equity(k: KpiInputs) -> dict[str, float]:
    """Equity measures of one replication, flat: ``"<group>.<level>.<measure>" -> value``."""
    ep, att = k.episodes, k.hospital.attendances
    weeks = k.weeks
    practice_names = list(k.cfg.site.practices)
    n_prac, n_age = len(practice_names), len(AGE_BANDS)

    lists = np.asarray(k.practices.list_sizes, dtype=float)
    people_pa = lists[:, None] * practice_age_shares(k.cfg)  # (practice, age band)
    people_age = people_pa.sum(axis=0)
    older = people_age[FIRST_OLDER_BAND:].sum()
    frail_share = np.array([k.cfg.site.frailty_share_65plus[b] for b in FRAILTY_BANDS])
    people_frailty = np.concatenate([[people_age[:FIRST_OLDER_BAND].sum()], older * frail_share])

    # A&E attendances in the window, as sim.core.kpis.service_kpis
    ae_in = k.in_window(att.time)
    ae_age = np.asarray(att.age_band, dtype=np.int64)[ae_in]
    ae_frail = _frailty_level(att.frailty)[ae_in]
    ae_episode = np.asarray(att.episode, dtype=np.int64)[ae_in]
    ae_counts_age = np.bincount(ae_age, minlength=n_age).astype(float)
    ae_counts_frail = np.bincount(ae_frail, minlength=len(people_frailty)).astype(float)
    from_ep = ae_episode >= 0
    ae_counts_prac = np.bincount(ep.practice[ae_episode[from_ep]], minlength=n_prac).astype(float)
    # Self-presenting arrivals: shared by each practice's share of the age band's people
    sp_by_age = np.bincount(ae_age[~from_ep], minlength=n_age).astype(float)
    share_pa = _ratio(people_pa, np.broadcast_to(people_age, people_pa.shape))
    ae_counts_prac += np.nan_to_num(share_pa) @ sp_by_age

    result: dict[str, float] = {}
    # The system KPIs' counts by cell (practice, age band, frailty level) and combination of
    # access flags (sim.core.window_counts): each group's counts are sums over the other two
    # axes. The lead days summed are whole numbers, so any order adds them exactly.
    c = k.counts
    shape = c.routine_lead_sum.shape
    lead_sum = c.routine_lead_sum.astype(float)

    def add(group: str, names: list[str], axis: int, people: np.ndarray, ae: np.ndarray):
        others = tuple(a for a in range(len(shape)) if a != axis)

        def count(flag: str) -> np.ndarray:
            """Episodes holding access flag ``flag``, by level."""
            return c.flagged(flag, keep=(axis,)).astype(float)

        values = {
            "urgent_same_day_rate": _ratio(count("urgent_met"), count("urgent")),
            "routine_lead_days_mean": _ratio(lead_sum.sum(axis=others), count("routine")),
            "unmet_need_per_1000_week": _ratio(count("gave_up"), people / 1000) / weeks,
            "ae_per_1000_year": _ratio(ae, people / 1000) / weeks * WEEKS_PER_YEAR,
        }
        for i, name in enumerate(names):
            for measure, vals in values.items():
                result[f"{group}.{name}.{measure}"] = float(vals[i])

    add("by_age", list(AGE_BANDS), 1, people_age, ae_counts_age)
    add("by_frailty", [UNDER_65, *FRAILTY_BANDS], 2, people_frailty, ae_counts_frail)
    add("by_practice", practice_names, 0, lists, ae_counts_prac)
    return result


def split_key(key: str) -> tuple[str, str, str]:
    """``"by_age.0-4.ae_per_1000_year"`` -> ``("by_age", "0-4", "ae_per_1000_year")``."""
    group, rest = key.split(".", 1)
    level, measure = rest.rsplit(".", 1)
    return group, level, measure


def equity_table(results, level: float) -> pd.DataFrame:
    """``group, level, measure, mean, ci_low, ci_high, n`` over replications; each interval
    stays within the measure's range (:func:`sim.core.statistics.bounded_interval`)."""
    import pandas as pd

    from sim.core.statistics import bounded_interval, bounds_for_unit

    keys: list[str] = []
    for r in results:
        keys.extend(k for k in getattr(r, "equity", {}) if k not in keys)
    rows = []
    for key in keys:
        vals = np.array([r.equity.get(key, np.nan) for r in results], dtype=float)
        group, level_name, measure = split_key(key)
        unit = MEASURES[measure][0] if measure in MEASURES else ""
        mean, lo, hi = bounded_interval(vals, level, bounds_for_unit(unit))
        rows.append((group, level_name, measure, mean, lo, hi, int(np.isfinite(vals).sum())))
    return pd.DataFrame(rows, columns=EQUITY_COLUMNS)


__all__ = ["MEASURES", "GROUPS", "replication_equity", "equity_table", "split_key"]
