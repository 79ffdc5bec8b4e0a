"""Loading Flux: the tiny diffusers folder (found as Flux, dev), a transformer-only file in the original BFL
layout (as flux1-dev.safetensors ships) with the rest from a folder, dev vs schnell from the weights, and the
refusals: Fill / Canny-Depth / Kontext models, and a folder without T5."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from lorakit.errors import ModelError
from lorakit.models.families.flux_loading import inspect_file
from lorakit.models.loading import detect_family, load_model


def _bfl_state_dict(transformer) -> dict[str, torch.Tensor]:
    """The diffusers Flux transformer's weights in the original BFL layout (the inverse of diffusers' converter)."""
    sd = {k: v.detach().clone() for k, v in transformer.state_dict().items()}
    out: dict[str, torch.Tensor] = {}

    def take(dst: str, src: str) -> None:
        for kind in ("weight", "bias"):
            if f"{src}.{kind}" in sd:
                out[f"{dst}.{kind}"] = sd.pop(f"{src}.{kind}")

    def fuse(dst: str, srcs: list[str]) -> None:
        for kind in ("weight", "bias"):
            out[f"{dst}.{kind}"] = torch.cat([sd.pop(f"{s}.{kind}") for s in srcs])

    tte = "time_text_embed"
    for bfl, dif in (
        ("time_in", "timestep_embedder"),
        ("vector_in", "text_embedder"),
        ("guidance_in", "guidance_embedder"),
    ):
        take(f"{bfl}.in_layer", f"{tte}.{dif}.linear_1")
        take(f"{bfl}.out_layer", f"{tte}.{dif}.linear_2")
    take("txt_in", "context_embedder")
    take("img_in", "x_embedder")
    for i in range(transformer.config.num_layers):
        b, d = f"double_blocks.{i}", f"transformer_blocks.{i}"
        take(f"{b}.img_mod.lin", f"{d}.norm1.linear")
        take(f"{b}.txt_mod.lin", f"{d}.norm1_context.linear")
        fuse(f"{b}.img_attn.qkv", [f"{d}.attn.to_q", f"{d}.attn.to_k", f"{d}.attn.to_v"])
        fuse(f"{b}.txt_attn.qkv", [f"{d}.attn.add_q_proj", f"{d}.attn.add_k_proj", f"{d}.attn.add_v_proj"])
        for side, q, k in (("img", "norm_q", "norm_k"), ("txt", "norm_added_q", "norm_added_k")):
            out[f"{b}.{side}_attn.norm.query_norm.scale"] = sd.pop(f"{d}.attn.{q}.weight")
            out[f"{b}.{side}_attn.norm.key_norm.scale"] = sd.pop(f"{d}.attn.{k}.weight")
        take(f"{b}.img_attn.proj", f"{d}.attn.to_out.0")
        take(f"{b}.txt_attn.proj", f"{d}.attn.to_add_out")
        take(f"{b}.img_mlp.0", f"{d}.ff.net.0.proj")
        take(f"{b}.img_mlp.2", f"{d}.ff.net.2")
        take(f"{b}.txt_mlp.0", f"{d}.ff_context.net.0.proj")
        take(f"{b}.txt_mlp.2", f"{d}.ff_context.net.2")
    for i in range(transformer.config.num_single_layers):
        b, d = f"single_blocks.{i}", f"single_transformer_blocks.{i}"
        take(f"{b}.modulation.lin", f"{d}.norm.linear")
        fuse(f"{b}.linear1", [f"{d}.attn.to_q", f"{d}.attn.to_k", f"{d}.attn.to_v", f"{d}.proj_mlp"])
        take(f"{b}.linear2", f"{d}.proj_out")
        out[f"{b}.norm.query_norm.scale"] = sd.pop(f"{d}.attn.norm_q.weight")
        out[f"{b}.norm.key_norm.scale"] = sd.pop(f"{d}.attn.norm_k.weight")
    take("final_layer.linear", "proj_out")
    for kind in ("weight", "bias"):  # diffusers keeps (scale, shift) where BFL keeps (shift, scale)
        scale, shift = sd.pop(f"norm_out.linear.{kind}").chunk(2, dim=0)
        out[f"final_layer.adaLN_modulation.1.{kind}"] = torch.cat([shift, scale])
    assert not sd, f"unconverted: {sorted(sd)[:5]}"
    return {f"model.diffusion_model.{k}": v for k, v in out.items()}


@pytest.fixture(scope="module")
def flux_files(tiny_flux, tmp_path_factory):
    """(dev file, schnell file) in BFL layout; the schnell one is the dev one without the guidance embedder."""
    from diffusers import FluxTransformer2DModel

    root = tmp_path_factory.mktemp("flux_files")
    transformer = FluxTransformer2DModel.from_pretrained(tiny_flux, subfolder="transformer")
    dev = _bfl_state_dict(transformer)
    save_file(dev, str(root / "flux1-dev-tiny.safetensors"))
    schnell = {k: v for k, v in dev.items() if "guidance_in" not in k}
    save_file(schnell, str(root / "flux1-schnell-tiny.safetensors"))
    return root / "flux1-dev-tiny.safetensors", root / "flux1-schnell-tiny.safetensors"


def test_folder_is_found_and_loaded_as_flux_dev(tiny_flux):
    assert detect_family(tiny_flux) == "flux"
    family = load_model(tiny_flux)
    assert family.name == "flux" and family.is_dev
    assert family.base_model_version == "flux1"
    assert type(family.components.text_encoders[1]).__name__ == "T5EncoderModel"


def test_single_transformer_file_loads_with_the_rest_from_a_folder(tiny_flux, flux_files):
    dev_file, schnell_file = flux_files
    assert inspect_file(dev_file) == {"variant": "dev", "in_channels": 64, "double": 2, "single": 2}
    assert inspect_file(schnell_file)["variant"] == "schnell"
    from_folder = load_model(tiny_flux)
    from_file = load_model(dev_file, config=str(tiny_flux))
    assert from_file.name == "flux" and from_file.is_dev
    a, b = from_folder.components.unet.state_dict(), from_file.components.unet.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], msg=key)
    schnell = load_model(schnell_file, config=str(tiny_flux))
    assert not schnell.is_dev and schnell.base_model_version == "flux1-schnell"


def test_single_file_without_a_folder_says_what_is_missing(flux_files):
    with pytest.raises(ModelError, match="only the Flux transformer") as info:
        load_model(flux_files[0])
    assert "architecture_config" in info.value.fix


@pytest.mark.parametrize("channels,what", [(384, "Fill"), (128, "Canny/Depth")])
def test_fill_and_control_models_are_refused(tmp_path, channels, what):
    tensors = {
        "double_blocks.0.img_attn.qkv.weight": torch.zeros(6, 2),
        "img_in.weight": torch.zeros(2, channels),
        "guidance_in.in_layer.weight": torch.zeros(2, 2),
    }
    path = tmp_path / "flux1-variant.safetensors"
    save_file(tensors, str(path))
    with pytest.raises(ModelError, match=what):
        load_model(path, config=str(tmp_path))


def test_kontext_folder_is_refused(tiny_flux, tmp_path):
    folder = tmp_path / "kontext"
    shutil.copytree(tiny_flux, folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = "FluxKontextPipeline"
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="Kontext"):
        load_model(folder)


def test_missing_t5_is_a_clear_error(tiny_flux, tmp_path):
    folder = tmp_path / "no_t5"
    shutil.copytree(tiny_flux, folder, ignore=shutil.ignore_patterns("text_encoder_2", "tokenizer_2"))
    with pytest.raises(ModelError, match="T5-XXL") as info:
        load_model(folder)
    assert "text_encoder_2" in info.value.fix


def test_tiny_flux_by_name(tmp_path):
    from lorakit.train.setup import resolve_model_source

    folder, family = resolve_model_source("tiny:flux", tmp_path)
    assert family == "flux" and detect_family(folder) == "flux"
    config = json.loads((folder / "transformer" / "config.json").read_text())
    t5 = json.loads((folder / "text_encoder_2" / "config.json").read_text())
    clip = json.loads((folder / "text_encoder" / "config.json").read_text())
    vae = json.loads((folder / "vae" / "config.json").read_text())
    width = config["num_attention_heads"] * config["attention_head_dim"]
    assert len({width, t5["d_model"], clip["hidden_size"]}) == 3  # every part its own width
    assert config["joint_attention_dim"] == t5["d_model"] and config["pooled_projection_dim"] == clip["hidden_size"]
    assert vae["latent_channels"] == 16 and vae["shift_factor"] == pytest.approx(0.1159)


def test_t5_attention_mask_hides_the_padding(tiny_flux):
    """apply_t5_attn_mask: T5 and the transformer's joint attention ignore padding, so the prediction does not
    depend on how far the caption is padded; without it, it does."""
    family = load_model(tiny_flux)
    noisy = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0.6])

    def predict(length: int, mask: bool) -> torch.Tensor:
        family.t5_max_length, family.apply_t5_attn_mask = length, mask
        with torch.no_grad():
            return family.predict(noisy, t, family.encode_prompts(["kitbot, robot cat"]))

    torch.testing.assert_close(predict(16, True), predict(32, True), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(predict(16, False), predict(32, False), atol=1e-4)
