"""How a caption is varied each time its image is shown: dropout, wildcards, kept tags, shuffle, tag
dropout and token warmup, in the order sd-scripts applies them (``BaseDataset.process_caption``).

Public function (stable):

- ``process_caption(caption, options, rng, epoch=1, step=0, total_steps=0) -> str``

``options`` is a :class:`lorakit.config.dataset.ResolvedSubset` or anything with the same caption
attributes (``caption_prefix``, ``caption_suffix``, ``caption_dropout_rate``,
``caption_dropout_every_n_epochs``, ``enable_wildcard``, ``shuffle_caption``, ``keep_tokens``,
``keep_tokens_separator``, ``secondary_separator``, ``caption_tag_dropout_rate``, ``token_warmup_min``,
``token_warmup_step``; optionally ``caption_separator``, default ``","``). ``rng`` is a seeded
``random.Random``: the same seed gives the same captions, and a resumed run can restore it.

The order (sd-scripts): 1. the caption is dropped whole (``caption_dropout_rate``, or every
``caption_dropout_every_n_epochs``-th epoch) → empty. 2. wildcards: one line of a multi-line caption, then
each ``{a|b|c}`` replaced by one choice (``{{``/``}}`` are literal braces); without wildcards only the first
line is used. 3. the tags are split into kept tags (the first ``keep_tokens``, or everything before
``keep_tokens_separator``, and everything after a second separator) and the rest; 4. token warmup shortens
the rest; 5. shuffle; 6. tag dropout; 7. joined with ``", "``; 8. ``secondary_separator`` becomes the separator.

Two deliberate differences, both where sd-scripts' result is plainly unintended: the prefix/suffix are
added to the chosen line of a multi-line caption (sd-scripts adds them before choosing, so only the first
and last lines get them), and ``keep_tokens_separator`` is removed even when nothing is shuffled or dropped
(sd-scripts would leave ``|||`` in the text given to the text encoder). Empty tags (``a,,b``) are skipped.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

_WILDCARD = re.compile(r"\{([^}]+)\}")


def _opt(options: Any, name: str, default: Any) -> Any:
    value = getattr(options, name, default)
    return default if value is None else value


def _is_dropped(options: Any, rng: random.Random, epoch: int) -> bool:
    rate = _opt(options, "caption_dropout_rate", 0.0)
    # The random draw only happens when a rate is set, as in sd-scripts, so seeds give the same captions.
    if rate > 0 and rng.random() < rate:
        return True
    every = _opt(options, "caption_dropout_every_n_epochs", 0)
    return every > 0 and epoch % every == 0


def _choose_line(caption: str, options: Any, rng: random.Random) -> str:
    lines = [line.strip() for line in caption.split("\n") if line.strip()]
    if not lines:
        return ""
    if _opt(options, "enable_wildcard", False) and len(lines) > 1:
        return rng.choice(lines)
    return lines[0]


def expand_wildcards(caption: str, rng: random.Random) -> str:
    """Replace each ``{a|b|c}`` with one of its choices; ``{{`` and ``}}`` stay as literal braces."""
    open_mark, close_mark = "⦅", "⦆"
    # Escape markers that cannot appear in the caption itself (sd-scripts' trick, lengthened if needed).
    while open_mark in caption or close_mark in caption:
        open_mark += "⦅"
        close_mark += "⦆"
    text = caption.replace("{{", open_mark).replace("}}", close_mark)
    text = _WILDCARD.sub(lambda m: rng.choice(m.group(1).split("|")), text)
    return text.replace(open_mark, "{").replace(close_mark, "}")


def _split(text: str, sep: str, weighted: bool = False) -> list[str]:
    if weighted:  # a weighted group "(a, b:1.2)" is one tag, so shuffling never breaks its brackets
        from lorakit.data.weighted_captions import split_tags

        return split_tags(text, sep)
    return [t.strip() for t in text.split(sep) if t.strip()]


def _tags(caption: str, options: Any, sep: str, weighted: bool = False) -> tuple[list[str], list[str], list[str]]:
    """(kept at the start, flexible, kept at the end)."""
    marker = _opt(options, "keep_tokens_separator", "")
    if marker and marker in caption:
        fixed, flex = caption.split(marker, 1)
        suffix = ""
        if marker in flex:
            flex, suffix = flex.split(marker, 1)
        return _split(fixed, sep, weighted), _split(flex, sep, weighted), _split(suffix, sep, weighted)
    tags = _split(caption, sep, weighted)
    keep = _opt(options, "keep_tokens", 0)
    return tags[:keep], tags[keep:], []


def warmup_length(n_tags: int, options: Any, step: int, total_steps: int) -> int:
    """How many flexible tags token warmup shows at ``step`` (sd-scripts' formula).

    ``token_warmup_step`` below 1 is a fraction of ``total_steps``. Before it is reached:
    ``floor(step · (n_tags − token_warmup_min) / warmup_steps) + token_warmup_min``; after, all tags.
    """
    warmup = _opt(options, "token_warmup_step", 0.0)
    if warmup < 1:
        warmup = math.floor(warmup * total_steps)
    if not warmup or step >= warmup:
        return n_tags
    minimum = _opt(options, "token_warmup_min", 1)
    return math.floor(step * ((n_tags - minimum) / warmup)) + minimum


def process_caption(
    caption: str,
    options: Any,
    rng: random.Random,
    epoch: int = 1,
    step: int = 0,
    total_steps: int = 0,
    weighted: bool = False,
) -> str:
    """The caption text for one showing of an image.

    ``epoch`` counts from 1 (sd-scripts' ``current_epoch``; with ``caption_dropout_every_n_epochs = 2``
    epochs 2, 4, ... show empty captions). ``step`` is the global optimizer step, ``total_steps`` the
    run's length (for a fractional ``token_warmup_step``). ``weighted`` (weighted_captions): tags are split
    outside brackets, so ``(a, b:1.2)`` is kept, shuffled and dropped as one tag with its weight.
    """
    if _is_dropped(options, rng, epoch):
        return ""
    text = _choose_line(caption, options, rng)
    prefix, suffix = _opt(options, "caption_prefix", ""), _opt(options, "caption_suffix", "")
    if prefix:
        text = prefix + " " + text
    if suffix:
        text = text + " " + suffix
    if _opt(options, "enable_wildcard", False):
        text = expand_wildcards(text, rng)

    sep = _opt(options, "caption_separator", ",")
    marker = _opt(options, "keep_tokens_separator", "")
    shuffle = _opt(options, "shuffle_caption", False)
    tag_dropout = _opt(options, "caption_tag_dropout_rate", 0.0)
    warmup = _opt(options, "token_warmup_step", 0.0)
    if shuffle or warmup > 0 or tag_dropout > 0 or (marker and marker in text):
        fixed, flex, fixed_end = _tags(text, options, sep, weighted)
        flex = flex[: warmup_length(len(flex), options, step, total_steps)]
        if shuffle:
            rng.shuffle(flex)
        if tag_dropout > 0:
            flex = [tag for tag in flex if rng.random() >= tag_dropout]
        text = ", ".join(fixed + flex + fixed_end)

    secondary = _opt(options, "secondary_separator", "")
    if secondary:
        text = text.replace(secondary, sep)
    return text
