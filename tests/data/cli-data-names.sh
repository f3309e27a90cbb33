#!/bin/bash
# dataset scan --json on file and class names that are not plain UTF-8 text: the output parses
# as JSON and every name round-trips through its *_bytes field.
set -euo pipefail
cli="$GRAFT_BUILD_ROOT/cli/graft-cli"
py=/usr/bin/python3
if ! "$py" -c 'import PIL' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 with PIL is not available"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GRAFT_IMAGE_CACHE="$tmp/cache"

# Names made with Python so that the bytes are exact; PIL writes the JPEGs.
"$py" - "$tmp/ds" <<'PY'
import os, sys
from PIL import Image
root = os.fsencode(sys.argv[1])
classes = [b"caf\xe9 latin1", b'say "cheese", ok', b"new\nline"]
files = [b"plain.jpg", b"bad \xff\xfe utf8.jpg", b'quote " and , comma.jpg', b"line\nbreak.jpg",
         b"tab\there.jpg"]
for k, c in enumerate(classes):
    d = os.path.join(root, c)
    os.makedirs(d)
    for i, f in enumerate(files):
        Image.new("RGB", (16 + i, 12), (40 * k, 30 * i, 99)).save(os.path.join(d, f), "JPEG")
        # A damaged twin, so that the name also shows up among the skipped files.
        with open(os.path.join(d, b"broken " + f), "wb") as out:
            out.write(b"not a jpeg at all")
PY

"$cli" dataset scan "$tmp/ds" --json > "$tmp/scan.json"
"$py" - "$tmp/ds" "$tmp/scan.json" <<'PY'
import base64, json, os, sys
root = os.fsencode(sys.argv[1])
raw = open(sys.argv[2], "rb").read()
raw.decode("utf-8")                      # strict: no raw bytes may leak into the JSON
doc = json.loads(raw)
def b(x): return base64.b64decode(x)
assert os.path.realpath(b(doc["dir_bytes"])) == os.path.realpath(root), doc["dir"]
want_classes = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
got_classes = [b(c["name_bytes"]) for c in doc["classes"]]
assert got_classes == want_classes, (got_classes, want_classes)
for c in doc["classes"]:
    assert c["name"] == b(c["name_bytes"]).decode("utf-8", "replace"), c
    assert c["count"] == 5, c
skipped = sorted(b(s["path_bytes"]) for s in doc["skipped"])
want_skipped = sorted(os.path.join(os.path.realpath(root), c, f)
                      for c in want_classes for f in os.listdir(os.path.join(root, c))
                      if f.startswith(b"broken "))
assert skipped == want_skipped, (skipped, want_skipped)
for s in doc["skipped"]:
    assert os.path.exists(b(s["path_bytes"])), s
    assert s["path"] == b(s["path_bytes"]).decode("utf-8", "replace"), s
assert doc["usable"] == 15 and doc["candidates"] == 30, doc
print("json ok:", len(doc["classes"]), "classes,", len(doc["skipped"]), "skipped")
PY
echo ok
