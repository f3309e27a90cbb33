#!/bin/bash
# Graft vs PyTorch (and TensorFlow/Keras where a Python has it) on the same machine: the
# reference network, same sizes, random data, same thread count.
# Usage: bench/compare.sh [--image-size N] [--batch N] [--width X] [--classes N]
#                         [--iterations N] [--warmup N] [--graft-cli PATH] [--json-dir DIR]
#                         [--no-keras]
# Defaults (96×96, batch 16, width 1.0, 3 timed steps) take about a minute on 2 cores; the
# headline comparison is --image-size 180 --batch 64. Keras runs with $GRAFT_KERAS_PYTHON, or
# the first of python3 on PATH and /usr/bin/python3 that imports tensorflow.
set -euo pipefail

image_size=96 batch=16 width=1.0 classes=2 iterations=3 warmup=1 json_dir="" keras=1
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
    --no-keras) keras=0; shift ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
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

rm -f "$out/keras.json"
if [ "$keras" = 1 ]; then
  kpy=""
  for cand in ${GRAFT_KERAS_PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$cand" > /dev/null && "$cand" -c 'import tensorflow' 2> /dev/null; then
      kpy=$cand
      break
    fi
  done
  if [ -n "$kpy" ]; then
    echo "Keras: $kpy $here/peer_keras.py ${common[*]} --threads $(nproc)" >&2
    "$kpy" "$here/peer_keras.py" "${common[@]}" --threads "$(nproc)" --json \
      > "$out/keras.json" 2> "$out/keras.log" ||
      { echo "compare.sh: the Keras peer failed (see $out/keras.log)" >&2; rm -f "$out/keras.json"; }
  else
    echo "Keras: no Python with TensorFlow (pip install tensorflow-cpu); PyTorch only" >&2
  fi
fi

"$py" - "$out/graft.json" "$out/pytorch.json" "$out/keras.json" <<'PY'
import json, os, sys
g = json.load(open(sys.argv[1]))
peers = [("PyTorch", json.load(open(sys.argv[2])))]
if os.path.exists(sys.argv[3]):
    peers.append(("Keras", json.load(open(sys.argv[3]))))
print(f"\n{g['image_size']}×{g['image_size']}, batch {g['batch']}, width {g['width']}, "
      f"{g['iterations']} timed steps; Graft on {g['device']}; "
      + "; ".join(f"{p['framework']} ({p['threads']} threads, {p['layout']})" for _, p in peers))
head = f"{'images/s':24s} {'Graft':>10s}"
for name, _ in peers:
    head += f" {name:>10s} {'Graft/' + name:>14s}"
print(head)
for key, label in (("train", "training step"), ("infer", "inference"),
                   ("frozen_train", "frozen-body step")):
    if key not in g:
        continue
    a = g[key]["images_per_s"]
    line = f"{label:24s} {a:10.2f}"
    for _, p in peers:
        if key in p:
            b = p[key]["images_per_s"]
            line += f" {b:10.2f} {a / b:13.2f}×"
    print(line)
if "full_over_frozen_step_time" in g:
    line = f"{'full/frozen step time':24s} {g['full_over_frozen_step_time']:10.2f}"
    for _, p in peers:
        line += f" {p.get('full_over_frozen_step_time', float('nan')):10.2f} {'':14s}"
    print(line.rstrip())
line = f"{'peak RSS (MB)':24s} {g['peak_rss_mb']:10.0f}"
for _, p in peers:
    line += f" {p['peak_rss_mb']:10.0f} {'':14s}"
print(line.rstrip())
print(f"{'Graft device bytes (MB)':24s} {(g['model_device_bytes'] + g['scratch_bytes']) / 1e6:10.0f}")
PY
