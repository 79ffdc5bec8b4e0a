"""Issue #10: random links in a workspace, every read and write route of the files, datasets, configs and
models APIs run over them. Whatever the links are (inside → inside, inside → outside, loops, dangling),
nothing outside the workspace is read (its secret is in no answer), changed or deleted, and no route
answers 500.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SECRET = "outside-secret-property-91c2"

# Where a link is made (relative to the example's own names: {d} dataset, {c} config, {m} model).
PLACES = (
    "configs/presets/{c}.toml",
    "datasets/{d}/x.png",
    "datasets/{d}/a.txt",
    "datasets/{d}/sub",
    "datasets/{d}/.lorakit",
    "datasets/{d}/up.bin.upload",
    "datasets/{d}-link",
    "configs/{c}.toml",
    "configs/presets",
    "models/loras/{m}.safetensors",
)
# What it points at.
TARGETS = (
    "inside_file",
    "inside_dir",
    "inside_image",
    "outside_file",
    "outside_dir",
    "outside_toml",
    "outside_model",
    "outside_image",
    "dangling_outside",
    "dangling_inside",
    "self_loop",
    "pair_loop",
)


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    import numpy as np
    from safetensors.numpy import save_file

    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.txt").write_text(SECRET)
    (folder / "dir").mkdir()
    (folder / "dir" / "inner.txt").write_text(SECRET)
    Image.new("RGB", (8, 8)).save(folder / "dir" / "pic.png")
    (folder / "dir" / "pic.txt").write_text(SECRET)
    (folder / "c.toml").write_text(f'[preset]\ntitle = "{SECRET}"\n[network]\ndim = 4\n')
    save_file({"w": np.zeros(2, np.float32)}, str(folder / "m.safetensors"), metadata={"ss_output_name": SECRET})
    Image.new("RGB", (8, 8)).save(folder / "pic.png")
    old = time.time() - 3600
    for p in folder.rglob("*"):
        os.utime(p, (old, old))
    os.utime(folder, (old, old))
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    out = {".": (b"", folder.stat().st_mtime_ns)}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns)
    return out


_counter = itertools.count()


def _target(kind: str, link: Path, names: dict[str, str], workspace, outside: Path) -> Path:
    d = workspace.datasets / names["d"]
    return {
        "inside_file": d / "real.txt",
        "inside_dir": d / "realdir",
        "inside_image": d / "a.png",
        "outside_file": outside / "secret.txt",
        "outside_dir": outside / "dir",
        "outside_toml": outside / "c.toml",
        "outside_model": outside / "m.safetensors",
        "outside_image": outside / "pic.png",
        "dangling_outside": outside / "missing" / "nothing.txt",
        "dangling_inside": d / "missing.txt",
        "self_loop": link,
        "pair_loop": link.with_name(link.name + ".loop"),
    }[kind]


PLANTED: set[str] = set()  # which places the examples reached (checked below, so coverage cannot rot)


def _plant(links, workspace, outside) -> tuple[dict[str, str], list[str]]:
    n = next(_counter)
    names = {"d": f"p{n}", "c": f"pc{n}", "m": f"pm{n}"}
    d = workspace.datasets / names["d"]
    d.mkdir()
    Image.new("RGB", (8, 8)).save(d / "a.png")
    (d / "real.txt").write_text("inside")
    (d / "realdir").mkdir()
    presets = workspace.configs / "presets"
    if not any(place == "configs/presets" for place, _ in links):
        presets.mkdir(exist_ok=True)  # a real folder, for links to presets inside it
    places = []
    for place, kind in links:
        rel = place.format(**names)
        link = workspace.root / rel
        if link.exists() or link.is_symlink() or not link.parent.is_dir() or link.parent.is_symlink():
            continue
        target = _target(kind, link, names, workspace, outside)
        link.symlink_to(target)
        if kind == "pair_loop":
            target.symlink_to(link)
        places.append(rel)
        PLANTED.add(f"{place}->{kind}")
    return names, places


def _calls(names: dict[str, str], places: list[str]):
    d, c = names["d"], names["c"]
    reads = [
        ("GET", "/api/datasets", {}),
        ("GET", f"/api/datasets/{d}/images", {}),
        ("GET", f"/api/datasets/{d}-link/images", {}),
        ("GET", f"/api/datasets/{d}/caption", {"params": {"path": "a.png"}}),
        ("GET", f"/api/datasets/{d}/caption", {"params": {"path": "x.png"}}),
        ("GET", f"/api/datasets/{d}/thumbnail", {"params": {"path": "x.png"}}),
        ("GET", f"/api/datasets/{d}/history", {}),
        ("GET", "/api/configs", {}),
        ("GET", f"/api/configs/{c}", {}),
        ("GET", "/api/configs/presets", {}),
        ("POST", "/api/configs/new", {"json": {"preset": "c"}}),
        ("POST", "/api/configs/new", {"json": {"preset": c}}),
        ("GET", "/api/models", {}),
        ("GET", "/api/files", {"params": {"path": f"datasets/{d}", "hidden": True}}),
        ("GET", "/api/files", {"params": {"path": "configs", "hidden": True}}),
        ("GET", "/api/files/trash", {}),
    ]
    for rel in places:
        plain = rel.removesuffix(".upload")
        reads += [
            ("GET", "/api/files", {"params": {"path": rel}}),
            ("GET", "/api/files/download", {"params": {"path": rel}}),
            ("GET", "/api/files/upload", {"params": {"path": plain}}),
            ("GET", "/api/models/detect", {"params": {"path": rel}}),
        ]
    writes = [
        (
            "PUT",
            f"/api/datasets/{d}/caption",
            {"params": {"path": "a.png"}, "json": {"text": "w", "version": "missing"}},
        ),
        (
            "PUT",
            f"/api/datasets/{d}/caption",
            {"params": {"path": "x.png"}, "json": {"text": "w", "version": "missing"}},
        ),
        ("POST", f"/api/datasets/{d}/tags", {"json": {"action": "add", "tags": ["t"]}}),
        ("POST", f"/api/datasets/{d}-link/tags", {"json": {"action": "add", "tags": ["t"]}}),
        ("POST", f"/api/datasets/{d}/undo", {"json": {"count": 5, "force": True}}),
        ("PUT", f"/api/configs/{c}", {"json": {"config": {"network": {"dim": 8}}}}),
        ("POST", f"/api/configs/{c}/export-kohya", {}),
    ]
    for rel in places:
        plain = rel.removesuffix(".upload")
        for path in {rel, plain}:
            params = {"path": path, "total": 3, "overwrite": True}
            writes.append(("POST", "/api/files/upload", {"params": params, "content": b"abc"}))
        writes += [
            ("POST", "/api/files/mkdir", {"json": {"path": f"{rel}/new"}}),
            ("POST", "/api/files/rename", {"json": {"path": rel, "name": Path(rel).name + "-r"}}),
        ]
    deletes = [("DELETE", f"/api/configs/{c}", {})]
    for rel in places:
        deletes.append(("POST", "/api/files/delete", {"json": {"paths": [rel]}}))
        deletes.append(("POST", "/api/files/delete", {"json": {"paths": [rel + "-r"]}}))
    return reads, writes, deletes


def _check(response, call) -> None:
    assert response.status_code < 500, (call, response.status_code, response.text[:500])
    assert SECRET not in response.text, call


# Each place gets a link to one of the targets, or none: every example covers many places at once. The
# presets folder is a link in about half the examples, a real folder (holding preset links) in the rest.
_choices = {place: st.sampled_from((*TARGETS, None)) for place in PLACES}
_choices["configs/presets"] = st.one_of(st.none(), st.sampled_from(TARGETS))
link_lists = st.fixed_dictionaries(_choices).map(
    lambda chosen: [(place, kind) for place, kind in chosen.items() if kind is not None]
)


@pytest.mark.slow  # about 30 s: 15 examples of ~100 requests each
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(links=link_lists)
def test_random_links_never_leak_or_break(client, workspace, outside, links):
    before = snapshot(outside)
    names, places = _plant(links, workspace, outside)
    reads, writes, deletes = _calls(names, places)
    for method, url, kwargs in reads + writes + reads:
        _check(client.request(method, url, **kwargs), (method, url, kwargs))
    restored = []
    for method, url, kwargs in deletes:
        r = client.request(method, url, **kwargs)
        _check(r, (method, url, kwargs))
        if r.status_code == 200 and url == "/api/files/delete":
            restored += [item["id"] for item in r.json()]
    for item_id in restored:
        _check(client.post(f"/api/files/trash/{item_id}/restore"), ("restore", item_id))
    assert snapshot(outside) == before
    presets = workspace.configs / "presets"  # shared by the examples: each starts without it
    if presets.is_symlink():
        presets.unlink()
    elif presets.is_dir():
        shutil.rmtree(presets)


@pytest.mark.slow
def test_the_examples_reached_every_place_and_target():
    """Run after the property test (same module): its examples planted each kind of link in each place."""
    if not PLANTED:
        pytest.skip("the property test did not run in this session")
    assert {p.split("->")[0] for p in PLANTED} == set(PLACES)
    assert {p.split("->")[1] for p in PLANTED} == set(TARGETS)
