"""Scenario files are data: they cannot name code to run, interpolate, or use YAML tags."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from sim.cli import PROJECT_ROOT, SCENARIO_DIR
from sim.config import ConfigError
from sim.scenarios import read_option_file

MALICIOUS = {
    "target": (
        "title: t\ndescription: d\nchanges:\n  site:\n    hubs:\n"
        "      _target_: os.system\n      _args_: ['echo pwned']\n",
        "cannot name code to run",
    ),
    "interpolation": (
        "title: t\ndescription: d\nchanges:\n  site:\n    title: ${oc.env:HOME}\n",
        "interpolations",
    ),
    "python_tag": (
        "title: !!python/object/apply:os.system ['echo pwned']\ndescription: d\n",
        "not valid YAML",
    ),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_read_option_file_refuses_code(tmp_path, case):
    text, rule = MALICIOUS[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        read_option_file(path)
    assert rule in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_the_cli_rejects_a_malicious_scenario_cleanly(tmp_path, case):
    text, rule = MALICIOUS[case]
    name = f"zz_test_{case}_{uuid.uuid4().hex[:8]}"
    path = SCENARIO_DIR / f"{name}.yaml"
    marker = tmp_path / "pwned"
    path.write_text(text.replace("echo pwned", f"touch {marker}"))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sim", f"scenario={name}", "experiment=quick"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        path.unlink()
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert rule in done.stderr and f"scenario.{name}" in done.stderr
    assert not marker.exists()
    assert not list((PROJECT_ROOT / "outputs" / "runs").glob(f"*{name}*"))
