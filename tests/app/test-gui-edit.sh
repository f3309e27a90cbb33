#!/bin/bash
# The desktop app's editing under Xvfb, driven by its hidden --self-test-* options: unsaved
# edits are asked about before the window closes (and study.json stays as it was unless the
# answer is Save); a number typed into a spin button and not yet entered is what Save and Run
# use.
set -euo pipefail

. "$(dirname "$0")/gui-session.sh"
"$PY" - "$tmp" <<'PYEOF'
import os, random, sys
from PIL import Image
random.seed(5)
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
    | tee "$log"
}
new_study() {
  rm -rf "$1"
  "$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$1" --epochs 2 \
    --batch 8 --width 0.125 "${@:2}" > /dev/null
}
json_get() {
  "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1/study.json"
}

# 1. Unsaved edits: closing asks; Cancel keeps the window, Discard closes it, and neither
#    touches study.json; Save writes the edit.
new_study "$tmp/s1"
before=$(sha256sum < "$tmp/s1/study.json")
for answer in cancel discard save; do
  app "$tmp/close-$answer.log" --open-study "$tmp/s1" --self-test-screenshot "$tmp/close-$answer.png" \
    --self-test-set epochs=5 --self-test-close "$answer"
  grep -q '^self-test: close asked “Save changes to .* before closing?”' "$tmp/close-$answer.log"
  case $answer in
    cancel) grep -q '^self-test: window still open' "$tmp/close-$answer.log" ;;
    *) grep -q '^self-test: window closed' "$tmp/close-$answer.log" ;;
  esac
  if [ "$answer" = save ]; then
    [ "$(json_get "$tmp/s1" '["train"]["epochs"]')" = 5 ]
  else
    [ "$before" = "$(sha256sum < "$tmp/s1/study.json")" ]
  fi
done
# Nothing edited: closing does not ask.
app "$tmp/close-clean.log" --open-study "$tmp/s1" --self-test-screenshot "$tmp/close-clean.png" \
  --self-test-close cancel
grep -q '^self-test: close did not ask' "$tmp/close-clean.log"
grep -q '^self-test: window closed' "$tmp/close-clean.log"
echo "ok: unsaved edits are asked about"

# 2. Typed, not entered, then Save (Ctrl+S) or Run (Ctrl+R): the typed number is what counts.
new_study "$tmp/s2"
app "$tmp/type-save.log" --open-study "$tmp/s2" --self-test-screenshot "$tmp/type-save.png" \
  --self-test-type epochs=1 --self-test-type width=0.5 --self-test-activate win.save-study
[ "$(json_get "$tmp/s2" '["train"]["epochs"]')" = 1 ]
[ "$(json_get "$tmp/s2" '["train"]["width"]')" = 0.5 ]
new_study "$tmp/s2"
app "$tmp/type-run.log" --open-study "$tmp/s2" --self-test-screenshot "$tmp/type-run.png" \
  --self-test-type epochs=1 --self-test-run --self-test-stop
grep -q "^self-test: run " "$tmp/type-run.log"
[ "$(json_get "$tmp/s2" '["train"]["epochs"]')" = 1 ]
"$PY" - "$tmp/s2/runs/source-base/config.json" <<'PYEOF'
import json, sys
cfg = json.load(open(sys.argv[1]))
assert cfg["epochs"] == 1, f"trained with {cfg['epochs']} epochs, not the typed 1"
PYEOF
echo "ok: typed numbers are committed before Save and Run"

# 3. Export to a name without extension: the format's extension is added (what the chooser
#    hands over when the name is typed bare), and the window says where the file went.
new_study "$tmp/s3" --name "cats/dogs"
app "$tmp/export.log" --open-study "$tmp/s3" --self-test-screenshot "$tmp/export.png" \
  --self-test-export-plot "$tmp/s3/curves" --self-test-export-table "$tmp/s3/table"
[ -s "$tmp/s3/curves.png" ] && [ -s "$tmp/s3/table.csv" ]
head -c 8 "$tmp/s3/curves.png" | od -c | grep -q 'P   N   G'
grep -q "^self-test: info: Plot exported to $tmp/s3/curves.png$" "$tmp/export.log"
grep -q "^self-test: info: Table exported to $tmp/s3/table.csv$" "$tmp/export.log"
# Again: the name with its extension now exists, and the chooser only asked about the bare name.
before=$(sha256sum < "$tmp/s3/curves.png")
app "$tmp/export2.log" --open-study "$tmp/s3" --self-test-screenshot "$tmp/export2.png" \
  --self-test-export-plot "$tmp/s3/curves"
grep -q '^self-test: export asked “Replace “curves.png”?”, answered cancel' "$tmp/export2.log"
[ "$before" = "$(sha256sum < "$tmp/s3/curves.png")" ]
echo "ok: exports get their format's extension"

# 4. The run list follows edits: a finished run trained past the new epochs is outdated, with
#    the setting named; pending runs plan the new number; a run killed before its first
#    commit shows no best accuracy.
new_study "$tmp/s4"
"$CLI" study run "$tmp/s4" --only source-base > /dev/null
if GRAFT_FAULT_KILL=1:1 "$CLI" study run "$tmp/s4" --only target-base > /dev/null 2>&1; then
  echo "the fault point did not stop the run"; exit 1
