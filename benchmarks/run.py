"""Benchmark: the simulator beside two reference models, in CPU time as well as wall time.

    python benchmarks/run.py                          # everything but the full board sweep
    python benchmarks/run.py --only paired --rounds 3 # the headline figures only
    python benchmarks/run.py --only sweep --board-sweep   # the real 12 x 30 sweep (minutes)

Sections (``--only`` takes a comma-separated list of them):

``paired``
    ``--rounds`` rounds; in each, three processes one after another, their order rotated
    from round to round: the model (``--replications`` replication-years of the default
    site, 13 weeks' warm-up + 52, one core), the idiomatic SimPy M/M/c reference and the
    bare heapq event loop reference (``benchmarks/references.py``), each reference serving
    as many customers as the model has episodes in a replication-year. Every figure is a
    rate per CPU second (``time.process_time``: user + system time of that process, so load
    from other programs on the machine matters far less than for wall time), and each ratio
    is taken within its round, so a busy moment slows both sides. Reported as medians with
    the range over rounds. The model's replications are timed stage by stage (episode
    generation, booking pass, hospital stage, KPIs + series + equity, the rest).
``startup``
    ``python -m sim --help``, a configuration error, and the real ``python -m sim`` up to the
    moment its first replication starts (imports, Hydra compose, validation), each in a
    fresh process, ``--rounds`` times; CPU from ``resource.getrusage`` of the children.
``growth``
    one replication at population x1, x2, x4 (``--scales``) and over 1, 2 and 5 years
    (``--years``), each in a fresh process: CPU per million episodes and peak memory.
``sweep``
    the board sweep (12 options and the baseline x 30 replications x 1 year on every core,
    13 x 30 replication-years): projected from
    the paired CPU figures, and measured on a sample through the real command
    (``--sweep-sample`` replications of two options); ``--board-sweep`` runs the whole
    sweep through the real command instead.

Results go to ``outputs/benchmarks/<date>_<time>/`` as ``benchmark.json`` and
``benchmark.md`` (the tables of docs/performance.md). No test asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The checkout whose ``sim`` a child measures: this one, or another (``--against``).
SIM_ROOT = Path(os.environ.get("BENCHMARK_SIM_ROOT", ROOT))
sys.path.insert(0, str(SIM_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SECTIONS = ("compile", "paired", "startup", "growth", "sweep")
BOARD_REPLICATIONS = 30


def board_jobs() -> int:
    """Jobs of the board sweep: the baseline and every option it is compared with (13: the
    scenarios of ``conf/sweep/all_options.yaml``)."""
    import yaml

    sweep = yaml.safe_load((SIM_ROOT / "conf" / "sweep" / "all_options.yaml").read_text())
    return len(str(sweep["hydra"]["sweeper"]["params"]["scenario"]).split(","))


#: Stages of a replication, each the functions ``sim.core.replication`` calls for it (names
#: absent from the module are skipped, so the list may name a stage's old and new functions:
#: the coupled hospital replaced ``emergency_stage`` and ``admissions_stage``, which are named
#: only so that ``--against`` a checkout from before it times the same stage).
STAGES: dict[str, tuple[str, ...]] = {
    "episode generation": ("generate_episodes", "draw_episodes"),
    "booking pass": (
        "build_practice_books",
        "build_hub_books",
        "build_rac_books",
        "build_frail_weekend_books",
        "build_books",
        "run_journeys",
        "run_booking_pass",
    ),
    "hospital stage": ("hospital_stage", "emergency_stage", "admissions_stage"),
    "KPIs + series + equity": (
        "system_kpis",
        "flow_counts",
        "replication_series",
        "replication_equity",
    ),
}
ALL_STAGES = "model: CPU s per replication-year, all stages"
OTHER = "rest (calendar, settling outcomes, ledger)"
HOSPITAL = "hospital stage"


# --------------------------------------------------------------------------------------------
# Children: each measurement in its own process
# --------------------------------------------------------------------------------------------


def _cpu() -> float:
    return time.process_time()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB (1,024 bytes)


def default_run_config(scale: float = 1.0):
    """The default site's validated run configuration, every list size multiplied by scale."""
    from sim.config import compose

    data = compose.plain(compose.compose_config())
    for practice in data["site"]["practices"].values():
        practice["list_size"] = int(round(practice["list_size"] * scale))
    data["experiment"]["max_memory_gb"] = 1000  # measuring, not guarding
    run_cfg, _ = compose.validate(data)
    population = sum(p["list_size"] for p in data["site"]["practices"].values())
    return run_cfg, population


