"""How a run stops: Ctrl-C and SIGTERM, wherever they land, and workers that outlive their run.

**Ctrl-C (SIGINT) and SIGTERM.** Python raises ``KeyboardInterrupt`` wherever the main thread
happens to be when Ctrl-C arrives. Inside the compiled booking pass (numba) it surfaces as a
``SystemError`` chained to it, inside a library as whatever that library's clean-up raises,
so "an error" after Ctrl-C is not a failure of the run. :func:`stop_on_signals` installs
handlers that record the signal and raise ``KeyboardInterrupt``; :func:`is_interruption`
then tells any error that follows a stop request (or carries a ``KeyboardInterrupt`` in its
chain) from a real failure. SIGTERM (``kill``, a job scheduler's time limit) is handled
exactly as Ctrl-C. A second signal within :data:`GRACE_SECONDS` of the first is recorded but
does not interrupt the clean-up (marking the folder interrupted, stopping workers).

**Orphaned workers.** Replications and sweep jobs run in worker processes (joblib's loky
workers). If the run is killed outright (``kill -9``, out of memory, a closed terminal
session), nothing tells its workers, which would go on computing for nobody and hold their
memory. :func:`exit_with_parent` starts a watchdog thread in a worker that ends the worker
once its run is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType

#: Seconds after a first Ctrl-C during which further ones do not interrupt the clean-up.
GRACE_SECONDS = 5.0
#: How often a worker checks that its run is still there.
WATCH_SECONDS = 1.0
#: Environment variable naming the process that started a run, inherited by its workers.
RUN_PID_VARIABLE = "SIM_RUN_PID"

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: dict[str, float | int] = {}  # "signal": number, "at": monotonic time of the first
_depth = [0]  # stop_on_signals blocks entered (only the outermost installs and restores)
_watching: set[int] = set()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    now = time.monotonic()
    if _received and now - float(_received["at"]) < GRACE_SECONDS:
        return
    _received.update({"signal": signum, "at": now})
    raise KeyboardInterrupt


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM raise ``KeyboardInterrupt`` and are remembered
    (:func:`stop_requested`). Does nothing outside the main thread (Python delivers signals
    only there). Blocks may nest: the outermost one installs and restores the handlers."""
    if threading.current_thread() is not threading.main_thread() or _depth[0]:
        _depth[0] += 1
        try:
            yield
        finally:
            _depth[0] -= 1
        return
    previous = {s: signal.getsignal(s) for s in _STOP_SIGNALS}
    for s in _STOP_SIGNALS:
        signal.signal(s, _on_signal)
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        for s, handler in previous.items():
            signal.signal(s, handler)
        _received.clear()


def exit_at_once_on_signals(code: int) -> None:
    """The command has finished with exit code ``code``; only the interpreter's shutdown is
    left (joblib's workers, numba's caches: up to a second). A Ctrl-C or SIGTERM in that time
    ends the process at once with ``code``: Python's own handler would print a traceback and
    end it "killed by SIGINT", which makes a finished run look interrupted."""

    def finish(signum: int, frame: FrameType | None) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)

    if threading.current_thread() is threading.main_thread():
        for s in _STOP_SIGNALS:
            signal.signal(s, finish)


def stop_requested() -> bool:
    """Whether Ctrl-C or SIGTERM arrived since :func:`stop_on_signals` was entered."""
    return bool(_received)


def stop_signal_name() -> str:
    """ "Ctrl-C" or "SIGTERM": what stopped the run, for messages."""
    return "SIGTERM" if _received.get("signal") == signal.SIGTERM else "Ctrl-C"


def is_interruption(err: BaseException) -> bool:
    """Whether ``err`` is, or follows from, a stop request rather than a failure."""
    if stop_requested():
        return True
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def exit_with_parent(parent_pid: int | None) -> None:
    """In a worker process started by ``parent_pid`` (on this machine): end this process once
    that one is gone.

    Does nothing in the run's own process, or when already watching. A worker whose parent
    is not ``parent_pid`` is an orphan if that run is gone (it ends at once), or the run's
    grandchild (a Dask worker under its nanny, a job started through submitit), which
    inherited the run's number: it watches the run itself, and ends when the run is gone
    even though its own parent is still there. (Were the number reused by another process
    after the run died, the worker would merely run to its end, as before this watch.)"""
    if parent_pid is None or parent_pid in _watching or os.getpid() == parent_pid:
        return
    if os.getppid() == parent_pid:

        def run_is_there() -> bool:
            return os.getppid() == parent_pid
    else:
        if not _alive(parent_pid):
            os._exit(1)  # the run died while this worker was starting

        def run_is_there() -> bool:
            return _alive(parent_pid)

    _watching.add(parent_pid)

    def watch() -> None:
        while run_is_there():
            time.sleep(WATCH_SECONDS)
        os._exit(1)  # the run is gone: nobody will read this worker's results

    threading.Thread(target=watch, name="exit-with-run", daemon=True).start()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is running (a zombie, dead but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, but belongs to someone else
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (not Linux): alive as far as can be told


def run_pid() -> int | None:
    """The process that started the run, as recorded for its workers: None if unknown, or
    if this process runs on another machine (a cluster's job), where that number means
    nothing."""
    host, _, pid = os.environ.get(RUN_PID_VARIABLE, "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return int(pid)


def record_run_pid() -> None:
    """Record this process (and machine) as the run's, for the workers it starts, which
    inherit it."""
    os.environ[RUN_PID_VARIABLE] = f"{socket.gethostname()}:{os.getpid()}"
