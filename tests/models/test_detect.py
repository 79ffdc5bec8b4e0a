"""Detection from headers of full-size model layouts (sparse files), adapters, and bad files."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import torch

from lorakit.errors import ModelError
from lorakit.models.detect import detect

from . import layouts


def _meta(shapes):
    return {k: torch.empty(v, device="meta") for k, v in shapes.items()}


def _diffusers_state(cls, **config):
    with torch.device("meta"):
        model = cls(**config)
    return model, {k: tuple(v.shape) for k, v in model.state_dict().items()}


SDXL_UNET = dict(
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(320, 640, 1280),
    transformer_layers_per_block=(1, 2, 10),
    cross_attention_dim=2048,
    addition_embed_type="text_time",
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
    use_linear_projection=True,
    attention_head_dim=(5, 10, 20),
)
REFINER_UNET = SDXL_UNET | dict(
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(384, 768, 1536, 1536),
    transformer_layers_per_block=4,
    cross_attention_dim=1280,
    projection_class_embeddings_input_dim=2560,
    attention_head_dim=(6, 12, 24, 24),
)
UNET_CONFIGS = {
    "sd1": dict(cross_attention_dim=768),
    "sd2": dict(cross_attention_dim=1024, use_linear_projection=True, attention_head_dim=(5, 10, 20, 20)),
    "sdxl": SDXL_UNET,
    "sdxl_refiner": REFINER_UNET,
}


@pytest.mark.slow  # imports diffusers
@pytest.mark.parametrize("family", list(UNET_CONFIGS))
def test_unet_layouts_match_diffusers(family):
    """Our original-layout UNet keys convert (with diffusers' converter) to the released model exactly."""
    from diffusers import UNet2DConditionModel
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

    model, want = _diffusers_state(UNet2DConditionModel, **UNET_CONFIGS[family])
    converted = convert_ldm_unet_checkpoint(_meta(layouts.ldm_unet(**layouts.UNETS[family])), dict(model.config))
    assert {k: tuple(v.shape) for k, v in converted.items()} == want


@pytest.mark.slow  # imports diffusers
@pytest.mark.parametrize("dev", [True, False])
def test_flux_and_sd3_layouts_match_diffusers(dev):
    from diffusers import FluxTransformer2DModel, SD3Transformer2DModel
    from diffusers.loaders import single_file_utils as sfu

    _, want = _diffusers_state(FluxTransformer2DModel, guidance_embeds=dev)
    converted = sfu.convert_flux_transformer_checkpoint_to_diffusers(_meta(layouts.flux_transformer(dev)))
    assert {k: tuple(v.shape) for k, v in converted.items()} == want
    if dev:  # SD3 medium, once
        sd3 = dict(sample_size=128, num_layers=24, attention_head_dim=64, num_attention_heads=24)
        sd3 |= dict(joint_attention_dim=4096, caption_projection_dim=1536, pooled_projection_dim=2048)
        _, want = _diffusers_state(SD3Transformer2DModel, **sd3, pos_embed_max_size=192)
        converted = sfu.convert_sd3_transformer_checkpoint_to_diffusers(_meta(layouts.sd3_transformer()))
        assert {k: tuple(v.shape) for k, v in converted.items()} == want


CHECKPOINTS = [
    # name, shapes, metadata, expected (kind, family, variant, prediction), approximate parameters
    ("sd15.safetensors", lambda: layouts.sd_checkpoint("sd1"), None, ("checkpoint", "sd1", None, "epsilon"), 1.07e9),
    (
        "sd21-768.safetensors",
        lambda: layouts.sd_checkpoint("sd2"),
        {"modelspec.architecture": "stable-diffusion-v2-768-v"},
        ("checkpoint", "sd2", None, "v"),
        1.3e9,
    ),
    (
        "sd15-inpainting.safetensors",
        lambda: layouts.ldm_unet(**layouts.UNETS["sd1"], in_ch=9) | layouts.ldm_vae(),
        None,
        ("checkpoint", "sd1", "inpaint", "epsilon"),
        0.94e9,
    ),
    ("sd2-unknown.safetensors", lambda: layouts.sd_checkpoint("sd2"), None, ("checkpoint", "sd2", None, None), 1.3e9),
    (
        "sdxl.safetensors",
        lambda: layouts.sd_checkpoint("sdxl"),
        None,
        ("checkpoint", "sdxl", "base", "epsilon"),
        3.5e9,
    ),
    (
        "refiner.safetensors",
        lambda: layouts.sd_checkpoint("sdxl_refiner"),
        None,
        ("checkpoint", "sdxl", "refiner", "epsilon"),
        3.04e9,
    ),
    (
        "noob-vpred.safetensors",
        lambda: layouts.sd_checkpoint("sdxl") | {"v_pred": ()},
        None,
        ("checkpoint", "sdxl", "base", "v"),
        3.5e9,
    ),
    (
        "flux1-dev.safetensors",
        lambda: layouts.flux_transformer(True),
        None,
        ("transformer", "flux", "dev", "flow"),
        11.9e9,
    ),
    (
        "f.safetensors",
        lambda: layouts.flux_transformer(False, "model.diffusion_model.") | layouts.ldm_vae("vae.", 16),
        None,
        ("checkpoint", "flux", "schnell", "flow"),
        11.9e9,
    ),
    ("sd3.safetensors", lambda: layouts.sd3_transformer(), None, ("transformer", "sd3", "medium", "flow"), 2.08e9),
    (
        "sd35m.safetensors",
        lambda: layouts.sd3_transformer(mmdit_x=True, qk_norm=True),
        None,
        ("transformer", "sd3", "3.5-medium", "flow"),
        2.3e9,
    ),
    (
        "sd35l.safetensors",
        lambda: layouts.sd3_transformer(2432, 38, qk_norm=True),
        None,
        ("transformer", "sd3", "3.5-large", "flow"),
        8.1e9,
    ),
    ("vae.safetensors", lambda: layouts.ldm_vae(""), None, ("vae", "sd1", "4-channel", None), 83e6),
    ("ae.safetensors", lambda: layouts.ldm_vae("", 16), None, ("vae", "flux", "16-channel", None), 83e6),
    ("clip_l.safetensors", lambda: layouts.clip_text(""), None, ("text_encoder", None, "clip-l", None), 123e6),
    (
        "clip_g.safetensors",
        lambda: layouts.open_clip_text("", 1280, 32),
        None,
        ("text_encoder", None, "clip-g", None),
        695e6,
    ),
]


@pytest.mark.parametrize(
    ("name", "make", "metadata", "expected", "params"), CHECKPOINTS, ids=[c[0] for c in CHECKPOINTS]
)
def test_full_size_layouts(tmp_path, name, make, metadata, expected, params):
    path = layouts.write_sparse(tmp_path / name, make(), "F16", metadata)
    info = detect(path)
    assert (info.kind, info.family, info.variant, info.prediction) == expected
    assert info.parameters == pytest.approx(params, rel=0.03)
    assert info.precision == "fp16" and info.file_size == path.stat().st_size
    assert info.file_size > 2 * info.parameters - 1  # the real size: 2 bytes per fp16 parameter
    assert info.to_dict()["label"]


def test_checkpoint_reports_components_and_mixed_precision(tmp_path):
    shapes = layouts.sd_checkpoint("sdxl")
    path = tmp_path / "sdxl.safetensors"
    layouts.write_sparse(path, shapes, "BF16")
    info = detect(path)
    assert info.components == ["unet", "vae", "text_encoder", "text_encoder_2"]
    assert info.label == "SDXL base checkpoint"
    assert info.dtypes == {"bf16": info.parameters}


def test_sd2_prediction_is_explained_when_unknown(tmp_path):
    info = detect(layouts.write_sparse(tmp_path / "sd2.safetensors", layouts.sd_checkpoint("sd2")))
    assert info.prediction is None and any("v-prediction" in n for n in info.notes)
    named = detect(layouts.write_sparse(tmp_path / "sd21-768-v.safetensors", layouts.sd_checkpoint("sd2")))
    assert (named.prediction, named.prediction_source) == ("v", "file name")


def test_diffusers_folders(tmp_path):
    from diffusers import UNet2DConditionModel

    folder = tmp_path / "sdxl-refiner"
    (folder / "unet").mkdir(parents=True)
    (folder / "scheduler").mkdir()
    index = {"_class_name": "StableDiffusionXLImg2ImgPipeline", "_diffusers_version": "0.31.0"}
    index |= {"text_encoder": [None, None], "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"]}
    index |= {"unet": ["diffusers", "UNet2DConditionModel"], "requires_aesthetics_score": True}
    (folder / "model_index.json").write_text(json.dumps(index))
    (folder / "scheduler" / "scheduler_config.json").write_text('{"prediction_type": "epsilon"}')
    _, shapes = _diffusers_state(UNet2DConditionModel, **REFINER_UNET)
    layouts.write_sparse(folder / "unet" / "diffusion_pytorch_model.safetensors", shapes)
    info = detect(folder)
    assert (info.kind, info.family, info.variant, info.prediction) == ("diffusers", "sdxl", "refiner", "epsilon")
    assert info.components == ["text_encoder_2", "unet"] and info.parameters == pytest.approx(2.3e9, rel=0.05)
    # The bare UNet file of that folder is detected from the diffusers layout too.
    unet = detect(folder / "unet" / "diffusion_pytorch_model.safetensors")
    assert (unet.kind, unet.family, unet.variant) == ("unet", "sdxl", "refiner")

    flux = tmp_path / "flux-schnell"
    (flux / "transformer").mkdir(parents=True)
    (flux / "model_index.json").write_text('{"_class_name": "FluxPipeline", "transformer": ["diffusers", "X"]}')
    (flux / "transformer" / "config.json").write_text('{"guidance_embeds": false}')
    (flux / "transformer" / "diffusion_pytorch_model.bin").write_bytes(b"PK\x03\x04")
    info = detect(flux)
    assert (info.family, info.variant, info.prediction, info.safe) == ("flux", "schnell", "flow", False)
    with pytest.raises(ModelError, match=r"model_index\.json"):
        detect(tmp_path)


