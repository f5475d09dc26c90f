"""The nodes of the flow matrix (``flows.csv``, the report's flow diagram): where needs start,
the services, where they are sent, and how they leave.

The nodes below are the system's own; each registered service adds its own nodes
(:mod:`sim.services.registry`). A node's code is its position in :data:`FLOW_NODES`.
"""

from __future__ import annotations

from sim.services.catalogue import SERVICES
from sim.services.registry import FlowNode

#: Nodes that are not a registered service's: entries, NHS 111 and its dispositions, schemes,
#: the hospital and the ends of a journey.
SYSTEM_FLOW_NODES: tuple[FlowNode, ...] = (
    FlowNode("need_in_hours", "Needs in core hours", 0, 1),
    FlowNode("need_out_of_hours", "Needs out of hours", 0, 2),
    FlowNode("nhs111", "NHS 111", 1, 2),
    FlowNode("pharmacy", "Community pharmacy", 2, 6),
    FlowNode("self_care", "Self-care", 2, 7),
    FlowNode("out_of_hours_gp", "Out-of-hours GP", 2, 8),
    FlowNode("ae", "A&E", 3, 2),
    FlowNode("ambulance", "Ambulance", 2, 10),
    FlowNode("intermediate_care", "Intermediate care (IC+)", 3, 1),
    FlowNode("admission", "Admitted", 4, 2),
    FlowNode("home", "Home", 4, 1),
    FlowNode("gave_up", "Gave up (unmet need)", 2, 9),
    FlowNode("self_presenting", "Walk-in to A&E", 0, 3),
    FlowNode("online_consultation", "Resolved online", 2, 2),
    FlowNode("pharmacy_first", "Pharmacy First", 2, 3),
)
#: Every node, system and services, in code order.
ALL_FLOW_NODES: tuple[FlowNode, ...] = SYSTEM_FLOW_NODES + tuple(
    node for service in SERVICES for node in service.flow_nodes
)
FLOW_NODES: tuple[str, ...] = tuple(node.name for node in ALL_FLOW_NODES)
NODE: dict[str, int] = {name: code for code, name in enumerate(FLOW_NODES)}
if len(NODE) != len(FLOW_NODES):
    raise AssertionError("two flow nodes share a name")
