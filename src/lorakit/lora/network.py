"""The trainable network: LoRA (attention/linear layers) and LoCon (plus 3×3 convs) injected with peft.

Targets follow sd-scripts so a file trained here has the modules people expect: in the UNet every
Linear and 1×1 conv inside the attention blocks (``Transformer2DModel``); with LoCon also every conv
inside ``ResnetBlock2D``/``Downsample2D``/``Upsample2D`` (3×3 at ``conv_rank``/``conv_alpha``, the
rest at ``rank``/``alpha``); in a CLIP text encoder every Linear in its attention and MLP blocks.

The network is read and written in kohya layout (see :mod:`lorakit.lora.kohya`): for each module
``lora_down`` = peft's ``lora_A``, ``lora_up`` = ``lora_B`` and the alpha. New network types register
a builder in :data:`NETWORK_TYPES`: LoHa, LoKr and DoRA are built by :mod:`lorakit.lora.lycoris_network`
(their own adapters, written in the LyCORIS key layout).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import nn

from lorakit.config.sections.network import NetworkSection
from lorakit.errors import ConfigError, ModelError
from lorakit.lora.blocks import BlockSettings, block_index
from lorakit.lora.keys import kohya_name
from lorakit.lora.lycoris_network import LYCORIS_KINDS, adapter_of, inject_lycoris

ADAPTER = "default"


def _net_default(name: str) -> Any:
    return NetworkSection.model_fields[name].get_default(call_default_factory=True)


# The network-section fields the block-wise settings are built from: BlockSettings.build's parameters of those names.
BLOCK_FIELDS = tuple(p for p in inspect.signature(BlockSettings.build).parameters if p not in ("conv_dim", "sdxl"))
# NetworkSettings fields whose network-section field has another name: the field → the config name.
NETWORK_RENAMED = {"kind": "type", "rank": "dim", "conv_rank": "conv_dim", "dropout": "network_dropout"}
# NetworkSettings fields made from several config fields, and from which (see NetworkSettings.from_config).
NETWORK_DERIVED = {
    "train_unet": ("train_text_encoder_only",),
    "train_text_encoder": ("train_unet_only", "learning.text_encoder_lr", "learning.learning_rate"),
    "blocks": BLOCK_FIELDS,
    "module_dims": ("dim_from_weights", "network_weights"),
}
# What an empty config value means here: no conv layers, no dropout; an empty conv_alpha follows conv_rank.
_NETWORK_NEUTRAL = {"conv_rank": 0, "dropout": 0.0, "rank_dropout": 0.0, "module_dropout": 0.0, "factor": -1}
# Kinds that put adapters on 3×3 convs when conv_rank is set.
CONV_KINDS = frozenset({"locon", "loha", "lokr", "dora"})


@dataclass
class NetworkSettings:
    """What to train: the network type, its size and which components.

    The defaults are the network section's (:meth:`from_config` builds the same from a default config), except
    ``train_text_encoder``: a default config trains the text encoder (its learning rate is not 0), a hand-made
    NetworkSettings trains the UNet only.
    """

    kind: str = _net_default("type")  # lora | locon | loha | lokr | dora
    rank: int = _net_default("dim")
    alpha: float = float(_net_default("alpha"))
    conv_rank: int = _NETWORK_NEUTRAL["conv_rank"]  # LoCon's 3×3 convs; 0 = no conv layers
    conv_alpha: float = 1.0  # the config's empty conv_alpha = conv_rank, or 1 without conv layers
    dropout: float = _NETWORK_NEUTRAL["dropout"]
    train_unet: bool = not _net_default("train_text_encoder_only")
    train_text_encoder: bool = False
    # Only layers with these names (``to_q``, ``ff.net.2``, or a full path); empty = the usual targets.
    target_modules: tuple[str, ...] = tuple(_net_default("target_modules"))
    # Per-block ranks, alphas and learning-rate weights of the UNet (see lorakit.lora.blocks).
    blocks: BlockSettings = field(default_factory=BlockSettings)
    # sd-scripts' rank dropout (drop rank components per sample, rescale) and module dropout (skip a whole
    # module), both only while training.
    rank_dropout: float = _NETWORK_NEUTRAL["rank_dropout"]
    module_dropout: float = _NETWORK_NEUTRAL["module_dropout"]
    # dim_from_weights: {kohya name: (rank, alpha)} read from network_weights; only these modules are built.
    module_dims: dict[str, tuple[int, float]] | None = None
    # LyCORIS: LoKr's split of each layer (-1 = the most balanced), its low-rank/full choices, and DoRA's weight
    # decomposition on LoRA/LoHa/LoKr (kind "dora" is LoRA with it).
    factor: int = _NETWORK_NEUTRAL["factor"]
    decompose_both: bool = False
    full_matrix: bool = False
    dora_wd: bool = False

    @classmethod
    def from_config(cls, cfg: Any, *, sdxl: bool = False) -> NetworkSettings:
        """The network a :class:`~lorakit.config.schema.TrainConfig` trains, read from its network section by
        field name; ``sdxl`` picks sd-scripts' SDXL block layout for the block-wise settings."""
        n = cfg.network
        if n.dim_from_weights and not n.network_weights:
            raise ConfigError(
                "dim_from_weights is on, but no network_weights file is set to take the rank and alpha from.",
                "Set network_weights to the LoRA file to continue from, or turn dim_from_weights off.",
                field="dim_from_weights",
            )
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = NETWORK_RENAMED.get(f.name, f.name)
            if f.name not in NETWORK_DERIVED and name in type(n).model_fields:
                value = getattr(n, name)
                values[f.name] = _NETWORK_NEUTRAL[f.name] if value is None and f.name in _NETWORK_NEUTRAL else value
        kind, conv_rank = str(values["kind"]).lower(), values["conv_rank"]
        if kind in ("lora", "locon") and values.get("dora_wd"):
            kind = "dora"  # LyCORIS: algo lora with dora_wd
        if kind == "lora" and conv_rank:
            kind = "locon"  # sd-scripts: networks.lora with conv_dim is LoCon
        te_lr = cfg.learning.text_encoder_lr
        te_lr = cfg.learning.learning_rate if te_lr is None else te_lr
        values.update(
            kind=kind,
            alpha=float(n.dim if values["alpha"] is None else values["alpha"]),
            conv_alpha=float(conv_rank or 1 if values["conv_alpha"] is None else values["conv_alpha"]),
            target_modules=tuple(values["target_modules"] or ()),
            train_unet=not n.train_text_encoder_only,
            train_text_encoder=not n.train_unet_only and te_lr != 0,
            blocks=BlockSettings.build(
                **{name: getattr(n, name) for name in BLOCK_FIELDS}, conv_dim=conv_rank, sdxl=sdxl
            ),
            module_dims=dims_from_weights(n.network_weights) if n.dim_from_weights and n.network_weights else None,
        )
        return cls(**values)


