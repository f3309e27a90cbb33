#!/usr/bin/env bash
# ResNet-18 and MobileNetV2 from the state dicts of torchvision's or timm's own networks
# (GRAFT_TORCH_LIB), against those networks in float64: inference logits, the loss and every
# parameter gradient of one training step within 1e-4 (or, where the library's own float32 is
# further than that from its float64, no further than twice the library's float32:
# torch_pretrained.py says when that happens), on odd image sizes, with the library's own random
# initialisation and with BN weights and statistics moved away from it, on an input batch whose
# ReLU and max-pool decisions are clear of float32 rounding; and the parameter counts with
# 1000 classes. Skips (77) when PyTorch or the library is absent.
set -euo pipefail
lib=${GRAFT_TORCH_LIB:-torchvision}
. "$GRAFT_SOURCE_ROOT/tests/model/torch-python.sh"
graft_torch_python torch numpy "$lib"
"$PY" -c "import torch, $lib; print('PyTorch', torch.__version__, '$lib', $lib.__version__)"
DUMP="$GRAFT_BUILD_ROOT/tests/model/graft-import-dump"
ORACLE="$GRAFT_SOURCE_ROOT/tests/model/torch_pretrained.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
run() {  # arch size classes init seed
  local dir="$work/$1-$2-$4"
  mkdir -p "$dir"
  echo "== $lib $1 at ${2}×${2}, $3 classes, $4 weights"
  "$PY" "$ORACLE" write "$1" "$2" "$3" "$dir" "$lib" "$4" "$5"
  "$DUMP" "$1" "$2" "$3" "$dir" > /dev/null
  if "$PY" "$ORACLE" check "$1" "$2" "$3" "$dir" "$lib" > "$dir/report.txt"; then
    echo "$(grep -c '^ok' "$dir/report.txt") comparisons agree," \
      "$(grep -c 'ill-conditioned' "$dir/report.txt" || true) of them ill-conditioned:"
    grep 'ill-conditioned' "$dir/report.txt" | sed 's/^/  /' || true
  else
    grep -v '^ok' "$dir/report.txt"
    status=1
  fi
}
# The seeds are where torch_pretrained.py's search for a batch with clear decisions ends with
# these libraries' initialisations (it searches on from there if another version moved it).
# Sizes stay small: the larger the maps, the more decisions, and the rarer a batch with none
# of them within float32 reach.
case "$lib" in
  torchvision)
    run resnet18 33 5 library 15
    run resnet18 37 5 perturbed 10
    run mobilenetv2 33 5 library 24
    run mobilenetv2 35 5 perturbed 311 ;;
  timm)
    run mobilenetv2 35 4 library 80
    run mobilenetv2 37 4 perturbed 272
    run resnet18 35 3 perturbed 10 ;;
  *) echo "GRAFT_TORCH_LIB: '$lib' is neither torchvision nor timm"; exit 2 ;;
esac
exit $status
