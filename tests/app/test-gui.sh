#!/bin/bash
# The desktop app under Xvfb: opens a study whose runs were trained here, renders its
# window into a PNG and quits; the PNG is decoded independently and must be the window's size,
# not blank, and show the plot palette's curve colours.
set -euo pipefail

. "$(dirname "$0")/gui-session.sh"
mkdir -p "$tmp/src" "$tmp/dst"

"$PY" - "$tmp" <<'PYEOF'
import os, random, sys
from PIL import Image
random.seed(11)
for root, classes in (("src", "abc"), ("dst", "xy")):
    for ci, c in enumerate(classes):
        os.makedirs(os.path.join(sys.argv[1], root, c), exist_ok=True)
        for i in range(12):
            im = Image.new("RGB", (36, 36))
            im.putdata([tuple(min(255, random.randint(0, 140) + 100 * (k == ci)) for k in range(3))
                         for _ in range(36 * 36)])
            im.save(os.path.join(sys.argv[1], root, c, f"{i}.jpg"))
PYEOF
"$CLI" study new --preset demo --source "$tmp/src" --target "$tmp/dst" --out "$tmp/s" --epochs 8 \
  --batch 8 --width 0.125 > /dev/null
export GRAFT_IMAGE_CACHE="$tmp/cache/images"
# Trained runs: all finished but one never started and one interrupted after 3 epochs (a kill
# in its fourth epoch's commit).
"$CLI" study run "$tmp/s" > /dev/null
rm -rf "$tmp/s/runs/2-last-conv2d-output-trainable" "$tmp/s/runs/3-first-conv2d-output-trainable"
if GRAFT_FAULT_KILL=4:1 "$CLI" study run "$tmp/s" --only 3-first-conv2d-output-trainable > /dev/null; then
  echo "the fault point did not stop the run"; exit 1
fi
"$CLI" study status "$tmp/s" | grep -E '^3-first-conv2d-output-trainable +trainable +running +3/8'

shot="${GRAFT_GUI_SCREENSHOT:-$tmp/window.png}"
timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" \
  dbus-run-session -- "$APP" --open-study "$tmp/s" --self-test-screenshot "$shot" \
  2>&1 | tee "$tmp/app.log"
grep -q "self-test: screenshot" "$tmp/app.log"
# 7 runs have metrics: 4 frozen-panel curves (3 frozen + baseline) and 3 trainable-panel ones.
grep -q ", 7 plot series" "$tmp/app.log"

size=$(sed -n 's/^self-test: screenshot .* \([0-9]*x[0-9]*\), .*/\1/p' "$tmp/app.log")
"$PY" - "$shot" "$size" <<'PYEOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, chunks = 8, {}
idat = b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
ew, eh = map(int, sys.argv[2].split("x"))
assert (w, h) == (ew, eh), f"PNG is {w}x{h}, the window {ew}x{eh}"
# The default size is 1280x800, less what the window frame takes.
assert w >= 1200 and h >= 720, f"window shown at only {w}x{h}"
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 4 if ctype == 6 else 3
raw = zlib.decompress(idat)
stride = w * bpp
rows, prev = [], bytearray(stride)
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line))
    prev = line
colours = {}
for line in rows:
    for x in range(0, stride, bpp):
        px = line[x:x + 3]
        colours[px] = colours.get(px, 0) + 1
top = max(colours.values())
assert len(colours) > 200, f"only {len(colours)} colours: the window looks blank"
assert top < 0.9 * w * h, "one colour covers 90% of the window"
# matplotlib tab10 blue, green and red: the three experiments' curves.
for name, rgb in (("blue", (0x1f, 0x77, 0xb4)), ("green", (0x2c, 0xa0, 0x2c)),
                  ("red", (0xd6, 0x27, 0x28))):
    near = sum(c for px, c in colours.items() if all(abs(px[i] - rgb[i]) <= 12 for i in range(3)))
    assert near >= 50, f"the {name} curve is missing ({near} pixels)"
print(f"ok: {w}x{h}, {len(colours)} colours")
PYEOF

# The layer checklist of a transfer run: its "2 last conv. & output" preset must tick exactly
# the layers the study preset lists for that experiment, and the edit must stay unsaved.
before=$(sha256sum "$tmp/s/study.json")
timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" \
  dbus-run-session -- "$APP" --open-study "$tmp/s" --self-test-screenshot "$tmp/layers.png" \
  --self-test-layers only-output-frozen 2>&1 | tee "$tmp/layers.log"
got=$(sed -n 's/^self-test: only-output-frozen re-initialises //p' "$tmp/layers.log")
want=$("$PY" -c "import json,sys; r=[r for r in json.load(open(sys.argv[1]))['runs'] if r['id']=='2-last-conv2d-output-frozen'][0]; print(','.join(r['reinit']))" "$tmp/s/study.json")
echo "checklist preset: $got; study preset: $want"
[ -n "$got" ] && [ "$got" = "$want" ]
[ -s "$tmp/layers.png.layers.png" ]
[ "$before" = "$(sha256sum "$tmp/s/study.json")" ]
echo "ok: layer checklist"