def _stage_timers(module) -> dict[str, float]:
    """Wrap the stage functions of ``module`` so each call adds its CPU time to its stage."""
    spent = dict.fromkeys(STAGES, 0.0)
    for stage, names in STAGES.items():
        for name in names:
            inner = getattr(module, name, None)
            if inner is None:
                continue

            def timed(*args, _inner=inner, _stage=stage, **kwargs):
                started = _cpu()
                try:
                    return _inner(*args, **kwargs)
                finally:
                    spent[_stage] += _cpu() - started

            setattr(module, name, timed)
    return spent


def child_model(
    scale: float = 1.0, weeks: int = 52, replications: int = 1, warmup: int | None = None
) -> dict:
    """``replications`` replications of the default site, one after another in this process,
    each ``weeks`` after the standard warm-up (or ``warmup`` weeks)."""
    import sim.core.replication as replication

    run_cfg, population = default_run_config(scale)
    warmup = run_cfg.experiment.warmup_weeks if warmup is None else warmup
    startup_cpu = _cpu()  # since the process started: interpreter, imports, compose, validate
    spent = _stage_timers(replication)
    runs = []
    for r in range(replications):
        for stage in spent:
            spent[stage] = 0.0
        before = resource.getrusage(resource.RUSAGE_SELF)
        cpu, wall = _cpu(), time.perf_counter()
        result = replication.run_replication(run_cfg.model, run_cfg.seed, r, warmup, weeks)
        cpu, wall = _cpu() - cpu, time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_SELF)
        stages = dict(spent)
        stages[OTHER] = cpu - sum(spent.values())
        runs.append(
            {
                "replication": r,
                "episodes": result.episodes_total,
                "cpu_seconds": cpu,
                "system_cpu_seconds": after.ru_stime - before.ru_stime,
                "page_faults": after.ru_minflt - before.ru_minflt,
                "wall_seconds": wall,
                "stages": stages,
            }
        )
    return {
        "scale": scale,
        "population": population,
        "weeks_simulated": warmup + weeks,
        "startup_cpu_seconds": startup_cpu,
        "replications": runs,
    }


def child_reference(kind: str, customers: int) -> dict:
    import references

    return {"simpy": references.simpy_mmc, "heapq": references.heapq_mmc}[kind](customers)


def child_first_replication(overrides: list[str]) -> None:
    """The real ``python -m sim`` up to its first replication: report the CPU used so far
    (interpreter, imports, Hydra compose, validation, run folder) and stop there. Starts as
    ``python -m sim`` does (``sim/__main__.py``: the cycle collector paused)."""
    import sim.__main__  # noqa: F401
    import sim.experiments.replications as replications

    def first_replication(*args, **kwargs):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({"cpu_seconds": usage.ru_utime + usage.ru_stime}), flush=True)
        os._exit(0)

    replications.run_replication = first_replication
    from sim.cli import main

    sys.argv = ["sim", *overrides]
    main()


def _child(kind: str, arg: str) -> None:
    args = json.loads(arg)
    if kind == "first_replication":
        child_first_replication(args)
        return
    result = child_model(**args) if kind == "model" else child_reference(kind, **args)
    result["peak_rss_mib"] = _peak_rss_mib()
    print(json.dumps(result))


