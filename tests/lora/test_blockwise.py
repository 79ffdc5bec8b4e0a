"""Block-wise ranks/alphas (block_dims, conv_block_dims...) and the kohya block numbering, SD1 and SDXL."""

from __future__ import annotations

import pytest

from lorakit.errors import ConfigError
from lorakit.lora.blocks import BlockSettings, block_index
from lorakit.lora.network import NetworkSettings, build_network
from lorakit.models.loading import load_model

# Hand-worked from sd-scripts' get_block_index. SD1 (diffusers names): down_blocks_i resnets/attentions_j →
# 1 + 3i + j, downsamplers → 3 + 3i; mid → 12; up_blocks_i …_j → 13 + 3i + j, upsamplers → 15 + 3i.
# SDXL (SGM names): input_blocks_N → 1 + N, middle_block_N → 10 + N, output_blocks_N → 13 + N.
NAMES = [
    ("lora_unet_down_blocks_0_attentions_0_proj_in", 1),
    ("lora_unet_down_blocks_0_resnets_1_conv1", 2),
    ("lora_unet_down_blocks_0_downsamplers_0_conv", 3),
    ("lora_unet_down_blocks_2_attentions_1_transformer_blocks_0_attn1_to_q", 8),
    ("lora_unet_down_blocks_3_resnets_1_conv2", 11),
    ("lora_unet_mid_block_attentions_0_proj_out", 12),
    ("lora_unet_up_blocks_0_resnets_0_conv1", 13),
    ("lora_unet_up_blocks_0_upsamplers_0_conv", 15),
    ("lora_unet_up_blocks_3_attentions_2_proj_out", 24),
    ("lora_unet_input_blocks_4_1_proj_in", 5),
    ("lora_unet_input_blocks_8_1_transformer_blocks_0_attn1_to_q", 9),
    ("lora_unet_middle_block_0_in_layers_2", 10),
    ("lora_unet_middle_block_1_proj_in", 11),
    ("lora_unet_middle_block_2_out_layers_3", 12),
    ("lora_unet_output_blocks_0_1_proj_in", 13),
    ("lora_unet_output_blocks_8_0_skip_connection", 21),
    ("lora_te_text_model_encoder_layers_0_mlp_fc1", -1),
    ("lora_te2_text_model_encoder_layers_0_self_attn_q_proj", -1),
]


@pytest.mark.parametrize(("name", "block"), NAMES)
def test_block_index_matches_hand_worked_numbers(name, block):
    assert block_index(name) == block


def _ranks(family_name, folder, settings):
    family = load_model(folder)
    network = build_network({"unet": family.components.unet}, family.lora_targets(True, False), settings)
    unet = family.components.unet
    out = {}
    for t in network.targets["unet"]:
        layer = unet.get_submodule(t.path)
        down = layer.lora_A["default"].weight
        scale = layer.scaling["default"]
        out[t.kohya] = (int(down.shape[0]), float(scale), t.alpha, type(layer.base_layer).__name__, layer)
    return out


@pytest.mark.parametrize("family_name", ["sd1", "sdxl"])
def test_block_dims_and_alphas_set_each_module(family_name, tiny_model):
    count = 23 if family_name == "sdxl" else 25
    dims = [(b % 4) + 1 for b in range(count)]  # 1, 2, 3, 4, 1, ...
    alphas = [float(b) + 0.5 for b in range(count)]
    conv_dims = [(b % 3) + 2 for b in range(count)]
    conv_alphas = [float(b) / 2 + 1 for b in range(count)]
    blocks = BlockSettings.build(dims, alphas, conv_dims, conv_alphas, sdxl=family_name == "sdxl")
    settings = NetworkSettings(kind="lora", rank=8, alpha=4.0, blocks=blocks)
    modules = _ranks(family_name, tiny_model(family_name), settings)
    seen_conv = seen_linear = 0
    for name, (rank, scale, alpha, kind, layer) in modules.items():
        block = block_index(name)
        assert 1 <= block < count - (family_name == "sdxl")
        is_3x3 = kind == "Conv2d" and layer.base_layer.kernel_size != (1, 1)
        want_rank, want_alpha = (conv_dims[block], conv_alphas[block]) if is_3x3 else (dims[block], alphas[block])
        assert (rank, alpha) == (want_rank, want_alpha), name
        assert scale == pytest.approx(want_alpha / want_rank), name  # peft applies alpha / rank
        seen_conv += is_3x3
        seen_linear += not is_3x3
    assert seen_conv and seen_linear  # conv_block_dims turned the 3×3 convs on (LoCon) without conv_dim


