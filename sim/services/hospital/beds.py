"""General and acute (G&A) beds: the pool every admission needs, and how long each stays.

* **The pool.** ``site.acute_beds.general_and_acute`` beds. A patient asking for one takes a
  free bed at once; otherwise they join one first-come-first-served queue with everyone
  else waiting (A&E patients after a decision to admit, who keep their A&E space meanwhile:
  exit block; direct admissions from clinics and failed IC+ step-ups, who wait where they
  are; background admissions). When a bed frees it goes to the head of the queue.
* **Escalation (a full-capacity protocol).** An emergency patient still waiting
  ``site.acute_beds.escalate_after_hours`` after asking is moved to one of
  ``escalation_spaces`` extra spaces on the wards, if one is free: their stay starts there
  (an A&E patient leaves A&E), and they move into the next bed that frees, before anyone
  still queueing. A freed escalation space goes to the longest waiter who has waited that
  long, or closes.
* **Beds and escalation spaces opened or closed during the run** (options phasing in,
  :mod:`sim.services.hospital.capacity`): a bed opened goes at once to a patient in an
  escalation space, else to the head of the queue; a space opened to the longest waiter who
  has waited the escalation time. A bed or space closed is never taken from its patient: it
  closes when they leave, and until the pool is down to its new size a freed bed or space
  closes instead of going to the next patient [assumption].
* **Background admissions**: elective and other admissions the model does not generate
  (``site.acute_beds.background_admissions_per_week``), arriving by weekday and hour, with
  their own length of stay; they make the occupancy realistic. With
  ``background_admissions.when_full: cancel`` one finding no bed free is cancelled instead.
* **Length of stay** (admission to medically optimised): a same-day stay (hours) with a
  probability by age band, otherwise an overnight stay, lognormal with a mean by age band
  for a fit patient times a multiplier by eFI band. What happens after that is
  :mod:`sim.services.hospital.discharge`.

Nothing random happens in the pool: every stay comes from a uniform drawn once per patient.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np
import simpy

from sim.config.schema import AGE_BANDS, FRAILTY_BANDS, ModelConfig
from sim.core.calendar import (
    HOURS_PER_WEEK,
    MINUTES_PER_DAY,
    MINUTES_PER_HOUR,
    WEEKS_PER_YEAR,
    Calendar,
)
from sim.core.distributions import exponential_from_uniform, lognormal_from_uniform
from sim.core.occupancy import RunningArea
from sim.core.streams import Streams
from sim.services.hospital.engine import call_after, unset_minutes

MINUTES_PER_HOUR_F = float(MINUTES_PER_HOUR)


def length_of_stay_minutes(
    cfg: ModelConfig,
    age_band: np.ndarray,
    frailty: np.ndarray,
    u_stay: np.ndarray,
    stay_multiplier: np.ndarray | float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Acute length of stay (minutes, admission to medically optimised) and whether it is a
    same-day stay, from one uniform per patient.

    ``u_stay < p`` (``same_day_share_by_age``) is a same-day stay: lognormal
    ``same_day_hours`` at ``u_stay / p``. Otherwise an overnight stay at
    ``(u_stay - p) / (1 - p)``: lognormal with mean ``length_of_stay_days_by_age[age] x
    frailty_stay_multiplier[eFI] x stay_multiplier`` (under 65s count as fit) and median
    ``stay_median_to_mean`` x mean, or exponential with that mean if
    ``stay_distribution: exponential``. A larger uniform always gives a longer stay.
    """
    adm = cfg.assumptions.admissions
    age = np.asarray(age_band, dtype=np.int64)
    f = np.maximum(np.asarray(frailty, dtype=np.int64), 0)
    u = np.asarray(u_stay, dtype=float)
    p = np.array([adm.same_day_share_by_age[b] for b in AGE_BANDS], dtype=float)[age]
    same_day = u < p
    u_same = np.divide(u, p, out=np.zeros_like(u), where=p > 0)
    u_night = np.clip(np.divide(u - p, 1 - p, out=np.zeros_like(u), where=p < 1), 0, 1 - 1e-16)
    by_age = np.array([adm.length_of_stay_days_by_age[b] for b in AGE_BANDS], dtype=float)
    by_frailty = np.array([adm.frailty_stay_multiplier[b] for b in FRAILTY_BANDS], dtype=float)
    mean_days = by_age[age] * by_frailty[f] * np.asarray(stay_multiplier, dtype=float)
    if adm.stay_distribution == "exponential":
        night_days = exponential_from_uniform(u_night, mean_days)
    else:
        # lognormal with median r x mean: sigma = sqrt(2 ln(1 / r)), the same for every mean
        night_days = mean_days * lognormal_from_uniform(u_night, adm.stay_median_to_mean, 1.0)
    same_hours = lognormal_from_uniform(u_same, adm.same_day_hours.median, adm.same_day_hours.mean)
    minutes = np.where(same_day, same_hours * MINUTES_PER_HOUR_F, night_days * MINUTES_PER_DAY)
    return minutes, same_day


