#!/bin/bash
# The desktop app trains a whole demo study under Xvfb (Run Study, worker thread, live
# progress) on a tiny generated dataset; the run folders it leaves are then checked with
# Python: Stop leaves a run stopped, a second Run resumes it; every run finished, one metrics.csv
# row per epoch (none repeated by the resume), and the transfer runs' configs
# carry the editor's re-init lists and freeze choices from study.json.
set -euo pipefail

. "$(dirname "$0")/gui-session.sh"
if ! "$CLI" devices --json | "$PY" -c "import json,sys; sys.exit(0 if json.load(sys.stdin) else 1)"; then
  echo "SKIP: no OpenCL device"
  exit 77
fi

"$PY" - "$tmp" <<'PYEOF'
import os, random, sys
from PIL import Image
random.seed(7)
for root, classes in (("src", "abc"), ("dst", "xy")):
    for ci, c in enumerate(classes):
        os.makedirs(os.path.join(sys.argv[1], root, c))
        for i in range(16):
            rgb = tuple(200 if k == ci else random.randint(0, 120) for k in range(3))
            Image.new("RGB", (36, 36), rgb).save(os.path.join(sys.argv[1], root, c, f"{i}.jpg"))
PYEOF
"$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" --epochs 2 \
  >/dev/null

# Stop after the first finished epoch: the queue ends early and leaves runs to resume.
timeout 280 xvfb-run -a -s "-screen 0 1600x1000x24" \
  dbus-run-session -- "$APP" --open-study "$tmp/s" --self-test-screenshot "$tmp/stopped.png" \
  --self-test-run --self-test-stop 2>&1 | tee "$tmp/stop.log"
grep -q "self-test: run ended: Stopped" "$tmp/stop.log"
"$PY" - "$tmp/s" <<'PYEOF'
import json, os, sys
runs = json.load(open(os.path.join(sys.argv[1], "study.json")))["runs"]
states = []
for r in runs:
    p = os.path.join(sys.argv[1], "runs", r["id"], "run.json")
    states.append(json.load(open(p))["status"] if os.path.exists(p) else "pending")
print("after stop:", states)
assert states.count("finished") < len(runs), "Stop did not stop the queue"
assert "stopped" in states, "no run was left stopped"
PYEOF

# Run again: the stopped run resumes and every run finishes.
timeout 280 xvfb-run -a -s "-screen 0 1600x1000x24" \
  dbus-run-session -- "$APP" --open-study "$tmp/s" --self-test-screenshot "$tmp/window.png" \
  --self-test-run 2>&1 | tee "$tmp/app.log"
grep -q "self-test: run finished: Done: " "$tmp/app.log"
grep -q ", 8 plot series" "$tmp/app.log"

"$PY" - "$tmp/s" <<'PYEOF'
import csv, json, os, sys
study = sys.argv[1]
spec = json.load(open(os.path.join(study, "study.json")))
for r in spec["runs"]:
    d = os.path.join(study, "runs", r["id"])
    status = json.load(open(os.path.join(d, "run.json")))
    assert status["status"] == "finished", (r["id"], status)
    rows = list(csv.DictReader(open(os.path.join(d, "metrics.csv"))))
    assert [int(x["epoch"]) for x in rows] == [1, 2], (r["id"], rows)
    cfg = json.load(open(os.path.join(d, "config.json")))
    assert (cfg.get("reinit_layers") or []) == r.get("reinit", []), (r["id"], cfg)
    frozen = r.get("freeze", "none") == "transferred"
    assert (cfg.get("freeze_layers") or []) == (["transferred"] if frozen else []), (r["id"], cfg)
    want = os.path.join(study, "runs", r["from"], "best.safetensors") if r.get("from") else None
    assert (cfg.get("init_checkpoint") or None) == want, (r["id"], cfg)
print("ok: 8 runs finished with 2 epochs each")
PYEOF
