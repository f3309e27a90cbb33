#!/bin/bash
# Graft vs PyTorch on the same machine: the reference network, same sizes, random data.
# Usage: bench/compare.sh [--image-size N] [--batch N] [--width X] [--classes N]
#                         [--iterations N] [--warmup N] [--graft-cli PATH] [--json-dir DIR]
# Defaults (96×96, batch 16, width 1.0, 3 timed steps) take about half a minute on 2 cores;
# the headline comparison is --image-size 180 --batch 64.
set -euo pipefail

image_size=96 batch=16 width=1.0 classes=2 iterations=3 warmup=1 json_dir=""
here=$(cd "$(dirname "$0")" && pwd)
graft_cli=${GRAFT_CLI:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --image-size) image_size=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --width) width=$2; shift 2 ;;
    --classes) classes=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --graft-cli) graft_cli=$2; shift 2 ;;
    --json-dir) json_dir=$2; shift 2 ;;
    -h|--help) sed -n 2,6p "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$graft_cli" ]; then
  for d in "$here"/../build*/cli/graft-cli; do
    [ -x "$d" ] && graft_cli=$d && break
  done
fi
[ -x "${graft_cli:-}" ] || { echo "compare.sh: graft-cli not found; pass --graft-cli PATH" >&2; exit 2; }
py=/usr/bin/python3
out=${json_dir:-$(mktemp -d)}
mkdir -p "$out"

common=(--image-size "$image_size" --batch "$batch" --width "$width" --classes "$classes"
        --iterations "$iterations" --warmup "$warmup")
echo "Graft: $graft_cli bench ${common[*]}" >&2
# Profiling off for the timed comparison: events cost a little on every launch.
"$graft_cli" bench "${common[@]}" --no-profile --json > "$out/graft.json"
echo "PyTorch: $py $here/peer_pytorch.py ${common[*]} --threads $(nproc)" >&2
"$py" "$here/peer_pytorch.py" "${common[@]}" --threads "$(nproc)" --json > "$out/pytorch.json"

"$py" - "$out/graft.json" "$out/pytorch.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))
print(f"\n{g['image_size']}×{g['image_size']}, batch {g['batch']}, width {g['width']}, "
      f"{g['iterations']} timed steps; Graft on {g['device']}, {t['framework']} "
      f"({t['threads']} threads, {t['layout']})")
print(f"{'images/s':24s} {'Graft':>10s} {'PyTorch':>10s} {'Graft/PyTorch':>14s}")
for key, label in (("train", "training step"), ("infer", "inference"),
                   ("frozen_train", "frozen-body step")):
    if key in g and key in t:
        a, b = g[key]["images_per_s"], t[key]["images_per_s"]
        print(f"{label:24s} {a:10.2f} {b:10.2f} {a / b:13.2f}×")
if "full_over_frozen_step_time" in g and "full_over_frozen_step_time" in t:
    print(f"{'full/frozen step time':24s} {g['full_over_frozen_step_time']:10.2f} "
          f"{t['full_over_frozen_step_time']:10.2f}")
print(f"{'peak RSS (MB)':24s} {g['peak_rss_mb']:10.0f} {t['peak_rss_mb']:10.0f}")
print(f"{'Graft device bytes (MB)':24s} {(g['model_device_bytes'] + g['scratch_bytes']) / 1e6:10.0f}")
PY
