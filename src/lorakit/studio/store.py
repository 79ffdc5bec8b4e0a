"""The Studio's data: projects, characters and their images, in the workspace database.

Same engine rules as the jobs table (:mod:`lorakit.jobs.store`): SQLite in WAL mode by default, any
SQLAlchemy URL otherwise. The schema comes from the Alembic scripts, applied on open. Image files live in
the workspace under ``studio/<project>/<character>/``; the table keeps their workspace-relative path.
Decisions that two reviewers might race on are conditional updates (see :meth:`StudioStore.decide`).
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import create_engine, event, func, select, update
from sqlalchemy.orm import sessionmaker

from lorakit.errors import LorakitError
from lorakit.fileio import atomic_copy
from lorakit.jobs.store import _sqlite_pragmas
from lorakit.studio import migrate
from lorakit.studio.models import (
    PENDING,
    SOURCES,
    STATUSES,
    CharacterRow,
    FeedbackRow,
    ImageRow,
    ProjectRow,
    PromptHistoryRow,
)
from lorakit.workspace import Workspace

STUDIO_FOLDER = "studio"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
DEFAULT_GENERATION = {
    "width": 512,
    "height": 512,
    "cfg": 7.0,
    "steps": 25,
    "sampler": "euler_a",
    "seed_policy": "random",
    "seed": None,
}


class StudioError(LorakitError):
    code = "studio"


class NotFound(StudioError):
    code = "not_found"


class Conflict(StudioError):
    code = "conflict"


class Project(BaseModel):
    id: int
    name: str
    checkpoint: str = ""
    style: str = ""
    generation: dict[str, Any] = Field(default_factory=dict)
    base_negatives: list[str] = Field(default_factory=list)
    lora_folder: str = "models/loras"
    train_preset: str = "sd15-character"
    train_settings: dict[str, Any] = Field(default_factory=dict)
    created_at: float


class Character(BaseModel):
    id: int
    project_id: int
    name: str
    design_prompt: str = ""
    trigger_word: str
    learned_negatives: list[str] = Field(default_factory=list)
    reference_images: list[str] = Field(default_factory=list)
    created_at: float
    counts: dict[str, int] = Field(default_factory=dict, description="Images by status.")


class Image(BaseModel):
    id: int
    character_id: int
    path: str
    source: str
    status: str
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: float
    decided_at: float | None = None


class PromptVersion(BaseModel):
    prompt: str
    reason: str
    created_at: float


def _model(cls, row):
    return cls.model_validate({c.name: getattr(row, c.name) for c in row.__table__.columns})


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unnamed"


def _name(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 100:
        raise StudioError(f"A {what} needs a name of 1 to 100 characters.", "Give it a short name.", field="name")
    return value


class StudioStore:
    """Projects, characters, images, feedback and trainings of one workspace."""

    def __init__(self, workspace: Workspace | str | None = None, *, url: str | None = None):
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        self.url = url or self.workspace.database_url
        kwargs: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine = create_engine(self.url, **kwargs)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "connect", _foreign_keys)
        migrate.upgrade(self.engine, self.workspace.root)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StudioStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- projects ------------------------------------------------------------------------------------
    def create_project(
        self,
        name: str,
        *,
        checkpoint: str = "",
        style: str = "",
        generation: dict[str, Any] | None = None,
        base_negatives: list[str] | None = None,
        lora_folder: str = "models/loras",
        train_preset: str = "sd15-character",
        train_settings: dict[str, Any] | None = None,
    ) -> Project:
        name = _name(name, "project")
        unknown = set(generation or {}) - set(DEFAULT_GENERATION)
        if unknown:
            raise StudioError(
                f"Unknown generation defaults: {', '.join(sorted(unknown))}.",
                f"Use only: {', '.join(DEFAULT_GENERATION)}.",
                field="generation",
            )
        self.workspace.resolve_inside(lora_folder)  # refused if it leaves the workspace
        _check_training(train_preset, train_settings or {})
        with self.session() as s, s.begin():
            if s.scalar(select(ProjectRow.id).where(ProjectRow.name == name)) is not None:
                raise Conflict(f"There is already a project named {name!r}.", "Choose another name.", field="name")
            row = ProjectRow(
                name=name,
                checkpoint=checkpoint,
                style=style,
                generation={**DEFAULT_GENERATION, **(generation or {})},
                base_negatives=list(base_negatives or []),
                lora_folder=lora_folder,
                train_preset=train_preset,
                train_settings=dict(train_settings or {}),
                created_at=time.time(),
            )
            s.add(row)
        return _model(Project, row)

    def projects(self) -> list[Project]:
        with self.session() as s:
            return [_model(Project, r) for r in s.scalars(select(ProjectRow).order_by(ProjectRow.name))]

    def project(self, ref: int | str) -> Project:
        """A project by id or by name."""
        with self.session() as s:
            row = _by_ref(s, ProjectRow, ref, ProjectRow.name)
            if row is None:
                raise NotFound(f"There is no project {ref!r}.", "List the projects to see them.", field="project")
            return _model(Project, row)

    # --- characters ----------------------------------------------------------------------------------
    def create_character(
        self, project: int | str, name: str, *, design_prompt: str = "", trigger_word: str | None = None
    ) -> Character:
        proj = self.project(project)
        name = _name(name, "character")
        trigger = (trigger_word or slug(name).replace("-", "_")).strip()
        if not trigger or any(ch.isspace() for ch in trigger) or "," in trigger:
            raise StudioError(
                f"The trigger word {trigger!r} must be one word without spaces or commas.",
                "Use something like 'mira_char'.",
                field="trigger_word",
            )
        now = time.time()
        with self.session() as s, s.begin():
            taken = select(CharacterRow.id).where(CharacterRow.project_id == proj.id, CharacterRow.name == name)
            if s.scalar(taken) is not None:
                raise Conflict(
                    f"Project {proj.name!r} already has a character {name!r}.", "Choose another name.", field="name"
                )
            row = CharacterRow(
                project_id=proj.id,
                name=name,
                design_prompt=design_prompt,
                trigger_word=trigger,
                learned_negatives=[],
                negatives_revision=0,
                reference_images=[],
                created_at=now,
            )
            s.add(row)
            s.flush()
            s.add(PromptHistoryRow(character_id=row.id, prompt=design_prompt, reason="created", created_at=now))
        return self.character(row.id)

    def characters(self, project: int | str | None = None) -> list[Character]:
        query = select(CharacterRow).order_by(CharacterRow.name)
        if project is not None:
            query = query.where(CharacterRow.project_id == self.project(project).id)
        with self.session() as s:
            rows = list(s.scalars(query))
            return [self._character(s, row) for row in rows]

    def character(self, character_id: int) -> Character:
        with self.session() as s:
            row = s.get(CharacterRow, character_id) if _valid_id(character_id) else None
            if row is None:
                raise NotFound(
                    f"There is no character {character_id!r}.",
                    "List the characters to see their ids.",
                    field="character",
                )
            return self._character(s, row)

    @staticmethod
    def _character(s, row: CharacterRow) -> Character:
        counts = dict.fromkeys(STATUSES, 0)
        query = select(ImageRow.status, func.count()).where(ImageRow.character_id == row.id).group_by(ImageRow.status)
        for status, n in s.execute(query):
            counts[status] = n
        character = _model(Character, row)
        character.counts = counts
        return character

    def set_design_prompt(self, character_id: int, prompt: str, reason: str) -> Character:
        """Change the design prompt, keeping the old one in the history."""
        self.character(character_id)
        with self.session() as s, s.begin():
            s.execute(update(CharacterRow).where(CharacterRow.id == character_id).values(design_prompt=prompt))
            s.add(PromptHistoryRow(character_id=character_id, prompt=prompt, reason=reason, created_at=time.time()))
        return self.character(character_id)

    def prompt_history(self, character_id: int) -> list[PromptVersion]:
        """Oldest first."""
        query = (
            select(PromptHistoryRow).where(PromptHistoryRow.character_id == character_id).order_by(PromptHistoryRow.id)
        )
        with self.session() as s:
            return [_model(PromptVersion, r) for r in s.scalars(query)]

    def add_learned_negatives(self, character_id: int, terms: list[str]) -> list[str]:
        """Merge ``terms`` into the character's learned negatives (no duplicates); the new list.

        Optimistic: the write only lands if nobody changed the list since it was read, else it reads again,
        so two reviewers rejecting different images of one character at once both add their terms.
        """
        from lorakit.studio.negatives import merge_terms

        for _ in range(100):
            with self.session() as s, s.begin():
                row = s.get(CharacterRow, character_id)
                if row is None:
                    raise NotFound(f"There is no character {character_id!r}.", "Reload the characters.")
                merged = merge_terms(list(row.learned_negatives), terms)
                if merged == row.learned_negatives:
                    return merged
                query = (
                    update(CharacterRow)
                    .where(CharacterRow.id == character_id, CharacterRow.negatives_revision == row.negatives_revision)
                    .values(learned_negatives=merged, negatives_revision=row.negatives_revision + 1)
                )
                if s.execute(query).rowcount:
                    return merged
        raise Conflict("The learned negatives kept changing while they were being saved.", "Try again.")

    # --- images --------------------------------------------------------------------------------------
    def character_folder(self, character: Character) -> Path:
        project = self.project(character.project_id)
        return self.workspace.root / STUDIO_FOLDER / slug(project.name) / f"{character.id}-{slug(character.name)}"

    def add_image(
        self, character_id: int, file: str | Path, *, source: str, meta: dict[str, Any] | None = None
    ) -> Image:
        """Copy ``file`` into the character's folder and record it as pending."""
        character = self.character(character_id)
        if source not in SOURCES:
            raise StudioError(f"Unknown image source {source!r}.", f"Use: {', '.join(SOURCES)}.", field="source")
        file = Path(file)
        if file.suffix.lower() not in IMAGE_SUFFIXES or not file.is_file():
            raise StudioError(
                f"{file.name!r} is not an image file lorakit takes.",
                f"Give a {', '.join(IMAGE_SUFFIXES)} file.",
                field="file",
            )
        folder = self.character_folder(character) / "images"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{int(time.time() * 1000)}-{secrets.token_hex(3)}{file.suffix.lower()}"
        atomic_copy(file, target)
        row = ImageRow(
            character_id=character_id,
            path=self.workspace.relative(target),
            source=source,
            status=PENDING,
            meta=dict(meta or {}),
            created_at=time.time(),
        )
        with self.session() as s, s.begin():
            s.add(row)
        return _model(Image, row)

    def image(self, image_id: int) -> Image:
        with self.session() as s:
            row = s.get(ImageRow, image_id) if _valid_id(image_id) else None
            if row is None:
                raise NotFound(f"There is no image {image_id!r}.", "List the character's images.", field="image")
            return _model(Image, row)

    def images(self, character_id: int, *, status: str | None = None) -> list[Image]:
        """Newest first."""
        query = select(ImageRow).where(ImageRow.character_id == character_id).order_by(ImageRow.id.desc())
        if status:
            query = query.where(ImageRow.status == status)
        with self.session() as s:
            return [_model(Image, r) for r in s.scalars(query)]

    def decide(self, image_id: int, status: str, feedback: dict[str, Any]) -> Image:
        """Set a pending image's status and record the feedback, in one transaction; only a pending image
        changes, so of two reviewers deciding at once exactly one wins and the other gets a :class:`Conflict`."""
        image = self.image(image_id)
        with self.session() as s, s.begin():
            query = (
                update(ImageRow)
                .where(ImageRow.id == image_id, ImageRow.status == PENDING)
                .values(status=status, decided_at=time.time())
            )
            if s.execute(query).rowcount == 0:
                now = s.scalar(select(ImageRow.status).where(ImageRow.id == image_id))
                raise Conflict(
                    f"Image {image_id} was already {now} (someone decided on it first).",
                    "Reload the image's status; reopen it first to decide again.",
                    field="image",
                )
            s.add(FeedbackRow(image_id=image_id, character_id=image.character_id, created_at=time.time(), **feedback))
        return self.image(image_id)

    def reopen(self, image_id: int) -> Image:
        """Put a decided image back to pending (its feedback stays in the record)."""
        self.image(image_id)
        with self.session() as s, s.begin():
            s.execute(update(ImageRow).where(ImageRow.id == image_id).values(status=PENDING, decided_at=None))
        return self.image(image_id)

    def feedback(self, character_id: int, decision: str | None = None) -> list[dict[str, Any]]:
        """Oldest first."""
        query = select(FeedbackRow).where(FeedbackRow.character_id == character_id).order_by(FeedbackRow.id)
        if decision:
            query = query.where(FeedbackRow.decision == decision)
        with self.session() as s:
            return [{c.name: getattr(r, c.name) for c in FeedbackRow.__table__.columns} for r in s.scalars(query)]


def _check_training(preset: str, settings: dict[str, Any]) -> None:
    """A ConfigError now (naming the setting) rather than when the character is trained."""
    from lorakit.config.presets import new_config

    new_config(preset, settings)


def _valid_id(value: int) -> bool:
    """Whether ``value`` can be a row id at all (SQLite refuses integers past 64 bits with an overflow)."""
    return isinstance(value, int) and 0 < value < 2**63


def _by_ref(s, table, ref: int | str, name_column):
    if (isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit())) and _valid_id(int(ref)):
        row = s.get(table, int(ref))
        if row is not None:
            return row
    return s.scalar(select(table).where(name_column == str(ref)))


def _foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
