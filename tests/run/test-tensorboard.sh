#!/bin/bash
# A run's TensorBoard log, read back by TensorBoard's own event reader: the same scalars and
# steps as metrics.csv, also after a kill and a resume (no step twice). Needs a Python with the
# tensorboard package (pip): $GRAFT_TEST_PYTHON, else the test venv that ./run test sets up.
set -euo pipefail
CLI="$GRAFT_BUILD_ROOT/cli/graft-cli"
PY=${GRAFT_TEST_PYTHON:-$GRAFT_BUILD_ROOT/test-venv/bin/python}
if [ ! -x "$PY" ] || ! "$PY" -c "import tensorboard" 2>/dev/null; then
  echo "SKIP: no Python with the tensorboard package ($PY)"
  exit 77
fi
if ! /usr/bin/python3 -c "import PIL" 2>/dev/null; then
  echo "SKIP: Python's PIL is missing (python3-pil writes the test images)"
  exit 77
fi
tmp=$(mktemp -d)
trap '[ -n "${GRAFT_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
export GRAFT_IMAGE_CACHE="$tmp/cache"
/usr/bin/python3 - "$tmp/data" <<'EOF'
import os, random, sys
from PIL import Image
random.seed(5)
for k, c in enumerate(["x", "y"]):
    os.makedirs(os.path.join(sys.argv[1], c))
    for i in range(12):
        im = Image.new("RGB", (36, 36))
        im.putdata([tuple(min(255, random.randint(0, 140) + 100 * (j == k)) for j in range(3))
                    for _ in range(36 * 36)])
        im.save(os.path.join(sys.argv[1], c, f"{i}.jpg"))
EOF
train=("$CLI" train --data "$tmp/data" --epochs 4 --batch 4 --lr 1e-3 --image-size 32 --width 0.125)
"${train[@]}" --out "$tmp/a" > /dev/null
# Killed just after epoch 3's commit, then resumed.
if GRAFT_FAULT_KILL=3:8 "${train[@]}" --out "$tmp/b" > /dev/null; then
  echo "the fault point did not kill the run"; exit 1
fi
"${train[@]}" --out "$tmp/b" > /dev/null

"$PY" - "$tmp/a" "$tmp/b" <<'EOF'
import csv, glob, os, sys
from tensorboard.backend.event_processing import event_accumulator
tags = {"train/loss": "train_loss", "train/accuracy": "train_acc", "val/loss": "val_loss",
        "val/accuracy": "val_acc", "lr": "lr", "images_per_second": "images_per_second"}
logs = {}
for run in sys.argv[1:]:
    files = glob.glob(os.path.join(run, "events.out.tfevents.*"))
    assert len(files) == 1, files
    acc = event_accumulator.EventAccumulator(run)
    acc.Reload()
    rows = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
    assert sorted(acc.Tags()["scalars"]) == sorted(tags), acc.Tags()
    for tag, col in tags.items():
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [int(r["epoch"]) for r in rows], (run, tag, events)
        for e, r in zip(events, rows):
            want = float(r[col])
            assert abs(e.value - want) <= 1e-6 * max(1, abs(want)), (run, tag, e.value, want)
    logs[run] = {t: [e.value for e in acc.Scalars(t)] for t in tags if t != "images_per_second"}
a, b = sys.argv[1:]
for t in logs[a]:
    if t != "images_per_second":
        assert logs[a][t] == logs[b][t], (t, logs[a][t], logs[b][t])
print("TensorBoard reads", len(rows), "epochs of", len(tags), "scalars; the resumed run's log matches")
EOF
echo ok
