"""Fingerprints of what a run simulated, from its composed configuration: the people (the
site's population and the seed) and the demand, before and after the options' changes.

Every run's manifest records them, and ``python -m sim compare`` refuses to pair two runs
whose people differ (:mod:`sim.experiments.comparison`). Kept apart from the comparison so
that a run records them without loading the tables' libraries (pandas) before its first
replication (docs/performance.md, "Start-up").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from sim.config.scenarios import DEMAND_SETTINGS, POPULATION_SETTINGS, apply_options
from sim.config.schema import ConfigError, ScenarioOption, from_dict

#: Manifest fields that fingerprint what a run simulated (see :func:`population_fingerprints`).
FINGERPRINT_KEYS = (
    "population_sha256",
    "demand_sha256",
    "simulated_demand_sha256",
    "demand_changed_by",
    "practices",
    "registered_patients",
)


def _select(node: Any, patterns: tuple[str, ...], prefix: str = "") -> Any:
    """The parts of ``node`` (nested mappings) named by dotted ``patterns`` (``*`` = any)."""
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in sorted(node.items(), key=lambda kv: str(kv[0])):
        key = f"{prefix}.{k}" if prefix else str(k)
        if any(p == key or _matches(p, key) for p in patterns):
            out[str(k)] = v
        elif any(_under(key, p) for p in patterns):
            out[str(k)] = _select(v, patterns, key)
    return out


def _matches(pattern: str, key: str) -> bool:
    want, have = pattern.split("."), key.split(".")
    return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


def _under(key: str, pattern: str) -> bool:
    want, have = pattern.split("."), key.split(".")
    return len(have) < len(want) and all(w in ("*", h) for w, h in zip(want, have, strict=False))


def _sha(value: Any) -> str:
    # Numbers as floats, so 11680 and 11680.0 (YAML vs a command line) hash alike.
    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        return v

    text = json.dumps(norm(value), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def population_fingerprints(data: dict[str, Any]) -> dict[str, Any]:
    """Fingerprints of what a run simulated, from its composed configuration (``data``: the
    ``.hydra/config.yaml`` of a run folder, with the chosen options' contents under
    ``scenario``).

    - ``population_sha256``: the seed and the site's population settings
      (:data:`~sim.config.scenarios.POPULATION_SETTINGS`: practices, list sizes, age mix,
      calendar) before any option is applied. Runs that differ here simulate different people.
    - ``demand_sha256``: the demand settings (:data:`~sim.config.scenarios.DEMAND_SETTINGS`)
      before any option is applied.
    - ``simulated_demand_sha256``: both, after the options' changes: what was simulated.
    - ``demand_changed_by``: the options that declare ``changes_demand: true``.
    """
    site, assumptions = data.get("site") or {}, data.get("assumptions") or {}
    options = {str(n): o for n, o in (data.get("scenario") or {}).items() if isinstance(o, dict)}
    before = {"site": site, "assumptions": assumptions}
    merged_site, merged_assumptions = site, assumptions
    parsed = {}
    for name, option in options.items():
        try:
            parsed[name] = from_dict(ScenarioOption, option, f"scenario.{name}")
        except ConfigError:
            continue  # a run's options were validated when it ran; nothing to say here
    # What the options did, declared or not (a run made before options had to declare it).
    applied = {n: dataclasses.replace(o, changes_demand=True) for n, o in parsed.items()}
    try:
        merged_site, merged_assumptions = apply_options(site, assumptions, applied)
    except ConfigError:
        pass
    after = {"site": merged_site, "assumptions": merged_assumptions}
    practices = (site.get("practices") or {}) if isinstance(site, dict) else {}
    patients = sum(
        float(p.get("list_size") or 0) for p in practices.values() if isinstance(p, dict)
    )
    return {
        "population_sha256": _sha(
            {"seed": data.get("seed"), **_select(before, POPULATION_SETTINGS)}
        ),
        "demand_sha256": _sha(_select(before, DEMAND_SETTINGS)),
        "simulated_demand_sha256": _sha(
            {"seed": data.get("seed"), **_select(after, POPULATION_SETTINGS + DEMAND_SETTINGS)}
        ),
        "demand_changed_by": sorted(n for n, o in parsed.items() if o.changes_demand),
        "practices": len(practices),
        "registered_patients": int(patients),
    }
