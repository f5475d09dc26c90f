"""Working folders (``sim.config.locations``, ``nhs-sim init``): a user's own sites and options
beside the shipped ones, found by Hydra and the option catalogue, outputs under the working
folder; a user file with a shipped name is refused instead of silently ignored.

The installed case (configuration shipped inside the wheel, run from another folder) is
tested end to end in tests/test_packaging.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra.core.config_store import ConfigStore

import sim.config.compose
from sim.config import locations
from sim.config.schema import ConfigError
from sim.tools import workspace


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder made by ``init``, used as the working folder for this test (the
    catalogue entries a test registers are removed again afterwards)."""
    folder = tmp_path / "work"
    assert workspace.main([str(folder)]) == 0
    monkeypatch.setattr(locations, "USER_CONF_DIR", folder / "conf")
    monkeypatch.setattr(locations, "USER_SCENARIO_DIR", folder / "scenarios")
    sim.config.compose.register()
    options = ConfigStore.instance().repo["scenario"]
    for name in list(options):  # restored after the test, whatever register() stores
        monkeypatch.setitem(options, name, options[name])
    yield folder
    for name in [n for n in options if n.startswith("my_")]:
        del options[name]


def test_the_working_folder_is_found_by_its_marker_then_the_clone(tmp_path):
    inner = tmp_path / "project" / "outputs" / "runs"
    inner.mkdir(parents=True)
    assert locations.find_work_dir(inner, environ={}) == locations.SOURCE_ROOT  # a clone
    (tmp_path / "project" / locations.WORK_MARKER).write_text("")
    assert locations.find_work_dir(inner, environ={}) == tmp_path / "project"
    named = tmp_path / "elsewhere"
    assert locations.find_work_dir(inner, {locations.HOME_ENV: str(named)}) == named


def test_an_installed_package_outside_a_working_folder_uses_the_current_folder(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(locations, "SOURCE_ROOT", None)
    assert locations.find_work_dir(tmp_path, environ={}) == tmp_path


def test_init_makes_the_folders_and_keeps_existing_files(tmp_path, capsys):
    folder = tmp_path / "area"
    assert workspace.main([str(folder)]) == 0
    for sub in ("conf/site", "scenarios", "outputs"):
        assert (folder / sub).is_dir(), sub
    assert (folder / locations.WORK_MARKER).is_file()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert str(locations.SCENARIO_DIR) in readme
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(folder.resolve())
    (folder / "README.md").write_text("mine\n")
    assert workspace.main([str(folder)]) == 0
    assert (folder / "README.md").read_text() == "mine\n"
    assert "nothing to add" in capsys.readouterr().out
    (tmp_path / "file").write_text("")
    assert workspace.main([str(tmp_path / "file")]) == 2
    assert workspace.main(["a", "b"]) == 2


def test_a_users_site_and_option_are_chosen_like_shipped_ones(work):
    site = (locations.CONF_DIR / "site" / "north_durham.yaml").read_text(encoding="utf-8")
    (work / "conf" / "site" / "my_area.yaml").write_text(
        site.replace("name: north_durham", "name: my_area"), encoding="utf-8"
    )
    shutil.copy(locations.SCENARIO_DIR / "ic_expansion.yaml", work / "scenarios" / "my_beds.yaml")
    sim.config.compose.register()
    _, run_cfg, _ = sim.config.compose.compose_validated(
        ["site=my_area", "scenario=[my_beds,rac_weekend]"]
    )
    assert run_cfg.model.site.name == "my_area"
    assert list(run_cfg.options) == ["my_beds", "rac_weekend"]
    # the option's changes were applied: the same as the shipped option it copies
    _, shipped, _ = sim.config.compose.compose_validated(["scenario=ic_expansion"])
    assert run_cfg.model.site.intermediate_care == shipped.model.site.intermediate_care


def test_a_user_file_with_a_shipped_name_is_refused(work):
    shutil.copy(locations.CONF_DIR / "site" / "north_durham.yaml", work / "conf" / "site")
    with pytest.raises(ConfigError, match="has the name of a shipped file") as err:
        sim.config.compose.compose_validated([])
    assert err.value.file == str(work / "conf" / "site" / "north_durham.yaml")
    (work / "conf" / "site" / "north_durham.yaml").unlink()
    shutil.copy(locations.SCENARIO_DIR / "ic_expansion.yaml", work / "scenarios" / "baseline.yaml")
    sim.config.compose.register()
    with pytest.raises(ConfigError, match="has the name of a shipped option"):
        sim.config.compose.compose_validated([])


def test_without_a_working_folder_nothing_is_added(tmp_path, monkeypatch):
    monkeypatch.setattr(locations, "USER_CONF_DIR", tmp_path / "none" / "conf")
    monkeypatch.setattr(locations, "USER_SCENARIO_DIR", tmp_path / "none" / "scenarios")
    assert locations.user_conf_dirs() == []
    assert locations.option_folders() == [locations.SCENARIO_DIR]
    # a clone's own folders are the shipped ones, never added twice
    monkeypatch.setattr(locations, "USER_CONF_DIR", locations.CONF_DIR)
    assert locations.user_conf_dirs() == []
