"""Intermediate care (IC+) and the hospital admissions it competes to avoid or shorten.

IC+ is a 24/7 service with a caseload capacity of ``site.intermediate_care.places`` people at
once. Two kinds of request compete for places, first come first served, in one queue:

* **Step-up** (from rapid assessment clinics and practices): a frail person who would
  otherwise be admitted. A free place starts IC at once and an admission is avoided. Otherwise
  the person waits up to ``step_up_max_wait_days``; if a place frees in time IC starts then,
  if not they are *admitted* at request time + max wait (a new admission record).
* **Step-down** (from an admission): a frail (moderate/severe eFI) patient aged 65+, chosen
  with probability ``step_down_share_of_admissions``, whose acute stay is longer than
  ``step_down_days_saved``, asks for a place ``step_down_days_saved`` days before the end of
  that stay. A free place means discharge into IC then; otherwise the patient waits *in
  hospital* (bed days keep accruing) up to ``step_down_max_wait_days``, then goes home
  without IC.

Every admission's acute length of stay is exponential with mean
``length_of_stay_days_by_age[age] x frailty_stay_multiplier[frailty]`` (under 65s count as
fit). A place is held for the person's IC stay, lognormal from its median and mean.

Nothing here is random: every duration and choice comes from a uniform drawn once by the
caller (common random numbers), so two scenarios that differ only in ``places`` see the same
patients with the same needs. The simulation is a bare ``heapq`` event loop: only IC requests,
IC departures and wait expiries are events (a few thousand a year), while everything about the
~25,000 admissions that never ask for IC is computed with numpy.

Time is in minutes from Monday 00:00 of week 0; lengths of stay and bed days are in days.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from sim.config.schema import (
    AGE_BANDS,
    FIRST_FRAIL_BAND,
    FIRST_OLDER_BAND,
    FRAILTY_BANDS,
    ModelConfig,
)
from sim.core.distributions import lognormal_from_uniform

MINUTES_PER_DAY = 1440.0

#: Kinds of IC request (``IcStays.kind``).
STEP_UP, STEP_DOWN = 0, 1
IC_KINDS: tuple[str, ...] = ("step_up", "step_down")

#: Default ``source`` code of an admission created because a step-up found no place in time
#: (the caller's own codes are passed through untouched; this one is only a default).
STEP_UP_FAILED = -1

#: Frailty code of a patient under 65 (not assessed); counted as fit for length of stay.
NOT_ASSESSED = -1

# Event priorities at equal times. A departure comes first so that a place freed at exactly a
# request's deadline still counts as "in time" (wait <= max wait), and so that a request
# arriving at the moment a place frees can take it. Expiries come last for the same reason.
_DEPART, _REQUEST, _EXPIRE = 0, 1, 2
# A census of the places in use, read from the caseload itself (Little's law in
# sim.tools.validate), at the middle of every hour of the run, after the events of that minute.
_CENSUS = 3
CENSUS_MINUTES = 60.0
# Request states.
_PENDING, _WAITING, _STARTED, _EXPIRED = 0, 1, 2, 3


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _column(values: object, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(-1))


def _check_columns(name: str, columns: dict[str, np.ndarray]) -> None:
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{name}: columns differ in length: {lengths}")
    for key, col in columns.items():
        if key.startswith("u_") and len(col) and not ((col >= 0).all() and (col < 1).all()):
            raise ValueError(f"{name}.{key}: uniforms must lie in [0, 1)")
    if len(columns["time"]) and not np.isfinite(columns["time"]).all():
        raise ValueError(f"{name}.time: times must be finite minutes")
    age, frailty = columns["age_band"], columns["frailty"]
    if len(age) and (age.min() < 0 or age.max() >= len(AGE_BANDS)):
        raise ValueError(f"{name}.age_band: must index AGE_BANDS (0..{len(AGE_BANDS) - 1})")
    if len(frailty) and (frailty.min() < NOT_ASSESSED or frailty.max() >= len(FRAILTY_BANDS)):
        raise ValueError(
            f"{name}.frailty: must index FRAILTY_BANDS or be {NOT_ASSESSED} (under 65)"
        )


@dataclass
class AdmissionRequests:
    """Hospital admissions arising elsewhere in the model (A&E, RAC, direct), one per row.

    Attributes
    ----------
    time
        float64 minute of admission (from Monday 00:00 of week 0). Any order.
    age_band
        int8 index into :data:`sim.config.schema.AGE_BANDS`.
    frailty
        int8 index into :data:`sim.config.schema.FRAILTY_BANDS`; ``-1`` for patients under 65.
    u_stay
        float64 U[0,1) deciding the acute length of stay (inverse CDF of an exponential).
    u_step_down
        float64 U[0,1) deciding whether a frail 65+ admission is offered step-down.
    u_ic_stay
        float64 U[0,1) deciding the IC stay if the patient is stepped down.
    source
        int8 code of where the admission came from, defined by the caller and passed through.
    """

    time: np.ndarray
    age_band: np.ndarray
    frailty: np.ndarray
    u_stay: np.ndarray
    u_step_down: np.ndarray
    u_ic_stay: np.ndarray
    source: np.ndarray

    def __post_init__(self) -> None:
        self.time = _column(self.time, np.float64)
        self.age_band = _column(self.age_band, np.int8)
        self.frailty = _column(self.frailty, np.int8)
        self.u_stay = _column(self.u_stay, np.float64)
        self.u_step_down = _column(self.u_step_down, np.float64)
        self.u_ic_stay = _column(self.u_ic_stay, np.float64)
        self.source = _column(self.source, np.int8)
        _check_columns("AdmissionRequests", vars(self))

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls) -> AdmissionRequests:
        """No admissions."""
        return cls(*([()] * 7))


@dataclass
class StepUpRequests:
    """Requests for a step-up IC place (from RAC and practices), one per row.

    Attributes
    ----------
    time
        float64 minute of the request. Any order; ties are served in row order.
    age_band
        int8 index into :data:`sim.config.schema.AGE_BANDS`.
    frailty
        int8 index into :data:`sim.config.schema.FRAILTY_BANDS`; ``-1`` for patients under 65.
    u_ic_stay
        float64 U[0,1) deciding the IC stay (also used for a later step-down, if admitted).
    u_stay
        float64 U[0,1) deciding the acute stay, used only if the request ends in admission.
    u_step_down
        float64 U[0,1) deciding step-down, used only if the request ends in admission.
    source
        int8 code of who asked (caller-defined), passed through.
    """

    time: np.ndarray
    age_band: np.ndarray
    frailty: np.ndarray
    u_ic_stay: np.ndarray
    u_stay: np.ndarray
    u_step_down: np.ndarray
    source: np.ndarray

    def __post_init__(self) -> None:
        self.time = _column(self.time, np.float64)
        self.age_band = _column(self.age_band, np.int8)
        self.frailty = _column(self.frailty, np.int8)
        self.u_ic_stay = _column(self.u_ic_stay, np.float64)
        self.u_stay = _column(self.u_stay, np.float64)
        self.u_step_down = _column(self.u_step_down, np.float64)
        self.source = _column(self.source, np.int8)
        _check_columns("StepUpRequests", vars(self))

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls) -> StepUpRequests:
        """No step-up requests."""
        return cls(*([()] * 7))


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


@dataclass
class StepUpOutcomes:
    """What became of each step-up request (rows in input order).

    Attributes
    ----------
    started
        bool: IC started (at once or after a wait within the limit).
    start_time
        float64 minute IC started; NaN if it did not.
    admitted_instead
        bool: no place in time, so admitted to hospital at request + max wait.
        Exactly one of ``started`` / ``admitted_instead`` is true.
    admission
        int64 row of the resulting admission in :class:`AdmissionOutcomes`; -1 if started.
    """

    started: np.ndarray
    start_time: np.ndarray
    admitted_instead: np.ndarray
    admission: np.ndarray


@dataclass
class AdmissionOutcomes:
    """Every admission: the input admissions in input order, then one per failed step-up.

    Attributes
    ----------
    time
        float64 minute of admission.
    age_band, frailty
        int8 as in the inputs.
    stay_days
        float64 acute length of stay (days) as drawn, before any step-down.
    bed_days
        float64 days in a hospital bed: ``stay_days`` unless a step-down was requested, then
        ``stay_days - step_down_days_saved + step_down_wait_days``.
    step_down_requested
        bool: eligible for step-down and asked for an IC place.
    stepped_down
        bool: discharged into IC (at once or after a wait in hospital).
    step_down_wait_days
        float64 days waited in hospital for an IC place (the max wait if none came in time;
        0 if none was requested).
    discharge_time
        float64 minute of leaving the acute bed (``time + bed_days`` days).
    source
        int8 caller's source code; failed step-ups carry ``failed_step_up_source``.
    from_step_up
        int64 row of the step-up that failed into this admission; -1 for input admissions.
    """

    time: np.ndarray
    age_band: np.ndarray
    frailty: np.ndarray
    stay_days: np.ndarray
    bed_days: np.ndarray
    step_down_requested: np.ndarray
    stepped_down: np.ndarray
    step_down_wait_days: np.ndarray
    discharge_time: np.ndarray
    source: np.ndarray
    from_step_up: np.ndarray

    def __len__(self) -> int:
        return len(self.time)


@dataclass
class IcStays:
    """Every IC stay that started, sorted by start time.

    Attributes
    ----------
    start, end
        float64 minutes the place was taken and freed.
    kind
        int8 :data:`STEP_UP` or :data:`STEP_DOWN`.
    index
        int64 row of the step-up (``kind == STEP_UP``) or of the admission (``STEP_DOWN``).
    """

    start: np.ndarray
    end: np.ndarray
    kind: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class IntermediateCareResult:
    """Outcomes of one replication's IC+ service and admissions.

    Attributes
    ----------
    step_ups, admissions, stays
        Per-request, per-admission and per-IC-stay records (see their classes).
    places
        Caseload capacity simulated (people at once).
    run_minutes
        Length of the run (minutes); events after it were still resolved.
    daily_occupancy
        float64 time-weighted mean places in use on each day ``d`` of the run, over
        ``[d, d + 1)`` days clipped to ``run_minutes``; length ``ceil(run_minutes / 1440)``.
    census_time, census_in_use
        Places in use as the loop's own caseload counter stood at the middle of every hour of
        the run: a measurement independent of the stays' recorded times.
    """

    step_ups: StepUpOutcomes
    admissions: AdmissionOutcomes
    stays: IcStays
    places: int
    run_minutes: float
    census_time: np.ndarray = field(default_factory=lambda: np.zeros(0))
    census_in_use: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    daily_occupancy: np.ndarray = field(init=False)
    # Sorted start/end minutes and their running sums: place-minutes up to any time in
    # O(log n) (see place_minutes).
    _starts: np.ndarray = field(init=False, repr=False)
    _ends: np.ndarray = field(init=False, repr=False)
    _start_sums: np.ndarray = field(init=False, repr=False)
    _end_sums: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._starts = np.sort(self.stays.start)
        self._ends = np.sort(self.stays.end)
        self._start_sums = np.concatenate(([0.0], np.cumsum(self._starts)))
        self._end_sums = np.concatenate(([0.0], np.cumsum(self._ends)))
        n_days = math.ceil(self.run_minutes / MINUTES_PER_DAY)
        bounds = np.minimum(np.arange(n_days + 1) * MINUTES_PER_DAY, self.run_minutes)
        used = np.diff(self.place_minutes(bounds))
        widths = np.diff(bounds)
        self.daily_occupancy = np.divide(used, widths, out=np.zeros_like(used), where=widths > 0)

    def place_minutes(self, t: float | np.ndarray) -> np.ndarray:
        """Place-minutes used from the start of the run up to minute(s) ``t``.

        Each stay contributes ``clip(t - start, 0, end - start)``, which sums to
        ``sum(t - start for start < t) - sum(t - end for end < t)``.
        """
        t = np.asarray(t, dtype=np.float64)
        ks = np.searchsorted(self._starts, t, side="left")
        ke = np.searchsorted(self._ends, t, side="left")
        return (ks * t - self._start_sums[ks]) - (ke * t - self._end_sums[ke])

    def occupancy_mean(self, first_minute: float, last_minute: float) -> float:
        """Time-weighted mean places in use over ``[first_minute, last_minute)`` (people)."""
        if not last_minute > first_minute:
            raise ValueError(f"empty window [{first_minute}, {last_minute})")
        used = self.place_minutes(np.array([first_minute, last_minute]))
        mean = float((used[1] - used[0]) / (last_minute - first_minute))
        # A difference of large running sums: keep rounding from exceeding the caseload.
        return min(max(mean, 0.0), float(self.places))

    def starts_between(self, first_minute: float, last_minute: float) -> dict[str, int]:
        """IC stays starting in ``[first_minute, last_minute)``, by kind (``IC_KINDS``)."""
        inside = (self.stays.start >= first_minute) & (self.stays.start < last_minute)
        return {
            name: int(np.count_nonzero(inside & (self.stays.kind == code)))
            for code, name in enumerate(IC_KINDS)
        }


# --------------------------------------------------------------------------------------------
# Durations and eligibility (vectorised, from the caller's uniforms)
# --------------------------------------------------------------------------------------------


def _acute_stay_days(
    cfg: ModelConfig, age_band: np.ndarray, frailty: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Exponential acute length of stay (days) by inverse CDF: ``-mean ln(1 - u)``."""
    adm = cfg.assumptions.admissions
    by_age = np.array([adm.length_of_stay_days_by_age[b] for b in AGE_BANDS], dtype=np.float64)
    by_frailty = np.array([adm.frailty_stay_multiplier[b] for b in FRAILTY_BANDS], dtype=np.float64)
    # Under 65s are not assessed for frailty and stay like the fit.
    mean = by_age[age_band] * by_frailty[np.maximum(frailty, 0)]
    return -mean * np.log1p(-u)


