#!/usr/bin/env bash
# graft-cli demo end to end at a tiny scale, from its default (relative) study folder:
# imports Fashion-MNIST, trains the eight runs, writes the table and the figure, and a second
# call resumes without training anything again.
set -euo pipefail
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  echo "SKIP: Debian's dataset-fashion-mnist is not installed"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export XDG_CACHE_HOME="$work/cache"
"$GRAFT_CLI" demo --epochs 2 --per-class 12 --target-per-class 24 > first.txt
cat first.txt
grep -q "8 trained, 0 finished before, 0 failed, 0 blocked" first.txt
test -s graft-demo/figure.png
rows=$(tail -n +2 graft-demo/results.csv | grep -c .)
[ "$rows" -eq 8 ] || { echo "results.csv has $rows runs, 8 expected"; exit 1; }
for run in graft-demo/runs/*/; do
  [ "$(tail -n +2 "$run/metrics.csv" | grep -c .)" -eq 2 ] || { echo "$run: not 2 epochs"; exit 1; }
done
"$GRAFT_CLI" demo --epochs 2 --per-class 12 --target-per-class 24 > second.txt
grep -q "Resuming the demo study" second.txt
grep -q "0 trained, 8 finished before" second.txt
echo "demo: 8 runs trained, table and figure written, rerun resumed"