def _spawn(
    argv: list[str], check: bool = True, sim_root: Path = ROOT
) -> tuple[subprocess.CompletedProcess, dict]:
    """Run a process; returns it and its CPU (user + system, from getrusage) and wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    env = _child_env(sim_root)
    done = subprocess.run(argv, capture_output=True, text=True, cwd=sim_root, env=env)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done, {"process_cpu_seconds": cpu, "process_wall_seconds": wall}


def _child_env(sim_root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(sim_root), env.get("PYTHONPATH")]))
    env["BENCHMARK_SIM_ROOT"] = str(sim_root)
    return env


def measure(kind: str, sim_root: Path = ROOT, **args) -> dict:
    argv = [sys.executable, __file__, "--child", kind, json.dumps(args)]
    done, usage = _spawn(argv, sim_root=sim_root)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), **usage}


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def spread(values: list[float]) -> dict:
    """Median and range."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def expected_episodes(years: int = 1) -> int:
    """Primary-care episodes expected in a replication of the default site (warm-up included)."""
    from sim.core.calendar import WEEKS_PER_YEAR
    from sim.core.demand import annual_episode_rates

    run_cfg, _ = default_run_config()
    weeks = run_cfg.experiment.warmup_weeks + 52 * years
    return int(round(annual_episode_rates(run_cfg.model).sum() * weeks / WEEKS_PER_YEAR, -3))


def paired(rounds: int, replications: int, customers: int, against: Path | None = None) -> dict:
    """Model and references, interleaved (order rotated each round), CPU and wall rates;
    with ``against``, the model of that other checkout too, in the same rounds."""
    kinds = ["model", "simpy", "heapq"] + (["against"] if against else [])
    per_round = []
    for i in range(rounds):
        order = kinds[i % len(kinds) :] + kinds[: i % len(kinds)]
        got = {}
        for kind in order:
            print(f"  round {i + 1}/{rounds}: {kind}", file=sys.stderr, flush=True)
            if kind in ("model", "against"):
                root = against if kind == "against" else ROOT
                got[kind] = measure("model", sim_root=root, replications=replications)
            else:
                got[kind] = measure(kind, customers=customers)
        per_round.append({"order": order, **got})
    out = {"customers": customers, "rounds": per_round, "summary": summarise_paired(per_round)}
    if against:
        out["against"] = {"checkout": str(against), "summary": compare_checkouts(per_round)}
    return out


def compare_checkouts(per_round: list[dict]) -> dict:
    """Stage by stage, this checkout's CPU against the other's, and their ratio per round."""
    rows: dict[str, dict[str, list[float]]] = {}
    for rnd in per_round:
        mine, theirs = _model_rates(rnd["model"]), _model_rates(rnd["against"])
        pairs = {
            "all stages": (mine["cpu"], theirs["cpu"]),
            "all but hospital": (mine["cpu_without_hospital"], theirs["cpu_without_hospital"]),
            "first replication of a process": (mine["first_cpu"], theirs["first_cpu"]),
            "start-up before the first replication": (mine["startup_cpu"], theirs["startup_cpu"]),
            "peak memory (MiB)": (mine["peak_rss_mib"], theirs["peak_rss_mib"]),
            **{s: (mine["stages"][s], theirs["stages"].get(s, 0.0)) for s in mine["stages"]},
        }
        for name, (a, b) in pairs.items():
            row = rows.setdefault(name, {"this": [], "other": [], "ratio": []})
            row["this"].append(a)
            row["other"].append(b)
            row["ratio"].append(a / b if b else float("nan"))
    return {name: {k: spread(v) for k, v in row.items()} for name, row in rows.items()}


def _model_rates(model: dict) -> dict:
    """Per replication-year: CPU with and without the hospital stage, wall, first and later."""
    reps = model["replications"]
    later = reps[1:] or reps

    def med(key, runs):
        return statistics.median(key(r) for r in runs)

    def no_hospital(r):
        return r["cpu_seconds"] - r["stages"][HOSPITAL]

    episodes = med(lambda r: r["episodes"], later)
    return {
        "episodes": episodes,
        "cpu": med(lambda r: r["cpu_seconds"], later),
        "cpu_without_hospital": med(no_hospital, later),
        "wall": med(lambda r: r["wall_seconds"], later),
        "first_cpu": reps[0]["cpu_seconds"],
        "first_cpu_without_hospital": no_hospital(reps[0]),
        "stages": {s: med(lambda r, s=s: r["stages"][s], later) for s in reps[0]["stages"]},
        "first_stages": reps[0]["stages"],
        "startup_cpu": model["startup_cpu_seconds"],
        "peak_rss_mib": model["peak_rss_mib"],
    }


