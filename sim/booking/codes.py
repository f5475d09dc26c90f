"""The integer codes of the booking pass, each derived from the tuple of names it numbers.

Compiled code compares integers, not names, so every choice, route and state has a code: its
position in the tuple that names them (the configuration's own tuples where it has one).
Codes are numpy int64 constants (:func:`sim.core.compiled.int_code`), so numba compiles each
function once whatever code it is passed.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import (
    NHS111_DISPOSITIONS,
    NO_SLOT_ACTIONS,
    OUT_OF_HOURS_ROUTES,
    RAC_OUTCOMES,
    STAFF_NEEDS,
    STAFF_TYPES,
    URGENCIES,
)
from sim.core import ledger
from sim.core.compiled import int_code
from sim.core.flows import FLOW_NODES
from sim.core.streams import salt

# -- the episode ------------------------------------------------------------------------------
URGENT = int_code(URGENCIES, "urgent")
SOON = int_code(URGENCIES, "soon")
ANY_STAFF = int_code(STAFF_NEEDS, "any")
GP = int_code(STAFF_TYPES, "gp")

# -- what a need tries before its practice's book ---------------------------------------------
FIRST_CHOICES: tuple[str, ...] = ("practice", "online_consultation", "pharmacy_first", "hub")
FIRST_CHOICE_PRACTICE = int_code(FIRST_CHOICES, "practice")
FIRST_CHOICE_ONLINE = int_code(FIRST_CHOICES, "online_consultation")
FIRST_CHOICE_PHARMACY = int_code(FIRST_CHOICES, "pharmacy_first")
FIRST_CHOICE_HUB = int_code(FIRST_CHOICES, "hub")

# -- what a need out of hours may do before waiting for its practice ---------------------------
#: Bit flags of ``out_of_hours_kind``: an urgent need that does not wait (it goes to NHS 111 or
#: A&E at once), and a frail urgent need with a frail service to try first.
OUT_OF_HOURS_URGENT = np.int64(1)
OUT_OF_HOURS_FRAIL_SERVICE = np.int64(2)

# -- choices in configuration order ------------------------------------------------------------
NO_SLOT_BOOK_LATER = int_code(NO_SLOT_ACTIONS, "book_later")
NO_SLOT_CALL_BACK = int_code(NO_SLOT_ACTIONS, "callback_next_day")
NO_SLOT_NHS111 = int_code(NO_SLOT_ACTIONS, "nhs111")
NO_SLOT_AE = int_code(NO_SLOT_ACTIONS, "ae")
OOH_ROUTE_NHS111 = int_code(OUT_OF_HOURS_ROUTES, "nhs111")
DISPOSITION_SELF_CARE = int_code(NHS111_DISPOSITIONS, "self_care")
DISPOSITION_PHARMACY = int_code(NHS111_DISPOSITIONS, "pharmacy")
DISPOSITION_PRIMARY_CARE = int_code(NHS111_DISPOSITIONS, "primary_care")
DISPOSITION_AE = int_code(NHS111_DISPOSITIONS, "ae")
RAC_HOME = int_code(RAC_OUTCOMES, "home")
RAC_INTERMEDIATE_CARE = int_code(RAC_OUTCOMES, "intermediate_care")

# -- events of the pass's heap -----------------------------------------------------------------
EVENTS: tuple[str, ...] = ("request", "rac_referral")
EVENT_REQUEST = int_code(EVENTS, "request")
EVENT_RAC_REFERRAL = int_code(EVENTS, "rac_referral")

# -- hand-offs to the services simulated after the pass ----------------------------------------
#: Why an episode reached A&E (``ae_via`` of the hand-offs).
AE_ROUTES: tuple[str, ...] = (
    "displaced",  # no primary care in time: sent by the no-slot rule or out of hours
    "nhs111",  # NHS 111's A&E disposition
    "ambulance",  # NHS 111's ambulance disposition
    "rac_no_slot",  # referred to a clinic that had no slot in time
    "escalation",  # an at-risk frail patient who deteriorated
    "gp_referral",  # sent on by the GP after the appointment
)
AE_VIA_DISPLACED = int_code(AE_ROUTES, "displaced")
AE_VIA_NHS111 = int_code(AE_ROUTES, "nhs111")
AE_VIA_AMBULANCE = int_code(AE_ROUTES, "ambulance")
AE_VIA_RAC_NO_SLOT = int_code(AE_ROUTES, "rac_no_slot")
AE_VIA_ESCALATION = int_code(AE_ROUTES, "escalation")
AE_VIA_GP_REFERRAL = int_code(AE_ROUTES, "gp_referral")
#: Where a direct admission (not via A&E) came from.
ADMISSION_SOURCES: tuple[str, ...] = ("rac", "rac_no_slot")
ADMIT_FROM_RAC = int_code(ADMISSION_SOURCES, "rac")
ADMIT_FROM_RAC_NO_SLOT = int_code(ADMISSION_SOURCES, "rac_no_slot")
#: Where a step-up into intermediate care came from.
STEP_UP_SOURCES: tuple[str, ...] = ("practice", "rac")
STEP_UP_FROM_PRACTICE = int_code(STEP_UP_SOURCES, "practice")
STEP_UP_FROM_RAC = int_code(STEP_UP_SOURCES, "rac")

# -- keyed random numbers drawn inside the pass (sim.core.streams.keyed_uniform) ---------------
KEYED_DRAWS: tuple[str, ...] = (
    "hub_offer",
    "hub_accept",
    "hub_dna",
    "out_of_hours_route",
    "nhs111_disposition",
    "rac_referral",
    "rac_outcome",
    "rac_no_slot",
    "step_up",
    "escalation",
    "gp_referral",
)
#: Salt of each draw, indexed by the DRAW_* codes.
SALTS = np.array([salt(name) for name in KEYED_DRAWS], dtype=np.uint64)
DRAW_HUB_OFFER = int_code(KEYED_DRAWS, "hub_offer")
DRAW_HUB_ACCEPT = int_code(KEYED_DRAWS, "hub_accept")
DRAW_HUB_DNA = int_code(KEYED_DRAWS, "hub_dna")
DRAW_OUT_OF_HOURS_ROUTE = int_code(KEYED_DRAWS, "out_of_hours_route")
DRAW_NHS111_DISPOSITION = int_code(KEYED_DRAWS, "nhs111_disposition")
DRAW_RAC_REFERRAL = int_code(KEYED_DRAWS, "rac_referral")  # the risk number: low = high risk
DRAW_RAC_OUTCOME = int_code(KEYED_DRAWS, "rac_outcome")
DRAW_RAC_NO_SLOT = int_code(KEYED_DRAWS, "rac_no_slot")
DRAW_STEP_UP = int_code(KEYED_DRAWS, "step_up")
DRAW_ESCALATION = int_code(KEYED_DRAWS, "escalation")
DRAW_GP_REFERRAL = int_code(KEYED_DRAWS, "gp_referral")

# -- flow-matrix nodes (sim.core.flows: the system's and the services') ------------------------
NODE_NEED_IN_HOURS = int_code(FLOW_NODES, "need_in_hours")
NODE_NEED_OUT_OF_HOURS = int_code(FLOW_NODES, "need_out_of_hours")
NODE_PRACTICE = int_code(FLOW_NODES, "practice")
NODE_HUB = int_code(FLOW_NODES, "hub")
NODE_NHS111 = int_code(FLOW_NODES, "nhs111")
NODE_PHARMACY = int_code(FLOW_NODES, "pharmacy")
NODE_SELF_CARE = int_code(FLOW_NODES, "self_care")
NODE_OUT_OF_HOURS_GP = int_code(FLOW_NODES, "out_of_hours_gp")
NODE_AE = int_code(FLOW_NODES, "ae")
NODE_AMBULANCE = int_code(FLOW_NODES, "ambulance")
NODE_RAC = int_code(FLOW_NODES, "rac")
NODE_INTERMEDIATE_CARE = int_code(FLOW_NODES, "intermediate_care")
NODE_ADMISSION = int_code(FLOW_NODES, "admission")
NODE_HOME = int_code(FLOW_NODES, "home")
NODE_GAVE_UP = int_code(FLOW_NODES, "gave_up")
NODE_ONLINE = int_code(FLOW_NODES, "online_consultation")
NODE_FRAIL_WEEKEND_GP = int_code(FLOW_NODES, "frail_weekend_gp")
NODE_PHARMACY_FIRST = int_code(FLOW_NODES, "pharmacy_first")

# -- terminal states (sim.core.ledger: the system's and the services') -----------------------
_STATES = tuple(name for name, _ in ledger.TERMINAL_STATES)


def state_code(name: str) -> np.int64:
    """The code of terminal state ``name`` (a registered service's, for instance)."""
    return int_code(_STATES, name)


def node_code(name: str) -> np.int64:
    """The code of flow node ``name``."""
    return int_code(FLOW_NODES, name)


PENDING = int_code(_STATES, "pending")
ATTENDED_PRACTICE = int_code(_STATES, "attended_practice")
DID_NOT_ATTEND = int_code(_STATES, "did_not_attend")
GAVE_UP = int_code(_STATES, "gave_up")
WAITING_AT_END = int_code(_STATES, "waiting_at_end")
ATTENDED_HUB = int_code(_STATES, "attended_hub")
SELF_CARE = int_code(_STATES, "self_care")
PHARMACY = int_code(_STATES, "pharmacy")
OUT_OF_HOURS_GP = int_code(_STATES, "out_of_hours_gp")
ADMITTED = int_code(_STATES, "admitted")
RAC_WENT_HOME = int_code(_STATES, "rac_home")
RESOLVED_ONLINE = int_code(_STATES, "resolved_online")
FRAIL_WEEKEND_GP = int_code(_STATES, "frail_weekend_gp")
PHARMACY_FIRST = int_code(_STATES, "pharmacy_first")
