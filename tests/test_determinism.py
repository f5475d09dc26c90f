"""Determinism audit: the same inputs give byte-identical run files, run after run and for any
number of worker processes. (Across launchers, joblib against submitit, see
``test_sweeps.py::test_launchers_give_byte_identical_files``; across an interruption and
resume, ``test_resume.py``.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_sim

from sim.experiments.run_folder import RUN_FILES  # every file of a run folder but the manifest

#: The whole North Durham site, 3 replications of 1 + 2 weeks: enough for n_jobs=2 to split
#: them between workers in an order that differs from serial.
DESIGN = [
    "experiment=quick",
    "experiment.replications=3",
    "experiment.warmup_weeks=1",
    "experiment.run_weeks=2",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """The same configuration run three times: serially twice, then on two workers."""
    root = tmp_path_factory.mktemp("determinism")
    folders = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, n_jobs in (("first", 1), ("again", 1), ("two_workers", 2)):
            folders[name] = root / name
            argv = [*DESIGN, f"experiment.n_jobs={n_jobs}", f"hydra.run.dir={folders[name]}"]
            assert run_sim(argv, monkeypatch) == 0
    return folders


@pytest.mark.parametrize("other", ["again", "two_workers"])
@pytest.mark.parametrize("name", RUN_FILES)
def test_run_files_are_byte_identical(runs, other, name):
    assert (runs["first"] / name).read_bytes() == (runs[other] / name).read_bytes()


def test_the_runs_compared_are_what_they_claim(runs):
    """The parallel run really used two workers, all three the same configuration, and the
    replications really differ (identical files of identical replications would prove
    nothing)."""
    manifests = {k: json.loads((v / "manifest.json").read_text()) for k, v in runs.items()}
    assert [m["n_jobs"] for m in manifests.values()] == [1, 1, 2]
    assert len({m["config_sha256"] for m in manifests.values()}) == 1
    assert all(m["status"] == "complete" for m in manifests.values())
    assert len(set(manifests["first"]["episodes_per_replication"])) == 3


def test_a_replication_gives_the_same_numbers_with_shared_or_its_own_books():
    """A run's replications share its calendar and books (built once per configuration,
    ``sim.core.replication.calendar_and_books``): a replication gives the same numbers
    whether it builds its own, reuses those of an earlier replication, or runs after another
    configuration replaced them. (Were the pass to book on the shared books, the second
    replication to use them would find them part-booked.)"""
    from sim.config.compose import compose_validated
    from sim.core.replication import run_replication
    from sim.experiments.fingerprint import result_digest

    base = compose_validated([])[1]
    other = compose_validated(["scenario=[extended_access_8to8]"])[1]

    def digest(run_cfg, replication: int, keep_detail: bool = False) -> str:
        result = run_replication(run_cfg.model, run_cfg.seed, replication, 1, 2, keep_detail)
        return result_digest(result)

    own = digest(base, 1, keep_detail=True)  # its own books, never shared
    first = digest(base, 0)  # builds the books and shares them
    shared = digest(base, 1)  # replication 0's books
    digest(other, 0)  # another configuration's books replace them
    after = digest(base, 1)
    assert own == shared == after
    assert first != shared  # the replications differ: equal digests would prove nothing


def test_alternatives_share_a_request_order_only_when_their_first_requests_agree():
    """Episodes shared by a PSA set's alternatives (``SharedEpisodes``) are put in request
    order once for alternatives whose first requests are decided alike (an option acting
    after the request, such as the frailty team), and anew, exactly as on their own, for a
    configuration in which every need that waited rings at opening."""
    import numpy as np

    from sim.booking.preparation import SharedEpisodes, in_request_order
    from sim.config.compose import compose_validated
    from sim.core.demand import generate_episodes
    from sim.core.replication import make_calendar
    from sim.core.streams import Streams

    base = compose_validated([])[1].model
    option = compose_validated(["scenario=[frailty_front_of_house]"])[1].model
    at_opening = compose_validated(["assumptions.demand.waiting_request_hour_share=[1.0]"])[1]
    calendar = make_calendar(base, 1, 2)
    shared = SharedEpisodes(generate_episodes(base, calendar, Streams(1, 0)))
    first = shared.in_request_order(base, calendar)
    assert shared.in_request_order(option, calendar) is first  # the same arrays, no copy
    rung = shared.in_request_order(at_opening.model, calendar)
    episodes, requests = in_request_order(shared.episodes, at_opening.model, calendar)
    assert np.array_equal(rung[0].key, episodes.key)
    assert np.array_equal(rung[1].request, requests.request)
    assert not np.array_equal(rung[1].request, first[1].request)


def test_alternatives_replicated_together_give_the_numbers_each_gives_alone():
    """``replicate_together`` (a PSA set's alternatives, a sweep's jobs) draws the patients
    once for alternatives with the same demand and first requests and puts them in request
    order once, in place: each alternative still gets exactly the numbers of a replication of
    its own. The four cover every path: two sharing patients (an option acting after the
    request), one where fewer urgent needs out of hours wait for the practice (the same
    demand, another request order), and one that changes demand (patients of its own)."""
    from sim.config.compose import compose_validated
    from sim.core.replication import replicate_together, run_replication
    from sim.experiments.fingerprint import result_digest

    models = {
        "base": compose_validated([])[1].model,
        "frailty team": compose_validated(["scenario=[frailty_front_of_house]"])[1].model,
        "fewer wait": compose_validated(
            ["assumptions.booking.urgent_out_of_hours_waits_share=0.2"]
        )[1].model,
        "pharmacists": compose_validated(["scenario=[clinical_pharmacists]"])[1].model,
    }
    together = replicate_together(models, 7, 1, 1, 2)
    assert list(together) == list(models)
    alone = {k: result_digest(run_replication(m, 7, 1, 1, 2)) for k, m in models.items()}
    assert {k: result_digest(r) for k, r in together.items()} == alone
    assert len(set(alone.values())) == 4  # four different answers: equal ones prove nothing


def test_episodes_put_in_one_order_in_place_refuse_another():
    """Shared episodes put in request order in place (``one_order``) keep no drawn order: an
    alternative needing another order gets an error, not episodes in the wrong order."""
    from sim.booking.preparation import SharedEpisodes
    from sim.config.compose import compose_validated
    from sim.core.demand import draw_episodes
    from sim.core.replication import make_calendar
    from sim.core.streams import Streams

    base = compose_validated([])[1].model
    at_opening = compose_validated(["assumptions.demand.waiting_request_hour_share=[1.0]"])[1]
    calendar = make_calendar(base, 1, 2)
    shared = SharedEpisodes(draw_episodes(base, calendar, Streams(1, 0)), one_order=True)
    first = shared.in_request_order(base, calendar)
    assert shared.in_request_order(base, calendar) is first
    with pytest.raises(ValueError, match="one request order in place"):
        shared.in_request_order(at_opening.model, calendar)
