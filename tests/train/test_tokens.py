"""Long-prompt chunking and joining, checked against sd-scripts' layout rules by hand-built expectations."""

from __future__ import annotations

import pytest
import torch
from transformers import CLIPTextConfig, CLIPTextModel

from lorakit.errors import ConfigError
from lorakit.train.tokens import (
    chunk_count,
    chunk_token_ids,
    chunk_tokenized,
    join_chunk_pooled,
    join_chunk_states,
)

BOS, EOS = 49406, 49407
PAD_V2 = 0  # SD 2.x / SDXL's second tokenizer pad with "!" (id 0); SD 1.x pads with EOS


def row(*parts) -> list[int]:
    out: list[int] = []
    for p in parts:
        out.extend(p if isinstance(p, list | range) else [p])
    return list(out)


@pytest.mark.parametrize(("max_length", "n"), [(None, 1), (75, 1), (150, 2), (225, 3)])
def test_chunk_count(max_length, n):
    assert chunk_count(max_length) == n


@pytest.mark.parametrize("bad", [0, 76, 100, 300])
def test_chunk_count_rejects_other_lengths(bad):
    with pytest.raises(ConfigError):
        chunk_count(bad)


# ids, max_length, pad, expected blocks
CASES = [
    # SD 1.x: pad == EOS
    (range(1, 11), 75, EOS, [row(BOS, range(1, 11), [EOS] * 66)]),
    (
        range(1, 101),
        150,
        EOS,
        [row(BOS, range(1, 76), EOS), row(BOS, range(76, 101), [EOS] * 51)],
    ),
    # SD 2.x / SDXL: the first block runs mid-text and is closed with EOS; the second has EOS then pads
    (
        range(1, 101),
        150,
        PAD_V2,
        [row(BOS, range(1, 76), EOS), row(BOS, range(76, 101), EOS, [PAD_V2] * 50)],
    ),
    # a short caption: the empty second block becomes BOS EOS pad…
    (
        range(1, 11),
        150,
        PAD_V2,
        [row(BOS, range(1, 11), EOS, [PAD_V2] * 65), row(BOS, EOS, [PAD_V2] * 75)],
    ),
    # too long: truncated to max_length, the last block ends with the EOS of the layout
    (
        range(1, 301),
        225,
        PAD_V2,
        [row(BOS, range(1, 76), EOS), row(BOS, range(76, 151), EOS), row(BOS, range(151, 226), EOS)],
    ),
]


@pytest.mark.parametrize(("ids", "max_length", "pad", "expected"), CASES)
def test_chunk_token_ids(ids, max_length, pad, expected):
    blocks = chunk_token_ids(list(ids), max_length, BOS, EOS, pad)
    assert blocks.shape == (len(expected), 77) and blocks.dtype == torch.long
    assert blocks.tolist() == expected


def test_chunk_tokenized_batch_matches_single_captions():
    captions = [list(range(1, 101)), list(range(1, 11)), list(range(1, 300))]
    layouts = torch.stack([torch.tensor(([BOS, *ids[:150], EOS] + [PAD_V2] * 150)[:152]) for ids in captions])
    batch = chunk_tokenized(layouts, EOS, PAD_V2)
    assert batch.shape == (3, 2, 77)
    for i, ids in enumerate(captions):
        assert torch.equal(batch[i], chunk_token_ids(ids, 150, BOS, EOS, PAD_V2))
    with pytest.raises(ValueError):
        chunk_tokenized(layouts[:, :100], EOS, PAD_V2)


def test_join_chunk_states_keeps_first_bos_middles_and_last_state():
    b, n, d = 2, 3, 4
    # state value = 1000·block + position, so the kept positions can be read back
    pos = torch.arange(77).float()
    states = torch.stack([1000 * k + pos for _ in range(b) for k in range(n)])  # (b·n, 77)
    states = states.unsqueeze(-1).expand(b * n, 77, d)
    joined = join_chunk_states(states, n)
    assert joined.shape == (b, 2 + 75 * n, d)
    expected = [0.0] + [1000 * k + p for k in range(n) for p in range(1, 76)] + [2076.0]
    assert joined[0, :, 0].tolist() == expected and joined[1, :, 0].tolist() == expected
    # the (B, n·77, D) layout gives the same result
    assert torch.equal(join_chunk_states(states.reshape(b, n * 77, d), n), joined)
    assert torch.equal(join_chunk_states(states[:1], 1), states[:1])


def test_join_chunk_pooled_takes_each_captions_first_block():
    pooled = torch.arange(6).float().view(6, 1)  # 2 captions × 3 blocks
    assert join_chunk_pooled(pooled, 3).flatten().tolist() == [0.0, 3.0]


def test_chunks_through_a_real_text_encoder():
    config = CLIPTextConfig(
        vocab_size=49408,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=EOS,
    )
    torch.manual_seed(0)
    encoder = CLIPTextModel(config).eval()
    ids = list(range(100, 260))  # 160 tokens → truncated to 150, two blocks
    blocks = chunk_token_ids(ids, 150, BOS, EOS, EOS)
    with torch.no_grad():
        states = encoder(blocks).last_hidden_state  # (2, 77, 32)
        joined = join_chunk_states(states, 2)
        # the first block encoded alone equals its part of the joined sequence
        first = encoder(blocks[:1]).last_hidden_state
    assert joined.shape == (1, 152, 32)
    # A batch of one against a batch of two: CPU kernels may block the products differently per batch size.
    torch.testing.assert_close(joined[0, :76], first[0, :76], atol=1e-5, rtol=1e-5)
    assert torch.allclose(joined[0, -1], states[1, -1])
