"""The PSA machinery against a known answer, and zero width against an ordinary run.

An M/M/c A&E (conf/validation/mmc_ae.yaml) with an uncertain arrival rate
(conf/uncertainty/mmc_arrivals.yaml: lambda = m x lambda0, m gamma with mean 1, CV 0.08).
For each m the mean time in the department is Erlang C's W_q(m lambda0) + 1/mu + the time after
treatment; its distribution over m follows by numerical integration (scipy.integrate.quad).
The production path runs it: plan_from_data -> design_matrix -> run_set -> the analysis's
set means and variance decomposition. Each check is also run against a deliberately wrong
answer (or a broken mechanism), to show that it can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from sim.config.compose import compose_config, plain
from sim.core.replication import run_replication
from sim.experiments import psa
from sim.experiments.psa_analysis import replication_measures, set_means, summary_table
from sim.tools.validate import MMcTheory, mmc_theory

KPI = "ae.time_in_department_mean_min"
SETS, REPS, WEEKS = 32, 2, 26
CV = 0.08
#: Acceptance: |z| below this (two-sided 99.9%); 4 checks, so the family's false alarm rate
#: stays under 0.5% while a real discrepancy of a few Monte Carlo errors fails.
Z = 3.29


def _plan(*extra: str) -> psa.PsaPlan:
    cfg = compose_config(
        [
            "+validation=mmc_ae",
            "+uncertainty=mmc_arrivals",
            f"+psa.sets={SETS}",
            "+psa.options=[]",
            f"+psa.central_replications={REPS}",
            f"experiment.replications={REPS}",
            f"experiment.run_weeks={WEEKS}",
            "experiment.n_jobs=1",
            *extra,
        ]
    )
    return psa.plan_from_data(plain(cfg))


def _run_all(plan: psa.PsaPlan, sets: int = SETS, n_jobs: int = 2) -> tuple[pd.DataFrame, ...]:
    from joblib import Parallel, delayed

    out = Parallel(n_jobs=n_jobs)(delayed(psa.run_set)(plan, n) for n in range(sets + 1))
    kpis = pd.concat([k.assign(set=n) for n, (k, _, _) in enumerate(out)], ignore_index=True)
    params = pd.concat([p.assign(set=n) for n, (_, p, _) in enumerate(out)], ignore_index=True)
    return kpis, params


@pytest.fixture(scope="module")
def mmc_psa():
    plan = _plan()
    kpis, params = _run_all(plan)
    theory, departures = mmc_theory(plan.run.model)
    assert departures == []
    return plan, kpis, params, theory


def time_in_department(theory: MMcTheory, m: float) -> float:
    """Erlang C mean time in the department at arrival rate m x lambda0 (minutes)."""
    t = MMcTheory(theory.arrivals_per_minute * m, theory.service_mean_minutes, theory.servers, 0)
    return t.mean_wait + theory.service_mean_minutes + theory.after_treatment_minutes


def theory_moments(theory: MMcTheory, cv: float, mean_m: float = 1.0) -> tuple[float, float]:
    """E and Var of T(m) over m ~ gamma(mean mean_m, CV cv), by numerical integration (m is
    truncated where the queue would be unstable: probability below 1e-9 at CV 0.08)."""
    shape = 1 / cv**2
    pdf = stats.gamma(shape, scale=mean_m / shape).pdf
    top = 0.999 * theory.servers / theory.offered_load
    e1 = integrate.quad(lambda m: time_in_department(theory, m) * pdf(m), 0, top, limit=200)[0]
    e2 = integrate.quad(lambda m: time_in_department(theory, m) ** 2 * pdf(m), 0, top, limit=200)[0]
    return e1, e2 - e1**2


def known_answer_checks(
    plan: psa.PsaPlan,
    kpis: pd.DataFrame,
    params: pd.DataFrame,
    theory: MMcTheory,
    cv: float,
    mean_m: float = 1.0,
) -> dict[str, float]:
    """|z| of each comparison of the PSA's output with the known answer."""
    measures = replication_measures(kpis, [KPI])
    means = set_means(measures)
    summary = summary_table(means, measures).set_index("measure").loc[f"level:{KPI}"]
    draws = means[(means["set"] != psa.CENTRAL_SET) & (means["measure"] == f"level:{KPI}")]
    y = draws.set_index("set")["value"]
    m = params[params["set"] != psa.CENTRAL_SET].set_index("set")["value"].reindex(y.index)
    n = len(y)
    # 1. conditional means: each set's result against Erlang C at the multiplier it recorded
    # (mean 0, and spread no larger than the noise: F-test of the residuals' variance
    # against the within-set variance of a set mean, measured on the sets' own replications)
    resid = y - np.array([time_in_department(theory, float(x)) for x in m])
    z_bias = resid.mean() / (resid.std(ddof=1) / np.sqrt(n))
    noise = summary["noise_variance"]
    k = int(summary["replications_per_set"])
    f = resid.var(ddof=1) / noise
    p_f = stats.f.sf(f, n - 1, n * (k - 1))
    z_conditional = max(abs(z_bias), abs(stats.norm.ppf(min(p_f, 0.5))))
    # 2. the mean over the distribution of m
    e, var = theory_moments(theory, cv, mean_m)
    z_mean = (y.mean() - e) / (y.std(ddof=1) / np.sqrt(n))
    # 3. the parameter variance recovered by the law of total variance (noise removed);
    # its standard error from the sample variance of n values: var x sqrt(2 / (n - 1))
    z_variance = (summary["parameter_variance"] - var) / (var * np.sqrt(2 / (n - 1)))
    # 4. the whole distribution: Kolmogorov-Smirnov against P(T(m) <= t), as a z of its p
    shape = 1 / cv**2
    grid = np.linspace(0.5, 0.995 * theory.servers / theory.offered_load, 400)
    t_grid = np.array([time_in_department(theory, g) for g in grid])
    cdf = stats.gamma(shape, scale=mean_m / shape).cdf

    def theoretical_cdf(t: np.ndarray) -> np.ndarray:
        return cdf(np.interp(t, t_grid, grid))

    p = stats.kstest(y.to_numpy(), theoretical_cdf).pvalue
    return {
        "conditional": float(abs(z_conditional)),
        "mean": float(abs(z_mean)),
        "variance": float(abs(z_variance)),
        "distribution": float(abs(stats.norm.ppf(p / 2))),
    }


