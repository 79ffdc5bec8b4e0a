"""Model families on the tiny models: registry, detection, prompt/image encoding, prediction, loading rules."""

from __future__ import annotations

import pytest
import torch

from lorakit.errors import ConfigError, ModelError
from lorakit.models import families
from lorakit.models.loading import detect_family, load_model


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_registry_names_and_aliases():
    assert families.names() == ["flux", "sd1", "sd2", "sdxl"]
    assert families.get("SD15").name == "sd1"
    with pytest.raises(ConfigError, match="Unknown model family"):
        families.get("sd9")


def test_detects_the_tiny_models(tiny_sd1, tiny_sdxl, tiny_flux):
    assert detect_family(tiny_sd1) == "sd1"
    assert detect_family(tiny_sdxl) == "sdxl"
    assert detect_family(tiny_flux) == "flux"  # (it has text_encoder_2 too, but a transformer, no UNet)


def test_sd1_encodes_prompts_images_and_predicts(tiny_sd1):
    family = load_model(tiny_sd1)
    assert family.name == "sd1" and family.prediction_type == "epsilon"
    cond = family.encode_prompts(["kitbot, robot cat", ""])
    assert cond["encoder_hidden_states"].shape == (2, 77, 32)
    skipped = family.encode_prompts(["kitbot, robot cat", ""], clip_skip=2)
    assert not torch.allclose(skipped["encoder_hidden_states"], cond["encoder_hidden_states"])
    # Long prompts: 150 tokens = two 75-token chunks, joined as sd-scripts does (BOS + 150 + EOS).
    long = family.encode_prompts(["kitbot " * 100], max_token_length=150)
    assert long["encoder_hidden_states"].shape == (1, 152, 32)
    short = family.encode_prompts(["kitbot"], max_token_length=150)["encoder_hidden_states"]
    plain = family.encode_prompts(["kitbot"])["encoder_hidden_states"]
    torch.testing.assert_close(short[:, :76], plain[:, :76])  # the first chunk is the ordinary encoding
    latents = family.encode_images(torch.zeros(1, 3, 64, 48))
    assert latents.shape == (1, 4, 8, 6)
    out = family.predict(torch.randn(2, 4, 8, 8), torch.tensor([10, 900]), cond)
    assert out.shape == (2, 4, 8, 8)


def test_sdxl_pooled_and_size_conditioning(tiny_sdxl):
    family = load_model(tiny_sdxl)
    assert family.base_model_version == "sdxl_base_v1-0"
    cond = family.encode_prompts(["kitbot, robot cat"])
    assert cond["encoder_hidden_states"].shape == (1, 77, 64)  # both encoders side by side
    assert cond["text_embeds"].shape == (1, 32)
    noisy, t = torch.randn(1, 4, 8, 8), torch.tensor([500])
    a = family.predict(noisy, t, cond, torch.tensor([[64.0, 64, 0, 0, 64, 64]]))
    b = family.predict(noisy, t, cond, torch.tensor([[128.0, 96, 16, 0, 64, 64]]))
    assert not torch.allclose(a, b)  # original size and crop reach the UNet


def test_sd2_v_prediction_from_the_scheduler(tiny_sd1):
    family = load_model(tiny_sd1, family="sd2", v_prediction=True)
    assert family.prediction_type == "v_prediction"
    assert family.base_model_version == "sd_v2_v" and family.is_v2


def test_lora_targets_and_prefixes(tiny_sdxl):
    family = load_model(tiny_sdxl)
    specs = family.lora_targets(train_unet=True, train_text_encoder=True)
    assert {name: s.prefix for name, s in specs.items()} == {"unet": "lora_unet", "te1": "lora_te1", "te2": "lora_te2"}
    assert specs["unet"].kohya_name("down_blocks.1.attentions.0.proj_in") == "lora_unet_input_blocks_4_1_proj_in"


def test_wrong_family_for_the_model_is_a_clear_error(tiny_sd1):
    with pytest.raises(ModelError, match="asks for Stable Diffusion XL") as caught:
        load_model(tiny_sd1, family="sdxl")
    assert "'sd1'" in caught.value.fix


def test_loading_refuses_pickle_and_missing_models(tmp_path):
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"\x80\x04 pretend pickle")
    with pytest.raises(ModelError, match="pickle") as caught:
        load_model(ckpt)
    assert "safetensors" in caught.value.fix
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nothing")
