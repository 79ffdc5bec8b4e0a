"""Serving the built app (precompressed copies, cache headers) and the datasets' cached image listing."""

from __future__ import annotations

import gzip
import threading
import time

import pytest
from fastapi.testclient import TestClient

from lorakit.data.captions import caption_path_for
from lorakit.data.images import list_images
from lorakit.web import thumbnails
from lorakit.web.app import create_app
from lorakit.web.routes.spa import accepted_encodings
from lorakit.web.thumbnails import ImageListing

SCRIPT = b"console.log('the app');" * 100


@pytest.fixture
def built(workspace, runner, tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>lorakit app</html>")
    (dist / "assets" / "app-1a2b.js").write_bytes(SCRIPT)
    (dist / "assets" / "app-1a2b.js.gz").write_bytes(gzip.compress(SCRIPT))
    (dist / "assets" / "app-1a2b.js.br").write_bytes(b"brotli bytes (not checked by the server)")
    (dist / "assets" / "plain.css").write_text("body{}")
    client = TestClient(create_app(workspace, runner=runner, frontend_dir=dist), base_url="http://127.0.0.1")
    return client


def test_the_accepted_precompressed_copy_is_sent(built):
    r = built.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.content == SCRIPT  # the client undid the gzip
    assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
    assert "javascript" in r.headers["content-type"]
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"

    # Preferred when accepted (headers only: the stand-in bytes are not real Brotli for a client to undo).
    with built.stream("GET", "/assets/app-1a2b.js", headers={"Accept-Encoding": "gzip, br"}) as r:
        assert r.headers["content-encoding"] == "br" and "javascript" in r.headers["content-type"]

    r = built.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers and r.content == SCRIPT and r.headers["vary"] == "Accept-Encoding"
    r = built.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "br;q=0, gzip;q=0.5"})
    assert r.headers["content-encoding"] == "gzip"


def test_files_without_a_copy_and_the_index(built):
    r = built.get("/assets/plain.css", headers={"Accept-Encoding": "gzip, br"})
    assert r.text == "body{}" and "content-encoding" not in r.headers
    index = built.get("/datasets/cats", headers={"Accept-Encoding": "gzip, br"})
    assert "lorakit app" in index.text and index.headers["cache-control"] == "no-cache"
    head = built.head("/assets/app-1a2b.js", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == len(SCRIPT)


def test_accept_encoding_parsing():
    assert accepted_encodings("gzip, deflate, br, zstd") >= {"gzip", "br"}
    assert accepted_encodings("br;q=0, gzip") == {"gzip"}
    assert accepted_encodings("*") >= {"gzip", "br"}
    assert accepted_encodings("gzip;q=nonsense") == set()
    assert accepted_encodings(None) == set() and accepted_encodings("") == set()


def test_listing_matches_list_images(tmp_path):
    from PIL import Image

    root = tmp_path / "set"
    for rel in ("b.png", "a.png", "a/x.png", "a-b/y.jpg", "10_cat/z.webp", "2_dog/B.PNG", ".hidden/h.png", "a/.h.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(root / rel, format="PNG")
    (root / "notes.txt").write_text("not an image")
    listing = ImageListing()
    expected = list_images(root)
    assert [str(p) for p in expected] == listing.images(root)
    assert listing.entries(root) == [(str(p.relative_to(root)), str(caption_path_for(p))) for p in expected]


def test_concurrent_requests_list_a_dataset_once(tmp_path, monkeypatch):
    root = tmp_path / "set"
    root.mkdir()
    (root / "a.png").write_bytes(b"")
    walks = []
    real = thumbnails._walk

    def slow_walk(folder):
        walks.append(folder)
        time.sleep(0.2)  # the dataset list and the first page arrive together while this walks
        return real(folder)

    monkeypatch.setattr(thumbnails, "_walk", slow_walk)
    listing = ImageListing()
    results = []
    threads = [threading.Thread(target=lambda: results.append(listing.images(root))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(walks) == 1 and results == [[str(root / "a.png")]] * 4
    (root / "b.png").write_bytes(b"")  # the folder changed: listed again
    assert listing.images(root) == [str(root / "a.png"), str(root / "b.png")] and len(walks) == 2
