"""The full-size Flux.1-dev LoRA key layout, on a meta-device transformer (no weights, no download):
every module lorakit trains gets an sd-scripts name, the file's keys go through diffusers' own Flux LoRA
converter onto exactly the modules we trained, and fusing / splitting keeps each module's weight change."""

from __future__ import annotations

import pytest
import torch

from lorakit.lora.flux_keys import bfl_name, diffusers_names, from_diffusers, from_sd_scripts, to_sd_scripts
from lorakit.lora.network import NetworkSettings, find_targets
from lorakit.models.families.base import Components
from lorakit.models.families.flux import Flux

DEV_LAYERS, DEV_SINGLE, WIDTH = 19, 38, 3072


@pytest.fixture(scope="module")
def dev_transformer():
    from diffusers import FluxTransformer2DModel

    with torch.device("meta"):
        return FluxTransformer2DModel(guidance_embeds=True)  # the published FLUX.1-dev config (the defaults)


def _family(transformer, train_blocks="all") -> Flux:
    family = Flux(Components(transformer, None, [None, None], [None, None], None))
    family.train_blocks = train_blocks
    return family


def _network_tensors(transformer, family, rank=1, seed=0) -> tuple[dict, dict]:
    """Random rank-``rank`` factors for every module the network would train, by kohya (diffusers) name."""
    spec = family.lora_targets(True, False)["unet"]
    targets = find_targets(transformer, spec, NetworkSettings(rank=rank, alpha=rank))
    g = torch.Generator().manual_seed(seed)
    tensors, paths = {}, {}
    for t in targets:
        layer = transformer.get_submodule(t.path)
        tensors[f"{t.kohya}.lora_down.weight"] = torch.randn(rank, layer.in_features, generator=g)
        tensors[f"{t.kohya}.lora_up.weight"] = torch.randn(layer.out_features, rank, generator=g)
        tensors[f"{t.kohya}.alpha"] = torch.tensor(float(rank))
        paths[t.kohya] = t.path
    return tensors, paths


def _expected_sd_scripts(blocks: str = "all") -> set[str]:
    names = set()
    if blocks in ("all", "double"):
        for i in range(DEV_LAYERS):
            for side in ("img", "txt"):
                names |= {
                    f"lora_unet_double_blocks_{i}_{side}_{m}" for m in ("attn_qkv", "attn_proj", "mlp_0", "mlp_2")
                }
    if blocks in ("all", "single"):
        for i in range(DEV_SINGLE):
            names |= {f"lora_unet_single_blocks_{i}_linear1", f"lora_unet_single_blocks_{i}_linear2"}
    return names


@pytest.mark.parametrize("blocks", ["all", "single", "double"])
def test_every_trained_module_has_its_sd_scripts_name(dev_transformer, blocks):
    tensors, _ = _network_tensors(dev_transformer, _family(dev_transformer, blocks))
    out = to_sd_scripts(tensors)
    names = {k.split(".")[0] for k in out}
    assert names == _expected_sd_scripts(blocks)  # modulation layers left out, as sd-scripts' default
    if blocks != "single":
        assert out["lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight"].shape == (3 * WIDTH, 3)
        assert out["lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight"].shape == (3, WIDTH)
        assert float(out["lora_unet_double_blocks_0_img_attn_qkv.alpha"]) == pytest.approx(3.0)
    if blocks != "double":
        assert out["lora_unet_single_blocks_37_linear1.lora_up.weight"].shape == (7 * WIDTH, 4)


def test_sd_scripts_names_of_every_bfl_module():
    """Both directions of the name table, including the modulation layers sd-scripts can be asked to train."""
    assert bfl_name("lora_unet_transformer_blocks_3_attn_to_k") == ("lora_unet_double_blocks_3_img_attn_qkv", 1, 3)
    assert (
        bfl_name("lora_unet_transformer_blocks_0_norm1_context_linear")[0] == "lora_unet_double_blocks_0_txt_mod_lin"
    )
    assert bfl_name("lora_unet_single_transformer_blocks_9_proj_mlp") == ("lora_unet_single_blocks_9_linear1", 3, 4)
    assert (
        bfl_name("lora_unet_single_transformer_blocks_9_norm_linear")[0] == "lora_unet_single_blocks_9_modulation_lin"
    )
    assert diffusers_names("lora_unet_single_blocks_2_linear1") == [
        "lora_unet_single_transformer_blocks_2_attn_to_q",
        "lora_unet_single_transformer_blocks_2_attn_to_k",
        "lora_unet_single_transformer_blocks_2_attn_to_v",
        "lora_unet_single_transformer_blocks_2_proj_mlp",
    ]
    assert diffusers_names("lora_unet_double_blocks_5_txt_attn_proj") == [
        "lora_unet_transformer_blocks_5_attn_to_add_out"
    ]
    assert bfl_name("lora_te1_text_model_encoder_layers_0_mlp_fc1") is None


