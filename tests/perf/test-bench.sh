#!/bin/bash
# graft-cli bench end to end on a tiny network: its --json output parses and holds sane numbers.
set -euo pipefail
cli="$GRAFT_BUILD_ROOT/cli/graft-cli"
py=/usr/bin/python3
[ -x "$py" ] || { echo "SKIP: /usr/bin/python3 is missing"; exit 77; }
if ! "$cli" devices --json 2>/dev/null | "$py" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin) else 1)'; then
  echo "SKIP: no OpenCL device"
  exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$cli" bench --image-size 32 --batch 2 --width 0.125 --iterations 3 --json > "$out"
"$py" - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["image_size"] == 32 and r["batch"] == 2 and r["iterations"] == 3, r
for phase in ("train", "infer", "frozen_train"):
    p = r[phase]
    assert p["images_per_s"] > 0, (phase, p)
    # Throughput and spread come from the per-step times, median first.
    steps = sorted(p["step_seconds"])
    assert len(steps) == 3 and steps[0] > 0, (phase, steps)
    assert p["seconds_per_step"] == steps[1], (phase, p["seconds_per_step"], steps)
    assert abs(p["images_per_s"] - 2 / steps[1]) < 1e-6 * p["images_per_s"], phase
    assert abs(p["spread"] - (steps[2] - steps[0]) / steps[1]) < 1e-9, phase
    ops = {o["op"]: o for o in p["ops"]}
    assert "conv2d-fwd-gemm" in ops, (phase, sorted(ops))
    assert abs(sum(o["share"] for o in p["ops"]) - 1.0) < 1e-6, phase
# A training step runs the backward ops and Adam; inference runs neither.
assert "adam_update" in {o["op"] for o in r["train"]["ops"]}
assert not any(o["op"].endswith("backward") or o["op"] == "adam_update" for o in r["infer"]["ops"])
assert r["full_over_frozen_step_time"] > 0
assert r["model_device_bytes"] > 0 and r["peak_rss_mb"] > 0
assert r["fma_peak_gflops"] > 0, r["fma_peak_gflops"]
# The FMA rate's slowest sample between the phases, at most its fastest.
assert 0 < r["fma_low_gflops"] <= r["fma_peak_gflops"], (r["fma_low_gflops"], r["fma_peak_gflops"])
# The GEMM rates rest on FLOP counts, which must be the network's: rate × time per step gives
# them back exactly, against a count by hand of this network's products, 2·pixels·K·N per
# image (keras-cnn at 32×32, width 0.125: 16, 32, 64, 91, 128 channels; the 1×1 residual
# convolutions; the dense layer to one unit).
products = [(16 * 16, 27, 16),                       # conv2d, 3×3 of 3 channels, stride 2
            (16 * 16, 16, 32), (16 * 16, 32, 32), (8 * 8, 16, 32),
            (8 * 8, 32, 64), (8 * 8, 64, 64), (4 * 4, 32, 64),
            (4 * 4, 64, 91), (4 * 4, 91, 91), (2 * 2, 64, 91),
            (2 * 2, 91, 128), (1, 128, 1)]
fwd = 2 * sum(2 * p * k * n for p, k, n in products)   # batch 2
first = 2 * 2 * products[0][0] * products[0][1] * products[0][2]
want = {"train": {"conv2d-fwd-gemm": fwd, "conv2d-dw-gemm": fwd, "conv2d-dx-gemm": fwd - first},
        "infer": {"conv2d-fwd-gemm": fwd},
        "frozen_train": {"conv2d-fwd-gemm": fwd, "conv2d-dw-gemm": 2 * 2 * 128}}
for phase, ops in want.items():
    got = {o["op"]: o["gflops"] * o["ms_per_step"] * 1e6 for o in r[phase]["ops"] if "gflops" in o}
    assert set(got) == set(ops), (phase, got, ops)
    for op, flops in ops.items():
        assert abs(got[op] - flops) < 1e-6 * flops, (phase, op, got[op], flops)
print("bench JSON ok:", r["train"]["images_per_s"], "train images/s")
PY
