"""An urgent treatment centre (UTC): a GP-led centre for minor injuries and illnesses, open at
least 12 hours a day, every day, seeing patients booked by NHS 111 and walk-ins [NHSE-UTC23].

The model represents the UTC's patients who would otherwise have gone to A&E, from the
localities it serves (its catchment), while it is open and has a slot starting within the
maximum wait (``assumptions.urgent_treatment_centre.max_wait_minutes``):

* **booked by NHS 111**: a share of NHS 111's A&E (not ambulance) dispositions, those a UTC can
  treat (rule in :func:`sim.booking.rules.handle_111`);
* **walk-ins**: a share of the needs that would walk into A&E because primary care had no slot
  (the no-slot rule, or urgent needs out of hours; :func:`sim.booking.rules.walk_in_to_utc`),
  and the same share of the catchment's self-presenting walk-in minors
  (:func:`divert_walk_ins`, before the A&E stage). Self-presenting attendances carry no
  locality, so their share is scaled by the catchment's share of the registered population.

A patient the UTC would send on to A&E the same day (``onward_ae_share``) goes to A&E as
before and takes no UTC slot. Its capacity is one book of same-day slots over the opening
hours: clinicians x 60 / slot minutes an hour, of which ``share_of_slots_for_ae_substitutes``
are open to the patients modelled (most UTC attendances are demand that would not otherwise
have reached A&E [B11], which the model does not generate). The patients booked in the pass
(NHS 111, displaced needs) are booked first; self-presenting walk-ins take the slots left.
Its running cost is per opening hour, paid whether slots are used or not.

In a programme the centre may open later, or change its hours, clinicians or catchment
(options phasing in): its book, whom it serves and its running cost follow the configuration in
force each week (:mod:`sim.core.programme`); a week it is not commissioned has no slots and
serves nobody.
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from sim.booking import books as compiled_books
from sim.booking.book import AppointmentBook
from sim.config.schema import AGE_BANDS, FRAILTY_BANDS, WEEKDAYS, ModelConfig
from sim.core.calendar import MINUTES_PER_DAY, MINUTES_PER_HOUR, Calendar
from sim.core.programme import weekly_configs
from sim.core.streams import keyed_uniforms, salt
from sim.services.registry import FlowNode, Kpi, Service

NAME = "urgent_treatment_centre"


def commissioned(cfg: ModelConfig) -> bool:
    """The site has a UTC: clinicians on duty, opening hours and a catchment."""
    utc = cfg.site.urgent_treatment_centre
    return utc.clinicians > 0 and bool(utc.localities) and any(utc.opening.values())


# --------------------------------------------------------------------------------------------
# The book
# --------------------------------------------------------------------------------------------


@dataclass
class UtcBooks:
    books: list[AppointmentBook]  # one, or none when not commissioned
    slots_per_week: int  # open to the patients modelled, every option in full

    def appointment_books(self) -> list[AppointmentBook]:
        return list(self.books)

    def slots_between(self, first_day: int, last_day: int) -> int:
        return sum(b.slots_between(first_day, last_day) for b in self.books)


def weekly_templates(cfg: ModelConfig) -> list[tuple[int, ...]]:
    """Slot start minutes of each weekday: slots every ``slot_minutes`` through the opening
    windows, as many at each time as clinicians' slots are open to the patients modelled. A
    fractional number a time is spread evenly through the week: position ``j`` gets
    ``floor((j + 1) r) - floor(j r)`` slots for ``r`` slots a position."""
    utc = cfg.site.urgent_treatment_centre
    positions = [
        (wd, start + k * utc.slot_minutes)
        for wd, day in enumerate(WEEKDAYS)
        for w in utc.opening.get(day, [])
        for start in [w.start_minute]
        for k in range((w.end_minute - start) // utc.slot_minutes)
    ]
    r = utc.clinicians * utc.share_of_slots_for_ae_substitutes
    counts = [
        math.floor((j + 1) * r + 1e-9) - math.floor(j * r + 1e-9) for j in range(len(positions))
    ]
    templates: list[list[int]] = [[] for _ in WEEKDAYS]
    for (wd, minute), k in zip(positions, counts, strict=True):
        templates[wd].extend([minute] * k)
    return [tuple(sorted(t)) for t in templates]


def build_utc_books(cfg: ModelConfig, calendar: Calendar) -> UtcBooks:
    """Same-day slots only (a UTC is not booked days ahead), no notice. Each day has its
    weekday's slots at the configuration in force that week (none while not commissioned)."""
    if not commissioned(cfg):
        return UtcBooks([], 0)
    weekly = weekly_configs(cfg, calendar)
    plans = weekly.distinct()
    plan_of = {id(c): k for k, c in enumerate(plans)}
    templates = [
        t for c in plans for t in (weekly_templates(c) if commissioned(c) else [()] * len(WEEKDAYS))
    ]
    week = weekly.week_of_day(np.arange(calendar.n_days)).tolist()
    of_day = [
        7 * plan_of[id(weekly.by_week[w])] + wd
        for w, wd in zip(week, calendar.weekday.tolist(), strict=True)
    ]
    book = AppointmentBook([()] * len(templates), templates, of_day, 0, 0)
    return UtcBooks([book], sum(len(t) for t in weekly_templates(cfg)))


