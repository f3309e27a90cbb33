# Sourced by the tests that run tests/model/torch_pretrained.py: sets PY to the build's torch
# venv (Debian's PyTorch and torchvision, with timm and safetensors from PyPI; ./run test sets
# it up), or $GRAFT_TORCH_PYTHON, else Debian's Python, and skips (77) unless PY imports every
# module named: graft_torch_python torch torchvision numpy ...
graft_torch_python() {
  PY=${GRAFT_TORCH_PYTHON:-$GRAFT_BUILD_ROOT/torch-venv/bin/python}
  [ -x "$PY" ] || PY=/usr/bin/python3
  if ! "$PY" -c "import $(IFS=,; echo "$*")" 2>/dev/null; then
    echo "SKIP: $PY lacks one of: $*"
    exit 77
  fi
}
