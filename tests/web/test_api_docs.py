"""`/docs` works offline: Swagger UI's files come from this server, and `/` points there until the app is built."""

from __future__ import annotations

import re


def test_docs_page_loads_only_local_assets_that_answer(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?['"]([^'"]+)['"]""", page.text)
    urls = [a or b for a, b in urls]
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls) and any(u.endswith(".css") for u in urls)
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"/docs loads {url} from another site"
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 100, url
    assert "openapi" in client.get("/openapi.json").json()
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not offered


def test_docs_behind_a_token_work_through_the_link(workspace, runner):
    from fastapi.testclient import TestClient

    from lorakit.web.app import create_app

    with TestClient(create_app(workspace, runner=runner, token="s3cret-docs-token")) as client:
        assert client.get("/docs").status_code == 401
        # The printed link sets the cookie; the page and its assets then load with it.
        assert client.get("/docs?token=s3cret-docs-token", follow_redirects=False).status_code == 303
        assert client.get("/docs").status_code == 200
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_home_page_says_where_the_docs_are(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'href="docs"' in r.text
