#!/bin/bash
# The study editor on another architecture, under Xvfb, driven by --self-test-editor steps:
# a Keras-CNN study is switched to MobileNetV2 (arch:NAME, as the Architecture dropdown does)
# and its base run to a PyTorch state dict (init:PATH, what the Base weights file chooser
# does with the file picked); the preset dropdowns offer MobileNetV2's presets, the layer
# checklist lists the layers of torchvision's MobileNetV2 (module names from PyTorch, an
# independent reference) in network order, and Save writes the architecture, the checkpoint
# and the chosen preset's layers to study.json. Skips (77) without PyTorch, torchvision, Xvfb
# or the app.
set -euo pipefail

. "$(dirname "$0")/gui-session.sh"
ORACLE="$GRAFT_SOURCE_ROOT/tests/model/torch_pretrained.py"
. "$GRAFT_SOURCE_ROOT/tests/model/torch-python.sh"
graft_torch_python torch torchvision numpy PIL
mkdir -p "$tmp/ckpt" "$tmp/src/a" "$tmp/src/b" "$tmp/dst/x" "$tmp/dst/y"
export GRAFT_IMAGE_CACHE="$tmp/cache/images"

"$PY" "$ORACLE" write mobilenetv2 32 1000 "$tmp/ckpt" > /dev/null
# torchvision's convolutions and linear layers, in network order: the checklist's names.
"$PY" - "$ORACLE" > "$tmp/torch-layers.txt" <<'PYEOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("tp", sys.argv[1])
tp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tp)
m = tp.build("mobilenetv2", 2, "torchvision")
for name, mod in m.named_modules():
    if isinstance(mod, (tp.nn.Conv2d, tp.nn.Linear)):
        print(name)
PYEOF
"$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" \
  --epochs 1 > /dev/null
grep -q '"architecture" : "keras-cnn"' "$tmp/s/study.json"

timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" dbus-run-session -- "$APP" \
  --open-study "$tmp/s" --self-test-screenshot "$tmp/arch.png" \
  --self-test-editor arch:mobilenetv2 --self-test-editor "init:$tmp/ckpt/state.safetensors" \
  --self-test-editor preset:only-output-frozen:1 --self-test-editor show-layers:only-output-frozen \
  --self-test-editor win.save-study 2>&1 | tee "$tmp/arch.log"

grep -q '^self-test: editor step arch:mobilenetv2$' "$tmp/arch.log"
grep -q '^self-test: editor presets None | Head only | Last stage & head | Last two stages & head | All layers | Custom$' \
  "$tmp/arch.log"
grep -q '^self-test: editor row source-base | 1 · source-base | source-base · weights from the checkpoint state.safetensors | ' \
  "$tmp/arch.log"
grep -q '^self-test: editor row only-output-frozen | .* | Head only | Frozen$' "$tmp/arch.log"
# The Keras CNN's "dense" the study named before stays listed, as not in this model.
grep -q '^self-test: checklist dense | not in this model | ' "$tmp/arch.log"
grep -q '^self-test: checklist classifier.1 | Dense | .* | ticked | ' "$tmp/arch.log"
grep -v ' | not in this model | ' "$tmp/arch.log" \
  | sed -n 's/^self-test: checklist \([^ |]*\) |.*/\1/p' > "$tmp/checklist.txt"
if ! diff "$tmp/torch-layers.txt" "$tmp/checklist.txt"; then
  echo "the checklist does not list MobileNetV2's layers in network order"; exit 1
fi
echo "ok: $(wc -l < "$tmp/checklist.txt") MobileNetV2 layers in the checklist"

"$PY" - "$tmp/s/study.json" "$tmp/ckpt/state.safetensors" "$(tail -1 "$tmp/torch-layers.txt")" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["architecture"] == "mobilenetv2", s["architecture"]
base = next(r for r in s["runs"] if r["id"] == s["base"])
assert base.get("init") == sys.argv[2], base
assert "from" not in base and "reinit" not in base, base
run = next(r for r in s["runs"] if r["id"] == "only-output-frozen")
assert run["reinit"] == [sys.argv[3]], run["reinit"]
assert run["from"] == base["id"] and run["freeze"] == "transferred", run
print("ok: study.json has the architecture, the checkpoint and the head preset")
PYEOF
