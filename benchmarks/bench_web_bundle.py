"""The web app's initial JavaScript, gzipped, against its 300 KB budget; pages load on demand.

Builds ``frontend/`` (``npm run build``; ``--no-build`` measures the ``frontend/dist`` already there), then
reads ``dist/index.html``: the initial load is its entry script, the chunks it preloads
(``<link rel="modulepreload">``) and the stylesheet. Each file is gzipped (level 9, as a static server or
proxy would); the lazily loaded page chunks are listed apart. Without Node it says so and exits 0.

    .venv/bin/python benchmarks/bench_web_bundle.py [--no-build]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

BUDGET_KB = 300.0
FRONTEND = Path(__file__).resolve().parents[1] / "frontend"


def gz_kb(path: Path) -> float:
    return len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="measure the frontend/dist already built")
    args = parser.parse_args()
    dist = FRONTEND / "dist"
    if not args.no_build:
        npm = shutil.which("npm")
        if npm is None or not (FRONTEND / "node_modules").is_dir():
            print("bench_web_bundle: skipped: needs Node.js >= 18 and `npm ci` in frontend/ (scripts/setup.sh)")
            sys.exit(0)
        subprocess.run([npm, "run", "--silent", "build"], cwd=FRONTEND, check=True, stdout=subprocess.DEVNULL)
    index = dist / "index.html"
    if not index.is_file():
        sys.exit("frontend/dist/index.html is missing: build the app first (npm run build in frontend/).")
    html = index.read_text(encoding="utf-8")
    entry = re.findall(r'<script[^>]+type="module"[^>]+src="/([^"]+)"', html)
    preload = re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/([^"]+)"', html)
    css = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="/([^"]+)"', html)
    initial_js = sorted(set(entry + preload))
    assert initial_js, "no entry script found in index.html"
    lazy = sorted(p for p in (dist / "assets").glob("*.js") if str(p.relative_to(dist)) not in initial_js)

    print(f"{'file':<44}{'raw KB':>10}{'gzip KB':>10}")
    rows = []
    for name in initial_js + css:
        path = dist / name
        rows.append((name, path.stat().st_size / 1024, gz_kb(path)))
        print(f"{name:<44}{rows[-1][1]:>10.1f}{rows[-1][2]:>10.1f}")
    js_gz = sum(gz for name, _raw, gz in rows if name.endswith(".js"))
    css_gz = sum(gz for name, _raw, gz in rows if name.endswith(".css"))
    lazy_gz = [gz_kb(p) for p in lazy]
    print(f"{'initial JavaScript (gzip)':<44}{'':>10}{js_gz:>10.1f}   budget {BUDGET_KB:.0f} KB")
    print(f"{'initial CSS (gzip)':<44}{'':>10}{css_gz:>10.1f}")
    print(f"{f'{len(lazy)} chunks loaded on demand (gzip, total)':<44}{'':>10}{sum(lazy_gz):>10.1f}")
    figures = {
        "initial_js_gzip_kb": round(js_gz, 1),
        "initial_css_gzip_kb": round(css_gz, 1),
        "initial_js_files": len(initial_js),
        "lazy_chunks": len(lazy),
        "lazy_chunks_gzip_kb": round(sum(lazy_gz), 1),
        "largest_lazy_chunk_gzip_kb": round(max(lazy_gz, default=0.0), 1),
        "budget_kb": BUDGET_KB,
        "initial_js_vs_budget": round(js_gz / BUDGET_KB, 3),
        "meets_target": js_gz < BUDGET_KB,
    }
    print(json.dumps({"bench": "web_bundle", **figures}))
    sys.exit(0 if figures["meets_target"] else 1)


if __name__ == "__main__":
    main()
