"""Trainable LyCORIS adapters (LoHa, LoKr, and DoRA on LoRA/LoHa/LoKr) for Linear and Conv2d layers.

Each adapter lives on its layer as the child ``lycoris`` and adds its change through a forward hook:
``y = layer(x) + op(x, W_new − W)`` with ``op`` the layer's own linear/conv (without bias), as LyCORIS'
modules do in their default (non-bypass) mode. The layer's own weight keeps its name and stays frozen.
The parameters carry the LyCORIS/ComfyUI file names (``hada_w1_a``, ``lokr_w1``, ``lora_up``, ``dora_scale``),
and :meth:`LycorisAdapter.kohya_tensors` writes them as the LyCORIS library does (``<module>.<name>``,
``lora_up.weight`` / ``lora_down.weight`` for the LoRA pair, the alpha as a scalar tensor).
The formulas are in :mod:`lorakit.lora.lycoris_math`; initialisation follows LyCORIS so training starts at
the base model (one factor of each product is zero).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lorakit.errors import ConfigError
from lorakit.lora import lycoris_math as lm


def layer_shape(layer: nn.Module) -> tuple[int, ...]:
    return tuple(layer.weight.shape)


class LycorisAdapter(nn.Module):
    """What every LyCORIS adapter shares: scale, DoRA, dropout and the forward hook."""

    kind = ""

    def __init__(
        self,
        layer: nn.Module,
        rank: int,
        alpha: float,
        *,
        dora: bool,
        module_dropout: float = 0.0,
        rank_dropout: float = 0.0,
    ):
        super().__init__()
        self.shape = layer_shape(layer)
        self.is_conv = isinstance(layer, nn.Conv2d)
        self.rank = rank
        self.alpha = float(alpha)
        self.module_dropout = module_dropout
        self.rank_dropout = rank_dropout
        self.multiplier = 1.0
        if dora:
            self.dora_scale = nn.Parameter(lm.initial_dora_scale(layer.weight))
        else:
            self.dora_scale = None

    @property
    def scale(self) -> float:
        return self.alpha / self.rank if self.rank else 1.0

    def delta(self) -> torch.Tensor:
        """ΔW before DoRA, alpha scale included, in the layer's weight shape."""
        raise NotImplementedError

    def weight_change(self, weight: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """``W_new − W`` for the layer's weight ``W`` (DoRA's rescale included), in ``dtype`` (default: the
        adapter's own). The base weight is only read for DoRA, in the adapter's precision (an fp8 base never
        rounds the change)."""
        delta = self.delta()
        dtype = dtype or delta.dtype
        if self.training and self.rank_dropout:
            # LyCORIS' rank dropout for these types: drop whole output rows of ΔW (no rescale by default).
            keep = (torch.rand(delta.shape[0], device=delta.device) > self.rank_dropout).to(delta.dtype)
            delta = delta * keep.view(-1, *[1] * (delta.dim() - 1))
        if self.dora_scale is None:
            return (delta * self.multiplier).to(dtype)
        base = weight.detach().to(self.dora_scale.dtype)
        merged = lm.dora_weight(base + delta.to(base.dtype), self.dora_scale, self.multiplier)
        return (merged - base).to(dtype)

    def hook(self, layer: nn.Module, inputs, output):
        if self.training and self.module_dropout and torch.rand(1).item() < self.module_dropout:
            return None
        x = inputs[0]
        change = self.weight_change(layer.weight, x.dtype)
        if self.is_conv:
            extra = F.conv2d(x, change, None, layer.stride, layer.padding, layer.dilation, layer.groups)
        else:
            extra = F.linear(x, change)
        return output + extra

    def tensor_names(self) -> list[str]:
        return [name for name, _ in self.named_parameters(recurse=False)]

    def kohya_tensors(self) -> dict[str, torch.Tensor]:
        """The module's tensors by LyCORIS file suffix, alpha included."""
        out = {self.file_name(name): p.detach() for name, p in self.named_parameters(recurse=False)}
        out["alpha"] = torch.tensor(self.file_alpha())
        return out

    def file_alpha(self) -> float:
        return self.alpha

    @staticmethod
    def file_name(name: str) -> str:
        return f"{name}.weight" if name in ("lora_up", "lora_down") else name

    def load_kohya_tensors(self, tensors: dict[str, torch.Tensor], where: str) -> None:
        """Copy a module's tensors from a file (same layout); a shape mismatch names the setting to change."""
        for name, p in self.named_parameters(recurse=False):
            value = tensors.get(self.file_name(name))
            if value is None:
                raise ConfigError(
                    f"The file has no {self.file_name(name)} for {where} (found {', '.join(sorted(tensors))}): it"
                    f" was trained as another network type or with other settings than this {self.kind} network.",
                    "Use the network type, dim, factor and DoRA settings the file was trained with (see"
                    " `lorakit lora inspect`).",
                    field="network_dim",
                )
            if tuple(value.shape) != tuple(p.shape):
                raise ConfigError(
                    f"{where}.{self.file_name(name)} has shape {tuple(value.shape)} in the file, but the network"
                    f" builds {tuple(p.shape)}.",
                    "Use the same network type, dim, factor and full-matrix settings the file was trained with.",
                    field="network_dim",
                )
            with torch.no_grad():
                p.copy_(value.to(p.dtype))
        file_alpha = tensors.get("alpha")
        if file_alpha is not None and self.rank and not math.isclose(float(file_alpha), self.file_alpha()):
            self.alpha = float(file_alpha)  # the file's alpha keeps its change as it was


class LoraDoraAdapter(LycorisAdapter):
    """LoRA (LoCon on convs) with DoRA's weight decomposition: ``lora_up``/``lora_down`` + ``dora_scale``."""

    kind = "dora"

    def __init__(self, layer: nn.Module, rank: int, alpha: float, **kw):
        super().__init__(layer, rank, alpha, **kw)
        out_dim, in_dim, *kernel = self.shape
        self.lora_down = nn.Parameter(torch.empty(rank, in_dim, *kernel))
        self.lora_up = nn.Parameter(torch.zeros(out_dim, rank, *[1] * len(kernel)))
        nn.init.kaiming_uniform_(self.lora_down, a=math.sqrt(5))

    def delta(self) -> torch.Tensor:
        return lm.lora_delta(self.lora_up, self.lora_down, self.shape) * self.scale


class LohaAdapter(LycorisAdapter):
    """LoHa: ``hada_w1_a``, ``hada_w1_b``, ``hada_w2_a``, ``hada_w2_b`` (LyCORIS' init: w2_a = 0)."""

    kind = "loha"

    def __init__(self, layer: nn.Module, rank: int, alpha: float, **kw):
        super().__init__(layer, rank, alpha, **kw)
        out_dim, in_flat = self.shape[0], math.prod(self.shape[1:])
        self.hada_w1_a = nn.Parameter(torch.randn(out_dim, rank) * 0.1)
        self.hada_w1_b = nn.Parameter(torch.randn(rank, in_flat))
        self.hada_w2_a = nn.Parameter(torch.zeros(out_dim, rank))
        self.hada_w2_b = nn.Parameter(torch.randn(rank, in_flat))

    def delta(self) -> torch.Tensor:
        return lm.loha_delta(self.hada_w1_a, self.hada_w1_b, self.hada_w2_a, self.hada_w2_b, self.shape) * self.scale


class LokrAdapter(LycorisAdapter):
    """LoKr: ``kron(w1, w2)`` with LyCORIS' choice of full or low-rank sides (``factor``, ``decompose_both``,
    ``full_matrix``); a full ``w2`` is used when the rank is at least half its larger side."""

    kind = "lokr"

    def __init__(
        self,
        layer: nn.Module,
        rank: int,
        alpha: float,
        *,
        factor: int = -1,
        decompose_both: bool = False,
        full_matrix: bool = False,
        name: str = "",
        **kw,
    ):
        super().__init__(layer, rank, alpha, **kw)
        out_dim, in_dim, *kernel = self.shape
        out_l, out_k = check_factor(out_dim, factor, name, "output")
        in_m, in_n = check_factor(in_dim, factor, name, "input")
        kernel_size = math.prod(kernel) if kernel else 1
        if decompose_both and rank < max(out_l, in_m) / 2 and not full_matrix:
            self.lokr_w1_a = nn.Parameter(torch.empty(out_l, rank))
            self.lokr_w1_b = nn.Parameter(torch.empty(rank, in_m))
            nn.init.kaiming_uniform_(self.lokr_w1_a, a=math.sqrt(5))
            nn.init.kaiming_uniform_(self.lokr_w1_b, a=math.sqrt(5))
            self.full_w1 = False
        else:
            self.lokr_w1 = nn.Parameter(torch.empty(out_l, in_m))
            nn.init.kaiming_uniform_(self.lokr_w1, a=math.sqrt(5))
            self.full_w1 = True
        if rank < max(out_k, in_n) / 2 and not full_matrix:
            self.lokr_w2_a = nn.Parameter(torch.empty(out_k, rank))
            self.lokr_w2_b = nn.Parameter(torch.zeros(rank, in_n * kernel_size))
            nn.init.kaiming_uniform_(self.lokr_w2_a, a=math.sqrt(5))
            self.full_w2 = False
        else:
            self.lokr_w2 = nn.Parameter(torch.zeros(out_k, in_n, *kernel))
            self.full_w2 = True
        if self.full_w1 and self.full_w2:
            self.alpha = float(rank)  # LyCORIS: no alpha scale without a low-rank side (alpha written = rank)

    def delta(self) -> torch.Tensor:
        w1 = self.lokr_w1 if self.full_w1 else self.lokr_w1_a @ self.lokr_w1_b
        w2 = self.lokr_w2 if self.full_w2 else self.lokr_w2_a @ self.lokr_w2_b
        return lm.lokr_delta(w1, w2, self.shape) * self.scale


def check_factor(dimension: int, factor: int, name: str, side: str) -> tuple[int, int]:
    """LyCORIS' split of one side of a layer for LoKr; a factor that does not divide it is refused.

    LyCORIS itself silently falls back to another split then (so the file's shapes are not what was asked);
    lorakit says which layer and which factors would work.
    """
    if factor > 0 and dimension % factor:
        works = lm.working_factors(dimension)
        raise ConfigError(
            f"LoKr factor {factor} does not divide the {side} size {dimension} of layer {name or '?'}.",
            f"Set network.factor to -1 (automatic){' or to ' + ', '.join(map(str, works)) if works else ''}.",
            field="network.factor",
        )
    return lm.factorization(dimension, factor)


ADAPTERS: dict[str, type[LycorisAdapter]] = {"dora": LoraDoraAdapter, "loha": LohaAdapter, "lokr": LokrAdapter}
