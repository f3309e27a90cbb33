#!/bin/bash
# ONNX export checked by the real libraries: onnx.checker accepts the model, and ONNX Runtime on
# 30 images gives graft-cli predict's probabilities within 1e-5, for two classes (sigmoid) at
# an odd image size (uneven "same" padding) and for three classes (softmax). Needs a Python with
# onnx and onnxruntime (pip): $GRAFT_TEST_PYTHON, else the test venv ./run test sets up.
set -euo pipefail
CLI="$GRAFT_BUILD_ROOT/cli/graft-cli"
PY=${GRAFT_TEST_PYTHON:-$GRAFT_BUILD_ROOT/test-venv/bin/python}
SYS=/usr/bin/python3
if [ ! -x "$PY" ] || ! "$PY" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "SKIP: no Python with onnx and onnxruntime ($PY)"
  exit 77
fi
if ! "$SYS" -c "import PIL, numpy" 2>/dev/null; then
  echo "SKIP: Debian's python3-pil and python3-numpy decode the test images"
  exit 77
fi
tmp=$(mktemp -d)
trap '[ -n "${GRAFT_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
export GRAFT_IMAGE_CACHE="$tmp/cache"

check() {  # name classes size
  local d="$tmp/$1"
  "$SYS" - "$d" "$2" "$3" <<'EOF'
import os, random, sys
from PIL import Image
d, n, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(n * 100 + s)
for k in range(n):
    os.makedirs(os.path.join(d, "data", f"class{k}"))
    for i in range(15 if n == 2 else 10):
        im = Image.new("RGB", (s, s))
        im.putdata([tuple(min(255, random.randint(0, 150) + 90 * (j == k % 3)) for j in range(3))
                    for _ in range(s * s)])
        im.save(os.path.join(d, "data", f"class{k}", f"{i:02d}.jpg"), quality=95)
EOF
  "$CLI" train --data "$d/data" --out "$d/run" --epochs 2 --batch 4 --lr 1e-3 --image-size "$3" \
    --width 0.125 --bn-momentum 0.5 > /dev/null
  "$CLI" export --onnx "$d/model.onnx" "$d/run/best.safetensors"
  "$CLI" predict --checkpoint "$d/run/best.safetensors" --csv "$d/pred.csv" "$d/data" > /dev/null
  # Pixels as TurboJPEG decodes them (Debian's PIL uses the same libjpeg-turbo); the images are
  # already at the model's size, so Graft's resize leaves them as they are.
  "$SYS" - "$d" <<'EOF'
import csv, sys, numpy as np
from PIL import Image
rows = list(csv.DictReader(open(sys.argv[1] + "/pred.csv", newline="")))
x = np.stack([np.asarray(Image.open(r["file"]).convert("RGB"), dtype=np.float32) for r in rows])
np.save(sys.argv[1] + "/pixels.npy", x)
EOF
  "$PY" - "$d" "$2" <<'EOF'
import csv, json, sys, numpy as np, onnx, onnxruntime as ort
d, n = sys.argv[1], int(sys.argv[2])
model = onnx.load(d + "/model.onnx")
onnx.checker.check_model(model, full_check=True)
meta = {p.key: p.value for p in model.metadata_props}
names = json.loads(meta["class_names"])
assert names == [f"class{k}" for k in range(n)], names
assert model.opset_import[0].version >= 13
rows = list(csv.DictReader(open(d + "/pred.csv", newline="")))
assert len(rows) == 30, len(rows)
want = np.array([[float(r["p_" + c]) for c in names] for r in rows])
x = np.load(d + "/pixels.npy")
sess = ort.InferenceSession(d + "/model.onnx", providers=["CPUExecutionProvider"])
got = sess.run(["probabilities"], {"image": x})[0]
diff = np.abs(got - want).max()
print(f"{d.rsplit('/', 1)[-1]}: {n} classes, max |ONNX Runtime − Graft| = {diff:.2e}")
assert diff <= 1e-5, diff
assert all(names[int(np.argmax(g))] == r["predicted"] for g, r in zip(got, rows))
EOF
}
check binary35 2 35
check three32 3 32
echo ok
