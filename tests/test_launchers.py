"""Launchers that need something outside Python stop with one line, before anything starts:
SLURM off a cluster or with its controller down, Dask not installed or its scheduler
unreachable. And the SLURM preset asks for the resources a sweep job uses.

The Dask launcher's results are checked against the local launcher in tests/test_sweeps.py.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import run_sim

from sim.experiments import launchers

SMALL = ["experiment=quick", "experiment.replications=1", "experiment.run_weeks=1"]


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def fake_commands(folder: Path, **scripts: str) -> Path:
    """Executable shell scripts named like SLURM's commands, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return folder


# ------------------------------------------------------------------------------------- SLURM


def test_slurm_off_a_cluster_stops_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no SLURM here
    sweep_dir = tmp_path / "sweep"
    code = run_sim(
        ["+sweep=all_options", "hydra/launcher=slurm", f"hydra.sweep.dir={sweep_dir}", *SMALL],
        monkeypatch,
    )
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert line.startswith("Launcher error: hydra/launcher=slurm submits jobs to SLURM")
    assert "sbatch and srun cannot be found" in line and "hydra/launcher=local_jobs" in line
    assert not sweep_dir.exists()  # nothing made


def test_slurm_with_its_controller_down_stops_with_one_line(tmp_path, monkeypatch, capsys):
    down = "slurm_load_partitions: Unable to contact slurm controller (connect failure)"
    bin_dir = fake_commands(
        tmp_path / "bin", sbatch="exit 1", srun="exit 1", sinfo=f"echo '{down}' >&2; exit 1"
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    code = run_sim(
        [
            "+sweep=all_options",
            "hydra/launcher=slurm",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
            *SMALL,
        ],
        monkeypatch,
    )
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert line == (
        "Launcher error: hydra/launcher=slurm: SLURM's controller cannot be reached "
        f"(sinfo: {down})"
    )


def test_slurm_check_passes_when_the_controller_answers(tmp_path):
    bin_dir = fake_commands(tmp_path / "bin", sbatch="", srun="", sinfo="echo 'up'")

    def which(name: str) -> str | None:
        path = bin_dir / name
        return str(path) if path.exists() else None

    launchers.check_slurm("slurm", which=which)  # no error
    (bin_dir / "srun").unlink()
    with pytest.raises(launchers.LauncherError, match="srun cannot be found"):
        launchers.check_slurm("slurm", which=which)

    def timeout(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], 10)

    (bin_dir / "srun").write_text("")
    with pytest.raises(launchers.LauncherError, match="no answer within"):
        launchers.check_slurm("slurm", which=which, run=timeout)


def test_a_sweep_job_on_slurm_asks_for_the_cpus_it_uses():
    from sim.config.compose import compose_config, validate
    from sim.experiments.memory_guard import estimated_gb_per_replication

    cfg = compose_config(["+sweep=all_options", "hydra/launcher=slurm"])
    launcher = cfg.hydra.launcher
    assert cfg.experiment.n_jobs == 1  # a sweep job runs one replication at a time
    assert launcher.cpus_per_task == 1
    assert launchers.slurm_resource_warning(launcher.cpus_per_task, cfg.experiment.n_jobs) is None
    # the check that guards it: the old preset's 8 CPUs for a one-at-a-time job is flagged
    warning = launchers.slurm_resource_warning(8, 1)
    assert warning is not None and "asks for 8 CPUs" in warning
    assert launchers.slurm_resource_warning(4, 4) is None
    # memory: the preset covers the memory guard's estimate of one replication of the sweep
    run_cfg, _ = validate(cfg)
    assert estimated_gb_per_replication(run_cfg.model, run_cfg.experiment) < launcher.mem_gb


# -------------------------------------------------------------------------------------- Dask


def test_an_unreachable_dask_scheduler_stops_with_one_line(tmp_path, monkeypatch, capsys):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(launchers, "CONNECT_TIMEOUT_SECONDS", 2)
    address = f"tcp://127.0.0.1:{port}"
    code = run_sim(
        [
            "-m",
            "scenario=baseline,ic_expansion",
            "hydra/launcher=dask",
            f"hydra.launcher.address={address}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
            *SMALL,
        ],
        monkeypatch,
    )
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert line.startswith(
        f"Launcher error: hydra/launcher=dask: the Dask scheduler at {address} "
        "(hydra.launcher.address) cannot be reached"
    )
    assert not (tmp_path / "sweep").exists()


def test_dask_not_installed_says_how_to_install_it():
    with pytest.raises(launchers.LauncherError, match=r"pip install 'nhs-capacity-sim\[dask\]'"):
        launchers.check_dask("dask", find_spec=lambda name: None)
    launchers.check_dask("dask", find_spec=lambda name: object())  # installed: no error


def test_the_ray_preset_that_cannot_install_is_gone_with_a_pointer(tmp_path, monkeypatch, capsys):
    """hydra-ray-launcher cannot be installed with requirements.lock (cloudpickle<3), so there
    is no Ray preset; asking for one lists the launchers there are, dask among them."""
    code = run_sim(
        ["+sweep=all_options", "hydra/launcher=ray_cluster", f"hydra.sweep.dir={tmp_path}/s"],
        monkeypatch,
    )
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert line.startswith(
        "Configuration error: hydra/launcher = 'ray_cluster': no such option; available: "
    )
    assert "dask" in line and "slurm" in line
