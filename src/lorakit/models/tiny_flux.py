"""The built-in tiny Flux.1 model (``tiny:flux``): a FluxPipeline of random, seeded weights, no download.

Real classes and module names at a few hundred kilobytes, every part its own width so a mix-up shows as a
shape error: the transformer is 48 wide (3 heads of 16; rope axes 4 + 6 + 6 = 16), CLIP-L 32 (its pooled
output feeds the transformer's ``pooled_projections``), T5 24 (``joint_attention_dim``), the VAE has 16 latent
channels with Flux's scaling and shift factors. The transformer is "dev"-shaped (guidance embedding on); the
T5 tokenizer is a small Unigram ``tokenizer.json`` built here from the tiny CLIP word list, so nothing is
downloaded. Built by :func:`lorakit.models.tiny.build_tiny_pipeline` for ``family="flux"``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

# Flux.1's VAE: 16 latent channels, latents = (z - shift) * scale (ae.safetensors / diffusers' vae config).
FLUX_SCALING_FACTOR = 0.3611
FLUX_SHIFT_FACTOR = 0.1159

TRANSFORMER = dict(
    patch_size=1,
    in_channels=64,  # 16 latent channels packed 2x2
    num_layers=2,
    num_single_layers=2,
    attention_head_dim=16,
    num_attention_heads=3,
    joint_attention_dim=24,  # T5's width
    pooled_projection_dim=32,  # CLIP-L's width
    guidance_embeds=True,
    axes_dims_rope=(4, 6, 6),
)
T5 = dict(d_model=24, d_kv=8, d_ff=40, num_layers=2, num_heads=3, relative_attention_num_buckets=8)
VAE = dict(
    block_out_channels=(16, 16, 32, 32),
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    latent_channels=16,
    layers_per_block=1,
    norm_num_groups=8,
    sample_size=64,
    scaling_factor=FLUX_SCALING_FACTOR,
    shift_factor=FLUX_SHIFT_FACTOR,
    use_quant_conv=False,
    use_post_quant_conv=False,
)
SCHEDULER = dict(
    num_train_timesteps=1000,
    shift=3.0,
    use_dynamic_shifting=True,
    base_shift=0.5,
    max_shift=1.15,
    base_image_seq_len=256,
    max_image_seq_len=4096,
)
T5_MAX_LENGTH = 64


def t5_tokenizer():
    """A T5TokenizerFast over a small Unigram vocabulary: the tiny CLIP word list whole, the rest in letters."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import T5TokenizerFast

    from lorakit.models.tiny import VOCAB_DIR

    words = []
    for line in (VOCAB_DIR / "words.txt").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words += line.split()
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789,.!?()-'\":;")
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    seen = {v for v, _ in vocab}
    for piece, score in [(f"▁{w}", -3.0) for w in words] + [("▁", -6.0)] + [(c, -8.0) for c in letters]:
        if piece not in seen:
            seen.add(piece)
            vocab.append((piece, score))
    tok = Tokenizer(models.Unigram(vocab, unk_id=2))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tokenizer.json"
        tok.save(str(path))
        (Path(folder) / "tokenizer_config.json").write_text(
            json.dumps({"model_max_length": T5_MAX_LENGTH, "extra_ids": 0}), encoding="utf-8"
        )
        return T5TokenizerFast.from_pretrained(
            folder, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0
        )


def build_flux_pipeline():
    """The tiny FluxPipeline (weights from the global torch RNG: call it inside a seeded fork)."""
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel, T5Config, T5EncoderModel

    from lorakit.models.tiny import _text_config, _tokenizer

    clip_tokenizer = _tokenizer()
    t5_tok = t5_tokenizer()
    t5 = T5EncoderModel(
        T5Config(vocab_size=len(t5_tok), pad_token_id=0, eos_token_id=1, feed_forward_proj="gated-gelu", **T5)
    )
    return FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(**SCHEDULER),
        vae=AutoencoderKL(**VAE),
        text_encoder=CLIPTextModel(_text_config(clip_tokenizer, "quick_gelu")),
        tokenizer=clip_tokenizer,
        text_encoder_2=t5,
        tokenizer_2=t5_tok,
        transformer=FluxTransformer2DModel(**TRANSFORMER),
    )
