#!/bin/bash
# The study editor's experiment list under Xvfb, driven by --self-test-editor steps (the
# editor's actions and widgets, as clicks would use them): New offers an empty study; an
# experiment added to an empty study, with its layers chosen, is saved to study.json;
# duplicate and rename (the runs that start from a renamed run follow); an invalid id is
# refused with a message; removing a run others start from asks, naming them; the re-init
# presets are the reference study's experiment names; the layer checklist lists the model's
# layers in network order, one per line; an edit to a trained experiment makes it outdated.
# GRAFT_DOCS_SCREENSHOTS=DIR also writes study-editor.png and layer-checklist.png there.
set -euo pipefail

. "$(dirname "$0")/gui-session.sh"
"$PY" - "$tmp" <<'PYEOF'
import os, random, sys
from PIL import Image
random.seed(7)
for root, classes in (("src", "abc"), ("dst", "xy")):
    for ci, c in enumerate(classes):
        os.makedirs(os.path.join(sys.argv[1], root, c))
        for i in range(8):
            rgb = tuple(200 if k == ci else random.randint(0, 120) for k in range(3))
            Image.new("RGB", (32, 32), rgb).save(os.path.join(sys.argv[1], root, c, f"{i}.jpg"))
PYEOF

export GRAFT_IMAGE_CACHE="$tmp/cache/images"

# app LOG ARGS…: the app on a fresh Xvfb; its output goes to LOG and to the test log.
app() {
  local log=$1
  shift
  timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" dbus-run-session -- "$APP" "$@" 2>&1 \
    | grep -v '^self-test: \(accel\|help shortcut\|spin\) ' | tee "$log"
}
demo_study() {
  rm -rf "$1"
  "$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$1" --epochs 1 \
    --batch 8 --width 0.125 > /dev/null
}
# The reference study's runs, as the engine's paper preset writes them.
"$CLI" study new --preset paper --source "$tmp/src" --target "$tmp/dst" --out "$tmp/paper" \
  > /dev/null

# 1. New → Empty Study: no experiments, an empty state that offers to add one, and Run
#    disabled with the reason.
app "$tmp/new.log" --self-test-screenshot "$tmp/new.png" --self-test-editor win.new-study::empty
grep -q '^self-test: editor step win.new-study::empty: done$' "$tmp/new.log"
grep -q '^self-test: editor empty state shown$' "$tmp/new.log"
! grep -q '^self-test: editor row ' "$tmp/new.log"
grep -q '^self-test: run row run-button | disabled | Nothing to run yet: add an experiment' \
  "$tmp/new.log"
echo "ok: New offers an empty study"

# 2. An empty study.json (written here, not by Graft) opens; an experiment is added, its
#    layers chosen by preset and then one by one, and Save writes it.
mkdir -p "$tmp/e/runs"
"$PY" - "$tmp" <<'PYEOF'
import json, sys
t = sys.argv[1]
json.dump({"format": 1, "name": "mine", "source": f"{t}/src", "target": f"{t}/dst",
           "train": {"epochs": 1, "batch": 8, "width": 0.125, "image_size": 32},
           "runs": []}, open(f"{t}/e/study.json", "w"))
PYEOF
app "$tmp/add.log" --open-study "$tmp/e" --self-test-screenshot "$tmp/add.png" \
  --self-test-editor add --self-test-editor preset:experiment-2:2 \
  --self-test-editor freeze:experiment-2:0 --self-test-editor win.save-study
grep -q '^self-test: editor empty state hidden$' "$tmp/add.log"
grep -q '^self-test: editor row experiment-2 | 2 · Experiment 2 | experiment-2 · target data, weights from source-base | 3-first-conv2d & output | Frozen$' "$tmp/add.log"
"$PY" - "$tmp" <<'PYEOF'
import json, sys
t = sys.argv[1]
s = json.load(open(f"{t}/e/study.json"))
paper = json.load(open(f"{t}/paper/study.json"))
want = next(r["reinit"] for r in paper["runs"] if r["name"] == "3-first-conv2d & output")
runs = {r["id"]: r for r in s["runs"]}
assert [r["id"] for r in s["runs"]] == ["source-base", "experiment-2"], s["runs"]
assert s["base"] == "source-base", s
assert runs["source-base"]["data"] == "source" and "from" not in runs["source-base"], runs
e = runs["experiment-2"]
assert e["data"] == "target" and e["from"] == "source-base", e
assert e["reinit"] == want, (e["reinit"], want)
assert e["freeze"] == "transferred", e
PYEOF
app "$tmp/custom.log" --open-study "$tmp/e" --self-test-screenshot "$tmp/custom.png" \
  --self-test-editor layers:experiment-2:conv2d,separable_conv2d_3,dense \
  --self-test-editor add --self-test-editor preset:experiment-3:1 \
  --self-test-editor win.save-study --self-test-editor show-layers:experiment-2
