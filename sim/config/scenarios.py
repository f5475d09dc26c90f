"""Investment options: safe loading of ``scenarios/*.yaml`` and applying their changes.

A scenario file is data shared between organisations, so it must not be able to run code:
it is read with :mod:`sim.config.safe_yaml` (size-limited, UTF-8, no aliases, safe
YAML); Hydra instantiation keys (``_target_`` and friends) and
OmegaConf interpolations (``${...}``, which can call resolvers) are refused outright.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from sim.config import safe_yaml
from sim.config.schema import Assumptions, ConfigError, ScenarioOption, Site, from_dict

FORBIDDEN_KEYS = frozenset(
    {"_target_", "_call_", "_partial_", "_recursive_", "_args_", "_convert_"}
)
CHANGEABLE_SECTIONS = {"site": Site, "assumptions": Assumptions}

#: Settings that decide who the patients are: with the same seed, runs that agree on them
#: simulate the same people (``*`` stands for any one name). Practice capacity (``gp_fte``...)
#: is not among them: it changes what services do, not who needs them.
POPULATION_SETTINGS = (
    "site.calendar_start",
    "site.age_share",
    "site.frailty_share_65plus",
    "site.localities.*.age_share",
    "site.practices.*.locality",
    "site.practices.*.list_size",
    "site.practices.*.age_share",
    # who is registered in later programme years
    "site.population_index",
    "site.localities.*.population_index",
    "site.practices.*.population_index",
)
#: Settings that decide which needs those patients have and when: episodes of need, and the
#: people who arrive at A&E on their own.
DEMAND_SETTINGS = (
    "assumptions.demand",
    "assumptions.ae.self_presenting_per_1000_year",
    "assumptions.ae.weekday_share",
    "assumptions.ae.hour_share",
    "assumptions.ae.month_multiplier",
    "assumptions.ae.ambulance_share",
    "assumptions.ae.majors_share_walk_in",
    "assumptions.ae.primary_care_treatable_share_walk_in",
)


def touches(key: str, patterns: tuple[str, ...]) -> bool:
    """Whether setting ``key`` (dotted) is, contains or lies inside one of ``patterns``."""
    have = key.split(".")
    for pattern in patterns:
        want = pattern.split(".")
        if all(w in ("*", h) for w, h in zip(want, have, strict=False)):
            return True
    return False


def read_option_file(path: Path) -> dict[str, Any]:
    """Read one scenario file as plain data, refusing anything that could run code.

    The file is size-limited, must be UTF-8 and may not use YAML aliases
    (:mod:`sim.config.safe_yaml`); every problem is a :class:`ConfigError` naming the file.
    """
    name = path.stem
    data = safe_yaml.load(path, f"scenario.{name}", allow_aliases=False)
    if not isinstance(data, dict):
        raise ConfigError(
            f"scenario.{name}",
            data,
            "must be a mapping with title, description, changes",
            str(path),
        )
    _refuse_code(data, f"scenario.{name}", str(path))
    return data


def _refuse_code(node: Any, key: str, file: str) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if str(k) in FORBIDDEN_KEYS:
                raise ConfigError(
                    f"{key}.{k}", v, "scenario files are data and cannot name code to run", file
                )
            _refuse_code(v, f"{key}.{k}", file)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _refuse_code(v, f"{key}[{i}]", file)
    elif isinstance(node, str) and "${" in node:
        raise ConfigError(
            key, node, "interpolations (${...}) are not allowed in scenario files", file
        )


def _file(files: Mapping[str, Path] | None, name: str) -> str | None:
    return str(files[name]) if files and name in files else None


def parse_options(
    raw: dict[str, Any], files: Mapping[str, Path] | None = None
) -> dict[str, ScenarioOption]:
    """Validate the composed ``scenario`` node: ``{name: option data}`` in selection order.
    ``files`` names each option's file, for the errors."""
    options = {}
    for name, data in raw.items():
        file = _file(files, name)
        if isinstance(data, dict) and "_load_error" in data:
            error = data["_load_error"]  # as cli.register stored it: the file's first error
            raise ConfigError(error["key"], error["value"], error["rule"], file)
        _refuse_code(data, f"scenario.{name}", file or name)
        try:
            options[name] = from_dict(ScenarioOption, data, f"scenario.{name}")
        except ConfigError as err:
            raise ConfigError(err.key, err.value, err.rule, file) from None
    names = list(options)
    for name, opt in options.items():
        for other in opt.incompatible_with:
            if other in options:
                raise ConfigError(
                    "scenario",
                    names,
                    f"options '{name}' and '{other}' cannot be combined (see incompatible_with)",
                    file=_file(files, name),
                )
    return options


def apply_options(
    site: dict[str, Any],
    assumptions: dict[str, Any],
    options: dict[str, ScenarioOption],
    files: Mapping[str, Path] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Deep-merge each option's ``changes`` onto copies of the site and assumptions, in order."""
    merged = {"site": copy.deepcopy(site), "assumptions": copy.deepcopy(assumptions)}
    for name, opt in options.items():
        file = _file(files, name)
        for section, change in opt.changes.items():
            if section not in CHANGEABLE_SECTIONS:
                raise ConfigError(
                    f"scenario.{name}.changes.{section}",
                    change,
                    f"a scenario can change only {list(CHANGEABLE_SECTIONS)}",
                    file,
                )
            schema = CHANGEABLE_SECTIONS[section]
            origin = f"scenario.{name}.changes"
            _merge(merged[section], change, section, origin, file, schema, opt.changes_demand)
    return merged["site"], merged["assumptions"]


def child_type(tp: Any, key: str) -> Any:
    """The schema type of ``key`` inside ``tp`` (a dataclass or a name-keyed mapping), or
    None when the schema has no such setting."""
    if get_origin(tp) in (Union, types.UnionType):
        tp = next(a for a in get_args(tp) if a is not type(None))
    if dataclasses.is_dataclass(tp):
        return typing.get_type_hints(tp).get(key)
    if get_origin(tp) is dict:
        return get_args(tp)[1]
    return None


def _merge(
    base: dict,
    change: Any,
    path: str,
    origin: str,
    file: str | None,
    tp: Any,
    changes_demand: bool,
) -> None:
    """Merge ``change`` into ``base``, refusing settings the schema ``tp`` does not have, and
    changes to the population or demand by an option that does not declare
    ``changes_demand: true`` (a comparison must be able to say so)."""
    if not isinstance(change, dict):
        raise ConfigError(
            f"{origin}.{path}", change, "must be a mapping of settings to change", file
        )
    for k, v in change.items():
        here = f"{path}.{k}"
        child = child_type(tp, str(k))
        if child is None:
            raise ConfigError(
                f"{origin}.{here}", v, "changes a setting that does not exist in the model", file
            )
        if isinstance(base.get(k), dict) and isinstance(v, dict):
            _merge(base[k], v, here, origin, file, child, changes_demand)
            continue
        if not changes_demand and touches(here, POPULATION_SETTINGS + DEMAND_SETTINGS):
            raise ConfigError(
                f"{origin}.{here}",
                v,
                "changes who the patients are or which needs they have; an option that does "
                "must declare it with 'changes_demand: true' (comparisons then say so)",
                file,
            )
        base[k] = copy.deepcopy(v)


def label(names: list[str]) -> str:
    """Folder-friendly label of a combination of options."""
    return "+".join(names) if names else "baseline"
