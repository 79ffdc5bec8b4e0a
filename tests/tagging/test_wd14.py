import numpy as np
import pytest
from PIL import Image

from lorakit.data.images import load_rgb
from lorakit.data.journal import Journal
from lorakit.errors import ConfigError, ModelError
from lorakit.events import Emitter
from lorakit.tagging.tag_rules import TagSettings, default_threshold, drop_overlapping, mcut_threshold
from lorakit.tagging.wd14 import Tagger, prepare_image, tag_images

from .conftest import build_tagger


def reference_prepare(path, size):
    """The reference steps, written out by hand (SmilingWolf's wd-tagger app)."""
    image = Image.open(path).convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255))
    canvas.alpha_composite(image)
    image = canvas.convert("RGB")
    max_dim = max(image.size)
    pad_left = (max_dim - image.size[0]) // 2
    pad_top = (max_dim - image.size[1]) // 2
    padded = Image.new("RGB", (max_dim, max_dim), (255, 255, 255))
    padded.paste(image, (pad_left, pad_top))
    if max_dim != size:
        padded = padded.resize((size, size), Image.BICUBIC)
    return np.asarray(padded, dtype=np.float32)[:, :, ::-1]


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    return Tagger(build_tagger(tmp_path_factory.mktemp("wd14")))


def _images(tmp_path):
    from skimage import data

    rng = np.random.default_rng(0)
    rgba = np.dstack([rng.integers(0, 256, (23, 37, 3)), rng.integers(0, 256, (23, 37))]).astype(np.uint8)
    made = {
        "alpha.png": Image.fromarray(rgba, "RGBA"),
        "grey.png": Image.fromarray(data.camera()[::7, ::5]),
        "astronaut.jpg": Image.fromarray(data.astronaut()[::4, ::4]),
        "tall.png": Image.fromarray(data.coffee()[:, :101]),
        "exact.png": Image.fromarray(data.chelsea()[:32, :32]),
    }
    for name, img in made.items():
        img.save(tmp_path / name)
    return [tmp_path / n for n in made]


def test_preprocessing_equals_reference(tmp_path):
    for path in _images(tmp_path):
        for size in (32, 448):
            ours = prepare_image(load_rgb(path), size)
            assert ours.shape == (size, size, 3) and ours.dtype == np.float32
            assert np.array_equal(ours, reference_prepare(path, size)), path.name


def test_model_shape_read_and_thresholds(tagger):
    assert tagger.size == 32 and tagger.fixed_batch is None and tagger.provider == "CPUExecutionProvider"
    probs = tagger.predict(np.full((2, 32, 32, 3), 255.0, np.float32))
    assert probs.shape == (2, 14)
    assert default_threshold("SmilingWolf/wd-eva02-large-tagger-v3") == 0.53
    assert default_threshold("SmilingWolf/wd-v1-4-moat-tagger-v2") == 0.35
    assert default_threshold("SmilingWolf/wd-vit-tagger-v3") == 0.26


def test_mcut():
    assert mcut_threshold(np.array([0.9, 0.85, 0.3, 0.2])) == pytest.approx(0.575)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (TagSettings(general_threshold=0.35), "hatsune miku, 1girl, solo, white shirt, shirt, long hair"),
        (TagSettings(general_threshold=0.5, character_first=False), "1girl, solo, white shirt, shirt, hatsune miku"),
        (
            TagSettings(general_threshold=0.25, drop_overlap=True),
            "hatsune miku, 1girl, solo, white shirt, long hair, ^_^",
        ),
        (TagSettings(general_mcut=True), "hatsune miku, 1girl, solo"),
        (TagSettings(general_threshold=0.85, character_mcut=True), "hatsune miku, 1girl, solo"),
        (TagSettings(general_threshold=0.85, character_threshold=0.95), "1girl, solo"),
        (TagSettings(general_threshold=0.85, rating="first"), "general, hatsune miku, 1girl, solo"),
        (TagSettings(general_threshold=0.85, rating="last"), "hatsune miku, 1girl, solo, general"),
        (TagSettings(general_threshold=0.85, always_first=["solo", "absent"]), "solo, hatsune miku, 1girl"),
        (TagSettings(general_threshold=0.5, undesired=["shirt", "white_shirt"]), "hatsune miku, 1girl, solo"),
        (
            TagSettings(general_threshold=0.85, replacements={"hatsune_miku": "ohwx", "solo": "alone"}),
            "ohwx, 1girl, alone",
        ),
        (
            TagSettings(general_threshold=0.25, underscores=True),
            "hatsune_miku, 1girl, solo, white_shirt, shirt, long_hair, ^_^",
        ),
        (
            TagSettings(general_threshold=0.85, replacements={"solo": "solo (focus)"}, escape_brackets=True),
            "hatsune miku, 1girl, solo \\(focus\\)",
        ),
    ],
)
def test_tag_options(tmp_path, tagger, settings, expected):
    [image] = [p for p in _images(tmp_path) if p.name == "grey.png"]
    report = tag_images(tmp_path, [image], tagger, settings)
    assert report.tagged[str(image)] == expected
    assert (tmp_path / "grey.txt").read_text() == expected


def test_blue_image_lights_bgr_channel(tmp_path, tagger):
    Image.new("RGB", (40, 30), (0, 0, 255)).save(tmp_path / "blue.png")
    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "red.png")
    report = tag_images(
        tmp_path, [tmp_path / "blue.png", tmp_path / "red.png"], tagger, TagSettings(general_threshold=0.85)
    )
    assert "blue theme" in report.tagged[str(tmp_path / "blue.png")]
    assert "blue theme" not in report.tagged[str(tmp_path / "red.png")]


