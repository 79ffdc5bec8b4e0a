"""Regenerate vocab.json + merges.txt of the tiny CLIP tokenizer from words.txt.

Run: ``python scripts/make_tiny_vocab.py``. The vocabulary holds CLIP's 256 byte
symbols (alone and word-final, so any text tokenizes), the two special tokens, and one merge chain per
listed word so that each word becomes a single token, as it would with the real CLIP vocabulary.
"""

from __future__ import annotations

import json
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


def build() -> tuple[dict[str, int], list[str]]:
    """Learn BPE merges over the word list (tokenizers' trainer keeps merge ranks consistent)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    words: list[str] = []
    for line in (HERE / "words.txt").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.extend(w for w in line.split() if w not in words)
    symbols = byte_symbols()
    tokenizer = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=100_000,  # never the limit: merging stops when every word is one token
        min_frequency=1,
        initial_alphabet=symbols,
        end_of_word_suffix="</w>",
        show_progress=False,
    )
    tokenizer.train_from_iterator(words, trainer)
    data = json.loads(tokenizer.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["merges"]]
    tokens = symbols + [s + "</w>" for s in symbols]
    known = set(tokens)
    for merge in merges:
        merged = merge.replace(" ", "")
        if merged not in known:
            tokens.append(merged)
            known.add(merged)
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {token: i for i, token in enumerate(tokens)}, merges


if __name__ == "__main__":
    vocab, merges = build()
    (HERE / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (HERE / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    print(f"{len(vocab)} tokens, {len(merges)} merges")