fi
app "$tmp/outdated.log" --open-study "$tmp/s4" --self-test-screenshot "$tmp/outdated.png" \
  --self-test-set epochs=1
grep '^self-test: run row ' "$tmp/outdated.log" > "$tmp/rows.txt"
"$PY" - "$tmp/rows.txt" <<'PYEOF'
import sys
rows = {}
for line in open(sys.argv[1]):
    f = [x.strip() for x in line[len("self-test: run row "):].split("|")]
    if f[0] not in ("message", "run-button"):
        rows[f[0]] = f
print(rows)
sb = rows["source-base"]
assert sb[1] == "outdated", sb
assert "epochs" in sb[3] and sb[3].startswith("outdated: "), sb
assert "epochs" in sb[4], sb
assert sb[2] == "Epoch 2 of 1", sb
tb = rows["target-base"]
assert tb[1] == "interrupted", tb
assert "best val. acc." not in tb[3], tb
for rid, f in rows.items():
    if rid not in ("source-base", "target-base"):
        assert f[1] == "pending" and f[2] == "Epoch 0 of 1", f
        assert "best" not in f[3], f
PYEOF
# The Run button says what it will do with outdated runs.
grep -q '^self-test: run button label Retrain Changed Runs$' "$tmp/outdated.log"
grep -q '^self-test: run row run-button | enabled | 1 run was trained with settings since changed' \
  "$tmp/outdated.log"
grep -q '^self-test: run button label Run Study$' "$tmp/type-save.log"
echo "ok: the run list re-reads the runs after edits"

# 5. A target folder that does not exist: Run is refused before any run starts, and the window
#    names the folder.
new_study "$tmp/s5"
mv "$tmp/dst" "$tmp/dst-moved"
app "$tmp/invalid.log" --open-study "$tmp/s5" --self-test-screenshot "$tmp/invalid.png" \
  --self-test-activate win.run-study
mv "$tmp/dst-moved" "$tmp/dst"
grep -q "^self-test: run row run-button | disabled | .*$tmp/dst does not exist" "$tmp/invalid.log"
grep -q "^self-test: run row message | .*$tmp/dst" "$tmp/invalid.log"
[ -z "$(ls -A "$tmp/s5/runs")" ]
echo "ok: Run refuses a missing target folder"

# 6. GNOME conventions: the icon resolves from the resource, Ctrl+W, Ctrl+? and F10 exist and
#    the Keyboard Shortcuts window lists the accelerators the actions have; Width keeps 0.125;
#    the header's device name is short.
new_study "$tmp/s6"
app "$tmp/gnome.log" --open-study "$tmp/s6" --self-test-screenshot "$tmp/gnome.png" \
  --self-test-activate win.show-help-overlay
grep -q '^self-test: icon org.graft.Graft found' "$tmp/gnome.log"
grep -q '^self-test: spin width=0.125$' "$tmp/gnome.log"
grep -q '^self-test: primary menu F10$' "$tmp/gnome.log"
grep -q '^self-test: accel window.close <Control>w$' "$tmp/gnome.log"
grep -q '^self-test: accel win.show-help-overlay .*<Control>question' "$tmp/gnome.log"
grep -q '^self-test: accel app.quit <Control>q$' "$tmp/gnome.log"
"$PY" - "$tmp/gnome.log" <<'PYEOF'
import sys
accels, help_actions = {}, set()
for line in open(sys.argv[1]):
    if line.startswith("self-test: accel "):
        action, _, keys = line[len("self-test: accel "):].strip().partition(" ")
        if keys:
            accels[action] = keys
    elif line.startswith("self-test: help shortcut "):
        action = line[len("self-test: help shortcut "):].split("|")[0].strip()
        help_actions.add(action)
missing = sorted(a for a in accels if a not in help_actions)
assert not missing, f"accelerators missing from the Keyboard Shortcuts window: {missing}"
assert "F10" in open(sys.argv[1]).read()
print("accelerators:", accels)
PYEOF
[ -s "$tmp/gnome.png.help.png" ]
echo "ok: icon, accelerators, shortcuts window, width digits"

# 7. 800×600: the window opens at that size and every wide widget lies inside it (a long study
#    name, the plot's controls and the editor's grid used to hold it at over 1000 px).
new_study "$tmp/s7" --name "A study with a rather long name for its title"
app "$tmp/narrow.log" --open-study "$tmp/s7" --self-test-screenshot "$tmp/narrow.png" \
  --self-test-size 800x600
size=$(sed -n 's/^self-test: screenshot .* \([0-9]*\)x\([0-9]*\), .*/\1 \2/p' "$tmp/narrow.log")
read -r w h <<< "$size"
[ "$w" -le 800 ] && [ "$h" -le 600 ] || { echo "window shown at ${w}x${h}"; exit 1; }
grep -q '^self-test: fit ' "$tmp/narrow.log"
if grep '^self-test: fit .* OUTSIDE$' "$tmp/narrow.log"; then
  echo "widgets wider than the window"; exit 1
