"""Regenerate vocab.json + merges.txt of the tiny CLIP tokenizer from words.txt.

Run: ``python scripts/make_tiny_vocab.py [--out DIR]``. The vocabulary holds CLIP's 256 byte
symbols (alone and word-final, so any text tokenizes), the two special tokens, and one merge chain per
listed word so that each word becomes a single token, as it would with the real CLIP vocabulary.

The output is the same on every run. The committed files came from an earlier version whose order
changed from run to run: they hold the same merges and tokens, but equally frequent merges (and so some
token ids) in another order. Tiny models and tests depend on those ids, so only regenerate them on purpose.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "src" / "lorakit" / "models" / "tiny_vocab"


def byte_symbols() -> list[str]:
    """CLIP/GPT-2's printable stand-ins for the 256 byte values, in their canonical order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def learn_merges(words: list[str], alphabet: list[str], end_of_word: str = "</w>") -> list[str]:
    """BPE merges until every word is one token, as tokenizers' BpeTrainer learns them, in a fixed order.

    The trainer takes the most frequent pair and breaks ties by symbol ids (older symbols first); it hands
    out the ids of word-final symbols (``a</w>``) while iterating a Rust hash map, so ties, and with them
    the order of merges and vocabulary, changed on every run. Here the words are taken in sorted order.
    """
    from tokenizers import pre_tokenizers

    split = pre_tokenizers.ByteLevel(add_prefix_space=False)  # as the trainer saw them: "1girl" -> "1", "girl"
    counts: Counter[str] = Counter(piece for word in words for piece, _ in split.pre_tokenize_str(word))
    symbols = sorted(set(alphabet) | {c for piece in counts for c in piece}, key=ord)
    ids = {symbol: i for i, symbol in enumerate(symbols)}
    pieces = []
    for piece in sorted(counts):
        chars = [*piece[:-1], piece[-1] + end_of_word]
        for symbol in chars:
            ids.setdefault(symbol, len(ids))
        pieces.append(([ids[c] for c in chars], counts[piece]))
    names = {i: symbol for symbol, i in ids.items()}
    merges = []
    while True:
        pairs: Counter[tuple[int, int]] = Counter()
        for parts, count in pieces:
            for pair in itertools.pairwise(parts):
                pairs[pair] += count
        if not pairs:
            return merges
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merged = names[best[0]] + names[best[1]]
        if merged not in ids:
            ids[merged] = len(ids)
            names[ids[merged]] = merged
        merges.append(f"{names[best[0]]} {names[best[1]]}")
        for parts, _ in pieces:
            i = 0
            while i < len(parts) - 1:
                if (parts[i], parts[i + 1]) == best:
                    parts[i : i + 2] = [ids[merged]]
                i += 1


def build() -> tuple[dict[str, int], list[str]]:
    """The vocabulary and merges for the word list; the same files on every run."""
    words: list[str] = []
    for line in (HERE / "words.txt").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.extend(w for w in line.split() if w not in words)
    symbols = byte_symbols()
    merges = learn_merges(words, symbols)
    tokens = symbols + [s + "</w>" for s in symbols]
    known = set(tokens)
    for merge in merges:
        merged = merge.replace(" ", "")
        if merged not in known:
            tokens.append(merged)
            known.add(merged)
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {token: i for i, token in enumerate(tokens)}, merges


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write vocab.json and merges.txt to")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    vocab, merges = build()
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    print(f"{len(vocab)} tokens, {len(merges)} merges")


if __name__ == "__main__":
    main()
