"""Print the FastAPI app's OpenAPI document as stable JSON, without starting a server.

Used by ``npm run gen:api`` / ``npm run check:api`` and by tests/web/test_frontend_client.py.
The app is built over a throwaway workspace; its job runner is closed again before printing.
"""

from __future__ import annotations

import json
import sys
import tempfile


def openapi_document() -> dict:
    from lorakit.web.app import create_app

    with tempfile.TemporaryDirectory(prefix="lorakit-openapi-") as root:
        app = create_app(root, frontend_dir=None)
        try:
            return app.openapi()
        finally:
            app.state.runner.close()


def dump(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(dump(openapi_document()))
