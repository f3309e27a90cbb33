# Sourced by the GUI tests (tests/app/test-gui*.sh): graft and graft-cli of the build, the
# skips they share (no Xvfb or D-Bus, the app not built, no PIL to write the test images and
# read the screenshots), a temporary folder $tmp (kept with GRAFT_TEST_KEEP=1) and a private
# desktop session's environment in it: home, XDG folders, GSettings in memory, X11, no
# accessibility bus.
APP="$GRAFT_BUILD_ROOT/app/graft"
CLI="$GRAFT_BUILD_ROOT/cli/graft-cli"
PY=/usr/bin/python3
gui_skip() {
  echo "SKIP: $*"
  exit 77
}
for tool in xvfb-run dbus-run-session; do
  command -v "$tool" > /dev/null || gui_skip "$tool is missing (packages xvfb and dbus-daemon)"
done
[ -x "$APP" ] || gui_skip "$APP was not built (meson option gui=false)"
"$PY" -c "import PIL" 2> /dev/null ||
  gui_skip "Python's PIL is missing (needed to write the test images and read the screenshots)"
tmp=$(mktemp -d)
trap '[ -n "${GRAFT_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/config" "$tmp/cache" "$tmp/data" "$tmp/runtime"
chmod 700 "$tmp/runtime"
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/runtime" GSETTINGS_BACKEND=memory
export GDK_BACKEND=x11 NO_AT_BRIDGE=1 GTK_A11Y=none
