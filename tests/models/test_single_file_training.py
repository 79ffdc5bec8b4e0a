"""Training from single-file checkpoints, offline: the LoRA equals the one trained from the diffusers folder.

The tiny SD1 and a tiny SDXL whose two text encoders differ in width (32 and 48, so diffusers can tell them
apart as it tells 768 from 1280) are written as one A1111-layout ``.safetensors`` each (``single_file_checkpoint``
in tests/conftest.py), then trained with ``model.architecture_config`` set to the folder (the tiny sizes are no
built-in layout). The built-in layouts are checked against the real architectures' parameter counts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from lorakit.errors import ModelError
from lorakit.lora.kohya import load_lora_file
from lorakit.models.loading import detect_family, load_model
from lorakit.models.single_file import BUILTIN_LAYOUTS, builtin_layout

pytestmark = pytest.mark.slow


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network: the Hub client refuses every download, and any socket use fails the test. The Hub cache is
    an empty folder (the developer's own cache may hold real tokenizers)."""
    import socket

    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def tiny_sdxl_two_widths(tmp_path_factory) -> Path:
    from lorakit.models.loading import quiet_libraries
    from lorakit.models.tiny import build_tiny_sdxl_two_widths

    quiet_libraries()
    folder = tmp_path_factory.mktemp("tiny_sdxl_two_widths") / "model"
    build_tiny_sdxl_two_widths().save_pretrained(folder, safe_serialization=True)
    return folder


def _write_single_file(folder: Path, build, out: Path) -> Path:
    from diffusers import DiffusionPipeline

    tensors = build(DiffusionPipeline.from_pretrained(str(folder)), whole=True)
    save_file(tensors, str(out))
    return out


def _dataset(folder: Path) -> Path:
    subset = folder / "2_kitbot"
    subset.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(subset / f"img_{i}.png")
        (subset / f"img_{i}.txt").write_text(f"kitbot, robot cat, {['red', 'blue'][i]} background\n")
    return folder


def _train(tmp_path: Path, name: str, model: Path, family: str, **extra) -> dict[str, torch.Tensor]:
    from lorakit.config.presets import new_config
    from lorakit.train.run import train

    values = {
        "model.pretrained_model_name_or_path": str(model),
        "model.family": family,
        "dataset.train_data_dir": str(tmp_path / "data"),
        "output.output_dir": str(tmp_path / name),
        "output.output_name": name,
        "schedule.max_train_steps": 2,
        "schedule.max_train_epochs": None,
        "memory.cache_latents": True,
    }
    values.update(extra)
    result = train(new_config("tiny-demo", values), tmp_path / name / "run")
    assert result["steps"] == 2
    return load_lora_file(result["lora"]).tensors


def _assert_same_lora(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    # Same weights, same data, same seed; only the weights' memory layout differs (read from another file),
    # and CPU kernels may sum in another order for it: equal within float tolerance.
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-6, msg=key)
    assert any(not torch.equal(v, torch.zeros_like(v)) for k, v in a.items() if "lora_up" in k)  # it learned


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_single_file_trains_the_same_lora_as_its_folder(
    offline, tmp_path, family, tiny_sd1, tiny_sdxl_two_widths, single_file_checkpoint
):
    folder = tiny_sd1 if family == "sd1" else tiny_sdxl_two_widths
    _dataset(tmp_path / "data")
    checkpoint = _write_single_file(folder, single_file_checkpoint, tmp_path / f"tiny-{family}.safetensors")
    from_folder = _train(tmp_path, "folder", folder, family)
    # family "auto": the family comes from the file's weights; the layout from the folder.
    from_file = _train(tmp_path, "file", checkpoint, "auto", **{"model.architecture_config": str(folder)})
    _assert_same_lora(from_file, from_folder)
    prefixes = {key.split("_")[1] for key in from_file}
    assert prefixes == ({"unet", "te"} if family == "sd1" else {"unet", "te1", "te2"})


