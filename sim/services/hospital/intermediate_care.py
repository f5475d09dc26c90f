"""Intermediate care (IC+): one caseload of places shared by step-up and step-down.

* **Step-up** (from practices, hubs and rapid assessment clinics): a frail person who would
  otherwise be admitted. A free place starts IC+ at once and an admission is avoided. If none
  is free the person waits at home up to ``step_up_max_wait_days``; a place given in time
  starts IC+ then, and if none comes they are admitted at the deadline (they then need an
  acute bed like any other admission).
* **Step-down** (from an acute bed): a medically optimised patient whose discharge pathway is
  IC+ asks for a place and stays in their bed until one is given (no time limit), then
  leaves at the next discharge time.
* **Front door** (from the frailty team in A&E): a frail patient the team has assessed and
  turned round, who would otherwise be admitted, goes home with IC+ if a place is free at
  that minute; they do not wait (if none is free they are admitted as before). Their stays
  are step-ups of kind ``front_door`` in the pool's record.
* **Priority** when a place frees and both kinds are waiting
  (``intermediate_care.priority``): ``first_come_first_served`` (the longest wait, whatever
  the kind; at the same minute a step-up first), ``step_down_first`` or ``step_up_first``.

A place is held for the person's IC+ stay, lognormal ``stay_days`` (for a step-down, from
the day they leave hospital).
"""

from __future__ import annotations

import simpy

from sim.config.schema import ModelConfig
from sim.core.calendar import MINUTES_PER_DAY
from sim.services.hospital.engine import call_after, unset_minutes
from sim.services.hospital.places import PlacePool

#: Kinds of IC+ request (``Stays.kind`` of the IC+ pool). A front-door step-up never waits,
#: so the priority rules need not name it.
STEP_UP, STEP_DOWN, FRONT_DOOR = 0, 1, 2
IC_KINDS: tuple[str, ...] = ("step_up", "step_down", "front_door")
# States of a step-up request.
PENDING, WAITING, STARTED, ADMITTED = 0, 1, 2, 3

PRIORITY_ORDER = {
    "first_come_first_served": None,
    "step_down_first": (STEP_DOWN, STEP_UP),
    "step_up_first": (STEP_UP, STEP_DOWN),
}


class IntermediateCare:
    """IC+ for one replication.

    Parameters
    ----------
    env, cfg
        The hospital's environment and the run's configuration.
    step_up_stay, step_down_stay
        IC+ stay (minutes) of each step-up request and of each admission row.
    admit
        ``admit(step_up, now)``: a step-up that found no place in time is admitted.
    discharge
        The hospital's :class:`~sim.services.hospital.discharge.Discharge` (a step-down
        leaves hospital through it).
    places
        Places at the start (default ``site.intermediate_care.places``); they may change
        later through ``pool.set_places`` (options phasing in).
    """

    def __init__(
        self,
        env: simpy.Environment,
        cfg: ModelConfig,
        step_up_stay: list[float],
        step_down_stay: list[float],
        admit,
        discharge,
        places: int | None = None,
        front_door_stay: list[float] | None = None,
    ):
        ic = cfg.assumptions.intermediate_care
        self.env = env
        self.max_wait = float(ic.step_up_max_wait_days) * MINUTES_PER_DAY
        self.step_up_stay = step_up_stay
        self.step_down_stay = step_down_stay
        self.front_door_stay = front_door_stay or []
        self.admit = admit
        self.discharge = discharge
        n = len(step_up_stay)
        self.state = [PENDING] * n
        self.start_time = unset_minutes(n)
        self.pool = PlacePool(
            env,
            cfg.site.intermediate_care.places if places is None else places,
            kinds=3,
            priority=PRIORITY_ORDER[ic.priority],
            on_grant=(self._start_step_up, self._start_step_down, self._start_front_door),
            still_waiting=self._still_waiting,
        )

    def _still_waiting(self, kind: int, i: int) -> bool:
        return kind == STEP_DOWN or self.state[i] == WAITING

    def step_up(self, i: int, now: float) -> None:
        """Step-up request ``i`` arrives."""
        self.state[i] = WAITING
        if not self.pool.request(STEP_UP, i, now):
            call_after(self.env, self.max_wait, self._deadline, i)

    def _deadline(self, event: simpy.Event) -> None:
        i = event.value
        if self.state[i] == WAITING:
            self.state[i] = ADMITTED
            self.admit(i, self.env.now)

    def _start_step_up(self, i: int, now: float) -> None:
        self.state[i] = STARTED
        self.start_time[i] = now
        self.pool.hold(STEP_UP, i, now, now + self.step_up_stay[i])

    def front_door(self, i: int, now: float) -> bool:
        """Attendance ``i``, turned round by the frailty team, takes a free IC+ place at once;
        ``False`` (nothing taken) if none is free."""
        return self.pool.free > 0 and self.pool.request(FRONT_DOOR, i, now)

    def _start_front_door(self, i: int, now: float) -> None:
        self.pool.hold(FRONT_DOOR, i, now, now + self.front_door_stay[i])

    def step_down(self, row: int, now: float) -> None:
        """Admission row ``row`` is medically optimised and needs an IC+ place."""
        self.pool.request(STEP_DOWN, row, now)

    def _start_step_down(self, row: int, now: float) -> None:
        leave = self.discharge.place_given(row, now)
        self.pool.hold(STEP_DOWN, row, now, leave + self.step_down_stay[row])


__all__ = [
    "ADMITTED",
    "FRONT_DOOR",
    "IC_KINDS",
    "STARTED",
    "STEP_DOWN",
    "STEP_UP",
    "IntermediateCare",
]
