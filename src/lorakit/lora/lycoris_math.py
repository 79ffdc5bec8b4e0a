"""The weight change of each LyCORIS network type, as the LyCORIS library and ComfyUI compute it.

One place for the formulas, shared by training (:mod:`lorakit.lora.lycoris_layers`) and the file tools
(:mod:`lorakit.lora.modules`: inspect, merge, bake, convert):

* LoHa: ``ΔW = (w1_a @ w1_b) ⊙ (w2_a @ w2_b) · alpha/rank`` (a Hadamard product of two low-rank matrices);
  a conv keeps its kernel in the ``b`` factors, flattened: ``(rank, in·kh·kw)``.
* LoKr: ``ΔW = kron(w1, w2) · alpha/rank``, each side either a full matrix (``lokr_w1``, ``lokr_w2``) or
  a low-rank pair (``lokr_w1_a @ lokr_w1_b``, ``lokr_w2_a @ lokr_w2_b``); the split of the layer's
  out/in sizes comes from :func:`factorization`. With both sides full there is no rank and no alpha
  scale (LyCORIS writes alpha = rank then). A conv's kernel sits in ``w2`` (full: ``(b, d, kh, kw)``;
  low-rank: ``w2_b`` is ``(rank, d·kh·kw)``).
* DoRA (``dora_scale``): the merged weight ``W' = W + ΔW`` is rescaled row by row to the learned
  magnitude: ``W'' = W' · dora_scale / (‖W'‖_row + eps)``, the norm over each output row (LyCORIS'
  default ``wd_on_out``; ComfyUI reads the axis from ``dora_scale``'s shape, which we follow too).
"""

from __future__ import annotations

import torch


def factorization(dimension: int, factor: int = -1) -> tuple[int, int]:
    """Split ``dimension`` into ``(m, n)`` with ``m·n = dimension`` and ``m <= n``, as LyCORIS' ``factorization``.

    A positive ``factor`` that divides ``dimension`` is taken as it is; otherwise (or with -1) the most
    balanced split whose smaller part is at most ``factor`` (no limit for -1).
    """
    if factor > 0 and dimension % factor == 0:
        m, n = factor, dimension // factor
        return (n, m) if m > n else (m, n)
    limit = dimension if factor < 0 else factor
    m, n = 1, dimension
    while m < n:
        new_m = m + 1
        while dimension % new_m:
            new_m += 1
        new_n = dimension // new_m
        if new_m + new_n > m + n or new_m > limit:
            break
        m, n = new_m, new_n
    return (n, m) if m > n else (m, n)


def working_factors(dimension: int, limit: int = 16) -> list[int]:
    """Factors that split ``dimension`` (for error messages: a factor that works here)."""
    return [f for f in range(2, min(dimension, limit) + 1) if dimension % f == 0]


def lora_delta(up: torch.Tensor, down: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``up @ down`` for a linear or conv LoRA (kohya shapes: up ``(out, r[, 1, 1])``, down ``(r, in[, kh, kw])``)."""
    return (up.flatten(1) @ down.flatten(1)).reshape(shape)


def loha_delta(w1a, w1b, w2a, w2b, shape: tuple[int, ...]) -> torch.Tensor:
    """LoHa's ``(w1_a @ w1_b) ⊙ (w2_a @ w2_b)`` reshaped to the layer's weight (no alpha scale)."""
    return ((w1a @ w1b) * (w2a @ w2b)).reshape(shape)


def lokr_delta(w1, w2, shape: tuple[int, ...]) -> torch.Tensor:
    """``kron(w1, w2)`` reshaped to the layer's weight (no alpha scale).

    ``w1`` is 2-D; ``w2`` is 2-D or, for a conv with a full ``lokr_w2``, ``(b, d, kh, kw)``: ``w1`` then gets
    trailing unit axes so the kernel stays in ``w2`` (LyCORIS' ``make_kron``).
    """
    while w1.dim() < w2.dim():
        w1 = w1.unsqueeze(-1)
    return torch.kron(w1, w2.contiguous()).reshape(shape)


def dora_norm(weight: torch.Tensor, dora_scale: torch.Tensor) -> torch.Tensor:
    """The norm DoRA divides by: per output row when ``dora_scale`` has one value per output, else per input."""
    if dora_scale.shape[0] == weight.shape[0] and dora_scale.numel() == weight.shape[0]:
        norm = weight.reshape(weight.shape[0], -1).norm(dim=1)
        return norm.reshape(weight.shape[0], *[1] * (weight.dim() - 1))
    norm = weight.transpose(0, 1).reshape(weight.shape[1], -1).norm(dim=1)
    return norm.reshape(weight.shape[1], *[1] * (weight.dim() - 1)).transpose(0, 1)


def dora_weight(merged: torch.Tensor, dora_scale: torch.Tensor, multiplier: float = 1.0) -> torch.Tensor:
    """DoRA's weight: ``merged · (multiplier · (m / ‖merged‖ − 1) + 1)`` (LyCORIS' ``weight_decompose``)."""
    merged = merged.to(dora_scale.dtype)
    scale = dora_scale / (dora_norm(merged, dora_scale) + torch.finfo(merged.dtype).eps)
    if multiplier != 1:
        scale = multiplier * (scale - 1) + 1
    return merged * scale


def initial_dora_scale(weight: torch.Tensor) -> torch.Tensor:
    """DoRA's starting magnitude: each output row's norm of the base weight, shaped ``(out, 1[, 1, 1])``."""
    w = weight.detach().float()
    return w.reshape(w.shape[0], -1).norm(dim=1).reshape(w.shape[0], *[1] * (w.dim() - 1))
