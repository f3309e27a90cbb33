#!/usr/bin/env bash
# A study on ResNet-18 from a PyTorch state dict (written by tests/model/torch_pretrained.py):
# graft-cli study new --arch resnet18 --init makes the architecture's preset grid, study run
# trains every run but the checkpoint run, every frozen run's checkpoint keeps the state
# dict's tensors bit for bit, and the table lists every run. Skips (77) without PyTorch,
# torchvision and PIL.
set -euo pipefail
. "$GRAFT_SOURCE_ROOT/tests/model/torch-python.sh"
graft_torch_python torch torchvision numpy PIL
ORACLE="$GRAFT_SOURCE_ROOT/tests/model/torch_pretrained.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" "$ORACLE" write resnet18 33 1000 "$work"
"$PY" - "$work/data" <<'PYEOF'
import os, sys
import numpy as np
from PIL import Image
rng = np.random.default_rng(5)
for c in ("ants", "bees"):
    os.makedirs(os.path.join(sys.argv[1], c))
    for i in range(5):
        a = rng.integers(0, 256, (36, 36, 3), dtype=np.uint8)
        Image.fromarray(a).save(os.path.join(sys.argv[1], c, "%d.jpg" % i), quality=90)
PYEOF

"$GRAFT_CLI" study new --preset demo --arch resnet18 --init "$work/state.safetensors" \
  --target "$work/data" --out "$work/s" --epochs 1 --batch 4 --image-size 33 --lr 1e-2 \
  > "$work/new.txt"
cat "$work/new.txt"
grep -q '"architecture" : "resnet18"' "$work/s/study.json"
grep -q '"init" : ".*state.safetensors"' "$work/s/study.json"
# An unknown architecture is refused, naming the setting and the known ones.
if "$GRAFT_CLI" study new --arch resnet99 --init "$work/state.safetensors" --target "$work/data" \
  --out "$work/bad" 2> "$work/bad.txt"; then
  echo "study new accepted an unknown architecture"; exit 1
fi
grep -q 'architecture.*resnet99.*resnet18' "$work/bad.txt"

"$GRAFT_CLI" study run "$work/s" | tee "$work/run.txt"
# The grid: the baseline and 7 transfers trained, the checkpoint run skipped.
grep -q '^8 trained' "$work/run.txt"
[ ! -e "$work/s/runs/pretrained/config.json" ]

# Every frozen run kept the state dict's tensors outside its preset, bit for bit.
"$PY" - "$work/s/study.json" > "$work/frozen.txt" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["architecture"] == "resnet18"
for r in s["runs"]:
    if r.get("freeze") == "transferred":
        assert r["from"] == "pretrained", r
        print(r["id"], ",".join(r["reinit"]))
PYEOF
[ "$(wc -l < "$work/frozen.txt")" -eq 3 ]
while read -r id layers; do
  grep -q '"architecture" : "resnet18"' "$work/s/runs/$id/config.json"
  "$PY" "$ORACLE" frozen resnet18 33 1000 "$work" "$work/s/runs/$id/last.safetensors" "$layers"
done < "$work/frozen.txt"

# The table has every run of the study.
"$GRAFT_CLI" table "$work/s" --out "$work/results.csv"
"$PY" - "$work/s/study.json" "$work/results.csv" <<'PYEOF'
import csv, json, sys
runs = json.load(open(sys.argv[1]))["runs"]
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
for row in rows:
    print(row["Model"], row["Freeze"], row["State"], row["Best val. acc."])
assert len(rows) == len(runs), (len(rows), len(runs))
assert sorted(row["Model"] for row in rows) == sorted(r["name"] for r in runs)
assert all(row["State"] in ("finished", "") for row in rows), [row["State"] for row in rows]
print("table has all", len(rows), "runs")
PYEOF
