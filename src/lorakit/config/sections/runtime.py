"""Memory and speed, samples, logging and multi-GPU sections: how the run uses the machine and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from lorakit.config.dataset import Section
from lorakit.config.fields import LORAKIT_ONLY, setting

MixedPrecision = Literal["no", "fp16", "bf16"]
Attention = Literal["sdpa", "xformers", "mem_eff", "none"]
# sd-scripts' sampler names plus the DPM++ spellings artists know from A1111/ComfyUI.
Sampler = Literal[
    "ddim",
    "pndm",
    "lms",
    "euler",
    "euler_a",
    "heun",
    "dpm_2",
    "dpm_2_a",
    "dpmsolver",
    "dpmsolver++",
    "dpmsingle",
    "k_lms",
    "k_euler",
    "k_euler_a",
    "k_dpm_2",
    "k_dpm_2_a",
    "dpm++_2m",
    "dpm++_2m_karras",
    "dpm++_2m_sde",
    "unipc",
]


class MemorySection(Section):
    """Precision, caching and memory savers: trade speed for fitting on your GPU."""

    mixed_precision: MixedPrecision = setting(
        "bf16",
        help="Number format while training. bf16 on RTX 30xx and newer; fp16 on older cards; 'no' is slow and"
        " memory-hungry.",
        kohya="mixed_precision",
        effect="trainer",
        recommended="bf16",
    )
    full_fp16: bool = setting(
        False,
        help="Keep the LoRA itself in fp16 too: less memory, less stable. Only with mixed_precision fp16.",
        kohya="full_fp16",
        effect="trainer",
        level="expert",
    )
    full_bf16: bool = setting(
        False,
        help="Keep the LoRA itself in bf16 too: less memory. Only with mixed_precision bf16.",
        kohya="full_bf16",
        effect="trainer",
        level="expert",
    )
    fp8_base: bool = setting(
        False,
        help="Hold the UNet's weights in fp8: about half its memory (SDXL: about 2.5 GB less), slightly lower"
        " quality. Needs mixed precision and an NVIDIA GPU with fp8 support (RTX 40xx, L4, L40, H100 and newer).",
        kohya="fp8_base",
        effect="trainer",
        level="expert",
    )
    gradient_checkpointing: bool = setting(
        True,
        help="Recompute instead of storing: much less memory for about 20-30% more time. Keep on unless memory"
        " is plentiful.",
        kohya="gradient_checkpointing",
        effect="trainer",
        recommended=True,
    )
    gradient_checkpointing_cpu_offload: bool = setting(
        False,
        help="Also move checkpointed activations to CPU memory (Flux): even less GPU memory, slower.",
        kohya="cpu_offload_checkpointing",
        effect="export-only",
        level="expert",
    )
    cache_latents: bool = setting(
        True,
        help="Encode each image once before training instead of every step: faster and less memory. Turns off"
        " color_aug and random_crop.",
        kohya="cache_latents",
        effect="trainer",
        recommended=True,
    )
    cache_latents_to_disk: bool = setting(
        False,
        help="Keep cached latents on disk so the next run starts faster.",
        kohya="cache_latents_to_disk",
        effect="trainer",
    )
    cache_text_encoder_outputs: bool = setting(
        False,
        help="Encode each caption once (needs train_unet_only). Saves memory, but captions cannot be shuffled"
        " or dropped.",
        kohya="cache_text_encoder_outputs",
        effect="trainer",
    )
    cache_text_encoder_outputs_to_disk: bool = setting(
        False,
        help="Keep cached caption encodings on disk so the next run starts faster.",
        kohya="cache_text_encoder_outputs_to_disk",
        effect="trainer",
        level="expert",
    )
    vae_batch_size: int = setting(
        1,
        help="Images encoded at once while caching latents. Higher is faster with enough memory.",
        kohya="vae_batch_size",
        effect="trainer",
        level="expert",
        ge=1,
        le=64,
        unit="images",
    )
    no_half_vae: bool = setting(
        False,
        help="Run the VAE in full precision. Needed for SDXL with fp16 (its VAE overflows to black images).",
        kohya="no_half_vae",
        effect="trainer",
    )
    attention: Attention = setting(
        "sdpa",
        help="The attention implementation. 'sdpa' (built into PyTorch) is fast everywhere; 'xformers' needs"
        " the xformers package.",
        kohya="sdpa",
        effect="trainer",
        level="expert",
        recommended="sdpa",
    )
    max_data_loader_n_workers: int = setting(
        2,
        help="Processes that load images in the background. 2-8; 0 loads in the training process (slower).",
        kohya="max_data_loader_n_workers",
        effect="export-only",
        level="expert",
        ge=0,
        le=64,
    )
    persistent_data_loader_workers: bool = setting(
        False,
        help="Keep the loader processes between epochs (faster epochs, more memory).",
        kohya="persistent_data_loader_workers",
        effect="export-only",
        level="expert",
    )
    blocks_to_swap: int | None = setting(
        None,
        help="Flux: move this many transformer blocks to CPU memory between uses. Lets Flux train on 12-16 GB;"
        " each block costs speed.",
        kohya="blocks_to_swap",
        effect="trainer",
        level="expert",
        ge=0,
        le=60,
        unit="blocks",
    )
    lowram: bool = setting(
        False,
        help="Load the model straight to the GPU (for machines with little system memory).",
        kohya="lowram",
        effect="export-only",
        level="expert",
    )
    highvram: bool = setting(
        False,
        help="Keep more on the GPU for speed (for cards with plenty of memory).",
        kohya="highvram",
        effect="export-only",
        level="expert",
    )
    channels_last: bool = setting(
        False,
        help="Store the UNet's and VAE's convolution weights channels-last (NHWC): faster convolutions on NVIDIA"
        " GPUs in fp16/bf16, the same results within rounding. No gain on a CPU.",
        kohya=LORAKIT_ONLY,
        effect="trainer",
        level="expert",
    )
    torch_compile: bool = setting(
        False,
        help="Compile the model with torch.compile: a slower start, then faster steps.",
        kohya="torch_compile",
        effect="trainer",
        level="expert",
    )
    fused_backward_pass: bool = setting(
        False,
        help="Adafactor only: update each weight during the backward pass and free its gradient at once, to"
        " save memory (gradient clipping then applies per weight, as in sd-scripts). Needs"
        " gradient_accumulation_steps = 1 and one process.",
        kohya="fused_backward_pass",
        effect="trainer",
        level="expert",
    )


class SamplesSection(Section):
    """Preview images rendered during training, and an optional validation loss."""

    sample_prompts: Path | list[str] | None = setting(
        None,
        help="Prompts for preview images: a text file (one prompt per line, options like --w 1024 --s 28)"
        " or a list of prompts. Include your trigger word.",
        kohya="sample_prompts",
        effect="trainer",
    )
    sample_every_n_epochs: int | None = setting(
        None,
        help="Render previews every N epochs (1 for short runs).",
        kohya="sample_every_n_epochs",
        effect="trainer",
        ge=1,
        unit="epochs",
    )
    sample_every_n_steps: int | None = setting(
        None,
        help="Render previews every N steps (for long runs with few epochs).",
        kohya="sample_every_n_steps",
        effect="trainer",
        ge=1,
        unit="steps",
    )
    sample_at_first: bool = setting(
        False,
        help="Render previews before training starts, to compare against.",
        kohya="sample_at_first",
        effect="trainer",
    )
    sample_sampler: Sampler = setting(
        "euler_a",
        help="Sampler for previews. euler_a is fast and forgiving; dpm++_2m_karras is sharper.",
        kohya="sample_sampler",
        effect="trainer",
        recommended="euler_a",
    )
    validation_split: float = setting(
        0.0,
        help="Share of images held back to measure a validation loss (0.1 = 10%). 0 = off.",
        kohya="validation_split",
        effect="trainer",
        level="expert",
        ge=0.0,
        lt=1.0,
    )
    validate_every_n_steps: int | None = setting(
        None,
        help="Measure the validation loss every N steps (a curve that shows overfitting).",
        kohya="validate_every_n_steps",
        effect="trainer",
        level="expert",
        ge=1,
    )
    validate_every_n_epochs: int | None = setting(
        None,
        help="Measure the validation loss every N epochs (a curve that shows overfitting).",
        kohya="validate_every_n_epochs",
        effect="trainer",
        level="expert",
        ge=1,
    )


class LoggingSection(Section):
    """Where training curves go, and publishing to Hugging Face."""

    log_with: Literal["tensorboard", "wandb", "all"] | None = setting(
        None,
        help="Also log curves to TensorBoard or Weights & Biases (lorakit's own live charts work without).",
        kohya="log_with",
        effect="trainer",
    )
    logging_dir: Path | None = setting(
        None,
        help="Folder for TensorBoard logs (with log_with = tensorboard).",
        kohya="logging_dir",
        effect="trainer",
        level="advanced",
    )
    log_prefix: str | None = setting(
        None,
        help="Text put before each log folder's name, to tell runs apart.",
        kohya="log_prefix",
        effect="trainer",
        level="expert",
    )
    log_tracker_name: str | None = setting(
        None,
        help="Project name shown in TensorBoard or Weights & Biases.",
        kohya="log_tracker_name",
        effect="trainer",
        level="advanced",
    )
    wandb_run_name: str | None = setting(
        None,
        help="Name of this run in Weights & Biases (empty = a generated name).",
        kohya="wandb_run_name",
        effect="trainer",
        level="advanced",
    )
    wandb_api_key: str | None = setting(
        None,
        help="Your Weights & Biases key. Kept secret: never written to exported files or logs.",
        kohya="wandb_api_key",
        effect="trainer",
        secret=True,
    )
    huggingface_repo_id: str | None = setting(
        None,
        help="Upload the finished LoRA to this Hugging Face repo (e.g. 'you/my-lora').",
        kohya="huggingface_repo_id",
        effect="export-only",
    )
    huggingface_token: str | None = setting(
        None,
        help="Your Hugging Face write token. Kept secret: never written to exported files or logs. Empty ="
        " the token saved with 'lorakit models login' or HF_TOKEN.",
        kohya="huggingface_token",
        effect="export-only",
        secret=True,
    )
    huggingface_repo_visibility: Literal["public", "private"] = setting(
        "private",
        help="Whether a new Hugging Face repo is public or private.",
        kohya="huggingface_repo_visibility",
        effect="export-only",
    )
    async_upload: bool = setting(
        False,
        help="Upload in the background while training goes on.",
        kohya="async_upload",
        effect="export-only",
        level="expert",
    )


class MultiGPUSection(Section):
    """Training on several GPUs or machines (passed to accelerate)."""

    num_processes: int = setting(
        1,
        help="How many GPUs to train on (one process each).",
        kohya=LORAKIT_ONLY,
        effect="trainer",
        level="expert",
        ge=1,
        le=1024,
        unit="GPUs",
    )
    num_machines: int = setting(
        1,
        help="How many machines take part in multi-machine training (1 = just this one).",
        kohya=LORAKIT_ONLY,
        effect="refused",
        level="expert",
        ge=1,
        le=1024,
    )
    machine_rank: int = setting(
        0,
        help="This machine's number in multi-machine training (0 = the main one).",
        kohya=LORAKIT_ONLY,
        effect="refused",
        level="expert",
        ge=0,
    )
    main_process_ip: str | None = setting(
        None,
        help="Network address of the main machine in multi-machine training.",
        kohya=LORAKIT_ONLY,
        effect="refused",
        level="expert",
    )
    main_process_port: int | None = setting(
        None,
        help="Network port of the main machine in multi-machine training.",
        kohya=LORAKIT_ONLY,
        effect="refused",
        level="expert",
        ge=1,
        le=65535,
    )
    ddp_timeout: int | None = setting(
        None,
        help="Minutes to wait for the other GPUs before giving up.",
        kohya="ddp_timeout",
        effect="export-only",
        level="expert",
        ge=1,
        unit="minutes",
    )
    ddp_gradient_as_bucket_view: bool = setting(
        False,
        help="Multi-GPU (DDP): share gradient memory with communication buffers, saving some memory.",
        kohya="ddp_gradient_as_bucket_view",
        effect="export-only",
        level="expert",
    )
    ddp_static_graph: bool = setting(
        False,
        help="A DDP speed-up for models whose graph never changes.",
        kohya="ddp_static_graph",
        effect="export-only",
        level="expert",
    )
    deepspeed: bool = setting(
        False,
        help="Use DeepSpeed to spread training memory over several GPUs.",
        kohya="deepspeed",
        effect="export-only",
        level="expert",
    )
    zero_stage: Literal[0, 1, 2, 3] = setting(
        2,
        help="DeepSpeed ZeRO stage: higher saves more memory.",
        kohya="zero_stage",
        effect="export-only",
        level="expert",
    )
    fsdp: bool = setting(
        False,
        help="Use fully sharded data parallel (set up through accelerate).",
        kohya=LORAKIT_ONLY,
        effect="refused",
        level="expert",
    )
