"""Preparing the booking pass and assembling its results.

Everything that can be decided for all episodes at once is decided here with numpy: when each
need first reaches its practice, its first booking window, what it tries before its practice's
book (an alternative scheme, or the hub), whether an urgent need out of hours waits. The
books of every service are stacked into one array form, the rules' parameters gathered from
the configuration, and the compiled pass (:func:`sim.booking.engine.booking_pass`) run; its
results and logs become :class:`SystemJourneys`, the hand-offs to the services simulated after
it (A&E, admissions, IC+).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import SimpleNamespace
from typing import Any

import numpy as np

from sim.booking import codes, rules
from sim.booking.book import AppointmentBook, stack_books
from sim.booking.books import ArrayBooks
from sim.booking.engine import booking_pass
from sim.booking.state import RARE_TIMES, EpisodeInputs, PassRows, Settings, new_results
from sim.config.schema import (
    AGE_BANDS,
    FIRST_FRAIL_BAND,
    NHS111_DISPOSITIONS,
    NO_SLOT_ACTIONS,
    OUT_OF_HOURS_ROUTES,
    RAC_OUTCOMES,
    STAFF_TYPES,
    URGENCIES,
    ModelConfig,
)
from sim.core.calendar import MINUTES_PER_DAY, Calendar
from sim.core.demand import Episodes
from sim.core.programme import weekly_configs
from sim.core.streams import keyed_uniforms, salt
from sim.services.catalogue import SERVICES


@dataclass
class Handoffs:
    """Episodes handed to services simulated after the booking pass (parallel arrays)."""

    ae_episode: np.ndarray
    ae_time: np.ndarray  # minute of arrival at A&E
    ae_via: np.ndarray  # codes.AE_ROUTES
    admit_episode: np.ndarray
    admit_time: np.ndarray
    admit_source: np.ndarray  # codes.ADMISSION_SOURCES
    step_up_episode: np.ndarray
    step_up_time: np.ndarray
    step_up_source: np.ndarray  # codes.STEP_UP_SOURCES


@dataclass(frozen=True)
class SparseTimes:
    """A per-episode time that most episodes do not have (:data:`sim.booking.state.RARE_TIMES`:
    a hub booking, an NHS 111 call, a rapid assessment referral, a cancellation: a few per cent
    of episodes at most), as the episodes that have one: as dense arrays over two million
    episodes the six would be about 95 MB."""

    episode: np.ndarray  # int32 episodes with a time, ascending
    minute: np.ndarray  # float64 their times (minutes from Monday 00:00 of week 0)
    n_episodes: int

    def at(self, episodes: np.ndarray) -> np.ndarray:
        """The time of each of ``episodes`` (ascending), NaN for those without one."""
        where = np.searchsorted(self.episode, episodes)
        found = where < len(self.episode)
        found[found] = self.episode[where[found]] == episodes[found]
        out = np.full(len(episodes), np.nan)
        out[found] = self.minute[where[found]]
        return out

    def dense(self) -> np.ndarray:
        """One float64 time per episode, NaN for episodes without one (a new array)."""
        out = np.full(self.n_episodes, np.nan)
        out[self.episode] = self.minute
        return out


def rare_times(rows: PassRows, n_episodes: int) -> dict[str, SparseTimes]:
    """Each rare time of the pass's rows (one row per episode that has any), by name."""
    rare = rows.rare[np.argsort(rows.rare[:, 0], kind="stable")]  # by episode
    episode = rare[:, 0].astype(np.int32)
    out = {}
    for k, name in enumerate(RARE_TIMES, start=1):
        minute = rare[:, k]
        has = minute == minute  # not NaN
        out[name] = SparseTimes(episode[has], minute[has], n_episodes)
    return out


def _dense_times(name: str) -> property:
    return property(
        lambda self: self.sparse_times[name].dense(),
        doc=f"float64 ``{name}`` of every episode, NaN if none (built on each reading).",
    )


