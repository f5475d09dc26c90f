"""The type 1 emergency department (A&E) inside the coupled hospital model.

Two streams, each with its own hourly clinician rota and first-come-first-served queue:

* **minors**: patients wait in the waiting room and are seen in a room that goes with the
  clinician (no separate space limit); after the clinician they wait for results, holding
  nothing, and leave.
* **majors**: a patient needs one of ``site.emergency_department.majors_spaces`` cubicles or
  trolley spaces. Ambulance arrivals take the next free space before walk-ins (the crew waits
  with its patient meanwhile: handover); walk-ins wait in the waiting room. In a space the
  patient waits for a majors clinician, is treated, waits for results and a decision, and
  then either goes home (freeing the space) or, after a **decision to admit**, waits in the
  space for an acute bed (exit block) unless same-day emergency care takes them.

Clinicians are one per rota **position** (not per patient), each driven by SimPy events with
callbacks (a shift's start and end, a treatment's end, a wake-up): position ``k`` of a stream
is on duty in every hour where the rota has more than ``k`` clinicians. On duty, a clinician
takes the longest-waiting patient of the stream; with none, waits for the next (an arrival
goes to the clinician idle longest). At the end of a shift a clinician **finishes the current
patient**, then goes off duty without starting another (finishing exactly at the end counts
as off duty).

**Left without being seen**: a walk-in who may leave (see
:func:`sim.services.hospital.arrivals.may_leave_before_seen`) leaves at arrival + patience if
not yet seen by a minors clinician, or not yet given a majors space, by then. Leaving holds
nothing, so it is resolved when the queue reaches them (exact, no event of its own).

**Census**: the department counts who is in as patients arrive and leave (:meth:`census`),
apart from the times it records for each patient, so that Little's law can compare the two
(:mod:`sim.tools.validate`).

Nothing random happens inside: every duration and decision arrives drawn in advance.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence

import simpy

from sim.core.calendar import MINUTES_PER_DAY, MINUTES_PER_HOUR
from sim.services.hospital.engine import call_after, call_first, unset_minutes

#: Stream indices.
STREAMS: tuple[str, ...] = ("minors", "majors")
MINORS, MAJORS = 0, 1
INF = math.inf
#: Kinds of entry in the census's heap of departures that have no event of their own.
_GONE, _MAY_LEAVE = 0, 1


def shifts_of_position(clinicians_by_hour: Sequence[int], position: int) -> list[tuple[int, float]]:
    """Daily on-duty blocks of one clinician position.

    Position ``k`` is on duty in hour ``h`` when ``k < clinicians_by_hour[h]``; consecutive
    on-duty hours (across midnight too) form one shift, since nothing happens at an hour
    boundary inside a shift.

    Returns
    -------
    list of (int, float)
        (start, end) in minutes after midnight, sorted by start; ``end`` exceeds 1,440 for a
        shift running past midnight. ``[(0, inf)]`` for a position on duty all day, ``[]`` for
        one never on duty.
    """
    on = [position < c for c in clinicians_by_hour]
    if all(on):
        return [(0, INF)]
    if not any(on):
        return []
    shifts = []
    for h in range(24):
        if on[h] and not on[h - 1]:  # h - 1 = -1 wraps to 23: a shift starting at midnight
            length = 0
            while on[(h + length) % 24]:
                length += 1
            shifts.append((h * MINUTES_PER_HOUR, float((h + length) * MINUTES_PER_HOUR)))
    return shifts


def current_or_next_shift(shifts: list[tuple[int, float]], now: float) -> tuple[float, float]:
    """Absolute (start, end) of the shift containing ``now``, or else the next one."""
    day = math.floor(now / MINUTES_PER_DAY)
    # Yesterday's overnight shift may still be running; shifts never overlap, so the first
    # (in start order) not yet over is the answer.
    for d in (day - 1, day, day + 1):
        base = d * MINUTES_PER_DAY
        for start, end in shifts:
            if base + end > now:
                return base + start, base + end
    raise AssertionError("a position with shifts always has one within two days")


class _Stream:
    """One stream's patients ready for a clinician, its idle clinicians, and how many of its
    patients are still to be seen (or to leave unseen)."""

    __slots__ = ("ready", "idle", "remaining")

    def __init__(self, patients: int):
        self.ready: deque[int] = deque()
        self.idle: deque[_Position] = deque()  # on duty, waiting (longest idle first)
        self.remaining = patients

    def push(self, i: int) -> None:
        self.ready.append(i)
        if self.idle:
            # the longest idle clinician resumes (_Position.wake, inlined: once per patient)
            position = self.idle.popleft()
            position.idle = False
            position.env.call_soon(position._work)


class _Position:
    """One clinician position of a stream: works each shift, finishes the current patient at
    its end.

    A state machine driven by SimPy callbacks rather than a process: the events are the
    process's own (the start of a shift, the end of a treatment, a wake-up when a patient is
    ready or the shift ends), made at the same points of the run, so the order of events, and
    every result, is the same; only the generator's resume on each of them is saved."""

    __slots__ = ("ed", "env", "stream", "s", "position", "shifts", "end", "idle")

    def __init__(self, ed: EmergencyDepartment, stream: int, position: int, shifts):
        self.ed, self.env = ed, ed.env
        self.stream, self.s = stream, ed.streams[stream]
        self.position, self.shifts = position, shifts
        self.end = INF  # end of the current (or next) shift
        self.idle = False  # on duty, in the stream's idle list

    def start(self, _event: simpy.Event | None = None) -> None:
        """Between shifts: sleep until the next one (if anyone is still to be seen)."""
        if self.s.remaining <= 0:
            return
        now = self.env.now
        start, self.end = current_or_next_shift(self.shifts, now)
        if start > now:
            call_after(self.env, start - now, self._on_duty)
        else:
            self._on_duty()

    def _on_duty(self, _event: simpy.Event | None = None) -> None:
        if self.end != INF:
            call_after(self.env, self.end - self.env.now, self._shift_ends)
        self._work()

    def _work(self, _event: simpy.Event | None = None) -> None:
        """Take the longest-waiting patient (walk-ins whose patience ran out before now have
        left), or wait for one; off duty at the shift's end."""
        now = self.env._now  # the clock (SimPy's ``now`` without the property call)
        s = self.s
        if now >= self.end:  # off duty: never start a patient at or after the shift's end
            # Woken for a patient at the very minute the shift ended: pass them on.
            if s.ready and s.idle:
                s.idle.popleft().wake()
            self.start()
            return
        ed = self.ed
        ready, leave_by = s.ready, ed.leave_by
        while ready:
            i = ready.popleft()
            if leave_by[i] < now:
                ed._left_unseen(i, self.stream)
                continue
            s.remaining -= 1
            ed.seen[i] = now
            leave_by[i] = INF  # seen: stays
            ed.treated_by[i] = self.position
            call_after(self.env, ed.service[i], self._treated, i)  # finished even past the end
            return
        if s.remaining > 0:
            self.idle = True
            s.idle.append(self)  # until the next patient is ready, or the shift ends
        # else everybody in this stream has been seen or has left: the position stops

    def _treated(self, event: simpy.Event) -> None:
        """The clinician has finished with a patient: wait for results, then home (minors:
        holding nothing, so no event), or the decision to admit; then the next patient."""
        ed, i = self.ed, event._value
        if ed.admitted[i]:
            call_after(self.env, ed.after[i], ed._decide, i)
        elif ed.majors[i]:
            call_after(self.env, ed.after[i], ed._home, i)
        else:
            departure = self.env._now + ed.after[i]  # holds nothing: no event needed
            ed.departure[i] = departure
            heapq.heappush(ed._departures, (departure, i, _GONE))
        self._work()

    def wake(self) -> None:
        """A patient is ready (or the shift ended): resume after the events already due now,
        as a process woken by ``Event.succeed`` does (the environment's line due now: no event
        object). The caller took it off the idle list."""
        self.idle = False
        self.env.call_soon(self._work)  # _Stream.push does the same inline

    def _shift_ends(self, _event: simpy.Event) -> None:
        """An idle clinician stops waiting (a busy one finishes first)."""
        if self.idle:
            self.s.idle.remove(self)
            self.wake()


