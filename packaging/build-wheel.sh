#!/usr/bin/env bash
# Build the PhotoSense wheel and sdist into dist/ (the bundled model, icons, samples and
# prompt sets are inside the wheel; tests/test_packaging.py checks it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
python="${PYTHON:-$here/.venv/bin/python}"
"$python" -m pip wheel --no-deps --no-build-isolation -w dist .
ls -l dist/