def _lora_shapes(prefix_dims, rank=16, conv=False):
    shapes = {}
    for name, (out, inp) in prefix_dims.items():
        shapes[f"{name}.lora_down.weight"] = (rank, inp)
        shapes[f"{name}.lora_up.weight"] = (out, rank)
        shapes[f"{name}.alpha"] = ()
    if conv:
        shapes["lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"] = (rank, 320, 3, 3)
        shapes["lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight"] = (320, rank, 1, 1)
    return shapes


SD1_LORA = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k": (320, 768),
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj": (768, 768),
}
SDXL_LORA = {
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k": (640, 2048),
    "lora_te1_text_model_encoder_layers_0_self_attn_q_proj": (768, 768),
    "lora_te2_text_model_encoder_layers_0_self_attn_q_proj": (1280, 1280),
}
ADAPTERS = [
    ("sd1", _lora_shapes(SD1_LORA), {}, ("lora", 16, "sd1")),
    (
        "sd2",
        _lora_shapes({"lora_unet_up_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k": (640, 1024)}),
        {},
        ("lora", 16, "sd2"),
    ),
    ("sdxl", _lora_shapes(SDXL_LORA, rank=32), {}, ("lora", 32, "sdxl")),
    ("locon", _lora_shapes(SD1_LORA, rank=8, conv=True), {}, ("locon", 8, "sd1")),
    ("flux", _lora_shapes({"lora_unet_double_blocks_0_img_attn_qkv": (9216, 3072)}, 4), {}, ("lora", 4, "flux")),
    ("sd3", _lora_shapes({"lora_unet_joint_blocks_0_x_block_attn_qkv": (4608, 1536)}, 4), {}, ("lora", 4, "sd3")),
    (
        "loha",
        {"lora_unet_x.hada_w1_a": (320, 8), "lora_unet_x.hada_w1_b": (8, 768), "lora_unet_x.hada_w2_a": (320, 8)},
        {"ss_base_model_version": "sdxl_base_v1-0"},
        ("loha", 8, "sdxl"),
    ),
    (
        "lokr",
        {"lora_unet_x.lokr_w1": (16, 16), "lora_unet_x.lokr_w2_a": (20, 4), "lora_unet_x.lokr_w2_b": (4, 48)},
        {"ss_network_module": "lycoris.kohya", "ss_network_args": '{"algo": "lokr"}', "ss_v2": "True"},
        ("lokr", 4, "sd2"),
    ),
    (
        "peft-flux",
        {"transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight": (8, 3072)},
        {},
        ("lora", 8, "flux"),
    ),
    (
        "dora",
        _lora_shapes(SD1_LORA) | {"lora_te_text_model_encoder_layers_0_self_attn_q_proj.dora_scale": (1, 768)},
        {"modelspec.architecture": "stable-diffusion-v1/lora"},
        ("dora", 16, "sd1"),
    ),
]


