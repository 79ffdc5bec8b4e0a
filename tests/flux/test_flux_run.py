"""Training the tiny Flux: the loss on fixed draws falls, the file is in sd-scripts' Flux layout with its
metadata and loads back, the caches (latents; CLIP + T5 outputs) are used, and a killed run resumes to the
weights of an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from lorakit.lora.kohya import load_lora_file
from lorakit.train.run import resume, train

from .conftest import make_dataset

pytestmark = pytest.mark.slow


@pytest.fixture
def flux_config(tmp_path, tiny_flux):
    def build(**overrides):
        from lorakit.config.presets import new_config

        values = {
            "model.pretrained_model_name_or_path": str(tiny_flux),
            "model.family": "flux",
            "dataset.train_data_dir": str(make_dataset(tmp_path / "data")),
            "output.output_dir": str(tmp_path / "out"),
            "output.output_name": "tiny",
            "schedule.max_train_epochs": None,
            "schedule.max_train_steps": 4,
            "memory.cache_latents": True,
            "network.train_unet_only": True,
        }
        values.update({k.replace("__", "."): v for k, v in overrides.items()})
        return new_config("tiny-demo", values)

    return build


def _fixed_loss(run, draws: int = 6) -> float:
    """The mean loss of the first batch over fixed noise draws (no gradients): only the weights change it."""
    from lorakit.train.step import training_step

    indices = run.batches_for(0)[0]
    batch = run.feed.batch(indices, 0, 0, 0)
    total = 0.0
    with torch.no_grad():
        for seed in range(draws):
            gens = [torch.Generator().manual_seed(1000 + seed * 10 + i) for i in range(len(indices))]
            total += float(training_step(run.family, batch, run.step_options, gens, lambda _: None))
    return total / draws


def test_flux_lora_learns(tmp_path, flux_config):
    from lorakit.events import Emitter
    from lorakit.train.run import Run
    from lorakit.train.trainer import TrainingLoop

    cfg = flux_config(
        schedule__max_train_steps=40,
        learning__learning_rate=3e-3,
        model__timestep_sampling="shift",
        model__model_prediction_type="raw",
        network__dim=8,
        network__alpha=8.0,
    )
    run = Run(cfg, tmp_path / "run", Emitter(), None)
    run.setup()
    before = _fixed_loss(run)
    TrainingLoop(run).run_loop()
    after = _fixed_loss(run)
    assert after < 0.85 * before, (before, after)


def test_flux_file_layout_metadata_and_reload(tmp_path, flux_config):
    cfg = flux_config(network__train_blocks="double", model__guidance_scale=3.5)
    result = train(cfg, tmp_path / "run")
    lora = load_lora_file(result["lora"])
    names = set(lora.modules)
    assert "lora_unet_double_blocks_0_img_attn_qkv" in names
    assert "lora_unet_double_blocks_1_txt_mlp_2" in names
    assert not any("single_blocks" in n or "transformer_blocks" in n or "_mod_" in n for n in names)
    up = lora.tensors["lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight"]
    assert up.shape == (3 * 48, 3 * 4)  # q, k, v of the 48-wide tiny transformer, rank 4 each
    meta = lora.metadata
    assert meta["ss_network_module"] == "networks.lora_flux"
    assert meta["ss_base_model_version"] == "flux1"  # the tiny model is dev-shaped (guidance embedding)
    assert meta["modelspec.architecture"] == "flux-1-dev/lora"
    assert json.loads(meta["ss_network_args"]) == {"train_blocks": "double"}
    assert meta["ss_guidance_scale"] == "3.5"

    # The file starts another run (network_weights): every module loads back into the split q/k/v layers.
    again = flux_config(network__train_blocks="double", network__network_weights=result["lora"])
    from lorakit.train.setup import build_model_and_network

    family, network = build_model_and_network(again, torch.device("cpu"))
    back = family.lora_file_tensors(network.kohya_state_dict(torch.float32))
    for key, value in lora.tensors.items():
        torch.testing.assert_close(back[key].float(), value.float(), rtol=1e-3, atol=1e-4, msg=key)


def test_flux_caches_latents_and_both_text_encoders(tmp_path, flux_config):
    from lorakit.events import Emitter
    from lorakit.train.run import Run
    from lorakit.train.trainer import TrainingLoop

    cfg = flux_config(
        memory__cache_text_encoder_outputs=True,
        memory__cache_text_encoder_outputs_to_disk=True,
        memory__cache_latents_to_disk=True,
        model__apply_t5_attn_mask=True,
        model__t5xxl_max_token_length=16,
    )
    run = Run(cfg, tmp_path / "run", Emitter(), None)
    run.setup()
    TrainingLoop(run).run_loop()
    text, latents = run.feed.text_cache, run.feed.latent_cache
    assert text is not None and latents is not None
    assert text.hits > 0 and latents.hits > 0
    entry = next(iter(text.memory.values()))
    assert entry["encoder_hidden_states"].shape[-2:] == (16, 24)  # T5: 16 tokens, 24 wide
    assert entry["pooled_projections"].shape[-1] == 32  # CLIP-L pooled
    assert "t5_attn_mask" in entry
    assert "t5:16:1" in text.encoder_identity  # the T5 settings are part of the cache key
    assert any((tmp_path / "out" / ".cache" / "text").glob("*.safetensors"))


def _wait_for_state(run_dir, process, timeout=300.0) -> int:
    latest = run_dir / "state" / "latest.json"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if latest.exists():
            return json.loads(latest.read_text())["step"]
        if process.poll() is not None:
            raise AssertionError(f"training exited early:\n{process.stderr.read().decode()[-3000:]}")
        time.sleep(0.02)
    raise AssertionError("no state was saved in time")


def test_killed_flux_run_resumes_to_the_same_weights(tmp_path, flux_config):
    from lorakit.config.io import save_config

    cfg = flux_config(
        schedule__max_train_steps=6,
        output__save_every_n_steps=2,
        model__timestep_sampling="sigmoid",
        learning__lr_scheduler="cosine",
        dataset__flip_aug=True,
    )
    reference = train(cfg, tmp_path / "reference")
    config_path = save_config(cfg, tmp_path / "train.toml")
    killed_dir = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "lorakit.cli.main", "train", str(config_path), "--output", str(killed_dir)]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        saved_step = _wait_for_state(killed_dir, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert saved_step < 6
    resumed = resume(killed_dir)
    assert resumed["steps"] == reference["steps"] == 6
    want = load_lora_file(reference["lora"]).tensors
    got = load_lora_file(resumed["lora"]).tensors
    assert want.keys() == got.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-5, atol=1e-6, msg=key)
    assert any(float(v.abs().max()) > 0 for k, v in want.items() if "lora_up" in k)


def test_clip_and_t5_lora(tmp_path, flux_config):
    """With the text encoder trained, CLIP-L gets lora_te1_ modules; with train_t5xxl T5 gets lora_te3_ (as
    sd-scripts' lora_flux names them), and the convert to diffusers puts them under text_encoder(_2)."""
    from lorakit.lora.convert import convert_lora

    cfg = flux_config(network__train_unet_only=False, network__train_t5xxl=True, learning__text_encoder_lr=1e-3)
    result = train(cfg, tmp_path / "run")
    lora = load_lora_file(result["lora"])
    assert any(n.startswith("lora_te1_text_model_encoder_layers_0_self_attn_q_proj") for n in lora.modules)
    assert "lora_te3_encoder_block_0_layer_0_SelfAttention_q" in lora.modules
    assert json.loads(lora.metadata["ss_network_args"]) == {"train_t5xxl": "True"}
    from safetensors.torch import load_file

    out = load_file(str(convert_lora(result["lora"], tmp_path / "d.safetensors", "diffusers")))
    assert "text_encoder_2.encoder.block.0.layer.0.SelfAttention.q.lora_A.weight" in out
    assert "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight" in out


def test_flux_samples_render(tmp_path, flux_config):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("kitbot, robot cat --w 64 --h 64 --s 2 --d 1 --g 3.5\n")
    cfg = flux_config(schedule__max_train_steps=1, samples__sample_prompts=str(prompts), samples__sample_at_first=True)
    result = train(cfg, tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run" / "samples").glob("*.png"))
    assert result["steps"] == 1
