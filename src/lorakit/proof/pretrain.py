"""Pretraining the shapes-world base model: a tiny SD1-shaped pipeline (AutoencoderKL, CLIP text encoder with the
handmade tokenizer, UNet2DConditionModel, DDPM epsilon schedule) that learns to draw ``lorakit.proof.world``.

Two stages, each from its own seed, on one CPU thread so the result is the same bits on every run with the
same torch version:

1. the VAE learns to reconstruct world images (64x64 -> 8x8x4 latents -> 64x64), from random 32x32 crops
   (it is convolutional; crops cost a quarter): L1 + MSE plus a light KL term;
   its ``scaling_factor`` is then set so the latents of the world have unit variance, as SD's are;
2. the UNet and the text encoder learn together to predict the noise of those latents (epsilon, the tiny
   models' DDPM schedule) from the captions; one caption in ten is dropped (empty) so classifier-free guidance
   works when sampling. The text encoder is trained rather than left random: its 32-wide random embeddings put
   words too close together for a UNet this small to tell "red" from "purple" quickly.

The weights saved are an exponential moving average of the UNet's and text encoder's, or with
``ema_decay`` 0 the trained weights themselves (better for a short run: the average still holds early
steps). The concept shape (``world.CONCEPT``) and its trigger word never appear in this data.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lorakit.models.tiny import _SCHEDULER, _TEXT, _VAE, _text_config, _tokenizer
from lorakit.proof import world
from lorakit.proof.stage_state import load_stage, save_stage

log = logging.getLogger(__name__)

# The UNet: the tiny SD1's two levels (8x8 and 4x4 latents), text attention at both.
UNET = dict(
    block_out_channels=(32, 64),
    layers_per_block=1,
    sample_size=8,
    in_channels=4,
    out_channels=4,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    norm_num_groups=32,
    cross_attention_dim=_TEXT["hidden_size"],
    attention_head_dim=8,
)
MARKER = "lorakit_proof.json"


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the weights (with the code and the torch version)."""

    seed: int = 14
    vae_steps: int = 3000
    vae_batch: int = 16
    vae_lr: float = 2e-3
    vae_crop: int = 32
    kl_weight: float = 1e-4
    scenes: int = 24000
    unet_steps: int = 4250
    unet_batch: int = 32
    unet_lr: float = 1e-3
    caption_dropout: float = 0.1
    ema_decay: float = 0.998
    version: int = 4


Log = Callable[[str], None]


def pixels(scenes: list[world.Scene]) -> torch.Tensor:
    """Rendered scenes as a (n, 3, 64, 64) float tensor in [-1, 1]."""
    arr = np.stack([np.asarray(world.render(s)) for s in scenes]).astype(np.float32)
    return torch.from_numpy(arr).permute(0, 3, 1, 2) / 127.5 - 1.0


def train_vae(recipe: Recipe, say: Log, state: Path | None = None):
    """Stage 1: an AutoencoderKL of the tiny models' shape, trained on fresh world images every step. With
    ``state``, a saved state of the same recipe is continued and the state is saved every 100 steps."""
    from diffusers import AutoencoderKL

    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    vae = AutoencoderKL(**_VAE)
    with torch.no_grad():
        # Start the posterior's log-variance low (quant_conv's second half: mean and log-variance are split
        # after it): at the default 0 every latent drowns in unit noise and the decoder learns nothing
        # until the encoder has shrunk it.
        vae.quant_conv.bias[_VAE["latent_channels"] :] -= 6.0
    opt = torch.optim.AdamW(vae.parameters(), lr=recipe.vae_lr, weight_decay=0.0)
    stamp, models = _stamp(recipe, "vae"), {"vae": vae}
    done = load_stage(state, stamp, recipe.vae_steps, models, opt, rng) if state else 0
    sched = _warmup(opt, done)
    if done:
        say(f"vae: continuing from step {done}")
    start, running = time.time(), None
    for step in range(done + 1, recipe.vae_steps + 1):
        x = pixels([world.random_scene(rng) for _ in range(recipe.vae_batch)])
        # A random crop (the VAE is convolutional): a quarter of the work per image, so four times the steps.
        top, left = (int(v) for v in rng.integers(0, world.SIZE - recipe.vae_crop + 1, size=2))
        x = x[:, :, top : top + recipe.vae_crop, left : left + recipe.vae_crop]
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.sample()).sample
        kl = 0.5 * (post.mean.pow(2) + post.var - 1.0 - post.logvar).mean()
        # L1 keeps edges sharp; MSE weighs the big errors (a wrong colour) more, which comes first.
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + recipe.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0 or step == recipe.vae_steps:
            say(f"vae step {step}/{recipe.vae_steps} loss {running:.4f} ({time.time() - start:.0f} s)")
            if state:
                save_stage(state, stamp, step, models, opt, rng)
    vae.eval()
    return vae


