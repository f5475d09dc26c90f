"""Configuration schemas and validation.

The model is configured by plain data (YAML composed by Hydra in the entry point). This module
turns that data into frozen-in-spirit dataclasses and refuses anything it does not understand,
naming the key, the value and the rule. It never imports Hydra: the core can be driven from a
dict in tests or notebooks.

Units are stated on every field: minutes, days, per 1,000 registered patients, £ at 2024/25
prices. Source keys (``[PCNDES22]`` etc.) live beside the default values in ``conf/``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

AGE_BANDS: tuple[str, ...] = (
    "0-4",
    "5-14",
    "15-24",
    "25-44",
    "45-64",
    "65-74",
    "75-84",
    "85+",
)
#: Index of the first age band counted as "65 and over" (frailty is only assessed there).
FIRST_OLDER_BAND = AGE_BANDS.index("65-74")
FRAILTY_BANDS: tuple[str, ...] = ("fit", "mild", "moderate", "severe")
#: Moderate eFI or worse counts as frail: the first band of the frail (``frailty >= this``),
#: the group frailty services (rapid assessment, the frail weekend GP service, the frailty
#: front of house, step-down to IC+) are for [CLEGG16].
FIRST_FRAIL_BAND = FRAILTY_BANDS.index("moderate")
URGENCIES: tuple[str, ...] = ("urgent", "soon", "routine")
STAFF_NEEDS: tuple[str, ...] = ("gp", "nurse", "pharmacist", "any")
STAFF_TYPES: tuple[str, ...] = ("gp", "nurse", "pharmacist")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Actions a need can take when its practice has no slot within its target time.
NO_SLOT_ACTIONS: tuple[str, ...] = ("book_later", "callback_next_day", "nhs111", "ae", "give_up")
#: Where an urgent need arising while practices are shut goes, if it does not wait.
OUT_OF_HOURS_ROUTES: tuple[str, ...] = ("nhs111", "ae")
NHS111_DISPOSITIONS: tuple[str, ...] = ("self_care", "pharmacy", "primary_care", "ae", "ambulance")
RAC_OUTCOMES: tuple[str, ...] = ("home", "intermediate_care", "admission")
#: Activity with a national unit cost (``assumptions.unit_costs``), counted by sim.core.money.
ACTIVITY_UNIT_COSTS: tuple[str, ...] = (
    "nhs111_contact",
    "pharmacy_consultation",
    "out_of_hours_gp_case",
    "ambulance_conveyance",
    "ae_attendance_minor",
    "ae_attendance",
    "admission_short_stay",
    "admission_long_stay",
    "bed_day",
    "sdec_attendance",
)
#: Longest programme the population and workforce inputs are checked for (years of 52 weeks).
MAX_PROGRAMME_YEARS = 10
#: Who gets a free IC+ place first when both step-up and step-down requests are waiting.
IC_PRIORITIES: tuple[str, ...] = ("first_come_first_served", "step_down_first", "step_up_first")
#: Whether a calibration target was used to tune the model or held out to test it.
CALIBRATION_ROLES: tuple[str, ...] = ("fitted", "held_out")
#: What a background (elective or other) admission does when no acute bed is free.
BACKGROUND_WHEN_FULL: tuple[str, ...] = ("wait", "cancel")

SHARE_TOLERANCE = 1e-3


class ConfigError(ValueError):
    """A user's configuration mistake: names the key, the offending value and the rule."""

    def __init__(self, key: str, value: Any, rule: str, file: str | None = None):
        self.key, self.value, self.rule, self.file = key, value, rule, file
        where = f" (in {file})" if file else ""
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"{key} = {shown}: {rule}{where}")


# --------------------------------------------------------------------------------------------
# Field helpers: metadata carries the validation rule so the schema reads as documentation.
# --------------------------------------------------------------------------------------------


def _f(default: Any = dataclasses.MISSING, **rule: Any) -> Any:
    if isinstance(default, (dict, list)):
        value = default
        return field(default_factory=lambda: typing.cast(Any, _copy(value)), metadata=rule)
    if default is dataclasses.MISSING:
        return field(metadata=rule)
    return field(default=default, metadata=rule)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def nonneg(default: Any = dataclasses.MISSING) -> Any:
    return _f(default, min=0)


def positive(default: Any = dataclasses.MISSING) -> Any:
    return _f(default, min_exclusive=0)


def probability(default: Any = dataclasses.MISSING) -> Any:
    return _f(default, min=0, max=1)


def shares(keys: tuple[str, ...] | None, default: Any = dataclasses.MISSING) -> Any:
    """A mapping of non-negative shares summing to 1 (keys fixed when ``keys`` is given)."""
    return _f(default, shares=True, keys=keys)


def profile(length: int, *, sums_to_one: bool, default: Any = dataclasses.MISSING) -> Any:
    """A list of non-negative numbers of fixed length (an hour, weekday or month profile)."""
    return _f(default, length=length, sums_to_one=sums_to_one, min=0)


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------


@dataclass
class StaffCapacity:
    """Clinical capacity of one staff type, per practice, expressed per 1,000 patients."""

    # Upper limits: well beyond any real practice (England's mean is about 0.45 GP FTE per
    # 1,000), low enough that the slots they lay out fit in memory.
    fte_per_1000: float = _f(min=0, max=10)  # whole-time equivalents per 1,000 patients
    sessions_per_fte_week: float = _f(min=0, max=21)  # clinical sessions per FTE per week
    slots_per_session: int = _f(min=0, max=100)  # bookable appointments per session
    weeks_available_per_year: float = _f(min=0, max=52)  # weeks worked net of leave/training


@dataclass
class Session:
    """A half-day clinic: start and end in minutes after midnight."""

    start_minute: int = _f(min=0, max=1440)
    end_minute: int = _f(min=0, max=1440)


@dataclass
class PracticeCapacity:
    """Rules shared by every practice's appointment book (overridable per practice)."""

    gp: StaffCapacity
    nurse: StaffCapacity
    pharmacist: StaffCapacity
    # Relative weight of clinical sessions Mon..Sun; practices staff Mondays more heavily.
    # Days outside core hours get no sessions whatever their weight.
    weekday_weight: list[float] = profile(7, sums_to_one=False)
    sessions: list[Session] = _f(min_length=1)  # session times on a working day
    on_the_day_share: float = probability()  # share of slots released only on the day
    booking_horizon_days: int = _f(min=0, max=365)  # how far ahead pre-bookable slots open
    # Sessions must lie within core hours, unless this says practices also see patients
    # before opening or after closing (extended hours): requests still arise only in core
    # hours, so later sessions only add bookable slots.
    sessions_outside_core_hours: bool = False


