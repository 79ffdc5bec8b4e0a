"""Settings lorakit's own trainer does not do yet: refused up front, before any model loads.

The sd-scripts export keeps them (sd-scripts can train them); a lorakit run with a non-default value
stops at validation with a message that says what is missing and which issue brings it. Every field
labelled ``effect="refused"`` is listed here (tests/config/test_effects.py checks both ways).
"""

from __future__ import annotations

from typing import Any

from lorakit.config.report import ValidationReport

_LYCORIS = "IA3, DyLoRA and full networks and LyCORIS' Tucker, scalar and norm training are not built yet"
# Flux LoRAs are written fused in sd-scripts' layout (lora/flux_keys.py), which has no LyCORIS form yet.
FLUX_LYCORIS = "{what} networks are not available for Flux in lorakit's trainer yet (only LoRA is)"
FLUX_LYCORIS_FIX = "Set network.type = 'lora' (and dora_wd = false) for Flux, or train LoHa/LoKr/DoRA on SD1/SD2/SDXL."
_MULTI_MACHINE = "multi-machine and FSDP training are not available in lorakit's trainer yet"

# field path -> (what is missing, when it comes)
REFUSED: dict[str, str] = {
    "network.dylora_unit": _LYCORIS,
    "network.train_norm": _LYCORIS,
    "network.use_tucker": _LYCORIS,
    "network.use_scalar": _LYCORIS,
    "multigpu.num_machines": _MULTI_MACHINE,
    "multigpu.machine_rank": _MULTI_MACHINE,
    "multigpu.main_process_ip": _MULTI_MACHINE,
    "multigpu.main_process_port": _MULTI_MACHINE,
    "multigpu.fsdp": _MULTI_MACHINE,
}
# Network types the trainer builds; the others are refused like the fields above.
BUILT_NETWORK_TYPES = ("lora", "locon", "loha", "lokr", "dora")


def _value(cfg: Any, path: str) -> Any:
    section, name = path.split(".")
    return getattr(getattr(cfg, section), name)


def _default(cfg: Any, path: str) -> Any:
    section, name = path.split(".")
    info = type(getattr(cfg, section)).model_fields[name]
    return info.get_default(call_default_factory=True)


def trainer_refusals(cfg: Any, report: ValidationReport | None = None) -> ValidationReport:
    """Problems for every setting lorakit's trainer cannot honour yet (the sd-scripts export is not affected)."""
    report = report or ValidationReport()
    kind = str(cfg.network.type)
    if kind not in BUILT_NETWORK_TYPES:
        report.problem(
            "network.type",
            f"lorakit's trainer cannot train network type {kind!r} yet: {_LYCORIS}.",
            f"Use network.type = {' / '.join(repr(t) for t in BUILT_NETWORK_TYPES)}, or train it with sd-scripts"
            " (`lorakit config export FILE --kohya FOLDER`).",
        )
    for path, why in REFUSED.items():
        value = _value(cfg, path)
        if value != _default(cfg, path):
            report.problem(
                path,
                f"{path} = {value!r} is not available in lorakit's trainer yet: {why}.",
                f"Remove {path} (or set it back to {_default(cfg, path)!r}), or train with sd-scripts"
                " (`lorakit config export FILE --kohya FOLDER`).",
            )
    _fused_backward(cfg, report)
    _lycoris(cfg, report)
    return report


def _lycoris(cfg: Any, report: ValidationReport) -> None:
    """What lorakit's LyCORIS networks (LoHa, LoKr, DoRA: lora/lycoris_network.py) do not do."""
    net = cfg.network
    kind = str(net.type)
    if kind not in ("loha", "lokr", "dora") and not net.dora_wd:
        return
    what = "DoRA" if kind in ("lora", "locon") else kind
    if str(cfg.model.family) == "flux":
        report.problem("network.type", FLUX_LYCORIS.format(what=what), FLUX_LYCORIS_FIX)
    if net.scale_weight_norms is not None:
        report.problem(
            "network.scale_weight_norms",
            f"scale_weight_norms is not available in lorakit's trainer for {what} networks yet: its max-norm"
            " scaling works on a LoRA's up/down factors.",
            "Remove network.scale_weight_norms, or train a plain LoRA/LoCon.",
        )
    ratios = ("loraplus_lr_ratio", "loraplus_unet_lr_ratio", "loraplus_text_encoder_lr_ratio")
    if kind in ("loha", "lokr") and any(getattr(cfg.optimizer, n) is not None for n in ratios):
        report.problem(
            "optimizer.loraplus_lr_ratio",
            f"LoRA+ learning-rate ratios act on a LoRA's up factors; a {kind} network has none, so they would"
            " change nothing (LyCORIS ignores them too).",
            "Remove the loraplus ratios, or train a LoRA, LoCon or DoRA network.",
        )
    if net.network_dropout:
        report.problem(
            "network.network_dropout",
            f"network_dropout is not available for {what} networks (LyCORIS applies none to them either).",
            "Remove network.network_dropout; rank_dropout and module_dropout work with every type.",
        )


def _fused_backward(cfg: Any, report: ValidationReport) -> None:
    """What lorakit's fused backward pass (train/fused_backward.py) cannot do beyond sd-scripts' own checks
    (Adafactor, no gradient accumulation: config/checks_training.py)."""
    if not cfg.memory.fused_backward_pass:
        return
    if cfg.multigpu.num_processes > 1:
        report.problem(
            "memory.fused_backward_pass",
            f"fused_backward_pass works in one process only (this run has {cfg.multigpu.num_processes}): each"
            " weight is updated before the gradients of the other processes could be averaged into it.",
            "Train with one process (multigpu.num_processes = 1, or `--gpus 1`), or turn off fused_backward_pass.",
        )
    if str(cfg.memory.mixed_precision) == "fp16":
        report.problem(
            "memory.fused_backward_pass",
            "fused_backward_pass cannot be combined with fp16 mixed precision: fp16 scales the loss and checks"
            " the gradients of the whole model before a step, and the fused pass steps each weight on its own.",
            "Set memory.mixed_precision = 'bf16' (or 'no'), or turn off fused_backward_pass.",
        )