@pytest.mark.slow
def test_psa_recovers_the_erlang_c_distribution_of_the_mean_time_in_department(mmc_psa):
    plan, kpis, params, theory = mmc_psa
    z = known_answer_checks(plan, kpis, params, theory, CV)
    assert all(v < Z for v in z.values()), z


@pytest.mark.slow
def test_known_answer_checks_fail_on_a_wrong_answer(mmc_psa):
    plan, kpis, params, theory = mmc_psa
    wider = known_answer_checks(plan, kpis, params, theory, 2 * CV)  # wrong width
    assert wider["variance"] > Z, wider
    shifted = known_answer_checks(plan, kpis, params, theory, CV, mean_m=1.05)  # wrong centre
    assert shifted["mean"] > Z, shifted
    # the Kolmogorov-Smirnov check is the weakest with 32 sets: a 10% shift of the centre
    far = known_answer_checks(plan, kpis, params, theory, CV, mean_m=1.10)
    assert far["distribution"] > Z, far
    slower = MMcTheory(theory.arrivals_per_minute * 1.03, 30, 4, theory.after_treatment_minutes)
    assert known_answer_checks(plan, kpis, params, slower, CV)["conditional"] > Z


@pytest.mark.slow
def test_known_answer_checks_fail_when_draws_are_not_applied(mmc_psa, monkeypatch):
    """A broken mechanism: parameters recorded but never applied to the model."""
    plan, _, _, theory = mmc_psa
    monkeypatch.setattr(psa, "apply_parameter_set", lambda site, a, *args: (site, a))
    kpis, params = _run_all(plan, sets=12, n_jobs=1)  # in this process, where the patch is
    z = known_answer_checks(plan, kpis, params, theory, CV)
    assert z["conditional"] > Z and z["mean"] > Z, z


# --------------------------------------------------------------------------------------------
# Zero width reproduces an ordinary run exactly
# --------------------------------------------------------------------------------------------


def _ordinary_kpis(model, seed: int, reps: int, warmup: int, weeks: int) -> pd.DataFrame:
    rows = []
    for r in range(reps):
        res = run_replication(model, seed, r, warmup, weeks)
        rows += [(r, k, v) for k, v in res.kpis.items()]
    return pd.DataFrame(rows, columns=["replication", "kpi", "value"])


def _csv_bytes(frame: pd.DataFrame, tmp_path, name: str) -> bytes:
    from sim.experiments.outputs import atomic_write_csv

    atomic_write_csv(tmp_path / name, frame.reset_index(drop=True))
    return (tmp_path / name).read_bytes()


def test_zero_width_and_central_sets_reproduce_ordinary_runs_byte_for_byte(tmp_path):
    from sim.config.compose import compose_validated

    common = ["experiment=quick", "experiment.replications=1", "experiment.n_jobs=1"]
    cfg = compose_config(
        [
            "+uncertainty=england_2024",
            "uncertainty.width_multiplier=0",
            "+psa.sets=2",
            # clinical_pharmacists changes demand, frailty_front_of_house does not: the set runs the
            # baseline and frailty_front_of_house on shared episodes, clinical_pharmacists on
            # its own (and not in catalogue order)
            "+psa.options=[clinical_pharmacists,frailty_front_of_house]",
            "+psa.central_replications=1",
            *common,
        ]
    )
    plan = psa.plan_from_data(plain(cfg))
    exp = plan.run.experiment
    for number in (psa.CENTRAL_SET, 1):
        kpis, params, _ = psa.run_set(plan, number)
        if number:
            assert (params["uniform"].between(0, 1)).all()
        for option in ("baseline", "clinical_pharmacists", "frailty_front_of_house"):
            _, run_cfg, _ = compose_validated([f"scenario={option}", *common])
            seed = plan.seed(number)
            expected = _ordinary_kpis(run_cfg.model, seed, 1, exp.warmup_weeks, exp.run_weeks)
            got = kpis[kpis["option"] == option].drop(columns="option")
            assert _csv_bytes(got, tmp_path, "a.csv") == _csv_bytes(expected, tmp_path, "b.csv")
    assert plan.seed(psa.CENTRAL_SET) == plan.run.seed  # the central set IS the ordinary run


def test_a_draw_with_width_differs_from_the_ordinary_run():
    """The zero-width test above could pass if draws were never applied; with width, the
    same set's model differs from the configured one."""
    cfg = compose_config(
        ["+uncertainty=england_2024", "+psa.sets=2", "+psa.options=[]", "experiment=quick"]
    )
    plan = psa.plan_from_data(plain(cfg))
    drawn = psa.option_model(plan, "baseline", psa.parameter_set(plan, 1))
    central = psa.option_model(plan, "baseline", psa.parameter_set(plan, psa.CENTRAL_SET))
    assert drawn.assumptions.booking.no_slot != central.assumptions.booking.no_slot
    assert central == plan.run.model