def summarise_paired(per_round: list[dict]) -> dict:
    rows: dict[str, list[float]] = {}

    def add(name, value):
        rows.setdefault(name, []).append(value)

    for rnd in per_round:
        m = _model_rates(rnd["model"])
        simpy, heap = rnd["simpy"], rnd["heapq"]
        model_rate = m["episodes"] / m["cpu_without_hospital"]
        add(ALL_STAGES, m["cpu"])
        add(
            "model: CPU s per replication-year, all but the hospital stage",
            m["cpu_without_hospital"],
        )
        add(
            "model: the same, first replication in a fresh process", m["first_cpu_without_hospital"]
        )
        add("model: wall s per replication-year, all stages", m["wall"])
        add("model: episodes per CPU s, all but the hospital stage", model_rate)
        add("model: episodes per CPU s, all stages", m["episodes"] / m["cpu"])
        add("SimPy M/M/c: customers per CPU s", simpy["per_cpu_second"])
        add("heapq loop: customers per CPU s", heap["per_cpu_second"])
        add("ratio to SimPy (CPU, all but hospital)", model_rate / simpy["per_cpu_second"])
        add("ratio to heapq (CPU, all but hospital)", model_rate / heap["per_cpu_second"])
        add(
            "ratio to SimPy (wall, all stages)",
            (m["episodes"] / m["wall"]) / (simpy["customers"] / simpy["wall_seconds"]),
        )
        add(
            "ratio to heapq (wall, all stages)",
            (m["episodes"] / m["wall"]) / (heap["customers"] / heap["wall_seconds"]),
        )
        add("model: peak memory of the process (MiB)", m["peak_rss_mib"])
        for stage, cpu in m["stages"].items():
            add(f"stage: {stage}", cpu)
        for stage, cpu in m["first_stages"].items():
            add(f"first replication, stage: {stage}", cpu)
        add("stage: start-up before the first replication", m["startup_cpu"])
        if simpy["mean_wait_hours"] != heap["mean_wait_hours"]:
            raise RuntimeError(
                "the references did not serve the same customers with the same waits: mean "
                f"wait {simpy['mean_wait_hours']} (SimPy) against {heap['mean_wait_hours']}"
            )
        add("references: mean wait in queue (hours)", heap["mean_wait_hours"])
    return {name: spread(values) for name, values in rows.items()}


def startup(rounds: int) -> dict:
    """``--help``, a configuration error, and the real command up to its first replication."""
    py = sys.executable
    out_dir = tempfile.mkdtemp(prefix="bench_startup_")
    cases = {
        "python -m sim --help": ([py, "-m", "sim", "--help"], 0),
        "a configuration error (python -m sim experiment.replications=0)": (
            [py, "-m", "sim", "experiment.replications=0"],
            2,
        ),
    }
    first = [
        "experiment.n_jobs=1",
        "experiment.replications=1",
        f"hydra.run.dir={out_dir}/run",
    ]
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(rounds):
        for name, (argv, code) in cases.items():
            done, usage = _spawn(argv, check=False)
            if done.returncode != code:
                raise RuntimeError(f"{name}: exit code {done.returncode}\n{done.stderr[-2000:]}")
            row = results.setdefault(name, {"cpu": [], "wall": []})
            row["cpu"].append(usage["process_cpu_seconds"])
            row["wall"].append(usage["process_wall_seconds"])
        done, usage = _spawn(
            [py, __file__, "--child", "first_replication", json.dumps(first)], check=True
        )
        row = results.setdefault(
            "python -m sim, up to its first replication (imports, compose, validate)",
            {"cpu": [], "wall": []},
        )
        row["cpu"].append(json.loads(done.stdout.strip().splitlines()[-1])["cpu_seconds"])
        row["wall"].append(usage["process_wall_seconds"])
    return {name: {k: spread(v) for k, v in row.items()} for name, row in results.items()}


