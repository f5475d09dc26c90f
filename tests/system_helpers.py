"""Helpers for the whole-system tests (routing, conservation, calibration).

Configurations are the REAL ones: ``conf/`` composed by Hydra exactly as ``python -m sim``
composes it, with Hydra command-line overrides, then validated by
:func:`sim.config.compose.validate`.
Sites are shrunk with Hydra deletions (``~site.practices.CODE``) so runs stay short.

Replications are cached per (overrides, site, seed, replication, weeks): several tests read
the same run, and none of them mutates it.

Statistical checks use fixed seeds (deterministic) and the suite's family-wise level
``ALPHA`` with ``assert_shares`` and ``binomial_pvalue``, all from ``conftest.py``.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import holidays
import numpy as np
from conftest import compose_with_hydra
from omegaconf import OmegaConf

import sim.config.compose
from sim.config.schema import RunConfig
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY
from sim.core.replication import ReplicationResult, make_calendar, run_replication

#: Seed of every run here (any fixed value; results are deterministic).
SEED = 20250517
#: One practice per locality: ~3,800 needs a week; every locality keeps a hub.
ONE_PER_LOCALITY = ("CLS01", "DUR01", "DER01")
#: Two per locality: ~7,000 needs a week, for checks that need more rare events.
TWO_PER_LOCALITY = ("CLS01", "CLS02", "DUR01", "DUR02", "DER01", "DER02")
#: Every practice (the default site).
ALL_PRACTICES = None

HUB_CLOSED_DAYS = tuple(
    f"site.hubs.opening.{d}=[]" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)


# --------------------------------------------------------------------------------------------
# Configuration through Hydra
# --------------------------------------------------------------------------------------------


GROUPS = ("site", "assumptions", "scenario", "experiment", "calibration", "sweep")


@functools.lru_cache(maxsize=1)
def _default_composition() -> Any:
    return compose_with_hydra([])


def _compose(overrides: Sequence[str]) -> Any:
    """As :func:`compose_with_hydra`, faster: a full composition costs ~0.3 s (YAML loading),
    so value overrides (``key=v``, ``++key=v``, ``~key``) are applied to a copy of the default
    composition by Hydra's own override step, the one ``compose`` runs after loading the
    defaults list. Config-group choices (``experiment=quick``) still go through ``compose``.
    ``test_fast_composition_matches_hydra`` checks the two agree."""
    try:
        from hydra._internal.config_loader_impl import ConfigLoaderImpl
        from hydra.core.override_parser.overrides_parser import OverridesParser
    except ImportError:  # Hydra internals moved: fall back to the public API
        return compose_with_hydra(overrides)
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    if any(o.key_or_group in GROUPS or o.is_sweep_override() for o in parsed):
        return compose_with_hydra(overrides)
    cfg = copy.deepcopy(_default_composition())
    ConfigLoaderImpl._apply_overrides_to_config(parsed, cfg)
    return cfg


@functools.lru_cache(maxsize=1)
def all_practice_codes() -> tuple[str, ...]:
    cfg = _compose([])
    return tuple(str(k) for k in OmegaConf.to_container(cfg.site.practices))


def keep_practices(codes: Iterable[str] | None) -> tuple[str, ...]:
    """Hydra deletions leaving only ``codes`` (None keeps every practice)."""
    if codes is None:
        return ()
    keep = set(codes)
    unknown = keep - set(all_practice_codes())
    assert not unknown, f"no such practices: {sorted(unknown)}"
    return tuple(f"~site.practices.{c}" for c in all_practice_codes() if c not in keep)


@functools.lru_cache(maxsize=64)
def run_config(
    overrides: tuple[str, ...] = (), practices: tuple[str, ...] | None = ONE_PER_LOCALITY
) -> RunConfig:
    """Validated config of ``conf/`` with these Hydra overrides, on these practices."""
    cfg = _compose(keep_practices(practices) + tuple(overrides))
    run_cfg, _ = sim.config.compose.validate(cfg)
    return run_cfg


def no_slot(urgency: str, **shares: float) -> tuple[str, ...]:
    """Overrides setting all five no-slot shares of ``urgency`` (unnamed ones to 0).

    ``++`` adds or replaces: the YAML lists only some of the actions."""
    actions = ("book_later", "callback_next_day", "nhs111", "ae", "give_up")
    unknown = set(shares) - set(actions)
    assert not unknown, unknown
    return tuple(
        f"++assumptions.booking.no_slot.{urgency}.{a}={float(shares.get(a, 0.0))}" for a in actions
    )


def out_of_hours_route(nhs111: float, ae: float) -> tuple[str, ...]:
    return (f"++assumptions.booking.out_of_hours_route={{nhs111:{nhs111},ae:{ae}}}",)


def nhs111_disposition(**shares: float) -> tuple[str, ...]:
    """The same disposition mix for every NHS 111 call, whatever the reason for calling."""
    names = ("self_care", "pharmacy", "primary_care", "ae", "ambulance")
    assert set(shares) <= set(names)
    return tuple(
        f"assumptions.nhs111.{mix}.{d}={float(shares.get(d, 0.0))}"
        for mix in ("disposition", "disposition_displaced")
        for d in names
    )


def practice_capacity(fte_per_1000: float | dict[str, float]) -> tuple[str, ...]:
    """Every staff type at this FTE per 1,000 patients."""
    if not isinstance(fte_per_1000, dict):
        fte_per_1000 = {s: fte_per_1000 for s in ("gp", "nurse", "pharmacist")}
    return tuple(f"site.practice_capacity.{s}.fte_per_1000={v}" for s, v in fte_per_1000.items())


def scaled_practice_capacity(fraction: float) -> tuple[str, ...]:
    """Every staff type at ``fraction`` of the composed default FTE per 1,000."""
    cap = _compose([]).site.practice_capacity
    return practice_capacity(
        {s: fraction * float(cap[s].fte_per_1000) for s in ("gp", "nurse", "pharmacist")}
    )


#: A practice day that can see everyone who asks in core hours: one session spanning core
#: hours and beyond, a slot every 12 minutes, no notice, ~10x today's workforce.
AMPLE_PRACTICE = practice_capacity(5.0) + (
    "site.practice_capacity.sessions=[{start_minute:480,end_minute:1200}]",
    "++site.practice_capacity.sessions_outside_core_hours=true",  # the session runs to 20:00
    "site.practice_capacity.gp.slots_per_session=60",
    "site.practice_capacity.nurse.slots_per_session=60",
    "site.practice_capacity.pharmacist.slots_per_session=60",
    "assumptions.booking.min_notice_minutes=0",
)

NO_PRACTICE_CAPACITY = practice_capacity(0.0)

#: No-slot rules without the NHS 111 and A&E actions (book later, call back or give up only),
#: for tests whose expectations need those routes closed whatever today's defaults are.
NO_SLOT_WITHOUT_111_OR_AE = (
    no_slot("urgent", book_later=0.3, callback_next_day=0.5, give_up=0.2)
    + no_slot("soon", book_later=0.6, callback_next_day=0.3, give_up=0.1)
    + no_slot("routine", book_later=0.9, callback_next_day=0.05, give_up=0.05)
)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def replicate(
    overrides: tuple[str, ...] = (),
    practices: tuple[str, ...] | None = ONE_PER_LOCALITY,
    warmup_weeks: int = 1,
    run_weeks: int = 4,
    replication: int = 0,
    seed: int = SEED,
) -> ReplicationResult:
    """One replication with ``keep_detail=True`` (cached: do not mutate the result)."""
    run_cfg = run_config(tuple(overrides), practices)
    return run_replication(
        run_cfg.model, seed, replication, warmup_weeks, run_weeks, keep_detail=True
    )


def window_minutes(res: ReplicationResult) -> tuple[float, float]:
    k = res.detail["inputs"]
    return k.first_day * MINUTES_PER_DAY, k.last_day * MINUTES_PER_DAY


def calendar_of(res: ReplicationResult):
    k = res.detail["inputs"]
    weeks = k.last_day // 7
    warmup = k.first_day // 7
    return make_calendar(k.cfg, warmup, weeks - warmup)


def bank_holiday_days(cfg, n_days: int = 3 * 366) -> set[int]:
    """Days (from the site's start) that are weekday bank holidays, straight from the
    ``holidays`` library (independently of :class:`sim.core.calendar.Calendar`)."""
    if cfg.site.bank_holidays == "none":
        return set()
    start = dt.date.fromisoformat(cfg.site.calendar_start)
    years = range(start.year, start.year + n_days // 365 + 2)
    table = holidays.country_holidays("GB", subdiv=cfg.site.bank_holidays, years=years)
    return {(d - start).days for d in table if d.weekday() < 5 and 0 <= (d - start).days < n_days}


def working_day_flags(cfg, n_days: int = 3 * 366) -> np.ndarray:
    """(day,) True on days practices open: core-hours weekdays that are not bank holidays."""
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    weekday = np.array([n in cfg.site.core_hours.weekdays for n in names])
    flags = weekday[np.arange(n_days) % 7]
    flags[sorted(bank_holiday_days(cfg, n_days))] = False
    return flags


def in_core_hours(cfg, minutes: np.ndarray) -> np.ndarray:
    """Where a minute falls in practices' core hours (week 0 starts on a Monday; bank holidays
    are not core hours)."""
    hours = cfg.site.core_hours
    day = (np.asarray(minutes) // MINUTES_PER_DAY).astype(int)
    minute = minutes - day * MINUTES_PER_DAY
    working = working_day_flags(cfg, int(day.max(initial=0)) + 1)
    return working[day] & (minute >= hours.open_minute) & (minute < hours.close_minute)


def working_days_after(cfg, from_day: np.ndarray, to_day: np.ndarray) -> np.ndarray:
    """Working days in (from_day, to_day]: how many working days a wait spans, counted by hand
    (independently of :class:`sim.core.calendar.Calendar`)."""
    working = working_day_flags(cfg, int(max(to_day.max(initial=0), 0)) + 2)
    out = np.zeros(len(from_day), dtype=int)
    for i, (a, b) in enumerate(zip(from_day.tolist(), to_day.tolist(), strict=True)):
        out[i] = sum(1 for d in range(int(a) + 1, int(b) + 1) if working[d])
    return out


def ae_rows_of_episodes(res: ReplicationResult) -> tuple[np.ndarray, np.ndarray]:
    """(A&E rows, their episode indices) of the attendances handed off by episodes."""
    att = res.detail["inputs"].hospital.attendances
    rows = np.flatnonzero(att.source == 1)
    return rows, att.episode[rows]


def ae_outcome(ae, rows: np.ndarray) -> np.ndarray:
    """The terminal state A&E gives each attendance: admitted, left unseen or discharged."""
    return np.where(
        ae.admitted[rows],
        ledger.ADMITTED,
        np.where(ae.left_unseen[rows], ledger.AE_LEFT_UNSEEN, ledger.AE_DISCHARGED),
    )


def outcome_names(codes: np.ndarray) -> list[str]:
    return [ledger.TERMINAL_STATES[c][0] for c in np.unique(codes)]
