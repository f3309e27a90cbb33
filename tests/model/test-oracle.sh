#!/usr/bin/env bash
# The whole network against an independent PyTorch implementation: forward logits, loss,
# every parameter gradient, BN moving statistics and Adam steps, binary and multi-class,
# with and without frozen layers. Skips (77) when PyTorch is absent.
set -euo pipefail
PY=/usr/bin/python3
if ! "$PY" -c "import torch, numpy" 2>/dev/null; then
  echo "SKIP: PyTorch (python3-torch) is not installed"
  exit 77
fi
DUMP="$GRAFT_BUILD_ROOT/tests/model/graft-oracle-dump"
ORACLE="$GRAFT_SOURCE_ROOT/tests/model/oracle_torch.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
run() {  # name classes size width batch steps frozen
  local dir="$work/$1"
  mkdir -p "$dir"
  echo "== $1: classes $2, image ${3}×${3}, width $4, batch $5"
  local load=""
  if [ "${8:-}" = python-weights ]; then
    load="$dir/python.safetensors"
    "$PY" "$ORACLE" --write-weights "$load" "$2" "$3" "$4"
  fi
  GRAFT_ORACLE_LOAD="$load" "$DUMP" "$dir" "$2" "$3" "$4" "$5" "$6" "${7:-}" > /dev/null
  if "$PY" "$ORACLE" "$dir" "${7:-}" "$6" > "$dir/report.txt"; then
    echo "$(grep -c '^ok' "$dir/report.txt") comparisons agree within 1e-4"
  else
    grep -v '^ok' "$dir/report.txt"
    status=1
  fi
}
run binary 2 37 0.125 3 3
run classes5 5 33 0.125 2 2
run python-checkpoint 3 32 0.125 2 2 "" python-weights
run frozen-body 2 35 0.125 3 2 conv2d,batch_normalization,separable_conv2d,batch_normalization_1,separable_conv2d_1,batch_normalization_2,conv2d_1
exit $status
