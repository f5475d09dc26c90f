"""The coupled hospital: A&E, SDEC, acute beds, discharge and IC+ as one SimPy model.

Everything that makes a patient wait for another part of the hospital is in the same
simulation: an ambulance crew waits for an A&E space; a patient A&E decides to admit waits in
their space for a bed (exit block); a medically optimised patient waits in the bed for an
IC+ or discharge-to-assess place (delayed discharge); a step-up waits at home for an IC+
place and, if none comes in time, needs a bed too.

Every random quantity is drawn before the simulation starts, vectorised, from the patient's
own keyed uniforms or named streams (common random numbers: two scenarios see the same
patients with the same needs). The simulation then runs as callbacks on SimPy events
(:mod:`sim.services.hospital.engine`): clinician positions, the arrivals feed and the census
are chains of timeouts with callbacks, ordered exactly as processes sleeping between them
would be; no process per patient.

**Admission rows.** Every patient who might need an acute bed has a row in one table: each
A&E attendance (used if admitted), each direct admission from a clinic, each step-up request
(used if it is admitted instead), each background admission, in that order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy
from simpy.events import NORMAL

from sim.config.schema import FIRST_FRAIL_BAND, ConfigError, ModelConfig
from sim.core.calendar import MINUTES_PER_DAY, MINUTES_PER_HOUR, Calendar
from sim.core.distributions import exponential_from_uniform, lognormal_from_uniform
from sim.core.occupancy import occupancy_between
from sim.core.programme import WeeklyConfigs, weekly_configs
from sim.core.streams import Streams, keyed_uniforms
from sim.services.hospital.admission import DRAW_ADMIT
from sim.services.hospital.arrivals import (
    Attendances,
    HospitalArrivals,
    front_of_house_open,
    front_of_house_open_at,
)
from sim.services.hospital.beds import (
    AcuteBeds,
    background_admissions,
    length_of_stay_minutes,
    stay_month_multiplier,
)
from sim.services.hospital.capacity import CapacitySchedule, follow, hospital_schedules
from sim.services.hospital.discharge import (
    HOME,
    SOCIAL_CARE,
    STEP_DOWN,
    Discharge,
    discharge_pathways,
)
from sim.services.hospital.emergency_department import (
    MAJORS,
    MINORS,
    STREAMS,
    EmergencyDepartment,
    shifts_of_position,
)
from sim.services.hospital.engine import HospitalEnvironment, call_after, call_first
from sim.services.hospital.frailty_team import FrailtyTeam
from sim.services.hospital.intermediate_care import ADMITTED, STARTED, IntermediateCare
from sim.services.hospital.places import PlacePool
from sim.services.hospital.sdec import SameDayEmergencyCare

#: Where an admission row came from (``Admissions.kind``).
FROM_AE, FROM_CLINIC, FROM_STEP_UP, BACKGROUND = 0, 1, 2, 3
ADMISSION_KINDS: tuple[str, ...] = ("ae", "clinic", "failed_step_up", "background")
#: The simulation runs this long after the last arrival, so patients who arrive near the end
#: of the run are followed to the end of their stay (their durations count in full).
DRAIN_DAYS = 90


@dataclass
class AEOutcome:
    """What happened to each attendance (aligned with :class:`Attendances`)."""

    seen_time: np.ndarray  # float64 minute a clinician starts (NaN: never seen)
    space_time: np.ndarray  # float64 minute a majors space was taken (NaN: minors, or none)
    decision_time: np.ndarray  # float64 minute of the decision to admit (NaN: not admitted)
    departure_time: np.ndarray  # float64 minute of leaving A&E (NaN: still there at the end)
    # bool: a decision to admit was made (to a bed or to SDEC); a patient who would have been
    # admitted but left unseen, or was still waiting at the end, was not
    admitted: np.ndarray
    sdec: np.ndarray  # bool: taken by same-day emergency care
    left_unseen: np.ndarray  # bool: left before being seen
    front_of_house: np.ndarray  # bool: given a CGA by the frailty front-of-house team
    assessment_time: np.ndarray  # float64 minute the CGA started (NaN: none)
    turned_round: np.ndarray  # bool: would have been admitted; the team sent them home
    clinician: np.ndarray  # int16 position (within the stream) that treated them, -1 if none
    handover_minutes: np.ndarray  # float64 ambulance arrival to handover (NaN if not)


@dataclass
class Admissions:
    """Every patient who asked for an acute bed (rows of the admission table that were used),
    in the order they asked."""

    row: np.ndarray  # int64 row of the admission table
    kind: np.ndarray  # int8 FROM_AE, FROM_CLINIC, FROM_STEP_UP or BACKGROUND
    index: np.ndarray  # int64 attendance, direct admission, step-up or background index
    age_band: np.ndarray  # int8 (-1 for background admissions)
    frailty: np.ndarray  # int8
    request_time: np.ndarray  # float64 asked for a bed (decision to admit, referral, ...)
    bed_time: np.ndarray  # float64 stay started, in a bed or an escalation space (NaN: never)
    core_time: np.ndarray  # float64 got a G&A bed (later than bed_time after escalation)
    optimised_time: np.ndarray  # float64 medically optimised (NaN: not yet)
    place_time: np.ndarray  # float64 given an IC+ or social care place (NaN: none)
    leave_time: np.ndarray  # float64 left the bed (NaN: still in it at the end)
    pathway: np.ndarray  # int8 discharge pathway (discharge.HOME, STEP_DOWN, SOCIAL_CARE)
    same_day: np.ndarray  # bool: a same-day stay
    cancelled: np.ndarray  # bool: a background admission cancelled (no bed free)

    def __len__(self) -> int:
        return len(self.row)

    @property
    def emergency(self) -> np.ndarray:
        """Admissions generated by the model (not background)."""
        return self.kind != BACKGROUND


@dataclass
class StepUpOutcome:
    """What became of each step-up request (aligned with the step-up requests)."""

    started: np.ndarray  # bool: IC+ started (at once or after a wait within the limit)
    start_time: np.ndarray  # float64 (NaN if not started)
    admitted_instead: np.ndarray  # bool: no place in time, so admitted at the deadline


@dataclass
class HospitalResult:
    """Outcomes of one replication's hospital."""

    attendances: Attendances
    ae: AEOutcome
    admissions: Admissions
    step_ups: StepUpOutcome
    ic_stays: dict[str, np.ndarray]  # start, end, kind (intermediate_care.STEP_*), index
    social_stays: dict[str, np.ndarray]  # start, end, kind, index (admission row)
    sdec_stays: dict[str, np.ndarray]  # start, end, kind, index (attendance)
    beds: int
    escalation_spaces: int
    ic_places: int
    social_places: int
    run_minutes: float  # the run (warm-up + measured weeks)
    end_minutes: float  # when the simulation stopped (run + drain)
    # The pools' own counters when the simulation stopped (free beds, queue length, free
    # escalation spaces and places), kept to check conservation against the records
    end_state: dict[str, int]
    # The model's own count of who is in, integrated over time as it changes and read on every
    # hour of the run (not computed from the recorded times: Little's law in sim.tools.validate
    # compares the two): time (minutes, 0 to the end of the run), and up to each time the
    # patient-minutes in A&E (ae_minutes), IC+ place-minutes in use (ic_minutes) and G&A
    # bed-minutes in use (bed_minutes)
    census: dict[str, np.ndarray]
    # Each capacity over the run (sim.services.hospital.capacity.CAPACITIES: beds, escalation
    # spaces, IC+ and social care places, SDEC spaces); beds, escalation_spaces, ic_places and
    # social_places above are the pools' sizes when the simulation stopped
    capacity: dict[str, CapacitySchedule] = field(default_factory=dict)

    def capacity_between(self, name: str, edges: np.ndarray) -> np.ndarray:
        """Time-weighted mean capacity ``name`` (e.g. ``"beds"``) between consecutive
        ``edges`` (minutes)."""
        return self.capacity[name].mean_between(edges)

    def ae_hourly_occupancy(self, n_hours: int | None = None) -> np.ndarray:
        """Time-weighted mean patients in A&E in each hour 0 .. n_hours - 1 (default: the
        run), from arrival to departure (those still there at the end count as present)."""
        n = math.ceil(self.run_minutes / MINUTES_PER_HOUR) if n_hours is None else n_hours
        depart = np.where(np.isnan(self.ae.departure_time), np.inf, self.ae.departure_time)
        edges = np.arange(n + 1, dtype=float) * MINUTES_PER_HOUR
        return occupancy_between(self.attendances.time, depart, edges)

    def beds_occupied(self, edges: np.ndarray) -> np.ndarray:
        """Time-weighted mean G&A beds occupied between consecutive ``edges`` (minutes)."""
        a = self.admissions
        took = np.isfinite(a.core_time)
        leave = np.where(np.isnan(a.leave_time), np.inf, a.leave_time)
        return occupancy_between(a.core_time[took], leave[took], edges)

    def escalation_occupied(self, edges: np.ndarray) -> np.ndarray:
        """Time-weighted mean escalation spaces in use between consecutive ``edges``."""
        a = self.admissions
        esc = np.isfinite(a.bed_time) & ~(a.core_time == a.bed_time)
        end = np.where(np.isfinite(a.core_time), a.core_time, a.leave_time)
        end = np.where(np.isnan(end), np.inf, end)
        return occupancy_between(a.bed_time[esc], end[esc], edges)

    def nctr_beds(self, edges: np.ndarray) -> np.ndarray:
        """Time-weighted mean beds occupied by medically optimised patients (no criteria to
        reside) between consecutive ``edges``."""
        a = self.admissions
        opt = np.isfinite(a.optimised_time)
        leave = np.where(np.isnan(a.leave_time), np.inf, a.leave_time)
        return occupancy_between(a.optimised_time[opt], leave[opt], edges)

    def places_used(self, stays: dict[str, np.ndarray], edges: np.ndarray) -> np.ndarray:
        """Time-weighted mean places in use (IC+ or social care) between ``edges``."""
        return occupancy_between(stays["start"], stays["end"], edges)


