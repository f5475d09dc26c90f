"""What a service declares about itself, once, for the rest of the model to pick up.

A service module (``sim/services/<name>.py``) builds one :class:`Service` and
``sim/services/catalogue.py`` lists it. From that one declaration:

* the **ledger** (:mod:`sim.core.ledger`) gets the service's terminal states;
* the **flows** (:mod:`sim.booking.codes`, ``flows.csv``) and the report's flow diagram get its
  flow nodes, with their plain names and diagram column;
* the **booking pass** stacks its appointment books (``build_books``) with everyone else's
  and, if it declares ``pass_settings``, hands the rules its parameters by the service's name
  (``settings.<name>`` in :mod:`sim.booking.rules`);
* the replication lets it take **walk-ins** from self-presenting A&E attendances
  (``walk_ins``), before the A&E stage;
* the **KPIs** (:mod:`sim.core.kpis`) get its definitions (``kpis``) and values (``measure``),
  the **costs** its running cost (``running_cost``);
* the **site builder** (``python -m sim site-from-csv``) scales its absolute capacities
  (``site_scaled``) to a new area's population.

A service absent from a site (``present`` false: an option not taken) reports no KPIs and no
terminal states, so adding a service changes no result of a run without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.config.schema import ModelConfig


@dataclass(frozen=True)
class Kpi:
    """A KPI's definition: its unit, a label for tables and figures, and which direction is
    better (``"higher"``, ``"lower"`` or None when neither is). Every KPI is defined for
    planners in ``docs/kpis.md``."""

    unit: str
    label: str
    better: str | None


@dataclass(frozen=True)
class FlowNode:
    """A box of the flow diagram: ``name`` in ``flows.csv``, ``label`` for people, its
    ``column`` left to right (0 where needs start, 1 the first services, 2 where they are sent,
    3 the hospital front door and step-up, 4 how they leave) and its ``place`` in the column,
    top to bottom (nodes are sorted by it)."""

    name: str
    label: str
    column: int
    place: float


def _always(cfg: ModelConfig) -> bool:
    return True


@dataclass(frozen=True)
class Service:
    """One service of the modelled system, as the rest of the model sees it.

    Every callable takes what the stage that calls it has: ``build_books(cfg, calendar)``
    returns an object with ``appointment_books()`` (its :class:`sim.booking.book.AppointmentBook`
    list, stacked in that order); ``pass_settings(cfg, calendar, first_book)`` a named tuple of
    numbers and arrays for the compiled rules; ``walk_ins(...)`` see
    :func:`sim.services.catalogue.divert_self_presenting`; ``measure(k)`` and
    ``running_cost(k)`` take the replication's :class:`sim.core.kpis.KpiInputs`
    (``running_cost``: £ over the measurement window).
    """

    name: str
    title: str
    flow_nodes: tuple[FlowNode, ...] = ()
    #: (code, plain-English meaning) of the terminal states this service ends episodes in
    terminal_states: tuple[tuple[str, str], ...] = ()
    build_books: Callable[..., Any] | None = None
    pass_settings: Callable[..., Any] | None = None
    walk_ins: Callable[..., Any] | None = None
    kpis: Mapping[str, Kpi] = field(default_factory=dict)
    measure: Callable[[Any], dict[str, float]] | None = None
    running_cost: Callable[[Any], float] | None = None
    #: site YAML keys (dotted, ``*`` for any entry) of absolute capacities: a new area's site
    #: file scales them by its registered population
    site_scaled: tuple[str, ...] = ()
    present: Callable[[ModelConfig], bool] = _always
