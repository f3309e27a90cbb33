#!/bin/bash
# A run's cached evaluation (graft-cli evaluate --run, the numbers the app's run inspector
# shows): the best checkpoint on the run's validation split, checked against graft-cli
# predict on exactly the files split.csv lists as validation (per file and as a matrix);
# the cache (evaluation.json) is reused while the best weights and the data stay, computed
# again when either changes or the file is damaged; a run with nothing trained and a
# config.json without the data settings are refused with messages naming them.
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
random.seed(5)
for k, c in enumerate(["a", "b", "c"]):
    os.makedirs(os.path.join(sys.argv[1], c))
    for i in range(15):
        im = Image.new("RGB", (40, 40))
        im.putdata([tuple(random.randint(0, 120) + 110 * (j == k) for j in range(3))
                     for _ in range(1600)])
        im.save(os.path.join(sys.argv[1], c, f"{i:02d}.jpg"), quality=90)
EOF
"$CLI" train --data "$tmp/data" --out "$tmp/run" --epochs 3 --batch 4 --lr 1e-3 --bn-momentum 0.5 --image-size 32 \
  --width 0.125 > /dev/null
run="$tmp/run"
# Whether evaluate --run said it read the cache (it exits 0 either way).
cached() {
  "$CLI" evaluate --run "$run" "$@" > "$tmp/said.txt"
  head -1 "$tmp/said.txt" | grep -q ", cached)"
}
# `! cmd` does not stop a set -e script; this does.
not() { if "$@"; then echo "FAIL: $* succeeded"; exit 1; fi; }

"$CLI" evaluate --run "$run" | tee "$tmp/eval1.txt"
grep -q "on its validation split" "$tmp/eval1.txt"
not grep -q ", cached)" "$tmp/eval1.txt"
[ -f "$run/evaluation.json" ]

# The reference: predict on the validation files of split.csv.
mapfile -t val < <("$PY" - "$run/split.csv" "$tmp/data" <<'EOF'
import csv, os, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if r["subset"] == "validation":
        print(os.path.join(sys.argv[2], r["path"]))
EOF
)
"$CLI" predict --checkpoint "$run/best.safetensors" --csv "$tmp/pred.csv" "${val[@]}" > /dev/null
"$PY" - "$tmp/pred.csv" "$tmp/eval1.txt" "$run/evaluation.json" "$tmp/data" <<'EOF'
import csv, json, os, sys
pred, said, cache, data = sys.argv[1:]
text = open(said).read()
names = ["a", "b", "c"]
rows = list(csv.DictReader(open(pred, newline="")))
ref = [[0] * 3 for _ in names]
per_file = {}
for r in rows:
    rel = os.path.relpath(r["file"], data)
    t = names.index(rel.split("/")[0])
    p = names.index(r["predicted"])
    ref[t][p] += 1
    per_file[rel] = (t, p, float(r["p_" + r["predicted"]]))
lines = text.split("confusion matrix")[1].strip().splitlines()[1:]
shown = [[int(x) for x in l.split()[1:]] for l in lines]
assert shown == ref, f"evaluate --run {shown} != predict {ref}"
e = json.load(open(cache))
assert e["confusion"] == ref, e["confusion"]
assert e["classes"] == names
assert len(e["files"]) == len(rows)
for path, t, p, conf in e["files"]:
    rt, rp, rc = per_file[path]
    assert (t, p) == (rt, rp), (path, t, p, rt, rp)
    assert abs(conf - rc) < 1e-4, (path, conf, rc)
acc = sum(ref[k][k] for k in range(3)) / len(rows)
assert abs(e["accuracy"] - acc) < 1e-6, (e["accuracy"], acc)
print("evaluate --run equals predict on the validation files:", ref)
EOF

# Reused: same numbers, file untouched.
stamp=$(stat -c %Y.%s "$run/evaluation.json"); sleep 1
"$CLI" evaluate --run "$run" > "$tmp/eval2.txt"
grep -q ", cached)" "$tmp/eval2.txt"
[ "$stamp" = "$(stat -c %Y.%s "$run/evaluation.json")" ]
diff <(sed 1d "$tmp/eval1.txt") <(sed 1d "$tmp/eval2.txt")
# --no-cache computes again.
not cached --no-cache

# Damaged, or not adding up: computed again and rewritten, never an error.
printf '{"format": 1, "checkpoint_sha256": ' > "$run/evaluation.json"
not cached
cached
"$PY" - "$run/evaluation.json" <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))
e["confusion"][0][0] += 1          # rows that no longer add up to the matrix
json.dump(e, open(sys.argv[1], "w"))
EOF
not cached
# Other best weights: the manifest's SHA-256 decides.
"$PY" - "$run/evaluation.json" <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))
e["checkpoint_sha256"] = "0" * 64
json.dump(e, open(sys.argv[1], "w"))
EOF
not cached
cached
# One more epoch: computed again only when the best epoch moved.
"$CLI" train --data "$tmp/data" --out "$run" --epochs 4 --batch 4 --lr 1e-3 --bn-momentum 0.5 --image-size 32 \
  --width 0.125 > /dev/null
moved=$("$PY" - "$run" <<'EOF'
import json, os, sys
e = json.load(open(os.path.join(sys.argv[1], "evaluation.json")))
m = json.load(open(os.path.join(sys.argv[1], "commit.json")))
print("yes" if m["best_epoch"] != e["best_epoch"] else "no")
EOF
)
echo "best epoch moved: $moved"
if [ "$moved" = yes ]; then not cached; else cached; fi
# Changed data: computed again.
cached
touch -d 2001-01-01 "$tmp/data/a/00.jpg"
not cached

# Refusals name what is wrong.
mkdir "$tmp/empty"
if "$CLI" evaluate --run "$tmp/empty" 2> "$tmp/err1.txt"; then exit 1; fi
grep -q "$tmp/empty has no trained epoch yet" "$tmp/err1.txt"
"$PY" - "$run/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); del c["split"]
json.dump(c, open(sys.argv[1], "w"))
EOF
if "$CLI" evaluate --run "$run" 2> "$tmp/err2.txt"; then exit 1; fi
cat "$tmp/err2.txt"
grep -q "config.json: “split” must be a string" "$tmp/err2.txt"
echo PASS
