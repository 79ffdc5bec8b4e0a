"""Studio tables: projects, characters, prompt history, images, feedback, trainings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _owner(table: str, name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False, index=True)


def upgrade() -> None:
    op.create_table(
        "studio_projects",
        _id(),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("style", sa.Text(), nullable=False),
        sa.Column("generation", sa.JSON(), nullable=False),
        sa.Column("base_negatives", sa.JSON(), nullable=False),
        sa.Column("lora_folder", sa.Text(), nullable=False),
        sa.Column("train_preset", sa.String(100), nullable=False),
        sa.Column("train_settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "studio_characters",
        _id(),
        _owner("studio_projects", "project_id"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("design_prompt", sa.Text(), nullable=False),
        sa.Column("trigger_word", sa.String(100), nullable=False),
        sa.Column("learned_negatives", sa.JSON(), nullable=False),
        sa.Column("negatives_revision", sa.Integer(), nullable=False),
        sa.Column("reference_images", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "studio_prompt_history",
        _id(),
        _owner("studio_characters", "character_id"),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "studio_images",
        _id(),
        _owner("studio_characters", "character_id"),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("decided_at", sa.Float(), nullable=True),
    )
    op.create_table(
        "studio_feedback",
        _id(),
        _owner("studio_images", "image_id"),
        _owner("studio_characters", "character_id"),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("prompt_edit", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "studio_trainings",
        _id(),
        _owner("studio_characters", "character_id"),
        sa.Column("job_id", sa.String(32), nullable=False, index=True),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lora_path", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "studio_trainings",
        "studio_feedback",
        "studio_images",
        "studio_prompt_history",
        "studio_characters",
        "studio_projects",
    ):
        op.drop_table(table)
