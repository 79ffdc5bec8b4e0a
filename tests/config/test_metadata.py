"""A config from a LoRA file's ss_* metadata."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from lorakit.config.kohya import import_lora_metadata
from lorakit.config.kohya_metadata import read_safetensors_metadata
from lorakit.errors import ConfigError

METADATA = {
    "ss_network_module": "lycoris.kohya",
    "ss_network_dim": "32",
    "ss_network_alpha": "16.0",
    "ss_network_args": json.dumps({"algo": "lokr", "factor": "8", "conv_dim": "4"}),
    "ss_learning_rate": "0.0002",
    "ss_unet_lr": "0.0002",
    "ss_text_encoder_lr": "5e-05",
    "ss_optimizer": "bitsandbytes.optim.adamw.AdamW8bit(weight_decay=0.01,betas=(0.9, 0.99))",
    "ss_lr_scheduler": "cosine",
    "ss_base_model_version": "sdxl_base_v1-0",
    "ss_resolution": "(1024, 768)",
    "ss_mixed_precision": "bf16",
    "ss_num_epochs": "12",
    "ss_max_train_steps": "2400",
    "ss_seed": "1234",
    "ss_dataset_dirs": json.dumps({"10_ohwx woman": {"n_repeats": 10, "img_count": 20}}),
    "ss_shuffle_caption": "True",
    "ss_keep_tokens": "1",
    "ss_noise_offset": "None",
    "ss_min_snr_gamma": "5.0",
    "ss_sd_model_name": "sd_xl_base_1.0.safetensors",
    "ss_tag_frequency": "{}",
    "ss_flip_aug": "False",
    "ss_something_new": "3",
}


def test_metadata_becomes_a_config():
    result = import_lora_metadata(METADATA)
    cfg = result.config
    assert (cfg.model.family, cfg.model.pretrained_model_name_or_path) == ("sdxl", "sd_xl_base_1.0.safetensors")
    assert (cfg.network.type, cfg.network.dim, cfg.network.alpha, cfg.network.factor) == ("lokr", 32, 16.0, 8)
    assert cfg.network.conv_dim == 4
    assert (cfg.optimizer.optimizer_type, cfg.optimizer.weight_decay, cfg.optimizer.betas) == (
        "AdamW8bit",
        0.01,
        (0.9, 0.99),
    )
    assert (cfg.learning.learning_rate, cfg.learning.text_encoder_lr, cfg.learning.lr_scheduler) == (
        2e-4,
        5e-5,
        "cosine",
    )
    assert cfg.dataset.resolution == (1024, 768) and cfg.memory.mixed_precision == "bf16"
    assert (cfg.schedule.max_train_epochs, cfg.schedule.seed) == (12, 1234)
    assert cfg.noise.noise_offset is None and cfg.noise.min_snr_gamma == 5.0
    assert cfg.captions.shuffle_caption and cfg.captions.keep_tokens == 1
    subset = cfg.dataset.subsets[0]
    assert (subset.image_dir, subset.num_repeats, subset.class_tokens) == (Path("10_ohwx woman"), 10, "ohwx woman")
    notes = " ".join(result.notes)
    assert "ss_something_new" in notes and "folder on this computer" in notes


def test_no_metadata_is_a_clear_error():
    with pytest.raises(ConfigError) as caught:
        import_lora_metadata({"modelspec.title": "x"})
    assert "no sd-scripts training metadata" in caught.value.problem


def _write_safetensors(path: Path, metadata: dict[str, str]) -> None:
    header = json.dumps({"__metadata__": metadata, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\0\0\0\0")


def test_read_header_only(tmp_path):
    path = tmp_path / "lora.safetensors"
    _write_safetensors(path, {"ss_network_dim": "8"})
    assert read_safetensors_metadata(path) == {"ss_network_dim": "8"}
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ConfigError):
        read_safetensors_metadata(tmp_path / "junk.safetensors")
    with pytest.raises(ConfigError):
        read_safetensors_metadata(tmp_path / "missing.safetensors")


def test_ss_datasets_from_a_dataset_config_run():
    datasets = [
        {
            "is_dreambooth": True,
            "batch_size_per_device": 4,
            "resolution": [1024, 1024],
            "enable_bucket": True,
            "min_bucket_reso": 512,
            "max_bucket_reso": 2048,
            "subsets": [
                {
                    "img_count": 20,
                    "num_repeats": 8,
                    "image_dir": "ohwx",
                    "class_tokens": "ohwx woman",
                    "is_reg": False,
                    "flip_aug": False,
                    "shuffle_caption": True,
                    "keep_tokens": 1,
                    "caption_prefix": None,
                },
                {
                    "img_count": 100,
                    "num_repeats": 1,
                    "image_dir": "reg",
                    "class_tokens": "woman",
                    "is_reg": True,
                    "flip_aug": True,
                    "shuffle_caption": True,
                    "keep_tokens": 1,
                },
            ],
        }
    ]
    cfg = import_lora_metadata(
        {"ss_network_dim": "16", "ss_datasets": json.dumps(datasets), "ss_base_model_version": "sdxl_base_v1-0"}
    ).config
    assert (cfg.dataset.resolution, cfg.dataset.min_bucket_reso, cfg.schedule.train_batch_size) == (1024, 512, 4)
    subsets = [(s.image_dir.name, s.num_repeats, s.class_tokens, s.is_reg) for s in cfg.dataset.subsets]
    assert subsets == [("ohwx", 8, "ohwx woman", False), ("reg", 1, "woman", True)]
    resolved = cfg.resolved_subsets()
    assert [r.flip_aug for r in resolved] == [False, True] and all(r.keep_tokens == 1 for r in resolved)


@pytest.mark.parametrize("junk", ["", "abc", "[1,2]", '{"a": 1}', "1e999", "[", '[{"x": 1}]'])
@pytest.mark.parametrize(
    "key",
    [
        "ss_network_dim",
        "ss_datasets",
        "ss_dataset_dirs",
        "ss_network_args",
        "ss_text_encoder_lr",
        "ss_optimizer",
        "ss_resolution",
        "ss_lr_scheduler",
    ],
)
def test_damaged_metadata_never_crashes(key, junk):
    try:
        result = import_lora_metadata(METADATA | {key: junk})
    except ConfigError as error:  # a value that cannot be a setting: named, with a fix
        assert error.fix
    else:
        assert result.config.network.dim in (32, 4)