@pytest.mark.parametrize(("name", "shapes", "metadata", "expected"), ADAPTERS, ids=[a[0] for a in ADAPTERS])
def test_adapters(tmp_path, name, shapes, metadata, expected):
    metadata = metadata | {"ss_network_alpha": "8.0"}
    info = detect(layouts.write_sparse(tmp_path / f"{name}.safetensors", shapes, "F32", metadata))
    assert (info.network, info.rank, info.family) == expected
    assert info.kind == "lora" and info.alpha == 8.0 and info.base_source


def test_embeddings(tmp_path):
    info = detect(layouts.write_sparse(tmp_path / "e.safetensors", {"clip_l": (4, 768), "clip_g": (4, 1280)}))
    assert (info.kind, info.family) == ("embedding", "sdxl")
    info = detect(layouts.write_sparse(tmp_path / "e1.safetensors", {"emb_params": (2, 768)}))
    assert (info.kind, info.family) == ("embedding", "sd1")


def _write_header(path, header_bytes: bytes, length: int | None = None, data: bytes = b""):
    path.write_bytes((length if length is not None else len(header_bytes)).to_bytes(8, "little") + header_bytes + data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"abc") and p, "only 3 bytes"),
        (lambda p: _write_header(p, b"{}", length=10**12), "far beyond"),
        (lambda p: _write_header(p, b'{"a": 1', length=100), "needs 108 bytes"),
        (lambda p: _write_header(p, b"{not json}"), "not readable JSON"),
        (lambda p: _write_header(p, b"[1, 2]"), "not a JSON object"),
        (lambda p: _write_header(p, b'{"w": {"dtype": "F16"}}'), "malformed"),
        (
            lambda p: _write_header(p, b'{"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}}', data=b"1234"),
            "truncated",
        ),
        (lambda p: p.write_bytes(b"<!DOCTYPE html><html>Sign in</html>") and p, "web page"),
    ],
    ids=["tiny", "huge-header", "short-header", "bad-json", "not-object", "malformed", "truncated", "html"],
)
def test_corrupt_files_give_clear_errors(tmp_path, make, message):
    path = make(tmp_path / "bad.safetensors")
    with pytest.raises(ModelError, match=message) as caught:
        detect(path)
    assert caught.value.fix


