#!/bin/bash
# Inspecting results in the desktop app, under Xvfb, against independent references:
# - the run inspector (opened from the run list, as a double-click on a trained run does) shows a
#   confusion matrix equal to `graft-cli evaluate` of the best checkpoint on a
#   folder holding exactly the run's validation files (copied from split.csv by Python), cell
#   by cell; the images of a selected cell are exactly the files `graft-cli predict` puts there;
# - the evaluation is cached in the run folder: a second opening reads it (file unchanged),
#   new best weights or changed data compute it again;
# - the dataset view's counts equal the usable files in each class folder (PIL decodes them),
#   and its skipped list names the broken JPEG and the non-image with their reasons;
# - the results table sorts by best accuracy both ways, and Copy puts the expected
#   tab-separated text (header and rows of results.csv, in the sorted order) on the clipboard.
# GRAFT_SCREENSHOTS=DIR keeps dataset.png, confusion-matrix.png, run-log.png, results.png.
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
        for i in range(16):
            rgb = tuple(200 if k == ci else random.randint(0, 170) for k in range(3))
            Image.new("RGB", (36, 36), rgb).save(os.path.join(sys.argv[1], root, c, f"{i}.jpg"))
dst = os.path.join(sys.argv[1], "dst")
# A JPEG cut after its header, and text named .jpg.
whole = open(os.path.join(dst, "x", "0.jpg"), "rb").read()
open(os.path.join(dst, "x", "broken.jpg"), "wb").write(whole[:300])
open(os.path.join(dst, "y", "notes.jpg"), "wb").write(b"hello, not an image at all")
PYEOF
"$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" --epochs 2 \
  >/dev/null
for r in source-base target-base; do
  "$CLI" study run "$tmp/s" --only "$r" >/dev/null
done
run="$tmp/s/runs/source-base"

# grep -q that says what it missed.
expect() {
  grep -q -- "$1" "$2" || { echo "FAIL: no “$1” in $2"; exit 1; }
}

app() {
  local log=$1 rc=0; shift
  timeout 280 xvfb-run -a -s "-screen 0 1600x1000x24" \
    dbus-run-session -- "$APP" --open-study "$tmp/s" "$@" > "$log" 2>&1 || rc=$?
  grep -v "^self-test: \(accel\|help\|spin\|fit\|run row\)" "$log" || true
  if [ "$rc" != 0 ]; then
    echo "FAIL: the app exited with $rc"; exit 1
  fi
  if grep -q "CRITICAL\|GLib-GObject-WARNING\|Gtk-WARNING" "$log"; then
    echo "FAIL: GTK complained"; exit 1
  fi
}

# ---- The reference: the validation files of the run, evaluated as a folder of their own ----
"$PY" - "$run" "$tmp/src" "$tmp/val" <<'PYEOF'
import csv, os, shutil, sys
run, data, out = sys.argv[1:]
with open(os.path.join(run, "split.csv"), newline="") as f:
    rows = [r for r in csv.DictReader(f) if r["subset"] == "validation"]
for c in sorted(os.listdir(data)):
    os.makedirs(os.path.join(out, c))
for r in rows:
    shutil.copy2(os.path.join(data, r["path"]), os.path.join(out, r["path"]))
print("validation files:", len(rows))
PYEOF
"$CLI" evaluate --checkpoint "$run/best.safetensors" --data "$tmp/val" | tee "$tmp/cli-eval.txt"
"$CLI" predict --checkpoint "$run/best.safetensors" "$tmp/val" --csv "$tmp/predict.csv" >/dev/null
# The first misclassified cell (else the first cell), with the files predict puts there.
cell=$("$PY" - "$tmp/cli-eval.txt" <<'PYEOF'
import sys
lines = open(sys.argv[1]).read().split("confusion matrix")[1].strip().splitlines()[1:]
m = [[int(x) for x in l.split()[1:]] for l in lines]
for r in range(len(m)):
    for c in range(len(m)):
        if r != c and m[r][c]:
            print(f"{r},{c}"); sys.exit()
print("0,0")
PYEOF
)
echo "cell $cell"

# ---- First opening: computed; the matrix and the cell's images ----
app "$tmp/inspect1.log" --self-test-screenshot "$tmp/shot.png" --self-test-inspect source-base \
  --self-test-inspect-cell "$cell"