class _Census:
    """Reads at each of ``times`` the time integrals the model keeps of its own counts:
    patients in A&E, IC+ places and G&A bed-minutes in use (:meth:`arrays`). An integral
    does not depend on the order of events at the minute it is read.

    A chain of timeouts with a callback (one at a time, each made when the last fires), in
    the order of events a process sleeping from one reading to the next would have."""

    def __init__(self, env: simpy.Environment, times: list[float], ed, ic_pool, beds):
        self.env, self.times, self.ed, self.ic_pool, self.beds = env, times, ed, ic_pool, beds
        # the readings so far (arrays() gives them, zero where not read)
        self.ae: list[float] = []
        self.ic: list[float] = []
        self.bed: list[float] = []
        self.k = 0
        if times:
            call_first(env, self._next)

    def _next(self, _event: simpy.Event | None = None) -> None:
        call_after(self.env, self.times[self.k] - self.env._now, self._read)

    def _read(self, _event: simpy.Event) -> None:
        k, t = self.k, self.times[self.k]
        self.ae.append(self.ed.census(t)[1])
        pool, beds = self.ic_pool, self.beds
        self.ic.append(pool.area.at(pool.places - pool.free, t))
        self.bed.append(beds.area.at(beds.beds - beds.free, t))
        self.k = k + 1
        if self.k < len(self.times):
            self._next()

    def arrays(self) -> dict[str, np.ndarray]:
        """ae_minutes, ic_minutes and bed_minutes at each of the times (0 if not read)."""
        out = {}
        for name, read in (
            ("ae_minutes", self.ae),
            ("ic_minutes", self.ic),
            ("bed_minutes", self.bed),
        ):
            out[name] = np.zeros(len(self.times))
            out[name][: len(read)] = read
        return out


