#!/bin/bash
# graft-cli import-idx, dataset scan and bench data end to end on Fashion-MNIST's test set.
set -euo pipefail
cli="$GRAFT_BUILD_ROOT/cli/graft-cli"
fm=/usr/share/datasets/fashion-mnist
if [ ! -e "$fm/t10k-images-idx3-ubyte.gz" ]; then
  echo "SKIP: $fm is missing (Debian package dataset-fashion-mnist)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GRAFT_IMAGE_CACHE="$tmp/cache"

"$cli" import-idx --images "$fm/t10k-images-idx3-ubyte.gz" --labels "$fm/t10k-labels-idx1-ubyte.gz" \
  --out "$tmp/fm" --classes 0,1,9 --limit-per-class 4
[ "$(find "$tmp/fm" -name '*.jpg' | wc -l)" -eq 12 ]
[ -d "$tmp/fm/T-shirt_top" ] && [ -d "$tmp/fm/Trouser" ] && [ -d "$tmp/fm/Ankle_boot" ]

# A broken file is reported with its reason, and JSON counts add up.
printf 'not a jpeg' > "$tmp/fm/Trouser/zz-broken.jpg"
"$cli" dataset scan "$tmp/fm" --json > "$tmp/scan.json"
grep -q '"usable" : 12' "$tmp/scan.json"
grep -q '"candidates" : 13' "$tmp/scan.json"
grep -q 'zz-broken.jpg' "$tmp/scan.json"
grep -q 'no JPEG start marker' "$tmp/scan.json"
"$cli" dataset scan "$tmp/fm" --filter keras-jfif -q | grep -q '12 usable of 13'

"$cli" bench data "$tmp/fm" --image-size 16 | tee "$tmp/bench.txt"
grep -q 'cached epoch read' "$tmp/bench.txt"

# Malformed IDX: the message names the file and exit status is 1.
printf '\0\0\x08\x03\0\0\0\x05' > "$tmp/bad-idx3"
if "$cli" import-idx --images "$tmp/bad-idx3" --labels "$fm/t10k-labels-idx1-ubyte.gz" --out "$tmp/o" 2> "$tmp/err"; then
  echo "malformed IDX was accepted"; exit 1
fi
grep -q "bad-idx3" "$tmp/err"
echo ok
