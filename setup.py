"""Packaging hook (everything else is in pyproject.toml): a wheel carries the built web app.

``frontend/dist`` (made by ``npm run build``, see scripts/setup_frontend.sh) is copied into the package as
``lorakit/web/static``, where ``lorakit.web.routes.spa.default_dist`` finds it in an installed lorakit, so a user
who installs a wheel gets the web app without Node. An editable install serves ``frontend/dist`` directly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DIST = Path(__file__).resolve().parent / "frontend" / "dist"


class BuildPyWithWebApp(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        if not (DIST / "index.html").is_file():
            self.announce("frontend/dist is not built: this package has no web app (build it with npm first)", 3)
            return
        target = Path(self.build_lib) / "lorakit" / "web" / "static"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(DIST, target)


setup(cmdclass={"build_py": BuildPyWithWebApp})
