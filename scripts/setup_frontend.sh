#!/usr/bin/env bash
# Builds the web app (frontend/ -> frontend/dist, served by `lorakit serve`) when Node >= 18 is present, and
# makes sure the end-to-end tests have a Chromium. Called by scripts/setup.sh; idempotent and quick when nothing
# changed: `npm ci` runs only when package-lock.json changed, `npm run build` only when a source file did.
set -euo pipefail
cd "$(dirname "$0")/.."

FRONTEND=frontend
CHROMIUM=${LORAKIT_CHROMIUM:-/usr/bin/chromium}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: Node.js not found: the web app is not built (lorakit serve shows the API documentation)."
  echo "setup:   to build it, install Node.js 18 or newer (e.g. \`apt-get install -y nodejs npm\`) and run setup again."
  exit 0
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
  echo "setup: Node.js $(node --version) is too old to build the web app (18 or newer needed); skipping it."
  exit 0
fi

# Hash of every file that goes into the build (not node_modules, dist or test output).
sources_hash() {
  find "$FRONTEND" \( -path "$FRONTEND/node_modules" -o -path "$FRONTEND/dist" -o -path "$FRONTEND/test-results" \
    -o -path "$FRONTEND/playwright-report" \) -prune -o -type f -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}

lock_stamp=$FRONTEND/node_modules/.lorakit-lock
build_stamp=$FRONTEND/node_modules/.lorakit-build
lock_hash=$(sha256sum "$FRONTEND/package-lock.json" | cut -c1-16)

if [ ! -f "$lock_stamp" ] || [ "$(cat "$lock_stamp")" != "$lock_hash" ]; then
  echo "setup: installing the web app's packages (npm ci)"
  # Never download a browser: the end-to-end tests drive the system's Chromium.
  (cd "$FRONTEND" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > "$lock_stamp"
fi

build_hash=$(sources_hash)
if [ ! -f "$FRONTEND/dist/index.html" ] || [ ! -f "$build_stamp" ] || [ "$(cat "$build_stamp")" != "$build_hash" ]; then
  echo "setup: building the web app (npm run build)"
  (cd "$FRONTEND" && npm run --silent build >/dev/null)
  echo "$build_hash" > "$build_stamp"
  echo "setup: web app built in $FRONTEND/dist"
fi

if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Chromium for the web app's end-to-end tests (apt-get install chromium)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
  else
    echo "setup: the web app's end-to-end tests need Chromium at $CHROMIUM; install it with:"
    echo "setup:   sudo apt-get install -y chromium     (or set LORAKIT_CHROMIUM to another Chromium)"
  fi
fi
