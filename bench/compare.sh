#!/bin/bash
# Graft against every peer found on this machine (PyTorch and TensorFlow/Keras, Debian's and
# pip's): the reference network, same sizes, random data, same thread count, run one after
# the other in this invocation; one table with each phase's median images/s, its spread over
# the timed steps, and Graft/peer for every peer and for the strongest, and one more from each
# framework's fastest step (on a shared machine, its least disturbed one).
# Usage: bench/compare.sh [--image-size N] [--batch N] [--width X] [--classes N]
#                         [--iterations N] [--warmup N] [--graft-cli PATH] [--json-dir DIR]
#                         [--python PATH]... [--setup-venv DIR] [--no-keras] [--no-pytorch]
#                         [--arch keras-cnn|resnet18|mobilenetv2]
# Peers: each Python given with --python (repeatable), else /usr/bin/python3, python3 on PATH,
# $GRAFT_PEER_PYTHONS (colon-separated) and the venv of --setup-venv (default place
# ~/.cache/graft-bench-venv, used when it exists); each runs peer_pytorch.py if it imports
# torch and peer_keras.py if it imports tensorflow, and a framework version seen twice runs once.
# --setup-venv DIR creates that venv with the current pip releases (torch for CPU,
# tensorflow-cpu) and uses it. Defaults: 96×96, batch 16, width 1.0, 10 timed steps after 2
# warm-up; the headline comparison is --image-size 180 --batch 64. --arch resnet18 or
# mobilenetv2 compares with torchvision's network (the Keras peer only has the reference CNN).
set -euo pipefail

image_size=96 batch=16 width=1.0 classes=2 iterations=10 warmup=2 json_dir="" keras=1 pytorch=1
arch=keras-cnn
here=$(cd "$(dirname "$0")" && pwd)
graft_cli=${GRAFT_CLI:-}
pythons=() setup_venv=""
default_venv=${XDG_CACHE_HOME:-$HOME/.cache}/graft-bench-venv
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
    --python) pythons+=("$2"); shift 2 ;;
    --setup-venv) setup_venv=$2; shift 2 ;;
    --no-keras) keras=0; shift ;;
    --no-pytorch) pytorch=0; shift ;;
    --arch) arch=$2; shift 2 ;;
    -h|--help) sed -n 2,18p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
