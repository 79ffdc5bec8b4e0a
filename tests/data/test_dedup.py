import random

import numpy as np
import pytest

from lorakit.data.dedup import (
    HashCache,
    ImageHashes,
    find_duplicates,
    group_duplicates,
    near_pairs,
    remove_duplicates,
)
from lorakit.trash import Trash

from .conftest import write


@pytest.mark.parametrize("radius", [0, 3, 6, 10])
def test_near_pairs_match_brute_force(radius):
    rng = random.Random(radius)
    values = [rng.getrandbits(64) for _ in range(400)]
    for v in values[:80]:  # near copies at every distance up to radius + 2
        flipped = v
        for bit in rng.sample(range(64), rng.randint(0, radius + 2)):
            flipped ^= 1 << bit
        values.append(flipped)
    values += [values[0]] * 3  # exact repeats
    expected = {
        (i, j)
        for i in range(len(values))
        for j in range(i + 1, len(values))
        if (values[i] ^ values[j]).bit_count() <= radius
    }
    got = {tuple(p) for p in near_pairs(np.array(values, dtype=np.uint64), radius, block=7).tolist()}
    assert got == expected and len(expected) > 3


def test_near_duplicates_grouped_keeper_and_trash(tmp_path, photos):
    ds = tmp_path / "ds"
    astro = photos["astronaut"]
    write(ds / "astro_big.png", astro)
    write(ds / "astro_small.jpg", astro.resize((96, 96)), "astronaut", quality=80)
    write(ds / "astro_copy.webp", astro, "astronaut, copy")
    write(ds / "cat.png", photos["chelsea"])
    write(ds / "coffee.jpg", photos["coffee"])
    report = find_duplicates(ds)
    assert report.images == 5
    [group] = report.groups
    # Same resolution for big.png and copy.webp: the one with a caption wins.
    assert group.keeper.name == "astro_copy.webp"
    assert sorted(p.name for p in group.duplicates) == ["astro_big.png", "astro_small.jpg"]
    cache = HashCache(ds)
    assert cache.get(ds / "cat.png") is not None  # cached for the next run
    trash = Trash(tmp_path / "trash")
    moved = remove_duplicates(report.groups, trash)
    assert sorted(m.name for m in moved) == ["astro_big.png", "astro_small.jpg", "astro_small.txt"]
    assert sorted(p.name for p in ds.iterdir() if p.is_file()) == [
        "astro_copy.txt",
        "astro_copy.webp",
        "cat.png",
        "coffee.jpg",
    ]
    for item in moved:
        trash.restore(item.id)
    assert (ds / "astro_small.txt").read_text() == "astronaut"


def test_threshold_is_adjustable():
    base = 0x0F0F_0F0F_0F0F_0F0F
    hashes = {
        __import__("pathlib").Path(f"/x/{i}.png"): ImageHashes(base ^ ((1 << bits) - 1), 0, 10, 10)
        for i, bits in enumerate([0, 4, 12])
    }
    assert len(group_duplicates(hashes, threshold=4)[0].duplicates) == 1
    assert len(group_duplicates(hashes, threshold=12)[0].duplicates) == 2
    assert group_duplicates(hashes, threshold=2) == []


def test_hashes_equal_imagehash(photos):
    import imagehash

    from lorakit.data.dedup import dhash, phash

    for img in photos.values():
        grey = img.convert("L")
        assert phash(grey) == int(str(imagehash.phash(grey)), 16)
        assert dhash(grey) == int(str(imagehash.dhash(grey)), 16)
