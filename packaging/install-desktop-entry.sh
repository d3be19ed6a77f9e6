#!/usr/bin/env bash
# Installs the .desktop file and the icon for the current user (freedesktop menus: GNOME, KDE, ...).
# Usage: packaging/install-desktop-entry.sh [PREFIX]   (default ~/.local)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-$HOME/.local}
install -Dm644 "$here/whiteboard-app.desktop" "$prefix/share/applications/whiteboard-app.desktop"
install -Dm644 "$here/../assets/whiteboard-app.svg" "$prefix/share/icons/hicolor/scalable/apps/whiteboard-app.svg"
install -Dm644 "$here/../assets/whiteboard-app.png" "$prefix/share/icons/hicolor/256x256/apps/whiteboard-app.png"
echo "installed whiteboard-app.desktop under $prefix/share/applications"
