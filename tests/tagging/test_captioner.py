"""The captioner on a tiny randomly initialised BLIP built from config, with a handmade tokenizer."""

import pytest
from PIL import Image

from lorakit.data.journal import Journal
from lorakit.tagging.captioner import CaptionSettings, caption_images, clean_caption, combine

VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "[DEC]",
    "a",
    "photo",
    "of",
    "cat",
    "dog",
    "red",
    "blue",
    "sitting",
    "on",
    "the",
    "table",
    "person",
    "with",
    "hat",
]


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("blip")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"), bos_token="[DEC]")
    config = transformers.BlipConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        text_config={
            "vocab_size": len(VOCAB),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "bos_token_id": 5,
            "sep_token_id": 3,
            "pad_token_id": 0,
            "eos_token_id": 3,
        },
    )
    torch.manual_seed(0)
    model = transformers.BlipForConditionalGeneration(config).eval()
    # transformers 5 names the Pillow-only processor separately (the default one wants torchvision).
    processor_class = getattr(transformers, "BlipImageProcessorPil", None) or transformers.BlipImageProcessor
    image_processor = processor_class(size={"height": 32, "width": 32})
    processor = transformers.BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    model.save_pretrained(folder / "model")
    processor.save_pretrained(folder / "model")
    from lorakit.tagging.captioner import Captioner

    return Captioner(folder / "model", device="cpu")


@pytest.mark.slow
def test_caption_batched_written_and_undoable(tmp_path, tiny_blip):
    from skimage import data

    photos = {"astronaut.png": data.astronaut(), "coffee.png": data.coffee(), "chelsea.png": data.chelsea()}
    for name, arr in photos.items():
        Image.fromarray(arr[::8, ::8]).save(tmp_path / name)
    (tmp_path / "broken.png").write_bytes(b"nope")
    (tmp_path / "coffee.txt").write_text("1girl, cup")
    images = sorted(tmp_path.glob("*.png"))
    settings = CaptionSettings(
        prefix="ohwx,", suffix="", mode="after_tags", batch_size=2, min_new_tokens=3, num_beams=1
    )
    report = caption_images(tmp_path, images, tiny_blip, settings)
    assert set(report.skipped) == {str(tmp_path / "broken.png")}
    assert len(report.captioned) == 3
    # Batched generation equals one-at-a-time generation.
    single = [tiny_blip.caption([Image.open(tmp_path / n).convert("RGB")], settings)[0] for n in ("astronaut.png",)]
    assert report.captioned[str(tmp_path / "astronaut.png")] == f"ohwx, {single[0]}"
    words = set(VOCAB)
    assert single[0] and set(single[0].split()) <= words
    coffee = (tmp_path / "coffee.txt").read_text()
    assert coffee.startswith("1girl, cup, ohwx, ")
    Journal(tmp_path).undo()
    assert (tmp_path / "coffee.txt").read_text() == "1girl, cup"
    assert not (tmp_path / "astronaut.txt").exists()


def test_combine_and_clean():
    s = CaptionSettings(prefix="ohwx", suffix="in style", mode="before_tags")
    assert combine("a cat", "tag1, tag2", s) == "ohwx a cat in style, tag1, tag2"
    assert combine("a cat", "old", CaptionSettings()) == "a cat"
    assert clean_caption("a photography of  a cat ", "a photography of") == "a cat"
    assert clean_caption("<DETAILED> text", "<DETAILED>") == "<DETAILED> text"
