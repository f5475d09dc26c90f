"""Uncertain inputs: a distribution for each assumption, validated, and drawn from uniforms.

The ``uncertainty`` configuration group (``conf/uncertainty/*.yaml``) lists the uncertain
settings by their dotted path into the composed configuration (``assumptions.booking.no_slot
.urgent``, ``site.emergency_department.frailty_front_of_house.turnaround_share``, or an
option's own effect, ``scenario.<option>.changes.assumptions....``). Each is centred on the
value the configuration already holds, so the YAML files stay the one place a central value
is written. Its width is the source's published range where there is one, otherwise a
coefficient of variation taken from the setting's confidence code (V tight .. P wide).

Every draw is a deterministic function of a few uniforms in [0, 1) (inverse transform), so a
quasi-random design (``scipy.stats.qmc``) over the unit cube maps to parameter sets, and an
option that sets an uncertain value itself moves in step with the baseline's draw (the same
quantiles of a distribution centred on the option's own value). Pure: no files, no Hydra.
See docs/uncertainty.md.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

import numpy as np
from scipy import stats

from sim.config.schema import (
    Assumptions,
    ConfigError,
    NoSlotRule,
    Site,
    from_dict,
)

#: Distribution families and what each may describe.
DISTRIBUTIONS = ("beta", "gamma", "lognormal", "dirichlet")
#: How a distribution applies to the setting: ``value`` (the number itself), ``scale`` (one
#: multiplier with mean 1 for every number in a table: the level is uncertain, the shape is
#: not), ``odds`` (one odds ratio, lognormal with median 1, for every probability in a table),
#: ``each`` (every entry of a table drawn independently), ``growth`` (one multiplier with mean
#: 1 of every series' change from its first value, on the log scale: x_t = x_1 (x_t / x_1)^m,
#: so the first year stays as given, a growth stays a growth, a fall a fall, and no value
#: crosses 0; for projections year by year such as ``site.population_index``).
APPLY_MODES = ("value", "scale", "odds", "each", "growth")
CONFIDENCE_CODES = ("V", "V2", "D", "R", "P")
#: A published range is read as a 95% interval: sd = (high - low) / (2 x 1.96).
RANGE_Z = 1.959963984540054


@dataclass
class UncertainInput:
    """One uncertain setting and its distribution."""

    setting: str  # dotted path: site.*, assumptions.*, or scenario.<option>.changes.*
    distribution: str = dataclasses.field(metadata={"choices": DISTRIBUTIONS})
    code: str = dataclasses.field(metadata={"choices": CONFIDENCE_CODES})  # source confidence
    apply: str = dataclasses.field(default="value", metadata={"choices": APPLY_MODES})
    # The source's published range of the value (read as a 95% interval); sets the width
    range: list[float] | None = dataclasses.field(default=None, metadata={"min": 0})
    # Coefficient of variation (sd / mean) given directly; otherwise from range or code
    cv: float | None = dataclasses.field(default=None, metadata={"min": 0})
    # A whole-number setting (a count, a lag in whole weeks): each draw is rounded to the
    # nearest whole number and kept within the setting's bounds
    whole_numbers: bool = False
    group: str = ""  # input group for reporting and EVPPI (default: the setting's section)
    basis: str = ""  # source key and reasoning, as in docs/model.md


@dataclass
class Uncertainty:
    """The ``uncertainty`` configuration group."""

    # Coefficient of variation used when a setting has no published range, by confidence code
    width_by_code: dict[str, float] = dataclasses.field(
        metadata={"keys": CONFIDENCE_CODES, "min": 0}
    )
    inputs: dict[str, UncertainInput] = dataclasses.field(default_factory=dict)
    # Multiplies every width: 0 gives zero-width distributions (every draw is the central
    # value: the PSA reproduces an ordinary run exactly); 0.5 halves every width
    width_multiplier: float = dataclasses.field(default=1.0, metadata={"min": 0})
    title: str = ""


# --------------------------------------------------------------------------------------------
# Resolved inputs: the distribution fitted to its central value
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One uniform coordinate of the design: an input, or one entry of it."""

    input: str  # the input's name in the uncertainty group
    entry: str | None  # table entry (``each``, ``dirichlet``), else None

    @property
    def name(self) -> str:
        return self.input if self.entry is None else f"{self.input}[{self.entry}]"