@dataclass
class CoreHours:
    """When practices take requests: Mon-Fri 08:00-18:30 by contract."""

    open_minute: int = _f(min=0, max=1440)
    close_minute: int = _f(min=0, max=1440)
    weekdays: list[str] = _f(min_length=1, choices=WEEKDAYS)


@dataclass
class ProtectedLearningTime:
    """A monthly afternoon when practices close to patients for training: the
    ``week_of_month``-th ``weekday`` of each month listed, from ``closes_minute``."""

    weekday: str = _f(choices=WEEKDAYS)
    week_of_month: int = _f(min=1, max=5)
    closes_minute: int = _f(min=0, max=1440)  # minutes after midnight
    months: list[int] = _f(list(range(1, 13)), min=1, max=12)


#: Bank holiday calendars (the ``holidays`` library's UK subdivisions), or none.
BANK_HOLIDAY_CALENDARS: tuple[str, ...] = ("ENG", "WLS", "SCT", "NIR", "none")


@dataclass
class Locality:
    title: str
    age_share: dict[str, float] | None = shares(AGE_BANDS, default=None)
    # Registered patients by age band and programme year relative to year 1, for this
    # locality's practices; bands not given follow the site's ``population_index``
    population_index: dict[str, list[float]] | None = _f(None, keys_subset=AGE_BANDS, min=0)


@dataclass
class Practice:
    name: str
    locality: str
    list_size: int = nonneg()  # registered patients
    age_share: dict[str, float] | None = shares(AGE_BANDS, default=None)
    # This practice's own population index by band (as the site's); bands not given follow
    # its locality's, then the site's
    population_index: dict[str, list[float]] | None = _f(None, keys_subset=AGE_BANDS, min=0)
    # Optional absolute FTE overrides (otherwise fte_per_1000 x list size)
    gp_fte: float | None = _f(None, min=0, max=1000)
    nurse_fte: float | None = _f(None, min=0, max=1000)
    pharmacist_fte: float | None = _f(None, min=0, max=1000)


@dataclass
class Hubs:
    """Locality hubs (extended access): one pooled appointment book per locality."""

    # clinical minutes per 1,000 patients per week (at most a week's minutes)
    minutes_per_1000_per_week: float = _f(min=0, max=10080)
    slot_minutes: int = _f(min_exclusive=0, max=1440)  # length of one hub appointment
    # Opening windows per weekday (mon..sun); a missing or empty day is closed
    opening: dict[str, list[Session]] = _f(keys_subset=WEEKDAYS)
    on_the_day_share: float = probability()
    booking_horizon_days: int = _f(min=0, max=365)
    running_cost_per_slot_gbp: float = nonneg()  # paid per slot offered, used or not


@dataclass
class FrailWeekendService:
    """Federation weekend GP service for frail patients and care-home residents [NDPCS]:
    one pooled book per locality, open when practices are shut."""

    minutes_per_1000_65plus_per_week: float = _f(0.0, min=0, max=10080)  # per 1,000 aged 65+
    slot_minutes: int = _f(30, min_exclusive=0, max=1440)
    opening: dict[str, list[Session]] = _f({}, keys_subset=WEEKDAYS)
    running_cost_per_slot_gbp: float = nonneg(0.0)


@dataclass
class UrgentTreatmentCentre:
    """A GP-led urgent treatment centre (UTC) for the registered patients of some localities:
    open at least 12 hours a day, every day, for patients booked by NHS 111 and for walk-ins,
    minor injuries and illnesses, all ages [NHSE-UTC23]. Not commissioned while ``clinicians``
    is 0 (a site's existing UTCs are inside its A&E figures)."""

    title: str = "Urgent treatment centre"
    localities: list[str] = _f([])  # whose registered patients it serves (its catchment)
    opening: dict[str, list[Session]] = _f({}, keys_subset=WEEKDAYS)
    clinicians: int = nonneg(0)  # GPs and advanced practitioners on duty whenever it is open
    slot_minutes: int = positive(20)  # one assessment and treatment
    # Share of its slots taken by the patients the model represents (those who would otherwise
    # have gone to A&E); the rest see demand the model does not generate
    share_of_slots_for_ae_substitutes: float = probability(0.2)
    running_cost_per_open_hour_gbp: float = nonneg(0.0)


@dataclass
class RapidAssessmentSite:
    title: str
    sessions_per_weekday: dict[str, int] = _f(keys_subset=WEEKDAYS, min=0, max=10_000)  # a day
    slots_per_session: int = _f(min=0, max=100)
    session_start_minute: int = _f(min=0, max=1440)
    session_end_minute: int = _f(min=0, max=1440)


@dataclass
class RapidAssessment:
    """Rapid assessment clinics for frail older people, booked through a single point of access."""

    sites: dict[str, RapidAssessmentSite] = _f()
    running_cost_per_session_gbp: float = nonneg()


@dataclass
class IntermediateCareCapacity:
    places: int = _f(min=0, max=100_000)  # caseload capacity (people at once), 24/7
    running_cost_per_place_day_gbp: float = nonneg()


@dataclass
class FrailtyFrontOfHouse:
    enabled: bool = False
    open_minute: int = _f(0, min=0, max=1440)
    close_minute: int = _f(1440, min=0, max=1440)
    weekdays: list[str] = _f(list(WEEKDAYS), choices=WEEKDAYS)
    # Team members on duty while it is open, each giving one comprehensive geriatric
    # assessment (CGA) at a time; 0: nobody is assessed
    clinicians: int = _f(0, min=0, max=1000)
    # One CGA (minutes); every configuration that enables the team sets it
    assessment_minutes: Lognormal = field(default_factory=lambda: Lognormal(60.0, 75.0))
    # Of the would-be admissions the team has assessed by the decision to admit, the share
    # it can turn round (sent home with support instead of admitted)
    turnaround_share: float = probability(0.0)
    # Of those turned round, the share sent home with no IC+ place; the rest need a free IC+
    # place (step-up) at the decision, or are admitted as before
    home_without_place_share: float = probability(0.0)
    running_cost_per_clinician_hour_gbp: float = nonneg(0.0)  # per team member per hour open


@dataclass
class SameDayEmergencyCare:
    """Same-day emergency care (SDEC): patients the A&E decides to admit for a same-day stay
    are treated here instead of in an acute bed, while it is open and has a free space."""

    spaces: int = nonneg(0)  # trolleys and chairs
    open_minute: int = _f(0, min=0, max=1440)
    close_minute: int = _f(0, min=0, max=1440)
    weekdays: list[str] = _f(list(WEEKDAYS), choices=WEEKDAYS)
    running_cost_per_hour_gbp: float = nonneg(0.0)  # staffing while open


