"""End to end: `lorakit train CONFIG` on the tiny model writes exactly the expected files, and the LoRA
loads into a fresh diffusers pipeline with load_lora_weights and changes what it draws."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.config.io import save_config
from lorakit.events import read_events
from lorakit.lora.kohya import load_lora_file
from lorakit.models.hashes import sshs_hashes_of_file

pytestmark = pytest.mark.slow


def _draw(pipe):
    generator = torch.Generator().manual_seed(0)
    out = pipe("kitbot, robot cat", num_inference_steps=2, height=64, width=64, output_type="np", generator=generator)
    return out.images


def test_train_cli_writes_the_run_folder_and_a_loadable_lora(tmp_path, tiny_config, tiny_sd1):
    cfg = tiny_config(
        schedule__max_train_epochs=2,  # 4 images × 2 repeats / batch 2 = 4 steps per epoch → 8 steps
        output__save_every_n_steps=2,
        output__save_last_n_epochs=2,
        network__dim=4,
        network__alpha=2.0,
        samples__sample_prompts=["kitbot, robot cat --w 64 --h 64 --s 2 --d 3 --ss ddim"],
        samples__sample_every_n_epochs=1,
    )
    config_path = save_config(cfg, tmp_path / "train.toml")
    run_dir = tmp_path / "run"

    result = CliRunner().invoke(app, ["train", str(config_path), "--output", str(run_dir)])
    assert result.exit_code == 0, result.output

    # Checkpoints at steps 2, 4 and 6, keep-last 2 removes step 2; step 8 is the final file.
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.toml",
        "events.jsonl",
        "samples",
        "state",
        "tiny-step00000004.safetensors",
        "tiny-step00000006.safetensors",
        "tiny.safetensors",
    ]
    # A preview after each epoch (steps 4 and 8).
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["tiny_000004_00.png", "tiny_000008_00.png"]
    assert sorted(p.name for p in (run_dir / "state").iterdir()) == ["latest.json", "step-00000006"]
    assert sorted(p.name for p in (run_dir / "state" / "step-00000006").iterdir()) == [
        "network.safetensors",
        "optimizer.json",
        "optimizer.safetensors",
        "progress.json",
        "rng.json",
        "rng.safetensors",
    ]
    events = read_events(run_dir / "events.jsonl")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    steps = [e.data for e in events if e.type == "step"]
    assert [s["step"] for s in steps] == list(range(1, 9))
    assert set(steps[-1]) >= {"loss", "avg_loss", "lr", "it_s", "eta_s", "epoch", "total_steps"}
    assert steps[-1]["total_steps"] == 8
    assert events[-1].type == "status" and events[-1].data["state"] == "completed"
    assert "LoRA:" in result.output

    lora = load_lora_file(run_dir / "tiny.safetensors")
    names = lora.modules
    assert "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q" in names
    assert "lora_te_text_model_encoder_layers_0_self_attn_q_proj" in names
    assert all(lora.alpha(m) == 2.0 and lora.rank(m) == 4 for m in names)  # the real alpha, not the rank
    meta = lora.metadata
    assert meta["ss_network_dim"] == "4" and meta["ss_network_alpha"] == "2.0"
    assert meta["ss_base_model_version"] == "sd_v1"
    assert meta["ss_steps"] == "8" and meta["ss_max_train_steps"] == "8"
    assert json.loads(meta["ss_dataset_dirs"]) == {"2_kitbot": {"n_repeats": 2, "img_count": 4}}
    assert json.loads(meta["ss_tag_frequency"])["2_kitbot"]["kitbot"] == 4
    assert meta["modelspec.architecture"] == "stable-diffusion-v1/lora"
    assert (meta["sshs_model_hash"], meta["sshs_legacy_hash"]) == sshs_hashes_of_file(run_dir / "tiny.safetensors")

    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd1, safety_checker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    before = _draw(pipe)
    pipe.load_lora_weights(str(run_dir / "tiny.safetensors"))
    after = _draw(pipe)
    assert abs(after - before).max() > 1e-3
