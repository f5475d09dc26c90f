"""Scenario files are data: they cannot name code to run, interpolate, or use YAML tags.

The same files given to ``python -m sim`` (and site files that try the same) are cases of the
bad-input catalogue, ``test_bad_inputs.py``.
"""

from __future__ import annotations

import pytest

from sim.config.scenarios import read_option_file
from sim.config.schema import ConfigError

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