def first_compile(rounds: int) -> dict:
    """The compiled booking pass from nothing: this checkout's ``sim/`` (and configuration)
    copied to an empty folder, so no compiled code is cached anywhere it looks, then a short
    baseline run (2 + 8 weeks) in a fresh process, CPU and peak memory; then the same run
    again, loading what the first compiled."""
    import shutil

    out: dict[str, list[float]] = {}
    for _ in range(rounds):
        tree = Path(tempfile.mkdtemp(prefix="bench_compile_"))
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for part in ("sim", "conf", "scenarios"):
            shutil.copytree(SIM_ROOT / part, tree / part, ignore=ignore)
        # a source checkout (sim.config.locations): its own conf/, not an installed package's
        shutil.copy2(SIM_ROOT / "pyproject.toml", tree / "pyproject.toml")
        env_cache = tree / "numba_cache"  # where numba looks if the tree is not writable
        os.environ["NUMBA_CACHE_DIR"] = str(env_cache)
        try:
            for name in ("first run (compiling)", "second run (cached)"):
                m = measure("model", sim_root=tree, weeks=8, warmup=2)
                for key, value in (
                    (f"{name}: CPU s of the process", m["process_cpu_seconds"]),
                    (f"{name}: peak memory (MiB)", m["peak_rss_mib"]),
                ):
                    out.setdefault(key, []).append(value)
        finally:
            del os.environ["NUMBA_CACHE_DIR"]
            shutil.rmtree(tree, ignore_errors=True)
    return {name: spread(values) for name, values in out.items()}


def growth(scales: list[float], years: list[int]) -> list[dict]:
    """One replication per process: CPU per million episodes and peak memory."""
    runs = [(s, 1) for s in scales] + [(1.0, y) for y in years if y != 1]
    out = []
    for scale, y in runs:
        print(f"  growth: x{scale:g}, {y} year(s)", file=sys.stderr, flush=True)
        m = measure("model", scale=scale, weeks=52 * y, replications=1)
        r = m["replications"][0]
        out.append(
            {
                "scale": scale,
                "years": y,
                "population": m["population"],
                "weeks_simulated": m["weeks_simulated"],
                "episodes": r["episodes"],
                "cpu_seconds": r["cpu_seconds"],
                "cpu_seconds_without_hospital": r["cpu_seconds"] - r["stages"][HOSPITAL],
                "cpu_seconds_per_million_episodes": r["cpu_seconds"] / r["episodes"] * 1e6,
                "wall_seconds": r["wall_seconds"],
                "peak_rss_mib": m["peak_rss_mib"],
            }
        )
    return out


def sweep(sample: int, board: bool, per_replication_cpu: float | None) -> dict:
    """The board sweep: projected from the paired CPU figures, and measured."""
    cores = os.cpu_count() or 1
    out: dict = {"cores": cores}
    if per_replication_cpu is not None:
        out["projected_minutes_from_paired_cpu"] = (
            per_replication_cpu * board_jobs() * BOARD_REPLICATIONS / cores / 60
        )
    folder = tempfile.mkdtemp(prefix="bench_sweep_")
    base = [sys.executable, "-m", "sim", "+sweep=all_options", f"hydra.sweep.dir={folder}/sweep"]
    if board:
        argv = base + [f"experiment.replications={BOARD_REPLICATIONS}"]
        jobs, reps = board_jobs(), BOARD_REPLICATIONS
    elif sample:
        argv = base + [
            "hydra.sweeper.params.scenario='choice(baseline,text_reminders)'",
            f"experiment.replications={sample}",
            "hydra.callbacks.sweep_summary.board_report=false",
        ]
        jobs, reps = 2, sample
    else:
        return out
    print(f"  sweep: {jobs} jobs x {reps} replications", file=sys.stderr, flush=True)
    _, usage = _spawn(argv)
    wall, cpu = usage["process_wall_seconds"], usage["process_cpu_seconds"]
    scale = board_jobs() * BOARD_REPLICATIONS / (jobs * reps)
    out["measured"] = {
        "jobs": jobs,
        "replications_per_job": reps,
        "board_report": board,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "cpu_seconds_per_replication_year": cpu / (jobs * reps),
        "board_sweep_minutes": wall * scale / 60,
    }
    return out


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if abs(x) >= 0.01 or x == 0 else f"{x:.1e}"