def _step_down_eligible(
    cfg: ModelConfig,
    age_band: np.ndarray,
    frailty: np.ndarray,
    u_step_down: np.ndarray,
    stay_days: np.ndarray,
) -> np.ndarray:
    """Frail (moderate/severe) 65+ admissions offered step-down whose stay exceeds the saving."""
    ic = cfg.assumptions.intermediate_care
    return (
        (age_band >= FIRST_OLDER_BAND)
        & (frailty >= FIRST_FRAIL_BAND)
        & (u_step_down < ic.step_down_share_of_admissions)
        & (stay_days > ic.step_down_days_saved)
    )


# --------------------------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------------------------


def simulate_admissions_and_ic(
    admissions: AdmissionRequests,
    step_ups: StepUpRequests,
    cfg: ModelConfig,
    run_minutes: float,
    *,
    failed_step_up_source: int = STEP_UP_FAILED,
) -> IntermediateCareResult:
    """Run IC+ (step-up and step-down, one FIFO caseload) and the admissions around it.

    Parameters
    ----------
    admissions
        Admissions from the rest of the model, each with its own uniforms.
    step_ups
        Step-up requests, each with its own uniforms.
    cfg
        Uses ``site.intermediate_care.places``, ``assumptions.intermediate_care`` (stay
        lognormal in days, step-up/step-down max waits in days, step-down share and days
        saved) and ``assumptions.admissions`` (mean acute stay by age in days, frailty
        multipliers).
    run_minutes
        Length of the run (minutes from week 0), used only for ``daily_occupancy``; every
        event, including those after the run, is resolved.
    failed_step_up_source
        ``source`` code given to the admission created when a step-up finds no place in time.

    Returns
    -------
    IntermediateCareResult
        Step-up outcomes, admissions (inputs first, then failed step-ups), IC stays and
        occupancy.

    Notes
    -----
    One queue serves both kinds first come first served: when a place frees it goes to the
    earliest request still waiting, whatever its kind. A request whose deadline passes leaves
    the queue (a step-up is admitted, a step-down goes home from hospital without IC). A place
    freed at exactly a deadline is taken (a wait equal to the limit is within it). Requests at
    the same minute are served step-ups first (in row order), then step-downs.

    A failed step-up's admission uses that step-up's own ``u_stay`` and ``u_step_down``, and
    if it is later stepped down, the IC stay its ``u_ic_stay`` gave (the same person's need).

    Because step-downs may wait longer (7 days by default) than step-ups (2 days), under
    congestion the requests left in the queue are mostly step-downs: FIFO with reneging
    favours the patient kind that waits longer.
    """
    if not run_minutes > 0:
        raise ValueError(f"run_minutes must be positive, got {run_minutes}")
    ic = cfg.assumptions.intermediate_care
    places = int(cfg.site.intermediate_care.places)
    saved = float(ic.step_down_days_saved)
    up_wait = float(ic.step_up_max_wait_days) * MINUTES_PER_DAY
    down_wait = float(ic.step_down_max_wait_days) * MINUTES_PER_DAY
    median, mean = ic.stay_days.median, ic.stay_days.mean

    # Input admissions: everything but the IC-dependent part, vectorised.
    n_adm = len(admissions)
    adm_stay = _acute_stay_days(cfg, admissions.age_band, admissions.frailty, admissions.u_stay)
    adm_eligible = _step_down_eligible(
        cfg, admissions.age_band, admissions.frailty, admissions.u_step_down, adm_stay
    )
    down_rows = np.flatnonzero(adm_eligible)
    down_time = admissions.time[down_rows] + (adm_stay[down_rows] - saved) * MINUTES_PER_DAY
    down_ic = (
        lognormal_from_uniform(admissions.u_ic_stay[down_rows], median, mean) * MINUTES_PER_DAY
    )

    # Step-ups, and what would follow if each were admitted (known in advance: the admission
    # time is the request time + max wait, and its draws are the step-up's own).
    n_up = len(step_ups)
    up_ic = lognormal_from_uniform(step_ups.u_ic_stay, median, mean) * MINUTES_PER_DAY
    fail_time = step_ups.time + up_wait
    fail_stay = _acute_stay_days(cfg, step_ups.age_band, step_ups.frailty, step_ups.u_stay)
    fail_eligible = _step_down_eligible(
        cfg, step_ups.age_band, step_ups.frailty, step_ups.u_step_down, fail_stay
    )
    fail_down_time = fail_time + (fail_stay - saved) * MINUTES_PER_DAY

    # Requests, as plain Python lists (indexing lists is several times faster than numpy
    # scalars in the loop). Ids: step-ups 0..n_up-1, then input step-downs, then step-downs
    # of failed step-ups created as the run goes.
    req_time = step_ups.time.tolist() + down_time.tolist()
    req_deadline = (step_ups.time + up_wait).tolist() + (down_time + down_wait).tolist()
    req_ic = up_ic.tolist() + down_ic.tolist()
    req_state = [_PENDING] * len(req_time)
    req_start = [math.nan] * len(req_time)
    # For step-downs of failed step-ups: the step-up row (admission rows are assigned later).
    dyn_step_up: list[int] = []
    fail_eligible_l = fail_eligible.tolist()
    fail_down_time_l = fail_down_time.tolist()

    heap = [(t, _REQUEST, r) for r, t in enumerate(req_time)]
    census_time = np.arange(CENSUS_MINUTES / 2, run_minutes, CENSUS_MINUTES)
    census = [0] * len(census_time)
    heap += [(t, _CENSUS, k) for k, t in enumerate(census_time.tolist())]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    queue: deque[int] = deque()
    free = places

    while heap:
        t, what, r = pop(heap)
        if what == _CENSUS:
            census[r] = places - free
        elif what == _DEPART:
            # The place goes to the earliest request still waiting; expired requests are
            # dropped from the front lazily (their expiry event already resolved them).
            while queue:
                q = queue.popleft()
                if req_state[q] == _WAITING:
                    req_state[q] = _STARTED
                    req_start[q] = t
                    push(heap, (t + req_ic[q], _DEPART, q))
                    break
            else:
                free += 1
        elif what == _REQUEST:
            if free > 0:
                free -= 1
                req_state[r] = _STARTED
                req_start[r] = t
                push(heap, (t + req_ic[r], _DEPART, r))
            else:
                req_state[r] = _WAITING
                queue.append(r)
                push(heap, (req_deadline[r], _EXPIRE, r))
        elif req_state[r] == _WAITING:  # expiry of a request still in the queue
            req_state[r] = _EXPIRED
            if r < n_up and fail_eligible_l[r]:
                # Admitted instead; this admission may itself ask for a step-down later.
                new = len(req_time)
                req_time.append(fail_down_time_l[r])
                req_deadline.append(fail_down_time_l[r] + down_wait)
                req_ic.append(req_ic[r])  # the same person's IC need
                req_state.append(_PENDING)
                req_start.append(math.nan)
                dyn_step_up.append(r)
                push(heap, (req_time[-1], _REQUEST, new))

    state = np.array(req_state, dtype=np.int8)
    start = np.array(req_start, dtype=np.float64)
    times = np.array(req_time, dtype=np.float64)
    ic_minutes = np.array(req_ic, dtype=np.float64)

    # Step-up outcomes.
    up_started = state[:n_up] == _STARTED
    up_failed = state[:n_up] == _EXPIRED
    failed_rows = np.flatnonzero(up_failed)
    n_fail = len(failed_rows)
    up_admission = np.full(n_up, -1, dtype=np.int64)
    up_admission[failed_rows] = n_adm + np.arange(n_fail)

    # Admissions: inputs then failed step-ups (in step-up row order).
    total = n_adm + n_fail
    stay = np.concatenate((adm_stay, fail_stay[failed_rows]))
    requested = np.concatenate((adm_eligible, fail_eligible[failed_rows]))
    # Admission row of every step-down request id n_up.. (input ones, then dynamic ones).
    down_adm = np.concatenate(
        (down_rows, up_admission[np.array(dyn_step_up, dtype=np.int64)])
    ).astype(np.int64)
    down_state = state[n_up:]
    down_started = down_state == _STARTED
    down_wait_days = np.where(
        down_started, (start[n_up:] - times[n_up:]) / MINUTES_PER_DAY, down_wait / MINUTES_PER_DAY
    )
    stepped_down = np.zeros(total, dtype=bool)
    stepped_down[down_adm] = down_started
    wait_days = np.zeros(total)
    wait_days[down_adm] = down_wait_days
    bed_days = np.where(requested, stay - saved + wait_days, stay)
    adm_time = np.concatenate((admissions.time, fail_time[failed_rows]))
    admission_out = AdmissionOutcomes(
        time=adm_time,
        age_band=np.concatenate((admissions.age_band, step_ups.age_band[failed_rows])),
        frailty=np.concatenate((admissions.frailty, step_ups.frailty[failed_rows])),
        stay_days=stay,
        bed_days=bed_days,
        step_down_requested=requested,
        stepped_down=stepped_down,
        step_down_wait_days=wait_days,
        discharge_time=adm_time + bed_days * MINUTES_PER_DAY,
        source=np.concatenate(
            (admissions.source, np.full(n_fail, failed_step_up_source, dtype=np.int8))
        ),
        from_step_up=np.concatenate((np.full(n_adm, -1, dtype=np.int64), failed_rows)),
    )

    # IC stays, sorted by start (ties by request id, which is deterministic).
    started_ids = np.flatnonzero(state == _STARTED)
    order = np.argsort(start[started_ids], kind="stable")
    started_ids = started_ids[order]
    is_up = started_ids < n_up
    # Step-up stays point at the step-up row, step-down stays at the admission row.
    row = started_ids.astype(np.int64)
    row[~is_up] = down_adm[started_ids[~is_up] - n_up]
    stays = IcStays(
        start=start[started_ids],
        end=start[started_ids] + ic_minutes[started_ids],
        kind=np.where(is_up, STEP_UP, STEP_DOWN).astype(np.int8),
        index=row,
    )

    return IntermediateCareResult(
        step_ups=StepUpOutcomes(
            started=up_started,
            start_time=start[:n_up].copy(),
            admitted_instead=up_failed,
            admission=up_admission,
        ),
        admissions=admission_out,
        stays=stays,
        census_time=census_time,
        census_in_use=np.array(census, dtype=np.int64),
        places=places,
        run_minutes=float(run_minutes),
    )
