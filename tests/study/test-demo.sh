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

# A two-seed sweep of the same demo: sixteen runs, and the Markdown table's means are the means
# of the per-seed rows of results.csv, computed here in Python.
"$GRAFT_CLI" demo --out sweep --seeds 2 --epochs 2 --per-class 12 --target-per-class 24 > sweep.txt
grep -q "16 trained, 0 finished before, 0 failed, 0 blocked" sweep.txt
test -s sweep/figure.png
/usr/bin/python3 - sweep/results.csv sweep.txt <<'EOF'
import csv, re, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 16 and {r["Seed"] for r in rows} == {"1337", "1338"}, rows
groups = {}
for r in rows:
    groups.setdefault((r["Model"], r["Freeze"]), []).append(float(r["Best val. acc."]))
table = [l for l in open(sys.argv[2]) if " ± " in l and l[2:3].isdigit()]
assert len(table) == 8, table
for line in table:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    mean, std = (float(x) for x in cells[3].split(" ± "))
    vals = groups[(cells[2], cells[1])]
    assert abs(mean - statistics.mean(vals)) <= 2e-4, (cells, vals)
    assert abs(std - statistics.stdev(vals)) <= 2e-4, (cells, vals)
print("sweep table: 8 experiments, means and std of 2 seeds each match results.csv")
EOF
echo "demo sweep: 16 runs, table means match the per-seed rows"