def test_our_file_goes_through_diffusers_converter(dev_transformer):
    """diffusers' _convert_kohya_flux_lora_to_diffusers reads every key of our file, onto the modules we trained,
    with the same factors (our fused qkv / linear1 are block-diagonal, which it splits back exactly)."""
    from diffusers.loaders.lora_conversion_utils import _convert_kohya_flux_lora_to_diffusers

    tensors, paths = _network_tensors(dev_transformer, _family(dev_transformer), rank=2)
    converted = _convert_kohya_flux_lora_to_diffusers(dict(to_sd_scripts(tensors)))
    modules = {k.removeprefix("transformer.").rsplit(".lora_", 1)[0] for k in converted}
    assert modules == set(paths.values())
    for name, path in paths.items():
        down = converted[f"transformer.{path}.lora_A.weight"]
        up = converted[f"transformer.{path}.lora_B.weight"]
        # alpha = rank: the converter's scale is 1, so the factors themselves must come back (comparing the
        # factors, not the 3072-wide products, keeps this fast)
        assert torch.equal(down, tensors[f"{name}.lora_down.weight"]), path
        assert torch.equal(up, tensors[f"{name}.lora_up.weight"]), path


def _delta(factors: dict, name: str) -> torch.Tensor:
    down, up = factors[f"{name}.lora_down.weight"], factors[f"{name}.lora_up.weight"]
    alpha = float(factors.get(f"{name}.alpha", torch.tensor(float(down.shape[0]))))
    return (up.float() @ down.float()) * alpha / down.shape[0]


def test_fuse_then_split_keeps_every_change():
    g = torch.Generator().manual_seed(1)
    width, rank = 8, 2
    names = ["attn_to_q", "attn_to_k", "attn_to_v", "proj_mlp"]
    tensors = {}
    for i, n in enumerate(names):
        out = width * 4 if n == "proj_mlp" else width
        key = f"lora_unet_single_transformer_blocks_0_{n}"
        tensors[f"{key}.lora_down.weight"] = torch.randn(rank, width, generator=g)
        tensors[f"{key}.lora_up.weight"] = torch.randn(out, rank, generator=g)
        tensors[f"{key}.alpha"] = torch.tensor(1.0 + i)  # different scales per part
    fused = to_sd_scripts(tensors)
    whole = _delta(fused, "lora_unet_single_blocks_0_linear1")
    parts = torch.cat([_delta(tensors, f"lora_unet_single_transformer_blocks_0_{n}") for n in names])
    assert torch.allclose(whole, parts, atol=1e-5)
    back = from_sd_scripts(fused, {"num_attention_heads": 2, "attention_head_dim": 4})
    for n in names:
        key = f"lora_unet_single_transformer_blocks_0_{n}"
        assert back[f"{key}.lora_down.weight"].shape[0] == rank  # block-diagonal: each part its own rank again
        assert torch.allclose(_delta(back, key), _delta(tensors, key), atol=1e-5)


def test_split_a_plain_sd_scripts_qkv():
    """An sd-scripts LoRA (one shared down for q, k, v) splits into three modules with that down."""
    g = torch.Generator().manual_seed(2)
    file = {
        "lora_unet_double_blocks_1_img_attn_qkv.lora_down.weight": torch.randn(4, 8, generator=g),
        "lora_unet_double_blocks_1_img_attn_qkv.lora_up.weight": torch.randn(24, 4, generator=g),
        "lora_unet_double_blocks_1_img_attn_qkv.alpha": torch.tensor(2.0),
    }
    whole = _delta(file, "lora_unet_double_blocks_1_img_attn_qkv")
    parts = from_sd_scripts(file)
    got = torch.cat([_delta(parts, f"lora_unet_transformer_blocks_1_attn_{p}") for p in ("to_q", "to_k", "to_v")])
    assert torch.allclose(got, whole, atol=1e-5)
    assert parts["lora_unet_transformer_blocks_1_attn_to_k.lora_down.weight"].shape == (4, 8)


def test_diffusers_layout_round_trip():
    g = torch.Generator().manual_seed(4)
    diffusers = {
        "transformer.transformer_blocks.0.attn.to_q.lora_A.weight": torch.randn(2, 8, generator=g),
        "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": torch.randn(8, 2, generator=g),
        "transformer.single_transformer_blocks.0.proj_out.lora_A.weight": torch.randn(2, 40, generator=g),
        "transformer.single_transformer_blocks.0.proj_out.lora_B.weight": torch.randn(8, 2, generator=g),
    }
    kohya = from_diffusers(diffusers)
    assert "lora_unet_single_blocks_0_linear2.lora_down.weight" in kohya
    q = kohya["lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight"][:8]
    assert torch.allclose(
        q @ kohya["lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight"],
        diffusers["transformer.transformer_blocks.0.attn.to_q.lora_B.weight"]
        @ diffusers["transformer.transformer_blocks.0.attn.to_q.lora_A.weight"],
    )