@dataclass
class ComponentTargets:
    """Where a family's component gets LoRA modules and how its kohya names are spelled."""

    name: str  # unet | te | te1 | te2
    prefix: str  # lora_unet | lora_te | lora_te1 | lora_te2
    containers: tuple[str, ...]  # classes whose Linear / 1×1 conv layers get LoRA
    conv_containers: tuple[str, ...] = ()  # classes whose convs get LoCon (3×3 at conv_rank)
    name_path: Callable[[str], str] | None = None  # module path → path used in the kohya name (SGM for SDXL)
    skip: Callable[[str], bool] | None = None  # module paths inside the containers left out (Flux modulation)

    def kohya_name(self, module_path: str) -> str:
        return kohya_name(self.prefix, self.name_path(module_path) if self.name_path else module_path)


@dataclass
class Target:
    path: str
    rank: int
    alpha: float
    kohya: str
    lr_weight: float = 1.0  # the block's learning-rate multiplier (down/mid/up_lr_weight)


def _wanted(path: str, names: tuple[str, ...]) -> bool:
    return not names or any(path == name or path.endswith(f".{name}") for name in names)


def find_targets(model: nn.Module, spec: ComponentTargets, settings: NetworkSettings) -> list[Target]:
    """The modules of ``model`` that get a LoRA, with their rank and alpha, in model order."""
    found: dict[str, Target] = {}
    blocks = settings.blocks if spec.name == "unet" else BlockSettings()
    use_conv = (
        (settings.kind in CONV_KINDS and settings.conv_rank > 0)
        or blocks.conv_enabled
        or settings.module_dims is not None
    )
    for owner_path, owner in model.named_modules():
        kind = type(owner).__name__
        in_attention = kind in spec.containers
        in_conv_block = use_conv and kind in spec.conv_containers
        if not (in_attention or in_conv_block):
            continue
        for sub_path, module in owner.named_modules():
            if not sub_path:
                continue
            path = f"{owner_path}.{sub_path}" if owner_path else sub_path
            if path in found or not _wanted(path, settings.target_modules):
                continue
            if spec.skip is not None and spec.skip(path):
                continue
            linear = isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1))
            if not (linear or (isinstance(module, nn.Conv2d) and in_conv_block)):
                continue
            name = spec.kohya_name(path)
            block = block_index(name) if spec.name == "unet" else -1
            if linear:
                rank, alpha = blocks.linear(block, settings.rank, settings.alpha)
            else:
                rank, alpha = blocks.conv(block, settings.conv_rank, settings.conv_alpha)
            if settings.module_dims is not None:
                # dim_from_weights: the file decides which modules exist and their sizes.
                if name not in settings.module_dims:
                    continue
                rank, alpha = settings.module_dims[name]
            weight = blocks.lr_weight(block)
            if rank <= 0 or weight == 0:
                continue  # sd-scripts builds no module for a rank-0 block or a block whose learning rate is 0
            found[path] = Target(path, rank, alpha, name, weight)
    return list(found.values())


