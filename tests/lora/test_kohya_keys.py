"""Kohya key names on full-size SD1.5 and SDXL UNets (built on the meta device: no memory, no download)."""

from __future__ import annotations

import pytest
import torch

from lorakit.lora.keys import is_sgm_layout, kohya_name, sdxl_unet_to_sgm, sgm_to_sdxl_unet
from lorakit.lora.network import ComponentTargets, NetworkSettings, find_targets
from lorakit.models.families.base import UNET_ATTENTION_BLOCKS, UNET_CONV_BLOCKS

# The published UNet configs (runwayml/stable-diffusion-v1-5, stabilityai/stable-diffusion-xl-base-1.0).
SD15_UNET = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}
SDXL_UNET = {
    "act_fn": "silu",
    "addition_embed_type": "text_time",
    "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256,
    "attention_head_dim": [5, 10, 20],
    "block_out_channels": [320, 640, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 2048,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "projection_class_embeddings_input_dim": 2816,
    "sample_size": 128,
    "transformer_layers_per_block": [1, 2, 10],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "use_linear_projection": True,
}


def _meta_unet(config):
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        return UNet2DConditionModel(**config)


@pytest.fixture(scope="module")
def sd15_unet():
    return _meta_unet(SD15_UNET)


@pytest.fixture(scope="module")
def sdxl_unet():
    return _meta_unet(SDXL_UNET)


def _targets(unet, kind="lora", sgm=False):
    name_path = (lambda p: sdxl_unet_to_sgm(p, unet.config)) if sgm else None
    spec = ComponentTargets("unet", "lora_unet", UNET_ATTENTION_BLOCKS, UNET_CONV_BLOCKS, name_path=name_path)
    return find_targets(unet, spec, NetworkSettings(kind=kind, rank=4, alpha=1, conv_rank=4, conv_alpha=1))


def test_sd15_lora_names_are_diffusers_names(sd15_unet):
    names = {t.kohya for t in _targets(sd15_unet)}
    # 16 attention blocks × (8 attention + 2 feed-forward layers) + proj_in/proj_out each: what sd-scripts writes.
    assert len(names) == 192
    assert "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q" in names
    assert "lora_unet_mid_block_attentions_0_proj_in" in names
    assert "lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_ff_net_2" in names
    assert not is_sgm_layout(names)


def test_sd15_locon_adds_resnet_and_sampler_convs(sd15_unet):
    targets = {t.kohya: t for t in _targets(sd15_unet, kind="locon")}
    assert "lora_unet_down_blocks_0_resnets_0_conv1" in targets
    assert "lora_unet_down_blocks_0_downsamplers_0_conv" in targets
    assert "lora_unet_up_blocks_0_upsamplers_0_conv" in targets
    assert targets["lora_unet_down_blocks_0_resnets_0_time_emb_proj"].rank == 4


def test_sdxl_lora_names_are_sgm_names(sdxl_unet):
    names = {t.kohya for t in _targets(sdxl_unet, sgm=True)}
    # 70 transformer blocks × 10 layers + 11 attention blocks × proj_in/proj_out.
    assert len(names) == 722
    for expected in (
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q",
        "lora_unet_input_blocks_8_1_transformer_blocks_9_ff_net_2",
        "lora_unet_middle_block_1_transformer_blocks_9_attn2_to_out_0",
        "lora_unet_output_blocks_0_1_proj_in",
        "lora_unet_output_blocks_5_1_transformer_blocks_1_attn2_to_k",
    ):
        assert expected in names
    assert all(n.split("_")[2] in ("input", "middle", "output") for n in names)
    assert is_sgm_layout(names)


def test_sdxl_locon_conv_names(sdxl_unet):
    names = {t.kohya for t in _targets(sdxl_unet, kind="locon", sgm=True)}
    for expected in (
        "lora_unet_input_blocks_1_0_in_layers_2",
        "lora_unet_input_blocks_3_0_op",
        "lora_unet_input_blocks_4_0_skip_connection",
        "lora_unet_middle_block_2_out_layers_3",
        "lora_unet_output_blocks_2_2_conv",
        "lora_unet_output_blocks_5_2_conv",
        "lora_unet_output_blocks_8_0_emb_layers_1",
    ):
        assert expected in names


def test_sdxl_mapping_round_trips_for_every_module(sdxl_unet):
    paths = [name for name, _ in sdxl_unet.named_modules() if name and "." in name]
    mapped = 0
    for path in paths:
        try:
            sgm = sdxl_unet_to_sgm(path, sdxl_unet.config)
        except KeyError:
            continue  # containers such as "down_blocks.0" that have no single SGM module
        assert sgm_to_sdxl_unet(sgm, sdxl_unet.config) == path
        mapped += 1
    assert mapped > 1500


def test_sdxl_names_agree_with_diffusers_converter(sdxl_unet):
    """diffusers maps SGM kohya names back to its own: it must land on the modules we started from."""
    from diffusers.loaders.lora_conversion_utils import _maybe_map_sgm_blocks_to_diffusers

    targets = _targets(sdxl_unet, sgm=True)
    state = {f"{t.kohya}.lora_down.weight": i for i, t in enumerate(targets)}
    back = _maybe_map_sgm_blocks_to_diffusers(dict(state), sdxl_unet.config)
    # diffusers renumbers the blocks here and renames the block kinds in a later pass; do that rename.
    renames = {"input_blocks": "down_blocks", "middle_block": "mid_block", "output_blocks": "up_blocks"}
    for old, new in renames.items():
        back = {k.replace(old, new): v for k, v in back.items()}
    expected = {f"{kohya_name('lora_unet', t.path)}.lora_down.weight": i for i, t in enumerate(targets)}
    assert back == expected


def test_text_encoder_prefixes():
    from lorakit.models.families import get

    assert get("sd1").text_encoder_prefixes == ("lora_te",)
    assert get("sdxl").text_encoder_prefixes == ("lora_te1", "lora_te2")
    assert kohya_name("lora_te1", "text_model.encoder.layers.0.self_attn.q_proj") == (
        "lora_te1_text_model_encoder_layers_0_self_attn_q_proj"
    )
