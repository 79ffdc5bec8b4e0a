"""Caption variation: a table of cases, plus seeded behaviour of shuffle and dropout."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from lorakit.config.dataset import ResolvedSubset
from lorakit.train.captions import expand_wildcards, process_caption, warmup_length

DEFAULTS = dict(
    caption_prefix="",
    caption_suffix="",
    caption_dropout_rate=0.0,
    caption_dropout_every_n_epochs=0,
    enable_wildcard=False,
    shuffle_caption=False,
    keep_tokens=0,
    keep_tokens_separator="",
    secondary_separator="",
    caption_tag_dropout_rate=0.0,
    token_warmup_min=1,
    token_warmup_step=0.0,
)


def opts(**kw) -> SimpleNamespace:
    return SimpleNamespace(**{**DEFAULTS, **kw})


# caption, options, (epoch, step, total_steps), expected
CASES = [
    ("a, b, c", {}, (1, 0, 0), "a, b, c"),
    ("first line\nsecond line", {}, (1, 0, 0), "first line"),
    ("a, b", {"caption_prefix": "ohwx", "caption_suffix": "style"}, (1, 0, 0), "ohwx a, b style"),
    ("a, b", {"caption_dropout_rate": 1.0}, (1, 0, 0), ""),
    ("a, b", {"caption_dropout_every_n_epochs": 2}, (2, 0, 0), ""),
    ("a, b", {"caption_dropout_every_n_epochs": 2}, (3, 0, 0), "a, b"),
    ("a, {x|x}, c", {"enable_wildcard": True}, (1, 0, 0), "a, x, c"),
    ("{{literal}}, {y}", {"enable_wildcard": True}, (1, 0, 0), "{literal}, y"),
    ("a, {x|y}", {}, (1, 0, 0), "a, {x|y}"),  # wildcards off: left as written
    # tag dropout 1.0 drops every tag except the kept ones
    ("k1, k2, a, b, c", {"caption_tag_dropout_rate": 1.0, "keep_tokens": 2}, (1, 0, 0), "k1, k2"),
    (
        "k1, k2 ||| a, b ||| end",
        {"caption_tag_dropout_rate": 1.0, "keep_tokens_separator": "|||"},
        (1, 0, 0),
        "k1, k2, end",
    ),
    ("k ||| a, b", {"keep_tokens_separator": "|||"}, (1, 0, 0), "k, a, b"),  # separator never reaches the encoder
    ("a;;;b, c", {"secondary_separator": ";;;"}, (1, 0, 0), "a,b, c"),
    ("a;;;b, c", {"secondary_separator": ";;;", "caption_tag_dropout_rate": 1.0, "keep_tokens": 1}, (1, 0, 0), "a,b"),
    # token warmup: 1 + floor(step·(5−1)/10) tags until step 10
    ("t, a, b, c, d", {"token_warmup_step": 10}, (1, 0, 100), "t"),
    ("t, a, b, c, d", {"token_warmup_step": 10}, (1, 5, 100), "t, a, b"),
    ("t, a, b, c, d", {"token_warmup_step": 10}, (1, 10, 100), "t, a, b, c, d"),
    ("t, a, b, c, d", {"token_warmup_step": 0.1, "token_warmup_min": 2}, (1, 5, 100), "t, a, b"),  # 0.1 of 100
    ("k, a, b, c", {"token_warmup_step": 4, "keep_tokens": 1}, (1, 0, 10), "k, a"),  # kept tags not counted
    ("a,, b, ", {"shuffle_caption": True, "caption_tag_dropout_rate": 0.0, "keep_tokens": 3}, (1, 0, 0), "a, b"),
]


@pytest.mark.parametrize(("caption", "options", "when", "expected"), CASES)
def test_caption_table(caption, options, when, expected):
    epoch, step, total = when
    assert process_caption(caption, opts(**options), random.Random(0), epoch, step, total) == expected


def test_shuffle_keeps_kept_tags_and_the_set_of_tags():
    options = opts(shuffle_caption=True, keep_tokens=2)
    rng = random.Random(1)
    seen = set()
    for _ in range(30):
        tags = process_caption("ohwx, woman, a, b, c, d", options, rng).split(", ")
        assert tags[:2] == ["ohwx", "woman"]
        assert sorted(tags[2:]) == ["a", "b", "c", "d"]
        seen.add(tuple(tags))
    assert len(seen) > 5  # it really shuffles


def test_same_seed_same_captions():
    options = opts(shuffle_caption=True, caption_tag_dropout_rate=0.3, caption_dropout_rate=0.2, enable_wildcard=True)
    caption = "a, {x|y|z}, b, c, d\nother, line"
    run = lambda seed: [process_caption(caption, options, random.Random(seed)) for _ in range(3)]  # noqa: E731
    assert run(7) == run(7)
    assert run(7) != run(8)


def test_order_of_random_draws_matches_sd_scripts():
    # sd-scripts draws: caption dropout, line choice, wildcard choices, shuffle, then one draw per tag for dropout.
    options = opts(caption_dropout_rate=0.5, enable_wildcard=True, shuffle_caption=True, caption_tag_dropout_rate=0.5)
    caption = "a, {x|y}, b, c\nd, e"
    for seed in range(20):
        rng = random.Random(seed)
        ref = random.Random(seed)
        if ref.random() < 0.5:
            expected = ""
        else:
            line = ref.choice(["a, {x|y}, b, c", "d, e"])
            if "{x|y}" in line:
                line = line.replace("{x|y}", ref.choice(["x", "y"]))
            tags = [t.strip() for t in line.split(",")]
            ref.shuffle(tags)
            expected = ", ".join(t for t in tags if ref.random() >= 0.5)
        assert process_caption(caption, options, rng) == expected


def test_tag_dropout_rate_is_respected():
    options = opts(caption_tag_dropout_rate=0.25)
    rng = random.Random(3)
    kept = sum(len(process_caption("a, b, c, d", options, rng).split(", ")) for _ in range(2000))
    assert kept / 8000 == pytest.approx(0.75, abs=0.03)


def test_wildcard_choices_are_uniform_and_prefix_goes_on_each_line():
    rng = random.Random(4)
    picks = [expand_wildcards("{a|b|c}", rng) for _ in range(3000)]
    for choice in "abc":
        assert picks.count(choice) / 3000 == pytest.approx(1 / 3, abs=0.04)
    options = opts(enable_wildcard=True, caption_prefix="ohwx")
    lines = {process_caption("one\ntwo", options, rng) for _ in range(50)}
    assert lines == {"ohwx one", "ohwx two"}


def test_warmup_length_off_and_fraction():
    assert warmup_length(5, opts(), 0, 100) == 5
    assert warmup_length(5, opts(token_warmup_step=0.5, token_warmup_min=1), 25, 100) == 3  # 1 + floor(25·4/50)


def test_works_with_resolved_subset():
    subset = ResolvedSubset(image_dir="x", caption_prefix="ohwx", keep_tokens=1, caption_tag_dropout_rate=1.0)
    assert process_caption("a, b", subset, random.Random(0)) == "ohwx a"
