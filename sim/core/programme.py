"""The configuration in force week by week over a programme.

Options that start later or ramp up (:mod:`sim.config.phasing`) make the configuration change
from week to week. :func:`weekly_configs` gives the configuration of every simulated week
(warm-up, programme years and the days the books run on after the end), as shared objects:
weeks with the same option effects hold the very same :class:`ModelConfig`, so a component
can group its work by configuration. Without phasing every week holds the run's own
configuration, and nothing downstream changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config.phasing import config_at
from sim.config.schema import ModelConfig
from sim.core.calendar import Calendar


@dataclass
class WeeklyConfigs:
    """The configuration of each simulated week (index = day // 7)."""

    by_week: list[ModelConfig]
    effects: list[tuple[float, ...]]  # each phased option's effect, per week

    def on_day(self, day: int) -> ModelConfig:
        return self.by_week[min(day // 7, len(self.by_week) - 1)]

    def week_of_day(self, days: np.ndarray) -> np.ndarray:
        return np.minimum(np.asarray(days) // 7, len(self.by_week) - 1)

    @property
    def varies(self) -> bool:
        first = self.by_week[0]
        return any(c is not first for c in self.by_week)

    def distinct(self) -> list[ModelConfig]:
        """Each configuration once, in order of first use."""
        seen: dict[int, ModelConfig] = {}
        for c in self.by_week:
            seen.setdefault(id(c), c)
        return list(seen.values())


def weekly_configs(cfg: ModelConfig, calendar: Calendar) -> WeeklyConfigs:
    """The configuration in force in every week the calendar covers."""
    weeks = -(-calendar.n_days // 7)
    phasing = cfg.phasing
    if phasing is None or not phasing.gradual:
        return WeeklyConfigs(
            [cfg] * weeks, [tuple(1.0 for _ in getattr(phasing, "options", ()))] * weeks
        )
    start_week = calendar.programme_start_day // 7
    cache: dict[tuple[float, ...], ModelConfig] = {}
    by_week, effects = [], []
    for w in range(weeks):
        e = tuple(o.effect(w - start_week) for o in phasing.options)
        if e not in cache:
            cache[e] = config_at(cfg, e)
        by_week.append(cache[e])
        effects.append(e)
    return WeeklyConfigs(by_week, effects)