@torch.no_grad()
def encode_world(vae, scenes: list[world.Scene], batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The scenes' latent means and standard deviations (unscaled)."""
    means, stds = [], []
    for i in range(0, len(scenes), batch):
        post = vae.encode(pixels(scenes[i : i + batch])).latent_dist
        means.append(post.mean)
        stds.append(post.std)
    return torch.cat(means), torch.cat(stds)


def train_unet(
    recipe: Recipe, mean: torch.Tensor, std: torch.Tensor, captions: list[str], say: Log, every=None, state=None
):
    """Stage 2: UNet + text encoder on the encoded world (``mean``/``std`` already scaled). Returns their EMA
    copies (or, with ``ema_decay`` 0, the trained modules). ``every(step, unet, text_encoder)`` is called
    each 250 steps (partial checkpoints); with ``state`` the stage's state is saved then too, and a saved
    state of the same recipe is continued."""
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(recipe.seed + 1)
    rng = np.random.default_rng(recipe.seed + 1)
    tokenizer = _tokenizer()
    unet = UNet2DConditionModel(**UNET)
    text_encoder = CLIPTextModel(_text_config(tokenizer, "quick_gelu"))
    noise_scheduler = DDPMScheduler(**_SCHEDULER)
    ids = tokenizer(captions, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    empty = tokenizer([""], padding="max_length", max_length=77, return_tensors="pt").input_ids[0]
    params = [*unet.parameters(), *text_encoder.parameters()]
    opt = torch.optim.AdamW(params, lr=recipe.unet_lr, weight_decay=0.0)
    ema_unet, ema_text = copy.deepcopy(unet).eval(), copy.deepcopy(text_encoder).eval()
    ema_params = [*ema_unet.parameters(), *ema_text.parameters()]
    stamp = _stamp(recipe, "unet")
    models = {"unet": unet, "text_encoder": text_encoder, "ema_unet": ema_unet, "ema_text": ema_text}
    done = load_stage(state, stamp, recipe.unet_steps, models, opt, rng) if state else 0
    sched = _warmup(opt, done)
    if done:
        say(f"unet: continuing from step {done}")
    start, running = time.time(), None
    for step in range(done + 1, recipe.unet_steps + 1):
        pick = torch.from_numpy(rng.integers(0, len(captions), size=recipe.unet_batch))
        latents = mean[pick] + std[pick] * torch.randn_like(mean[pick])
        batch_ids = ids[pick].clone()
        batch_ids[torch.from_numpy(rng.random(recipe.unet_batch) < recipe.caption_dropout)] = empty
        noise = torch.randn_like(latents)
        t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (recipe.unet_batch,))
        noisy = noise_scheduler.add_noise(latents, noise, t)
        cond = text_encoder(batch_ids).last_hidden_state
        loss = F.mse_loss(unet(noisy, t, encoder_hidden_states=cond).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        decay = min(recipe.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, [p.detach() for p in params], 1.0 - decay)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0 or step == recipe.unet_steps:
            say(f"unet step {step}/{recipe.unet_steps} loss {running:.4f} ({time.time() - start:.0f} s)")
        if state and (step % 250 == 0 or step == recipe.unet_steps):
            save_stage(state, stamp, step, models, opt, rng)
        if every is not None and step % 250 == 0 and step < recipe.unet_steps:
            every(step, *((unet, text_encoder) if recipe.ema_decay == 0 else (ema_unet, ema_text)))
    # ema_decay 0: the weights as trained (the EMA does not change the training, only what is returned).
    return (unet.eval(), text_encoder.eval()) if recipe.ema_decay == 0 else (ema_unet, ema_text)


def pipeline(vae, unet, text_encoder):
    """The SD1 pipeline of the three trained parts, with the tokenizer and the tiny models' DDPM scheduler."""
    from diffusers import DDPMScheduler, StableDiffusionPipeline

    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(),
        unet=unet,
        scheduler=DDPMScheduler(**_SCHEDULER),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def save_pipeline(pipe, folder: Path, recipe: Recipe, extra: dict | None = None) -> Path:
    """Write the diffusers folder (safetensors) next to ``folder`` and swap it in whole."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    pipe.save_pretrained(tmp, safe_serialization=True)
    info = {"recipe": asdict(recipe), "torch": torch.__version__, **(extra or {})}
    (tmp / MARKER).write_text(json.dumps(info, indent=1) + "\n")
    for path in tmp.rglob("*"):
        if path.is_file():
            path.chmod(0o644)  # safetensors' writer leaves 0600; the shipped files are for everyone to read
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def build_base_model(folder: Path, work: Path, recipe: Recipe = Recipe(), say: Log = log.info) -> Path:
    """Train the base model (reusing a finished VAE stage found in ``work``) and save it as ``folder``.

    Partial UNet checkpoints go to ``work/partial`` every 250 steps, so a long run can be looked at early; the
    stages' states are kept in ``work`` and a run of a longer recipe continues them (the same bits as a run
    from scratch).
    """
    torch.set_num_threads(1)  # the same bits on every run: no thread-count-dependent reductions
    work = Path(work)
    vae = train_vae(recipe, say, state=work / "vae_state")
    scenes = world.random_scenes(recipe.scenes, seed=recipe.seed + 2)
    mean, std = encode_world(vae, scenes)
    scale = float(1.0 / mean.std())
    vae.register_to_config(scaling_factor=scale)
    say(f"latents: std {1 / scale:.3f}, mean posterior std {std.mean():.4f}; scaling_factor {scale:.4f}")
    captions = [world.caption(s) for s in scenes]

    def partial(step, unet, text_encoder):
        # The same weights as a whole run of ``step`` UNet steps (constant learning rate after warmup).
        save_pipeline(pipeline(vae, unet, text_encoder), work / "partial", replace(recipe, unet_steps=step))
        say(f"partial model at step {step}: {work / 'partial'}")

    unet, text_encoder = train_unet(
        recipe, mean * scale, std * scale, captions, say, every=partial, state=work / "unet_state"
    )
    return save_pipeline(pipeline(vae, unet, text_encoder), folder, recipe)


def _stamp(recipe: Recipe, stage: str) -> str:
    """The recipe fields a stage's state depends on, but its step count: a longer run may continue it."""
    fields = asdict(recipe)
    keep = ("seed", "version", "kl_weight", "vae_") if stage == "vae" else tuple(fields)  # the UNet sees the VAE
    return json.dumps({k: v for k, v in fields.items() if k.startswith(keep) and k != f"{stage}_steps"})


def _warmup(opt, done: int = 0, warmup: int = 100):
    """Linear warmup, then constant: the state after N steps does not depend on the planned total, so a
    partial checkpoint at step N is exactly what a run of N steps gives. ``done``: steps already taken."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup), last_epoch=done - 1)