@dataclass
class SystemJourneys:
    """What happened to each episode before the waiting services (arrays align with
    :class:`~sim.core.demand.Episodes`)."""

    outcome: np.ndarray  # int8 terminal state (ledger.TERMINAL_STATES); PENDING if handed off
    first_request_time: np.ndarray  # float64 first request to the practice, NaN if none
    booked_time: np.ndarray  # float64 when the practice booking was made, NaN if none
    appointment_day: np.ndarray  # int32 practice appointment day, -1 if none
    appointment_minute: np.ndarray  # int16
    staff_type: np.ndarray  # int8 index into STAFF_TYPES, -1 if no practice booking
    attempts: np.ndarray  # int8 requests made to the practice (1 + call-backs)
    # the times few episodes have (sim.booking.state.RARE_TIMES), by name: read them as the
    # dense properties below, or here (a reader that needs only the episodes with a time then
    # saves building an array over every episode)
    sparse_times: dict[str, SparseTimes]
    nhs111_calls: np.ndarray  # float64 minute of every NHS 111 contact (one per call)
    third_next_available: np.ndarray  # (days, practices) GP third-next-available, NaN unsampled
    handoffs: Handoffs
    books: ArrayBooks  # every service's books as the pass left them (walk-ins book after it)
    first_book: dict[str, int]  # row of each service's first book in ``books``
    flow_episode: np.ndarray  # int32: one row per transition
    flow_from: np.ndarray  # int8 index into codes.FLOW_NODES
    flow_to: np.ndarray  # int8

    hub_booked_time = _dense_times("hub_booked_time")  # NaN if no hub booking
    hub_time = _dense_times("hub_time")  # minute of the hub appointment
    nhs111_time = _dense_times("nhs111_time")  # minute of the first NHS 111 contact
    rac_referral_time = _dense_times("rac_referral_time")  # NaN if not referred
    rac_time = _dense_times("rac_time")  # minute of the clinic appointment
    cancelled_time = _dense_times("cancelled_time")  # when a booking was cancelled ahead


def dna_probability_by_lead(cfg: ModelConfig, max_lead: int) -> list[float]:
    """DNA probability for each whole lead time 0..max_lead days (step function)."""
    dna = cfg.assumptions.dna
    table = []
    for lead in range(max_lead + 1):
        band = sum(1 for upper in dna.lead_days_upper if lead > upper)
        table.append(dna.probability[band])
    return table


