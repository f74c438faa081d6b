#!/usr/bin/env bash
# Add PhotoSense to the desktop's application menu (per user, freedesktop.org locations).
#
#   bash packaging/install-desktop-entry.sh            # uses the photosense on PATH, else ./.venv
#   bash packaging/install-desktop-entry.sh --remove
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
id=io.github.photosense.PhotoSense
data="${XDG_DATA_HOME:-$HOME/.local/share}"
desktop="$data/applications/$id.desktop"
icon="$data/icons/hicolor/scalable/apps/$id.svg"
metainfo="$data/metainfo/$id.metainfo.xml"

if [ "${1:-}" = "--remove" ]; then
  rm -f "$desktop" "$icon" "$metainfo"
  echo "removed PhotoSense from the application menu"
  exit 0
fi
exe="$(command -v photosense || true)"
[ -n "$exe" ] || exe="$here/.venv/bin/photosense"
[ -x "$exe" ] || { echo "photosense is not installed: run 'bash tools/install.sh' first" >&2; exit 1; }
mkdir -p "$(dirname "$desktop")" "$(dirname "$icon")" "$(dirname "$metainfo")"
sed "s|^Exec=photosense|Exec=$exe|" "$here/packaging/linux/$id.desktop" > "$desktop"
cp "$here/resources/icons/photosense.svg" "$icon"
cp "$here/packaging/linux/$id.metainfo.xml" "$metainfo"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
echo "added PhotoSense to the application menu ($desktop)"
