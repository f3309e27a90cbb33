#!/bin/bash
# graft-cli study new/status, table and plot on a study whose runs have metrics written here;
# the table is read back with Python's csv module and checked against bests computed in Python.
set -euo pipefail

CLI="$GRAFT_BUILD_ROOT/cli/graft-cli"
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
  echo "SKIP: $PY is missing (needed to read the CSV independently)"
  exit 77
fi
tmp=$(mktemp -d)
trap '[ -n "${GRAFT_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/dst"

"$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" --epochs 9
grep -q '"epochs" : 9' "$tmp/s/study.json"
grep -q '"image_size" : 32' "$tmp/s/study.json"
# A second create must refuse to overwrite.
if "$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" 2>/dev/null; then
  echo "study new overwrote an existing study"; exit 1
fi

# Fake finished runs (all but one, which is interrupted after 4 epochs).
"$PY" - "$tmp/s" <<'EOF'
import json, math, os, sys
study = sys.argv[1]
runs = json.load(open(os.path.join(study, "study.json")))["runs"]
for k, r in enumerate(runs):
    d = os.path.join(study, "runs", r["id"])
    os.makedirs(d, exist_ok=True)
    n = 4 if r["id"] == "2-last-conv2d-output-trainable" else 9
    with open(os.path.join(d, "metrics.csv"), "w") as f:
        f.write("epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,images_per_second\n")
        for e in range(1, n + 1):
            va = 0.55 + 0.05 * k - 0.2 * math.exp(-e / 2) + 0.02 * math.sin(3 * e + k)
            f.write(f"{e},{1/e:.6f},{va+0.01:.6f},{1-va:.6f},{va:.6f},0.001,3.0,500.0\n")
    json.dump({"format": 1, "status": "finished" if n == 9 else "running", "epochs_done": n,
               "epochs": 9, "device": "pocl, cpu", "train_seconds": 3.0 * n},
              open(os.path.join(d, "run.json"), "w"))
EOF

"$CLI" study status "$tmp/s" | tee "$tmp/status.txt"
grep -E '^2-last-conv2d-output-trainable +trainable +running +4/9' "$tmp/status.txt"
grep -E '^source-base +finished +9/9' "$tmp/status.txt"

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
    assert row["Device"] == "pocl, cpu"
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
sed -i 's/"batch" : 64/"batch" : "big"/' "$tmp/s/study.json"
if "$CLI" study status "$tmp/s" 2>"$tmp/err.txt"; then
  echo "status accepted a malformed study.json"; exit 1
fi
grep -q 'study.json: “train.batch”' "$tmp/err.txt"
echo "ok"