def _cell(s: dict) -> tuple[str, str]:
    return _fmt(s["median"]), f"{_fmt(s['min'])} - {_fmt(s['max'])}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table under its title (each after a blank line)."""
    return ["", title, "", _row(columns), "|" + "---|" * len(columns), *map(_row, rows)]


def markdown(report: dict) -> str:
    from references import erlang_c_mean_wait

    lines: list[str] = []
    if "paired" in report:
        p = report["paired"]
        s = p["summary"]
        n = len(p["rounds"])
        lines += [
            f"**Side by side** ({n} rounds, order rotated; references serving "
            f"{p['customers']:,} customers each, as many as a replication-year's episodes; "
            "model figures are the median of replications 2 onwards of each process, "
            "the first reported apart; both references gave the same waits, and their mean "
            f"wait approaches the Erlang C value, {erlang_c_mean_wait():.3f} hours):",
            "",
            "| figure | median | range over rounds |",
            "|---|---|---|",
        ]
        for name, value in s.items():
            if name.startswith(("stage:", "first replication, stage:")):
                continue
            lines.append(f"| {name} | {' | '.join(_cell(value))} |")
        stages = [k for k in s if k.startswith("stage:")]
        total = sum(s[k]["median"] for k in stages if "start-up" not in k)
        rows = []
        for key in stages:
            stage = key.removeprefix("stage: ")
            first = s.get(f"first replication, stage: {stage}")
            med, rng = _cell(s[key])
            share = "" if "start-up" in key else f" ({100 * s[key]['median'] / total:.0f}%)"
            rows.append((stage, med + share, rng, _fmt(first["median"]) if first else "-"))
        lines += _table(
            "**Profile by stage** (CPU seconds per replication-year, median over rounds):",
            ("stage", "CPU s (later replications)", "range", "first replication in a process"),
            rows,
        )
    if "against" in report.get("paired", {}):
        a = report["paired"]["against"]
        lines += _table(
            f"**This checkout against {a['checkout']}** (CPU s of a replication-year, same "
            "rounds; ratio = this / other, median and range over rounds):",
            ("measure", "this", "other", "ratio", "range"),
            (
                (
                    name,
                    _fmt(row["this"]["median"]),
                    _fmt(row["other"]["median"]),
                    *_cell(row["ratio"]),
                )
                for name, row in a["summary"].items()
            ),
        )
    if "compile" in report:
        lines += _table(
            "**First compile** (a copy of `sim/` with nothing cached, a 2 + 8 week baseline "
            "in a fresh process, then again):",
            ("measure", "median", "range"),
            ((name, *_cell(value)) for name, value in report["compile"].items()),
        )
    if "startup" in report:
        lines += _table(
            "**Start-up** (fresh processes):",
            ("command", "CPU s", "range", "wall s", "range"),
            (
                (name, *_cell(row["cpu"]), *_cell(row["wall"]))
                for name, row in report["startup"].items()
            ),
        )
    if "growth" in report:
        lines += _table(
            "**Growth with population and years** (one replication per fresh process):",
            (
                "population",
                "weeks",
                "episodes",
                "CPU s",
                "CPU s, all but hospital",
                "CPU s per million episodes",
                "wall s",
                "peak memory (MiB)",
            ),
            (
                (
                    f"{g['population']:,}",
                    str(g["weeks_simulated"]),
                    f"{g['episodes']:,}",
                    f"{g['cpu_seconds']:.2f}",
                    f"{g['cpu_seconds_without_hospital']:.2f}",
                    f"{g['cpu_seconds_per_million_episodes']:.2f}",
                    f"{g['wall_seconds']:.2f}",
                    f"{g['peak_rss_mib']:.0f}",
                )
                for g in report["growth"]
            ),
        )
    if "sweep" in report:
        sw = report["sweep"]
        lines += [
            "",
            f"**Board sweep** (12 options x 30 replications x 1 year, {sw['cores']} cores):",
            "",
        ]
        if "projected_minutes_from_paired_cpu" in sw:
            lines.append(
                f"- projected from the paired CPU per replication-year: "
                f"{sw['projected_minutes_from_paired_cpu']:.1f} minutes (CPU only: no start-up, "
                "no files, cores not shared with anything else)"
            )
        if "measured" in sw:
            m = sw["measured"]
            what = (
                "the whole sweep"
                if m["board_report"]
                else (f"a sample of {m['jobs']} jobs x {m['replications_per_job']} replications")
            )
            lines.append(
                f"- measured, {what} through `python -m sim +sweep=all_options`: "
                f"{m['wall_seconds']:.0f} s wall, {m['cpu_seconds']:.0f} s CPU "
                f"({m['cpu_seconds_per_replication_year']:.2f} s per replication-year, start-up "
                f"and files included); a board sweep at this pace: "
                f"{m['board_sweep_minutes']:.1f} minutes"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections to run")
    parser.add_argument("--rounds", type=int, default=5, help="paired and start-up rounds")
    parser.add_argument(
        "--replications", type=int, default=3, help="replication-years per model process"
    )
    parser.add_argument(
        "--reference-customers",
        type=int,
        default=0,
        help="customers per reference run (default: a replication-year's episodes)",
    )
    parser.add_argument("--compile-rounds", type=int, default=1, help="first compiles to time")
    parser.add_argument("--scales", default="1,2,4", help="population multipliers")
    parser.add_argument("--years", default="1,2,5", help="run lengths in years")
    parser.add_argument("--sweep-sample", type=int, default=6, help="replications per job")
    parser.add_argument("--board-sweep", action="store_true", help="run the whole board sweep")
    parser.add_argument(
        "--against",
        type=Path,
        help="another checkout (e.g. of main) whose model runs in the same paired rounds",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    only = args.only.split(",")
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {list(SECTIONS)}")

    # Load (or compile, once) the compiled booking pass before timing anything.
    for root in [ROOT] + ([args.against] if args.against else []):
        measure("model", sim_root=root, weeks=1, warmup=0)
    report: dict = {}
    if "compile" in only:
        report["compile"] = first_compile(args.compile_rounds)
    if "paired" in only:
        customers = args.reference_customers or expected_episodes()
        report["paired"] = paired(args.rounds, args.replications, customers, args.against)
    if "startup" in only:
        report["startup"] = startup(args.rounds)
    if "growth" in only:
        scales = [float(s) for s in args.scales.split(",") if s]
        years = [int(y) for y in args.years.split(",") if y]
        report["growth"] = growth(scales, years)
    if "sweep" in only:
        per_rep = None
        if "paired" in report:
            per_rep = report["paired"]["summary"][ALL_STAGES]["median"]
        report["sweep"] = sweep(args.sweep_sample, args.board_sweep, per_rep)

    from sim.experiments.outputs import (
        atomic_write_json,
        atomic_write_text,
        git_state,
        package_versions,
    )

    report["git"] = git_state(ROOT)
    report["packages"] = package_versions()
    report["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
    }
    report["utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    table = markdown(report)
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out = ROOT / "outputs" / "benchmarks" / stamp
    atomic_write_json(out / "benchmark.json", report)
    atomic_write_text(out / "benchmark.md", table)
    print(table)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