def _inject_lora(model: nn.Module, targets: list[Target], settings: NetworkSettings) -> None:
    from peft import LoraConfig, inject_adapter_in_model

    paths = [t.path for t in targets]
    # Per-module ranks/alphas only where they differ from the default (the LoCon convs); the pattern
    # is anchored by peft as "(.*\.)?<pattern>$", so a full path names one module.
    ranks = {t.path: t.rank for t in targets if t.rank != settings.rank}
    alphas = {t.path: t.alpha for t in targets if t.alpha != settings.alpha}
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=paths,
        rank_pattern=ranks,
        alpha_pattern=alphas,
        init_lora_weights=True,  # kohya and peft agree: up (B) starts at zero, so training starts at the base model
    )
    inject_adapter_in_model(config, model, adapter_name=ADAPTER)
    if settings.rank_dropout or settings.module_dropout:
        for t in targets:
            down = model.get_submodule(t.path).lora_A[ADAPTER]
            down.register_forward_hook(_dropout_hook(settings.rank_dropout, settings.module_dropout))


def _dropout_hook(rank_dropout: float, module_dropout: float):
    """A forward hook on a module's ``lora_A`` (down) output applying sd-scripts' rank and module dropout.

    As ``networks.lora.LoRAModule.forward``: in training only, with probability ``module_dropout`` the whole
    module adds nothing this call; otherwise each of the ``rank`` components of the down output is zeroed per
    sample with probability ``rank_dropout`` and the rest scaled by ``1 / (1 - rank_dropout)``. The up
    projection is linear, so zeroing its input equals zeroing the module's output.
    """

    def hook(module: nn.Module, inputs, output: torch.Tensor):
        if not module.training:
            return None
        if module_dropout and torch.rand(1).item() < module_dropout:
            return output * 0.0
        if not rank_dropout:
            return None
        # Linear: (B, r) or (B, L, r); conv: (B, r, H, W) — the rank is the last axis or axis 1.
        rank_axis = 1 if output.ndim == 4 else output.ndim - 1
        keep = torch.rand(output.shape[0], output.shape[rank_axis], device=output.device) > rank_dropout
        shape = [output.shape[0]] + [1] * (output.ndim - 1)
        shape[rank_axis] = output.shape[rank_axis]
        return output * keep.view(shape).to(output.dtype) / (1.0 - rank_dropout)

    return hook


NETWORK_TYPES: dict[str, Callable[[nn.Module, list[Target], NetworkSettings], None]] = {
    "lora": _inject_lora,
    "locon": _inject_lora,
    **dict.fromkeys(sorted(LYCORIS_KINDS), inject_lycoris),
}


def _is_adapter_parameter(name: str) -> bool:
    return "lora_" in name or ".lycoris." in name or name.startswith("lycoris.")


