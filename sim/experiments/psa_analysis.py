"""What a PSA's sets say: distributions of each option's effects, rank probabilities,
acceptability curves, one-way (tornado) and global (SALib) sensitivity, and where the ranking
of options flips. Tables only (tidy DataFrames); the tool writes them, the report draws them.

Noise and parameter uncertainty are separated by the law of total variance: over the drawn
sets, Var(set mean) = Var_theta(E[Y | theta]) + E_theta[Var(Y | theta)] / k, with k
replications per set. The within-set variance comes from the sets' own replications when
k >= 2, otherwise from the central set's replications (assumed about the same at every set).
See docs/uncertainty.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
from scipy import stats

from sim.core.calendar import WEEKS_PER_YEAR
from sim.core.kpis import KPI_DEFINITIONS
from sim.experiments.psa import BASELINE, CENTRAL_SET

#: Effects of an option against the baseline of the same set and replication (paired):
#: measure -> (KPI, sign, scale to a year, unit, label). "Avoided" is baseline minus option.
DERIVED = {
    "investment_annual_gbp": (
        "cost.services_annual_gbp",
        1,
        1.0,
        "£ per year",
        "Investment (change in the running cost of services)",
    ),
    # Cash only: activity avoided under fixed contracts releases no cash (sim.core.money), and
    # its value is what the willingness to pay per outcome avoided prices, so adding it here
    # would count it twice
    "net_cost_annual_gbp": (
        "cost.cash_annual_gbp",
        1,
        1.0,
        "£ per year",
        "Net cash cost (change in cash paid out: investment less cash released)",
    ),
    "ae_attendances_avoided_per_year": (
        "ae.attendances_per_week",
        -1,
        WEEKS_PER_YEAR,
        "attendances per year",
        "A&E attendances avoided",
    ),
    "admissions_avoided_per_year": (
        "system.admissions_per_week",
        -1,
        WEEKS_PER_YEAR,
        "admissions per year",
        "Emergency admissions avoided",
    ),
    "bed_days_avoided_per_year": (
        "system.bed_days_per_week",
        -1,
        WEEKS_PER_YEAR,
        "bed days per year",
        "Hospital bed days avoided",
    ),
}
#: Outcomes of the acceptability curves: the willingness-to-pay key and its measure.
WTP_MEASURES = {
    "ae_attendance": "ae_attendances_avoided_per_year",
    "admission": "admissions_avoided_per_year",
    "bed_day": "bed_days_avoided_per_year",
}
#: Ranking criteria: (measure(s), lower is better). Cost per outcome avoided as in the sweep's
#: ranking (investment / outcomes avoided; an option that avoids none ranks last).
CRITERIA = {
    "cost per A&E attendance avoided": ("ae_attendances_avoided_per_year", True),
    "cost per admission avoided": ("admissions_avoided_per_year", True),
    "A&E attendances avoided": ("ae_attendances_avoided_per_year", False),
    "admissions avoided": ("admissions_avoided_per_year", False),
    "bed days avoided": ("bed_days_avoided_per_year", False),
}
MAIN_CRITERION = "cost per A&E attendance avoided"
#: Headline measures for the tornado and the global sensitivity indices.
TORNADO_MEASURES = (
    "ae_attendances_avoided_per_year",
    "admissions_avoided_per_year",
    "net_cost_annual_gbp",
)
#: A reversal of two options' order in at least this share of the drawn sets is reported.
FLIP_THRESHOLD = 0.2
#: Noise above this share of a measure's spread over the sets is flagged.
NOISE_FLAG = 0.2
#: Fewer drawn sets than this are flagged as too few for stable probabilities.
MIN_SETS = 50
TORNADO_CENTILES = (0.05, 0.95)
#: Columns of each table, so an empty table (too few sets) still reads back with its header.
TORNADO_COLUMNS = [
    "option",
    "measure",
    "factor",
    "input_low",
    "input_high",
    "result_low",
    "result_high",
    "swing",
    "swing_se",
]
SOBOL_COLUMNS = ["option", "measure", "factor", "S1", "S1_conf", "method"]
FLIP_COLUMNS = [
    "criterion",
    "option_central_higher",
    "option_central_lower",
    "prob_reversed",
    "factor",
    "prob_reversed_input_low_third",
    "prob_reversed_input_high_third",
]
RANK_COLUMNS = ["criterion", "option", "rank", "probability", "central_rank"]


def measure_label(measure: str) -> tuple[str, str]:
    """(label, unit) of a measure: derived, ``diff:<kpi>`` or ``level:<kpi>``."""
    if measure in DERIVED:
        return DERIVED[measure][4], DERIVED[measure][3]
    kind, _, kpi = measure.partition(":")
    d = KPI_DEFINITIONS.get(kpi)
    name, unit = (d.label, d.unit) if d else (kpi, "")
    return (f"Change in {name.lower()}" if kind == "diff" else name), unit


# --------------------------------------------------------------------------------------------
# From KPIs to measures per set
# --------------------------------------------------------------------------------------------


def replication_measures(kpis: pd.DataFrame, headline: list[str]) -> pd.DataFrame:
    """Tidy ``set, replication, option, measure, value``: every alternative's headline KPI
    levels, and each option's paired differences from the baseline (same set, replication)."""
    wide = kpis.pivot_table(
        index=["set", "replication", "option"], columns="kpi", values="value", aggfunc="first"
    )
    base = wide.xs(BASELINE, level="option")
    frames = []
    levels = [k for k in headline if k in wide.columns]
    lev = wide[levels].stack().rename("value").reset_index()
    lev["measure"] = "level:" + lev["kpi"]
    frames.append(lev.drop(columns="kpi"))
    for option in wide.index.get_level_values("option").unique():
        if option == BASELINE:
            continue
        opt = wide.xs(option, level="option")
        diff = opt - base.reindex(opt.index)
        cols = {f"diff:{k}": diff[k] for k in levels}
        for measure, (kpi, sign, scale, _, _) in DERIVED.items():
            cols[measure] = sign * scale * diff[kpi]
        d = pd.DataFrame(cols).stack().rename("value").reset_index()
        d = d.rename(columns={d.columns[2]: "measure"})
        d["option"] = option
        frames.append(d)
    out = pd.concat(frames, ignore_index=True)
    return out[["set", "replication", "option", "measure", "value"]]