grep -q '^self-test: editor row experiment-2 | .* | Custom | Frozen$' "$tmp/custom.log"
"$PY" -c "
import json, sys
r = json.load(open(sys.argv[1]))['runs'][1]
assert r['reinit'] == ['conv2d', 'separable_conv2d_3', 'dense'], r
" "$tmp/e/study.json"
echo "ok: an experiment added to an empty study is saved with its layers"

# 3. The re-init choices are the reference study's experiment names, plus None and Custom.
want=$("$PY" -c "
import json, sys
names = []
for r in json.load(open(sys.argv[1]))['runs']:
    if 'from' in r and r['name'] not in names:
        names.append(r['name'])
print(' | '.join(['None'] + names + ['Custom']))
" "$tmp/paper/study.json")
got=$(sed -n 's/^self-test: editor presets //p' "$tmp/custom.log")
echo "presets offered: $got; reference experiments: $want"
[ "$got" = "$want" ]
echo "ok: preset labels are the experiment names"

# 4. The checklist: the model's layers with weights in network order (graft-cli model summary
#    is the reference), with kind, output shape and parameters, in one column read top down.
"$CLI" model summary --image-size 32 --width 0.125 > "$tmp/summary.txt"
"$PY" - "$tmp/summary.txt" "$tmp/custom.log" <<'PYEOF'
import re, sys
ref = []
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) \((Conv2D|SeparableConv2D|Dense)\)\s+\(None, ([0-9, ]+)\)\s+([0-9,]+)", line)
    if m:
        dims = [d.strip() for d in m.group(3).split(",")]
        ref.append((m.group(1), m.group(2), " × ".join(dims), m.group(4)))
rows = []
for line in open(sys.argv[2]):
    if line.startswith("self-test: checklist "):
        f = [x.strip() for x in line[len("self-test: checklist "):].split("|")]
        x, y = map(float, f[6].split())
        rows.append((f[0], f[1], f[2], f[3], f[5], x, y))
assert [r[:4] for r in rows] == ref, f"checklist {[r[:4] for r in rows]}\nmodel {ref}"
# Read in network order: each next layer is below the one before in the same column, or
# starts a column to its right.
for a, b in zip(rows, rows[1:]):
    assert (b[5] == a[5] and b[6] > a[6]) or b[5] > a[5], f"{b[0]} at {b[5:]} after {a[0]} at {a[5:]}"
ticked = [r[0] for r in rows if r[4] == "ticked"]
assert ticked == ["conv2d", "separable_conv2d_3", "dense"], ticked
print(f"ok: {len(rows)} layers in network order")
PYEOF
[ -s "$tmp/custom.png.layers.png" ]
echo "ok: the checklist reads in network order"

# 5. Duplicate, then rename the copy; rename the base run: the runs that start from it follow,
#    and its folder moves to the new id when the study is saved.
demo_study "$tmp/d"
mkdir -p "$tmp/d/runs/source-base"
echo "trained before" > "$tmp/d/runs/source-base/marker"
app "$tmp/dup.log" --open-study "$tmp/d" --self-test-screenshot "$tmp/dup.png" \
  --self-test-editor duplicate:only-output-frozen \
  --self-test-editor "rename:only-output-frozen-copy:mine-frozen:my layers, frozen" \
  --self-test-editor layers:mine-frozen:conv2d,separable_conv2d_6,dense \
  --self-test-editor "rename:source-base:fm8-base" --self-test-editor win.save-study
grep -q '^self-test: editor rename only-output-frozen-copy to mine-frozen: renamed$' "$tmp/dup.log"
grep -q "^trained before$" "$tmp/d/runs/fm8-base/marker"
[ ! -e "$tmp/d/runs/source-base" ]
grep -q '^self-test: editor row mine-frozen | 2 · my layers, frozen | mine-frozen · target data, weights from fm8-base | Custom | Frozen$' "$tmp/dup.log"
grep -q '^self-test: run row mine-frozen | pending |' "$tmp/dup.log"
"$PY" - "$tmp/d/study.json" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
ids = [r["id"] for r in s["runs"]]
assert ids[:4] == ["fm8-base", "target-base", "only-output-frozen", "mine-frozen"], ids
assert s["base"] == "fm8-base", s["base"]
runs = {r["id"]: r for r in s["runs"]}
m = runs["mine-frozen"]
assert m["name"] == "my layers, frozen" and m["freeze"] == "transferred", m
assert m["reinit"] == ["conv2d", "separable_conv2d_6", "dense"], m
for r in s["runs"]:
    if "from" in r:
        assert r["from"] == "fm8-base", r
