"""Running the model for the web app: the same commands as the command line, in the background.

The app never runs the model in its own process. Each job is one or more ``python -m sim ...``
commands, run in order by :mod:`sim.app.runner` in a process of its own, writing the same run
and sweep folders as a planner typing the command. The app follows a job by reading files
only, so the page never waits and a job outlives the page (or the app) that started it:

- ``<outputs>/app/jobs/<id>.json``: what the job is (its commands, its folder, when it started);
- ``<outputs>/app/jobs/<id>.log``: everything the commands printed;
- ``<outputs>/app/jobs/<id>.exit``: written by the runner when the job ends, with each
  command's exit code;
- and the job's run or sweep folder: its ``manifest.json`` and the replications kept in
  ``replications/`` as they finish (sim/experiments/replication_store.py) give the progress
  (a sweep's jobs keep theirs before they start: the local launcher runs them together
  first, so a job folder has replications before it has a manifest).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sim.config.locations import OUTPUTS_DIR, PROJECT_ROOT
from sim.experiments import outputs
from sim.experiments.replication_store import kept_replications
from sim.experiments.results import read_manifest

#: Where the app keeps its outputs (the project's outputs/ unless the environment says so).
ENV_OUTPUTS = "SIM_APP_OUTPUTS"
#: Exit codes of ``python -m sim`` (sim/cli.py, docs/reliability.md).
EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130


def outputs_root() -> Path:
    value = os.environ.get(ENV_OUTPUTS, "").strip()
    return Path(value).expanduser().resolve() if value else OUTPUTS_DIR


def jobs_dir(root: Path | None = None) -> Path:
    return (root or outputs_root()) / "app" / "jobs"


@dataclass
class Job:
    """A job the app started: ``commands`` are argument lists for ``python -m sim``."""

    id: str
    kind: str  # "run", "sweep", "report"
    label: str
    folder: str
    commands: list[list[str]]
    started: float = field(default_factory=time.time)
    pid: int | None = None
    expected_jobs: int = 1  # a sweep's jobs, for its progress

    @property
    def path(self) -> Path:
        return Path(self.folder)


@dataclass
class Progress:
    """Where a job is, read from its files."""

    state: str  # "starting", "running", "finished", "configuration error", "failed", "stopped"
    fraction: float
    text: str
    message: str = ""  # the error a planner must read (one line), or the last line printed

    @property
    def done(self) -> bool:
        return self.state not in ("starting", "running")


def _job_file(job_id: str, suffix: str, root: Path | None = None) -> Path:
    return jobs_dir(root) / f"{job_id}{suffix}"


def start(job: Job, root: Path | None = None) -> Job:
    """Record ``job`` and start its runner in a process group of its own; returns at once."""
    folder = jobs_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    record = _job_file(job.id, ".json", root)
    outputs.atomic_write_json(record, asdict(job))
    log = _job_file(job.id, ".log", root).open("ab")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "sim.app.runner", str(record)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=PROJECT_ROOT,
            start_new_session=True,  # the job outlives the page; stopping it stops its children
        )
    finally:
        log.close()
    job.pid = process.pid
    outputs.atomic_write_json(record, asdict(job))
    return job


def load(job_id: str, root: Path | None = None) -> Job:
    data = json.loads(_job_file(job_id, ".json", root).read_text(encoding="utf-8"))
    return Job(**data)


def all_jobs(root: Path | None = None) -> list[Job]:
    """Every job the app started, newest first."""
    folder = jobs_dir(root)
    if not folder.is_dir():
        return []
    jobs = []
    for path in folder.glob("*.json"):
        try:
            jobs.append(Job(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue  # a record being written, or not the app's
    return sorted(jobs, key=lambda j: j.started, reverse=True)


def exit_codes(job: Job, root: Path | None = None) -> list[int] | None:
    path = _job_file(job.id, ".exit", root)
    if not path.is_file():
        return None
    try:
        return [int(c) for c in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return None


def log_text(job: Job, root: Path | None = None) -> str:
    path = _job_file(job.id, ".log", root)
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


_ERROR_LINE = re.compile(r"^(Configuration error|Output error|error|Error): .*$", re.M)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a child that ended but was not reaped yet is a zombie: not alive
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _run_progress(folder: Path) -> tuple[float, str]:
    manifest = read_manifest(folder)
    if manifest.get("status") == "complete":
        return 1.0, "complete"
    total = manifest.get("replications")
    done = len(kept_replications(folder)) if folder.is_dir() else 0
    if isinstance(total, int) and total > 0:
        return min(done / total, 1.0), f"{done} of {total} replications"
    return 0.0, "starting"


def _replications_per_job(folder: Path) -> int | None:
    """A sweep's replications per job, from Hydra's record of it (``multirun.yaml``)."""
    import yaml

    try:
        data = yaml.safe_load((folder / "multirun.yaml").read_text(encoding="utf-8"))
        wanted = data["experiment"]["replications"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return wanted if isinstance(wanted, int) and wanted > 0 else None


def _sweep_progress(folder: Path, expected: int) -> tuple[float, str]:
    finished, partial, ahead = 0, 0.0, 0
    if folder.is_dir():
        for sub in folder.iterdir():
            if not (sub / "manifest.json").is_file():
                # replications the local launcher ran before the job started
                ahead += len(kept_replications(sub)) if sub.is_dir() else 0
                continue
            fraction, _ = _run_progress(sub)
            if fraction >= 1.0:
                finished += 1
            else:
                partial += fraction
    total = max(expected, 1)
    text = f"{finished} of {total} jobs complete"
    each = _replications_per_job(folder) if ahead else None
    if each:
        partial += ahead / each
        text += f", {ahead} of {total * each} replications run"
    return min((finished + partial) / total, 1.0), text


def progress(job: Job, root: Path | None = None) -> Progress:
    """The job's state from its files (never blocks)."""
    codes = exit_codes(job, root)
    log = log_text(job, root)
    last = next((ln for ln in reversed(log.splitlines()) if ln.strip()), "")
    if job.kind == "sweep":
        fraction, text = _sweep_progress(job.path, job.expected_jobs)
    elif job.kind == "run":
        fraction, text = _run_progress(job.path)
    else:
        fraction, text = 0.0, "working"
    if codes is None:
        if not _alive(job.pid):
            return Progress("stopped", fraction, text, last)
        return Progress("running" if fraction > 0 or log else "starting", fraction, text, last)
    failed = next((c for c in codes if c != 0), 0)
    if failed == 0:
        return Progress("finished", 1.0, "complete", last)
    found = _ERROR_LINE.search(log)
    message = found.group(0) if found else last  # the command line's own one-line message
    if failed == EXIT_CONFIG_ERROR:
        return Progress("configuration error", fraction, text, message)
    if failed in (EXIT_INTERRUPTED, -signal.SIGTERM, -signal.SIGKILL):
        return Progress("stopped", fraction, text, message)
    return Progress("failed", fraction, text, message)


def stop(job: Job) -> None:
    """Stop a running job: its runner and the commands it started (one process group, the
    job's own). Finished replications are kept; the same job resumes them when run again."""
    if job.pid is not None and _alive(job.pid):
        try:
            os.killpg(job.pid, signal.SIGINT)  # as Ctrl-C: the run keeps what finished
        except ProcessLookupError:
            pass


def new_id(label: str) -> str:
    """A job id that sorts by time and names what it runs."""
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", label)[:60]
    return f"{stamp}_{safe}_{os.getpid() % 1000:03d}{int(time.time() * 1000) % 1000:03d}"
