#!/usr/bin/env bash
# Installs the .desktop file and the icon for the current user (freedesktop menus: GNOME, KDE, ...).
# Usage: packaging/install-desktop-entry.sh [PREFIX [BUNDLE]]   (PREFIX default ~/.local)
# Without BUNDLE the menu entry starts `whiteboard-app-gui` from PATH (a pip install of the package).
# With BUNDLE (the folder `make package` builds, dist/whiteboard-app) the folder is copied to
# PREFIX/lib/whiteboard-app, PREFIX/bin/whiteboard-app links to its executable, and the menu entry
# starts that executable.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-$HOME/.local}
bundle=${2:-}
exec_line="whiteboard-app-gui"
if [ -n "$bundle" ]; then
    test -x "$bundle/whiteboard-app" || { echo "no executable $bundle/whiteboard-app (run make package)" >&2; exit 1; }
    rm -rf "$prefix/lib/whiteboard-app"
    mkdir -p "$prefix/lib" "$prefix/bin"
    cp -a "$bundle" "$prefix/lib/whiteboard-app"
    ln -sfn "$prefix/lib/whiteboard-app/whiteboard-app" "$prefix/bin/whiteboard-app"
    exec_line="$prefix/lib/whiteboard-app/whiteboard-app"
    echo "installed the application under $prefix/lib/whiteboard-app ($prefix/bin/whiteboard-app)"
fi
mkdir -p "$prefix/share/applications"
sed "s|^Exec=.*|Exec=$exec_line|" "$here/whiteboard-app.desktop" > "$prefix/share/applications/whiteboard-app.desktop"
chmod 644 "$prefix/share/applications/whiteboard-app.desktop"
install -Dm644 "$here/../assets/whiteboard-app.svg" "$prefix/share/icons/hicolor/scalable/apps/whiteboard-app.svg"
install -Dm644 "$here/../assets/whiteboard-app.png" "$prefix/share/icons/hicolor/256x256/apps/whiteboard-app.png"
echo "installed whiteboard-app.desktop under $prefix/share/applications (Exec=$exec_line)"
