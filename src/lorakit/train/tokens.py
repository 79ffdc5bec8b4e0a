"""Long prompts: captions of up to 150 or 225 tokens, cut into 77-token blocks for CLIP as sd-scripts does.

Public functions (stable):

- ``chunk_token_ids(ids, max_length, bos, eos, pad) -> LongTensor (n_chunks, 77)``
- ``chunk_tokenized(input_ids, eos, pad) -> LongTensor (B, n_chunks, 77)``: the same for a tokenizer's batch
  output (``padding="max_length", truncation=True, max_length=75·n + 2``)
- ``join_chunk_states(states, n_chunks) -> Tensor (B, 2 + 75·n_chunks, D)``
- ``join_chunk_pooled(pooled, n_chunks) -> Tensor (B, D)`` (SDXL pooled output: the first block's)
- ``chunk_count(max_length) -> int``

CLIP reads 77 tokens: BOS, 75 tokens, EOS. With ``max_token_length`` 150 or 225, sd-scripts tokenizes the
caption to ``max_length + 2`` tokens (BOS, up to ``max_length`` tokens, EOS, padding), cuts the middle into
blocks of 75 and gives each block its own BOS and EOS (``BaseDataset.get_input_ids``). Each block goes
through the text encoder on its own; the outputs are joined back by keeping the first block's BOS state,
every block's 75 middle states, and the last block's final state (``get_hidden_states``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lorakit.errors import ConfigError

CLIP_LENGTH = 77
_BLOCK = CLIP_LENGTH - 2  # tokens between BOS and EOS


def chunk_count(max_length: int | None) -> int:
    """How many 77-token blocks a ``max_token_length`` needs: 75 → 1, 150 → 2, 225 → 3."""
    if max_length is None:
        return 1
    if max_length not in (75, 150, 225):
        raise ConfigError(
            f"max_token_length is {max_length}.",
            "Use 75 (the default), 150 or 225 tokens.",
            field="max_token_length",
        )
    return max_length // _BLOCK


def chunk_token_ids(ids: Sequence[int] | torch.Tensor, max_length: int, bos: int, eos: int, pad: int) -> torch.Tensor:
    """Token ids of one caption (without BOS/EOS) → ``(n_chunks, 77)`` blocks, each ``BOS … EOS``.

    The caption is first laid out as the tokenizer would with ``max_length + 2`` and truncation:
    ``BOS, ids[:max_length], EOS, pad…``; then cut as :func:`chunk_tokenized` does.
    """
    chunk_count(max_length)
    body = [int(i) for i in (ids.tolist() if isinstance(ids, torch.Tensor) else ids)][:max_length]
    layout = torch.tensor([bos, *body, eos] + [pad] * (max_length - len(body)), dtype=torch.long)
    return chunk_tokenized(layout[None], eos, pad)[0]


def chunk_tokenized(input_ids: torch.Tensor, eos: int, pad: int) -> torch.Tensor:
    """A tokenizer's output ``(B, 75·n + 2)`` (``padding="max_length"``, truncation) → ``(B, n, 77)``.

    Each block takes 75 ids between the caption's BOS and the layout's last token (sd-scripts'
    ``get_input_ids``). When ``pad`` differs from ``eos`` (SD 2.x, SDXL's second encoder) a block that ends
    mid-text gets an EOS, and an all-padding block becomes ``BOS EOS pad…``. With ``pad == eos`` (SD 1.x)
    those rules change nothing. One block (77 ids) is returned as it is.
    """
    length = input_ids.shape[-1]
    if (length - 2) % _BLOCK or length < CLIP_LENGTH:
        raise ValueError(f"expected 75·n + 2 token ids per caption, got {length}")
    n = (length - 2) // _BLOCK
    blocks = []
    for k in range(n):
        start = 1 + k * _BLOCK
        block = torch.cat([input_ids[:, :1], input_ids[:, start : start + _BLOCK], input_ids[:, -1:]], dim=1)
        if n > 1:
            block = block.clone()
            mid_text = (block[:, -2] != eos) & (block[:, -2] != pad)
            block[mid_text, -1] = eos  # the text runs past this block: close it with EOS
            block[block[:, 1] == pad, 1] = eos  # an empty block: BOS EOS pad…
        blocks.append(block)
    return torch.stack(blocks, dim=1)


def join_chunk_states(states: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """Encoder outputs of the blocks → one sequence: ``(B·n, 77, D)`` or ``(B, n·77, D)`` → ``(B, 2 + 75·n, D)``.

    Keeps the first block's BOS state, the 75 middle states of every block (their own BOS and EOS states
    dropped), and the last block's last state (EOS or padding), as sd-scripts' ``get_hidden_states``.
    With one block the states are returned unchanged.
    """
    if states.ndim != 3:
        raise ValueError(f"expected states of shape (B*n, 77, D) or (B, n*77, D), got {tuple(states.shape)}")
    width = states.shape[-1]
    states = states.reshape(-1, n_chunks * CLIP_LENGTH, width)
    if n_chunks == 1:
        return states
    parts = [states[:, :1]]
    for k in range(n_chunks):
        start = 1 + k * CLIP_LENGTH
        parts.append(states[:, start : start + _BLOCK])
    parts.append(states[:, -1:])
    return torch.cat(parts, dim=1)


def join_chunk_pooled(pooled: torch.Tensor, n_chunks: int) -> torch.Tensor:
    """Pooled outputs ``(B·n, D)`` → ``(B, D)``: the first block's, as sd-scripts does for SDXL (``pool2[::n]``)."""
    return pooled[::n_chunks]
