"""What a planner can choose in the web app, and the ``python -m sim`` command each choice makes.

The choices come from the same files the command line reads: sites from ``conf/site/``,
presets from ``conf/experiment/``, options from the scenario catalogue (``scenarios/``). A
choice becomes the overrides a planner would type, and is checked by the command line's own
preflight (:func:`sim.cli.preflight`), so the app shows exactly the command line's messages.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from sim.config.catalogue import BASELINE, catalogue
from sim.config.locations import CONF_DIR, SCENARIO_DIR

#: Hydra's compose API keeps global state: one check at a time across the app's sessions.
_PREFLIGHT_LOCK = threading.Lock()
#: The Barnet plan's first-year investment, the budget command's default (sim/tools/budget.py).
DEFAULT_BUDGET_GBP = 2_900_000


@dataclass(frozen=True)
class Option:
    name: str
    title: str
    description: str
    incompatible_with: tuple[str, ...]


@dataclass(frozen=True)
class Preset:
    name: str
    replications: int
    warmup_weeks: int
    run_weeks: int

    @property
    def summary(self) -> str:
        return (
            f"{self.name}: {self.replications} replications x {self.run_weeks} weeks after "
            f"{self.warmup_weeks} weeks' warm-up"
        )


def _yaml(path: Path) -> dict:
    try:
        node = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    return node if isinstance(node, dict) else {}


def sites() -> dict[str, str]:
    """Site name -> its title (``conf/site/*.yaml``)."""
    files = sorted((CONF_DIR / "site").glob("*.yaml"))
    return {p.stem: str(_yaml(p).get("title") or p.stem) for p in files}


def presets() -> list[Preset]:
    """The experiment presets, shortest first (``conf/experiment/*.yaml``)."""
    found = []
    for p in sorted((CONF_DIR / "experiment").glob("*.yaml")):
        node = _yaml(p)
        try:
            found.append(
                Preset(
                    p.stem,
                    int(node["replications"]),
                    int(node["warmup_weeks"]),
                    int(node["run_weeks"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # not a preset the app can describe; the command line still reads it
    return sorted(found, key=lambda x: x.replications * (x.warmup_weeks + x.run_weeks))


def options() -> list[Option]:
    """Every investment option of the catalogue (not the baseline), in catalogue order."""
    found = []
    for name in catalogue(SCENARIO_DIR):
        if name == BASELINE:
            continue
        node = _yaml(SCENARIO_DIR / f"{name}.yaml")
        found.append(
            Option(
                name=name,
                title=str(node.get("title") or name),
                description=" ".join(str(node.get("description") or "").split()),
                incompatible_with=tuple(str(x) for x in node.get("incompatible_with") or ()),
            )
        )
    return found


def _common(site: str, preset: str, seed: int) -> list[str]:
    return [f"site={site}", f"experiment={preset}", f"seed={seed}"]


def run_overrides(site: str, chosen: list[str], preset: str, seed: int, folder: Path) -> list[str]:
    """One run of the chosen options together (or the baseline when none is chosen)."""
    scenario = f"scenario=[{','.join(chosen)}]" if chosen else f"scenario={BASELINE}"
    return [scenario, *_common(site, preset, seed), f"hydra.run.dir={folder}"]


def sweep_overrides(
    site: str, chosen: list[str], preset: str, seed: int, folder: Path, together: bool
) -> list[str]:
    """A sweep: the baseline and each chosen option (and, if ``together``, all of them
    combined), each a job paired with the baseline (conf/sweep/all_options.yaml)."""
    jobs = [BASELINE, *chosen]
    if together and len(chosen) > 1:
        jobs.append(f"[{','.join(chosen)}]")
    return [
        "+sweep=all_options",
        f"hydra.sweeper.params.scenario='choice({','.join(jobs)})'",
        *_common(site, preset, seed),
        f"hydra.sweep.dir={folder}",
    ]


def sweep_jobs(chosen: list[str], together: bool) -> int:
    return 1 + len(chosen) + (1 if together and len(chosen) > 1 else 0)


def budget_arguments(sweep_folder: Path, budget: float) -> list[str]:
    """``python -m sim budget``: the best combination within ``budget`` £ a year."""
    return ["budget", str(sweep_folder), "--budget", f"{budget:.0f}"]


def report_arguments(folder: Path) -> list[str]:
    return ["report", str(folder)]


def shell_command(arguments: list[str]) -> str:
    """``python -m sim ...`` as a planner would type it in a shell: an argument holding Hydra's
    own quotes (a sweep's ``'choice(...)'``) goes in double quotes, one with other characters
    a shell would read (``[``, ``]``, spaces) in single quotes."""
    words = []
    for arg in arguments:
        if "'" in arg and not any(c in arg for c in '"$`\\!'):
            words.append(f'"{arg}"')
        else:
            words.append(shlex.quote(arg))
    return " ".join(["python", "-m", "sim", *words])


def check(overrides: list[str]) -> str | None:
    """The command line's preflight for these overrides: None when the run may start, else
    exactly the message ``python -m sim`` would print (one line, naming key, value and rule)."""
    from sim.cli import preflight

    err = io.StringIO()
    with _PREFLIGHT_LOCK, contextlib.redirect_stderr(err):
        code = preflight(overrides)
    return None if code == 0 else (err.getvalue().strip() or f"exit code {code}")
