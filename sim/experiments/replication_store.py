"""Finished replications, kept on disk as they finish, so an interrupted run can resume.

Each replication of a run is saved in the run folder as ``replications/rep_NNNN.json`` the
moment it finishes (written atomically). When a run is started again in the same folder
(``hydra.run.dir=<folder>``, or the same sweep), the replications kept there are loaded
instead of being run again; the written outputs are byte-identical to an uninterrupted run,
because a replication's results depend only on the configuration, the seed and its number.

The files are JSON, never pickle: a results folder may be shared, and loading one must not
be able to run code. Python writes floats in JSON with ``repr``, which reads back exactly.

Each file carries the configuration fingerprint (``config_sha256``) of the run that made it.
Replications of a different configuration are never mixed into a run: loading refuses them.
Each file also carries a checksum of its own content (``content_sha256``), checked again when
a run resumes: a file changed since it was written (edited by hand, damaged on disk) is not
used, and its replication is simply run again. (A checksum catches edits and damage; it does
not stop someone determined to forge a file, who could recompute it.)
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from sim.config.schema import ConfigError
from sim.core.replication import ReplicationResult
from sim.experiments import outputs

REPLICATIONS_DIR = "replications"
#: Version of the file layout below; files of another version are run again, not read.
FORMAT_VERSION = 2


class ResumeRefused(ConfigError):
    """The run folder holds replications of another configuration."""


def replication_path(out_dir: Path, replication: int) -> Path:
    return Path(out_dir) / REPLICATIONS_DIR / f"rep_{replication:04d}.json"


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (JSON cannot hold them; the numbers are unchanged)."""
    return value.item() if isinstance(value, np.generic) else value


def to_json(result: ReplicationResult, fingerprint: str, run_with: list[str] | None = None) -> str:
    """One replication as JSON text (``detail`` is left out: it is for tests only).
    ``run_with``: the sweep jobs it was run ahead of its job with (their names), by the
    sweep's launcher (:mod:`sim.experiments.sweep_replications`); None when its run ran it."""
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "config_sha256": fingerprint,
        "replication": result.replication,
        "episodes_total": _plain(result.episodes_total),
        "wall_seconds": _plain(result.wall_seconds),
        "kpis": {k: _plain(v) for k, v in result.kpis.items()},
        "ledger": {k: _plain(v) for k, v in result.ledger.items()},
        # (origin, destination) keys, in their order: JSON objects need text keys
        "flows": [[origin, dest, _plain(v)] for (origin, dest), v in result.flows.items()],
        "series": {
            name: {"dtype": str(np.asarray(a).dtype), "values": np.asarray(a).tolist()}
            for name, a in result.series.items()
        },
        "equity": {k: _plain(v) for k, v in result.equity.items()},
        # JSON object keys are text: years as "1", "2", ...
        "kpis_by_year": {
            str(y): {k: _plain(v) for k, v in kpis.items()}
            for y, kpis in result.kpis_by_year.items()
        },
    }
    if run_with is not None:
        data["run_with"] = list(run_with)
    return json.dumps({**data, "content_sha256": content_checksum(data)}, allow_nan=True)


def content_checksum(data: dict[str, Any]) -> str:
    """SHA-256 of a replication file's content (everything but the checksum itself)."""
    body = {k: v for k, v in data.items() if k != "content_sha256"}
    return hashlib.sha256(json.dumps(body, allow_nan=True, sort_keys=True).encode()).hexdigest()


