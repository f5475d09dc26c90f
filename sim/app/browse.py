"""Past results for the web app: the run, sweep and uncertainty folders under the outputs
folder, read with the same loaders as the board report and the notebooks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.experiments.results import read_manifest

#: Folder kinds the app lists, and where each lives under the outputs folder. Uncertainty
#: analyses (probabilistic sensitivity analysis) are listed by the same rule as sweeps: a
#: folder holding a summary or report.
KINDS = {"run": "runs", "sweep": "sweeps", "uncertainty": "uncertainty"}


@dataclass(frozen=True)
class ResultFolder:
    kind: str
    path: Path
    status: str
    label: str
    finished: str

    @property
    def reportable(self) -> bool:
        """A folder the board report can be made of."""
        return self.kind in ("run", "sweep") and self.status == "complete"


def _sweep_status(folder: Path, kind: str = "sweep") -> str:
    """A sweep is complete once compared and ranked; an uncertainty analysis once its tables
    are written (``uncertainty.json``)."""
    finished = ("uncertainty.json",) if kind == "uncertainty" else ("comparison.csv", "ranking.csv")
    if all((folder / name).is_file() for name in finished):
        return "complete"
    if any(folder.glob("*/manifest.json")):
        return "running"
    return "empty"


def list_folders(root: Path, kind: str) -> list[ResultFolder]:
    """Folders of one kind under ``root``, newest first."""
    base = root / KINDS[kind]
    if not base.is_dir():
        return []
    found = []
    for folder in base.iterdir():
        if not folder.is_dir():
            continue
        if kind == "run":
            manifest = read_manifest(folder)
            if not manifest:
                continue
            status = str(manifest.get("status", "unknown"))
            label = (
                f"{manifest.get('scenario', folder.name)} - {manifest.get('experiment', '?')}, "
                f"{manifest.get('replications', '?')} x {manifest.get('run_weeks', '?')} weeks"
            )
            finished = str(manifest.get("finished_utc") or manifest.get("started_utc") or "")
        else:
            status = _sweep_status(folder, kind)
            if status == "empty" and not any(folder.iterdir()):
                continue
            jobs = sorted(p.parent.name for p in folder.glob("*/manifest.json"))
            label = f"{len(jobs)} jobs: {', '.join(jobs)}" if jobs else "no jobs"
            finished = ""
        stamp = max((p.stat().st_mtime for p in folder.iterdir()), default=folder.stat().st_mtime)
        found.append((stamp, ResultFolder(kind, folder, status, label, finished)))
    return [f for _, f in sorted(found, key=lambda x: x[0], reverse=True)]


def downloads(folder: Path) -> list[Path]:
    """Files a planner may download: the board paper and every CSV, in a fixed order."""
    papers = [folder / f"report.{ext}" for ext in ("pdf", "docx", "html", "md")]
    csvs = sorted(folder.glob("*.csv")) + sorted(folder.glob("*/*.csv"))
    return [p for p in papers if p.is_file()] + csvs


MIME = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html",
    ".md": "text/markdown",
    ".csv": "text/csv",
}


def figure_pngs(folder: Path) -> list[tuple[str, str, str, bytes]]:
    """The board report's figures of a run or sweep folder as PNG: (key, title, caption,
    png), drawn by :mod:`sim.report.figures` from the folder's files."""
    from sim.report.build import SCREEN_DPI, png_bytes
    from sim.report.figures import all_figures, close_all
    from sim.report.load import load_folder

    data = load_folder(folder)
    figures = all_figures(data)
    try:
        return [(f.key, f.title, f.caption, png_bytes(f, SCREEN_DPI)) for f in figures]
    finally:
        close_all(figures)


def psa_view(folder: Path) -> tuple[list[str], list[str], list[tuple[str, str, str, bytes]]]:
    """A finished uncertainty analysis as the board paper's "How sure are we?" section puts
    it: the answer in sentences, the warnings the analysis raised (too few sets, noise, sets
    not complete) and its figures as PNG (key, title, caption, png), drawn from the folder's
    tables. Raises :class:`sim.report.load.ReportError` for a folder not finished."""
    import matplotlib

    from sim.report.build import SCREEN_DPI, png_bytes
    from sim.report.figures import close_all
    from sim.report.style import PLAIN_TEXT
    from sim.report.uncertainty import load_results, plain_statement, psa_figures

    results = load_results(folder)
    warnings = [*results.status.get("flags", []), *results.status.get("problems", [])]
    # options' titles reach the figures: drawn as written, never read as mathematics
    with matplotlib.rc_context(PLAIN_TEXT):
        figures = psa_figures(results)
        try:
            pngs = [(f.key, f.title, f.caption, png_bytes(f, SCREEN_DPI)) for f in figures]
        finally:
            close_all(figures)
    return plain_statement(results), warnings, pngs


def report_data(folder: Path):
    """A run or sweep folder as the board paper reads it (:class:`sim.report.load.ReportData`)."""
    from sim.report.load import load_folder

    return load_folder(folder)
