"""Max-norm regularisation of LoRA modules (``network.scale_weight_norms``), as sd-scripts does it.

After each optimizer step, every module's applied delta ``ΔW = up @ down · alpha/rank`` whose Frobenius
norm is above ``max_norm`` is scaled back to it, by scaling ``up`` and ``down`` by the square root of the
ratio each (sd-scripts' ``apply_max_norm_regularization`` in networks/lora.py). It keeps a LoRA from
growing a few huge modules that overpower the base model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class MaxNormReport:
    """What one pass did: modules scaled, and the mean and largest module norm after scaling."""

    keys_scaled: int
    mean_norm: float
    max_norm: float


def module_delta(up: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
    """``up @ down`` for linear and convolution modules (shapes as kohya stores them)."""
    if up.dim() == 4 and up.shape[2:] == (1, 1) and down.shape[2:] == (1, 1):
        return (up.squeeze(3).squeeze(2) @ down.squeeze(3).squeeze(2)).unsqueeze(2).unsqueeze(3)
    if up.dim() == 4:  # a 3x3 (or larger) down convolution followed by a 1x1 up
        return torch.nn.functional.conv2d(down.permute(1, 0, 2, 3), up).permute(1, 0, 2, 3)
    return up @ down


@torch.no_grad()
def apply_max_norm(network, max_norm: float) -> MaxNormReport:
    """Scale every module of ``network`` (a :class:`lorakit.lora.network.LoraNetwork`) down to ``max_norm``."""
    from lorakit.lora.network import ADAPTER

    norms: list[float] = []
    scaled = 0
    for component, targets in network.targets.items():
        model = network.components[component]
        for target in targets:
            layer = model.get_submodule(target.path)
            down, up = layer.lora_A[ADAPTER].weight, layer.lora_B[ADAPTER].weight
            delta = module_delta(up.float(), down.float()) * (float(target.alpha) / down.shape[0])
            norm = delta.norm().clamp(min=max_norm / 2)
            ratio = norm.clamp(max=max_norm) / norm
            if ratio != 1:
                scaled += 1
                down.mul_(ratio.sqrt().to(down.dtype))
                up.mul_(ratio.sqrt().to(up.dtype))
            norms.append(float(delta.norm() * ratio))
    if not norms:
        return MaxNormReport(0, 0.0, 0.0)
    return MaxNormReport(scaled, sum(norms) / len(norms), max(norms))
