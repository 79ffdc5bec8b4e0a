"""The CLIP vocabulary lorakit ships: the files built from it, the tokens they give, and single-file checkpoints
that load with it and nothing else (no layout tokenizer, empty Hugging Face cache, no network)."""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import shutil
from pathlib import Path

import pytest
import regex
from safetensors.torch import save_file

from lorakit.errors import ModelError
from lorakit.models import clip_vocab
from lorakit.models.loading import load_model
from lorakit.models.single_file import builtin_layout, tokenizers

PROMPTS = [
    "a photo of a cat",
    "A Painting of a CAT, trending on artstation!!",
    "1girl, solo, long hair, looking at viewer, smile, 8k uhd, (masterpiece:1.2)",
    "kitbot's robot cat isn't   here; it'll be there -- 42 times?",
    "café crème brûlée, naïve façade, 東京タワー, emoji 🐱",
]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, an empty Hugging Face cache and an empty lorakit tokenizer cache."""
    import socket

    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


# --- CLIP's reference BPE (openai/CLIP clip/simple_tokenizer.py), written out again here from its algorithm -----


def _byte_chars() -> list[str]:
    printable = [b for b in range(256) if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255]
    others = [b for b in range(256) if b not in printable]
    table = {b: chr(b) for b in printable} | {b: chr(256 + i) for i, b in enumerate(others)}
    return [table[b] for b in printable + others]


class _ReferenceBPE:
    PATTERN = regex.compile(
        r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
        regex.IGNORECASE,
    )

    def __init__(self, gz: Path):
        lines = gzip.decompress(gz.read_bytes()).decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
        chars = _byte_chars()
        self.byte_char = {b: c for b, c in zip(self._byte_order(), chars, strict=True)}
        vocab = (
            chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
        )
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}

    @staticmethod
    def _byte_order() -> list[int]:
        printable = [b for b in range(256) if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255]
        return printable + [b for b in range(256) if b not in printable]

    def bpe(self, token: str) -> list[str]:
        word = [*token[:-1], token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return word

    def encode(self, text: str) -> list[int]:
        text = " ".join(html.unescape(html.unescape(text)).split()).lower()  # basic_clean (less ftfy) + whitespace
        ids = []
        for token in self.PATTERN.findall(text):
            chars = "".join(self.byte_char[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[piece] for piece in self.bpe(chars))
        return [49406, *ids, 49407]


# --- the shipped file and the vocabulary built from it ----------------------------------------------------------


def test_shipped_bpe_file_is_clips_with_its_licence():
    data = clip_vocab.BPE_FILE.read_bytes()
    assert len(data) == 1_356_917
    assert hashlib.sha256(data).hexdigest() == "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
    notice = (clip_vocab.BPE_FILE.parent / "NOTICE.md").read_text(encoding="utf-8")
    assert "MIT License" in notice and "OpenAI" in notice and "open_clip" in notice


def test_built_files_have_clips_ids(tmp_path):
    folder = clip_vocab.tokenizer_folder("clip-l", root=tmp_path)
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    merges = (folder / "merges.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocab) == 49408 and sorted(vocab.values()) == list(range(49408))
    assert merges[0] == "#version: 0.2" and len(merges) == 1 + 48894
    # Ids of CLIP's published vocabulary (and clip.tokenize("a painting of a cat") = 49406 320 3086 539 320 2368
    # 49407 as OpenAI's tokenizer gives it).
    known = {"<|startoftext|>": 49406, "<|endoftext|>": 49407, "a</w>": 320, "photo</w>": 1125, "painting</w>": 3086,
             "of</w>": 539, "cat</w>": 2368, "!": 0, "a": 64}  # fmt: skip
    assert {token: vocab[token] for token in known} == known
    assert merges[1] == "i n" and vocab["in"] == 512  # the first merge is the first id after the 512 byte tokens
    reference = _ReferenceBPE(clip_vocab.BPE_FILE)
    assert vocab == reference.encoder


def test_tokenizers_match_clips_reference_bpe(tmp_path):
    reference = _ReferenceBPE(clip_vocab.BPE_FILE)
    clip_l = clip_vocab.clip_tokenizer("clip-l", root=tmp_path)
    openclip = clip_vocab.clip_tokenizer("openclip", root=tmp_path)
    assert reference.encode("a painting of a cat") == [49406, 320, 3086, 539, 320, 2368, 49407]
    assert reference.encode("bozuman") == [49406, 647, 4091, 786, 49407]  # a word split into sub-words
    for prompt in PROMPTS:
        want = reference.encode(prompt)
        assert clip_l(prompt).input_ids == want, prompt
        # OpenCLIP's pad token "!" is a special token to transformers, so it splits every "!" out of a prompt
        # (id 0) where CLIP's BPE may merge "!!": the Hub's own SD2 / SDXL tokenizer_2 files do the same.
        if "!" not in prompt:
            assert openclip(prompt).input_ids == want, prompt
    # Per-encoder settings: 77 tokens, CLIP-L pads with its end token, OpenCLIP with "!" (id 0).
    assert clip_l.model_max_length == openclip.model_max_length == 77
    assert (clip_l.pad_token, clip_l.pad_token_id) == ("<|endoftext|>", 49407)
    assert (openclip.pad_token, openclip.pad_token_id) == ("!", 0)
    padded = openclip("a cat", padding="max_length", max_length=77, truncation=True).input_ids
    assert padded[:5] == [49406, 320, 2368, 49407, 0] and len(padded) == 77
    assert len(clip_l(" ".join(["cat"] * 100), truncation=True).input_ids) == 77


def test_files_are_built_once_and_reused(tmp_path):
    folder = clip_vocab.tokenizer_folder("openclip", root=tmp_path)
    stamp = (folder / "vocab.json").stat().st_mtime_ns
    again = clip_vocab.tokenizer_folder("openclip", root=tmp_path)
    assert again == folder and (folder / "vocab.json").stat().st_mtime_ns == stamp
    assert json.loads((folder / "tokenizer_config.json").read_text())["pad_token"] == "!"
    assert clip_vocab.tokenizer_folder("clip-l", root=tmp_path).parent == folder.parent


def test_unwritable_cache_falls_back_to_a_temp_folder(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    tokenizer = clip_vocab.clip_tokenizer("clip-l")
    assert tokenizer("a photo").input_ids == [49406, 320, 1125, 49407]


# --- single-file checkpoints that load with the shipped vocabulary ------------------------------------------------


def test_builtin_layouts_take_the_shipped_tokenizers(offline):
    for family, layout, pads in (
        ("sd1", "sd1", ["<|endoftext|>"]),
        ("sd2", "sd2", ["!"]),
        ("sd2", "sd2-v", ["!"]),
        ("sdxl", "sdxl", ["<|endoftext|>", "!"]),
    ):
        found = tokenizers(builtin_layout(layout), family)
        assert sorted(found) == ["tokenizer", "tokenizer_2"][: len(pads)]
        assert [found[slot].pad_token for slot in sorted(found)] == pads
        assert all(len(t) == 49408 and t.model_max_length == 77 for t in found.values())


def _clip_sized(pipe) -> None:
    """Give the tiny pipeline's text encoders CLIP's vocabulary (49,408 rows; the tiny ones have a handful)."""
    for name in ("text_encoder", "text_encoder_2"):
        encoder = getattr(pipe, name, None)
        if encoder is not None:
            encoder.resize_token_embeddings(49408)
            encoder.config.update({"bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 49407})


def _checkpoint_and_layout(pipe, build, tmp_path: Path, name: str) -> tuple[Path, Path]:
    _clip_sized(pipe)
    folder = tmp_path / f"{name}-folder"
    pipe.save_pretrained(folder, safe_serialization=True)
    checkpoint = tmp_path / f"{name}.safetensors"
    save_file(build(pipe, whole=True), str(checkpoint))
    layout = tmp_path / f"{name}-layout"  # configs only: no weights, no tokenizer folders
    shutil.copytree(folder, layout, ignore=shutil.ignore_patterns("*.safetensors", "tokenizer*"))
    return checkpoint, layout


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_single_file_loads_offline_with_the_shipped_vocabulary(offline, tmp_path, family, single_file_checkpoint):
    import torch

    from lorakit.models.tiny import build_tiny_pipeline, build_tiny_sdxl_two_widths

    pipe = build_tiny_pipeline("sd1") if family == "sd1" else build_tiny_sdxl_two_widths()
    checkpoint, layout = _checkpoint_and_layout(pipe, single_file_checkpoint, tmp_path, family)
    model = load_model(checkpoint, config=layout)
    assert model.name == family
    toks = model.components.tokenizers
    assert [t.pad_token for t in toks] == (["<|endoftext|>"] if family == "sd1" else ["<|endoftext|>", "!"])
    reference = _ReferenceBPE(clip_vocab.BPE_FILE)
    for tokenizer, encoder in zip(toks, model.components.text_encoders, strict=True):
        assert len(tokenizer) == 49408
        ids = tokenizer(PROMPTS[2], return_tensors="pt").input_ids
        assert ids[0].tolist() == reference.encode(PROMPTS[2])
        with torch.no_grad():
            hidden = encoder(ids, output_hidden_states=True).hidden_states[-1]
        assert hidden.shape[:2] == ids.shape and torch.isfinite(hidden).all()
    assert (tmp_path / "xdg-cache" / "lorakit" / "clip-tokenizer").is_dir()  # built once, kept for next time


def test_layout_without_a_clip_sized_encoder_is_still_refused(offline, tmp_path, tiny_sd1, single_file_checkpoint):
    """A layout without tokenizer files whose encoder has another vocabulary: the shipped one cannot stand in."""
    from diffusers import DiffusionPipeline

    checkpoint = tmp_path / "tiny-sd1.safetensors"
    save_file(single_file_checkpoint(DiffusionPipeline.from_pretrained(str(tiny_sd1)), whole=True), str(checkpoint))
    layout = tmp_path / "layout"
    shutil.copytree(tiny_sd1, layout, ignore=shutil.ignore_patterns("*.safetensors", "tokenizer*"))
    with pytest.raises(ModelError, match=r"tokenizer .*not on this computer.*not CLIP's \(49408\)") as error:
        load_model(checkpoint, config=layout)
    assert "architecture_config" in error.value.fix
    assert not (tmp_path / "xdg-cache" / "lorakit" / "clip-tokenizer").exists()
