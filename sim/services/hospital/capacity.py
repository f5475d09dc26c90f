"""The hospital's capacities over time: each one week by week at the configuration then in
force (options phasing in, :mod:`sim.core.programme`), and the process that applies them.

A capacity is read from each week's configuration and changes, if at all, at the start of a
week (Monday 00:00). With no option phasing in, every capacity is constant and nothing here
schedules an event, so the hospital runs exactly as it did before capacities could change.

What a change does is the pool's rule (:mod:`sim.services.hospital.beds`,
:mod:`sim.services.hospital.places`, :mod:`sim.services.hospital.sdec`): a rise frees the new
units at once, to those waiting first; a cut never moves anyone out, the pool shrinks as units
held at the change are freed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from sim.config.schema import ModelConfig
from sim.core.calendar import MINUTES_PER_DAY
from sim.services.hospital.engine import call_after, call_first

MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

#: Each capacity the hospital follows week by week, read from a configuration.
CAPACITIES: dict[str, Callable[[ModelConfig], int]] = {
    "beds": lambda c: c.site.acute_beds.general_and_acute,
    "escalation_spaces": lambda c: c.site.acute_beds.escalation_spaces,
    "ic_places": lambda c: c.site.intermediate_care.places,
    "social_places": lambda c: c.site.social_care.places,
    "sdec_spaces": lambda c: c.site.emergency_department.sdec.spaces,
}


@dataclass(frozen=True)
class CapacitySchedule:
    """A capacity in steps: ``values[k]`` from minute ``times[k]`` (``times[0] == 0``) until
    the next change."""

    times: tuple[float, ...]
    values: tuple[int, ...]

    @property
    def initial(self) -> int:
        return self.values[0]

    @property
    def constant(self) -> bool:
        return len(self.values) == 1

    def changes(self) -> list[tuple[float, int]]:
        """(minute, new capacity) of every change after the start."""
        return list(zip(self.times[1:], self.values[1:], strict=True))

    def mean_between(self, edges: np.ndarray) -> np.ndarray:
        """Time-weighted mean capacity in each interval ``[edges[k], edges[k + 1])``."""
        edges = np.asarray(edges, dtype=float)
        if self.constant:
            return np.full(len(edges) - 1, float(self.initial))
        t = np.asarray(self.times, dtype=float)
        v = np.asarray(self.values, dtype=float)
        # integral of the step function from 0 to each edge
        k = np.searchsorted(t, edges, side="right") - 1
        before = np.concatenate(([0.0], np.cumsum(v[:-1] * np.diff(t))))
        area = before[k] + v[k] * (edges - t[k])
        widths = np.diff(edges)
        return np.divide(np.diff(area), widths, out=np.zeros(len(widths)), where=widths > 0)


def capacity_schedule(
    weekly_configs: list[ModelConfig], read: Callable[[ModelConfig], int], end: float
) -> CapacitySchedule:
    """A capacity week by week (``weekly_configs[w]`` in force in week ``w``; the last one
    holds after it), its changes before minute ``end``."""
    times, values = [0.0], [int(read(weekly_configs[0]))]
    last = None
    for w, c in enumerate(weekly_configs):
        if c is last:  # weeks sharing a configuration share their capacities
            continue
        last = c
        value = int(read(c))
        at = float(w * MINUTES_PER_WEEK)
        if value != values[-1] and at < end:
            times.append(at)
            values.append(value)
    return CapacitySchedule(tuple(times), tuple(values))


def hospital_schedules(
    weekly_configs: list[ModelConfig], end: float
) -> dict[str, CapacitySchedule]:
    """Every capacity of :data:`CAPACITIES` week by week."""
    return {name: capacity_schedule(weekly_configs, read, end) for name, read in CAPACITIES.items()}


def follow(
    env: simpy.Environment, schedule: CapacitySchedule, apply: Callable[[int, float], None]
) -> None:
    """Call ``apply(capacity, now)`` at each change of ``schedule`` (nothing if none): a
    chain of timeouts with a callback, started and ordered as a process sleeping from one
    change to the next would be."""
    if schedule.constant:
        return
    changes = iter(schedule.changes())

    def sleep(_event: simpy.Event) -> None:
        change = next(changes, None)
        if change is not None:
            call_after(env, change[0] - env.now, wake, change[1])

    def wake(event: simpy.Event) -> None:
        apply(event.value, env.now)
        sleep(event)

    call_first(env, sleep)


__all__ = [
    "CAPACITIES",
    "CapacitySchedule",
    "capacity_schedule",
    "follow",
    "hospital_schedules",
]