def from_json(text: str) -> tuple[str, ReplicationResult, list[str] | None]:
    """(fingerprint, result, ``run_with``: None unless the sweep's launcher ran it ahead of
    its job) from :func:`to_json` text; ``ValueError`` if it is not one."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise ValueError(f"not a replication file of format {FORMAT_VERSION}")
    if data.get("content_sha256") != content_checksum(data):
        raise ValueError("its content changed after it was written (checksum mismatch)")
    try:
        result = ReplicationResult(
            replication=int(data["replication"]),
            kpis=dict(data["kpis"]),
            ledger=dict(data["ledger"]),
            flows={(str(o), str(d)): v for o, d, v in data["flows"]},
            episodes_total=data["episodes_total"],
            wall_seconds=data["wall_seconds"],
            series={
                name: np.asarray(s["values"], dtype=np.dtype(s["dtype"]))
                for name, s in data["series"].items()
            },
            equity=dict(data["equity"]),
            kpis_by_year={int(y): dict(k) for y, k in data["kpis_by_year"].items()},
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"incomplete replication file ({err!r})") from err
    run_with = data.get("run_with")
    return str(data["config_sha256"]), result, None if run_with is None else list(run_with)


def save_replication(
    out_dir: Path, result: ReplicationResult, fingerprint: str, run_with: list[str] | None = None
) -> None:
    outputs.atomic_write_text(
        replication_path(out_dir, result.replication), to_json(result, fingerprint, run_with)
    )


def kept_replication_files(out_dir: Path) -> list[Path]:
    """This program's ``rep_NNNN.json`` files in ``out_dir`` (nothing else that may be there)."""
    folder = Path(out_dir) / REPLICATIONS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("rep_*.json") if re.fullmatch(r"rep_\d+\.json", p.name))


def kept_replications(out_dir: Path) -> list[int]:
    """Numbers of the replications kept in ``out_dir``."""
    return [int(p.stem.removeprefix("rep_")) for p in kept_replication_files(out_dir)]


def load_replications(
    out_dir: Path,
    fingerprint: str,
    folder_key: str = "hydra.run.dir",
    run_ahead: dict[int, list[str]] | None = None,
) -> dict[int, ReplicationResult]:
    """Replications kept in ``out_dir``, by number; ``run_ahead``, if given, receives those
    the sweep's launcher ran ahead of the job, with the jobs each ran with (the others were
    kept by an earlier, interrupted run).

    Raises :class:`ResumeRefused` if any was made by a different configuration. A file that
    cannot be read (edited by hand, damaged, an older format) is skipped with a warning: its
    replication is simply run again, which gives the same numbers.
    """
    kept: dict[int, ReplicationResult] = {}
    for path in kept_replication_files(out_dir):
        try:
            theirs, result, run_with = from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            print(f"warning: {path} cannot be read ({err}); that replication runs again")
            continue
        if theirs != fingerprint:
            raise _refusal(out_dir, path, theirs, fingerprint, folder_key)
        kept[result.replication] = result
        if run_with is not None and run_ahead is not None:
            run_ahead[result.replication] = run_with
    return kept


def check_resumable(out_dir: Path, fingerprint: str, folder_key: str = "hydra.run.dir") -> None:
    """Raise :class:`ResumeRefused` if ``out_dir`` holds a run (its manifest) or replications
    of another configuration: a run folder belongs to one configuration, and starting another
    in it would mix or overwrite results. Reads only the fingerprints; quiet about unreadable
    files (their replications are run again)."""
    for path in [Path(out_dir) / "manifest.json", *kept_replication_files(out_dir)]:
        try:
            theirs = json.loads(path.read_text(encoding="utf-8")).get("config_sha256")
        except (OSError, ValueError, AttributeError):
            continue
        if theirs is not None and theirs != fingerprint:
            raise _refusal(out_dir, path, str(theirs), fingerprint, folder_key)


def _refusal(
    out_dir: Path, path: Path, theirs: str, fingerprint: str, folder_key: str
) -> ResumeRefused:
    what = "a run" if path.name == "manifest.json" else "replications"
    return ResumeRefused(
        folder_key,
        str(out_dir),
        f"holds {what} of a different configuration ({path.name} has config_sha256 "
        f"{theirs[:12]}..., this run {fingerprint[:12]}...); resume it with the settings it "
        "was started with (its .hydra/overrides.yaml) or choose another folder with "
        f"{folder_key}=...",
    )


def discard_replications(out_dir: Path) -> None:
    """Remove the kept replications once the run's outputs are complete (they are then in
    kpis.csv, ledger.csv, flows.csv, timeseries.parquet and equity.csv). Only this program's
    ``rep_NNNN.json`` files are removed, and the folder only if nothing else is in it."""
    for path in kept_replication_files(out_dir):
        path.unlink(missing_ok=True)
    try:
        (Path(out_dir) / REPLICATIONS_DIR).rmdir()
    except OSError:
        pass  # not there, or holds something that is not ours
