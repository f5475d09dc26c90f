"""Discrete-event simulation of NHS primary and urgent care capacity.

The core (config, demand, appointment books, journeys, KPIs, experiments) is pure Python and
numpy with no Hydra and no file I/O; ``sim.cli`` is the Hydra entry point.
"""

__version__ = "0.2.0"
