#!/bin/bash
# Runs one fuzz target:
#   run-fuzz.sh regress NAME BINARY   every seed and regression input once
#   run-fuzz.sh fuzz NAME BINARY      a bounded fuzzing run from those ($GRAFT_FUZZ_SECONDS, 30)
# Crash inputs are kept in $GRAFT_FUZZ_OUT/NAME/artifacts; add each to REGRESSIONS in seeds.py.
set -euo pipefail
shopt -s nullglob

mode=$1 name=$2 bin=$3
src=${GRAFT_FUZZ_SOURCE:?} out=${GRAFT_FUZZ_OUT:?}/$name
seconds=${GRAFT_FUZZ_SECONDS:-30}
rm -rf "$out/seeds" "$out/regressions" "$out/corpus"
mkdir -p "$out/seeds" "$out/regressions" "$out/corpus" "$out/artifacts"
/usr/bin/python3 "$src/seeds.py" seeds "$name" "$out/seeds"
/usr/bin/python3 "$src/seeds.py" regressions "$name" "$out/regressions"
if [ "$name" = safetensors ]; then
  "${GRAFT_FUZZ_SEED_CHECKPOINT:?}" "$out/seeds/graft-checkpoint.safetensors"
fi
# Leaks are real findings here: nothing but the reader runs in these processes.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
opts=(-rss_limit_mb=2048 -timeout=60 -artifact_prefix="$out/artifacts/")
[ -f "$src/$name.dict" ] && opts+=(-dict="$src/$name.dict")

case "$mode" in
  regress)
    inputs=("$out"/seeds/* "$out"/regressions/*)
    echo "fuzz-$name: running ${#inputs[@]} seed and regression inputs once"
    "$bin" "${opts[@]}" "${inputs[@]}"
    ;;
  fuzz)
    # Seeds only: the regression inputs are run in regress mode, and their size (deep nesting)
    # would set libFuzzer's input size limit.
    cp "$out"/seeds/* "$out/corpus/"
    log="$out/fuzz.log"
    set +e
    "$bin" "${opts[@]}" -max_total_time="$seconds" -print_final_stats=1 "$out/corpus" \
      >"$log" 2>&1
    rc=$?
    set -e
    tail -n 40 "$log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "fuzz-$name: ${execs:-?} executions in ${seconds}s, exit status $rc," \
      "corpus $(ls "$out/corpus" | wc -l) inputs" | tee "$out/summary.txt"
    exit "$rc"
    ;;
  *)
    echo "run-fuzz.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
