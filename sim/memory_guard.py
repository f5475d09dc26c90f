"""Memory guard: refuse a run that would not fit in memory before it starts.

A replication holds every episode of its warm-up and run at once (numpy arrays plus the
booking pass's lists), so its peak memory grows with population x simulated weeks. The
estimate here is deliberately simple: expected episodes x :data:`ESTIMATED_BYTES_PER_EPISODE`.

``experiment.max_memory_gb`` is the memory the run may use at once. A run whose single
replication is estimated above it is refused (a :class:`~sim.config.ConfigError`, so the
command stops before any folder exists); otherwise no more replications run side by side
than fit in it (results do not depend on how many run at once).
"""

from __future__ import annotations

import sys

from .config import ConfigError, Experiment, ModelConfig

#: Peak bytes one replication needs per episode (primary-care episodes and self-presenting
#: A&E arrivals together). Measured once on the North Durham baseline: about 575 bytes an
#: episode above a ~170 MB interpreter, so 700 covers both for a year's run. The lead will
#: calibrate it from the benchmarks (docs/performance.md); change it here only.
ESTIMATED_BYTES_PER_EPISODE = 700
WEEKS_PER_YEAR = 365.25 / 7
GB = 1e9


def expected_episodes_per_week(model: ModelConfig) -> float:
    """Primary-care episodes plus self-presenting A&E arrivals expected in an average week."""
    from .demand import annual_episode_rates
    from .services.emergency_department import ae_age_band_rates

    per_year = float(annual_episode_rates(model).sum()) + float(ae_age_band_rates(model).sum())
    return per_year / WEEKS_PER_YEAR


def estimated_gb_per_replication(model: ModelConfig, experiment: Experiment) -> float:
    """Estimated peak memory of one replication (GB), warm-up included."""
    weeks = experiment.warmup_weeks + experiment.run_weeks
    return expected_episodes_per_week(model) * weeks * ESTIMATED_BYTES_PER_EPISODE / GB


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
        f"patients x {weeks} weeks x {ESTIMATED_BYTES_PER_EPISODE} bytes per episode); "
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
