"""Run folders: atomic writes, provenance and the manifest.

Every file is written to a temporary name in the same folder and renamed into place, so a
reader never sees half a file. ``manifest.json`` is written last: a folder whose manifest says
``"status": "complete"`` holds a finished run; anything else did not finish.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:  # pandas is imported by whoever builds the tables, not before
    import pandas as pd

#: Packages whose versions the manifest records: every one the numbers depend on (numba and
#: its LLVM compile the booking pass) and those that read, write or draw them.
PACKAGES = (
    "nhs-capacity-sim",
    "numpy",
    "numba",
    "llvmlite",
    "scipy",
    "pandas",
    "simpy",
    "hydra-core",
    "omegaconf",
    "joblib",
    "matplotlib",
    "pyarrow",
)


class OutputWriteError(OSError):
    """A file of a run could not be written (disk full, folder not writable, ...).

    Carries the path and the operating system's reason, so the command line can say in one
    line which file failed and why.
    """

    def __init__(self, path: Path, err: OSError):
        self.path = Path(path)
        self.reason = err.strerror or str(err)
        super().__init__(err.errno, f"cannot write {self.path.name}: {self.reason}")


def _readable_mode() -> int:
    # mkstemp creates files only their owner can read; finished files get the mode an
    # ordinary open() would give them (0o666 less the umask), so colleagues can read them.
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _readable_mode()


def _atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through ``write(file)`` to a temporary file in the same folder, flush it to disk,
    then rename it into place. On any failure (including Ctrl-C) the temporary file is
    removed and the old file, if any, is left as it was; an ``OSError`` becomes an
    :class:`OutputWriteError` naming the file."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, OutputWriteError):
            raise OutputWriteError(path, err) from err
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


#: Written at the start of every CSV file: the UTF-8 byte-order mark, so that Excel opened by a
#: double-click reads "£", "±" and "−" as written instead of guessing a Windows code page.
#: pandas (``read_csv``) skips it; Python's csv module needs ``encoding="utf-8-sig"``.
CSV_BOM = "\ufeff"


def atomic_write_csv(path: Path, frame: pd.DataFrame) -> None:
    # repr-exact floats so the same run gives byte-identical files
    text = frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    atomic_write_text(path, CSV_BOM + text)


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    _atomic_write(path, lambda fh: frame.to_parquet(fh, index=False))


def atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def atomic_save_figure(fig: Any, path: Path, **savefig_kwargs: Any) -> None:
    """``fig.savefig`` through a temporary file (format from the file's extension)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    _atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, **savefig_kwargs))


def check_writable_folder(folder: Path) -> None:
    """Raise ``OSError`` unless ``folder`` can be created and written to.

    Creates the folder and a temporary file in it, then removes both (and any parent it had
    to create), so checking leaves nothing behind.
    """
    folder = Path(folder)
    created = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        created.append(probe)
        probe = probe.parent
    try:
        for attempt in range(3):
            folder.mkdir(parents=True, exist_ok=True)
            try:
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".write_check.", suffix=".tmp")
                break
            except FileNotFoundError:
                # Another run started at the same moment, checking the same new folder, removed
                # it between our mkdir and our probe: make it again (a real failure persists).
                if attempt == 2:
                    raise
        os.close(fd)
        os.unlink(tmp)
    finally:
        for made in created:  # deepest first
            try:
                made.rmdir()
            except OSError:
                pass  # not created after all, or no longer empty


def new_folder(path: Path, most: int = 1000) -> Path:
    """Create and return ``path``, or, if it exists, the first of ``path_2``, ``path_3``...
    that does not: an analysis never overwrites an earlier one. Creating the folder is what
    claims the name, so two commands run at once never share one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, most + 1):
        candidate = path if n == 1 else path.with_name(f"{path.name}_{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{path} and {most - 1} numbered folders beside it already exist")


def config_sha256(resolved_config: dict[str, Any]) -> str:
    text = json.dumps(resolved_config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def git_state(root: Path | None) -> dict[str, Any]:
    """Commit and dirty flag of the code that ran (None where git is unavailable, and for an
    installed package, ``root`` None: its version in the manifest's packages says which code
    ran, and a git repository around its folder would be someone else's)."""
    if root is None:
        return {"commit": None, "dirty": None}

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def package_versions() -> dict[str, str | None]:
    from sim import __version__

    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        if name == "nhs-capacity-sim":  # the code that ran, installed or not
            versions[name] = __version__
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