def test_zero_block_dim_and_zero_lr_weight_build_no_module(tiny_sd1):
    dims = [4] * 25
    dims[12] = 0  # no module in the middle block
    blocks = BlockSettings.build(dims, up_lr_weight=[0.0] + [1.0] * 11, down_lr_weight=[1, 1, 1, 0.05])
    modules = _ranks("sd1", tiny_sd1, NetworkSettings(rank=8, alpha=4.0, blocks=blocks))
    present = {block_index(n) for n in modules}
    assert 12 not in present and 13 not in present
    assert {4, 5, 14, 15} <= present and 3 not in present  # block 3 holds only a 3×3 conv (not trained here)
    with_threshold = BlockSettings.build(dims, down_lr_weight=[1, 1, 1, 1, 0.05], block_lr_zero_threshold=0.1)
    modules = _ranks("sd1", tiny_sd1, NetworkSettings(rank=8, alpha=4.0, blocks=with_threshold))
    assert 4 not in {block_index(n) for n in modules} and 5 in {block_index(n) for n in modules}


def test_alphas_alone_keep_the_network_rank():
    alphas = tuple(float(b) for b in range(25))
    blocks = BlockSettings.build(block_alphas=alphas, conv_block_alphas=alphas, conv_dim=4)
    assert blocks.linear(7, 8, 4.0) == (8, 7.0) and blocks.conv(7, 4, 1.0) == (4, 7.0)
    assert blocks.linear(-1, 8, 4.0) == (8, 4.0)


def test_lr_weights_resolve_to_25_blocks():
    blocks = BlockSettings.build(down_lr_weight=[0.5, 0.25], mid_lr_weight=2.0, up_lr_weight=[0.0] * 12)
    assert blocks.lr_weights == (0.5, 0.25) + (1.0,) * 10 + (2.0,) + (0.0,) * 12
    assert blocks.lr_weight(-1) == 1.0  # text encoder
    assert BlockSettings.build().lr_weights is None


def test_sdxl_lr_weights_resolve_to_23_blocks():
    # sd-scripts: [1.0] + down(9) + mid(3) + up(9) + [1.0]; a single mid value is padded with 1.0.
    blocks = BlockSettings.build(
        down_lr_weight=[0.5], mid_lr_weight=0.25, up_lr_weight=[0.1] * 9, block_lr_zero_threshold=0.2, sdxl=True
    )
    assert blocks.lr_weights == (1.0, 0.5) + (1.0,) * 8 + (0.25, 1.0, 1.0) + (0.0,) * 9 + (1.0,)
    with pytest.raises(ConfigError):
        BlockSettings.build(down_lr_weight=[1.0] * 10, sdxl=True)
    with pytest.raises(ConfigError):
        BlockSettings.build(block_dims=[4] * 25, sdxl=True)


def test_sdxl_blocks_on_the_tiny_model(tiny_sdxl):
    dims = [0] * 23
    dims[5], dims[11], dims[14] = 2, 3, 4  # input_blocks_4, middle_block_1, output_blocks_1
    modules = _ranks(
        "sdxl", tiny_sdxl, NetworkSettings(rank=8, alpha=4.0, blocks=BlockSettings.build(dims, sdxl=True))
    )
    by_block = {}
    for name, (rank, *_rest) in modules.items():
        by_block.setdefault(block_index(name), set()).add(rank)
    assert by_block == {5: {2}, 11: {3}, 14: {4}}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"block_dims": [4] * 24},
        {"block_dims": [4] * 25, "block_alphas": [1.0] * 26},
        {"conv_block_alphas": [1.0] * 25},
        {"down_lr_weight": [1.0] * 13},
    ],
)
def test_wrong_counts_are_refused(kwargs):
    with pytest.raises(ConfigError) as info:
        BlockSettings.build(**kwargs)
    assert info.value.fix


def test_wrong_counts_stop_validation_before_the_model_loads(tiny_sd1):
    from lorakit.config.presets import new_config
    from lorakit.config.validate import validate

    def problems(family, **values):
        source = {"model.pretrained_model_name_or_path": str(tiny_sd1), "model.family": family or "auto"}
        found = validate(new_config("tiny-demo", {**source, **values}), check_files=False).problems
        return [(p.field, p.problem) for p in found if (p.field or "").startswith("network.")]

    assert problems("sd1", **{"network.block_dims": [4] * 25}) == []
    assert problems("sdxl", **{"network.block_dims": [4] * 23}) == []
    assert problems(None, **{"network.block_dims": [4] * 23}) == []  # unknown family: either count
    wrong = problems("sd1", **{"network.block_dims": [4] * 23})
    assert wrong and wrong[0][0] == "network.block_dims" and "25 blocks" in wrong[0][1]
    assert problems("sdxl", **{"network.down_lr_weight": [1.0] * 12})[0][0] == "network.down_lr_weight"
