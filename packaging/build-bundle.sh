#!/usr/bin/env bash
# Build the self-contained desktop bundle dist/PhotoSense/ (PyInstaller, no Python needed to run it)
# and the release archive dist/PhotoSense-<version>-linux-x86_64.tar.gz (the bundle + install.sh).
#
#   bash packaging/build-bundle.sh            # skips the build when nothing it depends on changed
#   bash packaging/build-bundle.sh --force    # rebuild anyway (PyInstaller's cache in build/ still helps)
#   PYTHON=/path/to/venv/bin/python bash packaging/build-bundle.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
python="${PYTHON:-$here/.venv/bin/python}"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "build-bundle.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$python" ] || { echo "build-bundle.sh: no Python at $python: run 'bash tools/install.sh' or set PYTHON" >&2; exit 1; }

id=io.github.photosense.PhotoSense
version="$("$python" -c 'import re,sys; print(re.search(r"__version__ = \"(.+?)\"", open("photosense/__init__.py").read())[1])')"
bundle=dist/PhotoSense
archive="dist/PhotoSense-$version-linux-x86_64.tar.gz"
work=build/bundle
stamp="$work/inputs.sha256"
mkdir -p "$work" dist

if ! "$python" -m PyInstaller --version >/dev/null 2>&1; then
  echo "==> installing PyInstaller (packaging/bundle/requirements.txt)"
  "$python" -m pip install -q -c constraints.txt -r packaging/bundle/requirements.txt
fi

# Everything the bundle is made of: the sources, resources, packaging files and the installed packages.
inputs() {
  find photosense resources packaging/bundle packaging/linux packaging/build-bundle.sh pyproject.toml \
       constraints.txt -type f ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  "$python" -m pip freeze --all 2>/dev/null | grep -v '^-e ' || true
  "$python" -c 'import sys; print(sys.version)'
}
want="$(inputs | sha256sum | cut -d' ' -f1)"
if [ "$force" = 0 ] && [ -x "$bundle/photosense" ] && [ -f "$archive" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "==> $bundle is up to date (inputs unchanged; --force rebuilds)"
else
  rm -f "$stamp"
  start=$SECONDS
  echo "==> PyInstaller: $bundle (work dir $work)"
  # The venv's torchvision is a CUDA build whose compiled parts are left out (see photosense.spec); its
  # dependency scan would only warn about the CUDA libraries it cannot find.
  "$python" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath "$work" \
    packaging/bundle/photosense.spec
  # The desktop entry, icon and metadata that install.sh puts in the user's menu.
  mkdir -p "$bundle/share"
  cp packaging/linux/$id.desktop packaging/linux/$id.metainfo.xml "$bundle/share/"
  cp resources/icons/photosense.svg "$bundle/share/$id.svg"
  cp packaging/bundle/install.sh "$bundle/install.sh"
  cuda="$(find "$bundle" -name '*.so*' \( -name 'libcuda*' -o -name 'libnv*' -o -name 'libcublas*' -o -name 'libcudnn*' \
              -o -name 'libcufft*' -o -name 'libcurand*' -o -name 'libcusparse*' -o -name 'libcusolver*' -o -name 'libnccl*' \
              -o -name '*_cuda.so*' -o -path '*torchvision/_C.so' -o -path '*torchvision/image.so' \) -print)"
  [ -z "$cuda" ] || { echo "build-bundle.sh: CUDA libraries in the CPU bundle:" >&2; echo "$cuda" >&2; exit 1; }
  echo "==> $archive"
  tar -C dist -cf - PhotoSense | gzip -6 > "$archive.tmp"
  mv "$archive.tmp" "$archive"
  echo "$want" > "$stamp"
  echo "==> built in $((SECONDS - start)) s"
fi
echo "bundle:  $bundle  $(du -sh "$bundle" | cut -f1)"
echo "archive: $archive  $(du -h "$archive" | cut -f1)"
