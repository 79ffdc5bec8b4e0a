"""Module names across layouts: kohya's underscored names, dotted module paths, and the two UNet namings.

kohya replaces every "." of a module path with "_" (REFERENCE.md), so going back needs to know which
underscores belong to a name (``to_q``, ``transformer_blocks``): :func:`dotted` keeps the known compound
names of the SD1/SDXL/Flux UNets and the CLIP text encoders whole.

SD1/SD2 kohya files name UNet modules as diffusers does (``down_blocks.1.attentions.0``); SDXL files and
original checkpoints use the SGM/LDM layout (``input_blocks.4.1``). The mapping itself is
``lorakit.lora.keys`` (config-driven, so it serves SD1, SDXL and the tiny test UNets alike).
"""

from __future__ import annotations

# Names that contain "_" in the SD1/SDXL UNets (diffusers and SGM), CLIP text encoders and Flux.
COMPOUNDS = {
    # diffusers UNet
    "down_blocks",
    "up_blocks",
    "mid_block",
    "transformer_blocks",
    "to_q",
    "to_k",
    "to_v",
    "to_out",
    "proj_in",
    "proj_out",
    "time_emb_proj",
    "conv_shortcut",
    "conv_in",
    "conv_out",
    "conv_norm_out",
    "time_embedding",
    "linear_1",
    "linear_2",
    "add_embedding",
    "add_time_proj",
    "time_proj",
    # SGM / LDM UNet
    "input_blocks",
    "middle_block",
    "output_blocks",
    "in_layers",
    "out_layers",
    "emb_layers",
    "skip_connection",
    "time_embed",
    "label_emb",
    # CLIP (transformers)
    "text_model",
    "self_attn",
    "q_proj",
    "k_proj",
    "v_proj",
    "out_proj",
    "layer_norm1",
    "layer_norm2",
    "final_layer_norm",
    "text_projection",
    "token_embedding",
    "position_embedding",
    # Flux (BFL names)
    "double_blocks",
    "single_blocks",
    "img_attn",
    "txt_attn",
    "img_mlp",
    "txt_mlp",
    "img_mod",
    "txt_mod",
    "img_in",
    "txt_in",
    "time_in",
    "vector_in",
    "guidance_in",
    "final_layer",
    "in_layer",
    "out_layer",
    "adaLN_modulation",
}
_LONGEST = max(name.count("_") for name in COMPOUNDS) + 1


def dotted(underscored: str) -> str:
    """``down_blocks_0_attentions_0_proj_in`` -> ``down_blocks.0.attentions.0.proj_in`` (no kohya prefix)."""
    tokens = underscored.split("_")
    parts: list[str] = []
    i = 0
    while i < len(tokens):
        for width in range(min(_LONGEST, len(tokens) - i), 0, -1):
            candidate = "_".join(tokens[i : i + width])
            if width == 1 or candidate in COMPOUNDS:
                parts.append(candidate)
                i += width
                break
    return ".".join(parts)


def underscored(dotted_path: str) -> str:
    return dotted_path.replace(".", "_")


# The block structure of the real UNets: enough for ``lorakit.lora.keys`` to map diffusers <-> SGM names.
SD1_UNET = {
    "layers_per_block": 2,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
}
SDXL_UNET = {
    "layers_per_block": 2,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
}


def unet_layout(arch: str, unet_config: dict | None = None) -> dict:
    """The UNet config used for name mapping: the model's own when given (tiny test models), else the real one."""
    if unet_config is not None:
        return {k: unet_config[k] for k in ("layers_per_block", "down_block_types", "up_block_types")}
    return SDXL_UNET if arch == "sdxl" else SD1_UNET


def diffusers_to_sgm(path: str, layout: dict) -> str:
    """A diffusers UNet module path in SGM/LDM naming: ``down_blocks.1.attentions.0.x`` -> ``input_blocks.4.1.x``."""
    from lorakit.lora.keys import sdxl_unet_to_sgm

    return sdxl_unet_to_sgm(path, layout)


def sgm_to_diffusers(path: str, layout: dict) -> str:
    """The inverse of :func:`diffusers_to_sgm`."""
    from lorakit.lora.keys import sgm_to_sdxl_unet

    return sgm_to_sdxl_unet(path, layout)


_SGM_FIRST = {"input_blocks", "middle_block", "output_blocks", "time_embed", "label_emb", "out"}


def is_sgm_name(path: str) -> bool:
    # By whole first component: diffusers' "time_embedding" starts with SGM's "time_embed".
    return path.split(".", 1)[0] in _SGM_FIRST