def set_means(measures: pd.DataFrame) -> pd.DataFrame:
    """``set, option, measure, value, replications``: the mean over each set's replications."""
    g = measures.groupby(["set", "option", "measure"], sort=False)["value"]
    out = g.agg(value="mean", replications="count").reset_index()
    return out.sort_values(["set", "option", "measure"], kind="stable", ignore_index=True)


def noise_variances(measures: pd.DataFrame) -> pd.DataFrame:
    """Within-set (stochastic) variance of one replication per option and measure:
    pooled over the drawn sets when they have >= 2 replications, else the central set's."""
    draws = measures[measures["set"] != CENTRAL_SET]
    reps = draws.groupby("set")["replication"].nunique()
    source = draws if len(reps) and reps.min() >= 2 else measures[measures["set"] == CENTRAL_SET]
    how = "drawn sets" if source is draws else "central set"
    var = source.groupby(["option", "measure", "set"])["value"].var(ddof=1)
    pooled = var.groupby(["option", "measure"]).mean().rename("within_variance").reset_index()
    pooled["noise_source"] = how
    return pooled


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def summary_table(means: pd.DataFrame, measures: pd.DataFrame) -> pd.DataFrame:
    """Per option and measure: the central value, the distribution over drawn sets (mean, sd,
    2.5/50/97.5 centiles, share above zero) and the variance decomposition."""
    draws = means[means["set"] != CENTRAL_SET]
    central = means[means["set"] == CENTRAL_SET].set_index(["option", "measure"])["value"]
    noise = noise_variances(measures).set_index(["option", "measure"])
    rows = []
    for (option, measure), g in draws.groupby(["option", "measure"], sort=False):
        v = g["value"].to_numpy(dtype=float)
        k = float(g["replications"].mean())
        total = float(np.var(v, ddof=1)) if v.size > 1 else np.nan
        within = float(noise["within_variance"].get((option, measure), np.nan))
        noise_var = within / k if np.isfinite(within) else np.nan
        label, unit = measure_label(measure)
        rows.append(
            {
                "option": option,
                "measure": measure,
                "label": label,
                "unit": unit,
                "central": float(central.get((option, measure), np.nan)),
                "mean": float(v.mean()),
                "sd": float(np.sqrt(total)) if np.isfinite(total) else np.nan,
                "q025": float(np.quantile(v, 0.025)),
                "median": float(np.median(v)),
                "q975": float(np.quantile(v, 0.975)),
                "prob_above_zero": float((v > 0).mean()),
                "sets": int(v.size),
                "replications_per_set": k,
                "total_variance": total,
                "noise_variance": noise_var,
                "parameter_variance": max(total - noise_var, 0.0)
                if np.isfinite(total) and np.isfinite(noise_var)
                else np.nan,
                "noise_share": min(noise_var / total, 1.0)
                if total and np.isfinite(noise_var)
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _wide(means: pd.DataFrame, measure: str) -> pd.DataFrame:
    """set x option table of one measure (options only)."""
    m = means[means["measure"] == measure]
    return m.pivot_table(index="set", columns="option", values="value", aggfunc="first")


def criterion_scores(means: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """set x option scores, oriented so that LOWER is better."""
    measure, lower = CRITERIA[criterion]
    avoided = _wide(means, measure)
    if lower:  # cost per outcome avoided: investment / avoided, inf when nothing is avoided
        invest = _wide(means, "investment_annual_gbp").reindex_like(avoided)
        score = invest / avoided.where(avoided > 0)
        return score.fillna(np.inf)
    return -avoided


def ranks(scores: pd.DataFrame) -> pd.DataFrame:
    return scores.rank(axis=1, method="min")


def rank_probabilities(means: pd.DataFrame) -> pd.DataFrame:
    """``criterion, option, rank, probability, central_rank``: the share of drawn sets in
    which each option takes each rank (rank 1 = best)."""
    rows = []
    for criterion in CRITERIA:
        r = ranks(criterion_scores(means, criterion))
        draws = r.drop(index=CENTRAL_SET, errors="ignore")
        central = r.loc[CENTRAL_SET] if CENTRAL_SET in r.index else None
        n = len(r.columns)
        for option in r.columns:
            counts = draws[option].value_counts(normalize=True)
            for k in range(1, n + 1):
                rows.append(
                    {
                        "criterion": criterion,
                        "option": option,
                        "rank": k,
                        "probability": float(counts.get(float(k), 0.0)),
                        "central_rank": int(central[option]) if central is not None else None,
                    }
                )
    return pd.DataFrame(rows, columns=RANK_COLUMNS)


def acceptability(means: pd.DataFrame, wtp: dict[str, list[float]]) -> pd.DataFrame:
    """Cost-effectiveness acceptability curves: for each outcome and willingness to pay per
    outcome avoided, the share of drawn sets in which each alternative (the baseline
    included, net benefit 0) has the highest net benefit = wtp x avoided - net cost."""
    draws = means[means["set"] != CENTRAL_SET]
    cost = _wide(draws, "net_cost_annual_gbp")
    rows = []
    for outcome, measure in WTP_MEASURES.items():
        avoided = _wide(draws, measure).reindex_like(cost)
        for lam in wtp.get(outcome) or []:
            nb = lam * avoided - cost
            nb.insert(0, BASELINE, 0.0)
            best = nb.to_numpy().argmax(axis=1)
            for j, option in enumerate(nb.columns):
                rows.append(
                    {
                        "outcome": outcome,
                        "wtp_gbp": float(lam),
                        "option": option,
                        "probability_best": float((best == j).mean()),
                        "prob_better_than_baseline": float((nb[option] > 0).mean())
                        if option != BASELINE
                        else np.nan,
                        "expected_net_benefit_gbp": float(nb[option].mean()),
                    }
                )
    columns = ["outcome", "wtp_gbp", "option", "probability_best", "prob_better_than_baseline"]
    return pd.DataFrame(rows, columns=[*columns, "expected_net_benefit_gbp"])


# --------------------------------------------------------------------------------------------
# Sensitivity: one-way (tornado), global (SALib), and the inputs behind a flip
# --------------------------------------------------------------------------------------------


def design_uniforms(parameters: pd.DataFrame) -> pd.DataFrame:
    """set x factor uniforms of the drawn sets (the design, as run)."""
    p = parameters[parameters["set"] != CENTRAL_SET]
    u = p.pivot_table(index="set", columns="factor", values="uniform", aggfunc="first")
    order = list(dict.fromkeys(parameters["factor"]))
    return u[[f for f in order if f in u.columns]]


def clear_z(inputs: int, family_alpha: float = 0.05) -> float:
    """|z| an input's effect must reach to stand out from chance among ``inputs`` inputs
    (two-sided, Bonferroni): about 3.4 for 80 inputs."""
    return float(stats.norm.ppf(1 - family_alpha / (2 * max(inputs, 1))))


def tornado(
    means: pd.DataFrame, parameters: pd.DataFrame, factor_range: pd.DataFrame
) -> pd.DataFrame:
    """One-way sensitivity from the drawn sets: the expected change in each option's result
    when one input moves from its 5th to its 95th centile, the others averaged over
    (the slope of the result on the input's normal score, whose design column is independent
    of the others'), with its standard error."""
    u = design_uniforms(parameters)
    z = pd.DataFrame(stats.norm.ppf(u.to_numpy()), index=u.index, columns=u.columns)
    z_lo, z_hi = (stats.norm.ppf(c) for c in TORNADO_CENTILES)
    rng = factor_range.set_index("factor")
    rows = []
    for measure in TORNADO_MEASURES:
        wide = _wide(means, measure).reindex(z.index)
        for option in wide.columns:
            y = wide[option].to_numpy(dtype=float)
            ok = np.isfinite(y)
            if ok.sum() < 3:
                continue
            yc = y[ok] - y[ok].mean()
            for factor in z.columns:
                x = z[factor].to_numpy()[ok]
                xc = x - x.mean()
                sxx = float(xc @ xc)
                slope = float(xc @ yc) / sxx
                resid = yc - slope * xc
                se = float(np.sqrt(resid @ resid / max(ok.sum() - 2, 1) / sxx))
                rows.append(
                    {
                        "option": option,
                        "measure": measure,
                        "factor": factor,
                        "input_low": float(rng.loc[factor, "low"]),
                        "input_high": float(rng.loc[factor, "high"]),
                        "result_low": float(y[ok].mean() + slope * z_lo),
                        "result_high": float(y[ok].mean() + slope * z_hi),
                        "swing": float(abs(slope) * (z_hi - z_lo)),
                        "swing_se": float(se * (z_hi - z_lo)),
                    }
                )
    out = pd.DataFrame(rows, columns=TORNADO_COLUMNS)
    return out.sort_values(["measure", "option", "swing"], ascending=[True, True, False])


def sobol_indices(means: pd.DataFrame, parameters: pd.DataFrame, seed: int) -> pd.DataFrame:
    """First-order Sobol' indices of each option's headline results (and the baseline's
    headline KPIs) for every input factor, estimated from the drawn sets by SALib's RBD-FAST
    (Plischke 2010; Tissot and Prieur 2012 bias correction), with bootstrap intervals."""
    from SALib.analyze import rbd_fast

    u = design_uniforms(parameters)
    if len(u) < 20:  # RBD-FAST needs the sample to resolve its harmonics
        return pd.DataFrame(columns=SOBOL_COLUMNS)
    problem = {
        "num_vars": u.shape[1],
        "names": list(u.columns),
        "bounds": [[0.0, 1.0]] * u.shape[1],
    }
    targets = [(m, o) for m in TORNADO_MEASURES for o in _wide(means, m).columns]
    targets += [
        (m, BASELINE)
        for m in means.loc[means["option"] == BASELINE, "measure"].unique()
        if m.startswith("level:")
    ]
    rows = []
    for measure, option in targets:
        y = _wide(means, measure)[option].reindex(u.index).to_numpy(dtype=float)
        if not np.isfinite(y).all() or np.std(y) == 0:
            continue
        res = rbd_fast.analyze(problem, u.to_numpy(), y, M=10, num_resamples=100, seed=seed)
        for name, s1, conf in zip(u.columns, res["S1"], res["S1_conf"], strict=True):
            rows.append(
                {
                    "option": option,
                    "measure": measure,
                    "factor": name,
                    "S1": float(s1),
                    "S1_conf": float(conf),
                    "method": "RBD-FAST first-order Sobol' index (SALib)",
                }
            )
    return pd.DataFrame(rows, columns=SOBOL_COLUMNS)


def ranking_flips(
    means: pd.DataFrame, parameters: pd.DataFrame, criterion: str = MAIN_CRITERION
) -> pd.DataFrame:
    """Pairs of options among the central top three whose order reverses in at least
    FLIP_THRESHOLD of the drawn sets, with the inputs that most change how often it does
    (share of sets reversed when the input is in the lower vs the upper third of its range)."""
    r = ranks(criterion_scores(means, criterion))
    if CENTRAL_SET not in r.index or r.shape[1] < 2:
        return pd.DataFrame(columns=FLIP_COLUMNS)
    central = r.loc[CENTRAL_SET].sort_values(kind="stable")
    draws = r.drop(index=CENTRAL_SET)
    u = design_uniforms(parameters).reindex(draws.index)
    rows = []
    top = list(central.index[:3])
    for i, a in enumerate(top):
        for b in central.index[i + 1 :]:
            if central[b] == central[a]:
                continue
            flipped = (draws[b] < draws[a]).astype(float)
            p = float(flipped.mean())
            if p < FLIP_THRESHOLD:
                continue
            effects = []
            for factor in u.columns:
                lo_sets, hi_sets = flipped[u[factor] < 1 / 3], flipped[u[factor] > 2 / 3]
                if lo_sets.empty or hi_sets.empty:  # too few sets: no third to compare
                    continue
                low, high = lo_sets.mean(), hi_sets.mean()
                pooled = flipped[(u[factor] < 1 / 3) | (u[factor] > 2 / 3)].mean()
                se = np.sqrt(pooled * (1 - pooled) * (1 / len(lo_sets) + 1 / len(hi_sets)))
                z = abs(high - low) / se if se > 0 else 0.0
                if z >= clear_z(u.shape[1]):  # more than chance among this many inputs
                    effects.append((z, factor, low, high))
            effects.sort(reverse=True)
            if not effects:  # the inputs act together: no single one stands out
                effects = [(0.0, "", np.nan, np.nan)]
            for _, factor, low, high in effects[:3]:
                rows.append(
                    {
                        "criterion": criterion,
                        "option_central_higher": a,
                        "option_central_lower": b,
                        "prob_reversed": p,
                        "factor": factor,
                        "prob_reversed_input_low_third": float(low),
                        "prob_reversed_input_high_third": float(high),
                    }
                )
    return pd.DataFrame(rows, columns=FLIP_COLUMNS)


EVPPI_COLUMNS = ["outcome", "wtp_gbp", "group", "evppi_gbp", "evpi_gbp", "regressors", "sets"]


def _net_benefit_parts(means: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drawn sets' outcomes avoided and net cost, set x option."""
    draws = means[means["set"] != CENTRAL_SET]
    cost = _wide(draws, "net_cost_annual_gbp")
    return _wide(draws, WTP_MEASURES[outcome]).reindex_like(cost), cost


def _decision_value(nb: np.ndarray) -> float:
    """E[max_d NB] - max_d E[NB] over the rows (sets), the baseline (0) included."""
    nb = np.column_stack([np.zeros(len(nb)), nb])
    return float(nb.max(axis=1).mean() - nb.mean(axis=0).max())


def evppi(
    means: pd.DataFrame, parameters: pd.DataFrame, factors: pd.DataFrame, wtp: dict
) -> pd.DataFrame:
    """Expected value of perfect information (EVPI) and of partial perfect information per
    input group (EVPPI), £ of net benefit a year, at each willingness to pay.

    Regression estimator (Strong, Oakley and Brennan 2014): each option's outcomes avoided
    and net cost are regressed on the group's inputs (their normal scores and squares: an
    additive quadratic model by least squares, in place of the paper's GAM); the fitted net
    benefits stand for the expectation given the group, and EVPPI = E[max_d fitted] -
    max_d E[fitted]. Noise in the sets fitted by chance biases it upwards a little, so a
    group keeps no more regressors than a tenth of the sets: linear terms only when the
    squares would exceed that, and the group is left out when even those would."""
    u = design_uniforms(parameters)
    if u.empty or not (means["option"] != BASELINE).any():
        return pd.DataFrame(columns=EVPPI_COLUMNS)
    z = pd.DataFrame(stats.norm.ppf(u.to_numpy()), index=u.index, columns=u.columns)
    group_of = factors.set_index("factor")["group"]
    rows = []
    for outcome in WTP_MEASURES:
        avoided, cost = _net_benefit_parts(means, outcome)
        avoided, cost = avoided.reindex(z.index), cost.reindex(z.index)
        if avoided.isna().any().any() or cost.isna().any().any():
            continue
        fitted = {}
        for group in dict.fromkeys(group_of.reindex(z.columns)):
            cols = [f for f in z.columns if group_of.get(f) == group]
            x = np.column_stack([np.ones(len(z)), z[cols], z[cols] ** 2])
            if x.shape[1] > len(z) / 10:  # too many for the sets: linear terms only
                x = x[:, : 1 + len(cols)]
            if x.shape[1] > len(z) / 10:
                continue
            coef_a = np.linalg.lstsq(x, avoided.to_numpy(), rcond=None)[0]
            coef_c = np.linalg.lstsq(x, cost.to_numpy(), rcond=None)[0]
            fitted[group] = (x @ coef_a, x @ coef_c, x.shape[1])
        for lam in wtp.get(outcome) or []:
            evpi = _decision_value(lam * avoided.to_numpy() - cost.to_numpy())
            for group, (a_hat, c_hat, k) in fitted.items():
                rows.append(
                    {
                        "outcome": outcome,
                        "wtp_gbp": float(lam),
                        "group": group,
                        "evppi_gbp": max(_decision_value(lam * a_hat - c_hat), 0.0),
                        "evpi_gbp": evpi,
                        "regressors": k,
                        "sets": len(z),
                    }
                )
    return pd.DataFrame(rows, columns=EVPPI_COLUMNS)


@dataclass
class PsaTables:
    """The analysis tables of a PSA, as made here and as read back from a PSA folder (each
    in the file of :data:`sim.experiments.psa.PSA_FILES` under its field's name)."""

    results: pd.DataFrame  # set means
    summary: pd.DataFrame
    ranks: pd.DataFrame
    ceac: pd.DataFrame
    tornado: pd.DataFrame
    sobol: pd.DataFrame
    flips: pd.DataFrame
    evppi: pd.DataFrame


#: Names of the analysis tables (the fields of :class:`PsaTables`).
ANALYSIS_TABLES = tuple(f.name for f in fields(PsaTables))


@dataclass
class PsaAnalysis(PsaTables):
    flags: list[str] = field(default_factory=list)


def analyse(
    kpis: pd.DataFrame,
    parameters: pd.DataFrame,
    factor_range: pd.DataFrame,
    headline: list[str],
    wtp: dict[str, list[float]],
    seed: int,
    run_weeks: int,
) -> PsaAnalysis:
    """Every table of a PSA from its sets' KPIs and parameters."""
    measures = replication_measures(kpis, headline)
    means = set_means(measures)
    summary = summary_table(means, measures)
    flags = []
    n_draws = means.loc[means["set"] != CENTRAL_SET, "set"].nunique()
    if n_draws < MIN_SETS:
        flags.append(
            f"only {n_draws} parameter set{'' if n_draws == 1 else 's'}: probabilities are "
            "uncertain by about "
            f"±{1 / np.sqrt(max(n_draws, 1)):.0%}; use at least {MIN_SETS} (psa.sets) for a board"
        )
    if run_weeks < 52:
        flags.append(f"each replication measures {run_weeks} weeks, not a year: a first look only")
    key = summary[summary["measure"].isin(TORNADO_MEASURES)]
    noisy = key[key["noise_share"] > NOISE_FLAG]
    if len(noisy):
        worst = noisy.sort_values("noise_share").iloc[-1]
        flags.append(
            f"stochastic noise is more than {NOISE_FLAG:.0%} of the spread of {len(noisy)} "
            f"headline result(s) (worst: {worst['label'].lower()} of {worst['option']}, "
            f"{worst['noise_share']:.0%}): add replications per set (experiment.replications)"
        )
    return PsaAnalysis(
        results=means,
        summary=summary,
        ranks=rank_probabilities(means),
        ceac=acceptability(means, wtp),
        tornado=tornado(means, parameters, factor_range),
        sobol=sobol_indices(means, parameters, seed),
        flips=ranking_flips(means, parameters),
        evppi=evppi(means, parameters, factor_range, wtp),
        flags=flags,
    )
