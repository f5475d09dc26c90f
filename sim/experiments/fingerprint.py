"""A fingerprint of one replication's results: equal fingerprints mean byte-identical numbers.

Used by the pinned golden digests (``tests/test_golden.py``) and by
``benchmarks/results_digest.py`` to prove that a speed-up or a restructuring changed no
number. It hashes the raw floats (not rounded) of the KPIs, ledger, flows, time series and
equity breakdowns, so adding a KPI or a series changes it too.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from sim.core.replication import ReplicationResult, run_replication

#: The short runs pinned in ``tests/golden/digests.json``: warm-up and measured weeks, and the
#: option mixes (besides the baseline) chosen to exercise every service.
GOLDEN_WEEKS = (2, 8)
GOLDEN_MIXES = (
    "baseline",
    "extended_access_8to8",
    "ic_expansion,frailty_front_of_house",
    "rac_weekend,clinical_pharmacists,text_reminders",
    "gp_recruitment,pharmacy_first,online_consultation,frail_weekend_gp",
    "urgent_treatment_centre,extended_access_8to8",
    "discharge_to_assess,more_acute_beds,sdec_extended",
)


def result_digest(result: ReplicationResult) -> str:
    """First 16 hex digits of a SHA-256 over every number the replication reports."""
    h = hashlib.sha256()
    h.update(json.dumps(result.kpis, sort_keys=True).encode())
    h.update(json.dumps(result.ledger, sort_keys=True).encode())
    h.update(json.dumps(sorted((list(k), v) for k, v in result.flows.items())).encode())
    for name in sorted(result.series):
        h.update(name.encode())
        h.update(np.ascontiguousarray(result.series[name]).tobytes())
    h.update(json.dumps(result.equity, sort_keys=True).encode())
    if result.kpis_by_year:  # programme runs only, so shorter runs keep their digests
        h.update(json.dumps(result.kpis_by_year, sort_keys=True).encode())
    return h.hexdigest()[:16]


def mix_digest(mix: str, warmup_weeks: int, run_weeks: int) -> str:
    """The digest of replication 0 of ``mix`` (comma-separated options) at the default seed."""
    from sim.config.compose import compose_validated

    overrides = [] if mix == "baseline" else [f"scenario=[{mix}]"]
    _, run_cfg, _ = compose_validated(overrides)
    result = run_replication(run_cfg.model, run_cfg.seed, 0, warmup_weeks, run_weeks)
    return result_digest(result)