@dataclass
class FirstRequests:
    """When each need first reaches its practice, and what happens to needs out of hours
    (arrays aligned with the episodes; :func:`sim.booking.rules.first_requests`)."""

    request: np.ndarray  # float64 minute it first reaches its practice
    request_day: np.ndarray  # int32 day of that minute
    in_hours: np.ndarray  # bool: arose in core hours
    urgent_ooh: np.ndarray  # bool: urgent, arose out of hours, does not wait for the practice
    out_of_hours_kind: np.ndarray  # int8 codes.OUT_OF_HOURS_* (added up), 0 if none
    first_day: np.ndarray  # int32 booking window of the first request (rules.booking_window)
    last_day: np.ndarray  # int32

    def put_in_order(self, order: np.ndarray) -> None:
        """Permute every array alike, in place, one array at a time (peak memory)."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name).take(order))


def first_requests(ep: Episodes, cfg: ModelConfig, calendar: Calendar) -> FirstRequests:
    """:func:`sim.booking.rules.first_requests` for every episode, with the opening times of
    each calendar day from :func:`timetable`."""
    n = len(ep)
    times = SimpleNamespace(**timetable(cfg, calendar))
    hours = cfg.site.core_hours
    wait_shares = np.asarray(cfg.assumptions.demand.waiting_request_hour_share, dtype=float)
    starts = np.arange(times.n_days, dtype=np.float64) * MINUTES_PER_DAY
    opens = np.where(times.is_working, starts + times.open_minute, -np.inf)
    closes = np.where(times.is_working, starts + times.close_minute, -np.inf)
    next_open = times.next_open.astype(np.float64)
    out = FirstRequests(
        request=np.empty(n, dtype=np.float64),
        request_day=np.empty(n, dtype=np.int32),
        in_hours=np.empty(n, dtype=np.bool_),
        urgent_ooh=np.empty(n, dtype=np.bool_),
        out_of_hours_kind=np.empty(n, dtype=np.int8),
        first_day=np.empty(n, dtype=np.int32),
        last_day=np.empty(n, dtype=np.int32),
    )
    rules.first_requests(
        ep.time,
        ep.urgency,
        ep.frailty >= FIRST_FRAIL_BAND,
        np.asarray(ep.key, dtype=np.uint64),
        ep.uniforms["ooh_choice"],
        opens,
        closes,
        next_open,
        salt("waiting_request"),
        cumulative_shares(list(wait_shares)),
        wait_shares,
        np.int64(hours.close_minute - hours.open_minute),
        float(cfg.assumptions.booking.urgent_out_of_hours_waits_share),
        ep.earliest_offset_days,
        times.soon_deadline,
        times.target_urgent,
        times.target_routine,
        out.request,
        out.request_day,
        out.in_hours,
        out.urgent_ooh,
        out.out_of_hours_kind,
        out.first_day,
        out.last_day,
    )
    return out


def in_request_order(
    ep: Episodes,
    cfg: ModelConfig,
    calendar: Calendar,
    in_place: bool = False,
    drop: tuple[str, ...] = (),
) -> tuple[Episodes, FirstRequests]:
    """The episodes in the order they reach their practice (the booking pass handles them in
    that order), and their first requests in the same order, for the pass. Needs that waited
    for an opening ring through the next working day, so a need that arose on Saturday may
    ring after one that arose on Monday at 09:00; needs reaching it at the same minute keep
    the order they arose in (:func:`request_order`).

    ``ep`` come in the order they arose (:func:`sim.core.demand.generate_episodes`) or as
    drawn (:func:`sim.core.demand.draw_episodes`: one reordering instead of two); both keep
    needs arising at the same minute in the order they were drawn. ``in_place``: reorder
    ``ep`` itself (for episodes nobody else holds: a copy of two million episodes is about
    100 MB), else a copy. ``drop``: attributes the caller will not read again (as
    :meth:`Episodes.without`), left out rather than reordered."""
    first = first_requests(ep, cfg, calendar)  # episode by episode: any order will do
    order = request_order(first.request, ep.time)
    first.put_in_order(order)  # made here, held by no one else
    if not in_place:
        return ep.without(*drop).reordered(order), first
    ep.drop(*drop)  # before the reordering, not after it
    ep.put_in_order(order)
    return ep, first


def request_order(request: np.ndarray, arising: np.ndarray) -> np.ndarray:
    """The order that sorts needs by the minute they reach their practice (``request``), needs
    reaching it at the same minute by the minute they arose (``arising``), then by position:
    ``np.lexsort((positions, arising, request))``, about twice as fast.

    One unstable sort of ``request`` puts every need in place but those sharing their request
    minute with another (a few thousand of two million, as the minutes are fractional), which
    a second sort puts in order among themselves."""
    order = np.argsort(request)
    ordered = request.take(order)
    if np.isnan(ordered[-1:]).any():  # NaN never equals itself: no tie would be found
        return np.lexsort((np.arange(len(request)), arising, request))
    tied = ordered[1:] == ordered[:-1]  # tied[k]: sorted k + 1 has sorted k's minute
    if not tied.any():
        return order
    in_run = np.zeros(len(order), dtype=np.bool_)  # shares its minute with a neighbour
    in_run[1:] = tied
    in_run[:-1] |= tied
    first_of_run = in_run.copy()
    first_of_run[1:] &= ~tied
    places = np.flatnonzero(in_run)
    run = np.cumsum(first_of_run).take(places)  # runs in minute order, numbered from 1
    members = order.take(places)  # each run's needs fill its places again, in order
    order[places] = members.take(np.lexsort((members, arising.take(members), run)))
    return order


def request_order_inputs(cfg: ModelConfig, calendar: Calendar) -> str:
    """Everything :func:`first_requests` reads besides the episodes, as text: two
    configurations with the same text put the same episodes in the same order, with the same
    first requests (:class:`SharedEpisodes`)."""
    times = timetable(cfg, calendar)
    return repr(
        (
            [(k, v.tobytes() if isinstance(v, np.ndarray) else v) for k, v in times.items()],
            tuple(cfg.assumptions.demand.waiting_request_hour_share),
            cfg.assumptions.booking.urgent_out_of_hours_waits_share,
        )
    )


class SharedEpisodes:
    """Episodes drawn once for several alternatives (a PSA set's, a sweep's jobs': as drawn or
    in the order they arose: :func:`in_request_order` takes either), and the request order
    last made of them: alternatives whose first requests are decided alike
    (:func:`request_order_inputs`: every shipped option) take the same ordered episodes and
    first requests, read and never changed, instead of each making its own. One order is kept
    at a time, so run alternatives with the same order next to each other.

    ``one_order``: the caller gives these episodes only to alternatives with the same request
    order (:func:`sim.core.replication.replicate_together` groups them so). They are then put
    in it in place, as a replication of its own does (``drop``: what only the request order
    reads, let go of first), rather than copied: the drawn order is not kept, so asking for
    another order is an error."""

    def __init__(self, episodes: Episodes, one_order: bool = False, drop: tuple[str, ...] = ()):
        self.episodes: Episodes | None = episodes  # as drawn; None once put in order in place
        self._one_order = one_order
        self._drop = drop
        self._key: str | None = None
        self._ordered: tuple[Episodes, FirstRequests] | None = None

    def in_request_order(
        self, cfg: ModelConfig, calendar: Calendar
    ) -> tuple[Episodes, FirstRequests]:
        """:func:`in_request_order` of the shared episodes for ``cfg``."""
        key = request_order_inputs(cfg, calendar)
        if key == self._key and self._ordered is not None:
            return self._ordered
        if self.episodes is None:
            raise ValueError(
                "these shared episodes were put in one request order in place; an alternative "
                "whose first requests are decided differently needs episodes of its own"
            )
        self._key, self._ordered = None, None  # the last order goes before the next
        if self._one_order:
            self._ordered = in_request_order(
                self.episodes, cfg, calendar, in_place=True, drop=self._drop
            )
            self.episodes = None
        else:
            self._ordered = in_request_order(self.episodes, cfg, calendar)
        self._key = key
        return self._ordered


def timetable(cfg: ModelConfig, calendar: Calendar) -> dict[str, Any]:
    """The pass's settings that say when practices are open and how far a request may book
    (:func:`pass_settings` includes them; :func:`in_request_order` needs them first)."""
    n_days = calendar.n_days
    hours = cfg.site.core_hours
    target = cfg.assumptions.booking.target_days
    next_open = [
        int(calendar.next_working[min(d + 1, n_days)]) * MINUTES_PER_DAY + hours.open_minute
        for d in range(n_days)
    ]
    return dict(
        n_days=n_days,
        open_minute=float(hours.open_minute),
        close_minute=float(hours.close_minute),
        is_working=np.asarray(calendar.is_working, dtype=np.bool_),
        next_open=np.asarray(next_open, dtype=np.int64),
        soon_deadline=np.asarray(
            [calendar.add_working_days(d, target["soon"]) for d in range(n_days)], dtype=np.int64
        ),
        target_urgent=target["urgent"],
        target_routine=target["routine"],
    )


def cumulative_shares(shares: list[float]) -> np.ndarray:
    """Thresholds of a choice among options with these shares (the last made certain)."""
    out, acc = [], 0.0
    for s in shares:
        acc += s
        out.append(acc)
    out[-1] = 1.0 + 1e-12
    return np.asarray(out, dtype=np.float64)


def first_choices(ep: Episodes, cfg: ModelConfig, calendar: Calendar) -> np.ndarray:
    """What each need tries before its practice's book (codes.FIRST_CHOICES): an alternative
    scheme (online consultation, Pharmacy First) by urgency, at the shares in force in the week
    the need arises (schemes phase in, :mod:`sim.core.programme`), else, for needs that are not
    urgent, the hub by preference."""
    a = cfg.assumptions
    weekly = weekly_configs(cfg, calendar)
    online = np.array(
        [[c.assumptions.alternatives.online_consultation.share[u] for u in URGENCIES]
         for c in weekly.by_week]
    )  # fmt: skip
    pharmacy = np.array(
        [[c.assumptions.alternatives.pharmacy_first.share[u] for u in URGENCIES]
         for c in weekly.by_week]
    )  # fmt: skip
    non_urgent = ep.urgency != codes.URGENT
    choice = np.where(
        non_urgent & (keyed_uniforms(ep.key, "prefer_hub") < a.hubs.prefer_hub_share_non_urgent),
        codes.FIRST_CHOICE_HUB,
        codes.FIRST_CHOICE_PRACTICE,
    ).astype(np.int8)
    if (online + pharmacy > 0).any():
        week = weekly.week_of_day((ep.time // MINUTES_PER_DAY).astype(np.int64))
        u_alt = keyed_uniforms(ep.key, "alternative")
        online_share = online[week, ep.urgency]
        choice[u_alt < online_share + pharmacy[week, ep.urgency]] = codes.FIRST_CHOICE_PHARMACY
        choice[u_alt < online_share] = codes.FIRST_CHOICE_ONLINE
    return choice


def reminder_shares(cfg: ModelConfig, calendar: Calendar) -> tuple[np.ndarray, ...]:
    """Text reminders' nested shares (respond > cancel > rebook) by the day a reminder is
    sent, at the configuration then in force (the scheme phases in, :mod:`sim.core.programme`)."""
    weekly = weekly_configs(cfg, calendar)
    dna = [weekly.on_day(d).assumptions.dna for d in range(calendar.n_days)]
    respond = np.array([x.reminder_response_share for x in dna], dtype=np.float64)
    cancel = respond * np.array([x.reminder_cancel_share for x in dna])
    rebook = cancel * np.array([x.reminder_rebook_share for x in dna])
    return respond, cancel, rebook


def rac_referral_shares(cfg: ModelConfig, calendar: Calendar) -> dict[str, np.ndarray]:
    """Shares of frail urgent needs referred to rapid assessment (from practices, from NHS
    111) by the day of referral, at the configuration then in force (clinics phase in,
    :mod:`sim.core.programme`)."""
    weekly = weekly_configs(cfg, calendar)
    use = [weekly.on_day(d).assumptions.rapid_assessment for d in range(calendar.n_days)]
    return {
        "rac_from_practice": np.array([u.referral_share_from_practice for u in use], np.float64),
        "rac_from_111": np.array([u.referral_share_from_nhs111 for u in use], np.float64),
    }


def pass_settings(
    cfg: ModelConfig,
    calendar: Calendar,
    first_book: dict[str, int],
    n_clinics: int,
) -> Settings:
    """The rules' parameters from the configuration and the calendar; ``first_book`` is the
    row of each service's first book in the stacked books."""
    a = cfg.assumptions
    booking = a.booking
    n_days = calendar.n_days
    horizon = cfg.site.practice_capacity.booking_horizon_days
    rac_max_wait = a.rapid_assessment.max_wait_working_days
    no_slot = [
        cumulative_shares([getattr(booking.no_slot[u], action) for action in NO_SLOT_ACTIONS])
        for u in URGENCIES
    ]

    def ints(values) -> np.ndarray:
        return np.asarray(values, dtype=np.int64)

    reminders = reminder_shares(cfg, calendar)

    return Settings(
        run_days=calendar.run_days,
        end_minute=float(calendar.run_days * MINUTES_PER_DAY),
        **timetable(cfg, calendar),
        rac_deadline=ints([calendar.add_working_days(d, rac_max_wait) for d in range(n_days)]),
        dna_by_lead=np.asarray(dna_probability_by_lead(cfg, n_days + horizon + 1), np.float64),
        horizon=horizon,
        max_callbacks=booking.max_callbacks,
        no_slot=np.asarray(no_slot, dtype=np.float64),
        out_of_hours_route=cumulative_shares(
            [booking.out_of_hours_route[r] for r in OUT_OF_HOURS_ROUTES]
        ),
        disposition=cumulative_shares([a.nhs111.disposition[d] for d in NHS111_DISPOSITIONS]),
        disposition_displaced=cumulative_shares(
            [a.nhs111.disposition_displaced[d] for d in NHS111_DISPOSITIONS]
        ),
        rac_outcome=cumulative_shares([a.rapid_assessment.outcome[o] for o in RAC_OUTCOMES]),
        hub_offer_share=float(booking.hub_offer_share),
        hub_accept_by_age=np.asarray([a.hubs.accept_share_by_age[b] for b in AGE_BANDS], float),
        hub_dna=float(a.hubs.dna_probability),
        **rac_referral_shares(cfg, calendar),
        rac_no_slot_to_ae=float(a.rapid_assessment.no_slot_to_ae_share),
        step_up_share=float(a.intermediate_care.step_up_share_from_practice),
        at_risk=float(a.rapid_assessment.at_risk_share),
        escalation=float(a.rapid_assessment.escalation_probability),
        gp_referral_share=float(a.ae.gp_referral_share_of_urgent),
        reminder_respond=reminders[0],
        reminder_cancel=reminders[1],
        reminder_rebook=reminders[2],
        reminder_minutes=float(a.dna.reminder_hours_before * 60),
        minutes_to_ae=float(a.nhs111.minutes_to_ae),
        salts=codes.SALTS,
        staff_types=len(STAFF_TYPES),
        # 'Any clinician' needs: on a tie the first listed wins, so GPs (the scarcest) come last.
        any_staff_order=ints(sorted(range(len(STAFF_TYPES)), key=lambda s: s == codes.GP)),
        single_staff=ints([[s] for s in range(len(STAFF_TYPES))]),
        hub_first_book=first_book["hub"],
        rac_first_book=first_book["rapid_assessment"],
        rac_labels=np.arange(n_clinics, dtype=np.int64),
        frail_first_book=first_book["frail_weekend_gp"],
        locality_of_practice=ints(
            [list(cfg.site.localities).index(p.locality) for p in cfg.site.practices.values()]
        ),
        **{
            service.name: service.pass_settings(cfg, calendar, first_book[service.name])
            for service in SERVICES
            if service.pass_settings is not None
        },
    )


