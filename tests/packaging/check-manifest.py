#!/usr/bin/env python3
"""The Flatpak manifests parse, pin every download, and the test manifest is the Flathub one
with only the runtime and the OpenCL pieces taken from the test runtime instead."""
import copy
import json
import os
import sys

flatpak_dir = sys.argv[1]
app_id = "org.graft.Graft"
main = json.load(open(os.path.join(flatpak_dir, f"{app_id}.json")))
test = json.load(open(os.path.join(flatpak_dir, "tests", f"{app_id}.test.json")))
errors = []


def sources(manifest):
    for module in manifest["modules"]:
        for source in module.get("sources", []):
            yield module["name"], source


for name, manifest in (("Flathub", main), ("test", test)):
    if manifest.get("id") != app_id:
        errors.append(f"{name} manifest: id {manifest.get('id')!r}, not {app_id}")
    for module, source in sources(manifest):
        kind = source.get("type")
        if kind in ("dir", "file", "patch") and "path" in source and "url" not in source:
            continue  # part of this checkout
        if kind == "git" and len(source.get("commit", "")) == 40:
            continue
        if kind in ("archive", "file") and len(source.get("sha256", "")) == 64:
            continue
        errors.append(f"{name} manifest, module {module}: source {source} has no commit or sha256")

if main.get("runtime") != "org.gnome.Platform" or main.get("sdk") != "org.gnome.Sdk":
    errors.append("the Flathub manifest must use the GNOME runtime")
args = main["finish-args"]
for needed in ("--device=all", "--socket=wayland", "--socket=fallback-x11",
               "--env=OCL_ICD_VENDORS=/app/etc/OpenCL/vendors"):
    if needed not in args:
        errors.append(f"finish-args lack {needed}")
for broad in ("--filesystem=host", "--filesystem=home", "--socket=x11"):
    if broad in args:
        errors.append(f"finish-args grant {broad}")

# The allowed differences: runtime, SDK (and its LLVM extension), and PoCL, CLBlast, protobuf-c
# and the OpenCL headers from the test runtime's Debian packages; the rest must be identical.
want = copy.deepcopy(main)
for key in ("runtime", "runtime-version", "sdk"):
    want[key] = test.get(key)
want.pop("sdk-extensions", None)
test_modules = {m["name"]: m for m in test["modules"]}
modules = []
for module in want["modules"]:
    if module["name"] in ("opencl-headers", "clblast", "protobuf-c"):
        continue
    if module["name"] == "pocl":
        module = test_modules.get("pocl")
    else:
        # Paths in the test manifest are relative to flatpak/tests/.
        for source in module.get("sources", []):
            if "path" in source:
                source["path"] = os.path.normpath(os.path.join("..", source["path"]))
    modules.append(module)
want["modules"] = modules
got = copy.deepcopy(test)
for module in got["modules"]:
    for source in module.get("sources", []):
        if "path" in source:
            source["path"] = os.path.normpath(source["path"])
if got != want:
    errors.append("the test manifest differs from the Flathub one beyond runtime and OpenCL "
                  "modules:\n" + json.dumps(got, indent=1, sort_keys=True) + "\nexpected:\n"
                  + json.dumps(want, indent=1, sort_keys=True))

if errors:
    print("\n".join(errors))
    sys.exit(1)
n = sum(1 for _ in sources(main))
print(f"ok: {n} sources in the Flathub manifest, each pinned or in this checkout; "
      "the test manifest differs only in runtime and OpenCL modules")
