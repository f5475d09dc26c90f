"""The frailty team at the A&E front door: comprehensive geriatric assessment (CGA).

An option (``site.emergency_department.frailty_front_of_house``). While the team works, each
frail attender (moderate or severe eFI) arriving asks for one of its ``clinicians``; a
clinician gives one CGA at a time, lasting the patient's ``assessment_minutes``. Requests are
served first come first served. A request is dropped, and the patient follows the usual path,
when a clinician comes free only after the team has closed or after the patient has left A&E
or been decided for (the team cannot reach them in time). A CGA once started is finished,
even past closing.

At the decision to admit, a patient whose CGA has finished may be **turned round**: with
probability ``turnaround_share`` (what the assessment can do, a keyed draw per patient) the
team sends them home with support instead. A share ``home_without_place_share`` of those go
home with no place; the others need an IC+ place at that minute (an IC+ step-up from the
front door, :meth:`IntermediateCare.front_door`) and, if none is free, are admitted as
before. A patient whose CGA is still running at the decision is admitted as before (their
CGA continues on the ward).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy


class FrailtyTeam:
    """The team for one replication; per-attendance lists are indexed by attendance.

    Parameters
    ----------
    env
        The hospital's environment.
    clinicians
        Team members on duty while it is open (``frailty_front_of_house.clinicians``).
    is_open
        ``is_open(minute)``: whether the team works then
        (:func:`~sim.services.hospital.arrivals.front_of_house_open`).
    assessment, turn_round, home_without_place
        Per attendance: CGA minutes, whether a finished CGA turns a would-be admission
        round, whether they then go home with no IC+ place (``PatientDraws``).
    ed
        The :class:`~sim.services.hospital.emergency_department.EmergencyDepartment`
        (read only: whether the patient is still there and undecided).
    ic
        The :class:`~sim.services.hospital.intermediate_care.IntermediateCare`.
    """

    def __init__(
        self,
        env: simpy.Environment,
        clinicians: int,
        is_open: Callable[[float], bool],
        assessment: list[float],
        turn_round: list[bool],
        home_without_place: list[bool],
        ed,
        ic,
    ):
        self.env = env
        self.is_open = is_open
        self.clinicians = simpy.Resource(env, capacity=clinicians)
        self.assessment = assessment
        self.turns_round = turn_round
        self.home_without_place = home_without_place
        self.ed = ed
        self.ic = ic
        n = len(assessment)
        self.start = [math.nan] * n  # minute the CGA started
        self.end = [math.nan] * n  # minute it finished

    def arrive(self, i: int) -> None:
        """Eligible attendance ``i`` arrives (frail, in the team's hours)."""
        self.env.process(self._assess(i))

    def _gone(self, i: int, now: float) -> bool:
        """Whether ``i`` has left A&E or been decided for by ``now``."""
        ed = self.ed
        return (
            ed.departure[i] <= now  # NaN (not yet known) compares False
            or not math.isnan(ed.decision_time[i])
            or ed.leave_by[i] < now  # a walk-in who left unseen
        )

    def _assess(self, i: int):
        env = self.env
        with self.clinicians.request() as request:
            yield request
            now = env.now
            if not self.is_open(now) or self._gone(i, now):
                return  # not reached in time: the usual path
            self.start[i] = now
            yield env.timeout(self.assessment[i])
            self.end[i] = env.now

    def turn_round(self, i: int, now: float) -> bool:
        """At ``i``'s decision to admit: whether the team sends them home instead (and, if
        they need IC+, gives them a free place)."""
        if not (self.end[i] <= now) or not self.turns_round[i]:
            return False
        return self.home_without_place[i] or self.ic.front_door(i, now)


__all__ = ["FrailtyTeam"]
