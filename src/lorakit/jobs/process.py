"""Is job process <pid> still the one we started? (A pid alone can be reused after a restart.)"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def start_ticks(pid: int) -> float | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return float(fields[19])  # field 22 overall: starttime
    except (IndexError, ValueError):
        return None


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[0]


def is_alive(pid: int | None, started: float | None = None) -> bool:
    """True if ``pid`` runs (not a zombie) and, when known, started at ``started``."""
    if not pid:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        try:
            import psutil

            return psutil.pid_exists(pid)
        except ImportError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: certainly not our job
    if _state(pid) in ("Z", "X"):
        return False
    if started is not None:
        now = start_ticks(pid)
        if now is not None and now != started:
            return False
    return True


def signal_group(pid: int, sig: int) -> bool:
    """Send ``sig`` to the job's process group (its data loaders too); True if it was delivered."""
    try:
        if not hasattr(os, "killpg"):
            raise ProcessLookupError  # Windows: signal the process itself
        os.killpg(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False


TERMINATE = signal.SIGTERM
KILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows has no SIGKILL; SIGTERM terminates there
