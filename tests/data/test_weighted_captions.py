"""weighted_captions: A1111 weight parsing (hand-worked tables), token alignment with long-prompt chunking,
and the embedding scaling against an independent computation."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
import torch

from lorakit.data.weighted_captions import (
    apply_token_weights,
    clean_text,
    encode_weighted,
    parse_weights,
    split_tags,
    weighted_token_ids,
)
from lorakit.models.loading import load_model
from lorakit.train.captions import process_caption

PARSED = [
    ("a (b) c", [("a ", 1.0), ("b", 1.1), (" c", 1.0)]),
    ("(b:1.3)", [("b", 1.3)]),
    ("[b]", [("b", 1 / 1.1)]),
    ("((b))", [("b", 1.1 * 1.1)]),
    ("[[b]]", [("b", 1 / 1.1 / 1.1)]),
    (r"\(b\) \[c\]", [("(b) [c]", 1.0)]),
    ("(a [b] c:2)", [("a ", 2.0), ("b", 2.0 / 1.1), (" c", 2.0)]),
    ("((a:1.5) b)", [("a", 1.5 * 1.1), (" b", 1.1)]),
    ("(unclosed", [("unclosed", 1.1)]),
    ("[unclosed", [("unclosed", 1 / 1.1)]),
    ("(a:0.5) b]", [("a", 0.5), (" b]", 1.0)]),  # a stray ] is text
    ("a:b", [("a:b", 1.0)]),
    ("(x:-1)", [("x", -1.0)]),
    ("", [("", 1.0)]),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse_matches_hand_worked_weights(text, expected):
    got = parse_weights(text)
    assert [p for p, _ in got] == [p for p, _ in expected]
    assert [w for _, w in got] == pytest.approx([w for _, w in expected])


def test_clean_text_and_bracket_aware_tags():
    assert clean_text("(red hair:1.2), kitbot, [blurry]") == "red hair, kitbot, blurry"
    assert split_tags("a, (b, c:1.2), [d, e], f", ",") == ["a", "(b, c:1.2)", "[d, e]", "f"]


def test_shuffle_and_keep_tokens_keep_weighted_groups_whole():
    options = SimpleNamespace(shuffle_caption=True, keep_tokens=1)
    caption = "kitbot, (red, blue:1.3), cat, [dog], tree"
    for seed in range(10):
        out = process_caption(caption, options, random.Random(seed), weighted=True)
        assert out.startswith("kitbot, ")
        assert sorted(out.split(", ")[1:]) != [] and "(red, blue:1.3)" in out and "[dog]" in out
        assert clean_text(out).count("red, blue") == 1


@pytest.fixture(scope="module")
def sd1(tiny_model):
    family = load_model(tiny_model("sd1"))
    # The tiny encoder's final layer norm has no bias, so its outputs average ~0 and the mean re-normalisation
    # would divide two near-zero numbers; a real CLIP's learned bias keeps the mean well away from 0.
    encoder = family.components.text_encoders[0]
    with torch.no_grad():
        getattr(encoder, "text_model", encoder).final_layer_norm.bias.fill_(0.3)
    return family


def _piece_ids(tokenizer, piece):
    return tokenizer(piece).input_ids[1:-1]


@pytest.mark.parametrize("max_length", [75, 150])
def test_tokens_align_with_the_plain_tokenization(sd1, max_length):
    tokenizer = sd1.components.tokenizers[0]
    filler = ", ".join(f"tag{i}" for i in range(40))  # long: past the first 75-token block with 150
    caption = f"kitbot, (robot cat:1.5), {filler}, [green] background"
    ids, weights = weighted_token_ids(tokenizer, [caption], max_length)
    plain = sd1.tokenize(tokenizer, [clean_text(caption)], max_length)
    assert torch.equal(ids, plain)  # the pieces tokenize like the cleaned caption
    assert weights.shape == (1, 2 + max_length)
    n_kit = len(_piece_ids(tokenizer, "kitbot, "))
    n_robot = len(_piece_ids(tokenizer, "robot cat"))
    w = weights[0].tolist()
    assert w[0] == 1.0 and w[1 : 1 + n_kit] == [1.0] * n_kit
    assert w[1 + n_kit : 1 + n_kit + n_robot] == pytest.approx([1.5] * n_robot)
    total = len(_piece_ids(tokenizer, clean_text(caption)))
    if total <= max_length:  # "green" is inside the window: its tokens weigh 1/1.1
        n_green = len(_piece_ids(tokenizer, "green"))
        before = len(_piece_ids(tokenizer, clean_text(caption).rsplit("green", 1)[0]))
        assert w[1 + before : 1 + before + n_green] == pytest.approx([1 / 1.1] * n_green)
    assert set(w[1 + min(total, max_length) :]) == {1.0}  # EOS and padding


@pytest.mark.parametrize("max_length", [75, 150])
def test_embeddings_scaled_and_mean_renormalised(sd1, max_length):
    tokenizer = sd1.components.tokenizers[0]
    tags = ", ".join(f"tag{i}" for i in range(30))
    caption = f"kitbot, (robot cat:1.5), {tags}, [green] background"
    with torch.no_grad():
        got = encode_weighted(sd1, [caption], 1, max_length)["encoder_hidden_states"]
        plain = sd1.encode_prompts([clean_text(caption)], 1, max_length)["encoder_hidden_states"]
    # Independently: one weight per position, from each hand-split piece's token count.
    pieces = [("kitbot, ", 1.0), ("robot cat", 1.5), (f", {tags}, ", 1.0), ("green", 1 / 1.1), (" background", 1.0)]
    w = [1.0]
    for piece, weight in pieces:
        w += [weight] * len(_piece_ids(tokenizer, piece))
    w = (w + [1.0] * (2 + max_length))[: 2 + max_length]
    weights = torch.tensor(w)[None, :, None]
    expected = plain * weights
    expected = expected * (plain.mean() / expected.mean())
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(got, plain, atol=1e-4)
    assert got.mean().item() == pytest.approx(plain.mean().item(), rel=1e-4)


def test_unit_weights_change_nothing(sd1):
    with torch.no_grad():
        got = encode_weighted(sd1, ["kitbot, robot cat", "a b"], 1, 75)["encoder_hidden_states"]
        plain = sd1.encode_prompts(["kitbot, robot cat", "a b"], 1, 75)["encoder_hidden_states"]
    assert torch.allclose(got, plain, atol=1e-6)
    assert "tokenize" not in vars(sd1)  # the seam is restored


def test_apply_token_weights_per_caption():
    hidden = torch.arange(1, 25, dtype=torch.float32).reshape(2, 3, 4)
    weights = torch.tensor([[1.0, 2.0, 1.0], [1.0, 1.0, 1.0]])
    out = apply_token_weights(hidden, weights)
    assert torch.allclose(out[1], hidden[1])
    scaled = hidden[0] * torch.tensor([1.0, 2.0, 1.0])[:, None]
    assert torch.allclose(out[0], scaled * hidden[0].mean() / scaled.mean())
    # A zero-mean caption (a bias-free layer norm's output) is weighted but not rescaled by noise.
    centred = torch.tensor([[[1.0, -1.0], [2.0, -2.0]]])
    assert torch.equal(
        apply_token_weights(centred, torch.tensor([[1.0, 3.0]])), torch.tensor([[[1.0, -1.0], [6.0, -6.0]]])
    )


def test_sdxl_weights_the_joined_states_and_keeps_the_pooled_embedding(tiny_model):
    family = load_model(tiny_model("sdxl"))
    with torch.no_grad():
        got = encode_weighted(family, ["kitbot, (robot:1.4) cat"], 1, 75)
        plain = family.encode_prompts(["kitbot, robot cat"], 1, 75)
    assert got["encoder_hidden_states"].shape == plain["encoder_hidden_states"].shape
    assert not torch.allclose(got["encoder_hidden_states"], plain["encoder_hidden_states"], atol=1e-4)
    assert torch.allclose(got["text_embeds"], plain["text_embeds"], atol=1e-6)