class EmergencyDepartment:
    """The department's state and rules; per-attendance lists are indexed by attendance.

    Parameters
    ----------
    env
        The hospital's environment.
    majors, ambulance
        Stream and arrival mode of each attendance.
    service, after
        Clinician minutes; minutes from the end of treatment to leaving (discharged) or to
        the decision to admit (admitted).
    admitted, same_day
        Decision to admit; whether the admission would be a same-day stay (SDEC may take it).
    leave_by
        Minute a walk-in leaves if not seen (or, in majors, not given a space) by then; ``inf``
        for patients who stay.
    spaces
        Majors cubicles and trolley spaces.
    """

    def __init__(
        self,
        env: simpy.Environment,
        majors: list[bool],
        ambulance: list[bool],
        service: list[float],
        after: list[float],
        admitted: list[bool],
        same_day: list[bool],
        leave_by: list[float],
        spaces: int,
    ):
        n = len(majors)
        self.env = env
        self.majors = majors
        self.ambulance = ambulance
        self.service = service
        self.after = after
        self.admitted = admitted
        self.same_day = same_day
        self.leave_by = leave_by
        self.spaces_free = int(spaces)
        self.seen = unset_minutes(n)  # minute a clinician starts
        self.space_time = unset_minutes(n)  # minute a majors space was taken
        self.decision_time = unset_minutes(n)  # minute of the decision to admit
        self.departure = unset_minutes(n)  # minute the patient left A&E
        self.treated_by = [-1] * n  # position (within the stream) that treated the patient
        # Flags (0 or 1) as bytes: numpy reads them without converting each item
        self.left_unseen = bytearray(n)
        self.to_sdec = bytearray(n)
        self.turned_round = bytearray(n)  # sent home by the frailty team instead of admitted
        n_majors = sum(majors)
        self.streams = (_Stream(n - n_majors), _Stream(n_majors))
        self.ambulance_waiting: deque[int] = deque()
        self.walk_in_waiting: deque[int] = deque()
        # Set by the hospital: admission (bed) and SDEC.
        self.ask_bed = None
        self.sdec_take = None
        # Set by the hospital when a frailty team works: turn_round(i, now) says whether the
        # team turns round a patient about to be admitted (they then go home)
        self.turn_round = None
        # The census: patients in the department, and a heap of (minute, patient, kind) for
        # leaving that has no event (a minors patient going home; a walk-in who may leave
        # unseen, if still unseen then).
        self.present = 0
        self._departures: list[tuple[float, int, int]] = []
        # patient-minutes in the department up to the last change (at _since), kept as the
        # count changes (as sim.core.occupancy.RunningArea keeps it)
        self.patient_minutes = 0.0
        self._since = 0.0

    # ---- arrivals and spaces ---------------------------------------------------------------

    def arrive(self, i: int) -> None:
        now = self.env._now
        # self._count_change(now), inlined: once per patient
        heap = self._departures
        if heap and heap[0][0] <= now:
            self._settle(now)
        self.patient_minutes += self.present * (now - self._since)
        self._since = now
        self.present += 1
        majors = self.majors[i]
        if majors and self.spaces_free > 0:
            self.spaces_free -= 1
            # _enter_space, inlined (once per patient); in a cubicle at once, nobody leaves
            # unseen, so there is no leaving to settle
            self.space_time[i] = now
            self.leave_by[i] = INF
            self.streams[MAJORS].push(i)
            return
        leave_by = self.leave_by[i]
        if leave_by < INF:  # may leave unseen: settled at leave_by if still waiting then
            heapq.heappush(self._departures, (leave_by, i, _MAY_LEAVE))
        if not majors:
            self.streams[MINORS].push(i)
        elif self.ambulance[i]:
            self.ambulance_waiting.append(i)
        else:
            self.walk_in_waiting.append(i)

    def _enter_space(self, i: int, now: float) -> None:
        # arrive() does the same inline
        self.space_time[i] = now
        self.leave_by[i] = INF  # in a cubicle, nobody leaves unseen
        self.streams[MAJORS].push(i)

    def _free_space(self, now: float) -> None:
        if self.ambulance_waiting:
            self._enter_space(self.ambulance_waiting.popleft(), now)
            return
        waiting, leave_by = self.walk_in_waiting, self.leave_by
        while waiting:
            i = waiting.popleft()
            if leave_by[i] < now:
                self._left_unseen(i, MAJORS)
                continue
            self._enter_space(i, now)
            return
        self.spaces_free += 1

    def _left_unseen(self, i: int, stream: int) -> None:
        self.left_unseen[i] = True
        self.departure[i] = self.leave_by[i]
        self.streams[stream].remaining -= 1

    # ---- after the clinician ---------------------------------------------------------------

    def _home(self, event: simpy.Event) -> None:
        now = self.env._now
        self.departure[event._value] = now
        self._count_change(now)
        self.present -= 1
        self._free_space(now)

    def _decide(self, event: simpy.Event) -> None:
        i, now = event._value, self.env._now
        if self.turn_round is not None and self.turn_round(i, now):
            self.turned_round[i] = True
            self.leave(i, now)  # home (with IC+ or not): no decision to admit
            return
        self.decision_time[i] = now
        if self.same_day[i] and self.sdec_take(i, now):
            self.to_sdec[i] = True
            self.leave(i, now)
        else:
            self.ask_bed(i, now)  # calls leave() when the bed is given

    def leave(self, i: int, now: float) -> None:
        """An admitted patient leaves A&E for a bed (or SDEC), or one turned round goes
        home."""
        self.departure[i] = now
        self._count_change(now)
        self.present -= 1
        if self.majors[i]:
            self._free_space(now)

    # ---- clinicians ------------------------------------------------------------------------

    def start_clinician(self, stream: int, position: int, shifts: list[tuple[int, float]]):
        """Start clinician position ``position`` of ``stream`` (working ``shifts``) at the
        current minute, before any normal event, as a SimPy process made here would start."""
        call_first(self.env, _Position(self, stream, position, shifts).start)

    def _count_change(self, now: float) -> None:
        """Before the count changes at ``now``: settle the leavings without an event of their
        own due by then (each at its own minute) and add the patient-minutes so far."""
        heap = self._departures
        if heap and heap[0][0] <= now:
            self._settle(now)
        self.patient_minutes += self.present * (now - self._since)
        self._since = now

    def _settle(self, now: float) -> None:
        """The leavings without an event of their own due by ``now``, each at its minute."""
        heap, leave_by = self._departures, self.leave_by
        while heap and heap[0][0] <= now:
            when, i, kind = heapq.heappop(heap)
            # a walk-in left unseen only if still waiting at the end of their patience
            if kind == _GONE or leave_by[i] == when:
                self.patient_minutes += self.present * (when - self._since)
                self._since = when
                self.present -= 1

    def census(self, now: float) -> tuple[int, float]:
        """Patients in the department at ``now`` (not earlier than the last change) and the
        patient-minutes spent in it up to ``now``, from the count kept as they came and went."""
        self._count_change(now)
        return self.present, self.patient_minutes

    def finish(self, end: float) -> None:
        """After the run: walk-ins still waiting whose patience ran out have left."""
        for i in self.walk_in_waiting:
            if self.leave_by[i] < end:
                self._left_unseen(i, MAJORS)
        for i in self.streams[MINORS].ready:
            if self.leave_by[i] < end:
                self._left_unseen(i, MINORS)


__all__ = [
    "MAJORS",
    "MINORS",
    "STREAMS",
    "EmergencyDepartment",
    "current_or_next_shift",
    "shifts_of_position",
]
