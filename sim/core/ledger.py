"""Terminal states and the conservation ledger.

Every episode ends in exactly one terminal state. The ledger counts them for the episodes that
arose in the measurement window and checks they add up to the episodes generated there.
"""

from __future__ import annotations

import numpy as np

#: (code, plain-English meaning). Codes are stable: add new states at the end.
TERMINAL_STATES: tuple[tuple[str, str], ...] = (
    ("pending", "not yet resolved (never appears in a finished replication)"),
    ("attended_practice", "seen at the patient's own practice"),
    ("did_not_attend", "booked a practice or hub appointment and did not attend"),
    ("gave_up", "no care found in time and the patient gave up (unmet need)"),
    ("waiting_at_end", "still waiting when the run ended (appointment or call-back after the end)"),
    ("attended_hub", "seen at the locality hub (extended access)"),
    ("self_care", "advised self-care by NHS 111"),
    ("pharmacy", "sent to a community pharmacy by NHS 111"),
    ("out_of_hours_gp", "seen by the out-of-hours GP service after NHS 111"),
    ("ae_discharged", "attended A&E and went home"),
    ("admitted", "admitted to hospital (via A&E, a rapid assessment clinic or failed step-up)"),
    ("rac_home", "assessed at a rapid assessment clinic and went home"),
    ("intermediate_care", "stepped up into intermediate care (IC+), avoiding an admission"),
    ("resolved_online", "resolved by online consultation / digital triage without an appointment"),
    ("frail_weekend_gp", "seen by the weekend GP service for frail patients and care homes"),
    ("pharmacy_first", "treated by a community pharmacy under the minor-ailments scheme"),
    ("ae_left_unseen", "went to A&E and left before being seen"),
)
STATE_INDEX = {name: i for i, (name, _) in enumerate(TERMINAL_STATES)}
PENDING = STATE_INDEX["pending"]
ATTENDED_PRACTICE = STATE_INDEX["attended_practice"]
DID_NOT_ATTEND = STATE_INDEX["did_not_attend"]
GAVE_UP = STATE_INDEX["gave_up"]
WAITING_AT_END = STATE_INDEX["waiting_at_end"]
ATTENDED_HUB = STATE_INDEX["attended_hub"]
SELF_CARE = STATE_INDEX["self_care"]
PHARMACY = STATE_INDEX["pharmacy"]
OUT_OF_HOURS_GP = STATE_INDEX["out_of_hours_gp"]
AE_DISCHARGED = STATE_INDEX["ae_discharged"]
ADMITTED = STATE_INDEX["admitted"]
RAC_HOME = STATE_INDEX["rac_home"]
INTERMEDIATE_CARE = STATE_INDEX["intermediate_care"]
RESOLVED_ONLINE = STATE_INDEX["resolved_online"]
FRAIL_WEEKEND_GP = STATE_INDEX["frail_weekend_gp"]
PHARMACY_FIRST = STATE_INDEX["pharmacy_first"]
AE_LEFT_UNSEEN = STATE_INDEX["ae_left_unseen"]


class ConservationError(AssertionError):
    """The ledger does not balance: a modelling bug, never a user error."""


def ledger_counts(outcome: np.ndarray, in_window: np.ndarray) -> dict[str, int]:
    """Counts per terminal state for episodes arising in the window; checks conservation."""
    counts = np.bincount(outcome[in_window], minlength=len(TERMINAL_STATES))
    generated = int(in_window.sum())
    if counts[PENDING] != 0:
        raise ConservationError(f"{counts[PENDING]} episodes ended without a terminal state")
    if int(counts.sum()) != generated:
        raise ConservationError(f"ledger {int(counts.sum())} != generated {generated}")
    result = {"generated": generated}
    result.update({name: int(counts[i]) for i, (name, _) in enumerate(TERMINAL_STATES) if i})
    return result
