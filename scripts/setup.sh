#!/usr/bin/env bash
# Sets up .venv with lorakit and everything its tests need, then builds the web app when Node >= 18 is
# present (scripts/setup_frontend.sh). Idempotent: a second run with an unchanged pyproject.toml and
# frontend/ only checks stamps and returns.
#
# Torch is the one dependency we install by hand, before the rest: a plain `torch` requirement on a
# machine without torch pulls a multi-GB CUDA build. So:
#   - a torch that is already installed (a user's CUDA or ROCm build) is left alone;
#   - on a machine with an NVIDIA GPU we install PyPI's default (CUDA) build;
#   - elsewhere we install the CPU build (from PyTorch's CPU index when it is reachable, otherwise
#     from what pip's own configuration offers, e.g. a local wheel folder).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
TORCH_VERSION=${LORAKIT_TORCH_VERSION:-2.13.0}
EXTRAS=${LORAKIT_EXTRAS:-train,tag,caption,web,notebook,studio,dev}
STAMP=$VENV/.lorakit-setup
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16) $EXTRAS"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/lorakit" ]; then
  # Python is set up; the web app has its own stamps (built when Node >= 18 is present).
  bash scripts/setup_frontend.sh
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"

if "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "setup: keeping the installed torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: NVIDIA GPU found, installing torch (CUDA build)"
  $PIP install "torch==$TORCH_VERSION"
else
  echo "setup: no GPU found, installing the CPU build of torch $TORCH_VERSION"
  cpu_index=https://download.pytorch.org/whl/cpu
  if "$VENV/bin/python" - "$cpu_index" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=3)
PY
  then
    $PIP install "torch==$TORCH_VERSION" --index-url "$cpu_index" --extra-index-url https://pypi.org/simple
  else
    $PIP install "torch==$TORCH_VERSION"
  fi
fi

echo "setup: installing lorakit[$EXTRAS]"
$PIP install -e ".[$EXTRAS]"
echo "$want" > "$STAMP"
echo "setup: done ($VENV)"
bash scripts/setup_frontend.sh