class _Feeder:
    """Every arrival from outside the hospital, in time order: ``handlers[kind](index)`` at
    each arrival's minute.

    A chain of waits, one per minute with arrivals, in the order of events a process
    sleeping from one arrival to the next would have (the environment's one chain:
    :meth:`~sim.services.hospital.engine.HospitalEnvironment.chain_after`): an arrival at
    the minute the clock already shows is handled at once, with no wait."""

    def __init__(self, env: HospitalEnvironment, times: list[float], kinds, idx, handlers):
        self.env, self.times, self.kinds, self.idx, self.handlers = env, times, kinds, idx, handlers
        self.k = 0
        call_first(env, self._start)

    def _start(self, _event: simpy.Event) -> None:
        """At the start: the arrivals due then, or sleep until the first."""
        times, now = self.times, self.env._now
        if not times:
            return
        if times[0] > now:
            self.env.chain_after(times[0] - now, self._woken)
        else:
            self._woken(_event)  # the first is due: handled as if woken for it

    def _woken(self, _event: simpy.Event | None) -> None:
        """Woken at the k-th arrival's minute: it is due even if the clock landed one rounding
        step short of it (now + (t - now) need not equal t); then the others due by now;
        then sleep until the next."""
        env = self.env
        k, now = self.k, env._now
        times, kinds, idx, handlers = self.times, self.kinds, self.idx, self.handlers
        handlers[kinds[k]](idx[k])
        k += 1
        n = len(times)
        while k < n:
            t = times[k]
            if t > now:
                self.k = k
                # env.chain_after(t - now, self._woken), inlined (once per arrival minute):
                # the delay is positive, and the chain has no link waiting (this is its
                # link's callback, or the start); the key is chain_after's
                env._link = (now + (t - now), NORMAL, next(env._eid))
                env._link_callback = self._woken
                return
            handlers[kinds[k]](idx[k])
            k += 1
        self.k = k


