"""Block swapping: which blocks leave the compute device, that only frozen weights move, and that each swapped
block is brought in right before it runs and sent back right after (again in a checkpointed backward)."""

from __future__ import annotations

import torch

from lorakit.models.tiny_flux import TRANSFORMER
from lorakit.train.block_swap import BlockSwap, enable_block_swap, swappable_blocks


def _transformer():
    from diffusers import FluxTransformer2DModel

    torch.manual_seed(0)
    model = FluxTransformer2DModel(**TRANSFORMER)
    model.requires_grad_(False)
    return model


def _inputs(batch=1, h=4, w=4, text=5):
    from lorakit.models.families.flux import image_ids

    g = torch.Generator().manual_seed(1)
    return dict(
        hidden_states=torch.randn(batch, (h // 2) * (w // 2), 64, generator=g),
        encoder_hidden_states=torch.randn(batch, text, 24, generator=g),
        pooled_projections=torch.randn(batch, 32, generator=g),
        timestep=torch.tensor([0.5] * batch),
        img_ids=image_ids(h, w),
        txt_ids=torch.zeros(text, 3),
        guidance=torch.tensor([1.0] * batch),
    )


class _Placing(BlockSwap):
    """Records where each frozen parameter is sent instead of sending it (a mocked device move)."""

    def __init__(self, *args, **kwargs):
        self.where: dict[int, str] = {}
        super().__init__(*args, **kwargs)

    def place(self, param, device):
        self.where[id(param)] = device.type


def test_only_the_last_blocks_and_only_frozen_weights_leave():
    model = _transformer()
    blocks = swappable_blocks(model)
    assert len(blocks) == 4  # 2 double + 2 single, in the order they run
    trainable = blocks[-1].proj_out.weight
    trainable.requires_grad_(True)  # stands in for a LoRA weight inside a swapped block
    swap = _Placing(blocks[-2:], device="cuda", offload="cpu")
    for block in blocks[:2]:
        assert not any(id(p) in swap.where for p in block.parameters())
    for block in blocks[-2:]:
        frozen = [p for p in block.parameters() if not p.requires_grad]
        assert frozen and all(swap.where[id(p)] == "cpu" for p in frozen)
    assert id(trainable) not in swap.where  # the trained weights (and their optimizer state) never move
    assert len(swap._handles) == 4
    swap._before(blocks[-1], ())
    assert all(swap.where[id(p)] == "cuda" for p in blocks[-1].parameters() if not p.requires_grad)
    assert all(swap.where[id(p)] == "cpu" for p in blocks[-2].parameters() if not p.requires_grad)


class _Recording(BlockSwap):
    """Records each block move (block, device) and moves nothing: a mocked GPU <-> CPU swap on a CPU."""

    def __init__(self, *args, **kwargs):
        self.log: list[tuple[int, str]] = []
        super().__init__(*args, **kwargs)

    def move(self, block, device):
        self.log.append((id(block), "in" if device == self.device else "out"))

    def place(self, param, device):
        raise AssertionError("not reached: move() is mocked")


def test_blocks_come_in_before_running_and_leave_after():
    model = _transformer()
    blocks = swappable_blocks(model)
    order: list[int] = []
    for block in blocks:
        block.register_forward_pre_hook(lambda b, a: order.append(id(b)))
    swap = _Recording(blocks[1:], device="cuda", offload="cpu")
    swap.log.clear()
    reference = _transformer()
    with torch.no_grad():
        out = model(**_inputs()).sample
        want = reference(**_inputs()).sample
    torch.testing.assert_close(out, want)  # the hooks change where weights sit, never the result
    ids = [id(b) for b in blocks[1:]]
    assert swap.log == [(i, d) for i in ids for d in ("in", "out")]
    assert [i for i in order if i in ids] == ids


def test_checkpointed_backward_brings_blocks_in_again():
    model = _transformer()
    blocks = swappable_blocks(model)
    lora_like = blocks[-1].proj_out.weight
    for block in blocks[-2:]:
        block.proj_out.weight.requires_grad_(True)  # trained weights in both swapped blocks: both get a backward
    model.enable_gradient_checkpointing()
    model.train()
    swap = _Recording(blocks[-2:], device="cuda", offload="cpu")
    swap.log.clear()
    model(**_inputs()).sample.square().mean().backward()
    assert lora_like.grad is not None and lora_like.grad.abs().sum() > 0
    for block in blocks[-2:]:  # the forward, and the recomputation in backward
        assert swap.log.count((id(block), "in")) == 2
    resident: set[int] = set()
    for block, where in swap.log:  # replay: never two swapped blocks on the device at once
        resident = resident | {block} if where == "in" else resident - {block}
        assert len(resident) <= 1
    assert len(swap.resident) <= 1


def test_cpu_only_is_a_no_op_that_says_so():
    model = _transformer()
    said: list[str] = []
    assert enable_block_swap(model, 2, "cpu", said.append) is None
    assert said and "does nothing on the CPU" in said[0]
    assert not hasattr(model, "lorakit_block_swap")
