"""Weighted captions (``weighted_captions``): A1111 prompt weights in captions, as sd-scripts reads them.

Syntax (A1111's ``parse_prompt_attention``, which sd-scripts copies): ``(word)`` × 1.1, ``[word]`` ÷ 1.1,
``(word:1.3)`` × 1.3, nesting multiplies (``((word))`` = 1.21), ``\\(`` ``\\)`` ``\\[`` ``\\]`` ``\\\\`` are
literal characters, an unclosed bracket applies to the end of the text. The brackets and weights are not
part of the text the encoder reads: only the cleaned text is tokenized.

Encoding (sd-scripts' ``get_prompts_with_weights`` + ``get_weighted_text_embeddings``): each piece is
tokenized on its own and every token takes its piece's weight; BOS, EOS and padding have weight 1; long
captions are cut into 77-token blocks exactly like unweighted ones (:mod:`lorakit.train.tokens`). The
encoder's hidden states are multiplied by their token's weight, then rescaled per caption so that their
mean is what it was before weighting (so weights move emphasis between tokens instead of the overall
scale). For SDXL the weights of the first tokenizer (both share CLIP's vocabulary) apply to the joined
hidden states of both encoders; the pooled embedding is not weighted (as sd-scripts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

_ATTENTION = re.compile(
    r"""
\\\(|
\\\)|
\\\[|
\\]|
\\\\|
\\|
\(|
\[|
:([+-]?[.\d]+)\)|
\)|
]|
[^\\()\[\]:]+|
:
""",
    re.X,
)
ROUND = 1.1
SQUARE = 1 / 1.1


def parse_weights(text: str) -> list[tuple[str, float]]:
    """``"a (b:1.3) [c]"`` → ``[("a ", 1.0), ("b", 1.3), (" ", 1.0), ("c", 1/1.1)]`` (A1111's rules)."""
    res: list[list] = []
    round_open: list[int] = []
    square_open: list[int] = []

    def multiply(start: int, factor: float) -> None:
        for p in range(start, len(res)):
            res[p][1] *= factor

    for m in _ATTENTION.finditer(text):
        piece, weight = m.group(0), m.group(1)
        if piece.startswith("\\"):
            res.append([piece[1:], 1.0])
        elif piece == "(":
            round_open.append(len(res))
        elif piece == "[":
            square_open.append(len(res))
        elif weight is not None and round_open:
            multiply(round_open.pop(), float(weight))
        elif piece == ")" and round_open:
            multiply(round_open.pop(), ROUND)
        elif piece == "]" and square_open:
            multiply(square_open.pop(), SQUARE)
        else:
            res.append([piece, 1.0])
    for pos in round_open:
        multiply(pos, ROUND)
    for pos in square_open:
        multiply(pos, SQUARE)
    if not res:
        res = [["", 1.0]]
    merged = [res[0]]
    for piece, weight in res[1:]:
        if weight == merged[-1][1]:
            merged[-1][0] += piece
        else:
            merged.append([piece, weight])
    return [(piece, float(weight)) for piece, weight in merged]


def clean_text(text: str) -> str:
    """The caption without weight syntax: what the text encoder reads."""
    return "".join(piece for piece, _ in parse_weights(text))


def split_tags(text: str, sep: str) -> list[str]:
    """Tags split at ``sep`` outside brackets, so a weighted group ``(a, b:1.2)`` stays one tag."""
    tags, depth, current, i = [], 0, [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        if depth == 0 and text.startswith(sep, i):
            tags.append("".join(current))
            current = []
            i += len(sep)
            continue
        current.append(ch)
        i += 1
    tags.append("".join(current))
    return [t.strip() for t in tags if t.strip()]


def tokens_with_weights(tokenizer, text: str, max_length: int) -> tuple[list[int], list[float]]:
    """Token ids (without BOS/EOS) of the cleaned caption, piece by piece, and each token's weight."""
    ids: list[int] = []
    weights: list[float] = []
    for piece, weight in parse_weights(text):
        if not piece:
            continue
        piece_ids = tokenizer(piece).input_ids[1:-1]
        ids += piece_ids
        weights += [weight] * len(piece_ids)
        if len(ids) > max_length:
            break
    return ids[:max_length], weights[:max_length]


def weighted_token_ids(tokenizer, captions: Sequence[str], max_token_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, n, 77)`` token blocks (as :func:`lorakit.train.tokens.chunk_token_ids`) and ``(B, 2 + 75·n)``
    weights aligned with the joined hidden states (BOS, the tokens, EOS/padding)."""
    from lorakit.train.tokens import chunk_count, chunk_token_ids

    length = chunk_count(max_token_length) * 75
    blocks, weights = [], []
    for caption in captions:
        ids, w = tokens_with_weights(tokenizer, caption, length)
        blocks.append(
            chunk_token_ids(ids, length, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id)
        )
        weights.append(torch.tensor([1.0, *w] + [1.0] * (length + 1 - len(w))))
    return torch.stack(blocks), torch.stack(weights)


def apply_token_weights(hidden: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Hidden states ``(B, T, D)`` × each token's weight ``(B, T)``, rescaled to keep each caption's mean.

    A caption whose weighted mean is ~0 next to its values' size (possible right after a layer norm with no
    bias) is not rescaled: the ratio of two near-zero means would be noise, not a correction.
    """
    weights = weights.to(hidden.device, hidden.dtype)
    before = hidden.float().mean(dim=(-2, -1))
    weighted = hidden * weights.unsqueeze(-1)
    after = weighted.float().mean(dim=(-2, -1))
    size = weighted.float().abs().mean(dim=(-2, -1))
    usable = after.abs() > 1e-3 * size
    ratio = torch.where(usable, before / torch.where(usable, after, torch.ones_like(after)), torch.ones_like(after))
    return weighted * ratio.to(hidden.dtype)[:, None, None]


def encode_weighted(family, captions: list[str], clip_skip: int = 1, max_token_length: int = 75):
    """The family's text conditioning for weighted captions: its own encoding of the cleaned text, with
    token ids built piece by piece (through the family's ``tokenize`` seam) and the weights applied."""
    found: list[torch.Tensor] = []

    def tokenize(tokenizer, _cleaned, max_length=max_token_length):
        ids, weights = weighted_token_ids(tokenizer, captions, max_length)
        found.append(weights)
        return ids

    family.tokenize = tokenize  # an instance attribute: shadows the method for this call only
    try:
        cond = family.encode_prompts([clean_text(c) for c in captions], clip_skip, max_token_length)
    finally:
        del family.tokenize
    cond = dict(cond)
    cond["encoder_hidden_states"] = apply_token_weights(cond["encoder_hidden_states"], found[0])
    return cond