@dataclass
class ResolvedInput:
    """An input checked against the configuration: its central value and width."""

    name: str
    spec: UncertainInput
    section: str  # "site" or "assumptions": where the setting lives in a run's model
    path: tuple[str, ...]  # keys below the section
    option: str | None  # an option's own effect: applies only when this option runs
    central: Any
    cv: float  # coefficient of variation after width_multiplier
    entries: tuple[str, ...] = ()  # factor entries (``each``, ``dirichlet``)
    group: str = ""
    # the schema's bounds of a whole-number setting (draws are rounded and kept within them)
    bounds: tuple[float | None, float | None] = (None, None)

    @property
    def factors(self) -> list[Factor]:
        if self.spec.apply == "each" or self.spec.distribution == "dirichlet":
            return [Factor(self.name, e) for e in self.entries]
        return [Factor(self.name, None)]

    @property
    def zero_width(self) -> bool:
        return self.cv == 0

    def draw(self, central: Any, u: np.ndarray) -> Any:
        """The drawn value of this setting for uniforms ``u`` (one per factor), centred on
        ``central`` (the baseline's value, or an option's own value of the same setting)."""
        if self.zero_width:
            return central
        d, mode = self.spec.distribution, self.spec.apply
        if d == "dirichlet":
            return dirichlet_draw(central, self.cv, u, self.entries)
        if mode == "value":
            drawn = float(quantile(d, float(central), self.cv, float(u[0])))
            return whole_number(drawn, *self.bounds) if self.spec.whole_numbers else drawn
        if mode == "growth":
            return grow_series(central, float(quantile(d, 1.0, self.cv, float(u[0]))))
        if mode == "scale":
            return scale_numbers(central, float(quantile(d, 1.0, self.cv, float(u[0]))))
        if mode == "odds":
            return shift_odds(central, odds_ratio(self.cv, float(u[0])))
        out = copy.deepcopy(central)  # each
        for e, ui in zip(self.entries, u, strict=True):
            key: Any = int(e) if isinstance(out, list) else e
            out[key] = float(quantile(d, float(out[key]), self.cv, float(ui)))
        return out

    def factor_values(self, central: Any, u: np.ndarray) -> list[float]:
        """Interpretable value of each factor: the value, the multiplier, the odds ratio, the
        table entry or the share."""
        mode = self.spec.apply
        if self.spec.distribution == "dirichlet":
            drawn = self.draw(central, u)
            return [float(drawn[e]) for e in self.entries]
        if mode in ("scale", "growth"):
            return [
                1.0
                if self.zero_width
                else float(quantile(self.spec.distribution, 1.0, self.cv, float(u[0])))
            ]
        if mode == "odds":
            return [1.0 if self.zero_width else odds_ratio(self.cv, float(u[0]))]
        drawn = self.draw(central, u)
        if mode == "each":
            return [float(drawn[int(e) if isinstance(drawn, list) else e]) for e in self.entries]
        return [float(drawn)]


# --------------------------------------------------------------------------------------------
# Distributions from a central value and a coefficient of variation
# --------------------------------------------------------------------------------------------


def beta_parameters(mean: float, cv: float) -> tuple[float, float]:
    """Beta (a, b) with this mean and sd = cv x min(mean, 1 - mean): the width is relative to
    the nearer bound, so a share near 0 or 1 keeps room to move and never leaves [0, 1]."""
    sd = cv * min(mean, 1 - mean)
    k = mean * (1 - mean) / sd**2 - 1
    return mean * k, (1 - mean) * k


