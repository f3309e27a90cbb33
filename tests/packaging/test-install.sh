#!/bin/bash
# meson install into a DESTDIR: every file a desktop installs is there (binaries, launcher,
# icons, metainfo, settings schema, man page), the installed files validate, and the installed
# graft-cli lists devices with nothing of the build tree (no RUNPATH, no build paths, no
# environment pointing there).
set -euo pipefail

BUILD=$GRAFT_BUILD_ROOT
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap '[ -n "${GRAFT_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
dest="$tmp/dest"
meson install -C "$BUILD" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; exit 1; }
intro=$(meson introspect "$BUILD" --buildoptions)
opt() { "$PY" -c "import json,sys; print(next(o['value'] for o in json.load(sys.stdin) if o['name']==sys.argv[1]))" "$1" <<<"$intro"; }
prefix=$(opt prefix) bindir=$(opt bindir) datadir=$(opt datadir) mandir=$(opt mandir)
gui=$(opt gui)
root="$dest$prefix"
want=("$bindir/graft-cli")
if [ "$gui" = True ]; then
  want+=("$bindir/graft"
    "$datadir/applications/org.graft.Graft.desktop"
    "$datadir/metainfo/org.graft.Graft.metainfo.xml"
    "$datadir/glib-2.0/schemas/org.graft.Graft.gschema.xml"
    "$datadir/icons/hicolor/scalable/apps/org.graft.Graft.svg"
    "$datadir/icons/hicolor/symbolic/apps/org.graft.Graft-symbolic.svg")
fi
# The man page is built when help2man was found at configure time.
if meson introspect "$BUILD" --targets | grep -q '"graft-cli-man"'; then
  want+=("$mandir/man1/graft-cli.1")
fi
missing=0
for f in "${want[@]}"; do
  if [ -s "$root/$f" ]; then echo "installed: $prefix/$f"; else echo "MISSING: $prefix/$f"; missing=1; fi
done
[ "$missing" -eq 0 ]

if [ "$gui" = True ]; then
  command -v desktop-file-validate >/dev/null \
    && desktop-file-validate "$root/$datadir/applications/org.graft.Graft.desktop"
  command -v appstreamcli >/dev/null \
    && appstreamcli validate --no-net "$root/$datadir/metainfo/org.graft.Graft.metainfo.xml"
  glib-compile-schemas --strict --targetdir="$tmp" "$root/$datadir/glib-2.0/schemas"
  for svg in "$root/$datadir"/icons/hicolor/*/apps/*.svg; do
    "$PY" -c "import sys, xml.dom.minidom as m; m.parse(sys.argv[1])" "$svg"
  done
fi
if [ -f "$root/$mandir/man1/graft-cli.1" ]; then
  grep -q '^\.SH' "$root/$mandir/man1/graft-cli.1"
  grep -q 'study new' "$root/$mandir/man1/graft-cli.1"
  command -v man >/dev/null && MANWIDTH=100 man -l "$root/$mandir/man1/graft-cli.1" >/dev/null 2>&1 || true
fi

cli="$root/$bindir/graft-cli"
if readelf -d "$cli" | grep -E 'RUNPATH|RPATH'; then
  echo "installed graft-cli keeps a run path"; exit 1
fi
# Debug information records where it was compiled; the program itself must not.
strip -o "$tmp/graft-cli.stripped" "$cli"
if grep -a -q -F "$(realpath "$BUILD")" "$tmp/graft-cli.stripped"; then
  echo "installed graft-cli names the build folder $(realpath "$BUILD")"; exit 1
fi
# A clean environment and home: nothing of the test setup points into the build tree.
mkdir -p "$tmp/home"
env -i PATH=/usr/bin:/bin HOME="$tmp/home" XDG_CACHE_HOME="$tmp/home/.cache" \
  bash -c "cd / && '$cli' --version && '$cli' devices" | tee "$tmp/devices.txt"
if [ ! -s "$tmp/devices.txt" ]; then
  echo "installed graft-cli printed nothing"; exit 1
fi
echo "ok: ${#want[@]} files installed into a DESTDIR; the installed graft-cli runs on its own"
