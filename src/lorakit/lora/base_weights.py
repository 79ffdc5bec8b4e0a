"""``base_weights``: LoRA files merged into the loaded base model before training (sd-scripts' ``--base_weights``).

Each file's modules are matched to the model's layers by kohya name (the same names the trained network
gets, :class:`lorakit.lora.network.ComponentTargets`), and each layer's weight gets
``multiplier × delta`` with the delta of :meth:`lorakit.lora.modules.LoraModule.delta` (``up @ down ×
alpha / rank``, the one formula bake/merge/resize use). The trained LoRA then learns on top of that base;
the base files are not part of the saved LoRA.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from lorakit.errors import ModelError
from lorakit.lora.modules import LoraFormatError, read_lora

log = logging.getLogger(__name__)


def layers_by_kohya_name(components: dict[str, nn.Module], specs: dict) -> dict[str, nn.Module]:
    """Every Linear/Conv2d layer of the components listed in ``specs``, keyed by its kohya module name."""
    out: dict[str, nn.Module] = {}
    for name, model in components.items():
        spec = specs.get(name)
        if spec is None:
            continue
        for path, module in model.named_modules():
            if not isinstance(module, (nn.Linear, nn.Conv2d)):
                continue
            try:
                out[spec.kohya_name(path)] = module
            except KeyError:  # a layer with no kohya name (outside the SGM block tables): no LoRA can hold it
                continue
    return out


def merge_base_weights(
    components: dict[str, nn.Module], specs: dict, files: list[Path], multipliers: list[float] | None = None
) -> int:
    """Add each file's changes × its multiplier (missing multipliers are 1.0) to the matching layers.

    Returns the number of layers changed. A file none of whose modules fit the model is refused.
    """
    layers = layers_by_kohya_name(components, specs)
    changed = 0
    for i, path in enumerate(files):
        multiplier = float(multipliers[i]) if multipliers and i < len(multipliers) else 1.0
        state = read_lora(path)
        matched = 0
        for name, module in state.modules.items():
            layer = layers.get(name)
            if layer is None:
                continue
            weight = layer.weight
            try:
                change = module.weight_change(weight.detach().cpu(), multiplier)
            except LoraFormatError as error:
                raise ModelError(
                    f"The base_weights file {Path(path).name} does not fit this model at {name}: {error.problem}",
                    "Use base_weights LoRAs trained for the same model family.",
                    field="base_weights",
                ) from error
            with torch.no_grad():
                merged = weight.float() + change.to(weight.device)
                weight.copy_(merged.to(weight.dtype))
            matched += 1
        if matched == 0:
            raise ModelError(
                f"None of the modules in the base_weights file {Path(path).name} match this model.",
                "Check that it is a LoRA for the same model family (SD1, SD2 or SDXL).",
                field="base_weights",
            )
        skipped = len(state.modules) - matched
        if skipped:
            log.warning("base_weights %s: %d modules match no layer of this model", path, skipped)
        changed += matched
    return changed