# build/ (what ./run builds) first, then other build folders; never a sanitizer build, whose
# instrumented code runs several times slower.
if [ -z "$graft_cli" ]; then
  for d in "$here"/../build/cli/graft-cli "$here"/../build*/cli/graft-cli; do
    case "$d" in *-asan/*|*-san/*|*sanitize*) continue ;; esac
    [ -x "$d" ] && graft_cli=$d && break
  done
fi
[ -x "${graft_cli:-}" ] || { echo "compare.sh: graft-cli not found; pass --graft-cli PATH" >&2; exit 2; }
py=/usr/bin/python3
out=${json_dir:-$(mktemp -d)}
mkdir -p "$out"
rm -f "$out"/peer-*.json

if [ -n "$setup_venv" ]; then
  if [ ! -x "$setup_venv/bin/python" ]; then
    echo "Creating $setup_venv with pip's torch (CPU) and tensorflow-cpu" >&2
    "$py" -m venv "$setup_venv"
    "$setup_venv/bin/pip" install -q --upgrade pip
    # PyTorch's CPU-only wheels when their index is reachable, PyPI's otherwise.
    "$setup_venv/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu ||
      "$setup_venv/bin/pip" install -q torch
    "$setup_venv/bin/pip" install -q tensorflow-cpu
  fi
  pythons+=("$setup_venv/bin/python")
fi
if [ ${#pythons[@]} -eq 0 ]; then
  pythons=(/usr/bin/python3 python3)
  IFS=: read -r -a extra <<< "${GRAFT_PEER_PYTHONS:-}"
  pythons+=("${extra[@]}")
  [ -x "$default_venv/bin/python" ] && pythons+=("$default_venv/bin/python")
fi

common=(--image-size "$image_size" --batch "$batch" --width "$width" --classes "$classes"
        --iterations "$iterations" --warmup "$warmup")
echo "Graft: $graft_cli bench ${common[*]}" >&2
# Profiling off for the timed comparison: events cost a little on every launch.
"$graft_cli" bench "${common[@]}" --arch "$arch" --no-profile --json > "$out/graft.json"
[ "$arch" = keras-cnn ] || keras=0

# Each Python runs the peers it can import; a framework version already measured is skipped.
seen=" " n=0
for cand in "${pythons[@]}"; do
  [ -n "$cand" ] && command -v "$cand" > /dev/null || continue
  for peer in pytorch keras; do
    [ "$peer" = pytorch ] && { [ "$pytorch" = 1 ] || continue; mod=torch; }
    [ "$peer" = keras ] && { [ "$keras" = 1 ] || continue; mod=tensorflow; }
    version=$("$cand" -c "import $mod; print($mod.__version__)" 2> /dev/null) || continue
    key="$peer-$version"
    case "$seen" in *" $key "*) continue ;; esac
    seen="$seen$key "
    n=$((n + 1))
    echo "Peer $n: $(command -v "$cand") $here/peer_$peer.py (${mod} $version) ${common[*]} --threads $(nproc)" >&2
    peer_arch=()
    [ "$peer" = pytorch ] && peer_arch=(--arch "$arch")
    "$cand" "$here/peer_$peer.py" "${common[@]}" "${peer_arch[@]}" --threads "$(nproc)" --json \
      > "$out/peer-$n.json" 2> "$out/peer-$n.log" ||
      { echo "compare.sh: that peer failed (see $out/peer-$n.log)" >&2; rm -f "$out/peer-$n.json"; }
  done
done
[ "$n" -gt 0 ] || echo "compare.sh: no Python with torch or tensorflow found; Graft only" >&2

"$py" - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
g = json.load(open(os.path.join(out, "graft.json")))
peers = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, "peer-*.json")),
                                            key=lambda f: int(f.rsplit("-", 1)[1][:-5]))]
print(f"\n{g.get('architecture', 'keras-cnn')}, {g['image_size']}×{g['image_size']}, batch {g['batch']}, width {g['width']}, "
      f"median of {g['iterations']} timed steps after {g['warmup']} warm-up; spread = "
      f"(slowest − fastest step) / median")
print(f"Graft on {g['device']}")
for i, p in enumerate(peers, 1):
    print(f"Peer {i}: {p['framework']} ({p['threads']} threads, {p['layout']})")

phases = (("train", "training step"), ("infer", "inference"), ("frozen_train", "frozen-body step"))
summary = {"graft": g, "peers": peers, "phases": {}, "fastest_step": {}}


def median_rate(phase):
    return phase["images_per_s"], phase.get("spread", 0)


def fastest_rate(phase):
    # images/s of the fastest timed step: on a shared machine, each framework's least disturbed
    return g["batch"] / min(phase["step_seconds"]), None


def table(title, rate_of, into):
    """One row per phase: Graft's rate, each peer's and Graft/peer, then Graft/strongest."""
    head = f"{title:20s} {'Graft':>15s}"
    for i, _ in enumerate(peers, 1):
        head += f" {'peer ' + str(i):>15s} {'Graft/' + str(i):>8s}"
    head += f" {'vs strongest':>13s}"
    print("\n" + head)
    for key, label in phases:
        if key not in g:
            continue
        a, a_spread = rate_of(g[key])
        cell = lambda r, sp: f"{r:8.2f} ({100 * sp:4.1f}%)" if sp is not None else f"{r:15.2f}"
        line = f"{label:20s} {cell(a, a_spread)}"
        best = None
        row = {"graft": a, "graft_spread": a_spread, "peers": []}
        for i, p in enumerate(peers, 1):
            if key not in p:
                line += f" {'':>15s} {'':>8s}"
                continue
            b, b_spread = rate_of(p[key])
            line += f" {cell(b, b_spread)} {a / b:7.2f}×"
            row["peers"].append({"peer": i, "framework": p["framework"], "images_per_s": b,
                                 "spread": b_spread, "graft_over_peer": a / b})
            if best is None or b > best[1]:
                best = (i, b)
        if best:
            row["strongest"] = best[0]
            row["graft_over_strongest"] = a / best[1]
            line += f" {a / best[1]:7.2f}× (#{best[0]})"
        into[key] = row
        print(line)


table("images/s (spread)", median_rate, summary["phases"])
line = f"{'peak RSS (MB)':20s} {g['peak_rss_mb']:15.0f}"
for p in peers:
    line += f" {p['peak_rss_mb']:15.0f} {'':8s}"
print(line.rstrip())
print(f"{'Graft device (MB)':20s} {(g['model_device_bytes'] + g['scratch_bytes']) / 1e6:15.0f}")
if g.get("fma_peak_gflops"):
    # The ceiling every framework's GEMMs share on this device.
    print(f"{'FMA peak (GFLOP/s)':20s} {g['fma_peak_gflops']:15.1f}  (measured by graft-cli bench)")
    low = g.get("fma_low_gflops", 0)
    if low:
        # Sampled before, between and after Graft's phases: how steady the device was.
        dip = 1 - low / g["fma_peak_gflops"]
        print(f"{'FMA rate low (GFLOP/s)':20s} {low:15.1f}  ({100 * dip:.0f}% below the peak around "
              "Graft's phases: " + ("other work shared the device, and spreads that size come from it)"
                                    if dip > 0.05 else "the device was steady)"))
# Every framework's fastest step too: where other work shared the device, the medians carry it.
table("fastest step, img/s", fastest_rate, summary["fastest_step"])
json.dump(summary, open(os.path.join(out, "compare.json"), "w"), indent=1)
print(f"\nJSON: {os.path.join(out, 'compare.json')}")
PY
