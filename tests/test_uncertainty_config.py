"""Distributions of uncertain inputs (sim/config/uncertainty.py): the fitted distributions
have the stated mean and width (checked against scipy's own moments, or by sampling), and a
bad uncertainty configuration is refused with one line naming the key, the value and the rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.config.compose import compose_validated
from sim.config.schema import ConfigError
from sim.config.uncertainty import (
    beta_parameters,
    dirichlet_concentration,
    dirichlet_draw,
    quantile,
    shift_odds,
)

ROOT = Path(__file__).resolve().parent.parent
BASE = ["+uncertainty=england_2024"]


# ----------------------------------------------------------------------------- distributions


@pytest.mark.parametrize("mean,cv", [(0.05, 0.4), (0.5, 0.4), (0.9, 0.1), (0.3, 0.05)])
def test_beta_has_the_mean_and_the_width_relative_to_the_nearer_bound(mean, cv):
    a, b = beta_parameters(mean, cv)
    dist = stats.beta(a, b)
    assert dist.mean() == pytest.approx(mean, rel=1e-9)
    assert dist.std() == pytest.approx(cv * min(mean, 1 - mean), rel=1e-9)


@pytest.mark.parametrize("family", ["gamma", "lognormal"])
def test_gamma_and_lognormal_quantiles_have_the_mean_and_cv(family):
    u = (np.arange(20_000) + 0.5) / 20_000  # a fine grid of quantiles: moments by quadrature
    x = np.array([quantile(family, 250.0, 0.3, float(p)) for p in u])
    assert x.mean() == pytest.approx(250.0, rel=2e-3)
    assert x.std() / x.mean() == pytest.approx(0.3, rel=2e-2)
    assert (x > 0).all()


def test_zero_width_and_bounds_return_the_central_value_exactly():
    assert quantile("beta", 0.37, 0.0, 0.99) == 0.37
    assert quantile("beta", 0.0, 0.4, 0.99) == 0.0
    assert quantile("gamma", 12.5, 0.0, 0.01) == 12.5


def test_dirichlet_draws_sum_to_one_keep_zeros_and_have_the_configured_mean():
    shares = {
        "book_later": 0.9,
        "callback_next_day": 0.05,
        "nhs111": 0.0,
        "ae": 0.0,
        "give_up": 0.05,
    }
    entries = ("book_later", "callback_next_day", "give_up")
    rng = np.random.default_rng(1)
    draws = [dirichlet_draw(shares, 0.4, rng.random(3), entries) for _ in range(4000)]
    assert all(abs(sum(d.values()) - 1) < 1e-12 for d in draws)
    assert all(d["nhs111"] == 0 and d["ae"] == 0 for d in draws)
    for key in entries:
        values = np.array([d[key] for d in draws])
        assert values.mean() == pytest.approx(shares[key], abs=4 * values.std() / np.sqrt(4000))
    # the smallest share's coefficient of variation is about the configured width
    small = np.array([d["give_up"] for d in draws])
    c = dirichlet_concentration(shares, 0.4)
    assert small.std() == pytest.approx(np.sqrt(0.05 * 0.95 / (c + 1)), rel=0.1)
    assert small.std() / small.mean() == pytest.approx(0.4 * np.sqrt(0.95), rel=0.1)


def test_odds_ratio_keeps_probabilities_in_bounds_and_their_order():
    probs = {"a": 0.12, "b": 0.46, "c": 0.56, "d": 0.0, "e": 1.0}
    for ratio in (0.01, 0.5, 2.0, 100.0):
        shifted = shift_odds(probs, ratio)
        assert 0 < shifted["a"] < shifted["b"] < shifted["c"] < 1
        assert shifted["d"] == 0.0 and shifted["e"] == 1.0
        odds = shifted["b"] / (1 - shifted["b"])
        assert odds == pytest.approx(0.46 / 0.54 * ratio)


# ------------------------------------------------------------------------ the configuration


def test_every_default_input_validates_and_is_centred_on_the_configured_value():
    from sim.config.compose import option_changes
    from sim.config.uncertainty import parse_uncertainty

    _, run, data = compose_validated(BASE)
    _, inputs = parse_uncertainty(
        data["uncertainty"], data["site"], data["assumptions"], option_changes
    )
    assert len(inputs) >= 40
    settings = {r.spec.setting for r in inputs}
    # the examples: no-slot split, hub take-up, front-of-house cut, clinic outcomes,
    # step-up shares, and options' own effects
    for s in (
        "assumptions.booking.no_slot.urgent",
        "assumptions.hubs.accept_share_by_age",
        "site.emergency_department.frailty_front_of_house.turnaround_share",
        "assumptions.rapid_assessment.outcome",
        "assumptions.intermediate_care.step_up_share_from_practice",
        "scenario.online_consultation.changes.assumptions.alternatives.online_consultation.share",
    ):
        assert s in settings
    no_slot = next(r for r in inputs if r.spec.setting == "assumptions.booking.no_slot.urgent")
    assert no_slot.central == data["assumptions"]["booking"]["no_slot"]["urgent"]


@pytest.mark.parametrize(
    "override,key,rule",
    [
        (
            "uncertainty.inputs.hub_dna.distribution=gamma",
            "uncertainty.inputs.hub_dna.distribution",
            "can exceed 1",
        ),
        (
            "uncertainty.inputs.hub_take_up.distribution=gamma",
            "uncertainty.inputs.hub_take_up.distribution",
            "an odds ratio is lognormal",
        ),
        (
            "uncertainty.inputs.hub_take_up.apply=scale",
            "uncertainty.inputs.hub_take_up.distribution",
            "can exceed 1",
        ),
        (
            "+uncertainty.inputs.hub_dna.colour=red",
            "uncertainty.inputs.hub_dna.colour",
            "unknown key",
        ),
        (
            "uncertainty.inputs.hub_dna.distribution=normal",
            "uncertainty.inputs.hub_dna.distribution",
            "must be one of",
        ),
        ("uncertainty.inputs.hub_dna.code=X", "uncertainty.inputs.hub_dna.code", "must be one of"),
        (
            "uncertainty.inputs.hub_dna.setting=assumptions.hubs.nope",
            "uncertainty.inputs.hub_dna.setting",
            "not a setting",
        ),
        (
            "uncertainty.inputs.urgency_share.distribution=beta",
            "uncertainty.inputs.urgency_share.apply",
            "table",
        ),
        (
            "+uncertainty.inputs.urgency_share.apply=each",
            "uncertainty.inputs.urgency_share.apply",
            "a Dirichlet draws the shares themselves",
        ),
        (
            "uncertainty.inputs.hub_dna.distribution=dirichlet",
            "uncertainty.inputs.hub_dna.distribution",
            "sum to 1",
        ),
        (
            "+uncertainty.inputs.hub_dna.range=[0.06,0.09]",
            "uncertainty.inputs.hub_dna.range",
            "does not contain",
        ),
        ("+uncertainty.inputs.hub_dna.cv=1.5", "uncertainty.inputs.hub_dna.cv", "below 1"),
        ("uncertainty.width_by_code.P=-0.1", "uncertainty.width_by_code.P", ">= 0"),
        (
            "uncertainty.inputs.rac_weekend_referral.setting=scenario.rac_weekend.changes.assumptions.hubs.dna_probability",
            "uncertainty.inputs.rac_weekend_referral.setting",
            "does not change this setting",
        ),
        (
            "uncertainty.inputs.hub_dna.setting=assumptions.booking.max_callbacks",
            "uncertainty.inputs.hub_dna.setting",
            "whole number",
        ),
        (
            "uncertainty.inputs.prefer_hub.setting=assumptions.hubs.dna_probability",
            "uncertainty.inputs.prefer_hub.setting",
            "already has a distribution",
        ),
        ("+psa.sets=0", "psa.sets", ">= 1"),
        ("+psa.sets=2 scenario=rac_weekend", "scenario", "list them there"),
        (
            "uncertainty.inputs.urgency_share.distribution=beta"
            " +uncertainty.inputs.urgency_share.apply=each",
            "uncertainty.inputs.urgency_share.apply",
            "breaks the sum",
        ),
        ("+psa.sets=2 +psa.options=[nope]", "psa.options[0]", "no such option"),
    ],
)
def test_bad_uncertainty_configuration_is_refused_with_key_value_and_rule(override, key, rule):
    with pytest.raises(ConfigError) as err:
        compose_validated([*BASE, *override.split(" ")])
    assert err.value.key == key
    assert rule in err.value.rule
    assert "\n" not in str(err.value)


def test_psa_settings_without_distributions_are_refused():
    with pytest.raises(ConfigError) as err:
        compose_validated(["+psa.sets=4"])
    assert err.value.key == "uncertainty"


def test_an_error_in_the_uncertainty_file_names_the_file(tmp_path):
    bad = tmp_path / "uncertainty"
    bad.mkdir()
    text = (ROOT / "conf/uncertainty/england_2024.yaml").read_text(encoding="utf-8")
    (bad / "broken.yaml").write_text(
        text.replace(
            "    setting: assumptions.hubs.dna_probability\n    distribution: beta",
            "    setting: assumptions.hubs.dna_probability\n    distribution: gamma",
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        compose_validated(["+uncertainty=broken", f"hydra.searchpath=[file://{tmp_path}]"])
    assert err.value.file == str(bad / "broken.yaml")


def test_the_command_refuses_a_bad_distribution_with_one_line_and_exit_code_2(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "uncertainty",
            "uncertainty.inputs.hub_dna.distribution=gamma",
            f"hydra.sweep.dir={tmp_path / 'psa'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        timeout=300,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Configuration error: uncertainty.inputs.hub_dna"
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "psa").exists()


def test_docs_model_md_states_every_distribution_as_configured():
    """docs/model.md's uncertainty table and width rule match conf/uncertainty/ (regenerate
    the table with sim.config.uncertainty.docs_table when the configuration changes)."""
    import re

    from sim.config.compose import option_changes
    from sim.config.uncertainty import docs_table, parse_uncertainty

    _, _, data = compose_validated(BASE)
    _, inputs = parse_uncertainty(
        data["uncertainty"], data["site"], data["assumptions"], option_changes
    )
    doc = (ROOT / "docs/model.md").read_text(encoding="utf-8")
    assert docs_table(inputs) in doc
    rule = re.search(r"\*\*(V 0\.\d\d[^*]*)\*\*", doc).group(1)
    stated = dict(re.findall(r"\b(V2|V|D|R|P) (0\.\d\d)\b", rule))
    assert {k: float(v) for k, v in stated.items()} == data["uncertainty"]["width_by_code"]
