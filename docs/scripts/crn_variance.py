"""Figure for docs/experiments.md: how much common random numbers narrow an option comparison.

Runs the baseline and an option (five more GPs) for the same replications twice: once with
the same seed (common random numbers, the model's default) and once with the option on a
different seed (independent sampling), and plots each replication's difference.

    python docs/scripts/crn_variance.py   # writes docs/figures/crn_variance.png
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.config.compose import compose_validated  # noqa: E402
from sim.experiments.replications import kpi_table, run_experiment  # noqa: E402

KPI = "practice.urgent_same_day_met_rate"
REPLICATIONS = 8


def kpis(overrides: list[str]):
    _, run_cfg, _ = compose_validated(overrides)
    table = kpi_table(run_experiment(run_cfg.model, run_cfg.experiment, run_cfg.seed))
    return table[table.kpi == KPI].sort_values("replication")["value"].to_numpy()


def main() -> None:
    design = [
        f"experiment.replications={REPLICATIONS}",
        "experiment.warmup_weeks=2",
        "experiment.run_weeks=13",
        "experiment.n_jobs=-1",
    ]
    option = ["site.practice_capacity.gp.fte_per_1000=0.5396"]
    base = kpis(design)
    same = kpis(design + option) - base
    other = kpis(design + option + ["seed=987654"]) - base
    ratio = np.var(same, ddof=1) / np.var(other, ddof=1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(np.zeros(len(same)), same, color="#0072B2", label="same seed (CRN)")
    ax.scatter(np.ones(len(other)), other, color="#D55E00", label="independent seeds")
    ax.set_xticks([0, 1], ["common random numbers", "independent seeds"])
    ax.set_ylabel("Option minus baseline, urgent same-day rate\n(share of urgent requests)")
    ax.set_title(f"+5 GPs: paired differences per replication (variance ratio {ratio:.3f})")
    ax.axhline(0, color="grey", lw=0.8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(__file__).resolve().parents[1] / "figures" / "crn_variance.png"
    fig.savefig(out, dpi=110)
    print(f"variance ratio CRN / independent = {ratio:.4f}")
    print(out)


if __name__ == "__main__":
    main()
