"""Golden tests: each preset's sd-scripts export equals a checked-in file, and hand-written sd-scripts
TOMLs import to the expected config.

Regenerate the golden files after a deliberate change with ``LORAKIT_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lorakit.config.kohya import export_kohya, import_kohya
from lorakit.config.presets import list_presets, new_config

GOLDEN = Path(__file__).parent / "golden"
PRESETS = [p.name for p in list_presets()]

# The same model path and two subsets (one of them regularization images) for every preset.
DATASET = {
    "model.pretrained_model_name_or_path": "/models/base.safetensors",
    "output.output_dir": "/runs/out",
    "dataset.subsets": [
        {"image_dir": "/data/10_ohwx", "num_repeats": 10, "class_tokens": "ohwx"},
        {"image_dir": "/data/reg_person", "num_repeats": 1, "class_tokens": "person", "is_reg": True},
    ],
}
FLUX_FILES = {
    "model.clip_l": "/models/clip_l.safetensors",
    "model.t5xxl": "/models/t5xxl_fp16.safetensors",
    "model.ae": "/models/ae.safetensors",
}


def _preset_config(name: str):
    overrides = dict(DATASET) | (FLUX_FILES if name.startswith("flux") else {})
    if name == "tiny-demo":
        overrides.pop("model.pretrained_model_name_or_path")
    return new_config(name, overrides)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_export_matches_golden(preset, tmp_path):
    export_kohya(_preset_config(preset), tmp_path)
    for name in ("config.toml", "dataset.toml", "lorakit.toml"):
        text = (tmp_path / name).read_text().replace(str(tmp_path), "<EXPORT_DIR>")
        golden = GOLDEN / preset / name
        if os.environ.get("LORAKIT_UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        assert golden.is_file(), f"missing golden file {golden}; run with LORAKIT_UPDATE_GOLDEN=1 and review it"
        assert text == golden.read_text(), f"{preset}/{name} differs from the golden file"


@pytest.mark.parametrize("preset", PRESETS)
def test_golden_files_import_to_the_preset(preset, tmp_path):
    """The checked-in sd-scripts files themselves import back to the preset's config."""
    for name in ("config.toml", "dataset.toml", "lorakit.toml"):
        text = (GOLDEN / preset / name).read_text().replace("<EXPORT_DIR>", str(tmp_path))
        (tmp_path / name).write_text(text)
    result = import_kohya(tmp_path / "config.toml")
    assert result.config == _preset_config(preset)


HAND_WRITTEN_CONFIG = """
# An sd-scripts config as people write them: sections are allowed (sd-scripts flattens them).
[model_arguments]
pretrained_model_name_or_path = "/models/sd15.safetensors"
v2 = true
v_parameterization = true
vae = "/models/vae.safetensors"
clip_skip = 2

[saving_arguments]
output_dir = "/runs/hand"
output_name = "hand-lora"
save_model_as = "safetensors"
save_precision = "bf16"
save_every_n_epochs = 1
save_state = true
metadata_author = "me"

[additional_network_arguments]
network_module = "lycoris.kohya"
network_args = ["algo=loha", "conv_dim=4", "conv_alpha=2", "rank_dropout=0.1", "preset=full"]
network_dim = 8
network_alpha = 4
network_train_unet_only = true

[optimizer_arguments]
optimizer_type = "AdamW8bit"
optimizer_args = ["weight_decay=0.05", "betas=0.9,0.99"]
learning_rate = 2e-4
unet_lr = 2e-4
text_encoder_lr = 1e-5
lr_scheduler = "cosine_with_restarts"
lr_scheduler_num_cycles = 3
lr_warmup_steps = 50
max_grad_norm = 1.0

[training_arguments]
max_train_epochs = 12
train_batch_size = 3
gradient_accumulation_steps = 2
seed = 7
mixed_precision = "bf16"
gradient_checkpointing = true
cache_latents = true
cache_latents_to_disk = true
xformers = true
max_data_loader_n_workers = 4
noise_offset = 0.05
min_snr_gamma = 5
loss_type = "huber"
huber_c = 0.2
max_token_length = 150
prior_loss_weight = 0.8

[sample_prompt_arguments]
sample_every_n_epochs = 2
sample_sampler = "k_euler"
sample_prompts = "/prompts/ohwx.txt"

[logging_arguments]
log_with = "tensorboard"
logging_dir = "/runs/logs"

[dataset_arguments]
dataset_config = "dataset.toml"
console_log_level = "INFO"
"""