def stay_month_multiplier(cfg: ModelConfig, month: np.ndarray) -> np.ndarray:
    """Multiplier of the overnight stay of an emergency admission arriving in each calendar
    ``month`` (0 = January): ``admissions.length_of_stay_month_multiplier`` rescaled to mean 1
    over the twelve months, so it moves bed days from summer to winter without changing the
    year's mean stay."""
    by_month = np.asarray(cfg.assumptions.admissions.length_of_stay_month_multiplier, dtype=float)
    return (by_month / by_month.mean())[np.asarray(month, dtype=np.int64)]


# --------------------------------------------------------------------------------------------
# Background admissions
# --------------------------------------------------------------------------------------------


def background_admissions(
    cfg: ModelConfig, calendar: Calendar, streams: Streams
) -> tuple[np.ndarray, np.ndarray]:
    """Elective and other admissions of the run: (admission minute, stay minutes), sorted.

    A non-homogeneous Poisson process, exact for its piecewise-constant rate:
    ``background_admissions_per_week`` x weekday share x hour share per hour, Poisson counts
    then uniform times within each hour (stream ``hospital.background.arrivals``). Stays are
    lognormal ``stay_days`` (or exponential with its mean), from stream
    ``hospital.background.stay``.
    """
    bg = cfg.assumptions.background_admissions
    per_week = float(cfg.site.acute_beds.background_admissions_per_week)
    week = (np.asarray(bg.weekday_share)[:, None] * np.asarray(bg.hour_share)[None, :]).reshape(
        HOURS_PER_WEEK
    )
    hours = calendar.run_days * 24
    expected = per_week * np.tile(week, -(-hours // HOURS_PER_WEEK))[:hours]
    rng = streams.generator("hospital.background.arrivals")
    counts = rng.poisson(expected)
    n = int(counts.sum())
    times = np.repeat(np.arange(hours, dtype=float) * MINUTES_PER_HOUR, counts)
    times = np.sort(times + rng.random(n) * MINUTES_PER_HOUR, kind="stable")
    u = streams.generator("hospital.background.stay").random(n)
    if bg.stay_distribution == "exponential":
        days = exponential_from_uniform(u, bg.stay_days.mean)
    else:
        days = lognormal_from_uniform(u, bg.stay_days.median, bg.stay_days.mean)
    return times, days * MINUTES_PER_DAY


def background_per_year(cfg: ModelConfig) -> float:
    """Expected background admissions a year."""
    return float(cfg.site.acute_beds.background_admissions_per_week) * WEEKS_PER_YEAR


# --------------------------------------------------------------------------------------------
# The pool
# --------------------------------------------------------------------------------------------


class AcuteBeds:
    """The G&A bed pool: free beds, one first-come-first-served queue, escalation spaces.

    Patients are rows of the hospital's admission table. ``on_admit(row, now)`` is called the
    moment a row's stay starts: in a bed (at once, or when one frees) or in an escalation
    space. ``core_time`` is when the row got a G&A bed (the same moment, or later for a
    patient who started in an escalation space).
    """

    __slots__ = (
        "env",
        "beds",
        "free",
        "queue",
        "spaces",
        "spaces_free",
        "escalate_after",
        "may_open_spaces",
        "moving_up",
        "request_time",
        "bed_time",
        "core_time",
        "leave_time",
        "cancelled",
        "on_admit",
        "area",
    )

    def __init__(
        self,
        env: simpy.Environment,
        beds: int,
        rows: int,
        escalation_spaces: int = 0,
        escalate_after_minutes: float = math.inf,
        spaces_later: bool = False,
    ):
        self.env = env
        self.beds = int(beds)
        self.free = int(beds)
        self.area = RunningArea()  # G&A bed-minutes in use, as beds are taken and freed
        self.queue: deque[int] = deque()
        self.spaces = int(escalation_spaces)
        self.spaces_free = int(escalation_spaces)
        self.escalate_after = float(escalate_after_minutes)
        # Escalation spaces may open later in the run (``spaces_later``): waits are timed
        # whenever there are, or will be, spaces
        self.may_open_spaces = bool(escalation_spaces) or spaces_later
        self.moving_up: deque[int] = deque()  # in escalation spaces, waiting for a bed
        self.request_time = unset_minutes(rows)
        self.bed_time = unset_minutes(rows)
        self.core_time = unset_minutes(rows)
        self.leave_time = unset_minutes(rows)
        self.cancelled = bytearray(rows)  # flags as bytes (numpy reads them as they are)
        self.on_admit: Callable[[int, float], None] = lambda row, now: None

    def request(
        self, row: int, now: float, cancel_if_full: bool = False, may_escalate: bool = True
    ) -> None:
        """Ask for a bed: take one if free, else queue (or be cancelled, if so asked). An
        emergency (``may_escalate``) still waiting after the escalation time is moved to an
        escalation space if one is free."""
        self.request_time[row] = now
        if self.free > 0:  # a free bed means nobody is queueing
            self.area.step(self.beds - self.free, now)
            self.free -= 1
            self.bed_time[row] = self.core_time[row] = now
            self.on_admit(row, now)
        elif cancel_if_full:
            self.cancelled[row] = True
        else:
            self.queue.append(row)
            if may_escalate and self.may_open_spaces:
                call_after(self.env, self.escalate_after, self._due, row)

    def _due(self, event: simpy.Event) -> None:
        row = event._value
        if self.spaces_free > 0 and self.bed_time[row] != self.bed_time[row]:  # still waiting
            self.spaces_free -= 1
            self.queue.remove(row)
            self._escalate(row, self.env._now)

    def _escalate(self, row: int, now: float) -> None:
        self.bed_time[row] = now
        self.moving_up.append(row)
        self.on_admit(row, now)

    def _space_freed(self, now: float) -> None:
        """An escalation space frees: to the longest waiter if they have waited long enough
        (first come first served, so the head has waited longest), else it closes."""
        queue = self.queue
        if (
            self.spaces_free >= 0  # after a cut (< 0) the space closes
            and queue
            and now - self.request_time[queue[0]] >= self.escalate_after
        ):
            self._escalate(queue.popleft(), now)
        else:
            self.spaces_free += 1

    def set_beds(self, beds: int, now: float) -> None:
        """``beds`` G&A beds from ``now``: new beds go first to patients in escalation spaces,
        then to the queue; a cut closes beds as they free."""
        change = int(beds) - self.beds
        self.beds += change
        self.free += change
        while self.free > 0 and (self.moving_up or self.queue):
            self.area.step(self.beds - self.free, now)
            self.free -= 1
            if self.moving_up:
                self.core_time[self.moving_up.popleft()] = now
                self._space_freed(now)
            else:
                nxt = self.queue.popleft()
                self.bed_time[nxt] = self.core_time[nxt] = now
                self.on_admit(nxt, now)

    def set_spaces(self, spaces: int, now: float) -> None:
        """``spaces`` escalation spaces from ``now``: new spaces go to the longest waiters who
        have waited the escalation time; a cut closes spaces as they free."""
        change = int(spaces) - self.spaces
        self.spaces += change
        self.spaces_free += change
        queue = self.queue
        while (
            self.spaces_free > 0
            and queue
            and now - self.request_time[queue[0]] >= self.escalate_after
        ):
            self.spaces_free -= 1
            self._escalate(queue.popleft(), now)

    def release(self, row: int, now: float) -> None:
        """A patient leaves. A freed bed goes first to a patient in an escalation space, else
        to the head of the queue."""
        self.leave_time[row] = now
        if self.core_time[row] != self.core_time[row]:  # left from an escalation space
            self.moving_up.remove(row)
            self._space_freed(now)
            return
        if self.free < 0:  # after a cut: the freed bed closes
            self.area.step(self.beds - self.free, now)
            self.free += 1
        elif self.moving_up:
            up = self.moving_up.popleft()
            self.core_time[up] = now
            self._space_freed(now)
        elif self.queue:
            nxt = self.queue.popleft()
            self.bed_time[nxt] = self.core_time[nxt] = now
            self.on_admit(nxt, now)
        else:
            self.area.step(self.beds - self.free, now)
            self.free += 1


__all__ = [
    "AcuteBeds",
    "background_admissions",
    "background_per_year",
    "length_of_stay_minutes",
    "stay_month_multiplier",
]
