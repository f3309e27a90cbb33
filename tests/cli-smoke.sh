#!/bin/bash
# graft-cli smoke: sizes out of range are refused at once, naming the setting; a small one runs.
set -euo pipefail
cli="$GRAFT_BUILD_ROOT/cli/graft-cli"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for size in 100000 4096 2049 0 -5; do
  rc=0
  timeout 20 "$cli" smoke --size "$size" > "$tmp/out" 2> "$tmp/err" || rc=$?
  if [ "$rc" -ne 2 ]; then
    echo "smoke --size $size: exit status $rc, expected 2 (refused)"; cat "$tmp/err"; exit 1
  fi
  grep -q -- "--size $size" "$tmp/err" || { echo "message does not name --size $size:"; cat "$tmp/err"; exit 1; }
done
rc=0
timeout 60 "$cli" smoke --size 48 > "$tmp/out" 2> "$tmp/err" || rc=$?
if grep -q "No OpenCL" "$tmp/err"; then echo "SKIP: no OpenCL device"; exit 77; fi
[ "$rc" -eq 0 ] || { echo "smoke --size 48 failed ($rc)"; cat "$tmp/err"; exit 1; }
grep -q "SGEMM 48×48×48" "$tmp/out"
echo ok