def stack_service_books(service_books: dict[str, Any]) -> tuple[ArrayBooks, dict[str, int]]:
    """Every service's books as one array form, in service order, and the row of each
    service's first book (-1 for a service with no book)."""
    book_list: list[AppointmentBook] = []
    first_book = {}
    for name, books in service_books.items():
        own = books.appointment_books()
        first_book[name] = len(book_list) if own else -1
        book_list += own
    return stack_books(book_list), first_book


def run_booking_pass(
    ep: Episodes,
    cfg: ModelConfig,
    calendar: Calendar,
    service_books: dict[str, Any],
    first: FirstRequests,
) -> SystemJourneys:
    """Route every episode through practices, hubs, NHS 111, rapid assessment clinics and
    the other bookable services (the rules are in :mod:`sim.booking.rules`);
    ``service_books`` are each bookable service's books by name
    (:func:`sim.services.catalogue.build_books`). The episodes come in the order they reach
    their practice, with their first requests in the same order (:func:`in_request_order`)."""
    n = len(ep)
    n_days = calendar.n_days
    books, first_book = stack_service_books(service_books)
    settings = pass_settings(
        cfg, calendar, first_book, len(service_books["rapid_assessment"].appointment_books())
    )
    frail = ep.frailty >= FIRST_FRAIL_BAND
    request, in_hours = first.request, first.in_hours
    out_of_hours_kind = first.out_of_hours_kind
    if service_books["frail_weekend_gp"].slots_between(0, min(7, n_days)) > 0:
        # An urgent need of a frail patient arising while practices are shut may go to the
        # site's frail weekend GP service (rules.out_of_hours).
        frail_out = frail & ~in_hours & (ep.urgency == codes.URGENT)
        frail_kind = np.int8(codes.OUT_OF_HOURS_FRAIL_SERVICE)
        out_of_hours_kind = out_of_hours_kind + frail_kind * frail_out

    # Episodes are handled in the order they reach their practice. That is their own order:
    # the replication put them in it (in_request_order).
    if n and np.any(np.diff(request) < 0):
        raise AssertionError("episodes must come in the order they reach their practice")
    if n >= 2**31:
        raise ValueError(f"{n:,} episodes in one replication: more than the model can number")

    inputs = EpisodeInputs(
        practice=ep.practice,
        urgency=ep.urgency,
        staff_need=ep.staff_need,
        frail=frail,
        frailty=ep.frailty,
        age_band=ep.age_band,
        earliest_offset_days=ep.earliest_offset_days,
        key=np.asarray(ep.key, dtype=np.uint64),
        u_dna=ep.uniforms["dna"],
        u_no_slot=ep.uniforms["no_slot_choice"],
        arising=ep.time,
        request=request,
        request_day=first.request_day,
        first_day=first.first_day,
        last_day=first.last_day,
        first_choice=first_choices(ep, cfg, calendar),
        out_of_hours_kind=out_of_hours_kind,
    )
    results = new_results(n, n_days, len(cfg.site.practices))
    rows = booking_pass(inputs, settings, books, results)
    handoffs = Handoffs(
        ae_episode=rows.ae_episode,
        ae_time=rows.ae_time,
        ae_via=rows.ae_via,
        admit_episode=rows.admit_episode,
        admit_time=rows.admit_time,
        admit_source=rows.admit_source,
        step_up_episode=rows.step_up_episode,
        step_up_time=rows.step_up_time,
        step_up_source=rows.step_up_source,
    )

    # The per-episode working arrays go before the flow table is assembled (peak memory).
    del inputs, frail, out_of_hours_kind

    # Needs that asked their practice: all but those settled while it was shut.
    outcome = results.outcome
    settled_out_of_hours = first.urgent_ooh | (outcome == codes.FRAIL_WEEKEND_GP)
    first_request_out = np.where(settled_out_of_hours, np.nan, request)
    del first, request
    # Every need that asked its practice entered from "need in/out of hours" (recorded here,
    # at once, rather than one row per episode in the pass). Put first, so each episode's
    # transitions stay in the order they happened.
    asked = np.flatnonzero(~settled_out_of_hours).astype(np.int32)
    entry_from = np.where(in_hours[asked], codes.NODE_NEED_IN_HOURS, codes.NODE_NEED_OUT_OF_HOURS)

    return SystemJourneys(
        outcome=outcome,
        first_request_time=first_request_out,
        booked_time=results.booked_time,
        appointment_day=results.appointment_day,
        appointment_minute=results.appointment_minute,
        staff_type=results.staff_type,
        attempts=results.attempts,
        sparse_times=rare_times(rows, n),
        nhs111_calls=rows.nhs111_calls,
        third_next_available=results.third_next_available,
        handoffs=handoffs,
        books=books,
        first_book=first_book,
        flow_episode=np.concatenate([asked, rows.flow_episode]),
        flow_from=np.concatenate([entry_from.astype(np.int8), rows.flow_from]),
        flow_to=np.concatenate(
            [np.full(len(asked), codes.NODE_PRACTICE, dtype=np.int8), rows.flow_to]
        ),
    )
