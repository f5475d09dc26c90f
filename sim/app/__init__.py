"""The web app for planners: ``python -m sim app`` (then open the address it prints).

A Streamlit page (:mod:`sim.app.page`) over the same commands and folders as the command line:
it starts ``python -m sim ...`` in the background (:mod:`sim.app.jobs`, :mod:`sim.app.runner`)
and reads run and sweep folders with the report's loaders (:mod:`sim.app.browse`). Needs the
``app`` extra: ``pip install -e ".[app]"``. See docs/app.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parent / "page.py"
#: NHS blue (NHS identity guidelines, colour "NHS Blue" #005EB8) for buttons and bars.
PRIMARY_COLOUR = "#005EB8"


def streamlit_command(port: int, address: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PAGE),
        "--server.headless=true",
        f"--server.port={port}",
        f"--server.address={address}",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=minimal",  # no "Deploy" button: the app runs on NHS machines
        f"--theme.primaryColor={PRIMARY_COLOUR}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim app", description="The web app: choose, run and read options."
    )
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (8501)")
    parser.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to serve on (127.0.0.1: this computer only; 0.0.0.0 for a team server)",
    )
    args = parser.parse_args(argv)
    try:
        import streamlit  # noqa: F401
    except ImportError:
        print(
            'error: the web app needs the app extra: pip install -c requirements.lock -e ".[app]"',
            file=sys.stderr,
        )
        return 2
    print(f"The web app is at http://{args.address}:{args.port} (Ctrl-C stops it)", flush=True)
    try:
        return subprocess.call(streamlit_command(args.port, args.address))
    except KeyboardInterrupt:
        return 130
