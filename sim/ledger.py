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
    ("did_not_attend", "booked a practice appointment and did not attend"),
    ("gave_up", "no appointment found in time and the patient gave up (unmet need)"),
    (
        "urgent_out_of_hours",
        "urgent need arising while practices are shut, not yet routed to another service",
    ),
    ("waiting_at_end", "still waiting when the run ended (appointment or call-back after the end)"),
)
STATE_INDEX = {name: i for i, (name, _) in enumerate(TERMINAL_STATES)}
PENDING = STATE_INDEX["pending"]
ATTENDED_PRACTICE = STATE_INDEX["attended_practice"]
DID_NOT_ATTEND = STATE_INDEX["did_not_attend"]
GAVE_UP = STATE_INDEX["gave_up"]
URGENT_OUT_OF_HOURS = STATE_INDEX["urgent_out_of_hours"]
WAITING_AT_END = STATE_INDEX["waiting_at_end"]


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
