"""Whether A&E admits a patient: the probability, and the keyed draw that decides.

Kept apart from the rest of the hospital (it needs only the configuration) because services
before A&E read it too: an urgent treatment centre sends on the patients A&E would admit, by
the same draw the hospital uses, so both agree about every patient.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import AGE_BANDS, FRAILTY_BANDS, ModelConfig

#: Admission probability never exceeds this, whatever the multipliers give: some patients in
#: every group go home (and a probability of 1 would make the admission draw meaningless).
MAX_ADMISSION_PROBABILITY = 0.95
#: The keyed draw (:func:`sim.core.streams.keyed_uniforms`) that decides whether A&E admits a
#: patient: admitted when it falls below the probability.
DRAW_ADMIT = "ae_admit"


def admission_probability(
    age_band: np.ndarray, frailty: np.ndarray, ambulance: np.ndarray, cfg: ModelConfig
) -> np.ndarray:
    """Probability that an attendance ends in a decision to admit, before any front-of-house
    effect: probability for the age band x multiplier for the eFI band (under 65s count as
    fit) x the ambulance multiplier if brought by ambulance, capped at
    :data:`MAX_ADMISSION_PROBABILITY`."""
    ae = cfg.assumptions.ae
    by_age = np.array([ae.admission_probability_by_age[b] for b in AGE_BANDS], dtype=float)
    by_frailty = np.array([ae.frailty_admission_multiplier[b] for b in FRAILTY_BANDS], dtype=float)
    age = np.asarray(age_band, dtype=np.int64)
    f = np.maximum(np.asarray(frailty, dtype=np.int64), 0)
    p = by_age[age] * by_frailty[f]
    p = np.where(np.asarray(ambulance, dtype=bool), p * ae.ambulance_admission_multiplier, p)
    return np.minimum(p, MAX_ADMISSION_PROBABILITY)


__all__ = ["DRAW_ADMIT", "MAX_ADMISSION_PROBABILITY", "admission_probability"]