@dataclass
class PatientDraws:
    """Everything random about the hospital's patients, drawn before the run.

    Per attendance: ``admitted`` (decision to admit), ``front_of_house`` (frail and arriving
    while the frailty team works: the team will try to assess them), and minutes of
    ``service`` (clinician), ``after`` (after treatment: to going home, or to the decision to
    admit), ``leave_by`` (the minute a walk-in leaves unseen; ``inf`` for those who stay),
    ``handover`` (clinical handover of an ambulance patient once a space is free) and
    ``sdec`` (time in same-day emergency care).

    Per admission row (attendances, direct admissions, step-ups, background, in that order):
    ``stay`` (minutes to the end of the acute stay; overnight stays of the model's own
    admissions scaled by the month they arrived in), ``same_day``, ``overnight`` (found
    optimised at a senior review), ``organise`` (minutes to organise a discharge home),
    ``pathway`` (discharge.HOME, STEP_DOWN or SOCIAL_CARE) and ``place`` (minutes an IC+ or
    social care place is held after leaving hospital). Per step-up: ``step_up_stay`` (IC+
    minutes). ``background_time``: minute of each background admission.
    """

    admitted: np.ndarray
    front_of_house: np.ndarray
    service: np.ndarray
    after: np.ndarray
    leave_by: np.ndarray
    handover: np.ndarray
    sdec: np.ndarray
    stay: np.ndarray
    same_day: np.ndarray
    overnight: np.ndarray
    organise: np.ndarray
    pathway: np.ndarray
    place: np.ndarray
    step_up_stay: np.ndarray
    background_time: np.ndarray
    # The frailty team, per attendance (None: nobody is eligible): minutes of the patient's
    # comprehensive geriatric assessment (CGA), whether a CGA turns them round if they
    # would be admitted, whether they then go home with no IC+ place, and the IC+ stay
    # (minutes) if they take one
    assessment: np.ndarray | None = None
    turn_round: np.ndarray | None = None
    home_without_place: np.ndarray | None = None
    front_door_stay: np.ndarray | None = None


def _ae_minutes(cfg: ModelConfig, att: Attendances, admitted: np.ndarray) -> dict[str, np.ndarray]:
    """Clinician time, after-treatment time, patience, handover and SDEC minutes."""
    ae = cfg.assumptions.ae
    key = att.key
    u_service = keyed_uniforms(key, "ae_service")
    if ae.service_distribution == "exponential":
        service = np.where(
            att.majors,
            exponential_from_uniform(u_service, ae.service_minutes["majors"].mean),
            exponential_from_uniform(u_service, ae.service_minutes["minors"].mean),
        )
    else:
        s = ae.service_minutes
        service = np.where(
            att.majors,
            lognormal_from_uniform(u_service, s["majors"].median, s["majors"].mean),
            lognormal_from_uniform(u_service, s["minors"].median, s["minors"].mean),
        )
    u_after = keyed_uniforms(key, "ae_after")
    a = ae.after_treatment_minutes
    after = np.where(
        admitted,
        lognormal_from_uniform(u_after, a["admitted"].median, a["admitted"].mean),
        lognormal_from_uniform(u_after, a["discharged"].median, a["discharged"].mean),
    )
    lwbs = ae.left_without_being_seen.patience_minutes
    patience = lognormal_from_uniform(keyed_uniforms(key, "ae_patience"), lwbs.median, lwbs.mean)
    handover = lognormal_from_uniform(
        keyed_uniforms(key, "ae_handover"), ae.handover_minutes.median, ae.handover_minutes.mean
    )
    sdec = lognormal_from_uniform(
        keyed_uniforms(key, "sdec_stay"), ae.sdec_minutes.median, ae.sdec_minutes.mean
    )
    return {
        "service": service,
        "after": after,
        "leave_by": np.where(att.may_leave, att.time + patience, np.inf),
        "handover": handover,
        "sdec": sdec,
    }


