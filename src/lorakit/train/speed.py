"""Speed settings applied to the loaded model: the attention implementation, channels-last and torch.compile.

``memory.attention``: "sdpa" (PyTorch's scaled_dot_product_attention, diffusers' default; fast everywhere),
"xformers" (xformers' memory-efficient kernels; refused before loading when the package is missing),
"mem_eff" (sliced attention: the attention computed in slices, slower but with less peak memory; the
nearest diffusers counterpart of sd-scripts' --mem_eff_attn), "none" (plain attention: the classic
matmul-softmax-matmul, for debugging or comparing).

``memory.channels_last``: the UNet's and the VAE's 4-D weights in channels-last (NHWC) memory format, so
convolutions run on the GPU's tensor-core NHWC kernels without a layout change around each one; the
activations follow the weights. The same numbers within float rounding; usually faster convolutions on
NVIDIA GPUs in fp16/bf16 (no gain, sometimes a loss, on CPUs).

``memory.torch_compile``: compiles the UNet in place (``nn.Module.compile``) with the backend in
``LORAKIT_COMPILE_BACKEND`` (default "inductor"): a slower start, then faster steps on a GPU.
"""

from __future__ import annotations

import importlib.util
import os

from lorakit.errors import ConfigError

COMPILE_BACKEND_ENV = "LORAKIT_COMPILE_BACKEND"


def check_speed_settings(cfg) -> None:
    """Refuse settings this machine cannot honour, before anything loads."""
    if str(cfg.memory.attention) == "xformers" and importlib.util.find_spec("xformers") is None:
        raise ConfigError(
            "memory.attention = 'xformers' needs the xformers package, which is not installed.",
            "Use memory.attention = 'sdpa' (as fast on PyTorch 2), or install xformers for your PyTorch and GPU.",
            field="memory.attention",
        )


# Flux's attention goes through diffusers' attention dispatcher: the memory.attention values by backend name.
FLUX_BACKENDS = {"sdpa": "native", "xformers": "xformers", "mem_eff": "_native_efficient", "none": "_native_math"}


def set_attention(unet, kind: str) -> None:
    """Switch every attention layer of ``unet`` to the ``memory.attention`` implementation."""
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    if type(unet).__name__ == "FluxTransformer2DModel":  # (its processors are Flux's own: keep them)
        unet.set_attention_backend(FLUX_BACKENDS.get(kind, "native"))
        return
    if kind == "xformers":
        unet.enable_xformers_memory_efficient_attention()
    elif kind == "mem_eff":
        unet.set_attention_slice("auto")
    elif kind == "none":
        unet.set_attn_processor(AttnProcessor())
    else:
        unet.set_attn_processor(AttnProcessor2_0())


def compile_unet(unet) -> None:
    """Compile ``unet`` in place: the same module object, its calls go through torch.compile."""
    unet.compile(backend=os.environ.get(COMPILE_BACKEND_ENV, "inductor"))


def to_channels_last(*modules) -> None:
    """Store the 4-D weights of ``modules`` in channels-last memory format (in place)."""
    import torch

    for module in modules:
        module.to(memory_format=torch.channels_last)


def apply_speed_settings(cfg, family) -> None:
    unet = family.components.unet
    set_attention(unet, str(cfg.memory.attention))
    if cfg.memory.channels_last:
        to_channels_last(unet, family.components.vae)
    if cfg.memory.torch_compile:
        compile_unet(unet)
