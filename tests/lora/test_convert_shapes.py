"""SD1 LoRAs convert to every layout for every UNet shape lorakit trains (the tiny SD1 UNet, whose first
block has no attention, and the full-size SD1.5 UNet), without being told the model's config."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.lora.convert import convert_lora, read_any
from lorakit.lora.keys import fit_layout, sdxl_unet_to_sgm
from lorakit.lora.modules import LoraFormatError, from_tensors, write_lora
from lorakit.lora.naming import SD1_UNET

SD15_UNET = {  # runwayml/stable-diffusion-v1-5 unet/config.json, the parts that shape the UNet
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": [320, 640, 1280, 1280],
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    "cross_attention_dim": 768,
    "attention_head_dim": 8,
}
ATTENTION = ("attn1", "attn2", "proj_in", "proj_out", "ff.net")


@pytest.fixture(scope="module")
def sd15_unet():
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):  # the real shape, no memory and nothing downloaded
        return UNet2DConditionModel(**SD15_UNET)


@pytest.fixture(scope="module")
def tiny_unet(tiny_sd1):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel.from_pretrained(str(tiny_sd1 / "unet"))


def _lora_for(unet, only_attention: bool) -> dict[str, torch.Tensor]:
    """Rank-1 factors of each Linear/Conv2d (shapes from the module, values from the module's index)."""
    tensors = {}
    for i, (path, module) in enumerate(unet.named_modules()):
        if not isinstance(module, torch.nn.Linear | torch.nn.Conv2d):
            continue
        if only_attention and not any(word in path for word in ATTENTION):
            continue
        out_features, in_features = module.weight.shape[:2]
        kernel = tuple(module.weight.shape[2:])
        name = "lora_unet_" + path.replace(".", "_")
        tensors[f"{name}.lora_down.weight"] = torch.full((1, in_features, *kernel), 0.01 * (i % 7 + 1))
        tensors[f"{name}.lora_up.weight"] = torch.full((out_features, 1, *(1,) * len(kernel)), 0.1)
        tensors[f"{name}.alpha"] = torch.tensor(1.0)
    return tensors


@pytest.mark.parametrize("only_attention", [True, False], ids=["attention", "every-layer"])
@pytest.mark.parametrize("shape", ["tiny", "sd15"])
def test_sd1_lora_converts_to_comfyui_and_back_for_every_shape(tmp_path, shape, only_attention, tiny_unet, sd15_unet):
    unet = tiny_unet if shape == "tiny" else sd15_unet
    config = dict(unet.config)
    tensors = _lora_for(unet, only_attention)
    source = tmp_path / "sd1.safetensors"
    write_lora(source, tensors, {"ss_base_model_version": "sd_v1"})
    comfy = convert_lora(source, tmp_path / "comfy.safetensors", "comfyui")  # no unet config given
    written = load_file(comfy)
    # Each module under the SGM name the model's own config gives it (the names ComfyUI looks up).
    modules = {k.removeprefix("lora_unet_").rsplit(".", 2)[0] for k in tensors}
    paths = [p for p, m in unet.named_modules() if p.replace(".", "_") in modules]
    expected = {f"diffusion_model.{sdxl_unet_to_sgm(p, config)}.lora_up.weight" for p in paths}
    assert {k for k in written if k.endswith("lora_up.weight")} == expected
    back = read_any(comfy)
    assert set(back.modules) == set(from_tensors(tensors).modules)
    for name, module in from_tensors(tensors).modules.items():
        assert torch.equal(back.modules[name].tensors["lora_down.weight"], module.tensors["lora_down.weight"])
    for layout, out in (("peft", tmp_path / "peft"), ("diffusers", tmp_path / "d.safetensors")):
        convert_lora(source, out, layout)
        assert set(read_any(out).modules) == set(from_tensors(tensors).modules)


def test_layout_from_names_matches_the_models_config(tiny_unet):
    paths = [p for p, m in tiny_unet.named_modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]
    fitted = fit_layout(paths, SD1_UNET)
    assert fitted["down_block_types"] == list(tiny_unet.config.down_block_types)
    assert fitted["up_block_types"] == list(tiny_unet.config.up_block_types)
    assert fit_layout(["down_blocks.0.attentions.0.proj_in"], SD1_UNET) == SD1_UNET  # the real one when it fits


def test_cli_converts_a_tiny_sd1_lora_to_comfyui(tmp_path, tiny_unet):
    source = tmp_path / "tiny.safetensors"
    write_lora(source, _lora_for(tiny_unet, True), {"ss_base_model_version": "sd_v1"})
    out = tmp_path / "comfy.safetensors"
    result = CliRunner().invoke(app, ["lora", "convert", str(source), "--to", "comfyui", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "diffusion_model.output_blocks.0.1.proj_in.lora_up.weight" in load_file(out)


def test_names_no_layout_can_hold_are_a_format_error(tmp_path):
    tensors = {
        "lora_unet_down_blocks_0_norms_0.lora_down.weight": torch.ones(1, 4),
        "lora_unet_down_blocks_0_norms_0.lora_up.weight": torch.ones(4, 1),
    }
    source = tmp_path / "odd.safetensors"
    write_lora(source, tensors, {"ss_base_model_version": "sd_v1"})
    with pytest.raises(LoraFormatError, match="do not fit any UNet layout"):
        convert_lora(source, tmp_path / "o.safetensors", "comfyui")