@dataclass
class EmergencyDepartment:
    """One type 1 A&E department serving the site."""

    title: str
    # Clinicians on duty in each hour of the day (00..23), every day of the week
    minors_clinicians_by_hour: list[int] = profile(24, sums_to_one=False)
    majors_clinicians_by_hour: list[int] = profile(24, sums_to_one=False)
    # Cubicles and trolley spaces of the majors stream (resuscitation bays included); an
    # ambulance crew waits with its patient while none is free
    majors_spaces: int = nonneg()
    frailty_front_of_house: FrailtyFrontOfHouse = _f()
    sdec: SameDayEmergencyCare = _f()


@dataclass
class AcuteBeds:
    """General and acute (G&A) beds of the hospital the A&E admits to."""

    general_and_acute: int = nonneg()  # beds open
    # Admissions the model does not generate (elective and other admissions), per week
    background_admissions_per_week: float = nonneg()
    running_cost_per_bed_day_gbp: float = nonneg(0.0)  # hotel and nursing, per bed open
    # Full-capacity protocol: an emergency patient waiting escalate_after_hours for a bed moves
    # to one of escalation_spaces extra spaces on the wards until a bed frees (0: none)
    escalation_spaces: int = nonneg(0)
    escalate_after_hours: float = positive(12.0)


@dataclass
class SocialCareCapacity:
    """Discharge-to-assess and social care places for people leaving hospital (home care
    packages and care-home assessment beds), held for the assessment period."""

    places: int = nonneg()
    running_cost_per_place_day_gbp: float = nonneg(0.0)


@dataclass
class Site:
    name: str
    title: str
    calendar_start: str  # ISO date of the Monday that starts week 0
    age_share: dict[str, float] = shares(AGE_BANDS)  # default age mix of registered lists
    frailty_share_65plus: dict[str, float] = shares(FRAILTY_BANDS)  # eFI bands among 65+
    localities: dict[str, Locality] = _f(min_length=1)
    practices: dict[str, Practice] = _f(min_length=1)
    core_hours: CoreHours = _f()
    practice_capacity: PracticeCapacity = _f()
    hubs: Hubs = _f()
    frail_weekend_service: FrailWeekendService = _f()
    rapid_assessment: RapidAssessment = _f()
    intermediate_care: IntermediateCareCapacity = _f()
    emergency_department: EmergencyDepartment = _f()
    acute_beds: AcuteBeds = _f()
    social_care: SocialCareCapacity = _f()
    urgent_treatment_centre: UrgentTreatmentCentre = field(default_factory=UrgentTreatmentCentre)
    # Weekday bank holidays close practices, hubs and clinics (GMS core hours exclude them)
    bank_holidays: str = _f("ENG", choices=BANK_HOLIDAY_CALENDARS)
    protected_learning_time: ProtectedLearningTime | None = None
    # Registered patients in each age band in programme years 1, 2, ... relative to year 1
    # (year 1 is the list sizes above, so its index is 1). Years of 52 weeks after the warm-up.
    population_index: dict[str, list[float]] = _f(
        {b: [1.0] for b in AGE_BANDS}, keys=AGE_BANDS, min=0
    )


@dataclass
class Demand:
    """Episodes of need: how many, when they arise, and what they need."""

    episodes_per_person_year: dict[str, float] = _f(keys=AGE_BANDS, min=0)
    scale: float = nonneg()  # multiplies every age rate (calibration lever)
    weekday_share: list[float] = profile(7, sums_to_one=True)  # Mon..Sun share of a week's needs
    hour_share_weekday: list[float] = profile(24, sums_to_one=True)  # hour of day, Mon-Fri
    hour_share_weekend: list[float] = profile(24, sums_to_one=True)  # hour of day, Sat-Sun
    month_multiplier: list[float] = profile(12, sums_to_one=False)  # Jan..Dec, mean about 1
    urgency_share: dict[str, float] = shares(URGENCIES)
    # Older patients' needs are more often urgent; multiplies the urgent share for 65+.
    urgent_share_multiplier_65plus: float = nonneg()
    staff_need_share: dict[str, float] = shares(STAFF_NEEDS)
    # Earliest day a routine need will accept, as offsets in days from the request.
    routine_earliest_day_share: dict[str, float] = shares(None)
    # Change in needs per person each programme year after the first (0.01 = +1% a year,
    # compounding), on top of population change
    per_person_trend_per_year: float = _f(0.0, min=-0.5, max=0.5)
    # When a need that arose while practices were shut asks its practice: share in each hour
    # of the next working day from opening (the last may be part of an hour); default: at once
    waiting_request_hour_share: list[float] = _f([1.0], min=0, min_length=1, sums_to_one=True)
    # Winter acuity: relative share of needs that are urgent, Jan..Dec (scaled in the model so
    # the year's urgent share stays urgency_share.urgent)
    urgent_share_month_multiplier: list[float] = profile(12, sums_to_one=False, default=[1.0] * 12)


@dataclass
class NoSlotRule:
    """What a need does when no slot is found within its target time (shares sum to 1)."""

    book_later: float = probability(0.0)  # accept the practice's earliest slot, however late
    callback_next_day: float = probability(0.0)  # ring again at the next opening
    nhs111: float = probability(0.0)  # call NHS 111
    ae: float = probability(0.0)  # go to A&E
    give_up: float = probability(0.0)  # unmet need

    def total(self) -> float:
        return self.book_later + self.callback_next_day + self.nhs111 + self.ae + self.give_up


@dataclass
class Booking:
    min_notice_minutes: int = _f(min=0, max=1440)  # a same-day slot starts at least this after
    target_days: dict[str, int] = _f(keys=URGENCIES, min=0, max=365)  # urgent 0, soon 2, ...
    no_slot: dict[str, NoSlotRule] = _f(keys=URGENCIES)
    max_callbacks: int = _f(min=0, max=100)  # after this many failed call-backs it gives up
    urgent_out_of_hours_waits_share: float = probability()  # urgent OOH needs that wait anyway
    # Where urgent out-of-hours needs that do not wait go (NHS 111 or straight to A&E)
    out_of_hours_route: dict[str, float] = shares(
        OUT_OF_HOURS_ROUTES, default={"nhs111": 1.0, "ae": 0.0}
    )
    # When a practice has no slot in time and its locality hub has one, the share of needs
    # offered the hub slot (the rest follow the no-slot rules directly)
    hub_offer_share: float = probability(1.0)


