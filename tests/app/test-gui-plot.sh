#!/bin/bash
# The plot of the desktop app under Xvfb, driven through its legend's check buttons and the
# view's hit test: the readout of a point says the run, epoch and value metrics.csv has; a
# legend entry hides its curves (in the count and in the pixels); the base model's runs
# appear in a panel of their own when shown; a smoothing changes both panels; the dark style
# gives a dark canvas while exports stay white. PNGs are read with PIL.
set -euo pipefail

. "$(dirname "$0")/gui-session.sh"

"$PY" - "$tmp" <<'PYEOF'
import os, random, sys
from PIL import Image
random.seed(11)
for root, classes in (("src", "abc"), ("dst", "xy")):
    for ci, c in enumerate(classes):
        os.makedirs(os.path.join(sys.argv[1], root, c), exist_ok=True)
        for i in range(12):
            im = Image.new("RGB", (36, 36))
            im.putdata([tuple(min(255, random.randint(0, 140) + 100 * (k == ci)) for k in range(3))
                         for _ in range(36 * 36)])
            im.save(os.path.join(sys.argv[1], root, c, f"{i}.jpg"))
PYEOF
"$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" --epochs 6 \
  --batch 8 --width 0.125 > /dev/null
export GRAFT_IMAGE_CACHE="$tmp/cache/images"
"$CLI" study run "$tmp/s" > /dev/null

# app NAME ARGS…: the window rendered into $tmp/NAME.png, its output in $tmp/NAME.log.
app () {
  local name=$1
  shift
  timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" \
    dbus-run-session -- "$APP" --open-study "$tmp/s" --self-test-screenshot "$tmp/$name.png" \
    "$@" > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; echo "the app failed ($name)"; exit 1; }
  grep "self-test: \(plot\|screenshot\)" "$tmp/$name.log" | sed "s/^/[$name] /"
}

# The point to point at: the run and epoch whose validation loss is farthest from every other
# curve of its panel at that epoch, from metrics.csv read here.
point=$("$PY" - "$tmp/s" <<'PYEOF'
import csv, json, os, sys
study = json.load(open(os.path.join(sys.argv[1], "study.json")))
loss = {}
for r in study["runs"]:
    with open(os.path.join(sys.argv[1], "runs", r["id"], "metrics.csv")) as f:
        loss[r["id"]] = {int(row["epoch"]): float(row["val_loss"]) for row in csv.DictReader(f)}
frozen = lambda r: r.get("freeze") == "transferred"
best = None
for r in study["runs"]:
    if not r.get("from"):
        continue
    mates = [q["id"] for q in study["runs"]
             if q["id"] == study["baseline"] or (q.get("from") and frozen(q) == frozen(r))]
    for e, v in loss[r["id"]].items():
        gap = min(abs(v - loss[m][e]) for m in mates if m != r["id"])
        if best is None or gap > best[0]:
            best = (gap, r["id"], e, v)
print(f"{best[1]} {best[2]} {best[3]:.6f}")
PYEOF
)
read -r run epoch value <<< "$point"
echo "pointing at $run epoch $epoch: val_loss $value in metrics.csv"

# 1. Hover readout, raw curves of validation loss.
app raw --self-test-set metric=1 --self-test-set smoothing=0 \
  --self-test-plot-hover "$run:$epoch" --self-test-plot-export "$tmp/raw-export.png"
line=$(grep "^self-test: plot hover " "$tmp/raw.log")
[[ "$line" == *" run=$run epoch=$epoch value=$value "* ]] || { echo "readout: $line"; exit 1; }
grep -q "^self-test: plot readout .*Epoch $epoch: ${value:0:6}" "$tmp/raw.log"
[ "$(grep -c '^self-test: plot panel .* \[none\]' "$tmp/raw.log")" = 2 ]
echo "ok: the readout names $run, epoch $epoch, $value"

# 2. Smoothing: both panels say so, and both panels of the export change.
app smooth --self-test-set metric=1 --self-test-plot-export "$tmp/smooth-export.png"
[ "$(grep -c '^self-test: plot panel .* \[window:5\]' "$tmp/smooth.log")" = 2 ]

# 3. The legend hides "only output" in both panels.
app hide --self-test-set metric=1 --self-test-plot-toggle "only output" \
  --self-test-plot-export "$tmp/hide-export.png"
