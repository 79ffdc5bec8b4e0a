"""The workspace: one folder that holds everything lorakit works on, its settings and its database.

Layout (created on first use)::

    workspace/
      datasets/            one folder per dataset (images + .txt captions + dataset.toml)
      models/checkpoints/  base models      models/vae/  models/loras/  models/embeddings/  models/taggers/
      outputs/             training runs and tool results
      configs/             saved training configs (TOML)
      trash/               deleted files, restorable
      jobs/<id>/           each job's events.jsonl, commands inbox and worker log
      settings.toml        settings (owner-only: it may hold the server token)
      lorakit.db           SQLite database for jobs (a PostgreSQL URL in settings also works)

Every path a user (or a browser) names goes through :meth:`Workspace.resolve_inside`, which refuses
anything that would leave the workspace. What the server then opens goes through
:meth:`Workspace.user_path` (refuses lorakit's own files too) and :func:`lorakit.fileio.open_inside`
(checks the open file itself: a link swapped in after the path check, a fifo or a device is refused).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from lorakit.errors import ConfigError, LorakitError, PathError
from lorakit.fileio import atomic_open, is_inside, read_inside

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

log = logging.getLogger(__name__)
WORKSPACE_ENV = "LORAKIT_WORKSPACE"
SETTINGS_FILE = "settings.toml"
DB_FILE = "lorakit.db"

# lorakit's own files and folders: never read, written or listed as user files by the web API. The job
# database (a reader in the server process would drop its locks), the settings (the token), credentials,
# the trash (its manifest says where files go back to), job folders, and any ".lorakit..." name (caption
# journals, detection and hash caches), whose contents lorakit trusts.
INTERNAL_FILES = frozenset(
    {"lorakit.db", "lorakit.db-wal", "lorakit.db-shm", "lorakit.db-journal", SETTINGS_FILE, "credentials.json"}
)
INTERNAL_FOLDERS = frozenset({"trash", "jobs", ".cache"})
INTERNAL_PREFIX = ".lorakit"

# Folder name -> what it holds; the web Files page shows these as the top level.
FOLDERS = {
    "datasets": "training images with their captions",
    "models/checkpoints": "base models (SD1.5, SDXL, Flux)",
    "models/vae": "VAEs",
    "models/loras": "LoRA files",
    "models/embeddings": "textual inversion embeddings",
    "models/taggers": "auto-tagging models (WD14 ONNX)",
    "outputs": "training runs and tool results",
    "configs": "saved training configs",
    "trash": "deleted files (restorable)",
}


class Settings(BaseSettings):
    """Workspace settings: read from ``settings.toml``; ``LORAKIT_<NAME>`` environment variables win."""

    model_config = SettingsConfigDict(env_prefix="LORAKIT_", extra="ignore", validate_assignment=True)

    server_token: SecretStr | None = Field(
        None, description="Token the web server asks for when it listens beyond this computer. Never shown back."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the job database. Empty: a SQLite file inside the workspace."
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra web origins (e.g. https://myhost:8000) allowed to change things through the web API.",
    )
    max_upload_mb: int = Field(4096, ge=1, le=1_000_000, description="Largest single upload, in MiB.")
    thumbnail_size: int = Field(256, ge=32, le=1024, description="Longest side of dataset thumbnails, in pixels.")
    cancel_grace_s: float = Field(
        10.0, ge=0.1, le=600, description="Seconds a cancelled job gets to stop by itself before it is terminated."
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        # Environment first, then the file's values (passed as init arguments by Workspace.settings).
        return (env_settings, init_settings)

    def public(self) -> dict[str, Any]:
        """The settings as JSON for a front end: secrets reduced to whether they are set."""
        data = self.model_dump(mode="json", exclude={"server_token"})
        data["server_token_set"] = self.server_token is not None
        return data


# --- which workspace: one rule for every front end (docs/doctor.md, "Which workspace") ------------------
USER_WORKSPACE = "~/lorakit"
# Folders every workspace has (Workspace.create makes them): how a folder is recognised as one.
_MARKERS = ("datasets", "models/checkpoints", "outputs")


def is_workspace(path: str | os.PathLike) -> bool:
    """True when ``path`` is a lorakit workspace (it has the folders every workspace is created with)."""
    base = Path(path)
    return all((base / marker).is_dir() for marker in _MARKERS)


def find_workspace(start: str | os.PathLike | None = None) -> Path | None:
    """The nearest workspace at or above ``start`` (default: the current folder): the folder itself, or
    its ``workspace/`` subfolder, at each level up to the root."""
    here = Path(start if start is not None else Path.cwd()).expanduser().resolve()
    for level in (here, *here.parents):
        for candidate in (level, level / "workspace"):
            if is_workspace(candidate):
                return candidate
    return None


def locate_workspace(explicit: str | os.PathLike | None = None) -> tuple[Path, str]:
    """(the workspace folder, why that one), by the one rule, first match wins:

    1. ``explicit``: a ``--workspace`` option;
    2. ``$LORAKIT_WORKSPACE``;
    3. the nearest existing workspace at or above the current folder (a folder that is one, or that
       holds one called ``workspace``), so any folder inside a project finds that project's workspace;
    4. ``~/lorakit``: one workspace per user, the same from every folder (created on first use).
    """
    if explicit is not None and str(explicit):
        return Path(explicit).expanduser().resolve(), "given with --workspace"
    env = os.environ.get(WORKSPACE_ENV)
    if env:
        return Path(env).expanduser().resolve(), f"from ${WORKSPACE_ENV}"
    found = find_workspace()
    if found is not None:
        return found, "the nearest workspace at or above the current folder"
    return Path(USER_WORKSPACE).expanduser().resolve(), "the default for this user: no other workspace was found"


class InternalPathError(PathError):
    """A path names one of lorakit's own files or folders, which the web API does not hand out or change."""

    code = "forbidden"


