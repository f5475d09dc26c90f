"""The option catalogue (``scenarios/*.yaml``): names, the order options appear in, titles.

One order and one name per option everywhere: tables, figures, the report and notebooks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from sim.config.locations import SCENARIO_DIR, option_file

BASELINE = "baseline"
#: Joins option names in a combination's label (``a+b``).
COMBINATION_SEPARATOR = "+"


@lru_cache(maxsize=4)
def catalogue(folder: Path = SCENARIO_DIR) -> tuple[str, ...]:
    """Option names of the scenario catalogue: ``baseline`` first, then the rest sorted."""
    names = sorted(p.stem for p in Path(folder).glob("*.yaml"))
    return (BASELINE, *[n for n in names if n != BASELINE])


def option_title(name: str, titles: Mapping[str, str] | None = None) -> str:
    """Human-readable name of an option: its title from ``titles`` (e.g. the run's
    configuration), else the scenario files' titles joined with " + ", else ``name``."""
    if titles and titles.get(name):
        return str(titles[name])
    parts = name.split(COMBINATION_SEPARATOR)
    file_titles = [_file_title(p) for p in parts]
    if all(file_titles):
        return " + ".join(str(t) for t in file_titles)
    return name


@lru_cache(maxsize=64)
def _file_title(name: str) -> str | None:
    """The title in option ``name``'s file (shipped, or the working folder's)."""
    from sim.config.scenarios import read_option_file
    from sim.config.schema import ConfigError

    try:
        node = read_option_file(option_file(name))
    except ConfigError:  # missing, malformed, another encoding, aliases: no title from it
        return None
    title = node.get("title") if isinstance(node, dict) else None
    return str(title) if title else None


def option_order(names: Iterable[str], folder: Path = SCENARIO_DIR) -> list[str]:
    """``names`` in catalogue order (baseline first), each combination right after its first
    option, options outside the catalogue last: the same order in every figure and table."""
    index = {n: i for i, n in enumerate(catalogue(folder))}

    def key(name: str) -> tuple[int, int, str]:
        if name in index:
            return (index[name], 0, name)
        first = name.split(COMBINATION_SEPARATOR)[0]
        return (index.get(first, len(index)), 1, name)

    return sorted(names, key=key)