def _front_of_house_draws(
    cfg: ModelConfig, att: Attendances, team_open: np.ndarray, ic_minutes: np.ndarray
) -> dict[str, np.ndarray]:
    """Who the frailty team will try to assess (frail, arriving while it works: ``team_open``
    at each arrival; a team of at least one), and their CGA's keyed draws
    (``foh_assessment``, ``foh_turn_round``, ``foh_home``: new names, so no other draw
    moves)."""
    foh = cfg.site.emergency_department.frailty_front_of_house
    n = len(att)
    eligible = (att.frailty >= FIRST_FRAIL_BAND) & np.asarray(team_open, dtype=bool)
    if foh.clinicians <= 0:
        eligible[:] = False
    key = att.key[eligible]
    assessment = np.full(n, np.nan)
    a = foh.assessment_minutes
    assessment[eligible] = lognormal_from_uniform(
        keyed_uniforms(key, "foh_assessment"), a.median, a.mean
    )
    turn_round = np.zeros(n, dtype=bool)
    turn_round[eligible] = keyed_uniforms(key, "foh_turn_round") < foh.turnaround_share
    home = np.zeros(n, dtype=bool)
    home[eligible] = keyed_uniforms(key, "foh_home") < foh.home_without_place_share
    return {
        "front_of_house": eligible,
        "assessment": assessment,
        "turn_round": turn_round,
        "home_without_place": home,
        "front_door_stay": np.asarray(ic_minutes, dtype=float),
    }