expect "self-test: inspector of source-base opened from the run list: yes" "$tmp/inspect1.log"
expect "self-test: inspect evaluation computed" "$tmp/inspect1.log"
[ -f "$run/evaluation.json" ]
"$PY" - "$tmp/inspect1.log" "$tmp/cli-eval.txt" "$tmp/predict.csv" "$tmp/val" "$tmp/src" "$cell" <<'PYEOF'
import csv, os, sys
log, ref, pred, val, src, cell = sys.argv[1:]
text = open(ref).read()
names, cli = [], {}
for l in text.split("confusion matrix")[1].strip().splitlines()[1:]:
    parts = l.split()
    names.append(parts[0])
    for k, v in enumerate(parts[1:]):
        cli[(len(names) - 1, k)] = int(v)
app = {}
gallery = []
for l in open(log):
    if l.startswith("self-test: matrix "):
        t, p, v = l.split()[2:5]
        app[(names.index(t), names.index(p))] = int(v)
    if l.startswith("self-test: gallery item "):
        gallery.append(l[len("self-test: gallery item "):].split(" | ")[0])
assert app == cli, f"the app's matrix {app} is not graft-cli evaluate's {cli}"
r, c = (int(x) for x in cell.split(","))
want = []
with open(pred, newline="") as f:
    for row in csv.DictReader(f):
        rel = os.path.relpath(row["file"], val)
        if rel.split(os.sep)[0] == names[r] and row["predicted"] == names[c]:
            want.append(os.path.join(src, rel))
assert sorted(gallery) == sorted(want), f"cell {cell}: the app shows {gallery}, predict says {want}"
assert len(gallery) == cli[(r, c)]
print(f"matrix equal cell by cell ({len(cli)} cells); cell {cell} lists {len(gallery)} files")
PYEOF
expect "self-test: gallery .* items, 0 not decoded" "$tmp/inspect1.log"
expect "self-test: log [1-9][0-9]* lines" "$tmp/inspect1.log"
expect "self-test: log window" "$tmp/inspect1.log"

# ---- Second opening: the cache is read, not rewritten ----
before=$(stat -c %Y.%s "$run/evaluation.json"); sum_before=$(sha256sum < "$run/evaluation.json")
sleep 1
app "$tmp/inspect2.log" --self-test-screenshot "$tmp/shot2.png" --self-test-inspect source-base
expect "self-test: inspect evaluation cached" "$tmp/inspect2.log"
[ "$before" = "$(stat -c %Y.%s "$run/evaluation.json")" ]
"$CLI" evaluate --run "$run" | grep -q ", cached)"

# ---- Other best weights: the cache's key no longer matches ----
"$PY" - "$run/evaluation.json" <<'PYEOF'
import json, sys
e = json.load(open(sys.argv[1]))
e["checkpoint_sha256"] = "0" * 64
json.dump(e, open(sys.argv[1], "w"))
PYEOF
app "$tmp/inspect3.log" --self-test-screenshot "$tmp/shot3.png" --self-test-inspect source-base
expect "self-test: inspect evaluation computed" "$tmp/inspect3.log"
[ "$sum_before" = "$(sha256sum < "$run/evaluation.json")" ]   # the same evaluation again
# More epochs: computed again when the best epoch moved, else still valid.
"$PY" - "$tmp/s/study.json" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1])); s["train"]["epochs"] = 5
json.dump(s, open(sys.argv[1], "w"), indent=2)
PYEOF
best_before=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['best_epoch'])" "$run/commit.json")
"$CLI" study run "$tmp/s" --only source-base >/dev/null
best_after=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['best_epoch'])" "$run/commit.json")
app "$tmp/inspect4.log" --self-test-screenshot "$tmp/shot4.png" --self-test-inspect source-base
if [ "$best_before" != "$best_after" ]; then
  expect "self-test: inspect evaluation computed, .* best epoch $best_after," "$tmp/inspect4.log"
else
  expect "self-test: inspect evaluation cached" "$tmp/inspect4.log"
fi
# Changed data (a file's time): computed again.
touch -d "2001-01-01" "$tmp/src/a/0.jpg"
app "$tmp/inspect5.log" --self-test-screenshot "$tmp/shot5.png" --self-test-inspect source-base
expect "self-test: inspect evaluation computed" "$tmp/inspect5.log"
# A run with nothing trained: its error is shown, nothing crashes.
app "$tmp/inspect6.log" --self-test-screenshot "$tmp/shot6.png" --self-test-inspect only-output-frozen
expect "self-test: inspector of only-output-frozen opened by its action (not offered by the run list): yes" \
  "$tmp/inspect6.log"
expect "self-test: inspect error .*no trained epoch" "$tmp/inspect6.log"

