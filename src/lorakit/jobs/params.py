"""Each job kind's parameters, declared once: the web routes take them as request bodies, the runner checks
them when a job is submitted (``POST /api/jobs`` answers 422 naming the field), and the job functions
receive them typed.

Paths are workspace-relative text. With a workspace in the validation context (``{"workspace": ws}``)
every path is confined to it and the inputs a job reads must exist; without one only their form is
checked. Nothing here imports torch: listing kinds or validating a job's parameters stays light.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from lorakit.errors import LorakitError
from lorakit.jobs.store import JobError

MAX_PATH = 4096


def _workspace(info: ValidationInfo):
    return (info.context or {}).get("workspace")


def _inside(value: str, info: ValidationInfo) -> str:
    workspace = _workspace(info)
    if workspace is not None:
        try:
            workspace.resolve_inside(value)
        except LorakitError as error:
            raise ValueError(error.problem) from None
    return value


def _existing(value: str, info: ValidationInfo) -> str:
    workspace = _workspace(info)
    if workspace is not None:
        try:
            workspace.resolve_inside(value, must_exist=True)
        except LorakitError as error:
            raise ValueError(error.problem) from None
    return value


# A workspace path the job writes (it may not exist yet) / reads (it must exist when the job is submitted).
OutPath = Annotated[str, Field(min_length=1, max_length=MAX_PATH), AfterValidator(_inside)]
InPath = Annotated[
    str,
    Field(min_length=1, max_length=MAX_PATH, description="A workspace path, e.g. models/loras/my.safetensors"),
    AfterValidator(_existing),
]


class JobParams(BaseModel):
    """Base of every kind's parameters: unknown keys are refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    def check(self, workspace) -> None:
        """Checks beyond the fields' own (a kind overrides it); raises a LorakitError naming the problem."""


class JobParamsError(JobError):
    """A job's parameters cannot work: the web API answers 422 naming the field."""

    code = "invalid_params"


# --- test kinds -------------------------------------------------------------------------------------------
class SleepParams(JobParams):
    steps: int = Field(10, ge=1, le=1_000_000)
    seconds: float = Field(1.0, ge=0, le=24 * 3600)
    payload: str = Field("", max_length=10_000)
    delay: float = Field(0.0, ge=0, le=600, description="Seconds to wait before the first event.")


class EchoParams(JobParams):
    model_config = ConfigDict(extra="allow")  # it returns whatever it was given


class FailParams(JobParams):
    how: Literal["error", "crash", "exit"] = "error"
    message: str = Field("This job failed on purpose.", max_length=2000)
    code: int = Field(3, ge=1, le=255)


# --- data -------------------------------------------------------------------------------------------------
class ImportParams(JobParams):
    sources: list[InPath] = Field(min_length=1, max_length=1000, description="Folders, ZIP files or images.")
    to: OutPath = Field(description="The dataset folder to import into, e.g. datasets/my-set.")


class DatasetJob(JobParams):
    dataset: InPath = Field(description="The dataset folder, e.g. datasets/my-set.")


# The options of the dataset jobs, apart from the dataset: the dataset routes take these (the dataset is in
# their URL), the job kinds take them with the dataset.
class TagOptions(JobParams):
    model: InPath = Field(description="A WD14 tagger folder in the workspace, e.g. models/taggers/wd-v3")
    images: list[InPath] | None = Field(None, max_length=100_000, description="Only these images.")
    settings: dict[str, Any] = Field(default_factory=dict, description="Thresholds and rules (see docs/tagging).")


class CaptionOptions(JobParams):
    model: str | None = Field(None, max_length=MAX_PATH, description="A captioning model folder or repo id.")
    images: list[InPath] | None = Field(None, max_length=100_000)
    settings: dict[str, Any] = Field(default_factory=dict, description="prefix, suffix, mode, prompt, ...")


class DedupOptions(JobParams):
    threshold: int | None = Field(None, ge=0, le=64, description="How different two images may be (0 = identical).")
    remove: bool = Field(False, description="Move all but one of each group (and their captions) to the trash.")


# The ids of lorakit.data.health_fixes.FIX_IDS (a test keeps the two the same; importing it here would load PIL).
HealthFixId = Literal[
    "trash-unreadable",
    "to-rgb",
    "rename-duplicate-stems",
    "create-empty-captions",
    "captions-to-utf8",
    "add-trigger-word",
    "trash-duplicates",
]


class HealthOptions(JobParams):
    resolution: int | None = Field(None, ge=64, le=4096, description="Training resolution (512 SD1.5, 1024 SDXL).")
    trigger_word: str | None = Field(None, max_length=200, description="Your trigger word: checked in every caption.")
    batch_size: int | None = Field(None, ge=1, le=4096, description="Batch size, for the step count and buckets.")
    epochs: int | None = Field(None, ge=1, le=100_000, description="Epochs, for the step count.")
    max_token_length: Literal[75, 150, 225] | None = Field(None, description="Caption length limit in tokens.")
    fixes: list[HealthFixId] | None = Field(
        None,
        max_length=7,
        description="Safe fixes to apply after the check (a finding's fix_id); the dataset is checked again after.",
    )


