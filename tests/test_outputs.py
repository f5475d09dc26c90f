"""Atomic writes (sim/experiments/outputs.py): a failed write leaves the old file and no
temporary file,
names the file it could not write, and finished files are readable like ordinary ones."""

from __future__ import annotations

import errno
import os

import pandas as pd
import pytest

from sim.experiments import outputs


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "summary.csv"
    outputs.atomic_write_text(path, "old\n")

    def write(fh):
        fh.write(b"half of the new")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(outputs.OutputWriteError) as failed:
        outputs._atomic_write(path, write)
    assert failed.value.errno == errno.ENOSPC
    assert failed.value.strerror == "cannot write summary.csv: No space left on device"
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv"]


def test_ctrl_c_during_a_write_leaves_no_temporary_file(tmp_path):
    def write(fh):
        fh.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        outputs._atomic_write(tmp_path / "kpis.csv", write)
    assert list(tmp_path.iterdir()) == []


def test_finished_files_get_the_usual_permissions(tmp_path):
    mask = os.umask(0)
    os.umask(mask)
    outputs.atomic_write_csv(tmp_path / "a.csv", pd.DataFrame({"x": [1.5]}))
    outputs.atomic_write_parquet(tmp_path / "a.parquet", pd.DataFrame({"x": [1.5]}))
    for path in tmp_path.iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path  # not mkstemp's 0o600
    assert pd.read_parquet(tmp_path / "a.parquet")["x"].tolist() == [1.5]


def test_checking_an_output_folder_leaves_nothing_behind(tmp_path):
    outputs.check_writable_folder(tmp_path / "outputs" / "runs" / "new")
    assert list(tmp_path.iterdir()) == []
    existing = tmp_path / "existing"
    existing.mkdir()
    outputs.check_writable_folder(existing)
    assert existing.is_dir() and list(existing.iterdir()) == []


def test_an_output_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OSError):
        outputs.check_writable_folder(tmp_path / "a_file" / "run")
