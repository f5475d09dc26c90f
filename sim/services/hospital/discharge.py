"""Discharge: from medically optimised to leaving the acute bed.

After an overnight stay, a patient is found **medically optimised** at the first morning senior
review (``assumptions.discharge.senior_review_minute``) at or after the end of their acute
stay; a same-day stay is optimised when it ends. From then on they no longer meet the
criteria to reside (NCTR). How soon they leave depends on what they need:

* **home** (no support needed): after an overnight stay, once the discharge is organised
  (``organise_home_hours``: medicines, transport, the letter), at the next discharge time:
  that moment if it falls in the daily discharge window (``assumptions.discharge.open_minute``
  to ``close_minute``), else the window's next opening. A same-day stay or a background
  admission needs no organising;
* **IC+ step-down** (frail 65+, ``intermediate_care.step_down_share_of_admissions``): a place
  in IC+ (:mod:`sim.services.hospital.intermediate_care`), shared with step-ups;
* **social care** (65+, ``discharge.social_care_share_65plus`` by eFI band): a
  discharge-to-assess place (a home care package or a care-home assessment bed,
  ``site.social_care.places``), held ``social_care_stay_days``.

A patient waiting for a place stays in the bed, still medically optimised, until one is free
(delayed discharge), then leaves at the next discharge time. The place is held from the
moment it is given until the end of the stay that starts when the patient leaves hospital.
Same-day stays and background admissions go home.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from sim.config.schema import FIRST_FRAIL_BAND, FIRST_OLDER_BAND, FRAILTY_BANDS, ModelConfig
from sim.core.calendar import MINUTES_PER_DAY
from sim.core.streams import keyed_uniforms
from sim.services.hospital.engine import call_after, unset_minutes

#: What a patient needs to leave hospital once medically optimised (``pathway`` codes).
HOME, STEP_DOWN, SOCIAL_CARE = 0, 1, 2
PATHWAYS: tuple[str, ...] = ("home", "intermediate_care", "social_care")


def discharge_pathways(
    cfg: ModelConfig, age_band: np.ndarray, frailty: np.ndarray, key: np.ndarray
) -> np.ndarray:
    """Pathway code of each admission (before any same-day stay, which always goes home).

    A frail (moderate or severe eFI) patient 65+ leaves through IC+ step-down when the keyed
    uniform ``step_down`` is below ``step_down_share_of_admissions``; otherwise a patient 65+
    needs social care when the keyed uniform ``social_care`` is below the share for their eFI
    band; everyone else goes home.
    """
    a = cfg.assumptions
    age = np.asarray(age_band, dtype=np.int64)
    f = np.asarray(frailty, dtype=np.int64)
    older = age >= FIRST_OLDER_BAND
    step_down = (
        older
        & (f >= FIRST_FRAIL_BAND)
        & (keyed_uniforms(key, "step_down") < a.intermediate_care.step_down_share_of_admissions)
    )
    share = np.array([a.discharge.social_care_share_65plus[b] for b in FRAILTY_BANDS])
    social = older & ~step_down & (keyed_uniforms(key, "social_care") < share[np.maximum(f, 0)])
    return np.where(step_down, STEP_DOWN, np.where(social, SOCIAL_CARE, HOME)).astype(np.int8)


def next_review_time(t: float, review_minute: int) -> float:
    """The first senior review (daily at ``review_minute``) at or after ``t``."""
    day = math.floor(t / MINUTES_PER_DAY)
    review = day * MINUTES_PER_DAY + review_minute
    return review if review >= t else review + MINUTES_PER_DAY


def next_discharge_time(t: float, open_minute: int, close_minute: int) -> float:
    """The first minute at or after ``t`` inside the daily discharge window."""
    day = math.floor(t / MINUTES_PER_DAY)
    minute = t - day * MINUTES_PER_DAY
    if open_minute <= minute < close_minute:
        return t
    if minute < open_minute:
        return day * MINUTES_PER_DAY + open_minute
    return (day + 1) * MINUTES_PER_DAY + open_minute


class Discharge:
    """Schedules each admitted patient's path out of their bed.

    ``stay``, ``overnight``, ``organise`` and ``pathway`` are per admission row (minutes of
    acute stay; whether it is an overnight stay, found optimised at a senior review; minutes
    to organise a discharge home; pathway code). ``release(row, now)``
    frees the bed; ``ask_place(pathway, row, now)`` asks the right pool for a place.
    """

    def __init__(
        self,
        env: simpy.Environment,
        cfg: ModelConfig,
        stay: list[float],
        overnight: list[bool],
        organise: list[float],
        pathway: list[int],
        release,
        ask_place,
    ):
        self.env = env
        self.open = cfg.assumptions.discharge.open_minute
        self.close = cfg.assumptions.discharge.close_minute
        self.review = cfg.assumptions.discharge.senior_review_minute
        self.stay = stay
        self.overnight = overnight
        self.organise = organise
        self.pathway = pathway
        self.release = release
        self.ask_place = ask_place
        self.optimised_time = unset_minutes(len(stay))
        self.place_time = unset_minutes(len(stay))

    def admitted(self, row: int, now: float) -> None:
        """A patient got a bed at ``now``: schedule the end of their acute stay."""
        optimised = now + self.stay[row]
        if self.overnight[row] and self.review is not None:
            optimised = next_review_time(optimised, self.review)
        self.optimised_time[row] = optimised
        if self.pathway[row] == HOME:
            leave = next_discharge_time(optimised + self.organise[row], self.open, self.close)
            call_after(self.env, leave - now, self._leave, row)
        else:
            call_after(self.env, optimised - now, self._optimised, row)

    def _optimised(self, event: simpy.Event) -> None:
        row = event._value
        self.ask_place(self.pathway[row], row, self.env._now)

    def place_given(self, row: int, now: float) -> float:
        """A place was given to ``row`` at ``now``: it leaves at the next discharge time
        (returned, minutes)."""
        self.place_time[row] = now
        leave = next_discharge_time(now, self.open, self.close)
        if leave == now:
            self.release(row, now)
        else:
            call_after(self.env, leave - now, self._leave, row)
        return leave

    def _leave(self, event: simpy.Event) -> None:
        self.release(event._value, self.env._now)


__all__ = [
    "HOME",
    "PATHWAYS",
    "SOCIAL_CARE",
    "STEP_DOWN",
    "Discharge",
    "discharge_pathways",
    "next_discharge_time",
    "next_review_time",
]
