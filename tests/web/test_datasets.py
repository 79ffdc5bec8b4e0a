"""Datasets API: paged images with captions, thumbnails, caption versions (409 on conflict), tags with undo."""

from __future__ import annotations

import pytest
from PIL import Image


@pytest.fixture(scope="module")
def dataset(workspace):
    root = workspace.datasets / "cats"
    (root / "10_cat").mkdir(parents=True)
    for i in range(25):
        Image.new("RGB", (64 + i, 48), (i * 9, 100, 200)).save(root / "10_cat" / f"img{i:02d}.png")
        if i % 2 == 0:
            (root / "10_cat" / f"img{i:02d}.txt").write_text(f"cat, tag{i}")
    return root


def test_list_and_page(client, dataset):
    names = {d["name"]: d["images"] for d in client.get("/api/datasets").json()}
    assert names["cats"] == 25
    page = client.get("/api/datasets/cats/images", params={"offset": 10, "limit": 5}).json()
    assert page["total"] == 25 and page["offset"] == 10
    assert [i["path"] for i in page["items"]] == [f"10_cat/img{i:02d}.png" for i in range(10, 15)]
    assert page["items"][0]["caption"] == "cat, tag10" and page["items"][1]["caption"] is None
    assert page["items"][1]["version"] == "missing"


def test_listing_sees_new_images(client, dataset):
    Image.new("RGB", (8, 8)).save(dataset / "10_cat" / "zz.png")
    assert client.get("/api/datasets/cats/images").json()["total"] == 26
    (dataset / "10_cat" / "zz.png").unlink()
    (dataset / "5_new").mkdir()
    assert client.get("/api/datasets/cats/images").json()["total"] == 25
    Image.new("RGB", (8, 8)).save(dataset / "5_new" / "a.png")  # into a folder that had no images
    assert client.get("/api/datasets/cats/images").json()["total"] == 26
    (dataset / "5_new" / "a.png").unlink()
    (dataset / "5_new").rmdir()


def test_thumbnail_cached_on_disk(client, dataset, workspace):
    r = client.get("/api/datasets/cats/thumbnail", params={"path": "10_cat/img03.png"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    cached = list(workspace.thumbnails.rglob("*.webp"))
    assert len(cached) == 1
    again = client.get("/api/datasets/cats/thumbnail", params={"path": "10_cat/img03.png"})
    assert again.content == r.content and len(list(workspace.thumbnails.rglob("*.webp"))) == 1
    missing = client.get("/api/datasets/cats/thumbnail", params={"path": "10_cat/none.png"})
    assert missing.status_code == 404
    escape = client.get("/api/datasets/cats/thumbnail", params={"path": "../../settings.toml"})
    assert escape.status_code in (400, 404)


def test_two_clients_editing_one_caption(client, dataset):
    params = {"path": "10_cat/img04.png"}
    first = client.get("/api/datasets/cats/caption", params=params)
    assert first.json()["text"] == "cat, tag4" and first.headers["etag"] == f'"{first.json()["version"]}"'
    version = first.json()["version"]
    saved = client.put("/api/datasets/cats/caption", params=params, json={"text": "cat, sitting", "version": version})
    assert saved.status_code == 200 and saved.json()["version"] != version
    late = client.put("/api/datasets/cats/caption", params=params, json={"text": "cat, lost edit", "version": version})
    assert late.status_code == 409 and late.json()["error"]["code"] == "conflict"
    assert (dataset / "10_cat" / "img04.txt").read_text() == "cat, sitting"
    blind = client.put("/api/datasets/cats/caption", params=params, json={"text": "x"})
    assert blind.status_code == 400 and blind.json()["error"]["field"] == "version"
    by_header = client.put(
        "/api/datasets/cats/caption", params=params, json={"text": "cat"}, headers={"If-Match": saved.headers["etag"]}
    )
    assert by_header.status_code == 200
    new = client.put(
        "/api/datasets/cats/caption", params={"path": "10_cat/img05.png"}, json={"text": "new", "version": "missing"}
    )
    assert new.status_code == 200 and (dataset / "10_cat" / "img05.txt").read_text() == "new"


def test_bulk_tags_and_undo(client, dataset):
    before = (dataset / "10_cat" / "img00.txt").read_text()
    r = client.post("/api/datasets/cats/tags", json={"action": "add", "tags": ["mytrigger"], "front": True})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["journal_id"] and "10_cat/img00.txt" in report["changed"]
    assert (dataset / "10_cat" / "img00.txt").read_text().startswith("mytrigger")
    assert client.get("/api/datasets/cats/history").json()[0]["id"] == report["journal_id"]
    undone = client.post("/api/datasets/cats/undo", json={"count": 1})
    assert undone.status_code == 200 and undone.json()[0]["entry"]["id"] == report["journal_id"]
    assert (dataset / "10_cat" / "img00.txt").read_text() == before
    bad = client.post("/api/datasets/cats/tags", json={"action": "explode"})
    assert bad.status_code == 400 and "Unknown tag edit" in bad.json()["error"]["message"]


def test_unknown_dataset(client):
    r = client.get("/api/datasets/nope/images")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
