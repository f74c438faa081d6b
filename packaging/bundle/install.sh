#!/usr/bin/env bash
# Add this PhotoSense bundle to the desktop's application menu, for this user only (no root).
#
#   ./install.sh            # menu entry + icon + AppStream metadata, and ~/.local/bin/photosense
#   ./install.sh --remove   # take them out again (the bundle folder itself stays where it is)
set -euo pipefail
bundle="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
id=io.github.photosense.PhotoSense
data="${XDG_DATA_HOME:-$HOME/.local/share}"
desktop="$data/applications/$id.desktop"
icon="$data/icons/hicolor/scalable/apps/$id.svg"
metainfo="$data/metainfo/$id.metainfo.xml"
link="$HOME/.local/bin/photosense"

refresh() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
}

case "${1:-}" in
  --remove)
    rm -f "$desktop" "$icon" "$metainfo"
    [ -L "$link" ] && [ "$(readlink "$link")" = "$bundle/photosense" ] && rm -f "$link"
    refresh
    echo "removed PhotoSense from the application menu"
    exit 0 ;;
  "") ;;
  -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
  *) echo "install.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

[ -x "$bundle/photosense" ] || { echo "install.sh: $bundle/photosense is missing; unpack the whole archive" >&2; exit 1; }
case "$bundle" in
  *[[:space:]\"\'\\\$\`%]*)
    echo "install.sh: the bundle's folder name has a space or quote ($bundle); move it somewhere plainer" >&2
    exit 1 ;;
esac
mkdir -p "$(dirname "$desktop")" "$(dirname "$icon")" "$(dirname "$metainfo")" "$(dirname "$link")"
sed "s|^Exec=photosense|Exec=$bundle/photosense|" "$bundle/share/$id.desktop" > "$desktop"
cp "$bundle/share/$id.svg" "$icon"
cp "$bundle/share/$id.metainfo.xml" "$metainfo"
# A command-line launcher too, unless something else already owns that name.
if [ ! -e "$link" ] || [ -L "$link" ]; then ln -sfn "$bundle/photosense" "$link"; fi
refresh
echo "added PhotoSense to the application menu ($desktop)"