def quantile(distribution: str, mean: float, cv: float, u: float) -> float:
    """The ``u`` quantile of a beta, gamma or lognormal with this mean and CV (CV 0, or a
    mean at a bound, gives the mean itself)."""
    if cv == 0 or mean == 0 or (distribution == "beta" and mean == 1):
        return mean
    if distribution == "beta":
        a, b = beta_parameters(mean, cv)
        return float(stats.beta.ppf(u, a, b))
    if distribution == "gamma":
        shape = 1 / cv**2
        return float(stats.gamma.ppf(u, shape, scale=mean / shape))
    sigma = math.sqrt(math.log1p(cv**2))  # lognormal
    return float(stats.lognorm.ppf(u, sigma, scale=mean * math.exp(-(sigma**2) / 2)))


def odds_ratio(cv: float, u: float) -> float:
    """A lognormal odds ratio with median 1 and log-sd ``cv``."""
    return float(math.exp(cv * stats.norm.ppf(u)))


def shift_odds(value: Any, ratio: float) -> Any:
    """Every probability in ``value`` (a number, list or mapping) with its odds times
    ``ratio``; 0 and 1 stay where they are."""
    if isinstance(value, dict):
        return {k: shift_odds(v, ratio) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_odds(v, ratio) for v in value]
    p = float(value)
    if p <= 0 or p >= 1:
        return p
    odds = p / (1 - p) * ratio
    return odds / (1 + odds)


def scale_numbers(value: Any, factor: float) -> Any:
    """Every number in ``value`` (a number, list or mapping, nested) times ``factor``."""
    if isinstance(value, dict):
        return {k: scale_numbers(v, factor) for k, v in value.items()}
    if isinstance(value, list):
        return [scale_numbers(v, factor) for v in value]
    return float(value) * factor


def grow_series(value: Any, m: float) -> Any:
    """Every series (list) in ``value`` (a list, or a mapping of them) with its change from
    its first value raised to the power ``m``: x_t = x_1 (x_t / x_1)^m. With m > 0 the first
    value stays, a value above (below) the first stays above (below) it, and none crosses 0."""
    if isinstance(value, dict):
        return {k: grow_series(v, m) for k, v in value.items()}
    first = float(value[0])
    return [first * (float(x) / first) ** m for x in value]


def whole_number(x: float, low: float | None, high: float | None) -> int:
    """``x`` rounded to the nearest whole number (halves up), kept within [low, high]."""
    n = math.floor(x + 0.5)
    if low is not None:
        n = max(n, math.ceil(low))
    if high is not None:
        n = min(n, math.floor(high))
    return int(n)


def dirichlet_concentration(shares: dict[str, float], cv: float) -> float:
    """Dirichlet concentration (sum of the alphas) with which the smallest non-zero share has
    coefficient of variation about ``cv``; every larger share varies less, relative to itself."""
    smallest = min(v for v in shares.values() if v > 0)
    return max(1 / (cv**2 * smallest) - 1, 1e-9)


def dirichlet_draw(
    shares: dict[str, float], cv: float, u: np.ndarray, entries: tuple[str, ...]
) -> dict[str, float]:
    """Shares drawn from a Dirichlet with mean ``shares``, by the gamma construction from one
    uniform per entry; entries at 0 stay 0, the rest still sum to 1."""
    nonzero = [e for e in entries if shares[e] > 0]
    if len(nonzero) < 2:
        return dict(shares)
    c = dirichlet_concentration(shares, cv)
    g = {e: float(stats.gamma.ppf(ui, c * shares[e])) for e, ui in zip(entries, u, strict=True)}
    total = sum(g[e] for e in nonzero)
    return {k: (g[k] / total if k in nonzero else 0.0) for k in shares}


# --------------------------------------------------------------------------------------------
# Validation: every input against the schema and the composed configuration
# --------------------------------------------------------------------------------------------

_SECTIONS = {"site": Site, "assumptions": Assumptions}


