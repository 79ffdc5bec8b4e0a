"""With a token, the web app's own files load without it (the app then shows its token page); nothing else does."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lorakit.web.app import create_app

TOKEN = "app-token-0123456789abcdef"


@pytest.fixture(scope="module")
def guarded(workspace, runner, tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    (dist / "assets").mkdir()
    (dist / "index.html").write_text("<html>lorakit app</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    app = create_app(workspace, runner=runner, token=TOKEN, frontend_dir=dist)
    return TestClient(app, base_url="http://10.0.0.7:8000", follow_redirects=False)


def test_app_files_load_without_the_token(guarded):
    assert "lorakit app" in guarded.get("/").text
    assert "lorakit app" in guarded.get("/datasets/cats").text
    assert guarded.get("/assets/app.js").text == "console.log(1)"


@pytest.mark.parametrize(
    "path", ["/api/jobs", "/api/settings", "/api", "/docs", "/docs/assets/swagger-ui-bundle.js", "/openapi.json"]
)
def test_api_and_docs_still_need_it(guarded, path):
    r = guarded.get(path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth"
    assert TOKEN not in r.text


def test_changes_to_app_paths_still_need_it(guarded):
    assert guarded.post("/", content=b"x").status_code == 401
    assert guarded.delete("/files").status_code == 401


def test_a_wrong_token_in_the_link_sets_no_cookie_and_the_app_says_so(guarded):
    r = guarded.get("/files", params={"token": "wrong"})
    assert r.status_code == 200 and "lorakit app" in r.text  # the app reads ?token= and says it was refused
    assert "set-cookie" not in r.headers
    assert guarded.get("/api/jobs").status_code == 401


def test_the_right_token_in_the_link_sets_the_cookie(workspace, runner, tmp_path):
    (tmp_path / "index.html").write_text("<html>app</html>")
    app = create_app(workspace, runner=runner, token=TOKEN, frontend_dir=tmp_path)
    client = TestClient(app, base_url="http://10.0.0.7:8000", follow_redirects=False)
    r = client.get("/files", params={"token": TOKEN, "x": "1"})
    assert r.status_code == 303 and r.headers["location"] == "/files?x=1"
    assert TOKEN in r.headers["set-cookie"] and "httponly" in r.headers["set-cookie"].lower()
    assert client.get("/api/jobs").status_code == 200


def test_hashed_assets_are_cached_for_good_and_the_index_never(guarded):
    assert "immutable" in guarded.get("/assets/app.js").headers["cache-control"]
    assert guarded.get("/").headers["cache-control"] == "no-cache"
