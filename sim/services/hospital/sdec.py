"""Same-day emergency care (SDEC): a unit beside A&E for patients who need hospital care but
not an overnight bed.

When A&E decides to admit a patient whose stay would be a same-day stay
(:func:`sim.services.hospital.beds.length_of_stay_minutes`), and SDEC is open
(``site.emergency_department.sdec``: weekdays and daily hours) with a space free, the patient
goes to SDEC instead of waiting for an acute bed: they leave A&E at once, spend
``assumptions.ae.sdec_minutes`` there and go home. Otherwise they wait for a bed like any
admission. SDEC has no queue of its own.
"""

from __future__ import annotations

import simpy
from simpy.events import Timeout

from sim.config.schema import WEEKDAYS, ModelConfig
from sim.core.calendar import MINUTES_PER_DAY
from sim.services.hospital.places import Stays


class SameDayEmergencyCare:
    """SDEC spaces, open hours, and the stays it gave (``stays``: start, end, attendance)."""

    def __init__(self, env: simpy.Environment, cfg: ModelConfig, minutes: list[float]):
        sdec = cfg.site.emergency_department.sdec
        self.env = env
        self.free = int(sdec.spaces)
        self.open_minute = sdec.open_minute
        self.close_minute = sdec.close_minute
        self.days = frozenset(WEEKDAYS.index(w) for w in sdec.weekdays)
        self.minutes = minutes  # SDEC time of each attendance
        self.stays = Stays()

    def is_open(self, now: float) -> bool:
        """Open at ``now`` (a close before the open is an overnight session; equal: never)."""
        day = int(now // MINUTES_PER_DAY)
        minute = now - day * MINUTES_PER_DAY
        if self.open_minute <= self.close_minute:
            return day % 7 in self.days and self.open_minute <= minute < self.close_minute
        return day % 7 in self.days and (minute >= self.open_minute or minute < self.close_minute)

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
        Timeout(self.env, end - now).callbacks.append(self._release)
        return True

    def _release(self, _event: simpy.Event) -> None:
        self.free += 1


__all__ = ["SameDayEmergencyCare"]
