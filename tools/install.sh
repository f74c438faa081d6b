#!/usr/bin/env bash
# Install PhotoSense into ./.venv (and, with --dev, the test stack and test data).
#
#   bash tools/install.sh          # the app
#   bash tools/install.sh --dev    # the app + pytest stack + Fashion-MNIST + Xvfb + PyInstaller (for tests)
#
# torch/torchvision are pinned by constraints.txt: an unpinned resolve pulls a
# multi-GB CUDA build onto CPU machines.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

python="${PYTHON:-python3}"
venv="${PHOTOSENSE_VENV:-$here/.venv}"

# Debian packages: test data, a virtual X server and the metadata validators (only for --dev, only where apt exists).
if [ "$dev" = 1 ] && command -v apt-get >/dev/null 2>&1; then
  want=()
  [ -d /usr/share/datasets/fashion-mnist ] || want+=(dataset-fashion-mnist)
  command -v Xvfb >/dev/null 2>&1 || want+=(xvfb)
  [ -e /usr/bin/convert ] || want+=(imagemagick)
  [ -d /usr/share/fonts/truetype/dejavu ] || want+=(fonts-dejavu-core)  # fonts of the OCR test images
  dpkg -s libexempi8 >/dev/null 2>&1 || want+=(libexempi8)  # XMP parser the sidecar tests read back with
  dpkg -s libxcb-icccm4 >/dev/null 2>&1 || want+=(libxcb-icccm4 libxcb-keysyms1)
  # the desktop metadata's validators, and xdotool to see the bundle's window appear (tests, bench)
  command -v desktop-file-validate >/dev/null 2>&1 || want+=(desktop-file-utils)
  command -v appstreamcli >/dev/null 2>&1 || want+=(appstream)
  command -v xdotool >/dev/null 2>&1 || want+=(xdotool)
  if [ ${#want[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "==> apt-get install ${want[*]}"
    $sudo apt-get install -y -q "${want[@]}" >/dev/null \
      || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${want[@]}" >/dev/null; }
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install -q --upgrade pip setuptools wheel
extras=""
[ "$dev" = 1 ] && extras="[dev]"
echo "==> pip install -e .${extras} (constraints.txt)"
"${pip[@]}" install -q -c constraints.txt -e ".${extras}"
"$venv/bin/photosense" --version
echo "==> done: run '$venv/bin/photosense' (or '$venv/bin/photosense demo')"