@dataclass
class DidNotAttend:
    """DNA probability as a step function of booking lead time in days."""

    lead_days_upper: list[int] = _f(min=0, min_length=1)  # upper bound of each lead-time band
    probability: list[float] = _f(min=0, max=1, min_length=1)  # one more than the bounds
    reminder_cost_per_booking_gbp: float = nonneg(0.0)  # text-message reminders, per booking
    # Text reminders, sent this long before a booked practice or hub appointment (none when
    # booked later than that): the share of patients who would have missed it that act on the
    # reminder; of those, the share who cancel ahead (the rest come); of the cancellers, the
    # share who book again (the rest no longer need it)
    # (``probability`` is a field of this class, so the share rule is written out)
    reminder_response_share: float = _f(0.0, min=0, max=1)
    reminder_cancel_share: float = _f(0.5, min=0, max=1)
    reminder_rebook_share: float = _f(0.5, min=0, max=1)
    reminder_hours_before: float = _f(24.0, min=0, max=24 * 14)


@dataclass
class Lognormal:
    """A positive duration given by its median and mean (mean >= median)."""

    median: float = _f(min_exclusive=0, max=1e6)
    mean: float = _f(min_exclusive=0, max=1e6)


@dataclass
class HubUse:
    accept_share_by_age: dict[str, float] = _f(keys=AGE_BANDS, min=0, max=1)  # take an offered slot
    dna_probability: float = probability()
    # Share of soon and routine needs who would rather be seen evenings or weekends and ask
    # for a hub slot first (then the usual acceptance by age applies)
    prefer_hub_share_non_urgent: float = probability(0.0)


@dataclass
class Nhs111:
    # Disposition of calls from urgent needs arising while practices are shut (acute needs)
    disposition: dict[str, float] = shares(NHS111_DISPOSITIONS)
    minutes_to_ae: float = _f(min=0, max=10080)  # from the call to arriving at A&E
    # ... and of calls from needs displaced because no practice or hub slot was found in time
    disposition_displaced: dict[str, float] = shares(NHS111_DISPOSITIONS)


@dataclass
class RapidAssessmentUse:
    # Frail (moderate/severe eFI) urgent needs referred to RAC, by who saw them first
    referral_share_from_practice: float = probability()
    referral_share_from_nhs111: float = probability()  # in place of an A&E disposition
    max_wait_working_days: int = nonneg()
    outcome: dict[str, float] = shares(RAC_OUTCOMES)
    # When no RAC slot is free in time: the share sent to A&E (the rest are admitted directly)
    no_slot_to_ae_share: float = probability()
    # Frail urgent needs at high risk of escalating (referral takes the highest risk first),
    # and the chance such a need that is not assessed ends in A&E within a day
    at_risk_share: float = probability(0.0)
    escalation_probability: float = probability(0.0)


@dataclass
class IntermediateCareUse:
    stay_days: Lognormal = _f()
    step_up_share_from_practice: float = probability()  # frail urgent seen at practice/hub
    step_up_max_wait_days: float = _f(min=0, max=365)  # then admitted instead
    # Frail (moderate/severe) 65+ admissions who leave hospital through an IC+ place; they
    # stay in their bed, medically optimised, until one is free
    step_down_share_of_admissions: float = probability()
    # Who gets a place first when both kinds are waiting (see IC_PRIORITIES)
    priority: str = _f("first_come_first_served", choices=IC_PRIORITIES)


@dataclass
class LeftWithoutBeingSeen:
    """Walk-in patients who leave A&E if not seen in time."""

    patience_minutes: Lognormal = _f()  # how long a patient will wait to be seen
    oldest_age_band: str = _f("65-74", choices=AGE_BANDS)  # older patients do not leave


@dataclass
class AccidentEmergency:
    self_presenting_per_1000_year: dict[str, float] = _f(keys=AGE_BANDS, min=0)
    weekday_share: list[float] = profile(7, sums_to_one=True)
    hour_share: list[float] = profile(24, sums_to_one=True)
    month_multiplier: list[float] = profile(12, sums_to_one=False)
    ambulance_share: float = probability()  # of self-presenting arrivals
    majors_share_walk_in: float = probability()  # walk-ins streamed to majors
    primary_care_treatable_share_walk_in: float = probability()  # of walk-in minors
    service_minutes: dict[str, Lognormal] = _f(keys=("minors", "majors"))
    after_treatment_minutes: dict[str, Lognormal] = _f(keys=("discharged", "admitted"))
    admission_probability_by_age: dict[str, float] = _f(keys=AGE_BANDS, min=0, max=1)
    frailty_admission_multiplier: dict[str, float] = _f(keys=FRAILTY_BANDS, min=0)
    ambulance_admission_multiplier: float = nonneg()
    displaced_admission_probability: float = probability()  # primary-care needs arriving at A&E
    four_hour_minutes: float = positive()
    # Clinical handover of an ambulance patient once a space is free (the crew's time)
    handover_minutes: Lognormal = _f()
    left_without_being_seen: LeftWithoutBeingSeen = _f()
    # Same-day emergency care: time a patient spends there (minutes)
    sdec_minutes: Lognormal = _f()
    # Urgent needs seen at the practice that the GP sends to A&E, and how much likelier they
    # are to be admitted than self-presenting patients of their age
    gp_referral_share_of_urgent: float = probability(0.0)
    gp_referral_admission_multiplier: float = nonneg(1.0)
    # Distribution of clinician time: "lognormal" (median and mean of service_minutes) or
    # "exponential" (its mean only; for validation against queueing theory, conf/validation/)
    service_distribution: str = _f("lognormal", choices=("lognormal", "exponential"))
    # Self-presenting attendance rate of each eFI band relative to the fit, same age (65+)
    frailty_attendance_ratio: dict[str, float] = _f(
        {b: 1.0 for b in FRAILTY_BANDS}, keys=FRAILTY_BANDS, min=0
    )


@dataclass
class Admissions:
    """Acute length of stay, from admission to medically optimised for discharge."""

    # Share of admissions with a same-day stay (discharged within the day), by age band
    same_day_share_by_age: dict[str, float] = _f(keys=AGE_BANDS, min=0, max=1)
    same_day_hours: Lognormal = _f()  # length of a same-day stay (hours)
    # Overnight stays: mean days for a fit patient, by age band (lognormal)
    length_of_stay_days_by_age: dict[str, float] = _f(keys=AGE_BANDS, min_exclusive=0)
    frailty_stay_multiplier: dict[str, float] = _f(keys=FRAILTY_BANDS, min_exclusive=0)
    # Median of an overnight stay as a share of its mean (the lognormal's spread)
    stay_median_to_mean: float = _f(min_exclusive=0, max=1)
    # Distribution of overnight stays: "lognormal" or "exponential" (its mean only; for
    # validation against queueing theory, conf/validation/)
    stay_distribution: str = _f("lognormal", choices=("lognormal", "exponential"))
    # Overnight stays of emergency admissions by calendar month of arrival, Jan..Dec
    # (winter: older, sicker admissions and slower discharge), rescaled to mean 1 so the
    # year's mean stay is unchanged
    length_of_stay_month_multiplier: list[float] = _f(
        [1.0] * 12, length=12, sums_to_one=False, min_exclusive=0, max=10
    )