# --------------------------------------------------------------------------------------------
# What the booking pass reads (sim.booking.rules: settings.urgent_treatment_centre)
# --------------------------------------------------------------------------------------------

UtcSettings = namedtuple(
    "UtcSettings",
    [
        "commissioned",  # bool
        "book",  # row of the UTC's book in the stacked books (-1 when not commissioned)
        "serves_locality",  # bool (day, locality): in the catchment that day
        "max_wait",  # minutes from arrival to the start of the slot
        "nhs111_ae_share",
        "walk_in_share",
        "onward_ae_share",
        # Patients A&E would admit are sent on (they go to A&E as before): A&E's own admission
        # draw and probability, for a walk-in by age band and frailty code + 1 (0: under 65)
        # and for a need displaced from primary care
        "admit_probability",  # float64 (age band, frailty + 1)
        "displaced_admit_probability",
        "salt_ae_admit",
        "salt_nhs111",  # the UTC's own keyed draws (sim.core.streams.keyed_uniform)
        "salt_walk_in",
        "salt_onward",
    ],
)
#: Names of the UTC's keyed draws (for episodes and self-presenting attendances alike).
DRAW_NHS111, DRAW_WALK_IN, DRAW_ONWARD = "utc_nhs111", "utc_walk_in", "utc_onward"


def pass_settings(cfg: ModelConfig, calendar: Calendar, first_book: int) -> UtcSettings:
    from sim.services.hospital.admission import DRAW_ADMIT, admission_probability

    use = cfg.assumptions.urgent_treatment_centre
    weekly = weekly_configs(cfg, calendar)
    serves = np.array(
        [[loc in c.site.urgent_treatment_centre.localities and commissioned(c)
          for loc in cfg.site.localities] for c in weekly.by_week],
        dtype=np.bool_,
    )  # fmt: skip
    ages, frailty = np.meshgrid(
        np.arange(len(AGE_BANDS)), np.arange(-1, len(FRAILTY_BANDS)), indexing="ij"
    )
    walk_in = np.zeros(ages.shape, dtype=bool)
    admit = admission_probability(ages.ravel(), frailty.ravel(), walk_in.ravel(), cfg)
    return UtcSettings(
        commissioned=np.bool_(commissioned(cfg) and first_book >= 0),
        book=np.int64(first_book),
        serves_locality=serves[weekly.week_of_day(np.arange(calendar.n_days))],
        max_wait=float(use.max_wait_minutes),
        nhs111_ae_share=float(use.nhs111_ae_share),
        walk_in_share=float(use.walk_in_share),
        onward_ae_share=float(use.onward_ae_share),
        admit_probability=admit.reshape(ages.shape).astype(np.float64),
        displaced_admit_probability=float(cfg.assumptions.ae.displaced_admission_probability),
        salt_ae_admit=salt(DRAW_ADMIT),
        salt_nhs111=salt(DRAW_NHS111),
        salt_walk_in=salt(DRAW_WALK_IN),
        salt_onward=salt(DRAW_ONWARD),
    )


# --------------------------------------------------------------------------------------------
# Self-presenting walk-ins (before the A&E stage)
# --------------------------------------------------------------------------------------------


@dataclass
class UtcWalkIns:
    diverted: np.ndarray  # bool per self-presenting attendance: seen at the UTC instead of A&E
    seen_time: np.ndarray  # float64 minute of the UTC slot (NaN if not diverted)
    arrival_time: np.ndarray  # float64 minute each attendance arrived (all of them)


def catchment_share(cfg: ModelConfig) -> float:
    """The catchment's share of the site's registered patients (0 when not commissioned)."""
    if not commissioned(cfg):
        return 0.0
    serves = set(cfg.site.urgent_treatment_centre.localities)
    sizes = [(p.list_size, p.locality in serves) for p in cfg.site.practices.values()]
    return sum(n for n, inside in sizes if inside) / sum(n for n, _ in sizes)