class TagParams(TagOptions, DatasetJob):
    pass


class CaptionParams(CaptionOptions, DatasetJob):
    pass


class DedupParams(DedupOptions, DatasetJob):
    pass


class HealthParams(HealthOptions, DatasetJob):
    pass


# --- training ---------------------------------------------------------------------------------------------
class TrainParams(JobParams):
    config: Any = Field(
        description="A saved config's workspace path (configs/x.toml) or the config itself as JSON.",
        json_schema_extra={"anyOf": [{"type": "string", "minLength": 1, "maxLength": MAX_PATH}, {"type": "object"}]},
    )

    @field_validator("config")
    @classmethod
    def _path_or_config(cls, value: Any, info: ValidationInfo) -> Any:
        # One field, two forms: checked here rather than as a union, so errors name just `params.config`.
        if isinstance(value, dict):
            return value
        if not isinstance(value, str) or not 0 < len(value) <= MAX_PATH:
            raise ValueError("must be a saved config's workspace path (text) or the config as a JSON object")
        return _existing(value, info)

    def load(self, workspace):
        """The config, every path confined to the workspace (a LorakitError naming the problem otherwise)."""
        from lorakit.config.io import config_from_dict, load_config
        from lorakit.workspace import confine_config

        if isinstance(self.config, dict):
            cfg = config_from_dict(self.config)
        else:
            cfg = load_config(workspace.resolve_inside(self.config, must_exist=True), relative_to_file=False)
        return confine_config(workspace, cfg)

    def check(self, workspace) -> None:
        try:
            self.load(workspace)
        except LorakitError as error:
            raise JobParamsError(f"params.config: {error.problem}", error.fix, field="params.config") from None


# --- models and LoRA tools --------------------------------------------------------------------------------
class DownloadParams(JobParams):
    link: str = Field(min_length=3, max_length=2000, description="A Hugging Face, Civitai or https link.")
    to: OutPath | None = Field(None, description="A workspace folder; default: the library folder.")
    name: str | None = Field(None, min_length=1, max_length=255, description="File name to save as.")


Device = Annotated[str, Field(pattern=r"^(cpu|cuda(:\d+)?|mps)$", description="Default: the GPU if there is one.")]
Method = Literal["fixed", "sv_ratio", "sv_fro", "sv_cumulative"]
Precision = Literal["fp16", "bf16", "fp32"]
METHOD_HELP = "fixed (uses rank), or a dynamic rank per layer: sv_fro, sv_cumulative or sv_ratio (uses value)."
VALUE_HELP = "sv_fro/sv_cumulative: fraction kept, e.g. 0.9; sv_ratio: largest/smallest singular value kept, e.g. 10."
RANK_HELP = "Target rank (fixed), or the most any layer keeps (dynamic)."


class LoraToolParams(JobParams):
    """The options resize, merge and extract share: where to compute and in which precision."""

    # The fields passed on to the core function as they are (paths, device and precision are not).
    passed: ClassVar[tuple[str, ...]] = ()

    def tool_options(self) -> dict[str, Any]:
        """The core function's keyword arguments (``resize_lora``, ``merge_lora_files``, ``extract_lora``),
        the same from the CLI and from a job."""
        options = {name: getattr(self, name) for name in self.passed}
        return options | {"device": default_device(self.device), "dtype": torch_dtype(self.precision)}


class ResizeParams(LoraToolParams):
    passed = ("rank", "method", "value", "alpha")
    source: InPath
    output: OutPath | None = None
    rank: int | None = Field(None, ge=1, le=1024, description=RANK_HELP)
    method: Method = Field("fixed", description=METHOD_HELP)
    value: float | None = Field(None, description=VALUE_HELP)
    alpha: float | None = Field(None, gt=0, description="Write this alpha (weights adjust so strength is unchanged).")
    device: Device | None = None
    precision: Precision | None = Field(None, description="fp16, bf16 or fp32 (default: as the input).")


class MergeParams(LoraToolParams):
    passed = ("rank", "method", "value")
    sources: list[tuple[InPath, float]] = Field(min_length=1, max_length=20, description="[[path, weight], ...]")
    output: OutPath | None = None
    rank: int | None = Field(None, ge=1, le=1024, description="Compress to this rank with SVD (default: exact).")
    method: Method | None = Field(None, description="SVD compression: " + METHOD_HELP)
    value: float | None = Field(None, description="The value for a dynamic method.")
    device: Device | None = None
    precision: Precision = Field("fp16", description="fp16, bf16 or fp32.")


