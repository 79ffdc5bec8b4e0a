"""Putting LyCORIS adapters (LoHa, LoKr, DoRA) on a model's target layers: the ``NETWORK_TYPES`` builder.

Works on the :class:`~lorakit.lora.network.Target` list of any family (SD1/SD2/SDXL UNets and text
encoders today, Flux's transformer blocks the same way): each target layer, a Linear or a Conv2d, gets a
:class:`~lorakit.lora.lycoris_layers.LycorisAdapter` as its child ``lycoris`` and a forward hook adding
the adapter's change. Also: which ``ss_network_module`` / ``ss_network_args`` such a file carries.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lorakit.errors import ConfigError
from lorakit.lora.lycoris_layers import ADAPTERS, LycorisAdapter

ATTRIBUTE = "lycoris"
# Network kinds built here (the rest are peft LoRA/LoCon).
LYCORIS_KINDS = frozenset(ADAPTERS)
LYCORIS_MODULE = "lycoris.kohya"


def inject_lycoris(model: nn.Module, targets: list, settings: Any) -> None:
    """Give each target layer of ``model`` an adapter of ``settings.kind`` (loha, lokr or dora)."""
    if settings.dropout:
        raise ConfigError(
            f"network_dropout does not apply to {settings.kind} networks (LyCORIS has no dropout on the weight"
            " change of these types).",
            "Remove network_dropout, or use rank_dropout / module_dropout instead.",
            field="network.network_dropout",
        )
    cls = ADAPTERS[settings.kind]
    dora = settings.kind == "dora" or settings.dora_wd
    for t in targets:
        layer = model.get_submodule(t.path)
        if not isinstance(layer, (nn.Linear, nn.Conv2d)):
            raise ConfigError(
                f"{t.path} is a {type(layer).__name__}; {settings.kind} adapts Linear and Conv2d layers only.",
                "Leave it out of target_modules.",
                field="network.target_modules",
            )
        extra: dict[str, Any] = {}
        if settings.kind == "lokr":
            extra = {
                "factor": settings.factor,
                "decompose_both": settings.decompose_both,
                "full_matrix": settings.full_matrix,
                "name": t.kohya,
            }
        adapter = cls(
            layer,
            t.rank,
            t.alpha,
            dora=dora,
            module_dropout=settings.module_dropout,
            rank_dropout=settings.rank_dropout,
            **extra,
        )
        adapter.to(device=layer.weight.device)
        layer.add_module(ATTRIBUTE, adapter)
        layer.register_forward_hook(adapter.hook)


def adapter_of(layer: nn.Module) -> LycorisAdapter | None:
    found = getattr(layer, ATTRIBUTE, None)
    return found if isinstance(found, LycorisAdapter) else None


def network_args(settings: Any) -> dict[str, str]:
    """The ``ss_network_args`` sd-scripts + LyCORIS write for this network (their ``net_kwargs``, as text)."""
    algo = "lora" if settings.kind == "dora" else settings.kind
    args = {"algo": algo}
    if settings.kind == "dora" or settings.dora_wd:
        args["dora_wd"] = "True"
    if settings.conv_rank:
        args["conv_dim"] = str(settings.conv_rank)
        args["conv_alpha"] = f"{settings.conv_alpha:g}"
    else:
        args["preset"] = "attn-mlp"
    if settings.kind == "lokr":
        args["factor"] = str(settings.factor)
        for name in ("decompose_both", "full_matrix"):
            if getattr(settings, name):
                args[name] = "True"
    return args