HAND_WRITTEN_DATASET = """
[general]
shuffle_caption = true
keep_tokens = 1
caption_extension = ".txt"
flip_aug = true

[[datasets]]
resolution = [768, 768]
batch_size = 3
enable_bucket = true
min_bucket_reso = 384
max_bucket_reso = 1536
bucket_reso_steps = 64

  [[datasets.subsets]]
  image_dir = "/data/ohwx"
  num_repeats = 8
  class_tokens = "ohwx person"

  [[datasets.subsets]]
  image_dir = "/data/reg"
  num_repeats = 1
  is_reg = true
  class_tokens = "person"
  flip_aug = false
  caption_extension = ".caption"
"""

EXPECTED = {
    "model": {
        "pretrained_model_name_or_path": "/models/sd15.safetensors",
        "family": "sd2-v",
        "vae": "/models/vae.safetensors",
        "clip_skip": 2,
    },
    "output": {
        "output_dir": Path("/runs/hand"),
        "output_name": "hand-lora",
        "save_precision": "bf16",
        "save_every_n_epochs": 1,
        "save_state": True,
        "metadata_author": "me",
    },
    "dataset": {
        "resolution": 768,
        "enable_bucket": True,
        "min_bucket_reso": 384,
        "max_bucket_reso": 1536,
        "flip_aug": True,
        "prior_loss_weight": 0.8,
        "subsets": [
            {"image_dir": "/data/ohwx", "num_repeats": 8, "class_tokens": "ohwx person"},
            {
                "image_dir": "/data/reg",
                "num_repeats": 1,
                "class_tokens": "person",
                "is_reg": True,
                "flip_aug": False,
                "caption_extension": ".caption",
            },
        ],
    },
    "captions": {"shuffle_caption": True, "keep_tokens": 1, "caption_extension": ".txt", "max_token_length": 150},
    "schedule": {
        "max_train_epochs": 12,
        "max_train_steps": None,
        "train_batch_size": 3,
        "gradient_accumulation_steps": 2,
        "seed": 7,
    },
    "learning": {
        "learning_rate": 2e-4,
        "unet_lr": 2e-4,
        "text_encoder_lr": 1e-5,
        "lr_scheduler": "cosine_with_restarts",
        "lr_scheduler_num_cycles": 3,
        "lr_warmup_steps": 50,
    },
    "optimizer": {"optimizer_type": "AdamW8bit", "weight_decay": 0.05, "betas": (0.9, 0.99)},
    "network": {
        "type": "loha",
        "dim": 8,
        "alpha": 4.0,
        "conv_dim": 4,
        "conv_alpha": 2.0,
        "rank_dropout": 0.1,
        "train_unet_only": True,
        "extra_args": {"preset": "full"},
    },
    "noise": {"noise_offset": 0.05, "min_snr_gamma": 5.0, "loss_type": "huber", "huber_c": 0.2},
    "memory": {
        "mixed_precision": "bf16",
        "gradient_checkpointing": True,
        "cache_latents": True,
        "cache_latents_to_disk": True,
        "attention": "xformers",
        "max_data_loader_n_workers": 4,
    },
    "samples": {"sample_every_n_epochs": 2, "sample_sampler": "k_euler", "sample_prompts": Path("/prompts/ohwx.txt")},
    "logging": {"log_with": "tensorboard", "logging_dir": Path("/runs/logs")},
}