fi
echo "ok: the window works at 800x600"
# 8. Seeds: "1, 2" in the editor is saved as study.json's "seeds" and the run list shows every
#    run once per seed ("<id>-seed<N>"); a list with a duplicate is refused next to the field
#    and Save and Run refuse it, leaving study.json as it was.
new_study "$tmp/s8"
n_runs=$(json_get "$tmp/s8" '["runs"].__len__()')
app "$tmp/seeds.log" --open-study "$tmp/s8" --self-test-screenshot "$tmp/seeds.png" \
  --self-test-set "seeds=1, 2" --self-test-activate win.save-study
grep -q '^self-test: set seeds=1, 2, shows “1, 2”' "$tmp/seeds.log"
[ "$(json_get "$tmp/s8" '["seeds"]')" = "[1, 2]" ]
n_rows=$(grep -c '^self-test: run row [a-z0-9-]*-seed[12] |' "$tmp/seeds.log")
[ "$n_rows" = $((2 * n_runs)) ] || { echo "$n_rows rows for $n_runs runs × 2 seeds"; exit 1; }
grep -q '^self-test: run row source-base-seed2 | pending |' "$tmp/seeds.log"
app "$tmp/seeds-bad.log" --open-study "$tmp/s8" --self-test-screenshot "$tmp/seeds-bad.png" \
  --self-test-set "seeds=3, 3" --self-test-activate win.save-study
grep -q '^self-test: seeds error Seed 3 is listed twice$' "$tmp/seeds-bad.log"
grep -q '^self-test: run row run-button | disabled | Seeds: Seed 3 is listed twice' "$tmp/seeds-bad.log"
[ "$(json_get "$tmp/s8" '["seeds"]')" = "[1, 2]" ]
echo "ok: seeds are edited, saved and expanded in the run list"
# 9. A seed sweep's plot: curves have bands (min–max by default), "None" in the Band dropdown
#    draws none and the export uses the same choice; a study without seeds cannot choose one.
grep -q '^self-test: plot [0-9]* series, 0 with bands, band choice 0 insensitive$' "$tmp/gnome.log"
rm -rf "$tmp/s9"
"$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s9" --epochs 1 \
  --batch 8 --width 0.125 --seeds 1,2 > /dev/null
for seed in 1 2; do
  "$CLI" study run "$tmp/s9" --only "target-base-seed$seed" > /dev/null
done
app "$tmp/bands.log" --open-study "$tmp/s9" --self-test-screenshot "$tmp/bands.png" \
  --self-test-export-plot "$tmp/bands-minmax.png"
# The baseline's curve, in each panel.
grep -Eq '^self-test: plot ([1-9][0-9]*) series, \1 with bands, band choice 0 sensitive$' \
  "$tmp/bands.log"
app "$tmp/nobands.log" --open-study "$tmp/s9" --self-test-screenshot "$tmp/nobands.png" \
  --self-test-set band=2 --self-test-export-plot "$tmp/bands-none.png"
grep -q '^self-test: set band=2, selected 2$' "$tmp/nobands.log"
grep -Eq '^self-test: plot [1-9][0-9]* series, 0 with bands, band choice 2 sensitive$' \
  "$tmp/nobands.log"
[ -s "$tmp/bands-minmax.png" ] && [ -s "$tmp/bands-none.png" ]
! cmp -s "$tmp/bands-minmax.png" "$tmp/bands-none.png"
echo "ok: the Band dropdown sets the sweep's bands, on screen and in the export"
# 10. ONNX: a trained run's row offers the export; the file written is the ModelProto that
#     graft-cli export --onnx writes from the same best checkpoint, byte for byte; a run not
#     trained yet is refused with a message.
app "$tmp/onnx.log" --open-study "$tmp/s9" --self-test-screenshot "$tmp/onnx.png" \
  --self-test-export-onnx "target-base-seed1=$tmp/model"
grep -q '^self-test: exports offered: target-base-seed1 target-base-seed2$' "$tmp/onnx.log"
grep -q "^self-test: banner info: ONNX model exported to $tmp/model.onnx$" "$tmp/onnx.log"
"$CLI" export --onnx "$tmp/cli.onnx" "$tmp/s9/runs/target-base-seed1/best.safetensors" > /dev/null
cmp "$tmp/model.onnx" "$tmp/cli.onnx"
# ModelProto: field 1 (ir_version, varint) first, then the producer name.
[ "$(head -c 1 "$tmp/model.onnx" | od -An -tx1 | tr -d ' ')" = 08 ]
grep -q graft "$tmp/model.onnx"
app "$tmp/onnx-bad.log" --open-study "$tmp/s9" --self-test-screenshot "$tmp/onnx-bad.png" \
  --self-test-export-onnx "source-base-seed1=$tmp/none.onnx"
grep -q '^self-test: banner error: Cannot export run source-base-seed1: it has no best checkpoint' \
  "$tmp/onnx-bad.log"
[ ! -e "$tmp/none.onnx" ]
echo "ok: ONNX export of a run's best checkpoint"
