"""A short SDXL run: buckets with size conditioning, LoCon, both text encoders with their own learning
rates, long prompts; the file has SGM UNet names and lora_te1/lora_te2 modules. And a short SD2 v run."""

from __future__ import annotations

import pytest

from lorakit.events import Emitter
from lorakit.lora.kohya import load_lora_file
from lorakit.train.run import train

from .conftest import make_dataset

pytestmark = pytest.mark.slow


def test_sdxl_locon_with_both_text_encoders(tmp_path, tiny_config, tiny_sdxl):
    data = make_dataset(tmp_path / "data", count=4, size=(96, 64))  # a 3:2 image: a non-square bucket
    cfg = tiny_config(
        data,
        model__pretrained_model_name_or_path=str(tiny_sdxl),
        model__family="sdxl",
        dataset__enable_bucket=True,
        dataset__resolution=128,
        dataset__min_bucket_reso=64,
        dataset__max_bucket_reso=256,
        dataset__bucket_reso_steps=32,
        network__conv_dim=2,
        network__conv_alpha=1.0,
        learning__text_encoder_lr=5e-4,
        learning__text_encoder_2_lr=2e-4,
        captions__max_token_length=150,
        noise__min_snr_gamma=5.0,
    )
    seen = []
    result = train(cfg, tmp_path / "run", Emitter(callbacks=[seen.append]))

    steps = [e.data for e in seen if e.type == "step"]
    assert len(steps) == result["steps"] == 4
    assert steps[0]["lr"] == {"unet": 1e-3, "te1": 5e-4, "te2": 2e-4}
    lora = load_lora_file(result["lora"])
    prefixes = {m.split("_")[1] for m in lora.modules}
    assert prefixes == {"unet", "te1", "te2"}
    assert "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q" in lora.modules
    assert "lora_unet_input_blocks_1_0_in_layers_2" in lora.modules  # LoCon on a resnet conv, SGM name
    assert "lora_te2_text_model_encoder_layers_0_mlp_fc1" in lora.modules
    assert lora.metadata["ss_base_model_version"] == "sdxl_base_v1-0"
    assert lora.metadata["ss_network_args"] == '{"conv_dim": "2", "conv_alpha": "1.0"}'
    assert '"resolution": [160, 96]' in lora.metadata["ss_bucket_info"]  # 96×64 images, 128² area


def test_sd2_v_prediction_run(tmp_path, tiny_config, tiny_sd2):
    """The tiny SD2 (detected, not named) trains against the v target and says so in the metadata tools read."""
    cfg = tiny_config(
        model__pretrained_model_name_or_path=str(tiny_sd2),
        model__family="auto",
        schedule__max_train_steps=2,
        schedule__max_train_epochs=None,
    )
    result = train(cfg, tmp_path / "run")
    lora = load_lora_file(result["lora"])
    meta = lora.metadata
    assert result["steps"] == 2
    assert meta["ss_base_model_version"] == "sd_v2_v"
    assert meta["ss_v2"] == "True" and meta["ss_v_parameterization"] == "True"
    assert meta["modelspec.prediction_type"] == "v"
    assert meta["modelspec.architecture"] == "stable-diffusion-v2-768-v/lora"
    # The UNet's cross-attention reads the 64-wide SD2 text encoder (SD1's is 32).
    assert (
        lora.tensors["lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight"].shape[1]
        == 64
    )
