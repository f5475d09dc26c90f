"""The README's two commands are what CI and users run: CI must run the test command exactly
as the README writes it, and both commands must install from the pinned constraints."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", quick_start)


def test_ci_runs_the_readme_test_command_verbatim():
    commands = readme_commands()
    assert len(commands) == 2, commands
    run_command, test_command = commands
    assert test_command.endswith("-m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1].strip() == test_command


def test_both_commands_install_from_the_pinned_constraints_and_run_the_model():
    run_command, test_command = readme_commands()
    for command in (run_command, test_command):
        assert command.startswith("python3 -m venv .venv && ")
        assert "-c requirements.lock" in command
    assert run_command.endswith(".venv/bin/python -m sim")


def test_ci_checks_lint_and_format_with_a_pinned_ruff_before_the_tests():
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    check = next(i for i, line in enumerate(lines) if "ruff check ." in line)
    fmt = next(i for i, line in enumerate(lines) if "ruff format --check ." in line)
    assert max(check, fmt) < len(lines) - 1  # before the README's test command
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("ruff==") for line in lock), "ruff is not pinned"