def default_root() -> Path:
    """The workspace folder by :func:`locate_workspace` (without an explicit one)."""
    return locate_workspace()[0]


class Workspace:
    """The workspace folder, its settings and its database URL."""

    def __init__(self, root: str | os.PathLike | None = None, *, create: bool = True):
        self.root = Path(root if root is not None else default_root()).expanduser().resolve()
        if create:
            self.create()
        elif not self.root.is_dir():
            raise PathError(
                f"The workspace folder {self.root} does not exist.",
                "Create it, or point --workspace (or LORAKIT_WORKSPACE) at an existing folder.",
            )

    def create(self) -> None:
        for name in (*FOLDERS, "jobs"):
            (self.root / name).mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # --- where things live -------------------------------------------------------------------------
    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def trash(self) -> Path:
        return self.root / "trash"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def thumbnails(self) -> Path:
        """Cache of dataset thumbnails (hidden: not user data, safe to delete)."""
        return self.root / ".cache" / "thumbnails"

    def model_folder(self, kind: str) -> Path:
        """``checkpoints``, ``vae``, ``loras``, ``embeddings`` or ``taggers``."""
        if f"models/{kind}" not in FOLDERS:
            raise PathError(
                f"There is no model folder called {kind!r}.", "Use checkpoints, vae, loras, embeddings or taggers."
            )
        return self.models / kind

    # --- settings ----------------------------------------------------------------------------------
    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def settings(self) -> Settings:
        """Settings from ``settings.toml`` (read each time, so edits by another process are seen)."""
        try:
            stat = self.settings_path.stat()
            stamp: tuple = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            stamp = (None, None, None)
        # Re-read only when the file or the LORAKIT_* environment changed (every API request asks).
        key = (*stamp, tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("LORAKIT_"))))
        cached = getattr(self, "_settings_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1].model_copy(deep=True)
        settings = self._read_settings()
        self._settings_cache = (key, settings)
        return settings.model_copy(deep=True)

    def _read_settings(self) -> Settings:
        data: dict[str, Any] = {}
        if self.settings_path.exists():
            try:
                data = tomllib.loads(self.settings_path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
                raise LorakitError(
                    f"The settings file {self.settings_path} is not valid TOML ({error}).",
                    "Fix the line it names, or delete the file to start from the defaults.",
                ) from error
        return Settings(**data)

    def save_settings(self, settings: Settings) -> None:
        """Write the settings owner-only (0600): the file may hold the server token."""
        import tomli_w

        data = settings.model_dump(mode="json", exclude_none=True)
        if settings.server_token is not None:
            data["server_token"] = settings.server_token.get_secret_value()
        # Only what differs from the environment's view would be ideal; writing all keeps it simple to edit.
        self.settings_path.touch(mode=0o600, exist_ok=True)
        os.chmod(self.settings_path, 0o600)
        with atomic_open(self.settings_path, "wb") as f:
            f.write(tomli_w.dumps(data).encode())

    def server_token(self, *, create: bool = False) -> str | None:
        """The server token from settings; with ``create`` a new random one is made (not saved)."""
        token = self.settings.server_token
        if token is not None and token.get_secret_value():
            return token.get_secret_value()
        return secrets.token_urlsafe(32) if create else None

    @property
    def database_url(self) -> str:
        url = self.settings.database_url
        return url or f"sqlite:///{self.root / DB_FILE}"

    # --- paths from users --------------------------------------------------------------------------
    def resolve_inside(self, rel_path: str | os.PathLike, *, must_exist: bool = False) -> Path:
        """The absolute path of ``rel_path`` inside the workspace, or :class:`PathError`.

        ``rel_path`` is already URL-decoded once (by the web framework). It is refused when it is
        absolute, has a ``..`` part, a backslash, a NUL or control character, a part that would
        decode *further* to ``.``/``..``/a separator (double-encoding tricks), or when it resolves
        (following symlinks) outside the workspace.
        """
        return resolve_inside(self.root, rel_path, must_exist=must_exist)

    def relative(self, path: str | os.PathLike) -> str:
        """``path`` as a workspace-relative POSIX string ("" for the root); ValueError when it resolves outside."""
        rel = Path(path).resolve().relative_to(self.root)
        return "" if str(rel) == "." else rel.as_posix()

    def contains(self, path: str | os.PathLike) -> bool:
        """Whether ``path`` (every link followed) is inside the workspace. A link loop is not."""
        try:
            return is_inside(os.path.realpath(path, strict=False), self.root)
        except (OSError, RuntimeError, ValueError):
            return False

    def is_internal(self, path: str | os.PathLike) -> bool:
        """Whether ``path`` is lorakit's own (see ``INTERNAL_FILES``); decided on its workspace-relative name."""
        try:
            rel = self.relative(path)
        except (ValueError, OSError, RuntimeError):
            return False
        return is_internal_name(rel)

    def user_path(self, rel_path: str | os.PathLike, *, must_exist: bool = False) -> Path:
        """:meth:`resolve_inside`, also refusing lorakit's own files (a 403 in the web API)."""
        path = self.resolve_inside(rel_path, must_exist=must_exist)
        if self.is_internal(path):
            shown = os.fspath(rel_path).encode("unicode_escape").decode()[:200]
            raise InternalPathError(
                f"{shown!r} is one of lorakit's own files or folders.",
                "Use the Settings, Jobs or Trash pages for those; pick a file of yours.",
            )
        return path

    def read_bytes(self, path: str | os.PathLike) -> bytes:
        """A user file's bytes, refused when it is lorakit's own, a link leading outside, or not a regular file."""
        if self.is_internal(path):
            raise InternalPathError(f"{Path(path).name!r} is one of lorakit's own files.", "Pick a file of yours.")
        return read_inside(path, self.root)


def workspace_relative(data: Any, root: str | os.PathLike) -> Any:
    """``data`` (a job's result or event, nested dicts and lists) with the workspace's absolute paths made
    workspace-relative ('outputs/run/lora.safetensors', also inside messages: "Saved outputs/run/...").

    The one place that turns server paths into the names the front ends use; the root itself becomes "".
    """
    prefix = str(root)
    if isinstance(data, dict):
        return {workspace_relative(k, root): workspace_relative(v, root) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [workspace_relative(v, root) for v in data]
    if isinstance(data, Path):
        data = str(data)
    if isinstance(data, str) and prefix in data:
        return "" if data == prefix else data.replace(prefix + "/", "")
    return data


_warned: set[str] = set()


def warn_outside_once(rel: str) -> None:
    """Log, once per process, that a listing left out ``rel`` because it leads outside the workspace.

    Listings are polled (every few seconds by a browser): one line per link, not one per request.
    """
    if rel not in _warned:
        _warned.add(rel)
        log.warning("%s leads outside the workspace (a link, or a loop of links): left out of listings", rel)


def is_internal_name(rel: str) -> bool:
    """Whether a workspace-relative POSIX path names one of lorakit's own files or folders."""
    parts = PurePosixPath(rel).parts
    if not parts:
        return False
    if parts[0] in INTERNAL_FOLDERS or (len(parts) == 1 and parts[0] in INTERNAL_FILES):
        return True
    return any(part.startswith(INTERNAL_PREFIX) for part in parts)


def resolve_inside(root: str | os.PathLike, rel_path: str | os.PathLike, *, must_exist: bool = False) -> Path:
    """Confine ``rel_path`` to ``root``; see :meth:`Workspace.resolve_inside`."""
    base = Path(root).resolve()
    text = os.fspath(rel_path)
    shown = text.encode("unicode_escape").decode()[:200]

    def refuse(why: str) -> PathError:
        return PathError(f"The path {shown!r} {why}.", "Use a path inside the workspace, like 'datasets/my-set'.")

    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise refuse("contains a control character")
    if len(text.encode("utf-8", "surrogatepass")) > 4096:
        raise refuse("is too long")
    if "\\" in text:
        raise refuse("contains a backslash; use forward slashes")
    if text.startswith("/") or text.startswith("~") or (len(text) > 1 and text[1] == ":"):
        raise refuse("is absolute")
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    for part in parts:
        if len(part.encode("utf-8", "surrogatepass")) > 255:
            raise refuse("has a name longer than 255 bytes")
        # Names are used as given (decoded once, by the web framework); a name that some later layer could
        # decode further into '..' or a separator is refused too: no real file is called '%2e%2e'.
        decoded = part
        for _ in range(4):
            decoded = unquote(decoded)
            if decoded in (".", "..") or any(c in decoded for c in "/\\\0"):
                raise refuse("goes outside its folder")
        if part == "..":
            raise refuse("goes outside its folder")
    candidate = base.joinpath(*parts) if parts else base
    try:
        resolved = candidate.resolve()
    except (RuntimeError, OSError):  # a loop of links (RuntimeError before Python 3.13)
        raise refuse("is a loop of links") from None
    if not resolved.is_relative_to(base):
        raise refuse("leads outside the workspace (through a link)")
    if must_exist and not resolved.exists():
        raise PathError(
            f"Nothing is at {shown!r} in the workspace.", "Check the name; the Files page lists what is there."
        )
    return resolved


def confine_config(workspace: Workspace, cfg):
    """``cfg`` with every path field made absolute inside the workspace (PathError if one leaves it).

    The CLI reads a config's relative paths next to the config file; the web app and jobs, which know
    only the workspace, read them from the workspace root (``datasets/my-set``) and refuse absolute paths
    and paths that lead outside (or into lorakit's own files); ``output.output_name`` must be a plain name.
    A refused field is a :class:`ConfigError` naming it (a 422 in the web API). A text model field that is
    not a workspace file (``org/name``) is taken for a Hugging Face repo id and left as it is.
    """
    from lorakit.config.io import map_paths

    def confine_model(value: str) -> str:
        if _SCHEME.match(value):
            return value  # a built-in or remote model ("tiny:sd1", "hf:org/name")
        # Checked either way (no '..', no absolute path); made absolute only when it is a workspace file,
        # since "org/name" that is not one is a Hugging Face repo id.
        path = workspace.resolve_inside(value)
        return str(path) if path.exists() else value

    def plain_name(value: str) -> str:
        # output_name becomes a folder under output_dir and the start of every file name in it.
        if value in ("", ".", "..") or any(c in value for c in "/\\\0") or value.startswith("~"):
            raise PathError(
                f"The name {value[:200]!r} is not a plain file name.",
                "Use a name without folders or slashes, like 'my_character'; set the folder in output_dir.",
            )
        return value

    confined = map_paths(cfg, lambda p: workspace.user_path(str(p)), confine_model, plain_name)
    # The run folder (output_dir/output_name, or name-2, -3 ... as train.run.new_run_dir picks) must not
    # be a link leading outside either: the job would write its config and events through it.
    base = Path(confined.output.output_dir) / confined.output.output_name
    candidate, n = base, 1
    while candidate.exists() or candidate.is_symlink():
        if not workspace.contains(candidate) or workspace.is_internal(candidate):
            raise ConfigError(
                f"output.output_name: the run folder {candidate.name!r} is a link leading outside the workspace.",
                "Choose another output name, or remove that link.",
                field="output.output_name",
            )
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return confined


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]+:(?!/?/?$)")
