#!/bin/bash
# Remakes every screenshot in docs/screenshots/ from the demo study, with the app's hidden
# self-test options under Xvfb (the same ones the GUI tests use): start page, study window,
# plot (light and dark), narrow window, layer checklist, results table, run inspector
# (confusion matrix and gallery, log), dataset view and a study running.
# Usage: docs/screenshots/update.sh [BUILD-DIR]   (default build/, as ./run builds it)
# The demo study is made in a temporary folder (about a minute on two cores).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
app=$build/app/graft cli=$build/cli/graft-cli
out=$src/docs/screenshots
for tool in xvfb-run dbus-run-session; do
  command -v "$tool" > /dev/null || { echo "update.sh: $tool is missing (packages xvfb, dbus-daemon)" >&2; exit 1; }
done
[ -x "$app" ] && [ -x "$cli" ] || { echo "update.sh: build Graft first (./run build)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/config" "$tmp/cache" "$tmp/data" "$tmp/runtime"
chmod 700 "$tmp/runtime"
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/runtime" GSETTINGS_BACKEND=memory
export GDK_BACKEND=x11 NO_AT_BRIDGE=1 GTK_A11Y=none
shot() {  # NAME ARGS…: the window as it is after ARGS, into $tmp/NAME.png
  local name=$1
  shift
  xvfb-run -a -s "-screen 0 1600x1000x24" dbus-run-session -- "$app" \
    --self-test-screenshot "$tmp/$name.png" "$@" > "$tmp/$name.log" 2>&1 ||
    { cat "$tmp/$name.log" >&2; echo "update.sh: the $name screenshot failed" >&2; exit 1; }
}
study=$tmp/demo
# Four epochs a run: enough for curves, quick to make.
"$cli" demo --out "$study" --epochs 4 > "$tmp/demo.log"

shot start
shot study --open-study "$study"
cp "$tmp/start.png" "$out/start.png"
cp "$tmp/study.png" "$out/study.png"
shot plot --open-study "$study" --self-test-set metric=1
cp "$tmp/plot.png" "$out/plot.png"
shot dark --open-study "$study" --self-test-plot-dark
cp "$tmp/dark.png" "$out/dark.png"
shot narrow --open-study "$study" --self-test-size 800x600
cp "$tmp/narrow.png" "$out/narrow.png"
shot layers --open-study "$study" --self-test-layers only-output-frozen
cp "$tmp/layers.png.layers.png" "$out/layer-checklist.png"
shot results --open-study "$study" --self-test-results-sort "Best val. acc.:desc"
cp "$tmp/results.png" "$out/results.png"
shot inspect --open-study "$study" --self-test-inspect only-output-trainable
cp "$tmp/inspect.png.inspect.png" "$out/confusion-matrix.png"
cp "$tmp/inspect.png.log.png" "$out/run-log.png"
# A study running, held while run 5 loads its base checkpoint: the same demo data, new runs.
"$cli" study new --preset demo --source "$study/data/source" --target "$study/data/target" \
  --out "$tmp/again" --epochs 4 > /dev/null
shot running --open-study "$tmp/again" --self-test-run --self-test-pause "5:Loading checkpoint"
cp "$(ls "$tmp"/running.png.paused*.png | head -1)" "$out/running.png"
# The editor with an experiment of the user's own: the editor test's own screenshot.
GRAFT_BUILD_ROOT=$build GRAFT_SOURCE_ROOT=$src GRAFT_CLI=$cli GRAFT_DOCS_SCREENSHOTS=$tmp/editor \
  bash "$src/tests/app/test-gui-study-editor.sh" > "$tmp/editor.log" 2>&1 ||
  { cat "$tmp/editor.log" >&2; exit 1; }
cp "$tmp/editor/study-editor.png" "$out/study-editor.png"
# Last, since it changes the data: files a scraped folder has, which the scan skips.
head -c 700 "$(ls "$study"/data/target/Shirt/*.jpg | head -1)" > "$study/data/target/Shirt/truncated.jpg"
printf 'GIF89a\001\000\001\000' > "$study/data/target/Shirt/animation.jpg"
shot datasets --open-study "$study" --self-test-datasets
cp "$tmp/datasets.png.dataset.png" "$out/dataset.png"
ls -l "$out"