# ---- Datasets ----
app "$tmp/datasets.log" --self-test-screenshot "$tmp/shot-ds.png" --self-test-datasets
"$PY" - "$tmp/datasets.log" "$tmp/src" "$tmp/dst" <<'PYEOF'
import os, sys
from PIL import Image
log, src, dst = sys.argv[1:]
lines = open(log).read().splitlines()
def usable(p):
    try:
        with Image.open(p) as im:
            im.load()
        return im.format == "JPEG"
    except Exception:
        return False
for title, d in (("Source", src), ("Target", dst)):
    for c in sorted(os.listdir(d)):
        n = sum(usable(os.path.join(d, c, f)) for f in os.listdir(os.path.join(d, c)))
        want = f"self-test: dataset {title} class {c} shows {n}"
        assert want in lines, f"missing: {want}"
skipped = [l for l in lines if l.startswith("self-test: dataset Target skipped /")]
assert len(skipped) == 2, skipped
assert any("x/broken.jpg | " in l and "JPEG" in l for l in skipped), skipped
assert any("y/notes.jpg | not an image" in l for l in skipped), skipped
assert "self-test: dataset Target skipped shows Skipped files: 2" in lines
assert "self-test: dataset Source skipped shows Skipped files: none" in lines
assert "self-test: dataset thumbnail 16 items, 0 not decoded" in lines
print("dataset view counts and skipped files as expected")
PYEOF

# ---- Results: sorted both ways, Copy ----
"$CLI" table "$tmp/s" --format csv --out "$tmp/table.csv"
for order in desc asc; do
  app "$tmp/results-$order.log" --self-test-screenshot "$tmp/results-$order.png" \
    --self-test-results-sort "Best val. acc.:$order" --self-test-copy
  "$PY" - "$tmp/results-$order.log" "$tmp/table.csv" "$order" <<'PYEOF'
import csv, sys
log, table, order = sys.argv[1:]
clip = [l[len("self-test: clipboard "):].rstrip("\n").split("\t")
        for l in open(log) if l.startswith("self-test: clipboard ")]
head = ["Exp.", "Freeze", "Model", "Best val. acc.", "Best epoch", "Final val. acc.", "Epochs",
        "Training time", "Device", "State"]
assert clip[0] == head, clip[0]
rows = list(csv.DictReader(open(table, newline="")))
assert len(clip) == len(rows) + 1, (len(clip), len(rows))
best = [r[3] for r in clip[1:]]
column = [r["Best val. acc."] for r in rows]
filled = sorted([b for b in column if b], key=float, reverse=order == "desc")
empty = [b for b in column if not b]
want = filled + empty if order == "desc" else empty + filled
assert best == want, f"{order}: {best} != {want}"
# Every row is one of results.csv's, field by field where the table means the same.
keyed = {(r["Model"], r["Freeze"]): r for r in rows}
for r in clip[1:]:
    freeze = {"Frozen": "True", "Trainable": "False", "—": "False"}[r[1]]
    ref = keyed[(r[2], freeze)]
    for i, k in ((0, "Exp."), (3, "Best val. acc."), (4, "Best epoch"), (5, "Final val. acc."),
                 (6, "Epochs"), (8, "Device")):
        assert r[i] == ref[k], (k, r, ref)
    assert r[9] == ref["State"].split(":")[0], (r, ref)   # the table adds why it is outdated
print(f"sorted {order}: {best}")
PYEOF
done
# Copy of a selection: the header and the selected row only.
app "$tmp/results-sel.log" --self-test-screenshot "$tmp/results-sel.png" \
  --self-test-results-sort "Best val. acc.:desc" --self-test-results-select 1 --self-test-copy
[ "$(grep -c '^self-test: clipboard ' "$tmp/results-sel.log")" = 2 ]
expect "^self-test: clipboard 1	—	\(target\|source\)-base	" "$tmp/results-sel.log"

if [ -n "${GRAFT_SCREENSHOTS:-}" ]; then
  mkdir -p "$GRAFT_SCREENSHOTS"
  cp "$tmp/shot-ds.png.dataset.png" "$GRAFT_SCREENSHOTS/dataset.png"
  cp "$tmp/shot.png.inspect.png" "$GRAFT_SCREENSHOTS/confusion-matrix.png"
  cp "$tmp/shot.png.log.png" "$GRAFT_SCREENSHOTS/run-log.png"
  cp "$tmp/results-desc.png" "$GRAFT_SCREENSHOTS/results.png"
fi
echo "PASS"