def _schema_at(cls: type, path: tuple[str, ...]) -> tuple[Any, dict] | None:
    """(type, rule) of the setting at ``path`` below dataclass ``cls``; None if no such
    setting."""
    tp: Any = cls
    rule: dict = {}
    for key in path:
        if get_origin(tp) in (typing.Union, types.UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        if dataclasses.is_dataclass(tp):
            fields = {f.name: f for f in dataclasses.fields(tp)}
            if key not in fields:
                return None
            rule = dict(fields[key].metadata)
            tp = typing.get_type_hints(tp)[key]
        elif get_origin(tp) is dict:
            allowed = rule.get("keys") or rule.get("keys_subset")
            if allowed is not None and key not in allowed:
                return None
            tp = get_args(tp)[1]
            rule = {k: v for k, v in rule.items() if k in ("min", "max")}
        else:
            return None
    return tp, rule


def _lookup(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _numbers(value: Any) -> list[float] | None:
    """Every number in a number, list or (nested) mapping; None if anything else is there."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return [float(value)]
    items = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    )
    if items is None:
        return None
    out: list[float] = []
    for v in items:
        inner = _numbers(v)
        if inner is None:
            return None
        out += inner
    return out


def _is_share(tp: Any, rule: dict) -> bool:
    """Whether the schema bounds this setting (or each of its entries) to [0, 1]."""
    if _sums_to_one(rule, tp):
        return True
    return rule.get("max") is not None and rule["max"] <= 1


def _sums_to_one(rule: dict, tp: Any = None) -> bool:
    # the no-slot rule is a record of shares that check_assumptions requires to sum to 1
    return bool(rule.get("shares") or rule.get("sums_to_one")) or tp is NoSlotRule


def _whole_numbers(tp: Any) -> bool:
    if get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in get_args(tp) if a is not type(None))
    if tp is int:
        return True
    if get_origin(tp) in (list, dict):
        return _whole_numbers(get_args(tp)[-1])
    return False


def parse_uncertainty(
    raw: Any,
    site: dict[str, Any],
    assumptions: dict[str, Any],
    option_changes: typing.Callable[[str], dict[str, Any] | None],
    path: str = "uncertainty",
) -> tuple[Uncertainty, list[ResolvedInput]]:
    """Validate the ``uncertainty`` group against the composed site and assumptions.

    ``option_changes(name)`` returns an option's ``changes`` from the catalogue (None if no
    such option). Raises :class:`ConfigError` naming the key, the value and the rule.
    """
    unc = from_dict(Uncertainty, raw, path)
    resolved = []
    seen: dict[tuple[str | None, str, tuple[str, ...]], str] = {}
    for name, spec in unc.inputs.items():
        key = f"{path}.inputs.{name}"
        r = _resolve(name, spec, unc, site, assumptions, option_changes, key)
        where = (r.option, r.section, r.path)
        if where in seen:
            raise ConfigError(
                f"{key}.setting", spec.setting, f"already has a distribution ({seen[where]})"
            )
        seen[where] = name
        resolved.append(r)
    return unc, resolved


def _resolve(
    name: str,
    spec: UncertainInput,
    unc: Uncertainty,
    site: dict[str, Any],
    assumptions: dict[str, Any],
    option_changes: typing.Callable[[str], dict[str, Any] | None],
    key: str,
) -> ResolvedInput:
    parts = tuple(spec.setting.split("."))
    option = None
    if parts[0] == "scenario":
        if len(parts) < 5 or parts[2] != "changes":
            raise ConfigError(
                f"{key}.setting",
                spec.setting,
                "an option's effect is named scenario.<option>.changes.<section>.<setting>",
            )
        option = parts[1]
        changes = option_changes(option)
        if changes is None:
            raise ConfigError(f"{key}.setting", spec.setting, f"no option '{option}' in scenarios/")
        parts = parts[3:]
        central = _lookup(changes, parts)
        if central is None:
            raise ConfigError(
                f"{key}.setting",
                spec.setting,
                f"option '{option}' does not change this setting (see its changes:)",
            )
    elif parts[0] in _SECTIONS:
        central = _lookup(site if parts[0] == "site" else assumptions, parts[1:])
        if central is None:
            raise ConfigError(
                f"{key}.setting",
                spec.setting,
                "is not a setting in the configuration files (a code default cannot be given a "
                "distribution; write it in the YAML first)",
            )
    else:
        raise ConfigError(
            f"{key}.setting", spec.setting, "must start with site., assumptions. or scenario."
        )
    section, below = parts[0], parts[1:]
    found = _schema_at(_SECTIONS[section], below) if section in _SECTIONS else None
    if found is None:
        raise ConfigError(f"{key}.setting", spec.setting, "is not a setting of the model")
    tp, rule = found
    numbers = _numbers(central)
    if numbers is None or not numbers:
        raise ConfigError(f"{key}.setting", spec.setting, "holds no numbers to draw")
    d, mode = spec.distribution, spec.apply
    if _whole_numbers(tp) and not spec.whole_numbers:
        raise ConfigError(
            f"{key}.setting",
            spec.setting,
            "is a whole number (a count or a time of day); only continuous settings can be "
            "drawn, unless whole_numbers: true rounds each draw (a count, a lag in weeks)",
        )
    if spec.whole_numbers:
        if not _whole_numbers(tp):
            raise ConfigError(
                f"{key}.whole_numbers", True, "the setting is continuous: leave whole_numbers out"
            )
        if d not in ("gamma", "lognormal") or mode != "value":
            raise ConfigError(
                f"{key}.distribution",
                d,
                "a whole number is drawn as one gamma or lognormal value (apply: value), rounded",
            )
    share = _is_share(tp, rule)
    table = isinstance(central, dict | list)
    if d == "dirichlet":
        if not (isinstance(central, dict) and _sums_to_one(rule, tp)):
            raise ConfigError(
                f"{key}.distribution",
                d,
                "a Dirichlet describes shares that must sum to 1; this setting is not such a set",
            )
        if mode != "value":
            raise ConfigError(f"{key}.apply", mode, "a Dirichlet draws the shares themselves")
        if sum(1 for v in central.values() if v > 0) < 2:
            raise ConfigError(f"{key}.setting", central, "needs at least two shares above 0")
    elif mode == "value" and table:
        raise ConfigError(
            f"{key}.apply",
            mode,
            "this setting is a table: use scale (one multiplier), odds (one odds ratio), each "
            "(every entry) or a dirichlet for shares that sum to 1",
        )
    elif mode in ("scale", "odds", "each", "growth") and not table:
        raise ConfigError(f"{key}.apply", mode, "applies to a table; this setting is one number")
    elif mode == "each" and _sums_to_one(rule, tp):
        raise ConfigError(
            f"{key}.apply",
            mode,
            "drawing shares that must sum to 1 independently breaks the sum; use a dirichlet",
        )
    if mode == "growth":
        series = list(central.values()) if isinstance(central, dict) else [central]
        if d not in ("gamma", "lognormal"):
            raise ConfigError(
                f"{key}.distribution", d, "a growth multiplier is positive: gamma or lognormal"
            )
        if not all(isinstance(x, list) and x and float(x[0]) > 0 for x in series):
            raise ConfigError(
                f"{key}.apply",
                mode,
                "applies to series (lists, or a mapping of lists) whose first value is above 0",
            )
    if d == "beta" and mode not in ("value", "each"):
        raise ConfigError(f"{key}.apply", mode, "a beta describes a share itself (value or each)")
    if d == "beta" and not all(0 <= v <= 1 for v in numbers):
        raise ConfigError(f"{key}.distribution", d, "a beta lies in [0, 1] but the value does not")
    if mode == "odds":
        if d != "lognormal":
            raise ConfigError(f"{key}.distribution", d, "an odds ratio is lognormal")
        if not all(0 <= v <= 1 for v in numbers):
            raise ConfigError(f"{key}.apply", mode, "odds apply to probabilities in [0, 1]")
    if d in ("gamma", "lognormal") and mode != "odds":
        if share:
            raise ConfigError(
                f"{key}.distribution",
                d,
                f"a {d} distribution can exceed 1 but {spec.setting} is a share in [0, 1]: use "
                "beta (one share), odds (a table of probabilities) or dirichlet (shares summing "
                "to 1)",
            )
        if any(v < 0 for v in numbers):
            raise ConfigError(f"{key}.distribution", d, "describes positive values only")
    cv = _width(spec, unc, central, key)
    if d == "beta" and cv > 0:
        for v in numbers:
            if 0 < v < 1:
                a, b = beta_parameters(v, cv)
                if not (a > 0 and b > 0):
                    raise ConfigError(
                        f"{key}.cv", cv, f"too wide for a beta with mean {v:g} (must be < 1)"
                    )
    entries: tuple[str, ...] = ()
    if d == "dirichlet":  # shares at 0 stay at 0: no coordinate for them
        entries = tuple(str(k) for k, v in central.items() if v > 0)
    elif mode == "each":
        keys = central.keys() if isinstance(central, dict) else range(len(central))
        entries = tuple(str(k) for k in keys)
    group = spec.group or (f"option: {option}" if option else below[0].replace("_", " "))
    bounds = (rule.get("min", rule.get("min_exclusive")), rule.get("max"))
    return ResolvedInput(name, spec, section, below, option, central, cv, entries, group, bounds)


def _width(spec: UncertainInput, unc: Uncertainty, central: Any, key: str) -> float:
    """Coefficient of variation: given, from the published range, or from the code."""
    if spec.cv is not None:
        cv = spec.cv
    elif spec.range is not None:
        if len(spec.range) != 2 or not spec.range[0] < spec.range[1]:
            raise ConfigError(f"{key}.range", spec.range, "must be [low, high] with low < high")
        if spec.apply != "value":
            raise ConfigError(
                f"{key}.range", spec.range, "a published range applies to a single number; use cv"
            )
        lo, hi = spec.range
        if not lo <= float(central) <= hi:
            raise ConfigError(
                f"{key}.range", spec.range, f"does not contain the configured value {central:g}"
            )
        cv = (hi - lo) / (2 * RANGE_Z) / float(central) if central else 0.0
    else:
        cv = unc.width_by_code[spec.code]
    if spec.distribution == "beta" and cv >= 1:
        raise ConfigError(
            f"{key}.cv", cv, "a beta's width relative to the nearer bound must be below 1"
        )
    return cv * unc.width_multiplier


# --------------------------------------------------------------------------------------------
# Applying a parameter set to a run's site and assumptions
# --------------------------------------------------------------------------------------------


@dataclass
class ParameterSet:
    """Uniforms for every factor of every input (one row of the design)."""

    number: int  # -1: the central set (configured values)
    u: dict[str, np.ndarray] = field(default_factory=dict)  # input name -> uniforms


def apply_parameter_set(
    site: dict[str, Any],
    assumptions: dict[str, Any],
    options: list[str],
    inputs: list[ResolvedInput],
    pset: ParameterSet,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copies of a run's merged ``site`` and ``assumptions`` (options already applied) with
    the parameter set's draws. An option's own effect is drawn first (when that option is in
    the run); then every site/assumptions input is drawn around the value the run holds, so
    an option that sets an uncertain value moves with the baseline's draw."""
    merged = {"site": copy.deepcopy(site), "assumptions": copy.deepcopy(assumptions)}
    if pset.number < 0:
        return merged["site"], merged["assumptions"]
    ordered = [r for r in inputs if r.option is not None and r.option in options]
    ordered += [r for r in inputs if r.option is None]
    for r in ordered:
        parent = _lookup(merged[r.section], r.path[:-1])
        leaf: Any = r.path[-1]
        if isinstance(parent, list):
            leaf = int(leaf)
        if parent is None or (isinstance(parent, dict) and leaf not in parent):
            continue  # not in this run's configuration (an option removed it)
        parent[leaf] = r.draw(parent[leaf], pset.u[r.name])
    return merged["site"], merged["assumptions"]


# --------------------------------------------------------------------------------------------
# The design of a probabilistic sensitivity analysis (the ``psa`` settings)
# --------------------------------------------------------------------------------------------

SAMPLERS = ("sobol", "latin_hypercube")
#: Outcomes a willingness to pay is stated for (per one avoided).
WTP_OUTCOMES = ("ae_attendance", "admission", "bed_day")


@dataclass
class PsaDesign:
    """How many parameter sets, drawn how, and which options run in each."""

    sets: int = dataclasses.field(metadata={"min": 1, "max": 100_000})  # parameter draws
    options: list[str] = dataclasses.field(default_factory=list)  # against the baseline
    sampler: str = dataclasses.field(default="sobol", metadata={"choices": SAMPLERS})
    # The central set (configured values) runs this many replications: it is the ordinary
    # run's result, and with one replication per drawn set it measures the stochastic noise
    central_replications: int = dataclasses.field(default=5, metadata={"min": 1, "max": 1000})
    # Willingness to pay (£) per outcome avoided, for the acceptability curves
    wtp_gbp: dict[str, list[float]] = dataclasses.field(
        default_factory=dict, metadata={"keys": WTP_OUTCOMES, "min": 0}
    )
    # The job's set: 0 is the central set, 1..sets the draws (set by the sweep)
    set: int | None = dataclasses.field(default=None, metadata={"min": 0})
    name: str = "psa"


def parse_psa(raw: Any, known_options: list[str], path: str = "psa") -> PsaDesign:
    design = from_dict(PsaDesign, raw, path)
    # the name is the analysis's folder under outputs/uncertainty/ (conf/psa/default.yaml)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", design.name) or ".." in design.name:
        raise ConfigError(
            f"{path}.name",
            design.name,
            "must be a plain folder name (letters, digits, '_', '-', '.'; at most 100): it "
            "names the analysis's folder under outputs/uncertainty/",
        )
    for i, name in enumerate(design.options):
        if name == "baseline":
            raise ConfigError(
                f"{path}.options[{i}]", name, "the baseline is always run; list the options only"
            )
        if name not in known_options:
            raise ConfigError(
                f"{path}.options[{i}]", name, f"no such option; available: {known_options}"
            )
    if len(set(design.options)) != len(design.options):
        raise ConfigError(f"{path}.options", design.options, "lists an option twice")
    if design.set is not None and design.set > design.sets:
        raise ConfigError(f"{path}.set", design.set, f"must be <= psa.sets ({design.sets})")
    return design


# --------------------------------------------------------------------------------------------
# In words: the table of docs/model.md ("Uncertainty: distributions of the PSA")
# --------------------------------------------------------------------------------------------

_FAMILY = {"beta": "beta", "gamma": "gamma", "lognormal": "lognormal", "dirichlet": "Dirichlet"}


def describe(r: ResolvedInput) -> tuple[str, str]:
    """(distribution, width) of an input in words, as docs/model.md states them."""
    s = r.spec
    family = _FAMILY[s.distribution]
    what = {
        "value": f"{family}, mean at the configured value",
        "scale": f"one {family} multiplier (mean 1) of every value",
        "odds": "one lognormal odds ratio (median 1) of every probability",
        "each": f"{family} for each entry, mean at its configured value",
        "growth": f"one {family} multiplier m (mean 1) of every year's growth: index^m",
    }[s.apply]
    if s.whole_numbers:
        what += ", rounded to whole numbers"
    if s.distribution == "dirichlet":
        what = "Dirichlet, mean at the configured shares (zero shares stay zero)"
    if s.cv is not None:
        source = "given"
    elif s.range is not None:
        source = f"published range {s.range[0]:g}-{s.range[1]:g} as a 95% interval"
    else:
        source = f"code {s.code}"
    basis = {
        "beta": "sd = CV x distance to the nearer bound",
        "dirichlet": "CV of the smallest share",
        "odds": "sd of the log odds",
    }.get("odds" if s.apply == "odds" else s.distribution, "CV")
    return what, f"{r.cv:.2f} ({basis}; {source})"


def docs_table(inputs: list[ResolvedInput]) -> str:
    """The Markdown table of every uncertain input (docs/model.md quotes it)."""
    lines = [
        "| setting | distribution | width | conf. | group | basis |",
        "|---|---|---|---|---|---|",
    ]
    for r in inputs:
        what, width = describe(r)
        setting = r.spec.setting.removeprefix("assumptions.")
        lines.append(
            f"| `{setting}` | {what} | {width} | {r.spec.code} | {r.group} | {r.spec.basis} |"
        )
    return "\n".join(lines)
