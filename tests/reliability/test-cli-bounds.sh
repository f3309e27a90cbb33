#!/bin/bash
# graft-cli refuses out-of-range model settings with a message naming the setting, not an abort.
set -uo pipefail

CLI="$GRAFT_BUILD_ROOT/cli/graft-cli"
fails=0
check () {
  local setting=$1; shift
  local out rc
  out=$("$CLI" "$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 1 ] || ! grep -qi -- "$setting" <<<"$out"; then
    echo "FAIL: graft-cli $* exited $rc with: $out"
    fails=$((fails + 1))
  else
    echo "ok: graft-cli $*: $out"
  fi
}
check "classes" model summary --classes 100000000
check "classes" model summary --classes 100001
check "image size" model summary --image-size 100000
check "width" model summary --width 1000
[ "$fails" -eq 0 ]