@dataclass
class Discharge:
    """Leaving an acute bed once medically optimised."""

    # Discharges happen between these minutes of the day; a patient optimised outside them
    # leaves at the next opening (open == close: any time)
    open_minute: int = _f(min=0, max=1440)
    close_minute: int = _f(min=0, max=1440)
    # Senior review each morning: an overnight stay is found medically optimised at the first
    # review at or after the end of its acute stay (minute of the day; null: at once)
    senior_review_minute: int | None = _f(min=0, max=1439)
    # Organising a discharge home after an overnight stay once medically optimised: medicines
    # to take home, transport, the discharge letter (hours; lognormal)
    organise_home_hours: Lognormal = _f()
    # Admissions aged 65+ who need a home care package or a care-home placement, by eFI band
    social_care_share_65plus: dict[str, float] = _f(keys=FRAILTY_BANDS, min=0, max=1)
    social_care_stay_days: Lognormal = _f()  # days a discharge-to-assess place is held


@dataclass
class BackgroundAdmissions:
    """Elective and other admissions to acute beds that the model does not generate."""

    weekday_share: list[float] = profile(7, sums_to_one=True)  # Mon..Sun
    hour_share: list[float] = profile(24, sums_to_one=True)  # hour of admission
    stay_days: Lognormal = _f()
    # No bed free: wait for one (first come first served with emergencies) or be cancelled
    when_full: str = _f("wait", choices=BACKGROUND_WHEN_FULL)
    # Distribution of stays: "lognormal" or "exponential" (its mean only; for validation)
    stay_distribution: str = _f("lognormal", choices=("lognormal", "exponential"))


@dataclass
class UnitCosts:
    """£ at 2024/25 prices [PSSRU25, NCC2425, NHSBSA_PF]."""

    nhs111_contact: float = nonneg()
    pharmacy_consultation: float = nonneg()
    out_of_hours_gp_case: float = nonneg()
    ambulance_conveyance: float = nonneg()
    ae_attendance: float = nonneg()
    ae_attendance_minor: float = nonneg()
    admission_short_stay: float = nonneg()  # stays under 2 days
    admission_long_stay: float = nonneg()
    sdec_attendance: float = nonneg()  # one same-day emergency care episode
    bed_day: float = nonneg()  # a bed day of delayed discharge (medically optimised)
    short_stay_max_days: float = nonneg()


@dataclass
class StaffPay:
    """What one whole-time equivalent costs the commissioner a year, £ (2024/25)."""

    salary_gbp: float = nonneg()
    on_costs_share: float = _f(min=0, max=2)  # employer NI and pension as a share of salary


@dataclass
class Money:
    """How a board counts money (sim/core/money.py)."""

    # Real discount rate a year for programme totals (HM Treasury Green Book)
    discount_rate: float = _f(min=0, max=0.2)
    staff_pay: dict[str, StaffPay] = _f(keys=STAFF_TYPES)
    locum_day_gbp: dict[str, float] = _f(keys=STAFF_TYPES, min=0)  # £ per locum day (2 sessions)
    # Activity paid per use, so that doing less of it releases cash; the rest of the costed
    # activity is paid through fixed contracts and frees capacity, not cash
    cash_releasing_activity: list[str] = _f([], choices=ACTIVITY_UNIT_COSTS)


@dataclass
class StaffFlows:
    """Leavers and recruitment of one staff type, in whole-time equivalents."""

    attrition_per_year: float = probability()  # share of staff in post leaving each year
    recruitment_lag_weeks: int = _f(min=1, max=260)  # from a post falling vacant to a start
    recruitment_share: float = probability()  # share of vacancies (leavers, new posts) filled
    locum_cover_share: float = probability()  # share of vacant FTE worked by locums


@dataclass
class Workforce:
    gp: StaffFlows = _f()
    nurse: StaffFlows = _f()
    pharmacist: StaffFlows = _f()
    # Share of practice clinicians' sessions lost to sickness, Jan..Dec: the year's sessions
    # (weeks_available_per_year) are spread over the months in proportion to 1 - this
    sickness_absence_by_month: list[float] = _f([0.0] * 12, length=12, min=0, max=0.5)


@dataclass
class Alternative:
    """A route that resolves some needs before they ask the practice for an appointment."""

    share: dict[str, float] = _f(
        {"urgent": 0.0, "soon": 0.0, "routine": 0.0}, keys=URGENCIES, min=0, max=1
    )
    cost_per_use_gbp: float = nonneg(0.0)
    running_cost_annual_gbp: float = nonneg(0.0)


@dataclass
class Alternatives:
    online_consultation: Alternative = _f()  # digital triage resolves the need remotely
    pharmacy_first: Alternative = _f()  # community pharmacy treats the minor illness


@dataclass
class UrgentTreatmentCentreUse:
    """Who an urgent treatment centre sees instead of A&E, while it is open and has a slot
    starting within ``max_wait_minutes``."""

    # of NHS 111's A&E (not ambulance) dispositions for its catchment: booked into the UTC
    nhs111_ae_share: float = probability(0.0)
    # of the catchment's walk-in minors (and needs displaced to A&E): walk in to the UTC
    walk_in_share: float = probability(0.0)
    # of those, sent on to A&E the same day: they go to A&E as before (counted as not diverted)
    onward_ae_share: float = probability(0.0)
    max_wait_minutes: float = nonneg(240.0)


@dataclass
class Assumptions:
    demand: Demand
    booking: Booking
    dna: DidNotAttend
    hubs: HubUse
    nhs111: Nhs111
    rapid_assessment: RapidAssessmentUse
    intermediate_care: IntermediateCareUse
    ae: AccidentEmergency
    admissions: Admissions
    discharge: Discharge
    background_admissions: BackgroundAdmissions
    unit_costs: UnitCosts
    money: Money
    workforce: Workforce
    alternatives: Alternatives = _f()
    urgent_treatment_centre: UrgentTreatmentCentreUse = field(
        default_factory=UrgentTreatmentCentreUse
    )


@dataclass
class Experiment:
    replications: int = _f(min=1, max=10_000)
    warmup_weeks: int = _f(min=0, max=520)
    run_weeks: int = _f(min=1, max=520)
    n_jobs: int = _f()  # joblib convention: -1 = all cores
    ci_level: float = _f(min_exclusive=0, max_exclusive=1)
    name: str = "custom"
    # KPIs whose precision the summary reports, and the automatic mode targets
    headline_kpis: list[str] = _f([])
    # Automatic mode: add replications until every headline KPI's CI half-width is within
    # this share of its mean (e.g. 0.05), or max_replications is reached; null = off
    target_relative_half_width: float | None = _f(None, min_exclusive=0, max_exclusive=1)
    max_replications: int = _f(50, min=1, max=10_000)
    # Memory guard: the run is refused if one replication is estimated to need more than
    # this, and no more replications run at once than fit in it (sim/experiments/memory_guard.py)
    max_memory_gb: float = _f(8.0, min_exclusive=0)


