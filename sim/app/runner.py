"""Run a web-app job's commands in order: ``python -m sim.app.runner <job.json>``.

Started by :func:`sim.app.jobs.start` in a process group of its own, with its output going to
the job's log. Each command is ``python -m sim <arguments>``, exactly what a planner would
type; the runner stops at the first that fails and, last, writes the exit codes beside the
job's record (``<id>.exit``), which is how the app knows the job has ended.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sim.experiments import outputs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    record = Path(argv[0])
    job = json.loads(record.read_text(encoding="utf-8"))
    codes: list[int] = []
    for command in job["commands"]:
        print(f"$ python -m sim {' '.join(command)}", flush=True)
        child = subprocess.Popen([sys.executable, "-m", "sim", *command])
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:
                continue  # the child got the same Ctrl-C (one process group): wait for it
        codes.append(code)
        if code != 0:
            break
    outputs.atomic_write_json(record.with_suffix(".exit"), codes)
    return codes[-1] if codes else 0


if __name__ == "__main__":
    raise SystemExit(main())
