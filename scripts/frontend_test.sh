#!/usr/bin/env bash
# `make test`'s web app part: the API client is current, then type check, lint, unit tests and the
# end-to-end tests (a real `lorakit serve` driven by the system's Chromium). Without Node it says so and
# skips, except in CI (CI=true), where a missing Node is an error.
set -euo pipefail
cd "$(dirname "$0")/../frontend"

if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 18 ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "frontend-test: Node.js 18 or newer is needed to test the web app (CI=true: not skipping)." >&2
    exit 1
  fi
  echo "frontend-test: SKIPPED: Node.js 18 or newer not found, so the web app is neither built nor tested."
  echo "frontend-test:   install Node.js (e.g. \`apt-get install -y nodejs npm\`), then run \`make test\` again."
  exit 0
fi
if [ ! -d node_modules ] || [ ! -f dist/index.html ]; then
  echo "frontend-test: the web app is not installed/built: run \`make setup\` (scripts/setup.sh) first." >&2
  exit 1
fi
chromium=${LORAKIT_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "frontend-test: the end-to-end tests need Chromium at $chromium: \`sudo apt-get install -y chromium\`." >&2
  exit 1
fi

export LORAKIT_PYTHON=${LORAKIT_PYTHON:-$(cd .. && pwd)/.venv/bin/python}
npm run --silent check:api
npm run --silent typecheck
npm run --silent lint
npm run --silent test
npm run --silent e2e