PYEOF
echo "ok: duplicate and rename"

# 6. Invalid ids are refused next to the field, and nothing changes.
demo_study "$tmp/r"
before=$(sha256sum < "$tmp/r/study.json")
app "$tmp/bad.log" --open-study "$tmp/r" --self-test-screenshot "$tmp/bad.png" \
  --self-test-editor "rename:only-output-frozen:Only Output" \
  --self-test-editor "rename:only-output-frozen:target-base" \
  --self-test-editor "rename:only-output-frozen:" \
  --self-test-editor "rename:only-output-frozen:.hidden" \
  --self-test-editor win.save-study
grep -q '^self-test: editor rename only-output-frozen to Only Output: refused, says The id “Only Output” may hold only a–z, 0–9, “-”, “_” and “.”$' "$tmp/bad.log"
grep -q '^self-test: editor rename only-output-frozen to target-base: refused, says Another run already has the id “target-base”$' "$tmp/bad.log"
grep -q '^self-test: editor rename only-output-frozen to : refused, says The id is empty' "$tmp/bad.log"
grep -q '^self-test: editor rename only-output-frozen to .hidden: refused, says The id “.hidden” starts with “.”$' "$tmp/bad.log"
grep -q '^self-test: editor row only-output-frozen | ' "$tmp/bad.log"
[ "$before" = "$(sha256sum < "$tmp/r/study.json")" ]
echo "ok: invalid ids are refused with a message"

# 7. Removing the base asks and names the runs that start from it; Cancel keeps everything,
#    Remove takes them all; a run nothing starts from goes without a question.
app "$tmp/rm-no.log" --open-study "$tmp/r" --self-test-screenshot "$tmp/rm-no.png" \
  --self-test-editor remove:source-base:no
grep -q '^self-test: editor asked “Remove “source-base” and the runs that start from it?” ““only-output-frozen”, “only-output-trainable”, “3-first-conv2d-output-frozen”, “3-first-conv2d-output-trainable”, “2-last-conv2d-output-frozen” and “2-last-conv2d-output-trainable” start from its weights and would be removed too. Run folders already trained stay on disk.”, answered no$' "$tmp/rm-no.log"
[ "$(grep -c '^self-test: editor row ' "$tmp/rm-no.log")" = 8 ]
app "$tmp/rm-yes.log" --open-study "$tmp/r" --self-test-screenshot "$tmp/rm-yes.png" \
  --self-test-editor remove:source-base:yes --self-test-editor win.save-study \
  --self-test-editor remove:target-base:yes
grep -q '^self-test: editor asked “Remove “source-base” and the runs that start from it?”' \
  "$tmp/rm-yes.log"
grep -q '^self-test: editor removed target-base without asking$' "$tmp/rm-yes.log"
grep -q '^self-test: editor empty state shown$' "$tmp/rm-yes.log"
"$PY" -c "
import json, sys
s = json.load(open(sys.argv[1]))
assert [r['id'] for r in s['runs']] == ['target-base'], s['runs']
assert 'base' not in s and s['baseline'] == 'target-base', s
" "$tmp/r/study.json"
echo "ok: removing a run others start from asks, naming them"

# 8. Editing a trained experiment: its run is outdated, naming the layers, and its dependants'
#    state follows the engine's rule.
demo_study "$tmp/o"
"$CLI" study run "$tmp/o" --only source-base > /dev/null
"$CLI" study run "$tmp/o" --only only-output-frozen > /dev/null
app "$tmp/outdated.log" --open-study "$tmp/o" --self-test-screenshot "$tmp/outdated.png" \
  --self-test-editor preset:only-output-frozen:2
grep -q '^self-test: run row only-output-frozen | outdated | .*reinit_layers' "$tmp/outdated.log"
grep -q '^self-test: run row source-base | finished |' "$tmp/outdated.log"
echo "ok: an edited trained experiment is outdated"

if [ -n "${GRAFT_DOCS_SCREENSHOTS:-}" ]; then
  mkdir -p "$GRAFT_DOCS_SCREENSHOTS"
  cp "$tmp/custom.png" "$GRAFT_DOCS_SCREENSHOTS/study-editor.png"
  cp "$tmp/custom.png.layers.png" "$GRAFT_DOCS_SCREENSHOTS/layer-checklist.png"
  echo "screenshots written to $GRAFT_DOCS_SCREENSHOTS"
fi
