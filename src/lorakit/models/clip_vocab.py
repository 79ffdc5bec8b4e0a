"""The CLIP tokenizer's vocabulary, built offline from the BPE file lorakit ships (``clip_bpe/``).

Stable Diffusion 1.x (CLIP ViT-L/14), 2.x (OpenCLIP ViT-H/14) and SDXL (both) tokenize prompts with one and the
same byte-pair encoding: OpenAI's ``bpe_simple_vocab_16e6.txt.gz`` (MIT licence; see ``clip_bpe/NOTICE.md``).
From it this module writes the ``vocab.json`` and ``merges.txt`` that transformers' ``CLIPTokenizer`` reads,
exactly as CLIP's own ``SimpleTokenizer`` builds its tables: the 256 byte characters, the same with ``</w>``
(end of word), one token per merge (the first 48,894 merges), then ``<|startoftext|>`` and ``<|endoftext|>``:
49,408 tokens. The tokenizers differ only in their settings: CLIP-L pads with ``<|endoftext|>``, OpenCLIP with
``!``; both read 77 tokens.

The files are built once per user, in ``$XDG_CACHE_HOME/lorakit/clip-tokenizer/<hash of the BPE file>/`` (about
0.2 s), and read from there afterwards (about 0.05 s a tokenizer); where that folder cannot be written, in a
temporary folder each time.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

BPE_FILE = Path(__file__).parent / "clip_bpe" / "bpe_simple_vocab_16e6.txt.gz"
VOCAB_SIZE = 49408  # 256 bytes x 2 (with and without </w>) + 48,894 merges + 2 special tokens
MODEL_MAX_LENGTH = 77
_MERGES = VOCAB_SIZE - 2 * 256 - 2  # the merges CLIP uses (lines 1 .. 48,894 of the file)
START, END = "<|startoftext|>", "<|endoftext|>"
# Pad token of each tokenizer: CLIP ViT-L/14 (SD1, SDXL's first) pads with its end token, OpenCLIP (SD2, SDXL's
# second) with "!" (as in their tokenizer_config.json on the Hub).
PAD_TOKENS = {"clip-l": END, "openclip": "!"}


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) map of the 256 byte values to printable characters: printable Latin-1 bytes map to
    themselves, the others to the characters from U+0100 on. The order matters (it gives the first 512 ids):
    the printable bytes first, then the others, each in byte order."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = {b: chr(b) for b in kept}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def read_merges(bpe_file: Path = BPE_FILE) -> list[tuple[str, str]]:
    """The merges CLIP uses, in rank order (the file's first line is a header; it holds more merges than used)."""
    lines = gzip.decompress(bpe_file.read_bytes()).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : _MERGES + 1]]
    bad = next((m for m in merges if len(m) != 2), None)
    if len(merges) != _MERGES or bad is not None:
        raise ValueError(f"{bpe_file} is not CLIP's BPE file ({len(merges)} merges, bad line {bad!r})")
    return merges  # type: ignore[return-value]


def build_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    """Token -> id, in CLIP's order: byte characters, the same ending a word, merged pairs, special tokens."""
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + [START, END]
    vocab = {token: i for i, token in enumerate(tokens)}
    if len(vocab) != VOCAB_SIZE:
        raise ValueError(f"the CLIP vocabulary has {len(vocab)} distinct tokens, not {VOCAB_SIZE}")
    return vocab


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lorakit" / "clip-tokenizer"


def tokenizer_folder(kind: str, root: Path | None = None) -> Path:
    """A folder with ``vocab.json``, ``merges.txt`` and ``tokenizer_config.json`` for ``kind`` (``clip-l`` or
    ``openclip``), built from the shipped BPE file on first use."""
    from lorakit.fileio import atomic_write_text

    pad = PAD_TOKENS[kind]
    digest = hashlib.sha256(BPE_FILE.read_bytes()).hexdigest()[:16]
    base = (root or cache_root()) / digest
    folder = base / kind
    names = ("vocab.json", "merges.txt", "tokenizer_config.json")
    if all((folder / name).is_file() for name in names):
        return folder
    vocab_file, merges_file = base / "vocab.json", base / "merges.txt"
    if not (vocab_file.is_file() and merges_file.is_file()):
        merges = read_merges()
        # The config goes last: a folder is complete once all three exist, and each write is atomic.
        atomic_write_text(vocab_file, json.dumps(build_vocab(merges), ensure_ascii=False))
        atomic_write_text(merges_file, "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": MODEL_MAX_LENGTH,
        "bos_token": START,
        "eos_token": END,
        "unk_token": END,
        "pad_token": pad,
        "do_lower_case": True,
        "errors": "replace",
        "add_prefix_space": False,
    }
    for name, source in (("vocab.json", vocab_file), ("merges.txt", merges_file)):
        atomic_write_text(folder / name, source.read_text(encoding="utf-8"))
    atomic_write_text(folder / "tokenizer_config.json", json.dumps(config, indent=2) + "\n")
    return folder


def clip_tokenizer(kind: str, root: Path | None = None):
    """transformers' ``CLIPTokenizer`` for ``kind`` (``clip-l``: SD1 and SDXL's first encoder; ``openclip``: SD2
    and SDXL's second), from the shipped vocabulary: no download, ever."""
    import tempfile

    from transformers import CLIPTokenizer

    try:
        folder = tokenizer_folder(kind, root)
    except OSError:  # a cache folder that cannot be written (read-only home, a file in its place): a temp one
        folder = tokenizer_folder(kind, Path(tempfile.mkdtemp(prefix="lorakit-clip-tokenizer-")))
    return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
