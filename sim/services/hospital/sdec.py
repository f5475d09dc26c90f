"""Same-day emergency care (SDEC): a unit beside A&E for patients who need hospital care but
not an overnight bed.

When A&E decides to admit a patient whose stay would be a same-day stay
(:func:`sim.services.hospital.beds.length_of_stay_minutes`), and SDEC is open
(``site.emergency_department.sdec``: weekdays and daily hours) with a space free, the patient
goes to SDEC instead of waiting for an acute bed: they leave A&E at once, spend
``assumptions.ae.sdec_minutes`` there and go home. Otherwise they wait for a bed like any
admission. SDEC has no queue of its own.

Spaces and opening follow the configuration in force each week (options phasing in,
:mod:`sim.services.hospital.capacity`): a patient in SDEC when spaces are cut stays to the end
of their time there; the unit takes nobody new until fewer are in than its new spaces.
"""

from __future__ import annotations

import simpy

from sim.config.schema import WEEKDAYS, ModelConfig
from sim.core.calendar import MINUTES_PER_DAY
from sim.services.hospital.engine import call_after
from sim.services.hospital.places import Stays


def _opening(cfg: ModelConfig) -> tuple[int, int, frozenset[int]]:
    sdec = cfg.site.emergency_department.sdec
    return sdec.open_minute, sdec.close_minute, frozenset(WEEKDAYS.index(w) for w in sdec.weekdays)


class SameDayEmergencyCare:
    """SDEC spaces, open hours, and the stays it gave (``stays``: start, end, attendance).

    ``weekly_configs``: the configuration in force each week (its opening hours that week; the
    last holds after it); by default ``cfg`` throughout. Spaces change through
    :meth:`set_spaces`."""

    def __init__(
        self,
        env: simpy.Environment,
        cfg: ModelConfig,
        minutes: list[float],
        weekly_configs: list[ModelConfig] | None = None,
    ):
        weeks = weekly_configs or [cfg]
        self.env = env
        self.spaces = int(weeks[0].site.emergency_department.sdec.spaces)
        self.free = self.spaces
        by_config = {id(c): _opening(c) for c in weeks}
        self.opening_by_week = [by_config[id(c)] for c in weeks]
        self.minutes = minutes  # SDEC time of each attendance
        self.stays = Stays()

    def is_open(self, now: float) -> bool:
        """Open at ``now`` (a close before the open is an overnight session; equal: never)."""
        day = int(now // MINUTES_PER_DAY)
        weeks = self.opening_by_week
        open_minute, close_minute, days = weeks[min(day // 7, len(weeks) - 1)]
        minute = now - day * MINUTES_PER_DAY
        if open_minute <= close_minute:
            return day % 7 in days and open_minute <= minute < close_minute
        return day % 7 in days and (minute >= open_minute or minute < close_minute)

    def set_spaces(self, spaces: int, now: float) -> None:
        """``spaces`` from ``now``; after a cut ``free`` is negative until enough have left."""
        change = int(spaces) - self.spaces
        self.spaces += change
        self.free += change

    def take(self, i: int, now: float) -> bool:
        """Attendance ``i`` goes to SDEC if open with a space free (``True``)."""
        if self.free <= 0 or not self.is_open(now):
            return False
        self.free -= 1
        end = now + self.minutes[i]
        stays = self.stays
        stays.start.append(now)
        stays.end.append(end)
        stays.kind.append(0)
        stays.index.append(i)
        call_after(self.env, end - now, self._release)
        return True

    def _release(self, _event: simpy.Event) -> None:
        self.free += 1


__all__ = ["SameDayEmergencyCare"]
