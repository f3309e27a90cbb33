#!/usr/bin/env python3
"""Seed corpora and regression inputs of the fuzz targets, written at test time.

    seeds.py seeds NAME DIR         the seed corpus of target NAME
    seeds.py regressions NAME DIR   inputs that crashed a reader once (each now refused)

Every crash a fuzzing run finds becomes an entry of REGRESSIONS here (written from a short
description, not a binary blob), and the reader is fixed.
"""
import gzip
import io
import json
import os
import struct
import sys


# ---- helpers ----

def safetensors(header, data=b""):
    """A safetensors file: 8-byte little-endian header length, header text, data."""
    if not isinstance(header, (bytes, str)):
        header = json.dumps(header, separators=(",", ":"))
    if isinstance(header, str):
        header = header.encode()
    return struct.pack("<Q", len(header)) + header + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def idx_input(images, labels):
    """fuzz-idx's input: 16-bit length of the images file, the images file, the labels file."""
    return struct.pack("<H", len(images)) + images + labels


def idx_images(n, rows, cols, pixels=None):
    head = bytes([0, 0, 8, 3]) + struct.pack(">III", n, rows, cols)
    if pixels is None:
        pixels = bytes((i * 37) & 0xFF for i in range(n * rows * cols))
    return head + pixels


def idx_labels(labels):
    return bytes([0, 0, 8, 1]) + struct.pack(">I", len(labels)) + bytes(labels)


def jpeg(mode, size, **options):
    from PIL import Image  # python3-pil: written independently of Graft's JPEG code

    w, h = size
    img = Image.new(mode, size)
    bands = len(img.getbands())
    img.putdata([tuple((x * 31 + y * 17 + b * 90) & 0xFF for b in range(bands))
                 if bands > 1 else (x * 31 + y * 17) & 0xFF
                 for y in range(h) for x in range(w)])
    out = io.BytesIO()
    img.save(out, "JPEG", **options)
    return out.getvalue()


def nested(opening, closing, depth, inner=""):
    return opening * depth + inner + closing * depth


STUDY = {
    "format": 1, "name": "seed", "source": "src", "target": "dst",
    "train": {"epochs": 2, "batch": 4, "lr": 0.001, "image_size": 32, "seed": 1, "width": 0.25,
              "dropout": 0.5, "val_fraction": 0.2, "split": "seeded", "filter": "decode",
              "patience": 0, "augment": True, "bn_momentum": 0.9},
    "base": "base", "baseline": "scratch",
    "runs": [
        {"id": "base", "name": "base", "experiment": 1, "data": "source"},
        {"id": "scratch", "name": "scratch", "experiment": 1, "data": "target"},
        {"id": "frozen", "name": "frozen", "experiment": 2, "data": "target", "from": "base",
         "reinit": ["dense"], "freeze": "transferred"},
        {"id": "tuned", "experiment": 3, "data": "target", "from": "base", "freeze": "none"},
    ],
}


# ---- seeds: small valid inputs of each kind, and near misses ----

def seeds_jpeg():
    return {
        "rgb-8x8.jpg": jpeg("RGB", (8, 8), quality=90),
        "rgb-420-33x17.jpg": jpeg("RGB", (33, 17), quality=75, subsampling=2),
        "rgb-444-16x16-progressive.jpg": jpeg("RGB", (16, 16), progressive=True, subsampling=0),
        "gray-9x21.jpg": jpeg("L", (9, 21)),
        "cmyk-8x8.jpg": jpeg("CMYK", (8, 8)),
        "rgb-64x48-optimized.jpg": jpeg("RGB", (64, 48), optimize=True, quality=50),
        "truncated.jpg": jpeg("RGB", (16, 16))[:200],
    }


def seeds_safetensors():
    t = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
    b = {"dtype": "F32", "shape": [3], "data_offsets": [16, 28]}
    return {
        "two-tensors.safetensors": safetensors({"__metadata__": {"format": "1"}, "a": t, "b": b},
                                               f32(1, 2, 3, 4, 5, 6, 7)),
        "empty.safetensors": safetensors({}),
        "scalar.safetensors": safetensors({"s": {"dtype": "F32", "shape": [],
                                                 "data_offsets": [0, 4]}}, f32(1)),
        "zero-size.safetensors": safetensors({"z": {"dtype": "F32", "shape": [0, 5],
                                                    "data_offsets": [0, 0]}}),
        # The real checkpoint is written by fuzz-seed-checkpoint (see run-fuzz.sh).
    }