grep -q "^self-test: plot legend only output=hidden" "$tmp/hide.log"
before=$(sed -n 's/^self-test: plot \([0-9]*\) series.*/\1/p' "$tmp/smooth.log")
after=$(sed -n 's/^self-test: plot \([0-9]*\) series.*/\1/p' "$tmp/hide.log")
echo "series: $before shown, $after with only output hidden"
[ "$after" -eq $((before - 2)) ]
# Still hidden once the runs are read again, as at each epoch's end.
grep -q "^self-test: plot refreshed, $after series" "$tmp/hide.log"
! grep -q "^self-test: plot panel .*only-output" "$tmp/hide.log"

# 4. The base model's run: not in the reference figure, in a third panel once shown.
app base --self-test-set metric=1 --self-test-plot-toggle source-base \
  --self-test-plot-export "$tmp/base-export.png"
! grep -q "^self-test: plot panel Base model" "$tmp/smooth.log"
grep -q "^self-test: plot panel Base model (source task) .*: source-base;" "$tmp/base.log"
grep -q "^self-test: plot legend source-base=shown" "$tmp/base.log"
[ "$(sed -n 's/^self-test: plot \([0-9]*\) series.*/\1/p' "$tmp/base.log")" -eq $((before + 1)) ]
grep -q "^self-test: plot refreshed, $((before + 1)) series" "$tmp/base.log"

# 5. Dark: GTK's dark theme, and the dark preference of GTK's settings.
GTK_THEME=Adwaita:dark app dark --self-test-plot-export "$tmp/dark-export.png"
app darkpref --self-test-plot-dark
grep -q "^self-test: plot canvas .* dark$" "$tmp/dark.log"
grep -q "^self-test: plot canvas .* dark$" "$tmp/darkpref.log"
grep -q "^self-test: plot canvas .* light$" "$tmp/smooth.log"

"$PY" - "$tmp" <<'PYEOF'
import re, sys
from PIL import Image
tmp = sys.argv[1]
def load(name):
    return Image.open(f"{tmp}/{name}.png").convert("RGB")
def canvas(name):
    log = open(f"{tmp}/{name}.log").read()
    x, y, w, h = map(int, re.search(r"^self-test: plot canvas (\d+) (\d+) (\d+) (\d+)", log, re.M).groups())
    return load(name).crop((x, y, x + w, y + h))
def count(im, rgb, tol=12, box=None):
    if box:
        im = im.crop(box)
    return sum(n for n, px in im.getcolors(im.width * im.height)
               if all(abs(px[i] - rgb[i]) <= tol for i in range(3)))
BLUE, PURPLE = (0x1f, 0x77, 0xb4), (0x94, 0x67, 0xbd)

# Smoothing changes the curves of both panels (above the legend, which names it).
a, b = load("raw-export"), load("smooth-export")
w, h = a.size
for name, box in (("frozen", (0, 0, w // 2, int(h * 0.75))), ("trainable", (w // 2, 0, w, int(h * 0.75)))):
    pa, pb = a.crop(box).getdata(), b.crop(box).getdata()
    diff = sum(1 for p, q in zip(pa, pb) if p != q)
    print(f"smoothing changes {diff} pixels of the {name} panel")
    assert diff > 500, f"smoothing leaves the {name} panel as it was"

# Hidden: no pixel of the curve's blue, on the canvas nor in the export.
shown, hidden = count(canvas("smooth"), BLUE), count(canvas("hide"), BLUE)
print(f"'only output' blue on the canvas: {shown} shown, {hidden} hidden")
assert shown >= 50 and hidden == 0
assert count(load("smooth-export"), BLUE) >= 50 and count(load("hide-export"), BLUE) == 0

# The base run's purple: in the base panel once shown, nowhere before.
before, after = count(canvas("smooth"), PURPLE), count(canvas("base"), PURPLE)
print(f"base run purple on the canvas: {before} before, {after} shown")
assert before == 0 and after >= 50
assert count(load("smooth-export"), PURPLE) == 0 and count(load("base-export"), PURPLE) >= 50

# Dark canvas: its corners and the page between the panels are dark; light ones are white.
for name, dark in (("smooth", False), ("dark", True), ("darkpref", True)):
    c = canvas(name)
    # Inset from the pane's separator and the window's frame, drawn over the canvas's edges.
    pts = [(8, 8), (c.width - 9, 8), (8, c.height - 9), (c.width - 9, c.height - 9), (c.width // 2, 8)]
    vals = [c.getpixel(p) for p in pts]
    print(f"{name}: canvas background {vals}")
    assert all((max(v) < 60) if dark else (min(v) > 240) for v in vals), name
# Exports stay white in the dark style.
e = load("dark-export")
assert min(e.getpixel((2, 2))) > 250 and min(e.getpixel((e.width - 3, e.height - 3))) > 250
print("ok: plot checks")
PYEOF
echo "ok: the plot's readout, legend, base panel, smoothing and dark canvas"
