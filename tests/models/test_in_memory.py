"""Loaded frozen weights live in ordinary memory, not as views of the memory-mapped weight files, and compute
exactly what the mapped weights computed."""

from __future__ import annotations

import gc
import shutil
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from lorakit.models.in_memory import file_backed, file_mappings, into_memory
from lorakit.models.loading import load_model

needs_maps = pytest.mark.skipif(file_mappings() is None, reason="needs /proc/self/maps (Linux)")


def _modules(family):
    c = family.components
    return {"unet": c.unet, "vae": c.vae, **{f"te{i}": m for i, m in enumerate(c.text_encoders)}}


def _tensors(family):
    for part, module in _modules(family).items():
        for name, tensor in module.state_dict(keep_vars=True).items():
            yield f"{part}.{name}", tensor


def _zero_weights(folder: Path) -> int:
    """Overwrite the tensor bytes of every .safetensors file under ``folder`` with zeros, in place (same inode:
    a mapping of the file sees the change). Returns the number of files changed."""
    files = sorted(folder.rglob("*.safetensors"))
    for path in files:
        with open(path, "r+b") as f:
            header = struct.unpack("<Q", f.read(8))[0]
            size = path.stat().st_size - 8 - header
            f.seek(8 + header)
            f.write(bytes(size))
    return len(files)


@needs_maps
def test_loaded_weights_are_not_views_of_the_files(tmp_path, tiny_sd1):
    # A private copy: other tests in this process may still hold models loaded from the shared folder.
    folder = tmp_path / "model"
    shutil.copytree(tiny_sd1, folder)
    family = load_model(folder)
    gc.collect()
    ranges = file_mappings()
    views = [name for name, tensor in _tensors(family) if file_backed(tensor, ranges)]
    assert views == []
    # and the files are no longer mapped at all: nothing is left holding their pages
    maps = Path("/proc/self/maps").read_text()
    assert str(folder) not in maps


@needs_maps
def test_without_it_the_weights_are_file_views(tiny_sd1):
    """The check above can fail: diffusers and transformers leave every weight as a view of the mapped file."""
    family = load_model(tiny_sd1, in_memory=False)
    ranges = file_mappings()
    tensors = dict(_tensors(family))
    views = [name for name, tensor in tensors.items() if file_backed(tensor, ranges)]
    assert len(views) > 0.9 * len(tensors)


def test_weights_do_not_change_when_the_files_do(tmp_path, tiny_sd1):
    """Rewriting the weight files after loading changes nothing: the weights are the model's own memory."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_sd1, folder)
    family = load_model(folder)
    before = {name: tensor.detach().clone() for name, tensor in _tensors(family)}
    assert _zero_weights(folder) == 3
    for name, tensor in _tensors(family):
        torch.testing.assert_close(tensor.detach(), before[name], rtol=0, atol=0, msg=name)

    # The same rewrite reaches weights left as file views (so this test sees the difference).
    shutil.rmtree(folder)
    shutil.copytree(tiny_sd1, folder)
    mapped = load_model(folder, in_memory=False)
    weight = mapped.components.unet.conv_in.weight
    assert weight.abs().sum() > 0
    _zero_weights(folder)
    assert weight.abs().sum() == 0


def _outputs(family) -> dict[str, torch.Tensor]:
    c = family.components
    generator = torch.Generator().manual_seed(0)
    unet_cfg = c.unet.config
    latents = torch.randn(1, unet_cfg.in_channels, 16, 16, generator=generator)
    states = torch.randn(1, 77, unet_cfg.cross_attention_dim, generator=generator)
    pixels = torch.rand(1, 3, 64, 64, generator=generator) * 2 - 1
    ids = c.tokenizers[0](["a robot cat"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        return {
            "unet": c.unet(latents, torch.tensor([500]), states).sample,
            "vae": c.vae.encode(pixels).latent_dist.mean,
            "te": c.text_encoders[0](ids)[0],
        }


def test_outputs_equal_the_mapped_weights(tiny_sd1):
    # Equal weights; kernels may pick other vector paths for other memory alignment (measured: up to 1e-6).
    ours, mapped = _outputs(load_model(tiny_sd1)), _outputs(load_model(tiny_sd1, in_memory=False))
    for part, value in ours.items():
        torch.testing.assert_close(value, mapped[part], rtol=1e-5, atol=1e-5, msg=part)


def test_single_file_weights_are_in_memory_and_equal(tmp_path, tiny_sd1, single_file_checkpoint):
    from diffusers import DiffusionPipeline

    checkpoint = tmp_path / "tiny-sd1.safetensors"
    save_file(single_file_checkpoint(DiffusionPipeline.from_pretrained(str(tiny_sd1)), whole=True), str(checkpoint))
    family = load_model(checkpoint, config=tiny_sd1)
    reference = _outputs(load_model(checkpoint, config=tiny_sd1, in_memory=False))
    if file_mappings() is not None:
        gc.collect()
        ranges = file_mappings()
        assert [name for name, tensor in _tensors(family) if file_backed(tensor, ranges)] == []
    before = {name: tensor.detach().clone() for name, tensor in _tensors(family)}
    _zero_weights(tmp_path)
    for name, tensor in _tensors(family):
        torch.testing.assert_close(tensor.detach(), before[name], rtol=0, atol=0, msg=name)
    for part, value in _outputs(family).items():
        torch.testing.assert_close(value, reference[part], rtol=1e-5, atol=1e-5, msg=part)


def test_ties_buffers_and_parameter_objects_are_kept(tmp_path):
    """A weight shared by two modules stays shared; buffers are copied too; Parameters keep their identity."""
    first, second = torch.nn.Linear(8, 8), torch.nn.Linear(8, 8)
    second.weight = first.weight  # tied
    model = torch.nn.Sequential(first, second, torch.nn.BatchNorm1d(8))
    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items() if k != "1.weight"}, str(path))
    views = load_file(str(path))  # zero-copy views of the mapped file
    with torch.no_grad():
        model[0].weight.data = views["0.weight"]
        model[0].bias.data = views["0.bias"]
        model[1].bias.data = views["1.bias"]
        model[2]._buffers["running_mean"] = views["2.running_mean"]
    parameter = model[0].weight
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    copied = into_memory([model])
    assert copied > 0
    assert model[0].weight is parameter and model[1].weight is parameter
    assert model[0].weight.data_ptr() == model[1].weight.data_ptr()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0, msg=key)
    if file_mappings() is not None:
        assert not any(file_backed(t) for t in model.state_dict().values())
    del views
