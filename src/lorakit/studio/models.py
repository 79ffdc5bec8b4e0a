"""The Studio tables (SQLAlchemy): projects, characters, their design-prompt history, images and feedback.

They live in the workspace database beside the jobs table, every name prefixed ``studio_``. The schema is
owned by the Alembic scripts in ``lorakit/studio/migrations`` (applied when a :class:`StudioStore` opens);
these classes must match the latest script.
"""

from __future__ import annotations

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
SOURCES = ("generated", "video_frame", "upload", "comfyui_scan")


class Base(DeclarativeBase):
    pass


class ProjectRow(Base):
    __tablename__ = "studio_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    checkpoint: Mapped[str] = mapped_column(Text, default="")
    style: Mapped[str] = mapped_column(Text, default="")
    # Generation defaults: width, height, cfg, steps, sampler, seed_policy ("random" or "fixed"), seed.
    generation: Mapped[dict] = mapped_column(JSON, default=dict)
    base_negatives: Mapped[list] = mapped_column(JSON, default=list)
    lora_folder: Mapped[str] = mapped_column(Text, default="models/loras")
    # Training defaults: a preset name and dotted overrides ("schedule.max_train_epochs": 10).
    train_preset: Mapped[str] = mapped_column(String(100), default="sd15-character")
    train_settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)


class CharacterRow(Base):
    __tablename__ = "studio_characters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("studio_projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    design_prompt: Mapped[str] = mapped_column(Text, default="")
    trigger_word: Mapped[str] = mapped_column(String(100))
    learned_negatives: Mapped[list] = mapped_column(JSON, default=list)
    # Bumped by each change of learned_negatives, so concurrent rejections merge instead of overwriting.
    negatives_revision: Mapped[int] = mapped_column(Integer, default=0)
    reference_images: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[float] = mapped_column(Float)


class PromptHistoryRow(Base):
    """Each design prompt a character had, with why it changed (created, edited on reject, proposal)."""

    __tablename__ = "studio_prompt_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    character_id: Mapped[int] = mapped_column(ForeignKey("studio_characters.id", ondelete="CASCADE"), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[float] = mapped_column(Float)


class ImageRow(Base):
    __tablename__ = "studio_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    character_id: Mapped[int] = mapped_column(ForeignKey("studio_characters.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)  # workspace-relative, under studio/
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), index=True, default=PENDING)
    # prompt, negative, seed, checkpoint, sampler, loras ... as the generator or importer knew them.
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)
    decided_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class FeedbackRow(Base):
    """One decision on an image: approve, or reject with categories, notes and an optional prompt edit."""

    __tablename__ = "studio_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("studio_images.id", ondelete="CASCADE"), index=True)
    character_id: Mapped[int] = mapped_column(ForeignKey("studio_characters.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    categories: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    prompt_edit: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class TrainingRow(Base):
    """A training asked for through the Studio: its job, and whether its LoRA was copied to the project."""

    __tablename__ = "studio_trainings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    character_id: Mapped[int] = mapped_column(ForeignKey("studio_characters.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str] = mapped_column(String(32), index=True)
    dataset: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued, copied, failed
    lora_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
