"""Face-crop augmentation (``face_crop_aug_range``): crops centred on a face box written in the file name.

sd-scripts reads the face box from the image's name, ``<name>_<cx>_<cy>_<w>_<h>.png`` (centre x/y, width,
height in pixels of the original image; ``load_image_with_face_info``), and ``crop_target`` scales the image
so that the face's larger side is between 1/range[1] and 1/range[0] of the target's shorter side (never
enlarging it past the size that just covers the target), then cuts the target size around the face centre:
with ``random_crop`` the centre is shifted by up to the larger distance to an edge (a triangular draw, to
include background), otherwise by up to face/20 when the range is a real range and the face is large
enough (≥ 40 px and > 1/10 of the target). An image whose name has no face box is cropped as usual.

sd-scripts applies this only with bucketing off; lorakit also applies it in bucket mode, with the image's
bucket as the target, so the setting is never silently ignored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FaceBox:
    cx: int
    cy: int
    w: int
    h: int


def face_box(path: str | Path) -> FaceBox | None:
    """The face box in a file name (``name_<cx>_<cy>_<w>_<h>.ext``), or None when the name has none."""
    tokens = Path(path).stem.split("_")
    if len(tokens) < 5:
        return None
    try:
        cx, cy, w, h = (int(t) for t in tokens[-4:])
    except ValueError:
        return None
    return FaceBox(cx, cy, w, h) if cx > 0 else None  # sd-scripts: face_cx > 0 means "face info present"


@dataclass(frozen=True)
class FaceCrop:
    """Resize the whole image to ``resized`` (w, h), then crop ``box`` (left, top, right, bottom)."""

    resized: tuple[int, int]
    box: tuple[int, int, int, int]


def face_crop(
    size: tuple[int, int],
    face: FaceBox,
    target: tuple[int, int],
    aug_range: tuple[float, float],
    rng: random.Random,
    random_crop: bool = False,
) -> FaceCrop:
    """Where to scale and crop an image of ``size`` (w, h) to ``target`` (w, h) around ``face`` (sd-scripts)."""
    width, height = size
    tw, th = target
    face_size = max(face.w, face.h)
    short = min(th, tw)
    cover = max(th / height, tw / width)  # the scale at which the image just covers the target
    # sd-scripts caps the scale at 1 (it never enlarges; smaller images fail there). Here a small image is
    # enlarged just enough to cover the target instead.
    top = max(1.0, cover)
    min_scale = min(top, max(cover, short / (face_size * aug_range[1])))
    max_scale = min(top, max(min_scale, short / (face_size * aug_range[0])))
    scale = min_scale if min_scale >= max_scale else rng.uniform(min_scale, max_scale)
    nw, nh = max(tw, int(width * scale + 0.5)), max(th, int(height * scale + 0.5))
    centre = (int(face.cx * scale + 0.5), int(face.cy * scale + 0.5))
    starts = []
    for target_size, length, face_p in ((tw, nw, centre[0]), (th, nh, centre[1])):
        p1 = face_p - target_size // 2
        if random_crop:
            reach = max(length - face_p, face_p)  # the longer distance from the face centre to an edge
            p1 = p1 + (rng.randint(0, reach) + rng.randint(0, reach)) - reach
        elif aug_range[0] != aug_range[1] and face_size > short // 10 and face_size >= 40:
            p1 = p1 + rng.randint(-face_size // 20, face_size // 20)
        starts.append(max(0, min(p1, length - target_size)))
    left, top_ = starts
    return FaceCrop((nw, nh), (left, top_, left + tw, top_ + th))