def divert_walk_ins(cfg: ModelConfig, calendar: Calendar, arrivals: dict, journeys) -> UtcWalkIns:
    """Self-presenting walk-in minors who go to the UTC instead of A&E: from the catchment (a
    draw against ``walk_in_share`` x the catchment's share of patients), not sent on to A&E
    (neither one A&E would admit nor ``onward_ae_share``), with a slot starting within the
    maximum wait of their arrival, taken in arrival order from the slots the booking pass
    left (see :func:`sim.services.catalogue.divert_self_presenting` for ``arrivals``). The
    catchment is the one of the week they arrive (options phase in)."""
    use = cfg.assumptions.urgent_treatment_centre
    time, key = arrivals["time"], arrivals["key"]
    diverted = np.zeros(len(time), dtype=bool)
    seen = np.full(len(time), np.nan)
    first_book = journeys.first_book.get(NAME, -1)
    if commissioned(cfg) and first_book >= 0 and len(time):
        weekly = weekly_configs(cfg, calendar)
        by_week = np.array([use.walk_in_share * catchment_share(c) for c in weekly.by_week])
        share = by_week[weekly.week_of_day((time // MINUTES_PER_DAY).astype(np.int64))]
        candidate = (
            arrivals["walk_in_minor"]
            & ~arrivals["admitted_at_ae"]
            & (keyed_uniforms(key, DRAW_WALK_IN) < share)
            & (keyed_uniforms(key, DRAW_ONWARD) >= use.onward_ae_share)
            & (time < calendar.run_days * MINUTES_PER_DAY)
        )
        bk = journeys.books
        for i in np.flatnonzero(candidate):  # arrival order: the times are sorted
            day = int(time[i] // MINUTES_PER_DAY)
            minute = float(time[i] - day * MINUTES_PER_DAY)
            slot = compiled_books.peek_today(bk, first_book, day, minute)
            if 0 <= slot <= minute + use.max_wait_minutes:
                compiled_books.book_today(bk, first_book, day, minute)
                diverted[i] = True
                seen[i] = day * MINUTES_PER_DAY + slot
    return UtcWalkIns(diverted=diverted, seen_time=seen, arrival_time=np.asarray(time, float))


# --------------------------------------------------------------------------------------------
# KPIs and cost
# --------------------------------------------------------------------------------------------

KPIS = {
    "utc.attendances_per_week": Kpi(
        "attendances per week", "Urgent treatment centre attendances instead of A&E", None
    ),
    "utc.nhs111_booked_share": Kpi(
        "share of attendances", "UTC attendances booked by NHS 111", None
    ),
    "utc.self_presenting_diverted_per_week": Kpi(
        "attendances per week", "Walk-ins to the UTC who would have walked into A&E", None
    ),
    "utc.utilisation": Kpi(
        "share of slots offered", "UTC slot utilisation (A&E substitutes)", None
    ),
}


def measure(k) -> dict[str, float]:
    """Attendances of episodes that arose in the window (booked by NHS 111 or walking in
    instead of A&E), plus self-presenting walk-ins arriving in the window."""
    sj = k.journeys
    into = (sj.flow_to == k.node_code(NAME)) & k.arose_in[sj.flow_episode]
    episodes = int(into.sum())
    by_111 = int((into & (sj.flow_from == k.node_code("nhs111"))).sum())
    walk_ins = k.service_results.get(NAME)
    self_presenting = (
        int((walk_ins.diverted & k.in_window(walk_ins.arrival_time)).sum()) if walk_ins else 0
    )
    total = episodes + self_presenting
    slots = k.service_books[NAME].slots_between(k.first_day, k.last_day)
    return {
        "utc.attendances_per_week": total / k.weeks,
        "utc.nhs111_booked_share": by_111 / total if total else float("nan"),
        "utc.self_presenting_diverted_per_week": self_presenting / k.weeks,
        "utc.utilisation": total / slots if slots else float("nan"),
    }


def open_hours_per_week(cfg: ModelConfig) -> float:
    opening = cfg.site.urgent_treatment_centre.opening
    minutes = sum(w.end_minute - w.start_minute for day in opening.values() for w in day)
    return minutes / MINUTES_PER_HOUR


def running_cost(k) -> float:
    """Opening hours over the window x the running cost of an opening hour (staff, premises,
    diagnostics), whether slots are used or not; each week at the configuration then in force
    (nothing while not commissioned)."""
    weeks = k.weekly.week_of_day(np.arange(k.first_day, k.last_day, 7))
    configs: dict[int, list] = {}
    for w in weeks.tolist():
        c = k.weekly.by_week[w]
        configs.setdefault(id(c), [c, 0])[1] += 1
    cost = 0.0
    for c, n_weeks in configs.values():
        if len(configs) == 1:
            n_weeks = k.weeks  # the window's weeks exactly as every other cost counts them
        if commissioned(c):
            utc = c.site.urgent_treatment_centre
            cost += open_hours_per_week(c) * n_weeks * utc.running_cost_per_open_hour_gbp
    return cost


SERVICE = Service(
    name=NAME,
    title="Urgent treatment centre",
    flow_nodes=(FlowNode(NAME, "Urgent treatment centre", 2, 5.5),),
    terminal_states=(
        (NAME, "seen at an urgent treatment centre instead of A&E (booked by NHS 111 or walk-in)"),
    ),
    build_books=build_utc_books,
    pass_settings=pass_settings,
    walk_ins=divert_walk_ins,
    kpis=KPIS,
    measure=measure,
    running_cost=running_cost,
    site_scaled=(f"{NAME}.clinicians",),
    present=commissioned,
)
