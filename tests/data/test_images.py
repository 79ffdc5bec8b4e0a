import numpy as np
import pytest
from PIL import Image

from lorakit.data.images import (
    ImageError,
    describe_image,
    has_transparency,
    list_images,
    load_rgb,
    open_image,
    to_rgb,
    to_rgba,
)

from .conftest import noise_image, photo, write


def test_real_photo_roundtrip(tmp_path):
    path = write(tmp_path / "astro.jpg", photo("astronaut", 128), quality=90)
    img = load_rgb(path)
    assert img.mode == "RGB" and img.size == (128, 128)
    info = describe_image(path, open_image(path))
    assert info.format == "JPEG" and not info.has_alpha and not info.is_greyscale
    camera = write(tmp_path / "camera.png", photo("camera", 64))
    assert describe_image(camera, open_image(camera)).is_greyscale


def test_exif_orientation_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 10, 20))  # blue strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "phone.jpg"
    img.save(path, exif=exif.tobytes(), quality=95)
    out = open_image(path)
    assert out.size == (20, 40)
    assert out.getpixel((10, 2))[2] > 200  # the left strip is now at the top


def test_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    img = open_image(path)
    assert to_rgb(img).getpixel((0, 0)) == (255, 0, 0) and describe_image(path, img).frames == 3


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("LA", (100, 0), (255, 255, 255)),
        ("LA", (100, 255), (100, 100, 100)),
        ("RGBA", (255, 0, 0, 128), (255, 127, 127)),
        ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
        ("L", 77, (77, 77, 77)),
        ("1", 1, (255, 255, 255)),
    ],
)
def test_modes_to_rgb(mode, value, expected):
    out = to_rgb(Image.new(mode, (2, 2), value))
    assert out.mode == "RGB"
    assert all(abs(a - b) <= 1 for a, b in zip(out.getpixel((0, 0)), expected, strict=True))


def test_palette_transparency_and_alpha_kept_for_masks(tmp_path):
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    img.info["transparency"] = 1
    path = tmp_path / "p.png"
    img.save(path, transparency=1)
    opened = open_image(path)
    assert has_transparency(opened)
    assert to_rgb(opened).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgba(opened).getpixel((0, 0))[3] == 0


def test_16bit_keeps_tonal_range(tmp_path):
    arr = np.array([[0, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    img = open_image(path)
    assert describe_image(path, img).is_16bit
    assert [to_rgb(img).getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]


def test_bad_files_are_clear_errors(tmp_path):
    good = write(tmp_path / "good.png", noise_image(0, (300, 300)))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image at all")
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[:2000])
    expected = {"empty.png": "empty", "text.jpg": "not_image", "cut.png": "truncated"}
    for name, kind in expected.items():
        with pytest.raises(ImageError) as caught:
            open_image(tmp_path / name)
        assert caught.value.kind == kind and name in caught.value.problem and caught.value.fix
    with pytest.raises(ImageError) as caught:
        open_image(good, max_pixels=300 * 299)
    assert caught.value.kind == "too_large"
    with pytest.raises(ImageError, match="heic"):
        (tmp_path / "x.heic").write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 64)
        open_image(tmp_path / "x.heic")
    assert list_images(tmp_path) == sorted(
        tmp_path / n for n in ("cut.png", "empty.png", "good.png", "text.jpg", "x.heic")
    )


def test_decompression_bomb_header_refused_without_decoding(tmp_path):
    # A PNG header claiming 100,000 x 100,000 pixels: refused from the header alone (no 30 GB decode).
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    )
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    with pytest.raises(ImageError) as caught:
        open_image(path)
    assert caught.value.kind == "too_large" and "megapixels" in caught.value.problem


def test_avif_when_pillow_supports_it(tmp_path):
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF support")
    path = write(tmp_path / "a.avif", photo("astronaut", 64))
    assert load_rgb(path).size == (64, 64)


def test_reduced_jpeg_decode_keeps_real_size_and_finds_damage(tmp_path):
    path = write(tmp_path / "big.jpg", photo("astronaut").resize((1024, 768)), quality=90)
    img = open_image(path, reduce_to=256)
    assert img.width < 1024 and min(img.size) >= 256
    assert describe_image(path, img).width == 1024 and describe_image(path, img).height == 768
    (tmp_path / "cut.jpg").write_bytes(path.read_bytes()[:-500])
    with pytest.raises(ImageError) as caught:
        open_image(tmp_path / "cut.jpg", reduce_to=256)
    assert caught.value.kind == "truncated"
