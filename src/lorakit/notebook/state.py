"""What the notebook steps remember: kept in the workspace (``.lorakit-notebook.json``), so a kernel restart
or a re-run cell picks up where the user was. One :class:`Session` per kernel holds the workspace and the
job runner that every step shares."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from lorakit.fileio import atomic_write_text
from lorakit.workspace import Workspace, locate_workspace

log = logging.getLogger(__name__)
STATE_FILE = ".lorakit-notebook.json"  # a ".lorakit" name: lorakit's own, never listed as a user file


class Session:
    """The workspace, the remembered choices and the (lazily started) job runner of this kernel."""

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            root, _why = locate_workspace()
        self.workspace = Workspace(root)
        self._runner = None

    # --- remembered choices ------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.workspace.root / STATE_FILE

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):  # a damaged file only loses the remembered choices
            log.warning("notebook state %s unreadable; starting afresh", self.state_path)
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.load().get(key, default)

    def remember(self, **values: Any) -> None:
        data = self.load()
        for key, value in values.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        atomic_write_text(self.state_path, json.dumps(data, indent=2, sort_keys=True))

    # --- the job runner ----------------------------------------------------------------------------
    @property
    def runner(self):
        """The kernel's job runner (started on first use; it adopts jobs a previous kernel left running)."""
        if self._runner is None:
            from lorakit.jobs.runner import JobRunner

            self._runner = JobRunner(self.workspace, poll_s=0.2)
        return self._runner

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def rel(self, path: str | os.PathLike) -> str:
        """A path as the workspace-relative text jobs and configs take (absolute ones inside are made relative)."""
        p = Path(path)
        if p.is_absolute():
            return self.workspace.relative(p)
        return p.as_posix()


_current: Session | None = None


def session(workspace: str | os.PathLike | None = None) -> Session:
    """This kernel's session; ``workspace`` switches to another folder (and remembers it for the next steps)."""
    global _current
    wanted = Path(workspace).expanduser().resolve() if workspace is not None else None
    if wanted is not None and (_current is None or _current.workspace.root != wanted):
        if _current is not None:
            _current.close()
        _current = Session(workspace)
    elif _current is None:
        _current = Session(None)
    return _current


def reset() -> None:
    """Forget this kernel's session (tests; a kernel restart does the same)."""
    global _current
    if _current is not None:
        _current.close()
    _current = None
