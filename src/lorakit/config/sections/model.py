"""Model and output sections: what to train on, and where and how the LoRA is saved."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from lorakit.config.dataset import Section
from lorakit.config.fields import LORAKIT_ONLY, setting

Family = Literal["auto", "sd1", "sd2", "sd2-v", "sdxl", "flux"]
FAMILIES: tuple[str, ...] = ("auto", "sd1", "sd2", "sd2-v", "sdxl", "flux")
TimestepSampling = Literal["sigma", "uniform", "sigmoid", "shift", "flux_shift"]
ModelPrediction = Literal["raw", "additive", "sigma_scaled"]
SavePrecision = Literal["float", "fp16", "bf16"]


class ModelSection(Section):
    """The base model the LoRA is trained on (and, for Flux, its separate text encoders and autoencoder)."""

    pretrained_model_name_or_path: str | None = setting(
        None,
        help="The base model: a .safetensors checkpoint, a diffusers folder, or a Hugging Face repo id."
        " Train on the model you will generate with (or its ancestor) for the best results.",
        kohya="pretrained_model_name_or_path",
        effect="trainer",
    )
    family: Family = setting(
        "auto",
        help="Which kind of model this is: sd1, sd2, sd2-v (768 v-prediction), sdxl (also Pony and Illustrious)"
        " or flux. 'auto' reads it from the file. Only set it if detection gets it wrong.",
        kohya="v2",
        effect="trainer",
        level="advanced",
        recommended="auto",
    )
    vae: str | None = setting(
        None,
        help="A separate VAE file to use instead of the one inside the model. Leave empty unless the model's own"
        " VAE is broken (some SDXL merges need the fp16-fixed VAE).",
        kohya="vae",
        effect="trainer",
        level="advanced",
    )
    architecture_config: str | None = setting(
        None,
        help="Single-file checkpoints only: the layout the file is read with. Empty = chosen from the weights"
        " (lorakit ships SD1, SD2 and SDXL layouts, which also fit Pony, Illustrious and NoobAI). Set it to a"
        " diffusers folder of the same model (its configs and tokenizer files are enough) for a model of an"
        " unusual size, or to sd1, sd2, sd2-v or sdxl.",
        kohya=LORAKIT_ONLY,
        effect="trainer",
        level="expert",
    )
    v_parameterization: bool | None = setting(
        None,
        help="Train with v-prediction. Empty = decided by the family (on for sd2-v). Turn on for v-prediction"
        " SDXL models (e.g. NoobAI v-pred); wrong here gives washed-out or noisy results.",
        kohya="v_parameterization",
        effect="trainer",
        level="advanced",
    )
    clip_skip: int | None = setting(
        None,
        help="Use the text encoder's output this many layers from the end. 2 is common for anime SD1.5 models;"
        " SDXL and Flux ignore it. Empty = the model's usual value (1).",
        kohya="clip_skip",
        effect="trainer",
        level="advanced",
        ge=1,
        le=12,
        unit="layers",
    )
    clip_l: str | None = setting(
        None,
        help="Flux only: path to the CLIP-L text encoder file.",
        kohya="clip_l",
        effect="export-only",
        level="advanced",
    )
    t5xxl: str | None = setting(
        None,
        help="Flux only: path to the T5-XXL text encoder file (fp8 or fp16).",
        kohya="t5xxl",
        effect="export-only",
        level="advanced",
    )
    ae: str | None = setting(
        None,
        help="Flux only: path to the autoencoder (ae.safetensors).",
        kohya="ae",
        effect="export-only",
        level="advanced",
    )
    t5xxl_max_token_length: int | None = setting(
        None,
        help="Flux only: how many T5 tokens a caption may use. Empty = 512 for Flux dev, 256 for schnell."
        " Shorter is faster and uses less memory.",
        kohya="t5xxl_max_token_length",
        effect="trainer",
        level="expert",
        ge=1,
        le=512,
        unit="tokens",
    )
    apply_t5_attn_mask: bool = setting(
        False,
        help="Flux only: mask T5 padding tokens. Slightly cleaner text conditioning for short captions.",
        kohya="apply_t5_attn_mask",
        effect="trainer",
        level="expert",
    )
    guidance_scale: float = setting(
        1.0,
        help="Flux only: the guidance value the model sees while training. Keep 1.0 for Flux dev LoRAs.",
        kohya="guidance_scale",
        effect="trainer",
        level="advanced",
        ge=0.0,
        le=30.0,
        recommended=1.0,
    )
    timestep_sampling: TimestepSampling = setting(
        "sigma",
        help="Flux only: how training noise levels are picked. 'shift' or 'sigmoid' focus on middle noise levels"
        " and usually learn faces and details better than 'sigma'.",
        kohya="timestep_sampling",
        effect="trainer",
        level="advanced",
        recommended="shift",
    )
    sigmoid_scale: float = setting(
        1.0,
        help="Flux only: spread of the noise levels for 'sigmoid'/'shift' sampling. Higher = more spread out.",
        kohya="sigmoid_scale",
        effect="trainer",
        level="expert",
        gt=0.0,
        le=10.0,
    )
    discrete_flow_shift: float = setting(
        3.0,
        help="Flux only: shift toward higher noise levels for 'shift' sampling. 3.0 is the usual value;"
        " raise it to learn composition more, lower it for fine detail.",
        kohya="discrete_flow_shift",
        effect="trainer",
        level="expert",
        gt=0.0,
        le=20.0,
    )
    model_prediction_type: ModelPrediction = setting(
        "sigma_scaled",
        help="Flux only: how the model output is turned into a prediction. 'raw' is what most Flux LoRA guides use.",
        kohya="model_prediction_type",
        effect="trainer",
        level="expert",
        recommended="raw",
    )


class OutputSection(Section):
    """Where the LoRA is written, how often, and what it says about itself."""

    output_dir: Path = setting(
        Path("outputs"),
        help="Folder the LoRA files, samples and training state go into (a job's: inside the workspace).",
        kohya="output_dir",
        effect="trainer",
    )
    output_name: str = setting(
        "lora",
        help="File name of the LoRA (without .safetensors). Use your trigger word or character name.",
        kohya="output_name",
        effect="trainer",
    )
    save_model_as: Literal["safetensors"] = setting(
        "safetensors",
        help="File format. lorakit writes safetensors only: it is safe to load and every UI reads it.",
        kohya="save_model_as",
        effect="trainer",
        level="advanced",
    )
    save_precision: SavePrecision | None = setting(
        "fp16",
        help="Number format of the saved LoRA. fp16 is small and loads everywhere; 'float' doubles the size"
        " for no visible gain. Empty = same as training.",
        kohya="save_precision",
        effect="trainer",
        level="advanced",
        recommended="fp16",
    )
    save_every_n_epochs: int | None = setting(
        None,
        help="Also save a LoRA every N epochs, so you can pick the best one. 1-2 for short runs."
        " Empty = only at the end.",
        kohya="save_every_n_epochs",
        effect="trainer",
        ge=1,
        unit="epochs",
    )
    save_every_n_steps: int | None = setting(
        None,
        help="Also save a LoRA every N steps (useful for long runs with few epochs).",
        kohya="save_every_n_steps",
        effect="trainer",
        level="advanced",
        ge=1,
        unit="steps",
    )
    save_last_n_epochs: int | None = setting(
        None,
        help="Keep only the newest N in-between LoRAs and delete older ones, to save disk space.",
        kohya="save_last_n_epochs",
        effect="trainer",
        level="advanced",
        ge=1,
        unit="files",
    )
    save_state: bool = setting(
        False,
        help="Also keep the full training state (optimizer and all) at the end, so a later run can continue"
        " from it (output.resume). During a run the newest state is always kept, for stop and crash resume."
        " Takes more disk space.",
        kohya="save_state",
        effect="trainer",
        level="advanced",
    )
    save_last_n_epochs_state: int | None = setting(
        None,
        help="Keep only the newest N training states and delete older ones (each can be several GB).",
        kohya="save_last_n_epochs_state",
        effect="trainer",
        level="advanced",
        ge=1,
        unit="states",
    )
    resume: Path | None = setting(
        None,
        help="Start this run from a saved training state: another run's folder (or its state/ folder)."
        " Training continues at that state's step with its weights and optimizer state.",
        kohya="resume",
        effect="trainer",
        level="advanced",
    )
    no_metadata: bool = setting(
        False,
        help="Leave the training settings out of the LoRA file. Keep off: the metadata lets you and others"
        " see how it was made.",
        kohya="no_metadata",
        effect="trainer",
        level="expert",
    )
    metadata_title: str | None = setting(
        None,
        help="Title stored in the LoRA file (shown by some UIs).",
        kohya="metadata_title",
        effect="trainer",
        level="advanced",
    )
    metadata_author: str | None = setting(
        None,
        help="Your name as the author, stored in the LoRA file.",
        kohya="metadata_author",
        effect="trainer",
        level="advanced",
    )
    metadata_description: str | None = setting(
        None,
        help="What the LoRA does and how to use it, stored in the LoRA file.",
        kohya="metadata_description",
        effect="trainer",
        level="advanced",
    )
    metadata_license: str | None = setting(
        None,
        help="License of the LoRA, stored in the LoRA file.",
        kohya="metadata_license",
        effect="trainer",
        level="advanced",
    )
    metadata_tags: str | None = setting(
        None,
        help="Comma-separated tags describing the LoRA, stored in the LoRA file.",
        kohya="metadata_tags",
        effect="trainer",
        level="advanced",
    )
    trigger_words: list[str] = setting(
        default_factory=list,
        help="Words that call up what the LoRA learned (e.g. 'ohwx'). Stored in the LoRA's modelspec metadata"
        " and the model card.",
        kohya=LORAKIT_ONLY,
        effect="trainer",
        level="advanced",
    )
    training_comment: str | None = setting(
        None,
        help="A free note stored in the LoRA file, e.g. what you were testing.",
        kohya="training_comment",
        effect="trainer",
        level="expert",
    )
