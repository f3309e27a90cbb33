#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and its driver but no Debian packages and no
# network: unpacks the packages bench/gpu-pack.sh downloaded, registers the driver's OpenCL
# library when no ICD lists it, then runs `graft-cli devices`, the op tests on the GPU with both
# kernel sets, `graft-cli bench` and the PyTorch CUDA peer (bench/peer_pytorch.py --device
# cuda) at 180×180 batch 64 and at the demo size, and a brief `graft-cli tune`, each step under
# its own timeout and all inside GPU_CHECK_BUDGET seconds (480). Writes gpu-check.json and
# gpu-check.log under $OUT (else PACK_DIR/out).
#
#   bash bench/gpu-check.sh [PACK_DIR]          (default: gpu-pack in the source tree)
#
# GPU_CHECK_DEVICE=cpu is the dry run: the same steps on the machine's own OpenCL devices
# (PoCL) with every library taken from the pack, at small sizes and with two op tests, so the
# script and the pack are exercised where there is no GPU (about a minute on two cores).
# GPU_CHECK_PYTHON picks the Python that runs the peer (default: python3 on a GPU machine,
# /usr/bin/python3, Debian's, in the dry run).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
pack=$(cd "${1:-$src/gpu-pack}" 2>/dev/null && pwd) || { echo "gpu-check: no pack folder ${1:-$src/gpu-pack}; run bench/gpu-pack.sh first" >&2; exit 2; }
mode=${GPU_CHECK_DEVICE:-gpu}
case "$mode" in gpu|cpu) ;; *) echo "gpu-check: GPU_CHECK_DEVICE is “$mode”: it must be “gpu” or “cpu”" >&2; exit 2 ;; esac
budget=${GPU_CHECK_BUDGET:-480}
out=${OUT:-$pack/out}
mkdir -p "$out"
log=$out/gpu-check.log
json=$out/gpu-check.json
work=$(mktemp -d /tmp/graft-gpu-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
: > "$log"
steps=$work/steps.tsv
: > "$steps"
say() { echo "$*" | tee -a "$log"; }

# ---- libraries: the pack's packages, unpacked under a prefix ----
prefix=$work/prefix
mkdir -p "$prefix"
unpack() {  # a .deb into $prefix, with dpkg when there is one, else by hand (ar + tar)
  if command -v dpkg > /dev/null; then
    dpkg -x "$1" "$prefix"
  else
    python3 - "$1" "$prefix" <<'PY'
import io, sys, tarfile
deb, dest = sys.argv[1], sys.argv[2]
data = open(deb, "rb").read()
assert data[:8] == b"!<arch>\n", deb + " is not a .deb"
pos = 8
while pos < len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(dest)
    pos += 60 + size + (size & 1)
PY
  fi
}
t0=$SECONDS
n=0
for d in "$pack"/debs/*.deb; do
  [ -e "$d" ] || continue
  unpack "$d" || say "gpu-check: could not unpack $d"
  n=$((n + 1))
done
# Sonames the system lacks come from the pack; in the dry run every one does, so that a pack
# missing a library fails here rather than on the GPU machine. The system's own are preferred
# there: the driver's OpenCL library needs the system's libstdc++, not Debian 12's.
libs=$work/lib
mkdir -p "$libs"
have=$(ldconfig -p 2>/dev/null | awk '{print $1}' | sort -u)
for dir in "$prefix/usr/lib/x86_64-linux-gnu" "$prefix/lib/x86_64-linux-gnu"; do
  [ -d "$dir" ] || continue
  for f in "$dir"/*.so.*; do
    [ -e "$f" ] || continue
    so=$(basename "$f")
    if [ "$mode" = cpu ] || ! grep -qx "$so" <<< "$have"; then
      ln -sf "$f" "$libs/$so"
    fi
  done
done
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
say "== unpacked $n packages in $((SECONDS - t0)) s; from the pack: $(ls "$libs" | tr '\n' ' ')"

# ---- OpenCL: the driver's library, registered when no ICD file names it ----
icd_note="system ICD files"
if [ "$mode" = gpu ] && [ -z "${OCL_ICD_VENDORS:-}" ]; then
  registered=$(cat /etc/OpenCL/vendors/*.icd 2>/dev/null | grep -c nvidia || true)
  if [ "$registered" = 0 ]; then
    nv=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1/ {print $NF; exit}')
    for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 \
               /usr/local/cuda/compat /usr/lib/wsl/lib; do
      [ -n "$nv" ] && break
      [ -e "$dir/libnvidia-opencl.so.1" ] && nv=$dir/libnvidia-opencl.so.1
    done
    if [ -n "$nv" ]; then
      mkdir -p "$prefix/etc/OpenCL/vendors"
      echo "$nv" > "$prefix/etc/OpenCL/vendors/nvidia.icd"
      export OCL_ICD_VENDORS=$prefix/etc/OpenCL/vendors
      export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$(dirname "$nv")
      icd_note="wrote an ICD file for $nv"
    else
      icd_note="no libnvidia-opencl.so.1 found (the driver's OpenCL part is missing)"
    fi
  fi
fi
say "== OpenCL: $icd_note"

bin=$pack/bin
cli=$bin/graft-cli
missing=$(ldd "$cli" 2>&1 | grep 'not found' || true)
[ -n "$missing" ] && say "gpu-check: libraries missing for graft-cli: $missing"
# Kernel caches: the caller's when it names them (a build tree's, for a warm dry run), else fresh.
export GRAFT_KERNEL_CACHE=${GRAFT_KERNEL_CACHE:-$work/kernels}
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$work/pocl} XDG_CONFIG_HOME=$work/config
export GSETTINGS_BACKEND=memory PYTHONUNBUFFERED=1
start=$SECONDS

# step NAME LIMIT CMD...: runs CMD under min(LIMIT, what the budget has left), its output into
# the log and $work/NAME.out, and a row of steps.tsv.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget - (SECONDS - start) - 10))
  if [ "$left" -lt 5 ]; then
    say "== $name: skipped, the budget of $budget s is spent"
    printf '%s\tskipped\t0\n' "$name" >> "$steps"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t=$SECONDS rc
  timeout -k 5 "$limit" "$@" > "$work/$name.out" 2>&1
  rc=$?
  [ "$rc" = 124 ] && say "== $name: timed out after $limit s"
  say "== $name: exit $rc after $((SECONDS - t)) s: $*"
  sed 's/^/   /' "$work/$name.out" >> "$log"
  printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t))" >> "$steps"
}

if [ "$mode" = gpu ]; then
  py=${GPU_CHECK_PYTHON:-python3}
  peer_device=(--device cuda)
  sizes=("180 64 1.0 3 1" "32 64 0.25 10 2")
  tests=$(cd "$bin" && ls test-op-* | grep -vx test-op-gpu-kernels)
  tune=(--image-size 96 --batch 16 --candidates 4 --repeats 1)
  tune_limit=60
else
  py=${GPU_CHECK_PYTHON:-/usr/bin/python3}
  peer_device=(--device cpu --threads "$(nproc)")
  sizes=("40 4 0.25 1 0" "32 4 0.25 1 0")
  tests="test-op-activation test-op-elementwise"
  # PoCL compiles each CLBlast candidate for a while: one candidate, and more time.
  tune=(--image-size 32 --width 0.25 --batch 1 --candidates 1 --repeats 1)
  tune_limit=150
fi

step devices 30 "$cli" devices --json
# The op tests get at most the first 200 s, so that the benchmarks always get their turn.
for set in gpu cpu; do
  for t in $tests; do
    if [ $((SECONDS - start)) -gt 200 ]; then
      say "== $t-$set: skipped, the op tests had their 200 s"
      printf '%s\tskipped\t0\n' "$t-$set" >> "$steps"
      continue
    fi
    step "$t-$set" 45 env GRAFT_KERNELS=$set "$bin/$t"
  done
done
[ "$mode" = gpu ] && step test-op-gpu-kernels 60 "$bin/test-op-gpu-kernels"
label=(headline demo)
for i in 0 1; do
  read -r size batch width iters warm <<< "${sizes[$i]}"
  step "bench-${label[$i]}" 150 "$cli" bench --image-size "$size" --batch "$batch" --width "$width" \
       --iterations "$iters" --warmup "$warm" --json
  step "peer-${label[$i]}" 150 "$py" "$src/bench/peer_pytorch.py" "${peer_device[@]}" \
       --image-size "$size" --batch "$batch" --width "$width" --iterations "$iters" \
       --warmup "$warm" --json
done
# Last, and into its own configuration folder, so that the benchmarks above ran with CLBlast's
# own parameters for the device (its database), not a brief search's.
XDG_CONFIG_HOME=$work/tune-config step tune "$tune_limit" "$cli" tune "${tune[@]}" --json

# ---- the JSON: every step's exit status and seconds, with the JSON it printed ----
"${GPU_CHECK_JSON_PYTHON:-python3}" - "$steps" "$work" "$mode" "$icd_note" "$budget" "$((SECONDS - start))" > "$json" <<'PY'
import json, os, sys
steps, work, mode, icd, budget, seconds = sys.argv[1:7]
out = {"mode": mode, "opencl": icd, "budget_s": int(budget), "seconds": int(seconds), "steps": []}
for line in open(steps):
    name, rc, secs = line.rstrip("\n").split("\t")
    row = {"name": name, "exit": rc if rc == "skipped" else int(rc), "seconds": int(secs)}
    path = os.path.join(work, name + ".out")
    text = open(path, errors="replace").read() if os.path.exists(path) else ""
    start = text.find("{") if name.startswith(("bench", "peer", "tune")) else text.find("[")
    if name == "devices":
        start = min([i for i in (text.find("["), text.find("{")) if i >= 0], default=-1)
    if start >= 0 and (name == "devices" or name.startswith(("bench", "peer", "tune"))):
        try:
            row["result"] = json.JSONDecoder().raw_decode(text[start:])[0]
        except ValueError:
            row["tail"] = text[-2000:]
    elif row["exit"] != 0:
        row["tail"] = text[-2000:]
    out["steps"].append(row)
out["failed"] = [r["name"] for r in out["steps"] if r["exit"] not in (0, 77, "skipped")]
out["skipped"] = [r["name"] for r in out["steps"] if r["exit"] in (77, "skipped")]
print(json.dumps(out, indent=2))
PY
say "== wrote $json and $log in $((SECONDS - start)) s"
failed=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["failed"]))' "$json" 2>/dev/null || echo "?")
[ -n "$failed" ] && say "== steps that failed: $failed"
[ -z "$failed" ]
