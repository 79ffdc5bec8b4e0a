"""Detection of LoRA files written by our own engine (lorakit.lora.kohya) from the tiny SD1/SD2/SDXL models."""

from __future__ import annotations

import pytest

from lorakit.models.detect import detect
from lorakit.models.library import verify


@pytest.mark.slow  # builds the tiny models
@pytest.mark.parametrize(
    ("family_name", "kind"), [("sd1", "lora"), ("sd1", "locon"), ("sd2", "lora"), ("sdxl", "lora")]
)
def test_engine_written_loras_are_recognised(tmp_path, tiny_model, family_name, kind):
    from lorakit.lora.kohya import save_lora_file, training_metadata
    from lorakit.lora.network import NetworkSettings, build_network
    from lorakit.models.loading import load_model

    family = load_model(tiny_model(family_name))
    settings = NetworkSettings(kind=kind, rank=4, alpha=2.0, conv_rank=4, conv_alpha=1.0)
    network = build_network({"unet": family.components.unet}, family.lora_targets(True, False), settings)
    metadata = training_metadata(family=family, network=network, settings={}, dataset={}, model_name="tiny")
    with_metadata = save_lora_file(tmp_path / "with.safetensors", network.kohya_state_dict(), metadata)
    info = detect(with_metadata)
    assert (info.kind, info.family, info.network, info.rank, info.alpha) == ("lora", family_name, kind, 4, 2.0)
    assert info.base_source == "metadata (ss_base_model_version)"
    assert info.prediction == ("v" if family_name == "sd2" else "epsilon")  # the tiny SD2 is a 768-v model
    assert verify(with_metadata)["ok"]  # its sshs_model_hash matches its tensor data

    bare = save_lora_file(tmp_path / "bare.safetensors", network.kohya_state_dict())
    info = detect(bare)
    assert (info.kind, info.network, info.rank) == ("lora", kind, 4)
    if family_name == "sdxl":  # without metadata, kohya's SGM module names still say SDXL
        assert (info.family, info.base_source) == ("sdxl", "keys (SGM UNet names)")
