#!/bin/bash
# Hostile datasets through graft-cli dataset scan, train, predict and evaluate (run_reliability.py).
set -euo pipefail
py=/usr/bin/python3
if ! "$py" -c 'import PIL' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 with PIL is not available"
  exit 77
fi
if "$GRAFT_CLI" devices 2>&1 | grep -q "No OpenCL device"; then
  echo "SKIP: no OpenCL device"
  exit 77
fi
exec "$py" "$(dirname "$0")/run_reliability.py"
