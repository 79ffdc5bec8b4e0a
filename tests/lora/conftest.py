"""LoRA-tools fixtures: random kohya LoRAs with known weights, for the tiny models or free-standing shapes."""

from __future__ import annotations

import pytest
import torch


def _targets(model, kinds=(torch.nn.Linear, torch.nn.Conv2d), include=None):
    for path, module in model.named_modules():
        if isinstance(module, kinds) and (include is None or any(word in path for word in include)):
            yield path, module


@pytest.fixture(scope="session")
def tiny_sd1_pipe(tiny_sd1):
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline.from_pretrained(str(tiny_sd1))


@pytest.fixture(scope="session")
def tiny_sdxl_pipe(tiny_sdxl):
    from diffusers import StableDiffusionXLPipeline

    return StableDiffusionXLPipeline.from_pretrained(str(tiny_sdxl))


def _random_module(module, rank: int, alpha: float, generator) -> dict[str, torch.Tensor]:
    if isinstance(module, torch.nn.Conv2d):
        out, inp, kh, kw = module.weight.shape
        down = torch.randn(rank, inp, kh, kw, generator=generator) / (inp * kh * kw) ** 0.5
        up = torch.randn(out, rank, 1, 1, generator=generator) / rank**0.5
    else:
        out, inp = module.weight.shape
        down = torch.randn(rank, inp, generator=generator) / inp**0.5
        up = torch.randn(out, rank, generator=generator) / rank**0.5
    return {"lora_down.weight": down, "lora_up.weight": up, "alpha": torch.tensor(float(alpha))}


@pytest.fixture
def random_lora():
    """``random_lora(parts, rank=4, alpha=2, seed=0)``: a kohya state dict for ``{prefix: (model, names)}``.

    ``names`` maps a module path to the kohya name body (``None``: the path with "." -> "_"). Ranks can vary
    by module when ``rank`` is a callable of the path.
    """

    def build(parts: dict, rank=4, alpha=2.0, seed: int = 0, include=None) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        tensors = {}
        for prefix, (model, rename) in parts.items():
            for path, module in _targets(model, include=include):
                body = rename(path) if rename else path.replace(".", "_")
                r = rank(path) if callable(rank) else rank
                for suffix, value in _random_module(module, r, alpha, generator).items():
                    tensors[f"{prefix}_{body}.{suffix}"] = value
        return tensors

    return build


@pytest.fixture
def spectrum_lora():
    """``spectrum_lora({name: S}, out=48, inp=40)``: modules whose change has exactly the singular values S."""

    def build(spectra: dict[str, list[float]], out: int = 48, inp: int = 40, alpha: float | None = None, seed=0):
        generator = torch.Generator().manual_seed(seed)
        tensors = {}
        for name, values in spectra.items():
            s = torch.tensor(values, dtype=torch.float64)
            r = len(values)
            u, _ = torch.linalg.qr(torch.randn(out, r, generator=generator, dtype=torch.float64))
            v, _ = torch.linalg.qr(torch.randn(inp, r, generator=generator, dtype=torch.float64))
            a = float(alpha if alpha is not None else r)
            # up @ down × a / r = U diag(S) Vᵀ
            tensors[f"{name}.lora_up.weight"] = (u * s * (r / a)).float()
            tensors[f"{name}.lora_down.weight"] = v.T.contiguous().float()
            tensors[f"{name}.alpha"] = torch.tensor(a)
        return tensors

    return build