def _as_sd2_file(tensors: dict, encoder) -> dict:
    """An SD1-layout checkpoint with its text encoder rewritten as SD 2.x ships it: OpenCLIP under
    ``cond_stage_model.model.``, q/k/v stacked into ``in_proj``."""
    out = {k: v for k, v in tensors.items() if not k.startswith("cond_stage_model.")}
    sd = {k.removeprefix("text_model."): v for k, v in encoder.state_dict().items()}
    for i in range(encoder.config.num_hidden_layers):
        hf, block = f"encoder.layers.{i}.", f"cond_stage_model.model.transformer.resblocks.{i}."
        for leaf in ("weight", "bias"):
            out[f"{block}attn.in_proj_{leaf}"] = torch.cat([sd[f"{hf}self_attn.{x}_proj.{leaf}"] for x in "qkv"])
            for ours, theirs in (("attn.out_proj", "self_attn.out_proj"), ("mlp.c_fc", "mlp.fc1")):
                out[f"{block}{ours}.{leaf}"] = sd[f"{hf}{theirs}.{leaf}"].clone()
            for ours, theirs in (("mlp.c_proj", "mlp.fc2"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2")):
                out[f"{block}{ours}.{leaf}"] = sd[f"{hf}{theirs}.{leaf}"].clone()
    prefix = "cond_stage_model.model."
    out[prefix + "positional_embedding"] = sd["embeddings.position_embedding.weight"].clone()
    out[prefix + "token_embedding.weight"] = sd["embeddings.token_embedding.weight"].clone()
    out[prefix + "ln_final.weight"] = sd["final_layer_norm.weight"].clone()
    out[prefix + "ln_final.bias"] = sd["final_layer_norm.bias"].clone()
    return out


def test_sd2_v_single_file_trains_the_same_lora_as_its_folder(offline, tmp_path, tiny_sd2, single_file_checkpoint):
    """SD 2.x as it ships (OpenCLIP text encoder layout); the tiny SD2 is a 768-v model in miniature."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_sd2))
    checkpoint = tmp_path / "tiny-sd2.safetensors"
    save_file(_as_sd2_file(single_file_checkpoint(pipe, whole=True), pipe.text_encoder), str(checkpoint))
    _dataset(tmp_path / "data")
    from_folder = _train(tmp_path, "folder", tiny_sd2, "sd2-v")
    from_file = _train(tmp_path, "file", checkpoint, "sd2-v", **{"model.architecture_config": str(tiny_sd2)})
    _assert_same_lora(from_file, from_folder)


def test_separate_vae_file_overrides_the_checkpoints(offline, tmp_path, tiny_sd1, single_file_checkpoint):
    from diffusers import StableDiffusionPipeline

    checkpoint = _write_single_file(tiny_sd1, single_file_checkpoint, tmp_path / "tiny-sd1.safetensors")
    other = StableDiffusionPipeline.from_pretrained(str(tiny_sd1))
    with torch.no_grad():
        for param in other.vae.parameters():
            param.add_(0.5)
    # The other VAE as one file, as VAE files ship: the LDM layout without the first_stage_model. prefix.
    tensors = single_file_checkpoint(other, whole=True)
    prefix = "first_stage_model."
    vae_file = tmp_path / "other-vae.safetensors"
    save_file({k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}, str(vae_file))

    model = load_model(checkpoint, config=tiny_sd1, vae=vae_file)
    got, want = model.components.vae.state_dict(), other.vae.state_dict()
    assert set(got) == set(want)
    for key, value in want.items():
        assert torch.equal(got[key], value), key
    # The same file overrides the VAE of a folder too.
    from_folder = load_model(tiny_sd1, vae=vae_file).components.vae.state_dict()
    assert all(torch.equal(from_folder[key], value) for key, value in want.items())


def test_unknown_family_is_refused_plainly(offline, tmp_path):
    odd = tmp_path / "odd.safetensors"
    save_file({"some.weight": torch.zeros(2, 2)}, str(odd))
    with pytest.raises(ModelError, match="cannot tell which architecture") as error:
        load_model(odd)
    assert "model.family" in error.value.fix and "model.architecture_config" in error.value.fix


def test_layout_of_another_size_is_refused_plainly(offline, tmp_path, tiny_sd1, tiny_sd2, single_file_checkpoint):
    checkpoint = _write_single_file(tiny_sd1, single_file_checkpoint, tmp_path / "tiny-sd1.safetensors")
    # The tiny file's widths are no standard model's, so detection gives no family: with the family named and
    # no layout, the built-in SD1 layout (320 wide) is used, and the tiny file is 32 wide.
    with pytest.raises(ModelError, match=r"does not match tiny-sd1\.safetensors: its UNet width is 320") as error:
        load_model(checkpoint, family="sd1")
    assert "model.architecture_config" in error.value.fix and error.value.field == "architecture_config"
    # A folder of the same family but another size (the tiny SD2's text is 64 wide).
    with pytest.raises(ModelError, match="UNet text width is 64, the file's is 32"):
        load_model(checkpoint, config=tiny_sd2, family="sd1")
    with pytest.raises(ModelError, match=r"is not a diffusers folder \(no model_index.json\) nor a built-in layout"):
        load_model(checkpoint, config=tmp_path / "missing")


def test_missing_tokenizer_is_refused_plainly(offline, tmp_path, tiny_sd1, single_file_checkpoint):
    checkpoint = _write_single_file(tiny_sd1, single_file_checkpoint, tmp_path / "tiny-sd1.safetensors")
    layout = tmp_path / "layout"
    shutil.copytree(tiny_sd1, layout, ignore=shutil.ignore_patterns("*.safetensors"))
    shutil.rmtree(layout / "tokenizer")
    with pytest.raises(ModelError, match=r"tokenizer .*not on this computer") as error:
        load_model(checkpoint, config=layout)
    assert "model.architecture_config" in error.value.fix and "huggingface-cli download" in error.value.fix
    # With the tokenizer files back, the configs-only layout (no weights) reads the file.
    shutil.copytree(tiny_sd1 / "tokenizer", layout / "tokenizer")
    model = load_model(checkpoint, config=layout)
    assert model.name == "sd1"


# The built-in layouts must build the real architectures: their parameter counts are the published models'.
_PARAMETERS = {
    "sd1": {"unet": 859_520_964, "vae": 83_653_863, "text_encoder": 123_060_480},
    "sd2": {"unet": 865_910_724, "vae": 83_653_863, "text_encoder": 340_387_840},
    "sd2-v": {"unet": 865_910_724, "vae": 83_653_863, "text_encoder": 340_387_840},
    "sdxl": {"unet": 2_567_463_684, "vae": 83_653_863, "text_encoder": 123_060_480, "text_encoder_2": 694_659_840},
}


@pytest.mark.parametrize("name", BUILTIN_LAYOUTS)
def test_builtin_layouts_build_the_real_architectures(name):
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    layout = builtin_layout(name)
    counts = {}
    with init_empty_weights():  # shapes only, no memory
        counts["unet"] = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(layout / "unet"))
        counts["vae"] = AutoencoderKL.from_config(AutoencoderKL.load_config(layout / "vae"))
        for part, cls in (("text_encoder", CLIPTextModel), ("text_encoder_2", CLIPTextModelWithProjection)):
            if (layout / part).is_dir():
                counts[part] = cls(CLIPTextConfig.from_pretrained(layout / part))
    got = {part: sum(p.numel() for p in module.parameters()) for part, module in counts.items()}
    assert got == _PARAMETERS[name]
    assert detect_family(layout) == ("sd2" if name == "sd2-v" else name)


def _fake_hub_cache(cache: Path, repo: str, files: Path, sub: str | None = None) -> None:
    """``files`` laid out as the Hugging Face cache keeps a downloaded repo (snapshot and refs/main)."""
    snapshot = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / "0123abcd"
    shutil.copytree(files, snapshot / sub if sub else snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("0123abcd")


def test_tokenizers_and_repo_ids_come_from_the_local_hub_cache(
    offline, tmp_path, monkeypatch, tiny_sdxl_two_widths, single_file_checkpoint
):
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    checkpoint = _write_single_file(tiny_sdxl_two_widths, single_file_checkpoint, tmp_path / "tiny-sdxl.safetensors")
    layout = tmp_path / "layout"  # configs only: no weights, no tokenizers
    shutil.copytree(tiny_sdxl_two_widths, layout, ignore=shutil.ignore_patterns("*.safetensors", "tokenizer*"))
    with pytest.raises(ModelError, match=r"The tokenizer \(CLIP vocabulary\)"):
        load_model(checkpoint, config=layout)
    # The SDXL base repo's tokenizers in the cache (here the tiny vocabulary under that name) are used.
    repo = "stabilityai/stable-diffusion-xl-base-1.0"
    _fake_hub_cache(cache, repo, tiny_sdxl_two_widths / "tokenizer", "tokenizer")
    with pytest.raises(ModelError, match=r"The tokenizer_2 \(CLIP vocabulary\)"):
        load_model(checkpoint, config=layout)
    shutil.copytree(
        tiny_sdxl_two_widths / "tokenizer_2",
        next((cache / f"models--{repo.replace('/', '--')}").glob("snapshots/*")) / "tokenizer_2",
    )
    model = load_model(checkpoint, config=layout)
    ids = model.components.tokenizers[1]("kitbot").input_ids
    assert ids == load_model(tiny_sdxl_two_widths).components.tokenizers[1]("kitbot").input_ids

    # A repo id as the base model: its cached diffusers folder, never a download.
    _fake_hub_cache(cache, "someone/tiny-sdxl", tiny_sdxl_two_widths)
    assert load_model("someone/tiny-sdxl").name == "sdxl"
    with pytest.raises(ModelError, match="nor a Hugging Face repo in the local cache") as error:
        load_model("someone/not-downloaded")
    assert "lorakit models download someone/not-downloaded" in error.value.fix


@pytest.mark.parametrize("name", ["sd1", "sdxl"])
def test_builtin_layouts_read_a_checkpoint(
    offline, tmp_path, name, tiny_sd1, tiny_sdxl_two_widths, single_file_checkpoint
):
    """The built-in layout's pipeline index and scheduler, with the tiny parts' sizes, read the tiny file (the
    parts' configs are checked against the real sizes above; real-size weights are too big for a test)."""
    folder = tiny_sd1 if name == "sd1" else tiny_sdxl_two_widths
    checkpoint = _write_single_file(folder, single_file_checkpoint, tmp_path / f"tiny-{name}.safetensors")
    layout = tmp_path / "layout"
    shutil.copytree(builtin_layout(name), layout)
    for part in ("unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2"):
        if (folder / part).is_dir():
            shutil.rmtree(layout / part, ignore_errors=True)
            shutil.copytree(folder / part, layout / part, ignore=shutil.ignore_patterns("*.safetensors"))
    model = load_model(checkpoint, config=layout)
    assert model.name == name
    scheduler = model.components.noise_scheduler.config
    assert (scheduler.beta_schedule, scheduler.prediction_type, scheduler.num_train_timesteps) == (
        "scaled_linear",
        "epsilon",
        1000,
    )
    assert len(model.components.text_encoders) == (1 if name == "sd1" else 2)


def _shapes(state: dict) -> dict:
    # transformers >= 5.6 has no text_model. level in CLIPTextModel; diffusers strips it as needed.
    return {k.removeprefix("text_model."): tuple(v.shape) for k, v in state.items()}


@pytest.mark.parametrize("name", BUILTIN_LAYOUTS)
def test_builtin_layouts_fit_real_checkpoint_keys(tmp_path, name):
    """Real checkpoints' key names and shapes (tests/models/layouts.py, checked against the released models in
    test_detect.py) convert, with diffusers' own converters, to exactly the models the built-in layouts build;
    the layout chosen from the weights of a real-size file is this one, and its sizes pass the check."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from diffusers.loaders import single_file_utils as sfu
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from lorakit.models import single_file

    from . import layouts

    family = "sd2" if name == "sd2-v" else name
    shapes = layouts.sd_checkpoint(family)
    checkpoint = {k: torch.empty(v, device="meta") for k, v in shapes.items()}
    layout = builtin_layout(name)
    unet_config = UNet2DConditionModel.load_config(layout / "unet")
    vae_config = AutoencoderKL.load_config(layout / "vae")
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(unet_config)
        vae = AutoencoderKL.from_config(vae_config)
    assert _shapes(sfu.convert_ldm_unet_checkpoint(checkpoint, unet_config)) == _shapes(unet.state_dict())
    assert _shapes(sfu.convert_ldm_vae_checkpoint(checkpoint, vae_config)) == _shapes(vae.state_dict())

    encoders = [("text_encoder", CLIPTextModel), ("text_encoder_2", CLIPTextModelWithProjection)]
    for part, cls in encoders[: 2 if family == "sdxl" else 1]:
        with torch.device("meta"):
            model = cls(CLIPTextConfig.from_pretrained(layout / part))
        if family == "sd1" or (part == "text_encoder" and family == "sdxl"):
            converted = sfu.convert_ldm_clip_checkpoint(checkpoint)
        else:
            prefix = "cond_stage_model.model." if family == "sd2" else "conditioner.embedders.1.model."
            converted = sfu.convert_open_clip_checkpoint(model, checkpoint, prefix=prefix)
        got, want = _shapes(converted), _shapes(model.state_dict())
        # SD2 uses the penultimate layer of its 24: diffusers' (and our) config keeps 23, the 24th is not read.
        extra = {k for k in set(got) - set(want) if not k.startswith("encoder.layers.23.")}
        assert not extra and not set(want) - set(got), (part, extra, set(want) - set(got))
        assert {k: got[k] for k in want} == want, part

    file = layouts.write_sparse(tmp_path / f"{name}.safetensors", shapes)
    detected, _ = single_file.family_from_weights(file)
    assert single_file.choose_layout(file, None, detected, name == "sd2-v") == layout
    single_file.check_weights_match(file, layout)
    other = builtin_layout("sdxl" if family != "sdxl" else "sd1")
    with pytest.raises(ModelError, match="does not match"):
        single_file.check_weights_match(file, other)


def test_a_file_that_says_it_predicts_v_trains_v(offline, tmp_path, tiny_sdxl_two_widths, single_file_checkpoint):
    """NoobAI-style v-pred SDXL files carry a ``v_pred`` key: the scheduler predicts v unless the config says not."""
    from diffusers import DiffusionPipeline

    tensors = single_file_checkpoint(DiffusionPipeline.from_pretrained(str(tiny_sdxl_two_widths)), whole=True)
    vpred = tmp_path / "tiny-sdxl-vpred.safetensors"
    save_file(tensors | {"v_pred": torch.zeros(0)}, str(vpred))
    plain = _write_single_file(tiny_sdxl_two_widths, single_file_checkpoint, tmp_path / "tiny-sdxl.safetensors")
    assert load_model(vpred, config=tiny_sdxl_two_widths).prediction_type == "v_prediction"
    assert load_model(vpred, config=tiny_sdxl_two_widths, v_prediction=False).prediction_type == "epsilon"
    assert load_model(plain, config=tiny_sdxl_two_widths).prediction_type == "epsilon"
