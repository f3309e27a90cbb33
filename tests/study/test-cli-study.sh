#!/bin/bash
# graft-cli study new/run/status, table and plot on a tiny study trained here (one run changed,
# outdated, retrained and killed mid-way); the table is read back with Python's csv module and
# checked against bests computed in Python from each run's metrics.csv.
set -euo pipefail

CLI="$GRAFT_BUILD_ROOT/cli/graft-cli"
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
  echo "SKIP: $PY is missing (needed to read the CSV independently)"
  exit 77
fi
tmp=$(mktemp -d)
trap '[ -n "${GRAFT_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
if ! "$PY" -c "import PIL" 2>/dev/null; then
  echo "SKIP: Python's PIL is missing (python3-pil writes the test images)"
  exit 77
fi
export GRAFT_IMAGE_CACHE="$tmp/cache"
# Two small datasets written by PIL, an encoder independent of Graft.
"$PY" - "$tmp" <<'EOF'
import os, random, sys
from PIL import Image
random.seed(7)
for folder, classes in (("src", ["a", "b", "c"]), ("dst", ["cat", "dog"])):
    for k, c in enumerate(classes):
        os.makedirs(os.path.join(sys.argv[1], folder, c))
        for i in range(10):
            im = Image.new("RGB", (40, 40))
            im.putdata([tuple(min(255, random.randint(0, 120) + 90 * ((k + j) % 3 == 0)) for j in range(3))
                        for _ in range(1600)])
            im.save(os.path.join(sys.argv[1], folder, c, f"{i:02d}.jpg"), quality=90)
EOF

"$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" --epochs 3 \
  --batch 8 --width 0.125
grep -q '"epochs" : 3' "$tmp/s/study.json"
grep -q '"image_size" : 32' "$tmp/s/study.json"
# A second create must refuse to overwrite.
if "$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" 2>/dev/null; then
  echo "study new overwrote an existing study"; exit 1
fi
"$CLI" study run "$tmp/s" > "$tmp/run1.txt"
grep -q '^8 trained' "$tmp/run1.txt"

# One experiment changes: only that run is outdated, named with the setting that changed.
"$PY" - "$tmp/s/study.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
for r in s["runs"]:
    if r["id"] == "2-last-conv2d-output-trainable":
        r["reinit"] = ["dense"]
json.dump(s, open(sys.argv[1], "w"), indent=2)
EOF
"$CLI" study status "$tmp/s" | tee "$tmp/status0.txt"
grep -E '^2-last-conv2d-output-trainable +trainable +outdated +3/3 .*reinit_layers' "$tmp/status0.txt"
[ "$(grep -c ' finished ' "$tmp/status0.txt")" -eq 7 ]
"$CLI" table "$tmp/s" --format md | grep -q 'outdated: reinit_layers'
# Retraining it keeps the old folder aside; a kill in its second epoch's commit leaves it
# interrupted after one epoch.
if GRAFT_FAULT_KILL=2:1 "$CLI" study run "$tmp/s" --only 2-last-conv2d-output-trainable > "$tmp/run2.txt"; then
  echo "the fault point did not kill the run"; exit 1
fi
grep -q 'is outdated' "$tmp/run2.txt"
ls -d "$tmp/s/runs/2-last-conv2d-output-trainable.outdated-"*/commit.json

"$CLI" study status "$tmp/s" | tee "$tmp/status.txt"
grep -E '^2-last-conv2d-output-trainable +trainable +running +1/3' "$tmp/status.txt"
grep -E '^source-base +finished +3/3' "$tmp/status.txt"

"$CLI" table "$tmp/s" --out "$tmp/results.csv"
"$CLI" table "$tmp/s" --format md > "$tmp/results.md"
grep -q '| 3 | True | 3-first-conv2d & output |' "$tmp/results.md"

"$PY" - "$tmp/s" "$tmp/results.csv" <<'EOF'
import csv, json, os, sys
study, table = sys.argv[1], sys.argv[2]
raw = open(table, "rb").read()
assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), "CSV rows must end with CRLF"
rows = list(csv.DictReader(open(table, newline="")))
runs = json.load(open(os.path.join(study, "study.json")))["runs"]
assert len(rows) == len(runs), (len(rows), len(runs))
for r, row in zip(runs, rows):
    m = list(csv.DictReader(open(os.path.join(study, "runs", r["id"], "metrics.csv"))))
    accs = [float(x["val_acc"]) for x in m]
    best = max(accs)
    best_epoch = int(m[accs.index(best)]["epoch"])
    assert row["Model"] == r["name"], (row["Model"], r["name"])
    assert row["Freeze"] == ("True" if r.get("freeze") == "transferred" else "False")
    assert abs(float(row["Best val. acc."]) - best) <= 5e-5, (row, best)
    assert int(row["Best epoch"]) == best_epoch, (row, best_epoch)
    assert abs(float(row["Final val. acc."]) - accs[-1]) <= 5e-5
    assert int(row["Epochs"]) == len(accs)
    assert row["Device"], row
print("table matches", len(rows), "runs")
EOF

for ext in png svg pdf; do
  "$CLI" plot "$tmp/s" --out "$tmp/fig.$ext"
  test -s "$tmp/fig.$ext"
done
"$PY" - "$tmp/fig.png" <<'EOF'
import struct, sys
head = open(sys.argv[1], "rb").read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", head[16:24])
assert (w, h) == (1200, 460), (w, h)
EOF
"$CLI" plot "$tmp/s" --out "$tmp/loss.png" --metric val_loss --smooth ema:0.6 \
  --runs only-output-frozen,only-output-trainable,target-base --size 800x500 --dpi 192
"$PY" -c "import struct,sys; h=open(sys.argv[1],'rb').read(24); assert struct.unpack('>II', h[16:24]) == (1600, 1000)" "$tmp/loss.png"
if "$CLI" plot "$tmp/s" --out "$tmp/bad.png" --smooth window:0 2>/dev/null; then
  echo "plot accepted --smooth window:0"; exit 1
fi
if "$CLI" plot "$tmp/s" --out "$tmp/bad.png" --runs nope 2>"$tmp/err.txt"; then
  echo "plot accepted an unknown run"; exit 1
fi
grep -q nope "$tmp/err.txt"
# A damaged study.json is refused with the file and key named.
sed -i -E 's/"batch" ?: ?[0-9]+/"batch" : "big"/' "$tmp/s/study.json"
if "$CLI" study status "$tmp/s" 2>"$tmp/err.txt"; then
  echo "status accepted a malformed study.json"; exit 1
fi
grep -q 'study.json: “train.batch”' "$tmp/err.txt"
echo "ok"
