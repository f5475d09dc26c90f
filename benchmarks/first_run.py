"""A planner's first run: a fresh clone, the README's first command, timed part by part.

    python benchmarks/first_run.py                 # clone, install, run (several minutes)
    python benchmarks/first_run.py --keep          # keep the clone to look at afterwards

Clones this repository's last commit into an empty folder (no virtual environment, no
compiled booking pass: numba's cache is pointed at an empty folder too), then runs the
README's first command exactly as written, one ``&&`` part at a time so each part is timed:
making the virtual environment, installing, and running the baseline (which compiles the
booking pass first). Then it runs the last part again, to show the cached start, and runs a
quick baseline twice with the package installed *non-editable* into a second environment,
as a user who cannot write to its site-packages, to show where the compiled code goes and
that it is reused.

CPU is user + system time of the finished child processes (``resource.getrusage``); wall
time is reported beside it. Results go to ``outputs/benchmarks/<date>_<time>/first_run.json``
and ``first_run.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_first_command() -> str:
    """The README's first command (as tests/test_readme.py reads it)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", quick_start)[0]


def timed(command: str, cwd: Path, env: dict[str, str]) -> dict:
    """Run ``command`` with bash; its wall and CPU time, exit code and the tail of its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = (done.stdout + done.stderr).strip().splitlines()
    return {
        "command": command,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "compiled": any("compiling" in line.lower() for line in lines),
        "last_line": lines[-1] if lines else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="first_run_"))
    work.chmod(0o755)  # the non-editable run is made as another user, who must read it
    clone = work / "clone"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NUMBA_CACHE_DIR"] = str(work / "numba_cache")  # empty: nothing compiled before
    command = readme_first_command()
    parts = command.split(" && ")
    report: dict = {"readme_command": command, "parts": [], "folder": str(work)}
    try:
        report["clone"] = timed(f"git clone --quiet {ROOT} {clone}", work, env)
        for part in parts:
            print(f"  {part}", file=sys.stderr, flush=True)
            report["parts"].append(timed(part, clone, env))
        report["again"] = timed(parts[-1], clone, env)
        report["non_editable"] = non_editable(work, clone, env)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    total_wall = sum(p["wall_seconds"] for p in [report["clone"], *report["parts"]])
    total_cpu = sum(p["cpu_seconds"] for p in [report["clone"], *report["parts"]])
    report["total_wall_seconds"], report["total_cpu_seconds"] = total_wall, total_cpu
    report["utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report["load_average_at_end"] = os.getloadavg()

    lines = [
        f"From a fresh clone, the README's first command, part by part "
        f"(load average at the end {report['load_average_at_end'][0]:.1f} on "
        f"{os.cpu_count()} cores):",
        "",
        "| step | wall s | CPU s |",
        "|---|---|---|",
        f"| `git clone` | {report['clone']['wall_seconds']:.0f} "
        f"| {report['clone']['cpu_seconds']:.1f} |",
    ]
    for p in report["parts"]:
        note = " (compiled the booking pass)" if p["compiled"] else ""
        lines.append(
            f"| `{p['command']}`{note} | {p['wall_seconds']:.0f} | {p['cpu_seconds']:.1f} |"
        )
    lines += [
        f"| **from clone to run folder** | **{total_wall:.0f}** | **{total_cpu:.1f}** |",
        f"| the run again (cache in place) | {report['again']['wall_seconds']:.0f} "
        f"| {report['again']['cpu_seconds']:.1f} |",
    ]
    ne = report["non_editable"]
    if "failed" in ne:
        lines += ["", f"Installed non-editable (`pip install .`): failed: {ne['failed']}"]
    else:
        lines += [
            "",
            "Installed non-editable (`pip install .`), run by a user who cannot write to its "
            f"site-packages: first run {ne['first']['wall_seconds']:.0f} s wall, "
            f"{ne['first']['cpu_seconds']:.1f} s CPU"
            f"{' (compiled)' if ne['first']['compiled'] else ''}; second run "
            f"{ne['second']['wall_seconds']:.0f} s wall, {ne['second']['cpu_seconds']:.1f} s CPU"
            f"{' (compiled again!)' if ne['second']['compiled'] else ' (cache reused)'}; "
            f"cache files written to {ne['cache_files']}.",
        ]
    table = "\n".join(lines) + "\n"
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out = ROOT / "outputs" / "benchmarks" / stamp
    out.mkdir(parents=True, exist_ok=True)
    (out / "first_run.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "first_run.md").write_text(table, encoding="utf-8")
    print(table)
    print(out)
    return 0


def non_editable(work: Path, clone: Path, env: dict[str, str]) -> dict:
    """Install the clone non-editable (``pip install .``) into a second environment and run a
    quick baseline twice from another folder, as a user who cannot write to site-packages
    (``nobody``, when this runs as root): where does the compiled code go, and is it reused?"""
    venv = work / "venv_site"
    cache, runs = work / "numba_cache_site", work / "site_runs"
    for folder in (cache, runs):
        folder.mkdir()
        folder.chmod(0o777)
    env = {**env, "NUMBA_CACHE_DIR": str(cache), "HOME": str(runs)}
    try:
        install = timed(
            f"python3 -m venv {venv} && {venv}/bin/pip install -q -c requirements.lock .",
            clone,
            env,
        )
        as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups " if os.getuid() == 0 else ""
        run = f"{as_user}{venv}/bin/python -m sim experiment=quick hydra.run.dir={runs}/run"
        first = timed(run + "1", runs, env)
        second = timed(run + "2", runs, env)
    except RuntimeError as err:
        return {"failed": str(err).splitlines()[0] + " ... " + str(err).splitlines()[-1]}
    written = sorted(str(p.relative_to(work)) for p in work.rglob("*.nbi"))
    return {
        "install": install,
        "first": first,
        "second": second,
        "cache_files": written[:3] + (["..."] if len(written) > 3 else []),
    }


if __name__ == "__main__":
    raise SystemExit(main())
