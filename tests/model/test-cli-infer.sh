#!/bin/bash
# graft-cli evaluate and predict end to end on a tiny run: the confusion matrix equals the one
# rebuilt in Python from predict's CSV, the CSV survives class names with commas and quotes, a
# broken JPEG costs no valid file, symbolic-link loops are not followed, and bad settings or
# non-finite weights get messages that name them.
set -euo pipefail
CLI="$GRAFT_BUILD_ROOT/cli/graft-cli"
PY=/usr/bin/python3
if [ ! -x "$PY" ] || ! "$PY" -c "import PIL" 2>/dev/null; then
  echo "SKIP: Python 3 with PIL is needed to write and read the test files"
  exit 77
fi
tmp=$(mktemp -d)
trap '[ -n "${GRAFT_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
export GRAFT_IMAGE_CACHE="$tmp/cache"

"$PY" - "$tmp/data" <<'EOF'
import os, random, sys
from PIL import Image
random.seed(3)
for k, c in enumerate(['cl,ass', 'say "hi"']):
    os.makedirs(os.path.join(sys.argv[1], c))
    for i in range(12):
        im = Image.new("RGB", (40, 40))
        im.putdata([(random.randint(0, 90) + 150 * (k == 0), random.randint(0, 255),
                     random.randint(0, 90) + 150 * (k == 1)) for _ in range(1600)])
        im.save(os.path.join(sys.argv[1], c, f"{i:02d}.jpg"), quality=90)
EOF
"$CLI" train --data "$tmp/data" --out "$tmp/run" --epochs 4 --batch 4 --lr 1e-3 --image-size 32 --bn-momentum 0.5 \
  --width 0.125 > /dev/null
ckpt="$tmp/run/best.safetensors"

"$CLI" evaluate --checkpoint "$ckpt" --data "$tmp/data" --batch 5 | tee "$tmp/eval.txt"
"$CLI" predict --checkpoint "$ckpt" --csv "$tmp/pred.csv" --batch 7 "$tmp/data" > "$tmp/pred.txt"
"$PY" - "$tmp/pred.csv" "$tmp/eval.txt" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
names = ['cl,ass', 'say "hi"']
assert rows and list(rows[0].keys()) == ["file", "predicted"] + ["p_" + n for n in names], rows[0].keys()
assert len(rows) == 24, len(rows)
conf = [[0, 0], [0, 0]]
for r in rows:
    p = [float(r["p_" + n]) for n in names]
    assert abs(sum(p) - 1) < 1e-5, p
    truth = names.index(r["file"].split("/")[-2])
    conf[truth][names.index(r["predicted"])] += 1
lines = open(sys.argv[2]).read().splitlines()
got = [[int(x) for x in l.split()[-2:]] for l in lines[-2:]]
assert got == conf, (got, conf)
print("confusion matrix matches predict's:", conf)
EOF

# A truncated JPEG and a self-referencing link in front of valid files cost nothing.
head -c 400 "$tmp/data/cl,ass/00.jpg" > "$tmp/data/cl,ass/000-broken.jpg"
ln -s . "$tmp/data/cl,ass/self"
ln -s .. "$tmp/data/say \"hi\"/up"
if "$CLI" predict --checkpoint "$ckpt" --csv "$tmp/pred2.csv" "$tmp/data" > /dev/null 2> "$tmp/err.txt"; then
  echo "predict did not report the broken file"; exit 1
fi
grep -q '000-broken.jpg: skipped' "$tmp/err.txt"
"$PY" -c "
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
assert len(rows) == 24, len(rows)
assert len({r['file'] for r in rows}) == 24
" "$tmp/pred2.csv"
rm "$tmp/data/cl,ass/000-broken.jpg" "$tmp/data/cl,ass/self" "$tmp/data/say \"hi\"/up"

# Settings out of range are named, not turned into absurd sizes.
if "$CLI" evaluate --checkpoint "$ckpt" --data "$tmp/data" --batch -3 2> "$tmp/err.txt"; then
  echo "evaluate accepted --batch -3"; exit 1
fi
grep -q 'batch size must be between 1 and' "$tmp/err.txt"
! grep -q 'EiB' "$tmp/err.txt"
if "$CLI" train --data "$tmp/data" --out "$tmp/run-lr" --lr 1000 2> "$tmp/err.txt"; then
  echo "train accepted --lr 1000"; exit 1
fi
grep -q 'learning rate (lr) must be above 0 and at most 1 (it is 1000)' "$tmp/err.txt"
if "$CLI" train --data "$tmp/data" --out "$tmp/data/run" 2> "$tmp/err.txt"; then
  echo "train accepted a run folder inside the data folder"; exit 1
fi
grep -q 'inside the data folder' "$tmp/err.txt"
[ ! -e "$tmp/data/run" ]

# Non-finite weights are refused by name, for inference and for transfer.
"$PY" - "$ckpt" "$tmp/nan.safetensors" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
name, info = next((k, v) for k, v in header.items() if k.endswith("/kernel"))
start = 8 + n + info["data_offsets"][0]
raw = raw[:start] + struct.pack("<f", float("nan")) + raw[start + 4:]
open(sys.argv[2], "wb").write(raw)
print("NaN written into", name)
EOF
if "$CLI" predict --checkpoint "$tmp/nan.safetensors" "$tmp/data" > /dev/null 2> "$tmp/err.txt"; then
  echo "predict accepted NaN weights"; exit 1
fi
grep -q 'not finite numbers' "$tmp/err.txt"
if "$CLI" train --data "$tmp/data" --out "$tmp/run-nan" --init "$tmp/nan.safetensors" --epochs 1 \
     --image-size 32 --width 0.125 > /dev/null 2> "$tmp/err.txt"; then
  echo "train transferred NaN weights"; exit 1
fi
grep -q 'nan.safetensors: tensor .* not finite numbers' "$tmp/err.txt"
! grep -q 'lower learning rate' "$tmp/err.txt"
echo ok
