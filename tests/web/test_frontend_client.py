"""The web app's typed API client never drifts from the server: the committed OpenAPI document and the
TypeScript types generated from it (frontend/src/api/{openapi.json,schema.d.ts}) match what the app makes now.

Fix a failure with `npm run gen:api` in frontend/ and commit both files.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lorakit.web.app import OPTIONAL_ROUTES

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
COMMITTED = FRONTEND / "src" / "api" / "openapi.json"


def _dump_module():
    spec = importlib.util.spec_from_file_location("dump_openapi", FRONTEND / "scripts" / "dump_openapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _all_routes_installed() -> str | None:
    for name in OPTIONAL_ROUTES:
        try:
            importlib.import_module(f"lorakit.web.routes.{name}")
        except ModuleNotFoundError as error:
            return f"the {name} routes need {error.name} (not installed): this API is smaller than the committed one"
    return None


def test_committed_openapi_matches_the_server():
    missing = _all_routes_installed()
    if missing:
        pytest.skip(missing)
    dump = _dump_module()
    fresh = dump.dump(dump.openapi_document())
    committed = COMMITTED.read_text(encoding="utf-8")
    if fresh != committed:
        new, old = json.loads(fresh), json.loads(committed)
        added = sorted(set(new["paths"]) - set(old["paths"]))
        removed = sorted(set(old["paths"]) - set(new["paths"]))
        pytest.fail(
            "frontend/src/api/openapi.json differs from the server's API "
            f"(paths added: {added or 'none'}, removed: {removed or 'none'}; or a schema changed). "
            "Run `npm run gen:api` in frontend/ and commit openapi.json and schema.d.ts."
        )


def test_generation_is_deterministic():
    dump = _dump_module()
    assert dump.dump(dump.openapi_document()) == dump.dump(dump.openapi_document())


def test_committed_typescript_matches_the_openapi_document():
    """schema.d.ts is what openapi-typescript makes of the committed document (needs Node and `npm ci`)."""
    node = shutil.which("node")
    if node is None or not (FRONTEND / "node_modules" / "openapi-typescript").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Node >= 18 and `npm ci` in frontend/ to check the generated client.")
        pytest.skip("Node or frontend/node_modules is missing (run scripts/setup.sh); `make test` checks it too")
    missing = _all_routes_installed()
    if missing:
        pytest.skip(missing)
    result = subprocess.run(
        [node, "scripts/gen-api.mjs", "--check"],
        cwd=FRONTEND,
        env={**os.environ, "LORAKIT_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
