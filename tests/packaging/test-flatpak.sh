#!/bin/bash
# The Flatpak, built and run in bubblewrap on this machine: a Debian 12 runtime and SDK made
# with debootstrap stand in for GNOME's; flatpak-builder builds Graft from the test manifest,
# the app trains a tiny study under Xvfb inside the sandbox and exports PNG + CSV into the one
# host folder it was granted, graft-cli lists PoCL there, and the single-file bundle is kept in
# the build folder. The runtime, SDK and their OSTree repo are cached and reused.
set -euo pipefail

SRC=${GRAFT_SOURCE_ROOT:?}
BUILD=${GRAFT_BUILD_ROOT:?}
CACHE=${GRAFT_FLATPAK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/graft-flatpak}
OUTDIR="$BUILD/flatpak"
APP_ID=org.graft.Graft
PY=/usr/bin/python3
BRANCH=bookworm
MIRROR=${GRAFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Why each package is there: flatpak/README.md, "The sandbox test".
RUNTIME_PKGS=(libgtk-4-1 libadwaita-1-0 libturbojpeg0 libjson-glib-1.0-0 libclblast1 ocl-icd-libopencl1 libprotobuf-c1
  pocl-opencl-icd libcairo2 fontconfig fonts-dejavu-core libglib2.0-bin dbus-x11 librsvg2-common)
SDK_PKGS=(gcc libc6-dev meson ninja-build pkg-config
  libgtk-4-dev libadwaita-1-dev libturbojpeg0-dev libjson-glib-dev libclblast-dev ocl-icd-opencl-dev
  libprotobuf-c-dev protobuf-c-compiler
  opencl-headers libcairo2-dev libglib2.0-dev gtk-update-icon-cache appstream-util)

skip() { echo "SKIP: $*"; exit 77; }
for tool in flatpak flatpak-builder bwrap ostree eu-strip xvfb-run dbus-run-session; do
  command -v "$tool" >/dev/null || skip "$tool is missing (see TEST_PACKAGES in ./run)"
done
"$PY" -c "import PIL" 2>/dev/null || skip "Python's PIL is missing (needed to write the test images)"
if ! bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc true 2>/dev/null; then
  skip "bubblewrap cannot create a sandbox here (no user namespaces)"
fi

# The test's own processes find nothing of the build tree inside the sandbox: drop what
# tests/meson.build sets for the host programs (flatpak run passes the environment on).
unset POCL_CACHE_DIR GRAFT_KERNEL_CACHE G_SLICE G_DEBUG GSETTINGS_BACKEND GRAFT_CLI
export FLATPAK_USER_DIR="$CACHE/flatpak-user"
mkdir -p "$CACHE" "$OUTDIR" "$FLATPAK_USER_DIR"
# One test at a time per cache: another build folder's run waits here rather than rebuilding
# the runtime under it.
exec 9>"$CACHE/lock"
flock 9
T0=$SECONDS
elapsed() { echo "flatpak-test: $1 after $((SECONDS - T0)) s"; }

# The runtime trees: the platform is a debootstrap with its packages; the SDK is a copy of it
# with the build packages added by apt in a chroot (reusing the downloaded packages). Then
# what Flatpak expects of a runtime: the tree under usr/ (etc/ copied to usr/etc),
# bin/ldconfig, /app/lib in the loader path, a metadata file. Each is rebuilt only when its
# package list (or the platform under the SDK) changes.
runtime_key() { printf '%s\n' 4 "$BRANCH" "$@" | sha256sum | cut -c1-16; }
need_root() {
  [ "$(id -u)" -eq 0 ] || skip "debootstrap and chroot need root to build the test runtime ($1)"
  command -v debootstrap >/dev/null || skip "debootstrap is missing"
}

flatpak_runtime_layout() {  # dir flatpak-name
  local dir=$1 self=$2
  rm -rf "$dir/var/cache/apt/archives"/*.deb "$dir/var/lib/apt/lists"/*_Packages
  # Flatpak mounts files/ at /usr and links /etc to /usr/etc.
  rm -rf "$dir/usr/etc"
  cp -a "$dir/etc" "$dir/usr/etc"
  rm -f "$dir/usr/etc/shadow" "$dir/usr/etc/gshadow" "$dir/usr/etc/shadow-" "$dir/usr/etc/gshadow-"
  rm -f "$dir/usr/etc/resolv.conf" "$dir/usr/etc/hosts" "$dir/usr/etc/machine-id" "$dir/usr/etc/localtime"
  printf '/app/lib\n/app/lib/x86_64-linux-gnu\n' >"$dir/usr/etc/ld.so.conf.d/00-flatpak-app.conf"
  [ -e "$dir/usr/bin/ldconfig" ] || ln -s ../sbin/ldconfig "$dir/usr/bin/ldconfig"
  cat >"$dir/metadata" <<META
[Runtime]
name=$self
runtime=$self/x86_64/$BRANCH
sdk=org.graft.TestSdk/x86_64/$BRANCH
META
}

make_platform() {
  local dir="$CACHE/platform" key; key=$(runtime_key "${RUNTIME_PKGS[@]}")
  if [ -f "$dir.done" ] && [ "$(cat "$dir.done")" = "$key" ]; then return 0; fi
  need_root "$dir"
  rm -rf "$dir" "$dir.done"
  mkdir -p "$CACHE/debs"
  echo "flatpak-test: debootstrap platform (${#RUNTIME_PKGS[@]} packages asked for)"
  debootstrap --variant=minbase --merged-usr --cache-dir="$CACHE/debs" \
    --include="$(IFS=,; echo "${RUNTIME_PKGS[*]}")" "$BRANCH" "$dir" "$MIRROR" >"$dir.log" 2>&1 \
    || { tail -20 "$dir.log"; exit 1; }
  flatpak_runtime_layout "$dir" org.graft.TestPlatform
  echo "$key" >"$dir.done"
}

make_sdk() {
  local dir="$CACHE/sdk" key; key=$(runtime_key "$(cat "$CACHE/platform.done")" "${SDK_PKGS[@]}")
  if [ -f "$dir.done" ] && [ "$(cat "$dir.done")" = "$key" ]; then return 0; fi
  need_root "$dir"
  rm -rf "$dir" "$dir.done"
  echo "flatpak-test: SDK = platform + ${#SDK_PKGS[@]} build packages"
  cp -a --reflink=auto "$CACHE/platform" "$dir"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  ln -f "$CACHE/debs"/*.deb "$dir/var/cache/apt/archives/" 2>/dev/null || true
  { chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
      && chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${SDK_PKGS[@]}"; } >"$dir.log" 2>&1 \
    || { tail -20 "$dir.log"; exit 1; }
  ln -f "$dir/var/cache/apt/archives"/*.deb "$CACHE/debs/" 2>/dev/null || true
  rm -f "$dir/etc/resolv.conf"
  flatpak_runtime_layout "$dir" org.graft.TestSdk
  echo "$key" >"$dir.done"
}

export_runtime() {  # name
  local name=$1 dir="$CACHE/$1"
  [ -f "$CACHE/exported-$name" ] && [ "$(cat "$CACHE/exported-$name")" = "$(cat "$dir.done")" ] \
    && return 0
  # bare-user-only: no compression on export, and the install can take the objects as they are.
  [ -d "$CACHE/repo" ] || ostree init --mode=bare-user-only --repo="$CACHE/repo"
  flatpak build-export --runtime --files=usr --disable-sandbox "$CACHE/repo" "$dir" "$BRANCH" \
    >"$dir.export.log" 2>&1 || { tail -20 "$dir.export.log"; exit 1; }
  cat "$dir.done" >"$CACHE/exported-$name"
}

make_platform
make_sdk
elapsed "runtime trees"
export_runtime platform
export_runtime sdk
ostree prune --repo="$CACHE/repo" --refs-only --depth=0 >/dev/null
elapsed "runtime export"

flatpak --user remote-add --if-not-exists --no-gpg-verify graft-test "file://$CACHE/repo"
flatpak --user remote-modify --url="file://$CACHE/repo" graft-test  # the cache may have moved
for ref in org.graft.TestPlatform org.graft.TestSdk; do
  if flatpak --user info "$ref//$BRANCH" >/dev/null 2>&1; then
    flatpak --user update -y --noninteractive "$ref//$BRANCH" >/dev/null
  else
    flatpak --user install -y --noninteractive graft-test "runtime/$ref/x86_64/$BRANCH" >/dev/null
  fi
done
elapsed "runtimes installed"

# The test manifest (flatpak/tests/), with its paths made absolute and the build folder kept
# out of the copied source.
manifest="$OUTDIR/$APP_ID.test.json"
"$PY" - "$SRC/flatpak/tests/$APP_ID.test.json" "$BUILD" >"$manifest" <<'PYEOF'
import json, os, sys
path, build = sys.argv[1], os.path.realpath(sys.argv[2])
m = json.load(open(path))
for module in m["modules"]:
    for source in module.get("sources", []):
        if "path" in source:
            source["path"] = os.path.realpath(os.path.join(os.path.dirname(path), source["path"]))
            if source["type"] == "dir" and build.startswith(source["path"] + "/"):
                source.setdefault("skip", []).append(os.path.relpath(build, source["path"]))
print(json.dumps(m, indent=2))
PYEOF
flatpak-builder --user --disable-rofiles-fuse --force-clean --state-dir="$CACHE/builder" \
  --repo="$OUTDIR/repo" "$OUTDIR/app" "$manifest" >"$OUTDIR/builder.log" 2>&1 \
  || { tail -40 "$OUTDIR/builder.log"; exit 1; }
elapsed "flatpak-builder"
flatpak build-bundle "$OUTDIR/repo" "$OUTDIR/$APP_ID.flatpak" \
  "$APP_ID" master
flatpak --user uninstall -y --noninteractive "$APP_ID" >/dev/null 2>&1 || true
flatpak --user install -y --noninteractive --bundle "$OUTDIR/$APP_ID.flatpak" >/dev/null
elapsed "bundle built and installed"
ls -l "$OUTDIR/$APP_ID.flatpak"

tmp=$(mktemp -d)
trap '[ -n "${GRAFT_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
mkdir -p "$tmp/granted" "$tmp/runtime" "$CACHE/home"
chmod 700 "$tmp/runtime"
# The app's ~/.var/app (kernel caches) lives with the rest of the test's cache.
export XDG_RUNTIME_DIR="$tmp/runtime" HOME="$CACHE/home"
# Only this folder is shared with the sandbox: data, study and exports all live in it.
grant=(--filesystem="$tmp/granted" --env=GSK_RENDERER=cairo --env=NO_AT_BRIDGE=1 --env=GTK_A11Y=none
  --env=GDK_BACKEND=x11)

# Inside is a sandbox: Flatpak's marker, the granted folder, the vendor list of the manifest,
# and nothing of this checkout.
flatpak run "${grant[@]}" --command=sh "$APP_ID" -c \
  "test -f /.flatpak-info && test -d '$tmp/granted' && ! test -e '$SRC/meson.build' \
   && echo \"sandbox: OCL_ICD_VENDORS=\$OCL_ICD_VENDORS: \$(ls /app/etc/OpenCL/vendors | tr '\n' ' ')\" \
   && grep -E '^(name|runtime)=' /.flatpak-info" | tee "$tmp/inside.txt"
grep -q "OCL_ICD_VENDORS=/app/etc/OpenCL/vendors: .*pocl.icd" "$tmp/inside.txt"

# graft-cli inside the sandbox: the bundled runtime's PoCL is the device.
flatpak run "${grant[@]}" --command=graft-cli "$APP_ID" devices | tee "$tmp/devices.txt"
grep -q "Portable Computing Language" "$tmp/devices.txt"
flatpak run "${grant[@]}" --command=graft-cli "$APP_ID" devices --json >"$tmp/devices.json"
"$PY" - "$tmp/devices.json" <<'PYEOF'
import json, sys
devs = json.load(open(sys.argv[1]))
assert any("pthread" in d["id"] or "cpu" in d.get("type", "").lower() for d in devs), devs
print("sandbox devices:", [d["id"] for d in devs])
PYEOF

# A tiny two-class study, made with the sandboxed CLI in the granted folder.
g="$tmp/granted"
"$PY" - "$g" <<'PYEOF'
import os, random, sys
from PIL import Image
random.seed(3)
for root, classes in (("src", "ab"), ("dst", "xy")):
    for ci, c in enumerate(classes):
        os.makedirs(os.path.join(sys.argv[1], root, c))
        for i in range(12):
            rgb = tuple(200 if k == ci else random.randint(0, 120) for k in range(3))
            Image.new("RGB", (36, 36), rgb).save(os.path.join(sys.argv[1], root, c, f"{i}.jpg"))
PYEOF
flatpak run "${grant[@]}" --command=graft-cli "$APP_ID" study new --preset demo \
  --source "$g/src" --target "$g/dst" --out "$g/study" --epochs 1 >/dev/null
elapsed "sandboxed CLI"

# The desktop app: device menu, a study trained, the figure and table exported.
timeout 900 xvfb-run -a -s "-screen 0 1600x1000x24" dbus-run-session -- \
  flatpak run "${grant[@]}" "$APP_ID" --open-study "$g/study" --self-test-devices \
  --self-test-run --self-test-export "$g/exports" --self-test-screenshot "$g/window.png" \
  2>&1 | tee "$tmp/app.log"
grep -q "self-test: device menu: .*\(PoCL\|pthread\)" "$tmp/app.log"
grep -q "self-test: run finished: Done: " "$tmp/app.log"
"$PY" - "$g" <<'PYEOF'
import csv, json, os, sys
g = sys.argv[1]
png = open(os.path.join(g, "exports", "curves.png"), "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000, "curves.png is not a PNG"
rows = list(csv.DictReader(open(os.path.join(g, "exports", "results.csv"), newline="")))
runs = json.load(open(os.path.join(g, "study", "study.json")))["runs"]
assert len(rows) == len(runs), (len(rows), len(runs))
for r in runs:
    st = json.load(open(os.path.join(g, "study", "runs", r["id"], "run.json")))
    assert st["status"] == "finished", (r["id"], st)
    print("sandbox run", r["id"], st["status"], "on", st.get("device"))
print(f"ok: {len(runs)} runs trained in the sandbox, curves.png {len(png)} bytes, results.csv {len(rows)} rows")
PYEOF
elapsed "sandboxed app"
# What the sandbox produced stays with the bundle, for people to look at.
rm -rf "$OUTDIR/last-run" && mkdir -p "$OUTDIR/last-run"
cp "$tmp"/*.txt "$tmp/app.log" "$g/window.png" "$g/exports/curves.png" "$g/exports/results.csv" \
  "$OUTDIR/last-run/"