@dataclass
class LoraNetwork:
    """The injected adapters of every trained component, readable and writable in kohya layout."""

    settings: NetworkSettings
    components: dict[str, nn.Module] = field(default_factory=dict)
    targets: dict[str, list[Target]] = field(default_factory=dict)

    def _layer(self, component: str, path: str) -> nn.Module:
        return self.components[component].get_submodule(path)

    def parameters_by_component(self) -> dict[str, list[nn.Parameter]]:
        """Trainable parameters per component, for separate learning rates (unet, te, te1, te2)."""
        groups: dict[str, list[nn.Parameter]] = {}
        for name, model in self.components.items():
            groups[name] = [p for n, p in model.named_parameters() if _is_adapter_parameter(n) and p.requires_grad]
        return groups

    def parameters(self) -> list[nn.Parameter]:
        return [p for group in self.parameters_by_component().values() for p in group]

    def named_parameters_by_lr_weight(self, component: str) -> dict[float, list[tuple[str, nn.Parameter]]]:
        """A component's trainable parameters grouped by their block's learning-rate weight (1.0 without
        down/mid/up_lr_weight), for one optimizer group per weight."""
        model = self.components[component]
        weights = {t.path: t.lr_weight for t in self.targets.get(component, [])}
        groups: dict[float, list[tuple[str, nn.Parameter]]] = {}
        for path, module in model.named_modules():
            if path not in weights:
                continue
            for name, p in module.named_parameters(prefix=path):
                if _is_adapter_parameter(name) and p.requires_grad:
                    groups.setdefault(weights[path], []).append((name, p))
        return groups

    def kohya_state_dict(self, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        """``{name.lora_down.weight, name.lora_up.weight, name.alpha}`` for every module, with the real alpha."""
        out: dict[str, torch.Tensor] = {}
        for component, targets in self.targets.items():
            for t in targets:
                layer = self._layer(component, t.path)
                adapter = adapter_of(layer)
                if adapter is not None:
                    for suffix, value in adapter.kohya_tensors().items():
                        out[f"{t.kohya}.{suffix}"] = value.to(dtype or value.dtype).cpu().contiguous()
                    continue
                down = layer.lora_A[ADAPTER].weight.detach()
                up = layer.lora_B[ADAPTER].weight.detach()
                out[f"{t.kohya}.lora_down.weight"] = down.to(dtype or down.dtype).cpu().contiguous()
                out[f"{t.kohya}.lora_up.weight"] = up.to(dtype or up.dtype).cpu().contiguous()
                out[f"{t.kohya}.alpha"] = torch.tensor(float(t.alpha), dtype=dtype or torch.float32)
        return out

    def load_kohya_state_dict(self, tensors: dict[str, torch.Tensor], *, source: str = "the LoRA file") -> int:
        """Copy weights from a kohya state dict into the adapters (start from an existing LoRA).

        A module whose file alpha/rank differs from ours is rescaled so the applied delta is unchanged.
        Returns the number of modules loaded.
        """
        loaded = 0
        for component, targets in self.targets.items():
            for t in targets:
                layer = self._layer(component, t.path)
                adapter = adapter_of(layer)
                if adapter is not None:
                    prefix = f"{t.kohya}."
                    mine = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
                    if mine:
                        adapter.load_kohya_tensors(mine, t.kohya)
                        loaded += 1
                    continue
                down = tensors.get(f"{t.kohya}.lora_down.weight")
                up = tensors.get(f"{t.kohya}.lora_up.weight")
                if down is None or up is None:
                    continue
                a, b = layer.lora_A[ADAPTER].weight, layer.lora_B[ADAPTER].weight
                if a.shape != down.shape or b.shape != up.shape:
                    raise ConfigError(
                        f"{source} has rank {down.shape[0]} at {t.kohya}, but the network is set to rank {t.rank}.",
                        f"Set the network rank (network_dim) to {down.shape[0]} to continue from this LoRA.",
                        field="network_dim",
                    )
                file_alpha = float(tensors.get(f"{t.kohya}.alpha", torch.tensor(float(down.shape[0]))))
                rescale = (file_alpha / down.shape[0]) / (t.alpha / t.rank)
                with torch.no_grad():
                    a.copy_(down.to(a.dtype))
                    b.copy_((up.float() * rescale).to(b.dtype))
                loaded += 1
        if loaded == 0:
            raise ModelError(
                f"None of the modules in {source} match this model.",
                "Check that the LoRA was trained for the same model family (SD1, SD2 or SDXL).",
            )
        return loaded


def build_network(
    components: dict[str, nn.Module], specs: dict[str, ComponentTargets], settings: NetworkSettings
) -> LoraNetwork:
    """Inject the adapters into each component listed in ``specs`` and freeze everything else."""
    if settings.kind not in NETWORK_TYPES:
        raise ConfigError(
            f"Unknown network type {settings.kind!r}.",
            f"Use one of: {', '.join(sorted(NETWORK_TYPES))}.",
            field="network_module",
        )
    network = LoraNetwork(settings)
    for name, model in components.items():
        model.requires_grad_(False)
        if name not in specs:
            continue
        targets = find_targets(model, specs[name], settings)
        if not targets:
            raise ModelError(f"Found no layers to train in the {name}.", "Check the model family of the base model.")
        NETWORK_TYPES[settings.kind](model, targets, settings)
        network.components[name] = model
        network.targets[name] = targets
    return network


def dims_from_weights(path) -> dict[str, tuple[int, float]]:
    """``dim_from_weights``: each module's rank and alpha in a kohya LoRA file, by kohya name.

    As sd-scripts' ``create_network_from_weights``: the network gets exactly the file's modules, each with
    the file's rank and alpha (a missing alpha counts as alpha = rank), so the file loads without rescaling.
    """
    from lorakit.lora.kohya import load_lora_file
    from lorakit.lora.modules import group_modules

    modules, _ = group_modules(load_lora_file(path).tensors)
    dims = {name: (m.rank, m.alpha) for name, m in modules.items() if m.rank}
    if not dims:
        raise ModelError(
            f"{path} holds no LoRA modules to take the rank from.",
            "Point network_weights at a kohya LoRA file, or turn off dim_from_weights and set dim and alpha.",
        )
    return dims
