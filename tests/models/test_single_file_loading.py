"""Base models from single-file checkpoints (A1111/Civitai ``.safetensors``, original SD key layout).

The tiny SD1 folder is written as a single file by the same layout code the LoRA tools test with
(``single_file_checkpoint`` in tests/conftest.py), then read back by ``load_model`` through diffusers'
single-file loader, offline, with the folder as its layout.

SDXL is covered in test_single_file_training.py, with a tiny SDXL whose text encoders differ in width (diffusers
tells them apart by width, and the standard tiny SDXL's are both 32 wide).
"""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import save_file

from lorakit.errors import ModelError
from lorakit.models.loading import load_model


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def sd1_checkpoint(tmp_path, tiny_sd1, single_file_checkpoint):
    """The tiny SD1 model as one ``.safetensors`` in the original layout (UNet, VAE, text encoder)."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_sd1))
    tensors = single_file_checkpoint(pipe, whole=True)
    path = tmp_path / "tiny-sd1.safetensors"
    save_file(tensors, str(path))
    return path, tensors


def _assert_same_weights(loaded, expected):
    got, want = loaded.state_dict(), expected.state_dict()
    assert set(got) == set(want)
    for key, value in want.items():
        assert torch.equal(got[key], value), key


def test_sd1_single_file_loads_the_folders_weights(offline, tiny_sd1, sd1_checkpoint):
    path, _ = sd1_checkpoint
    from_file = load_model(path, config=tiny_sd1)
    from_folder = load_model(tiny_sd1)
    assert from_file.name == from_folder.name == "sd1"
    a, b = from_file.components, from_folder.components
    _assert_same_weights(a.unet, b.unet)
    _assert_same_weights(a.vae, b.vae)
    assert len(a.text_encoders) == 1
    _assert_same_weights(a.text_encoders[0], b.text_encoders[0])
    assert a.noise_scheduler.config == b.noise_scheduler.config
    assert a.tokenizers[0].get_vocab() == b.tokenizers[0].get_vocab()

    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(1, 4, 8, 8, generator=generator)
    image = torch.rand(1, 3, 64, 64, generator=generator) * 2 - 1
    ids = b.tokenizers[0]("a photo of a cat", padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        hidden = [c.text_encoders[0](ids)[0] for c in (a, b)]
        noise = [c.unet(latents, 10, encoder_hidden_states=hidden[0]).sample for c in (a, b)]
        encoded = [c.vae.encode(image).latent_dist.mean for c in (a, b)]
        decoded = [c.vae.decode(latents).sample for c in (a, b)]
    # The weights are equal (checked exactly above); the outputs come from differently laid-out copies of
    # them, and CPU kernels may sum in another order for another layout (1e-6 apart on AVX-512), so the
    # outputs are compared with a tolerance. A wrong weight would move them by far more.
    for pair in (hidden, noise, encoded, decoded):
        torch.testing.assert_close(pair[0], pair[1], rtol=1e-4, atol=1e-5)
    assert noise[0].abs().sum() > 0


def test_single_file_needs_a_complete_layout_folder(offline, tmp_path, tiny_sd1, sd1_checkpoint):
    path, _ = sd1_checkpoint
    # The tiny widths are no standard model's: without a family or a layout, nothing says how to read it.
    with pytest.raises(ModelError, match="cannot tell which architecture") as error:
        load_model(path)
    assert "model.architecture_config" in error.value.fix
    with pytest.raises(ModelError, match="not a diffusers folder") as error:
        load_model(path, config=tmp_path / "missing")
    assert "config=" in error.value.fix
    partial = tmp_path / "partial"
    shutil.copytree(tiny_sd1, partial)
    shutil.rmtree(partial / "text_encoder")
    with pytest.raises(ModelError, match=r"lacks text_encoder/config\.json"):
        load_model(path, config=partial)
    with pytest.raises(ModelError, match="Stable Diffusion XL") as error:
        load_model(path, config=tiny_sd1, family="sdxl")
    assert "config=" in error.value.fix


def test_incomplete_checkpoint_is_refused_plainly(offline, tmp_path, tiny_sd1, sd1_checkpoint):
    _, tensors = sd1_checkpoint
    holed = tmp_path / "holed.safetensors"
    save_file({k: v for k, v in tensors.items() if k != "first_stage_model.quant_conv.weight"}, str(holed))
    with pytest.raises(ModelError, match="lacks some tensors"):
        load_model(holed, config=tiny_sd1)

    # Some checkpoints ship without a VAE: they load with a separate one, and are refused plainly without.
    no_vae = tmp_path / "no-vae.safetensors"
    save_file({k: v for k, v in tensors.items() if not k.startswith("first_stage_model.")}, str(no_vae))
    with pytest.raises(ModelError, match="does not hold every part") as error:
        load_model(no_vae, config=tiny_sd1)
    assert "VAE" in error.value.fix
    model = load_model(no_vae, config=tiny_sd1, vae=tiny_sd1 / "vae")
    _assert_same_weights(model.components.vae, load_model(tiny_sd1).components.vae)
