"""Terminal states and the conservation ledger.

Every episode ends in exactly one terminal state. The ledger counts them for the episodes that
arose in the measurement window, and checks them against a record kept independently: the
flow log, where every move between services is written as it happens (the outcome array is
written by other statements). A journey that ends in one of the *exit* nodes (gave up,
self-care, pharmacy, home, admitted...) enters that node exactly once, so the rows into each
exit node must equal the count of the states that end there. A rule that sets one outcome but
logs another move, forgets an outcome, or logs a move twice, breaks the ledger.

The system's own states are listed here; each registered service adds its own
(:mod:`sim.services.registry`), after these.
"""

from __future__ import annotations

import numpy as np

from sim.services.catalogue import SERVICES, present_services

#: (code, plain-English meaning) of the states that are not a registered service's. Codes are
#: positions in :data:`TERMINAL_STATES`; add new states at the end.
SYSTEM_STATES: tuple[tuple[str, str], ...] = (
    ("pending", "not yet resolved (never appears in a finished replication)"),
    ("did_not_attend", "booked a practice or hub appointment and did not attend"),
    ("gave_up", "no care found in time and the patient gave up (unmet need)"),
    ("waiting_at_end", "still waiting when the run ended (appointment or call-back after the end)"),
    ("self_care", "advised self-care by NHS 111"),
    ("pharmacy", "sent to a community pharmacy by NHS 111"),
    ("out_of_hours_gp", "seen by the out-of-hours GP service after NHS 111"),
    ("ae_discharged", "attended A&E and went home"),
    ("admitted", "admitted to hospital (via A&E, a rapid assessment clinic or failed step-up)"),
    ("intermediate_care", "stepped up into intermediate care (IC+), avoiding an admission"),
    ("resolved_online", "resolved by online consultation / digital triage without an appointment"),
    ("pharmacy_first", "treated by a community pharmacy under the minor-ailments scheme"),
    ("ae_left_unseen", "went to A&E and left before being seen"),
    (
        "cancelled",
        "cancelled a booked appointment ahead, after a text reminder, and did not rebook "
        "(the slot went back to the book)",
    ),
)
TERMINAL_STATES: tuple[tuple[str, str], ...] = SYSTEM_STATES + tuple(
    state for service in SERVICES for state in service.terminal_states
)
STATE_INDEX = {name: i for i, (name, _) in enumerate(TERMINAL_STATES)}
if len(STATE_INDEX) != len(TERMINAL_STATES):
    raise AssertionError("two terminal states share a name")
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
CANCELLED = STATE_INDEX["cancelled"]
AE_LEFT_UNSEEN = STATE_INDEX["ae_left_unseen"]

#: Exit nodes of the flow log and the states of the journeys that end there (an episode enters
#: an exit node once, as its last move). A service's state that ends at the service's own node
#: (the frail weekend GP's visit) is added from the registry: a service state whose name is
#: one of its flow nodes' names ends there.
SYSTEM_EXITS: dict[str, tuple[str, ...]] = {
    "gave_up": ("gave_up",),
    "self_care": ("self_care",),
    "pharmacy": ("pharmacy",),
    "out_of_hours_gp": ("out_of_hours_gp",),
    "online_consultation": ("resolved_online",),
    "pharmacy_first": ("pharmacy_first",),
    "home": ("ae_discharged", "ae_left_unseen", "rac_home"),
    "admission": ("admitted",),
    "cancelled": ("cancelled",),
}


def exit_nodes() -> dict[str, tuple[str, ...]]:
    """Exit node -> the terminal states that end there (system's and services')."""
    exits = dict(SYSTEM_EXITS)
    for service in SERVICES:
        nodes = {node.name for node in service.flow_nodes}
        for name, _ in service.terminal_states:
            if name in nodes:
                exits[name] = exits.get(name, ()) + (name,)
    return exits


class ConservationError(AssertionError):
    """The ledger does not balance: a modelling bug, never a user error."""


def reported_states(cfg) -> list[str]:
    """The states a run reports: the system's, and those of the services the site has."""
    names = [name for name, _ in SYSTEM_STATES]
    for service in present_services(cfg):
        names += [name for name, _ in service.terminal_states]
    return names


def ledger_counts(
    outcome: np.ndarray,
    in_window: np.ndarray,
    flow_episode: np.ndarray,
    flow_to: np.ndarray,
    flow_nodes: tuple[str, ...],
    states: list[str] | None = None,
) -> dict[str, int]:
    """Counts per terminal state for episodes arising in the window (the mask
    ``in_window``), checked against the flow log (rows into each exit node, for the same
    episodes): :func:`balanced_counts` of those counts."""
    counts = np.bincount(outcome[in_window], minlength=len(TERMINAL_STATES))
    into = np.bincount(flow_to[in_window[flow_episode]], minlength=len(flow_nodes))
    return balanced_counts(counts, int(in_window.sum()), into, flow_nodes, states)


def balanced_counts(
    counts: np.ndarray,
    generated: int,
    into: np.ndarray,
    flow_nodes: tuple[str, ...],
    states: list[str] | None = None,
) -> dict[str, int]:
    """The ledger of the ``generated`` episodes that arose in the window, given their
    ``counts`` by terminal state and the flow log's moves into each node (``into``, by
    ``flow_nodes``), once it balances. ``states`` limits the states reported (default: all);
    a state left out must count 0.

    Raises
    ------
    ConservationError
        An episode ended without a terminal state, the states do not add up to the episodes
        generated, or an exit node's rows differ from the states that end there.
    """
    if counts[PENDING] != 0:
        raise ConservationError(f"{counts[PENDING]} episodes ended without a terminal state")
    if int(counts.sum()) != generated:
        raise ConservationError(f"ledger {int(counts.sum())} != generated {generated}")
    for node, ending_states in exit_nodes().items():
        by_outcome = sum(int(counts[STATE_INDEX[s]]) for s in ending_states)
        by_flows = int(into[flow_nodes.index(node)])
        if by_outcome != by_flows:
            raise ConservationError(
                f"{by_outcome} episodes ended as {' or '.join(ending_states)} but the flow log "
                f"has {by_flows} moves into {node}"
            )
    names = [name for name, _ in TERMINAL_STATES] if states is None else states
    for i, (name, _) in enumerate(TERMINAL_STATES):
        if name not in names and counts[i]:
            raise ConservationError(f"{counts[i]} episodes ended as {name}, a state not reported")
    result = {"generated": generated}
    result.update({name: int(counts[STATE_INDEX[name]]) for name in names if name != "pending"})
    return result