@dataclass
class ScenarioOption:
    """One investment option as read from ``scenarios/<name>.yaml``."""

    title: str
    description: str
    changes: dict[str, Any] = _f({})  # overrides of site.* and assumptions.*
    cost_basis: str = ""
    assumptions: list[str] = _f([])
    incompatible_with: list[str] = _f([])
    # Phasing: weeks after the start of programme year 1 when the option starts, and weeks
    # it takes to reach full effect after that (0 and 0: in place throughout, warm-up included)
    start_week: int = _f(0, min=0, max=52 * MAX_PROGRAMME_YEARS)
    ramp_weeks: int = _f(0, min=0, max=52 * MAX_PROGRAMME_YEARS)
    # An option that changes the population or its demand (see sim/config/scenarios.py,
    # POPULATION_SETTINGS and DEMAND_SETTINGS) must say so; comparisons then state it.
    changes_demand: bool = False


@dataclass
class ModelConfig:
    """Everything one replication needs: the site, the assumptions, the scenario label."""

    site: Site
    assumptions: Assumptions
    scenario: str = "baseline"
    # Options that start later or ramp up (sim.config.phasing.Phasing); None when every
    # option is in place from the start, as site and assumptions above say
    phasing: Any = None


@dataclass
class CalibrationTarget:
    """A published figure the baseline should reproduce within a tolerance."""

    kpi: str
    target: str  # what the figure is, in words
    source: str  # source key and figure
    value: float = _f()
    tolerance: float = nonneg()
    # "fitted": a setting was tuned to reproduce it; "held_out": never tuned to, a test of
    # the model
    role: str = _f(choices=CALIBRATION_ROLES)


@dataclass
class Calibration:
    targets: list[CalibrationTarget] = _f([])


@dataclass
class RunConfig:
    """A validated run: model config plus the experiment design and seed."""

    model: ModelConfig
    experiment: Experiment
    seed: int
    options: dict[str, ScenarioOption]
    calibration: Calibration = field(default_factory=Calibration)


# --------------------------------------------------------------------------------------------
# Strict conversion from plain data
# --------------------------------------------------------------------------------------------

#: Characters no text setting may hold: control characters other than tab and line breaks
#: (DEL and the C1 controls, such as U+0081, included), surrogates, U+FFFE and U+FFFF.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

_SCALARS = {int: "an integer", float: "a number", str: "text", bool: "true or false"}


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # Worked out once per class: get_type_hints evaluates every annotation's text again on
    # each call, and a configuration is validated (a PSA: once per alternative and set).
    # Read only by its callers.
    return typing.get_type_hints(cls)


#: No setting of the model is plausibly larger (list sizes, costs in £ and counts included);
#: larger values would only overflow the model's arithmetic.
LARGEST_VALUE = 1e12


def _check_number_rules(key: str, value: float, rule: dict) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(key, value, "must be a finite number")
    if abs(value) > LARGEST_VALUE:
        raise ConfigError(key, value, f"must be at most {LARGEST_VALUE:g} in size")
    if "min" in rule and value < rule["min"]:
        raise ConfigError(key, value, f"must be >= {rule['min']}")
    if "min_exclusive" in rule and value <= rule["min_exclusive"]:
        raise ConfigError(key, value, f"must be > {rule['min_exclusive']}")
    if "max" in rule and value > rule["max"]:
        raise ConfigError(key, value, f"must be <= {rule['max']}")
    if "max_exclusive" in rule and value >= rule["max_exclusive"]:
        raise ConfigError(key, value, f"must be < {rule['max_exclusive']}")


def _convert(tp: Any, value: Any, key: str, rule: dict) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, key, rule)
    if value is None:
        raise ConfigError(key, value, "is required (no value given)")
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, value, "must be a list")
        (item_tp,) = get_args(tp)
        items = [_convert(item_tp, v, f"{key}[{i}]", _item_rule(rule)) for i, v in enumerate(value)]
        _check_collection_rules(key, items, rule)
        return items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, value, "must be a mapping of name: value")
        _, val_tp = get_args(tp)
        allowed = rule.get("keys") or rule.get("keys_subset")
        if allowed is not None:
            unknown = [k for k in value if k not in allowed]
            if unknown:
                raise ConfigError(
                    f"{key}.{unknown[0]}",
                    value[unknown[0]],
                    f"unknown key; expected one of {list(allowed)}",
                )
        keys = rule.get("keys")
        if keys is not None:
            missing = [k for k in keys if k not in value]
            if missing:
                raise ConfigError(f"{key}.{missing[0]}", None, "is required (no value given)")
        out = {
            str(k): _convert(val_tp, v, f"{key}.{k}", _item_rule(rule)) for k, v in value.items()
        }
        _check_collection_rules(key, list(out.values()), rule, shown=out)
        return out
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, value, "must be a number")
        value = float(value)
        _check_number_rules(key, value, rule)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(key, value, "must be a whole number")
        _check_number_rules(key, value, rule)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, value, "must be true or false")
        return value
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(key, value, "must be text")
        value = str(value)
        odd = _UNPRINTABLE.search(value)
        if odd:
            raise ConfigError(
                key,
                value,
                f"must be printable text: it holds the control character U+{ord(odd[0]):04X} "
                f"at position {odd.start() + 1} (an XML document, such as the Word paper, "
                "cannot hold it)",
            )
        if "choices" in rule and value not in rule["choices"]:
            raise ConfigError(key, value, f"must be one of {list(rule['choices'])}")
        return value
    raise TypeError(f"schema type {tp!r} at {key} is not supported")  # programming error


def _item_rule(rule: dict) -> dict:
    """Rules on a collection that apply to each element."""
    return {k: v for k, v in rule.items() if k in ("min", "max", "min_exclusive", "choices")}


def _check_collection_rules(key: str, items: list, rule: dict, shown: Any = None) -> None:
    """Length and share rules; ``shown`` is what the error displays (a mapping shows its
    category names)."""
    shown = items if shown is None else shown
    if "length" in rule and len(items) != rule["length"]:
        raise ConfigError(
            key, items, f"must have exactly {rule['length']} values, not {len(items)}"
        )
    if "min_length" in rule and len(items) < rule["min_length"]:
        raise ConfigError(key, items, f"must have at least {rule['min_length']} entries")
    if rule.get("shares"):
        for i, v in enumerate(items):
            if not 0 <= v <= 1:
                raise ConfigError(key, shown, f"entry {i} is a share and must lie in [0, 1]")
    if rule.get("shares") or rule.get("sums_to_one"):
        total = sum(items)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ConfigError(key, shown, f"shares must sum to 1 (they sum to {total:.4f})")