def seeds_study_json():
    minimal = {"format": 1, "source": "a", "target": "b", "runs": []}
    return {
        "study.json": json.dumps(STUDY, indent=2).encode(),
        "minimal.json": json.dumps(minimal).encode(),
        "unicode-escapes.json": json.dumps(dict(minimal, name="caf\u00e9 \"\\u00e9\" \\n")).encode(),
    }


def seeds_idx():
    labels = [0, 1, 2, 1, 9]
    imgs = idx_images(5, 4, 3)
    return {
        "plain.idx": idx_input(imgs, idx_labels(labels)),
        "gzip.idx": idx_input(gzip.compress(imgs, mtime=0), gzip.compress(idx_labels(labels), mtime=0)),
        "one-pixel.idx": idx_input(idx_images(1, 1, 1), idx_labels([3])),
    }


# ---- regressions: inputs that crashed (or were wrongly accepted) before their fix ----

def regressions_jpeg():
    return {}


def regressions_safetensors():
    ok = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    return {
        # A number where a string belongs: SIGSEGV in g_str_equal.
        "dtype-number": safetensors({"a": dict(ok, dtype=5)}, f32(1)),
        # Non-array shape / offsets: json-glib CRITICALs.
        "shape-string": safetensors({"a": dict(ok, shape="1")}, f32(1)),
        "offsets-object": safetensors({"a": dict(ok, data_offsets={})}, f32(1)),
        # 100 000 levels of nesting: stack overflow inside json-glib.
        "deep-header": safetensors(nested("[", "]", 100000)),
        "deep-metadata": safetensors("{\"__metadata__\":" + nested("{\"a\":", "}", 100000, "1") + "}"),
        # A 64-bit element count that wraps to 0.
        "count-overflow": safetensors({"a": dict(ok, shape=[1 << 30, 1 << 30, 16],
                                                 data_offsets=[0, 0])}),
        # Overlapping tensors and bytes of no tensor.
        "overlap": safetensors({"a": ok, "b": ok}, f32(1)),
        "gap": safetensors({"a": dict(ok, data_offsets=[4, 8])}, f32(1, 2)),
        # Metadata asking for a 2 TB model, and class_names shorter than classes.
        "classes-huge": safetensors({"__metadata__": {"image_size": "32", "classes": "2147483647"}}),
        "class-names-short": safetensors({"__metadata__": {"image_size": "32", "classes": "3",
                                                           "class_names": "[\"a\"]"}}),
        "class-names-deep": safetensors({"__metadata__": {"image_size": "32", "classes": "3",
                                                          "class_names": nested("[", "]", 100000)}}),
    }


def regressions_study_json():
    minimal = '{"format": 1, "source": "a", "target": "%s", "runs": [{"id": "r", "data": "source"}]}'
    return {
        # json-glib decodes a lone surrogate escape into invalid UTF-8: the study loaded, but
        # once saved it could not be read again (found by fuzz-study-json).
        "lone-surrogate": (minimal % "d\\ud800t").encode(),
        "lone-low-surrogate-name": (minimal.replace('{', '{"x\\udc00y": 1, ', 1) % "b").encode(),
        "deep-runs": ("{\"format\":1,\"runs\":" + nested("[", "]", 100000) + "}").encode(),
        "deep-object": nested("{\"a\":", "}", 100000, "1").encode(),
    }


def regressions_idx():
    # 4 × 2^31 × 2^31 pixels wrap a 64-bit byte count to 0: the header matched an empty file and
    # the import went on to hand TurboJPEG images of 2^31 × 2^31 pixels from 0 bytes.
    wrap = bytes([0, 0, 8, 3]) + struct.pack(">III", 4, 1 << 31, 1 << 31)
    return {
        "count-wraps": idx_input(wrap, idx_labels([0, 1, 2, 3])),
    }


SEEDS = {"jpeg": seeds_jpeg, "safetensors": seeds_safetensors,
         "study-json": seeds_study_json, "idx": seeds_idx}
REGRESSIONS = {"jpeg": regressions_jpeg, "safetensors": regressions_safetensors,
               "study-json": regressions_study_json, "idx": regressions_idx}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("seeds", "regressions"):
        sys.exit(__doc__)
    kind, name, out = sys.argv[1:]
    table = SEEDS if kind == "seeds" else REGRESSIONS
    if name not in table:
        sys.exit("seeds.py: no %s for target %s (add it to %s)"
                 % (kind, name, "SEEDS" if kind == "seeds" else "REGRESSIONS"))
    os.makedirs(out, exist_ok=True)
    for file, data in table[name]().items():
        with open(os.path.join(out, file), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
