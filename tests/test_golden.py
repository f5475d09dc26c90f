"""Golden back-tests: short runs of the baseline and of option mixes give pinned digests.

Any change of the model's numbers, however small, changes a digest here, so it shows in
review. A deliberate change (a new mechanism, a recalibration) re-pins them in the same commit
with ``python benchmarks/results_digest.py --pin`` and says so in the commit message; a
restructuring or a speed-up must leave them alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.experiments.fingerprint import GOLDEN_MIXES, GOLDEN_WEEKS, mix_digest

PINNED = json.loads(
    (Path(__file__).resolve().parent / "golden" / "digests.json").read_text(encoding="utf-8")
)


def test_every_golden_mix_is_pinned():
    assert sorted(PINNED) == sorted(GOLDEN_MIXES)


@pytest.mark.parametrize("mix", GOLDEN_MIXES)
def test_numbers_are_unchanged(mix: str):
    warmup, weeks = GOLDEN_WEEKS
    assert mix_digest(mix, warmup, weeks) == PINNED[mix], (
        f"the results of {mix} changed; if that is deliberate, re-pin with "
        "`python benchmarks/results_digest.py --pin` and state the change in the commit"
    )
