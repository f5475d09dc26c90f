"""What users of research software expect to find, consistent with each other: the licence,
how to cite a version, the changelog of versions, one version number everywhere; and every
source a user is pointed to is inside the project."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import yaml

import sim

ROOT = Path(__file__).resolve().parent.parent


def test_one_version_everywhere():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sim.__version__"}
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["version"] == sim.__version__
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", changelog, re.M)
    assert released and released[0][0] == sim.__version__  # the newest release comes first
    assert citation["date-released"] == released[0][1]


def test_the_licence_is_mit_and_the_package_says_so():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"
    assert pyproject["project"]["license-files"] == ["LICENSE"]


def test_citation_has_what_a_citation_needs():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "date-released", "license"):
        assert citation.get(key), key
    assert citation["license"] == "MIT"
    assert all("name" in a or "family-names" in a for a in citation["authors"])


def test_changelog_keeps_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in text and "semver.org" in text
    headings = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert headings[0] == "Unreleased"
    sections = set(re.findall(r"^### (\w+)$", text, re.M))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_no_source_points_outside_the_project():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = re.compile(r"shared/(calibration\.md|seeds/)|shared calibration\.md")
    offenders = [
        name
        for name in tracked
        if name.endswith((".md", ".yaml", ".py", ".txt"))
        and name != "tests/test_release.py"
        and outside.search((ROOT / name).read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []
    sources = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\(((?:sources/|calibration_)[^)]+)\)", sources):
        assert (ROOT / "docs" / link).is_file(), link