class ExtractParams(LoraToolParams):
    passed = ("rank", "conv_rank", "method", "value", "clamp_quantile", "text_encoder")
    base: InPath
    tuned: InPath
    output: OutPath | None = None
    rank: int = Field(32, ge=1, le=1024, description="Rank of the linear layers (the most kept when dynamic).")
    conv_rank: int | None = Field(None, ge=1, le=1024, description="Also extract 3x3 conv layers at this rank.")
    method: Method = Field("fixed", description=METHOD_HELP)
    value: float | None = Field(None, description="The value for a dynamic method.")
    clamp_quantile: float = Field(0.99, gt=0, le=1, description="Clip factor outliers (1.0: off).")
    text_encoder: bool = Field(True, description="Extract the text encoder's layers too.")
    device: Device | None = None
    precision: Precision = Field("fp16", description="fp16, bf16 or fp32.")


def default_device(device: str | None) -> str:
    """``device``, or the GPU when there is one (cpu otherwise)."""
    if device:
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def torch_dtype(precision: str | None):
    """The torch dtype of a :data:`Precision` name (None stays None)."""
    if precision is None:
        return None
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]


class ConvertParams(JobParams):
    source: InPath
    layout: Literal["kohya", "diffusers", "peft", "comfyui"] = Field(
        "kohya", description="The layout to write: kohya (A1111/Forge/ComfyUI), diffusers, peft or comfyui."
    )
    output: OutPath | None = None
    arch: Literal["sd1", "sd2", "sdxl"] | None = Field(None, description="The family, when the file does not say.")


class UploadParams(JobParams):
    lora: InPath
    repo_id: str = Field(
        pattern=r"^([\w.\-]+/)?[\w.\-]+$",
        max_length=200,
        description="The Hugging Face repo: name or user/name (name alone: the token's user owns it).",
    )
    private: bool = Field(False, description="Make a new repo private.")
    title: str | None = Field(None, max_length=200, description="Card title (default: from the file).")
    description: str | None = Field(None, max_length=20_000, description="A paragraph for the card.")
    trigger_words: list[str] | None = Field(None, max_length=50, description="Default: from the metadata.")
    images: list[tuple[InPath, str]] | None = Field(None, max_length=20, description="[[image path, prompt], ...]")
    prompts: list[str] | None = Field(None, max_length=20, description="Example prompts for the card.")
    base_model: str | None = Field(None, max_length=200, description="Hub id of the base model (default: by family).")
    license: str | None = Field(None, max_length=100, description="License id for the card, e.g. openrail++.")
    card: str | None = Field(
        None,
        max_length=200_000,
        description="The whole README.md to send instead of the generated card (a previewed card, edited).",
    )

    def card_options(self) -> dict[str, Any]:
        """``upload_lora``'s repo and card keyword arguments (the paths, token and progress are the caller's)."""
        names = ("private", "title", "description", "trigger_words", "prompts", "base_model", "license", "card")
        return {name: getattr(self, name) for name in names}


class BakeParams(JobParams):
    checkpoint: InPath = Field(
        description="The base checkpoint: a single-file .safetensors, e.g. models/checkpoints/x.safetensors"
    )
    loras: list[tuple[InPath, float]] = Field(min_length=1, max_length=20, description="[[LoRA path, weight], ...]")
    output: OutPath | None = Field(None, description="Default: models/checkpoints/<checkpoint>-baked.safetensors")
    precision: Precision = Field("fp16", description="fp16, bf16 or fp32: the new checkpoint's weights.")

    def check(self, workspace) -> None:
        out = self.output
        if out and workspace.resolve_inside(out) == workspace.resolve_inside(self.checkpoint):
            raise JobParamsError(
                "params.output: is the input checkpoint.",
                "Write the baked model to a new file.",
                field="params.output",
            )


def validate_params(model: type[JobParams], params: Any, workspace=None, *, prefix: str = "params") -> JobParams:
    """``params`` as ``model``, or a :class:`JobParamsError` naming every bad field (``params.config``).

    With a ``workspace`` the paths are confined to it, the inputs must exist and the kind's own
    :meth:`JobParams.check` runs (a training config must load).
    """
    if params is None:
        params = {}
    try:
        parsed = model.model_validate(params, context={"workspace": workspace})
    except ValidationError as error:
        problems, fields = [], []
        for item in error.errors(include_url=False):
            where = ".".join(str(p) for p in (prefix, *item.get("loc", ())) if p != "")
            fields.append(where)
            message = str(item.get("msg", "is not valid")).removeprefix("Value error, ")
            problems.append(f"{where}: {message}")
        raise JobParamsError(
            "; ".join(problems[:10]) + ("." if len(problems) <= 10 else f"; and {len(problems) - 10} more."),
            "Correct these values and submit the job again (GET /api/jobs/kinds lists each kind's parameters).",
            field=fields[0] if fields else prefix,
        ) from None
    if workspace is not None:
        parsed.check(workspace)
    return parsed
