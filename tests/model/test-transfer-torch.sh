#!/usr/bin/env bash
# graft-cli train --init with a PyTorch state dict (ResNet-18, 1000-class head): the head is
# replaced for the dataset's classes, the last stage re-initialised (the architecture's
# "last-stage-head" preset) and everything else frozen; after training every frozen tensor of
# the run's checkpoint is the state dict's, bit for bit. Skips (77) without PyTorch,
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
rng = np.random.default_rng(3)
for c in ("ants", "bees", "wasps"):
    os.makedirs(os.path.join(sys.argv[1], c))
    for i in range(5):
        a = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(a).save(os.path.join(sys.argv[1], c, "%d.jpg" % i), quality=90)
PYEOF
stage="layer4.0.conv1,layer4.0.bn1,layer4.0.conv2,layer4.0.bn2,layer4.0.downsample.0"
stage="$stage,layer4.0.downsample.1,layer4.1.conv1,layer4.1.bn1,layer4.1.conv2,layer4.1.bn2,fc"
"$GRAFT_CLI" train --arch resnet18 --data "$work/data" --out "$work/run" --epochs 2 --batch 4 \
  --image-size 33 --lr 1e-2 --init "$work/state.safetensors" --reinit "$stage" \
  --freeze transferred > "$work/train.txt"
grep -q "Transferred" "$work/train.txt"
"$PY" "$ORACLE" frozen resnet18 33 1000 "$work" "$work/run/last.safetensors" "$stage"
