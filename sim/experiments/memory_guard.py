"""Memory guard: refuse a run that would not fit in memory before it starts.

A replication holds every episode of its warm-up and run at once as numpy arrays (the
booking pass keeps only a sliding window of them as Python lists), so its peak memory grows
with population x simulated weeks. The estimate is deliberately simple: the interpreter and
libraries (:data:`ESTIMATED_BASE_GB`) plus expected episodes x
:data:`ESTIMATED_BYTES_PER_EPISODE`.

``experiment.max_memory_gb`` is the memory the run may use at once. A run whose single
replication is estimated above it is refused (a :class:`~sim.config.schema.ConfigError`, so the
command stops before any folder exists); otherwise no more replications run side by side
than fit in it (results do not depend on how many run at once).
"""

from __future__ import annotations

import sys

from sim.config.schema import ConfigError, Experiment, ModelConfig

#: Peak bytes one replication needs per episode (primary-care episodes and self-presenting
#: A&E arrivals together), above the interpreter. Measured with benchmarks/run.py on the
#: North Durham baseline (docs/performance.md): 180-200 bytes an episode over a year and a
#: population of a million; a five-year programme run (workforce, weekly configurations and
#: each year's KPIs on top) peaked at about 237 (2.39 GB); 260 leaves a margin.
#: tests/test_long_runs.py holds the measured peak of a 5-year and a million-population run
#: under the estimate.
ESTIMATED_BYTES_PER_EPISODE = 260
#: The interpreter, numpy, pandas, SimPy, numba with the compiled booking pass and the model's
#: code (about 250 MB measured)
ESTIMATED_BASE_GB = 0.3
WEEKS_PER_YEAR = 365.25 / 7
GB = 1e9


def expected_episodes_per_week(model: ModelConfig) -> float:
    """Primary-care episodes plus self-presenting A&E arrivals expected in an average week."""
    from sim.core.demand import annual_episode_rates
    from sim.services.hospital.arrivals import ae_age_band_rates

    per_year = float(annual_episode_rates(model).sum()) + float(ae_age_band_rates(model).sum())
    return per_year / WEEKS_PER_YEAR


def estimated_gb_per_replication(model: ModelConfig, experiment: Experiment) -> float:
    """Estimated peak memory of one replication (GB), warm-up included."""
    weeks = experiment.warmup_weeks + experiment.run_weeks
    episodes = expected_episodes_per_week(model) * weeks
    return ESTIMATED_BASE_GB + episodes * ESTIMATED_BYTES_PER_EPISODE / GB


def check_memory(model: ModelConfig, experiment: Experiment) -> None:
    """Refuse a run whose single replication is estimated to need more than the limit."""
    need = estimated_gb_per_replication(model, experiment)
    limit = experiment.max_memory_gb
    if need <= limit:
        return
    patients = sum(p.list_size for p in model.site.practices.values())
    weeks = experiment.warmup_weeks + experiment.run_weeks
    raise ConfigError(
        "experiment.max_memory_gb",
        limit,
        f"one replication is estimated to need {need:.1f} GB ({patients:,} registered "
        f"patients x {weeks} weeks: {ESTIMATED_BYTES_PER_EPISODE} bytes per episode plus "
        f"{ESTIMATED_BASE_GB} GB); "
        "shorten the run, shrink the site, or raise experiment.max_memory_gb if the machine "
        "has the memory",
    )


def replications_that_fit(model: ModelConfig, experiment: Experiment) -> int:
    """How many replications may run at once within ``experiment.max_memory_gb`` (at least 1:
    a run where one does not fit is refused by :func:`check_memory`)."""
    need = estimated_gb_per_replication(model, experiment)
    if need <= 0:
        return sys.maxsize  # no patients: memory sets no limit
    return max(1, int(experiment.max_memory_gb // need))
