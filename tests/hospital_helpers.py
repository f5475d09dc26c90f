"""Hand-built patients for the hospital's tests: attendances, direct admissions, step-ups and
every random quantity given in exact minutes, so each expected minute can be written down."""

from __future__ import annotations

from typing import Any

import numpy as np
from conftest import configure

from sim.config.schema import ModelConfig
from sim.services.hospital.arrivals import Attendances, HospitalArrivals, Requests
from sim.services.hospital.discharge import HOME
from sim.services.hospital.model import HospitalResult, PatientDraws, run_hospital

DAY = 1440.0
ED = "site.emergency_department"

#: A hospital with nothing in the way unless a test asks: ample spaces, clinicians and beds,
#: no SDEC, no background admissions, discharges the moment a stay ends.
OPEN_HOSPITAL: dict[str, Any] = {
    f"{ED}.majors_spaces": 1000,
    f"{ED}.sdec.spaces": 0,
    "site.acute_beds.general_and_acute": 100_000,
    "site.acute_beds.background_admissions_per_week": 0,
    "site.acute_beds.escalation_spaces": 0,
    "assumptions.discharge.senior_review_minute": None,
    "assumptions.discharge.open_minute": 0,
    "assumptions.discharge.close_minute": 1440,
}


def hospital_model(data: dict[str, Any], overrides: dict[str, Any] | None = None) -> ModelConfig:
    """The real configuration with :data:`OPEN_HOSPITAL`, then ``overrides``."""
    return configure(data, {**OPEN_HOSPITAL, **(overrides or {})}).model


def _col(x, default, n, dtype=float) -> np.ndarray:
    if x is None:
        return np.full(n, default, dtype=dtype)
    return np.broadcast_to(np.asarray(x, dtype=dtype), (n,)).copy()


def attendances(time, majors=None, ambulance=None, age_band=None, frailty=None) -> Attendances:
    time = np.asarray(time, dtype=float)
    n = len(time)
    amb = _col(ambulance, False, n, bool)
    return Attendances(
        time=time,
        age_band=_col(age_band, 3, n, np.int8),
        frailty=_col(frailty, -1, n, np.int8),
        ambulance=amb,
        majors=_col(majors, False, n, bool) | amb,
        primary_care_treatable=np.zeros(n, bool),
        may_leave=np.zeros(n, bool),
        admit_probability=np.zeros(n),
        key=np.arange(n, dtype=np.uint64),
        source=np.zeros(n, np.int8),
        episode=np.full(n, -1, np.int64),
        via=np.full(n, -1, np.int8),
    )


def requests(time) -> Requests:
    time = np.asarray(time, dtype=float)
    n = len(time)
    return Requests(
        time=time,
        age_band=np.full(n, 6, np.int8),
        frailty=np.full(n, 2, np.int8),
        key=np.arange(10_000, 10_000 + n, dtype=np.uint64),
        episode=np.arange(n, dtype=np.int64),
        source=np.zeros(n, np.int8),
    )


def run(
    model: ModelConfig,
    att: Attendances,
    *,
    direct=None,
    step_ups=None,
    background=(),
    admitted=None,
    service=30.0,
    after=10.0,
    leave_by=None,
    handover=0.0,
    sdec=60.0,
    stay=60.0,
    same_day=False,
    organise=0.0,
    pathway=HOME,
    place=0.0,
    step_up_stay=0.0,
    run_minutes=3 * DAY,
    weekly=None,
) -> HospitalResult:
    """Run the hospital on hand-built patients; per-row draws cover attendances, then direct
    admissions, then step-ups, then background admissions (scalars apply to all).
    ``weekly``: the configuration of each week (capacities phasing in), default ``model``."""
    direct = requests([]) if direct is None else direct
    step_ups = requests([]) if step_ups is None else step_ups
    n_ae = len(att)
    rows = n_ae + len(direct) + len(step_ups) + len(background)
    same = _col(same_day, False, rows, bool)
    draws = PatientDraws(
        admitted=_col(admitted, False, n_ae, bool),
        front_of_house=np.zeros(n_ae, bool),
        service=_col(service, 30.0, n_ae),
        after=_col(after, 10.0, n_ae),
        leave_by=_col(leave_by, np.inf, n_ae),
        handover=_col(handover, 0.0, n_ae),
        sdec=_col(sdec, 60.0, n_ae),
        stay=_col(stay, 60.0, rows),
        same_day=same,
        overnight=~same,
        organise=_col(organise, 0.0, rows),
        pathway=_col(pathway, HOME, rows, np.int8),
        place=_col(place, 0.0, rows),
        step_up_stay=_col(step_up_stay, 0.0, len(step_ups)),
        background_time=np.asarray(background, dtype=float),
    )
    arrivals = HospitalArrivals(att, direct, step_ups)
    return run_hospital(arrivals, draws, model, run_minutes, weekly)
