"""``nhs-sim init [FOLDER]``: make a working folder for your own sites, options and outputs.

An installed package keeps its configuration and option catalogue inside itself, read only.
Your own files go in a working folder you own::

    FOLDER/
      .nhs-sim          marks the folder: commands run anywhere inside it use it
      conf/site/        your sites (nhs-sim site-from-csv writes here); any other group of
                        conf/ (assumptions/, experiment/, ...) can be added the same way
      scenarios/        your own investment options, beside the shipped catalogue
      outputs/          every run, sweep, validation and report
      README.md         these notes, with where the shipped files are

Existing files are never overwritten, so running it again on a folder only adds what is
missing. The last line printed is the folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sim.config import locations
from sim.experiments.outputs import atomic_write_text

USAGE = """usage: nhs-sim init [FOLDER]     (or: python -m sim init [FOLDER])

Make FOLDER (default: the current folder) a working folder: conf/site/ and scenarios/ for
your own sites and options, outputs/ for results. Run nhs-sim from inside it.
"""

MARKER_TEXT = """\
# This folder is an nhs-sim working folder (made by `nhs-sim init`). Commands run anywhere
# inside it read conf/ and scenarios/ here beside the shipped ones and write to outputs/ here.
"""

README = """\
# Working folder for the NHS capacity simulator

Commands run anywhere inside this folder use it (the `.nhs-sim` file marks it):

- `conf/site/`: your own sites. `nhs-sim site-from-csv ... --name my_area` writes
  `my_area.yaml` here; run it with `nhs-sim site=my_area`.
- `conf/<group>/`: your own files of any other configuration group (`assumptions/`,
  `experiment/`, `sweep/`, ...), chosen the same way.
- `scenarios/`: your own investment options, one YAML file each, chosen with
  `scenario=<name>` like the shipped ones.
- `outputs/`: every run (`outputs/runs/`), sweep (`outputs/sweeps/`), validation and report.

Your files must not have the name of a shipped file: the simulator refuses such a file with a
message rather than silently using the shipped one. To start from a shipped file, copy it
under a new name. The shipped files (read only) are in:

- configuration: `{conf}`
- options: `{scenarios}`

First steps:

```bash
nhs-sim experiment=quick                     # a first look at the North Durham baseline
nhs-sim site-from-csv --patients <NHS Digital file> --localities <practice list> --name my_area
nhs-sim site=my_area                         # your area's baseline
```

The documentation is with the source code (README.md and docs/), and in the package:
`{docs}`.
"""


def init(folder: Path) -> list[Path]:
    """Make ``folder`` a working folder; returns the files and folders it created."""
    folder = folder.expanduser().resolve()
    made: list[Path] = []
    for sub in ("conf/site", "scenarios", "outputs"):
        path = folder / sub
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            made.append(path)
    files = {
        locations.WORK_MARKER: MARKER_TEXT,
        "README.md": README.format(
            conf=locations.CONF_DIR, scenarios=locations.SCENARIO_DIR, docs=locations.DOCS_DIR
        ),
    }
    for name, text in files.items():
        path = folder / name
        if not path.exists():
            atomic_write_text(path, text)
            made.append(path)
    return made


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE, end="")
        return 0
    if len(argv) > 1 or any(a.startswith("-") for a in argv):
        print(USAGE, end="", file=sys.stderr)
        return 2
    folder = Path(argv[0]) if argv else Path.cwd()
    if folder.exists() and not folder.is_dir():
        print(f"Input error: FOLDER = {folder}: is a file; give a folder", file=sys.stderr)
        return 2
    try:
        made = init(folder)
    except OSError as err:
        print(f"Output error: {folder}: {err.strerror or err}", file=sys.stderr)
        return 1
    for path in made:
        print(f"created {path}")
    if not made:
        print("already a working folder: nothing to add")
    print(f"Run nhs-sim from inside this folder; outputs go to {folder.resolve() / 'outputs'}")
    print(folder.resolve())
    return 0