def test_hand_written_sd_scripts_files_import_as_expected(tmp_path):
    (tmp_path / "config.toml").write_text(HAND_WRITTEN_CONFIG)
    (tmp_path / "dataset.toml").write_text(HAND_WRITTEN_DATASET)
    result = import_kohya(tmp_path / "config.toml")  # dataset.toml found through dataset_config
    cfg = result.config
    for section, values in EXPECTED.items():
        table = getattr(cfg, section)
        for name, expected in values.items():
            if name == "subsets":
                got = [s.model_dump(exclude_none=True) for s in table.subsets]
                want = [{**s, "image_dir": Path(s["image_dir"])} for s in expected]
                assert got == [{"is_reg": False, "num_repeats": 1, **w} for w in want]
                continue
            assert getattr(table, name) == expected, f"{section}.{name}"
    # Everything not in the files keeps sd-scripts' default, not lorakit's.
    assert cfg.samples.validation_split == 0.0 and cfg.network.network_dropout is None
    assert any("network_args kept as they are: preset" in n for n in result.notes)
    assert not any("console_log_level" in n for n in result.notes)  # sd-scripts' own switches are not settings


def test_missing_keys_mean_sd_scripts_defaults(tmp_path):
    (tmp_path / "config.toml").write_text(
        'pretrained_model_name_or_path = "/m.safetensors"\nnetwork_module = "networks.lora"\n'
        'train_data_dir = "/data/train"\nresolution = "512,640"\n'
    )
    cfg = import_kohya(tmp_path / "config.toml").config
    assert cfg.memory.mixed_precision == "no"
    assert cfg.learning.learning_rate == 2e-6
    assert (cfg.network.dim, cfg.network.alpha) == (4, 1.0)
    assert cfg.schedule.max_train_steps == 1600 and cfg.schedule.max_train_epochs is None
    assert cfg.captions.caption_extension == ".caption"
    assert cfg.memory.cache_latents is False and cfg.memory.attention == "none"
    assert cfg.dataset.train_data_dir == Path("/data/train") and cfg.dataset.resolution == (512, 640)
    assert cfg.optimizer.optimizer_type == "AdamW"


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"config.toml": 'dataset_config = "gone.toml"\n'}, "does not exist"),
        ({"config.toml": 'network_module = "networks.oft"\n'}, "not one lorakit trains"),
        ({"config.toml": "network_dim = \n"}, "not valid TOML"),
        ({"config.toml": "network_dim = 0\n"}, "network.dim"),
        ({"a.toml": "x = 1\n", "b.toml": "y = 2\n"}, "Two config files"),
    ],
)
def test_bad_sd_scripts_files_are_clear(files, words, tmp_path):
    from lorakit.errors import ConfigError

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as caught:
        import_kohya(*[tmp_path / name for name in files])
    error = caught.value
    assert words in " ".join([error.problem, error.fix or ""] + [i.problem for i in error.issues])
    assert error.fix


def _paths(obj, prefix=()):
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def test_damaged_sd_scripts_files_never_crash():
    """Every value of a real export replaced by a wrong kind of value: always a ConfigError, never a traceback."""
    import contextlib
    import copy

    from lorakit.config.io import tomllib
    from lorakit.config.kohya import from_kohya
    from lorakit.errors import ConfigError

    docs = [
        tomllib.loads((GOLDEN / "sd15-style" / name).read_text())
        for name in ("config.toml", "dataset.toml", "lorakit.toml")
    ]
    tried = 0
    for which, doc in enumerate(docs):
        for path in list(_paths(doc)):
            for junk in (5, "x", [1, 2], {"a": 1}, 1.5):
                damaged = copy.deepcopy(docs)
                table = damaged[which]
                for key in path[:-1]:
                    table = table[key]
                table[path[-1]] = junk
                tried += 1
                with contextlib.suppress(ConfigError):
                    from_kohya(*damaged)
    assert tried > 200