def from_dict(cls: type, data: Any, path: str = "") -> Any:
    """Build dataclass ``cls`` from plain data, rejecting unknown keys and bad values."""
    if not isinstance(data, dict):
        raise ConfigError(path or cls.__name__, data, "must be a mapping of key: value")
    hints = _type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k in data:
        if k not in fields:
            where = f"{path}.{k}" if path else str(k)
            raise ConfigError(where, data[k], f"unknown key; expected one of {sorted(fields)}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{path}.{name}" if path else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(key, None, "is required (no value given)")
            continue
        kwargs[name] = _convert(hints[name], data[name], key, dict(f.metadata))
    return cls(**kwargs)


# --------------------------------------------------------------------------------------------
# Cross-field rules
# --------------------------------------------------------------------------------------------


def check_site(site: Site, path: str = "site") -> None:
    for code, p in site.practices.items():
        if p.locality not in site.localities:
            raise ConfigError(
                f"{path}.practices.{code}.locality",
                p.locality,
                f"unknown locality; known localities are {sorted(site.localities)}",
            )
    if sum(p.list_size for p in site.practices.values()) == 0:
        raise ConfigError(f"{path}.practices", "all list sizes 0", "the site has no patients")
    for loc in site.urgent_treatment_centre.localities:
        if loc not in site.localities:
            raise ConfigError(
                f"{path}.urgent_treatment_centre.localities",
                loc,
                f"unknown locality; known localities are {sorted(site.localities)}",
            )
    hours = site.core_hours
    if hours.close_minute <= hours.open_minute:
        raise ConfigError(
            f"{path}.core_hours.close_minute", hours.close_minute, "must be after open_minute"
        )
    weights = site.practice_capacity.weekday_weight
    for day in hours.weekdays:
        if weights[WEEKDAYS.index(day)] <= 0:
            raise ConfigError(
                f"{path}.practice_capacity.weekday_weight",
                weights,
                f"practices open on {day} (core_hours.weekdays) but its weight is 0",
            )
    check_time_windows(site, path)
    try:
        import datetime as _dt

        start = _dt.date.fromisoformat(site.calendar_start)
    except ValueError as err:
        raise ConfigError(
            f"{path}.calendar_start", site.calendar_start, "must be an ISO date (YYYY-MM-DD)"
        ) from err
    if start.weekday() != 0:
        raise ConfigError(
            f"{path}.calendar_start", site.calendar_start, "must be a Monday (week 0 starts Monday)"
        )
    check_population_index(site.population_index, f"{path}.population_index")
    years = len(next(iter(site.population_index.values())))
    overrides = [
        (f"{path}.localities.{name}.population_index", loc.population_index)
        for name, loc in site.localities.items()
    ] + [
        (f"{path}.practices.{code}.population_index", p.population_index)
        for code, p in site.practices.items()
    ]
    for key, table in overrides:
        if table is not None:
            check_population_index(table, key, years)


def check_population_index(
    table: dict[str, list[float]], path: str, years: int | None = None
) -> None:
    """Each band's index starts at 1 (year 1 is the list as given), every band has one value
    a year (``years``: the site's, which a locality's or practice's index must match)."""
    lengths = {len(v) for v in table.values()}
    for band, index in table.items():
        key = f"{path}.{band}"
        if not index or index[0] != 1:
            raise ConfigError(key, index, "year 1 is the list sizes as given: its index must be 1")
        if years is not None and len(index) != years:
            raise ConfigError(
                key,
                index,
                f"needs one value per year, as many as site.population_index gives ({years})",
            )
        if len(lengths) > 1:
            raise ConfigError(
                key, index, f"every age band needs one value per year (lengths {sorted(lengths)})"
            )
        if len(index) > MAX_PROGRAMME_YEARS:
            raise ConfigError(key, index, f"at most {MAX_PROGRAMME_YEARS} years")


def _minute(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def check_windows(windows: list[Session], key: str) -> None:
    """Each window starts before it ends (minutes after midnight, within one day; a window
    past midnight is two windows, one on each day), and no two overlap."""
    for i, w in enumerate(windows):
        if w.end_minute <= w.start_minute:
            raise ConfigError(
                f"{key}[{i}].end_minute",
                w.end_minute,
                f"must be after start_minute ({w.start_minute}, {_minute(w.start_minute)}): a "
                "window is within one day; one past midnight is two windows, one each day",
            )
    ordered = sorted(windows, key=lambda w: w.start_minute)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.start_minute < a.end_minute:
            raise ConfigError(
                key,
                [dataclasses.asdict(w) for w in windows],
                f"windows overlap ({_minute(a.start_minute)}-{_minute(a.end_minute)} and "
                f"{_minute(b.start_minute)}-{_minute(b.end_minute)})",
            )


def check_time_windows(site: Site, path: str = "site") -> None:
    """Every time window of the site: practice sessions (within core hours unless
    ``sessions_outside_core_hours``), hub, weekend-service and urgent treatment centre
    opening, clinic sessions, the frailty team's hours and the A&E rotas."""
    cap, hours = site.practice_capacity, site.core_hours
    check_windows(cap.sessions, f"{path}.practice_capacity.sessions")
    if not cap.sessions_outside_core_hours:
        for i, w in enumerate(cap.sessions):
            if w.start_minute < hours.open_minute or w.end_minute > hours.close_minute:
                raise ConfigError(
                    f"{path}.practice_capacity.sessions[{i}]",
                    dataclasses.asdict(w),
                    f"{_minute(w.start_minute)}-{_minute(w.end_minute)} is outside core hours "
                    f"({_minute(hours.open_minute)}-{_minute(hours.close_minute)}); set "
                    f"{path}.practice_capacity.sessions_outside_core_hours: true if practices "
                    "do see patients then",
                )
    for service in ("hubs", "frail_weekend_service", "urgent_treatment_centre"):
        for day, windows in getattr(site, service).opening.items():
            check_windows(windows, f"{path}.{service}.opening.{day}")
    for name, clinic in site.rapid_assessment.sites.items():
        if clinic.session_end_minute <= clinic.session_start_minute:
            raise ConfigError(
                f"{path}.rapid_assessment.sites.{name}.session_end_minute",
                clinic.session_end_minute,
                f"must be after session_start_minute ({clinic.session_start_minute}, "
                f"{_minute(clinic.session_start_minute)})",
            )
    foh = site.emergency_department.frailty_front_of_house
    if foh.close_minute == foh.open_minute:
        raise ConfigError(
            f"{path}.emergency_department.frailty_front_of_house.close_minute",
            foh.close_minute,
            "must differ from open_minute (the team would never be there; to do without it "
            "set enabled: false; a close_minute before open_minute is an overnight team)",
        )
    ed = site.emergency_department
    for stream in ("minors", "majors"):
        rota = getattr(ed, f"{stream}_clinicians_by_hour")
        if max(rota) > 10_000:
            raise ConfigError(
                f"{path}.emergency_department.{stream}_clinicians_by_hour",
                rota,
                "must be at most 10,000 clinicians in an hour",
            )


def check_emergency_rotas(site: Site, a: Assumptions, path: str = "site") -> None:
    """A stream of A&E that patients can reach has a clinician in at least one hour (else its
    patients would wait for ever). An empty rota is fine for a stream nobody reaches, as in
    the M/M/c validation (conf/validation/mmc_ae.yaml), where every attendance is a minor."""
    ae, demand = a.ae, a.demand.scale > 0 and any(a.demand.episodes_per_person_year.values())
    walk_ins = any(ae.self_presenting_per_1000_year.values())
    reach = {
        "majors": (walk_ins and (ae.ambulance_share > 0 or ae.majors_share_walk_in > 0))
        or (demand and ae.majors_share_walk_in > 0)
        or (
            demand
            and (
                a.nhs111.disposition["ambulance"] > 0
                or a.rapid_assessment.no_slot_to_ae_share > 0
                or a.rapid_assessment.escalation_probability > 0
                or ae.gp_referral_share_of_urgent > 0
            )
        ),
        "minors": demand or (walk_ins and ae.ambulance_share < 1 and ae.majors_share_walk_in < 1),
    }
    for stream, reached in reach.items():
        rota = getattr(site.emergency_department, f"{stream}_clinicians_by_hour")
        if reached and not any(rota):
            raise ConfigError(
                f"{path}.emergency_department.{stream}_clinicians_by_hour",
                rota,
                f"has no clinician in any hour, but patients reach {stream}: they would never "
                "be seen",
            )


def check_assumptions(a: Assumptions, path: str = "assumptions") -> None:
    if a.discharge.close_minute <= a.discharge.open_minute:
        raise ConfigError(
            f"{path}.discharge.close_minute",
            a.discharge.close_minute,
            f"must be after open_minute ({a.discharge.open_minute}); 0 and 1440 allow "
            "discharges at any time",
        )
    for urgency in URGENCIES:
        both = (
            a.alternatives.online_consultation.share[urgency]
            + a.alternatives.pharmacy_first.share[urgency]
        )
        if both > 1 + SHARE_TOLERANCE:
            raise ConfigError(
                f"{path}.alternatives",
                both,
                f"online_consultation and pharmacy_first shares for {urgency} needs sum above 1",
            )
    for urgency, rule in a.booking.no_slot.items():
        total = rule.total()
        if abs(total - 1) > SHARE_TOLERANCE:
            raise ConfigError(
                f"{path}.booking.no_slot.{urgency}",
                dataclasses.asdict(rule),
                f"shares must sum to 1 (they sum to {total:.4f})",
            )
    dna = a.dna
    if len(dna.probability) != len(dna.lead_days_upper) + 1:
        raise ConfigError(
            f"{path}.dna.probability",
            dna.probability,
            f"needs one more value than lead_days_upper ({len(dna.lead_days_upper) + 1})",
        )
    if any(b <= a_ for a_, b in zip(dna.lead_days_upper, dna.lead_days_upper[1:], strict=False)):
        raise ConfigError(f"{path}.dna.lead_days_upper", dna.lead_days_upper, "must increase")
    for band in a.demand.routine_earliest_day_share:
        try:
            parse_day_band(band)
        except ValueError as err:
            raise ConfigError(
                f"{path}.demand.routine_earliest_day_share.{band}",
                band,
                "must be a day offset like '0' or a range like '2-7'",
            ) from err


def check_experiment(e: Experiment, path: str = "experiment") -> None:
    if e.n_jobs == 0:
        raise ConfigError(f"{path}.n_jobs", 0, "must be a positive number of cores or -1 for all")
    if e.warmup_weeks > e.run_weeks:
        # A warm-up is discarded; one longer than what is measured is almost always a typo
        # (e.g. a preset's 13 weeks left in place after shortening the run to 4).
        raise ConfigError(
            f"{path}.warmup_weeks",
            e.warmup_weeks,
            f"must not be longer than {path}.run_weeks ({e.run_weeks}); shorten the warm-up "
            f"({path}.warmup_weeks={e.run_weeks}) or lengthen the run",
        )
    if e.target_relative_half_width is not None and e.max_replications < e.replications:
        raise ConfigError(
            f"{path}.max_replications",
            e.max_replications,
            f"must be >= experiment.replications ({e.replications}) in automatic mode",
        )


def check_programme(model: ModelConfig, e: Experiment) -> None:
    """The programme inputs cover every year the run measures (a year is 52 weeks after the
    warm-up; a part year counts)."""
    years = -(-e.run_weeks // 52)
    have = len(next(iter(model.site.population_index.values())))
    if have > 1 and have < years:
        raise ConfigError(
            "site.population_index",
            f"{have} years",
            f"experiment.run_weeks = {e.run_weeks} measures {years} programme years; give an "
            f"index for each (or [1.0] for no change)",
        )


def parse_day_band(band: str) -> tuple[int, int]:
    """'2-7' -> (2, 7); '3' -> (3, 3)."""
    text = str(band).strip()
    if "-" in text:
        lo, hi = (int(x) for x in text.split("-", 1))
    else:
        lo = hi = int(text)
    if lo < 0 or hi < lo:
        raise ValueError(band)
    return lo, hi


def build_model_config(site: Any, assumptions: Any, scenario: str = "baseline") -> ModelConfig:
    """Validate plain ``site`` and ``assumptions`` mappings into a :class:`ModelConfig`."""
    s = from_dict(Site, site, "site")
    check_site(s)
    a = from_dict(Assumptions, assumptions, "assumptions")
    check_assumptions(a)
    hours = s.core_hours
    open_hours = math.ceil((hours.close_minute - hours.open_minute) / 60)
    waiting = a.demand.waiting_request_hour_share
    if len(waiting) not in (1, open_hours):
        raise ConfigError(
            "assumptions.demand.waiting_request_hour_share",
            waiting,
            f"needs one share per hour practices are open ({open_hours}: "
            f"{hours.open_minute // 60:02d}:00 to the close), or a single 1.0 for all at opening",
        )
    check_emergency_rotas(s, a)
    return ModelConfig(site=s, assumptions=a, scenario=scenario)
