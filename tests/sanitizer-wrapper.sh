#!/bin/bash
# Wraps each test of the sanitizer build (./run test passes it to meson test --wrapper): runs
# the test, and runs it once more only when LeakSanitizer itself crashed while stopping the
# process's threads for its exit-time leak check ("Tracer caught signal 11 … LeakSanitizer has
# encountered a fatal error"), which happens now and then while PoCL's worker threads wind
# down. A leak report, an ASan or UBSan report or a failed check fails at once, as before.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" 2> "$log"
rc=$?
cat "$log" >&2
if [ "$rc" -ne 0 ] && grep -q "LeakSanitizer has encountered a fatal error" "$log" &&
   ! grep -q "ERROR: LeakSanitizer: detected memory leaks\|ERROR: AddressSanitizer\|runtime error:" "$log"; then
  echo "sanitizer-wrapper: LeakSanitizer's own tracer crashed (exit $rc); running the test again" >&2
  "$@"
  rc=$?
fi
exit "$rc"