def test_pickles_are_reported_unsafe_and_never_loaded(tmp_path, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("detection must not unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    buffer = io.BytesIO()
    torch.save({"state_dict": {"w": torch.ones(2)}}, buffer)  # a real zip checkpoint
    (tmp_path / "model.ckpt").write_bytes(buffer.getvalue())
    (tmp_path / "old.pt").write_bytes(pickle.dumps({"w": 1}, protocol=2))
    for name in ("model.ckpt", "old.pt"):
        info = detect(tmp_path / name)
        assert (info.kind, info.safe) == ("pickle", False) and "arbitrary code" in info.notes[0]
    assert any("data.pkl" in n for n in detect(tmp_path / "model.ckpt").notes)
    with zipfile.ZipFile(tmp_path / "z.bin", "w") as z:
        z.writestr("x.txt", "no pickle")
    assert detect(tmp_path / "z.bin").kind == "pickle"


def test_real_safetensors_file_round_trip(tmp_path):
    """A file written by the safetensors library itself (not our sparse writer)."""
    from safetensors.torch import save_file

    shapes = _lora_shapes(SDXL_LORA, rank=4)
    tensors = {k: torch.zeros(v) for k, v in shapes.items()}
    save_file(tensors, str(tmp_path / "x.safetensors"), {"ss_network_dim": "4", "ss_network_alpha": "2"})
    info = detect(tmp_path / "x.safetensors")
    assert (info.kind, info.family, info.rank, info.alpha, info.precision) == ("lora", "sdxl", 4, 2.0, "fp32")
    assert info.parameters == sum(t.numel() for t in tensors.values())
