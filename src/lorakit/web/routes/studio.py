"""Studio: projects, characters, their images, the approve/reject loop, proposals and the train gate.

Thin over :mod:`lorakit.studio`. Images reach a character from a workspace file (upload it first with
``/api/files/upload``); they are copied under ``studio/`` and start pending.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from lorakit.studio import feedback, train
from lorakit.studio.feedback import Proposal
from lorakit.studio.models import SOURCES, STATUSES
from lorakit.studio.negatives import CATEGORIES, negative_table
from lorakit.studio.store import Character, Image, Project, PromptVersion, StudioStore
from lorakit.studio.train import Training
from lorakit.web.deps import RunnerDep, WorkspaceDep, existing

router = APIRouter(prefix="/api/studio", tags=["studio"])


def get_studio(request: Request) -> StudioStore:
    """One store per app (opened, and migrated, on first use; closed with the app's runner)."""
    store = getattr(request.app.state, "studio", None)
    if store is None:
        store = request.app.state.studio = StudioStore(request.app.state.workspace)
    return store


StudioDep = Annotated[StudioStore, Depends(get_studio)]
RowId = Annotated[int, Path(ge=1, le=2**53, description="The row's id.")]


class NewProject(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    checkpoint: str = Field("", max_length=4096, description="A workspace model path or a Hugging Face repo id.")
    style: str = Field("", max_length=2000)
    generation: dict[str, Any] = Field(
        default_factory=dict, description="width, height, cfg, steps, sampler, seed_policy, seed."
    )
    base_negatives: list[str] = Field(default_factory=list, max_length=200)
    lora_folder: str = Field("models/loras", min_length=1, max_length=4096)
    train_preset: str = Field("sd15-character", max_length=100)
    train_settings: dict[str, Any] = Field(default_factory=dict, description="Dotted config overrides.")


class NewCharacter(BaseModel):
    project: str = Field(min_length=1, max_length=100, description="The project's name or id.")
    name: str = Field(min_length=1, max_length=100)
    design_prompt: str = Field("", max_length=4000)
    trigger_word: str | None = Field(None, max_length=100)


class CharacterDetail(Character):
    prompt_history: list[PromptVersion]
    negative_prompt: str


class NewImage(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="A workspace image file to copy in.")
    source: str = Field("upload", description=f"One of: {', '.join(SOURCES)}.")
    meta: dict[str, Any] = Field(default_factory=dict, description="prompt, negative, seed, checkpoint, ...")


class Approval(BaseModel):
    notes: str = Field("", max_length=4000)


class Rejection(BaseModel):
    categories: list[str] = Field(default_factory=list, description=f"Any of: {', '.join(CATEGORIES)}.")
    notes: str = Field("", max_length=4000)
    prompt_edit: str | None = Field(None, max_length=4000, description="A new design prompt for the character.")


class Acceptance(BaseModel):
    prompt: str = Field(min_length=1, max_length=4000)


class TrainRequest(BaseModel):
    overrides: dict[str, Any] = Field(default_factory=dict, description="Dotted config overrides for this run.")
    repeats: int = Field(1, ge=1, le=100)


@router.get("/projects", response_model=list[Project], summary="List projects")
def list_projects(studio: StudioDep) -> list[Project]:
    return studio.projects()


@router.post("/projects", response_model=Project, status_code=201, summary="Create a project")
def create_project(body: NewProject, studio: StudioDep) -> Project:
    return studio.create_project(**body.model_dump())


@router.get("/projects/{project}/characters", response_model=list[Character], summary="A project's characters")
def list_characters(project: str, studio: StudioDep) -> list[Character]:
    return studio.characters(project)


@router.post("/characters", response_model=Character, status_code=201, summary="Create a character")
def create_character(body: NewCharacter, studio: StudioDep) -> Character:
    return studio.create_character(
        body.project, body.name, design_prompt=body.design_prompt, trigger_word=body.trigger_word
    )


@router.get("/characters/{character_id}", response_model=CharacterDetail, summary="A character with its history")
def get_character(character_id: RowId, studio: StudioDep) -> CharacterDetail:
    character = studio.character(character_id)
    return CharacterDetail(
        **character.model_dump(),
        prompt_history=studio.prompt_history(character_id),
        negative_prompt=feedback.negative_prompt(studio, character),
    )


@router.get("/characters/{character_id}/images", response_model=list[Image], summary="A character's images")
def list_images(
    character_id: RowId, studio: StudioDep, status: str | None = Query(None, description=" | ".join(STATUSES))
) -> list[Image]:
    studio.character(character_id)
    return studio.images(character_id, status=status)


@router.post(
    "/characters/{character_id}/images", response_model=Image, status_code=201, summary="Add an image (pending)"
)
def add_image(character_id: RowId, body: NewImage, studio: StudioDep, workspace: WorkspaceDep) -> Image:
    path = existing(workspace, body.path)
    return studio.add_image(character_id, path, source=body.source, meta=body.meta)


@router.post("/images/{image_id}/approve", response_model=Image, summary="Approve a pending image")
def approve(image_id: RowId, body: Approval, studio: StudioDep) -> Image:
    return feedback.approve(studio, image_id, body.notes)


@router.post("/images/{image_id}/reject", response_model=Image, summary="Reject a pending image")
def reject(image_id: RowId, body: Rejection, studio: StudioDep) -> Image:
    return feedback.reject(studio, image_id, body.categories, body.notes, body.prompt_edit)


@router.get(
    "/characters/{character_id}/proposal",
    response_model=Proposal,
    summary="A refined design prompt (after 3 structured rejections)",
)
def proposal(character_id: RowId, studio: StudioDep) -> Proposal:
    return feedback.propose_prompt(studio, character_id)


@router.post(
    "/characters/{character_id}/proposal/accept", response_model=Character, summary="Make a prompt the design prompt"
)
def accept(character_id: RowId, body: Acceptance, studio: StudioDep) -> Character:
    return feedback.accept_proposal(studio, character_id, body.prompt)


@router.get("/negatives", response_model=dict[str, list[str]], summary="Rejection categories -> negative terms")
def negatives(workspace: WorkspaceDep) -> dict[str, list[str]]:
    return negative_table(workspace)


@router.post(
    "/characters/{character_id}/train",
    response_model=Training,
    status_code=201,
    summary="Train the character's LoRA (10 approved images and a checkpoint needed)",
)
def start_training(character_id: RowId, body: TrainRequest, studio: StudioDep, runner: RunnerDep) -> Training:
    return train.start_training(studio, runner, character_id, body.overrides, repeats=body.repeats)


@router.get("/trainings", response_model=list[Training], summary="Trainings, newest first (finished LoRAs copied)")
def list_trainings(
    studio: StudioDep, runner: RunnerDep, character_id: int | None = Query(None, ge=1, le=2**53)
) -> list[Training]:
    train.collect(studio, runner)
    return train.trainings(studio, character_id)
