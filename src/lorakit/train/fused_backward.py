"""The fused backward pass (``memory.fused_backward_pass``): Adafactor updates each parameter inside backward.

As sd-scripts' ``--fused_backward_pass`` (sdxl_train.py with library/adafactor_fused.py): every trained
parameter gets a post-accumulate-grad hook that, as soon as its gradient is complete, clips that gradient
(``optimizer.max_grad_norm``, applied to *each parameter on its own*, not to the norm of all gradients
together: this is sd-scripts' behaviour and the one difference from the unfused step), takes one
Adafactor step for that parameter alone and frees the gradient. So at no time do all gradients exist at
once: that is the memory saved. The LR schedule is still stepped once per optimizer step by the loop.

The per-parameter step below is the body of ``transformers.optimization.Adafactor.step`` for one
parameter, built on Adafactor's own static helpers, and it keeps the same state (``step``, ``RMS``,
``exp_avg_sq_row``/``exp_avg_sq_col`` or ``exp_avg_sq``, ``exp_avg``) in ``optimizer.state``, so a
checkpoint saved by a fused run resumes a plain one and the other way round.

Only what validation lets through reaches here (config/checks_training.py): the Adafactor optimizer,
``gradient_accumulation_steps`` = 1 (a hook fires on every backward), one process (gradients are not
averaged across processes before the update) and no fp16 loss scaling.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lorakit.errors import TrainingError


def _inner(optimizer: Any) -> torch.optim.Optimizer:
    return getattr(optimizer, "optimizer", optimizer)  # accelerate wraps the optimizer


@torch.no_grad()
def adafactor_step_param(optimizer: torch.optim.Optimizer, p: torch.Tensor, group: dict[str, Any]) -> None:
    """One Adafactor update of ``p`` alone from ``p.grad`` (the math of transformers' ``Adafactor.step``)."""
    from transformers.optimization import Adafactor

    if p.grad is None:
        return
    grad = p.grad
    if grad.dtype in {torch.float16, torch.bfloat16}:
        grad = grad.float()
    if grad.is_sparse:
        raise TrainingError("Adafactor does not support sparse gradients.", "Turn off memory.fused_backward_pass.")
    state = optimizer.state[p]
    shape = grad.shape
    factored, use_first_moment = Adafactor._get_options(group, shape)
    if len(state) == 0:
        state["step"] = 0
        if use_first_moment:
            state["exp_avg"] = torch.zeros_like(grad)
        if factored:
            state["exp_avg_sq_row"] = torch.zeros(shape[:-1]).to(grad)
            state["exp_avg_sq_col"] = torch.zeros(shape[:-2] + shape[-1:]).to(grad)
        else:
            state["exp_avg_sq"] = torch.zeros_like(grad)
        state["RMS"] = 0
    else:  # a restored state may sit on another device or dtype
        for key in ("exp_avg", "exp_avg_sq_row", "exp_avg_sq_col", "exp_avg_sq"):
            if key in state:
                state[key] = state[key].to(grad)

    weights = p.float() if p.dtype in {torch.float16, torch.bfloat16} else p
    state["step"] += 1
    state["RMS"] = Adafactor._rms(weights)
    lr = Adafactor._get_lr(group, state)

    beta2t = 1.0 - math.pow(state["step"], group["decay_rate"])
    update = (grad**2) + group["eps"][0]
    if factored:
        row, col = state["exp_avg_sq_row"], state["exp_avg_sq_col"]
        row.mul_(beta2t).add_(update.mean(dim=-1), alpha=1.0 - beta2t)
        col.mul_(beta2t).add_(update.mean(dim=-2), alpha=1.0 - beta2t)
        update = Adafactor._approx_sq_grad(row, col).mul_(grad)
    else:
        exp_avg_sq = state["exp_avg_sq"]
        exp_avg_sq.mul_(beta2t).add_(update, alpha=1.0 - beta2t)
        update = exp_avg_sq.rsqrt().mul_(grad)
    update.div_((Adafactor._rms(update) / group["clip_threshold"]).clamp_(min=1.0))
    update.mul_(lr)
    if use_first_moment:
        exp_avg = state["exp_avg"]
        exp_avg.mul_(group["beta1"]).add_(update, alpha=1 - group["beta1"])
        update = exp_avg
    if group["weight_decay"] != 0:
        weights.add_(weights, alpha=-group["weight_decay"] * lr)
    weights.add_(-update)
    if weights is not p:
        p.copy_(weights)


class FusedBackward:
    """Hooks that step Adafactor per parameter during backward; ``remove()`` takes them off again.

    ``param_steps`` counts the per-parameter updates made (tests and the settings table read it).
    """

    def __init__(self, optimizer: Any, max_grad_norm: float | None = None):
        from transformers.optimization import Adafactor

        self.optimizer = _inner(optimizer)
        if not isinstance(self.optimizer, Adafactor):
            raise TrainingError(
                f"The fused backward pass needs transformers' Adafactor, not {type(self.optimizer).__name__}.",
                "Set optimizer.optimizer_type = 'Adafactor', or turn off memory.fused_backward_pass.",
            )
        self.max_grad_norm = max_grad_norm or 0.0
        self.param_steps = 0
        self._handles = []
        for index, group in enumerate(self.optimizer.param_groups):
            for param in group["params"]:
                if param.requires_grad:
                    self._handles.append(param.register_post_accumulate_grad_hook(self._hook(index)))

    def _hook(self, index: int):
        # The group is looked up when the hook fires: loading a state (resume) replaces the group dicts, and
        # the LR schedule writes each step's rate into the current ones.
        def step_now(param: torch.Tensor) -> None:
            if self.max_grad_norm:  # this parameter's gradient alone, as sd-scripts
                torch.nn.utils.clip_grad_norm_(param, self.max_grad_norm)
            adafactor_step_param(self.optimizer, param, self.optimizer.param_groups[index])
            param.grad = None  # freed at once: the memory saving
            self.param_steps += 1

        return step_now

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