def test_existing_captions_bad_images_undo(tmp_path, tagger):
    images = _images(tmp_path)
    (tmp_path / "alpha.txt").write_bytes(b"kept, as is")
    (tmp_path / "grey.txt").write_bytes(b"mine,  1girl")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "empty.jpg").write_bytes(b"")
    images += [tmp_path / "broken.png", tmp_path / "empty.jpg"]
    events = []
    settings = TagSettings(general_threshold=0.85, batch_size=2)
    report = tag_images(tmp_path, images, tagger, settings, emitter=Emitter(callbacks=[events.append]))
    assert report.skipped[str(tmp_path / "alpha.png")] == "already has a caption"
    assert set(report.skipped) == {str(tmp_path / n) for n in ("alpha.png", "grey.png", "broken.png", "empty.jpg")}
    assert len(report.tagged) == 3 and events[-1].type == "result"
    assert any(e.type == "progress" and e.data["done"] == e.data["total"] == 5 for e in events)
    appended = tag_images(tmp_path, images[:2], tagger, TagSettings(general_threshold=0.85, existing="append"))
    assert appended.tagged[str(tmp_path / "grey.png")] == "mine, 1girl, hatsune miku, solo"
    tag_images(tmp_path, images[:1], tagger, TagSettings(general_threshold=0.85, existing="overwrite"))
    assert (tmp_path / "alpha.txt").read_text() == "hatsune miku, 1girl, solo"
    Journal(tmp_path).undo(3)
    assert (tmp_path / "alpha.txt").read_bytes() == b"kept, as is"
    assert (tmp_path / "grey.txt").read_bytes() == b"mine,  1girl"
    assert not (tmp_path / "astronaut.txt").exists()


def test_fixed_batch_model(tmp_path):
    tagger = Tagger(build_tagger(tmp_path / "m", size=16, batch=1))
    assert tagger.fixed_batch == 1 and tagger.size == 16
    images = _images(tmp_path)
    report = tag_images(tmp_path, images, tagger, TagSettings(general_threshold=0.85, batch_size=4))
    assert len(report.tagged) == 5


def test_folder_without_tag_list(tmp_path):
    build_tagger(tmp_path / "m", with_csv=False)
    with pytest.raises(ModelError, match=r"selected_tags\.csv"):
        Tagger(tmp_path / "m")
    with pytest.raises(ModelError, match="neither a folder"):
        Tagger(tmp_path / "does/not/exist")


def test_drop_overlapping_and_bad_settings():
    assert drop_overlapping(["white shirt", "shirt", "hair", "long hair", "hairband"]) == [
        "white shirt",
        "long hair",
        "hairband",
    ]
    with pytest.raises(ConfigError):
        TagSettings(existing="merge")


def test_character_mcut_floor():
    from lorakit.tagging.tag_rules import select_tags

    names = ["a", "b", "c"]
    categories = np.array([4, 4, 4])
    settings = TagSettings(character_mcut=True)
    # MCut alone would put the threshold at 0.07 and take "a"; the 0.15 floor keeps weak guesses out.
    assert select_tags(np.array([0.12, 0.02, 0.01]), names, categories, settings, general_threshold=0.3) == []
    assert select_tags(np.array([0.5, 0.45, 0.01]), names, categories, settings, general_threshold=0.3) == ["a", "b"]


def test_repo_id_goes_through_the_hub_cache(tmp_path, monkeypatch):
    import shutil

    import huggingface_hub

    built = build_tagger(tmp_path / "built")
    calls = []

    def fake_download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename))
        target = tmp_path / "hub" / repo_id.replace("/", "--") / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(built / filename, target)
        return str(target)

    from lorakit.tagging import hub_check

    monkeypatch.setattr(hub_check, "hub_unreachable_reason", lambda timeout=3.0: None)  # the hub "answers"
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    tagger = Tagger("SmilingWolf/wd-eva02-large-tagger-v3")
    assert calls == [
        ("SmilingWolf/wd-eva02-large-tagger-v3", "model.onnx"),
        ("SmilingWolf/wd-eva02-large-tagger-v3", "selected_tags.csv"),
    ]
    assert tagger.default_threshold == 0.53

    def offline(repo_id, filename, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(ModelError, match="Could not download"):
        Tagger("SmilingWolf/other-tagger")


def test_gpu_without_gpu_runtime_is_explained(monkeypatch):
    from lorakit.tagging import providers

    monkeypatch.setattr(providers, "gpu_present", lambda: "nvidia")
    chosen, note = providers.choose_providers()
    assert chosen[-1] == "CPUExecutionProvider"
    if chosen[0] == "CPUExecutionProvider":
        assert "onnxruntime-gpu" in note and "GPU" in note
    with pytest.raises(ModelError, match="cannot use"):
        providers.choose_providers(["NoSuchExecutionProvider"])


@pytest.mark.parametrize(("command", "written"), [("stop", True), ("cancel", False)])
def test_stop_keeps_work_cancel_writes_nothing(tmp_path, tagger, command, written):
    from lorakit.events import Commands

    images = _images(tmp_path)
    commands = Commands()
    commands.request(command)
    report = tag_images(tmp_path, images, tagger, TagSettings(batch_size=2), commands=commands)
    assert report.stopped
    assert bool(list(tmp_path.glob("*.txt"))) is written
    assert len(report.tagged) == (2 if written else 0)
