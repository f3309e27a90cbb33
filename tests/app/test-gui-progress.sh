#!/bin/bash
# The run list follows a study's queue under Xvfb: the trainer is held at chosen stages
# (--self-test-pause) and what the list shows there is checked, never how long anything took.
# 1. While run 2 loads its kernel programs the row says so with counts, the queue line reads
#    "Run 2 of 8 · epoch 1 of 2 · about N min left" over a bar at 2 of 16 epochs, and the
#    active run's row is selected and scrolled into view (the window is small, one row shows);
#    before that the row named the image cache it built; at run 8 the list has followed to its row.
# 2. Stop while run 1 builds its image cache: the run ends "stopped" before its first epoch and
#    the cache was never finished (no cache file), whatever the machine's speed.
# 3. Run again: every run finishes; a row the user selected meanwhile stays selected.
set -euo pipefail

. "$(dirname "$0")/gui-session.sh"
if ! "$CLI" devices --json | "$PY" -c "import json,sys; sys.exit(0 if json.load(sys.stdin) else 1)"; then
  echo "SKIP: no OpenCL device"
  exit 77
fi

"$PY" - "$tmp" <<'PYEOF'
import os, random, sys
from PIL import Image
random.seed(7)
for root, classes in (("src", "abc"), ("dst", "xy")):
    for ci, c in enumerate(classes):
        os.makedirs(os.path.join(sys.argv[1], root, c))
        for i in range(24):
            rgb = tuple(200 if k == ci else random.randint(0, 120) for k in range(3))
            Image.new("RGB", (36, 36), rgb).save(os.path.join(sys.argv[1], root, c, f"{i}.jpg"))
PYEOF
for s in s1 s2; do
  "$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/$s" \
    --epochs 2 >/dev/null
done

# Each run of the app below that builds an image cache names its own cache folder.
unset XDG_CACHE_HOME
app () {
  timeout 380 xvfb-run -a -s "-screen 0 1600x1000x24" dbus-run-session -- "$APP" "$@" 2>&1
}
must () {   # must LOG EXTENDED-REGEX: a line of LOG matches
  if ! grep -Eq -- "$2" "$1"; then
    echo "FAIL: no line of $1 matches: $2"
    exit 1
  fi
}

# 1. Stage text, queue line and following, in a window where one row shows.
XDG_CACHE_HOME="$tmp/cache1" app --open-study "$tmp/s1" --self-test-screenshot "$tmp/s1.png" \
  --self-test-size 800x600 --self-test-run --self-test-pause "2:Loading kernels" \
  --self-test-pause "2:Building image cache" --self-test-pause "8:training" | tee "$tmp/s1.log"
L="$tmp/s1.log"
must "$L" "^self-test: paused row target-base \| running \| Epoch 0 of 2 \| Loading kernels \(adam\.cl\): 1 of [0-9]+ \|"
must "$L" "^self-test: paused row target-base \| running \| Epoch 0 of 2 \| Building image cache \(48 images at 32×32, .*\) in .*/cache1/graft/images/dst-32px-.*\.cache \|"
must "$L" "^self-test: paused row source-base \| finished \| Epoch 2 of 2 \| best val\. acc\. "
must "$L" "^self-test: paused queue shown \| Run 2 of 8 · epoch 1 of 2 · (about [0-9]+ min|less than a minute) left \| 0\.125 \| selected target-base \| in view$"
must "$L" "^self-test: paused queue shown \| Run 8 of 8 · epoch 1 of 2 · (about [0-9]+ min|less than a minute) left \| [0-9.]+ \| selected 2-last-conv2d-output-trainable \| in view$"
must "$L" "^self-test: run finished: Done: 8 trained"
must "$L" "^self-test: end queue hidden \|.*\| selected 2-last-conv2d-output-trainable \|"

# 2. Stop while run 1 builds its image cache (a cache folder of its own: nothing built yet).
XDG_CACHE_HOME="$tmp/cache2" app --open-study "$tmp/s2" --self-test-screenshot "$tmp/s2.png" \
  --self-test-run --self-test-pause "1:Building image cache" --self-test-pause-stop \
  | tee "$tmp/s2.log"
L="$tmp/s2.log"
must "$L" "^self-test: paused row source-base \| running \| Epoch 0 of 2 \| Building image cache \(72 images at 32×32, .*\.cache \|"
must "$L" "^self-test: pressing Stop$"
must "$L" "^self-test: run ended: Stopped"
must "$L" "^self-test: run row source-base \| stopped \| Epoch 0 of 2 \| Stopped before its first epoch \|"
must "$L" "^self-test: run row target-base \| pending \|"
if ls "$tmp/cache2/graft/images/"*.cache >/dev/null 2>&1; then
  echo "FAIL: the image cache build finished although Stop was pressed while it ran"
  ls -l "$tmp/cache2/graft/images/"
  exit 1
fi
"$PY" - "$tmp/s2" <<'PYEOF'
import json, os, sys
st = json.load(open(os.path.join(sys.argv[1], "runs", "source-base", "run.json")))
assert st["status"] == "stopped", st
assert not os.path.exists(os.path.join(sys.argv[1], "runs", "source-base", "metrics.csv")) or \
    open(os.path.join(sys.argv[1], "runs", "source-base", "metrics.csv")).read().count("\n") <= 1
print("ok: stopped while building the image cache")
PYEOF

# 3. Run again; the user selects a row at the first pause and the list leaves it selected.
XDG_CACHE_HOME="$tmp/cache2" app --open-study "$tmp/s2" --self-test-screenshot "$tmp/s3.png" \
  --self-test-run --self-test-pause "1:Building image cache" \
  --self-test-select only-output-frozen | tee "$tmp/s3.log"
L="$tmp/s3.log"
must "$L" "^self-test: paused queue shown \| Run 1 of 8 · epoch 1 of 2 · estimating the time left \| 0\.000 \| selected source-base \| in view$"
must "$L" "^self-test: selected only-output-frozen$"
must "$L" "^self-test: run finished: Done: 8 trained"
must "$L" "^self-test: end queue hidden \|.*\| selected only-output-frozen \|"
"$PY" - "$tmp/s2" <<'PYEOF'
import csv, json, os, sys
study = sys.argv[1]
for r in json.load(open(os.path.join(study, "study.json")))["runs"]:
    d = os.path.join(study, "runs", r["id"])
    assert json.load(open(os.path.join(d, "run.json")))["status"] == "finished", r["id"]
    rows = list(csv.DictReader(open(os.path.join(d, "metrics.csv"))))
    assert [int(x["epoch"]) for x in rows] == [1, 2], (r["id"], rows)
print("ok: the stopped study finished on the next run")
PYEOF