def draw_patients(
    arrivals: HospitalArrivals,
    cfg: ModelConfig,
    calendar: Calendar,
    streams: Streams,
    weekly: WeeklyConfigs | None = None,
) -> PatientDraws:
    """Every random quantity of the hospital's patients (see :class:`PatientDraws`), from
    each patient's keyed uniforms; background admissions from their own named streams.
    ``weekly``: the configuration in force each week (the frailty team's opening follows it)."""
    att = arrivals.attendances
    direct, step_ups = arrivals.direct_admissions, arrivals.step_ups
    n_ae = len(att)
    admitted = keyed_uniforms(att.key, DRAW_ADMIT) < att.admit_probability
    ae = _ae_minutes(cfg, att, admitted)

    bg_time, bg_stay = background_admissions(cfg, calendar, streams)
    n_bg = len(bg_time)
    age = np.concatenate([att.age_band, direct.age_band, step_ups.age_band]).astype(np.int64)
    frailty = np.concatenate([att.frailty, direct.frailty, step_ups.frailty]).astype(np.int64)
    key = np.concatenate([att.key, direct.key, step_ups.key]).astype(np.uint64)
    asked = np.concatenate([att.time, direct.time, step_ups.time])
    day = np.minimum((asked // MINUTES_PER_DAY).astype(np.int64), len(calendar.month) - 1)
    stay, same_day = length_of_stay_minutes(
        cfg,
        age,
        frailty,
        keyed_uniforms(key, "admission_stay"),
        stay_month_multiplier(cfg, calendar.month[day]),
    )
    pathway = np.where(same_day, HOME, discharge_pathways(cfg, age, frailty, key))
    ic_days = cfg.assumptions.intermediate_care.stay_days
    ic_minutes = (
        lognormal_from_uniform(keyed_uniforms(key, "ic_stay"), ic_days.median, ic_days.mean)
        * MINUTES_PER_DAY
    )
    sc_days = cfg.assumptions.discharge.social_care_stay_days
    sc_minutes = (
        lognormal_from_uniform(
            keyed_uniforms(key, "social_care_stay"), sc_days.median, sc_days.mean
        )
        * MINUTES_PER_DAY
    )
    organise_hours = cfg.assumptions.discharge.organise_home_hours
    organise = np.where(
        same_day,
        0.0,
        lognormal_from_uniform(
            keyed_uniforms(key, "organise_discharge"), organise_hours.median, organise_hours.mean
        )
        * MINUTES_PER_HOUR,
    )
    zeros = np.zeros(n_bg)
    team_open = front_of_house_open(att.time, cfg, weekly)
    foh = _front_of_house_draws(cfg, att, team_open, ic_minutes[:n_ae])
    return PatientDraws(
        admitted=admitted,
        **ae,
        stay=np.concatenate([stay, bg_stay]),
        same_day=np.concatenate([same_day, np.zeros(n_bg, bool)]),
        overnight=np.concatenate([~same_day, np.ones(n_bg, bool)]),
        organise=np.concatenate([organise, zeros]),
        pathway=np.concatenate([pathway, np.full(n_bg, HOME)]).astype(np.int8),
        place=np.concatenate([np.where(pathway == SOCIAL_CARE, sc_minutes, ic_minutes), zeros]),
        step_up_stay=ic_minutes[n_ae + len(direct) :],
        background_time=bg_time,
        **foh,
    )


def simulate_hospital(
    arrivals: HospitalArrivals, cfg: ModelConfig, calendar: Calendar, streams: Streams
) -> HospitalResult:
    """Draw every patient's random quantities, then run the hospital (:func:`run_hospital`)
    over the whole run (warm-up included) and drain it, its capacities week by week at the
    configuration then in force (options phasing in)."""
    weekly = weekly_configs(cfg, calendar)
    draws = draw_patients(arrivals, cfg, calendar, streams, weekly)
    run_minutes = calendar.run_days * MINUTES_PER_DAY
    return run_hospital(arrivals, draws, cfg, run_minutes, weekly.by_week)


def run_hospital(
    arrivals: HospitalArrivals,
    draws: PatientDraws,
    cfg: ModelConfig,
    run_minutes: float,
    weekly: list[ModelConfig] | None = None,
) -> HospitalResult:
    """Run the coupled hospital on patients whose random quantities are all drawn.

    Parameters
    ----------
    arrivals
        A&E attendances, direct admissions and step-up requests
        (:func:`sim.services.hospital.arrivals.hospital_arrivals`).
    draws
        Their random quantities (:func:`draw_patients`, or built by hand in tests).
    cfg
        Validated model configuration (capacities, rotas, rules).
    run_minutes
        Length of the run; the simulation goes on for :data:`DRAIN_DAYS` after it.
    weekly
        The configuration in force each week (index: week of the run; the last holds after
        it): beds, escalation spaces, IC+ and social care places, SDEC spaces and opening
        follow it (:mod:`sim.services.hospital.capacity`). Default: ``cfg`` throughout.

    Raises
    ------
    ConfigError
        If a stream has patients but no clinician in any hour, or majors patients arrive and
        there is no majors space.
    """
    att = arrivals.attendances
    direct, step_ups = arrivals.direct_admissions, arrivals.step_ups
    ed_site = cfg.site.emergency_department
    n_ae, n_dir, n_su = len(att), len(direct), len(step_ups)
    bg_time = np.asarray(draws.background_time, dtype=float)
    n_bg = len(bg_time)
    rows = n_ae + n_dir + n_su + n_bg
    if len(draws.stay) != rows or len(draws.admitted) != n_ae:
        raise ValueError(f"draws do not match the arrivals ({len(draws.stay)} rows for {rows})")
    first_step_up_row, first_bg_row = n_ae + n_dir, n_ae + n_dir + n_su
    admitted = np.asarray(draws.admitted, dtype=bool)
    place_all = np.asarray(draws.place, dtype=float).tolist()
    end = float(run_minutes) + DRAIN_DAYS * MINUTES_PER_DAY
    weekly = weekly or [cfg]
    capacity = hospital_schedules(weekly, end)
    # ---- the model -------------------------------------------------------------------
    env = HospitalEnvironment()
    ed = EmergencyDepartment(
        env,
        majors=att.majors.tolist(),
        ambulance=att.ambulance.tolist(),
        service=np.asarray(draws.service, dtype=float).tolist(),
        after=np.asarray(draws.after, dtype=float).tolist(),
        admitted=admitted.tolist(),
        same_day=np.asarray(draws.same_day[:n_ae], dtype=bool).tolist(),
        leave_by=np.asarray(draws.leave_by, dtype=float).tolist(),
        spaces=ed_site.majors_spaces,
    )
    sdec = SameDayEmergencyCare(env, cfg, np.asarray(draws.sdec, dtype=float).tolist(), weekly)
    bed_cfg = cfg.site.acute_beds
    beds = AcuteBeds(
        env,
        capacity["beds"].initial,
        rows,
        capacity["escalation_spaces"].initial,
        bed_cfg.escalate_after_hours * MINUTES_PER_HOUR,
        spaces_later=max(capacity["escalation_spaces"].values) > 0,
    )
    pathway_all = np.asarray(draws.pathway, dtype=np.int8).tolist()
    discharge = Discharge(
        env,
        cfg,
        np.asarray(draws.stay, dtype=float).tolist(),
        np.asarray(draws.overnight, dtype=bool).tolist(),
        np.asarray(draws.organise, dtype=float).tolist(),
        pathway_all,
        beds.release,
        None,
    )
    ic = IntermediateCare(
        env,
        cfg,
        step_up_stay=np.asarray(draws.step_up_stay, dtype=float).tolist(),
        step_down_stay=place_all,
        admit=lambda s, now: beds.request(first_step_up_row + s, now),
        discharge=discharge,
        places=capacity["ic_places"].initial,
        front_door_stay=(
            None if draws.front_door_stay is None else np.asarray(draws.front_door_stay).tolist()
        ),
    )

    def social_grant(row: int, now: float) -> None:
        leave = discharge.place_given(row, now)
        social.hold(0, row, now, leave + place_all[row])

    social = PlacePool(env, capacity["social_places"].initial, 1, None, (social_grant,))
    for name, apply in (
        ("beds", beds.set_beds),
        ("escalation_spaces", beds.set_spaces),
        ("ic_places", ic.pool.set_places),
        ("social_places", social.set_places),
        ("sdec_spaces", sdec.set_spaces),
    ):
        follow(env, capacity[name], apply)

    def ask_place(path: int, row: int, now: float) -> None:
        if path == STEP_DOWN:
            ic.step_down(row, now)
        else:
            social.request(0, row, now)

    discharge.ask_place = ask_place

    def on_admit(row: int, now: float) -> None:
        if row < n_ae:
            ed.leave(row, now)
        discharge.admitted(row, now)

    beds.on_admit = on_admit
    ed.ask_bed = beds.request
    ed.sdec_take = sdec.take

    for stream, rota in (
        (MINORS, ed_site.minors_clinicians_by_hour),
        (MAJORS, ed_site.majors_clinicians_by_hour),
    ):
        patients = ed.streams[stream].remaining
        if patients and max(rota) <= 0:
            raise ConfigError(
                f"site.emergency_department.{STREAMS[stream]}_clinicians_by_hour",
                list(rota),
                f"needs a clinician in some hour: {patients} {STREAMS[stream]} patients arrive",
            )
        if not patients:
            continue
        for position in range(max(rota)):
            ed.start_clinician(stream, position, shifts_of_position(rota, position))
    if ed.streams[MAJORS].remaining and ed_site.majors_spaces <= 0:
        raise ConfigError(
            "site.emergency_department.majors_spaces",
            ed_site.majors_spaces,
            f"must be at least 1: {ed.streams[MAJORS].remaining} majors patients arrive",
        )

    eligible = np.asarray(draws.front_of_house, dtype=bool)
    team = None
    if draws.assessment is not None and eligible.any():

        def week_of(minute: float) -> int:
            return min(int(minute // (7 * MINUTES_PER_DAY)), len(weekly) - 1)

        team = FrailtyTeam(
            env,
            cfg.site.emergency_department.frailty_front_of_house.clinicians,
            # the team's opening in the week of the minute (options phasing in)
            lambda t: front_of_house_open_at(t, weekly[week_of(t)]),
            np.asarray(draws.assessment, dtype=float).tolist(),
            np.asarray(draws.turn_round, dtype=bool).tolist(),
            np.asarray(draws.home_without_place, dtype=bool).tolist(),
            ed,
            ic,
        )
        ed.turn_round = team.turn_round
        eligible_list = eligible.tolist()

        def ae_arrive(i: int) -> None:
            ed.arrive(i)
            if eligible_list[i]:
                team.arrive(i)

    else:
        ae_arrive = ed.arrive

    cancel = cfg.assumptions.background_admissions.when_full == "cancel"
    handlers = (
        ae_arrive,
        lambda i: beds.request(n_ae + i, env._now),
        lambda i: ic.step_up(i, env._now),
        lambda i: beds.request(first_bg_row + i, env._now, cancel, may_escalate=False),
    )
    times = np.concatenate([att.time, direct.time, step_ups.time, bg_time])
    kinds = np.repeat(np.arange(4, dtype=np.int64), [n_ae, n_dir, n_su, n_bg])
    idx = np.concatenate([np.arange(n) for n in (n_ae, n_dir, n_su, n_bg)]).astype(np.int64)
    order = np.argsort(times, kind="stable")
    _Feeder(env, times[order].tolist(), kinds[order].tolist(), idx[order].tolist(), handlers)
    census_time = np.arange(math.ceil(run_minutes / MINUTES_PER_HOUR) + 1) * MINUTES_PER_HOUR
    census = _Census(env, census_time.tolist(), ed, ic.pool, beds)
    env.run(until=end)
    ed.finish(end)

    # ---- results ---------------------------------------------------------------------
    seen = np.frombuffer(ed.seen, dtype=float)
    space = np.frombuffer(ed.space_time, dtype=float)
    decision = np.frombuffer(ed.decision_time, dtype=float)
    arrive = np.asarray(att.time, dtype=float)
    ae_out = AEOutcome(
        # The SimPy clock can land one rounding step short of an arrival: nobody is seen
        # before they arrive.
        seen_time=np.where(np.isnan(seen), np.nan, np.maximum(seen, arrive)),
        space_time=space,
        decision_time=decision,
        departure_time=np.frombuffer(ed.departure, dtype=float),
        admitted=np.isfinite(decision),
        sdec=np.frombuffer(ed.to_sdec, dtype=bool),
        left_unseen=np.frombuffer(ed.left_unseen, dtype=bool),
        front_of_house=(
            np.isfinite(team.start) if team is not None else np.zeros(n_ae, dtype=bool)
        ),
        assessment_time=np.array(team.start, dtype=float)
        if team is not None
        else np.full(n_ae, np.nan),
        turned_round=np.frombuffer(ed.turned_round, dtype=bool),
        clinician=np.array(ed.treated_by, dtype=np.int16),
        handover_minutes=np.where(
            att.ambulance & np.isfinite(space), space - arrive + draws.handover, np.nan
        ),
    )
    request = np.frombuffer(beds.request_time, dtype=float)
    asked = np.flatnonzero(np.isfinite(request))
    asked = asked[np.argsort(request[asked], kind="stable")]
    kind_of_row = np.repeat(np.arange(4, dtype=np.int8), [n_ae, n_dir, n_su, n_bg])
    start_of_kind = np.array([0, n_ae, first_step_up_row, first_bg_row])
    minus = np.full(n_bg, -1)
    age_all = np.concatenate([att.age_band, direct.age_band, step_ups.age_band, minus])
    frailty_all = np.concatenate([att.frailty, direct.frailty, step_ups.frailty, minus])
    age_all, frailty_all = age_all.astype(np.int8), frailty_all.astype(np.int8)
    admissions = Admissions(
        row=asked.astype(np.int64),
        kind=kind_of_row[asked],
        index=(asked - start_of_kind[kind_of_row[asked]]).astype(np.int64),
        age_band=age_all[asked],
        frailty=frailty_all[asked],
        request_time=request[asked],
        bed_time=np.frombuffer(beds.bed_time, dtype=float)[asked],
        core_time=np.frombuffer(beds.core_time, dtype=float)[asked],
        optimised_time=np.frombuffer(discharge.optimised_time, dtype=float)[asked],
        place_time=np.frombuffer(discharge.place_time, dtype=float)[asked],
        leave_time=np.frombuffer(beds.leave_time, dtype=float)[asked],
        pathway=np.asarray(draws.pathway, dtype=np.int8)[asked],
        same_day=np.asarray(draws.same_day, dtype=bool)[asked],
        cancelled=np.frombuffer(beds.cancelled, dtype=bool)[asked],
    )
    state = np.array(ic.state, dtype=np.int8)
    result = HospitalResult(
        attendances=att,
        ae=ae_out,
        admissions=admissions,
        step_ups=StepUpOutcome(
            started=state == STARTED,
            start_time=np.frombuffer(ic.start_time, dtype=float),
            admitted_instead=state == ADMITTED,
        ),
        ic_stays=ic.pool.stays.arrays(),
        social_stays=social.stays.arrays(),
        sdec_stays=sdec.stays.arrays(),
        beds=beds.beds,
        escalation_spaces=beds.spaces,
        ic_places=ic.pool.places,
        social_places=social.places,
        run_minutes=float(run_minutes),
        end_minutes=float(end),
        end_state={
            "beds_free": beds.free,
            "bed_queue": len(beds.queue),
            "escalation_spaces_free": beds.spaces_free,
            "ic_places_free": ic.pool.free,
            "social_places_free": social.free,
        },
        census={"time": census_time, **census.arrays()},
        capacity=capacity,
    )
    clinicians = None if team is None else team.clinicians
    _let_go(
        env, ed, *ed.streams, sdec, beds, discharge, ic, ic.pool, social, team, clinicians, census
    )
    return result


def _let_go(*parts: object) -> None:
    """Drop what the model's parts hold, once the results are out of them.

    The parts call one another (each holds the others' methods, pending events hold theirs):
    reference cycles that only Python's cycle collector frees, and it looks at them late,
    since they outlive the run in its oldest generation. Without this, a worker carried one
    replication's per-patient lists (about 35 MB) into the next replication's peak."""
    for part in parts:
        if part is None:
            continue
        if hasattr(part, "__dict__"):
            vars(part).clear()
        for name in getattr(type(part), "__slots__", ()):
            if hasattr(part, name):
                delattr(part, name)


__all__ = [
    "ADMISSION_KINDS",
    "BACKGROUND",
    "DRAIN_DAYS",
    "FROM_AE",
    "FROM_CLINIC",
    "FROM_STEP_UP",
    "AEOutcome",
    "Admissions",
    "HospitalResult",
    "PatientDraws",
    "StepUpOutcome",
    "draw_patients",
    "run_hospital",
    "simulate_hospital",
]
