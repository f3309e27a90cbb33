#!/usr/bin/python3
"""Writes hostile datasets for the reliability test: one folder per case and manifest.json.

Valid images are encoded by PIL (independent of Graft's TurboJPEG code) and decoded by PIL
once more to prove them valid; damaged files are derived from them byte by byte. Every file
is classified as
  valid  - PIL decodes it; every Graft command must use it,
  bad    - PIL cannot decode it; the scan must skip it and name it,
  either - a damaged file PIL still decodes (libjpeg warnings): used or skipped, never a crash.
Paths in the manifest are base64 of the raw bytes (names need not be UTF-8).

    gen_hostile.py OUTDIR
"""
import base64
import io
import json
import os
import random
import struct
import sys

from PIL import Image, ImageFile

ImageFile.LOAD_TRUNCATED_IMAGES = False


def b64(b):
    return base64.b64encode(b).decode("ascii")


def jpeg_bytes(seed, w=48, h=40, progressive=False):
    rnd = random.Random(seed)
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = ((x * 5 + seed * 17) % 256, (y * 6 + seed * 29) % 256,
                        (x * y + rnd.randrange(40)) % 256)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, progressive=progressive)
    return out.getvalue()


def pil_decodes(data):
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "JPEG":
                return False
            im.load()
        return True
    except Exception:
        return False


def segments(data):
    """(marker, offset of the 0xFF, length field) of each header segment up to SOS."""
    out, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        m = data[i + 1]
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((m, i, n))
        if m == 0xDA:
            break
        i += 2 + n
    return out


def patch(data, marker, rel, value):
    """Bytes at offset @rel after the marker's 0xFF of the first @marker segment set to @value."""
    for m, off, _ in segments(data):
        if m == marker:
            b = bytearray(data)
            b[off + rel:off + rel + len(value)] = value
            return bytes(b)
    raise SystemExit("no marker %02x" % marker)


class Case:
    def __init__(self, root, name, what):
        self.name, self.what = name, what
        self.dir = os.path.join(root, name.encode())
        os.makedirs(self.dir)
        self.files = {"valid": [], "bad": [], "either": []}
        self.refuse = None          # (relative folder named by the message, why)
        self.classes = []

    def cls(self, name):
        name = name if isinstance(name, bytes) else name.encode()
        os.makedirs(os.path.join(self.dir, name), exist_ok=True)
        if name not in self.classes:
            self.classes.append(name)
        return name

    def write(self, rel, data, kind=None):
        p = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        if kind is None:
            kind = "valid" if pil_decodes(data) else "bad"
        elif kind == "damaged":
            kind = "either" if pil_decodes(data) else "bad"
        self.files[kind].append(rel)

    def raw(self, rel, data):
        """A file that is no candidate image (not counted)."""
        p = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)

    def base(self, per_class=3, classes=("a", "b"), seed=1):
        for k, c in enumerate(classes):
            c = self.cls(c)
            for i in range(per_class):
                self.write(c + b"/m-valid-%02d.jpg" % i, jpeg_bytes(seed * 100 + k * 10 + i))

    def manifest(self):
        return {
            "name": self.name, "what": self.what, "dir": b64(self.dir),
            "classes": [b64(c) for c in sorted(self.classes)],
            "valid": [b64(p) for p in self.files["valid"]],
            "bad": [b64(p) for p in self.files["bad"]],
            "either": [b64(p) for p in self.files["either"]],
            "refuse": None if self.refuse is None else {"names": b64(self.refuse[0]), "why": self.refuse[1]},
        }


def main():
    root = os.fsencode(sys.argv[1])
    os.makedirs(root, exist_ok=True)
    cases = []

    def case(name, what):
        c = Case(root, name, what)
        cases.append(c)
        return c

    good = jpeg_bytes(7)
    L = len(good)
    assert L > 1000 and pil_decodes(good)

    case("clean", "2 classes of 3 valid JPEGs (the baseline)").base()

    c = case("truncated", "a valid JPEG cut at 12 offsets, sorted before the valid files")
    c.base()
    for off in (1, 2, 3, 20, 100, 200, 400, L // 4, L // 2, 3 * L // 4, L - 10, L - 2):
        c.write(b"a/0-trunc-%05d.jpg" % off, good[:off], "damaged")

    c = case("byte-flips", "16 copies of a valid JPEG with one byte inverted (header and data)")
    c.base()
    rnd = random.Random(5)
    for i in range(16):
        pos = 2 + (i * 37 if i < 8 else rnd.randrange(2, L - 2))
        d = bytearray(good)
        d[pos] ^= 0xFF
        c.write(b"a/0-flip-%05d.jpg" % pos, bytes(d), "damaged")

    c = case("corrupt-dht", "Huffman tables: 255 codes per length, bad class/id, zero length")
    c.base()
    c.write(b"a/0-dht-counts.jpg", patch(good, 0xC4, 5, b"\xff" * 16), "damaged")
    c.write(b"b/0-dht-class.jpg", patch(good, 0xC4, 4, b"\x75"), "damaged")
    c.write(b"b/0-dht-length.jpg", patch(good, 0xC4, 2, b"\x00\x02"), "damaged")

    c = case("corrupt-dqt", "quantisation tables: index 7, 16-bit precision, zero length")
    c.base()
    c.write(b"a/0-dqt-index.jpg", patch(good, 0xDB, 4, b"\x07"), "damaged")
    c.write(b"a/0-dqt-precision.jpg", patch(good, 0xDB, 4, b"\x10"), "damaged")
    c.write(b"b/0-dqt-length.jpg", patch(good, 0xDB, 2, b"\x00\x00"), "damaged")

    c = case("corrupt-sof", "frame header: 0 or 5 components, 0×0 size, 12-bit, bad length")
    c.base()
    c.write(b"a/0-sof-ncomp0.jpg", patch(good, 0xC0, 9, b"\x00"), "damaged")
    c.write(b"a/0-sof-ncomp5.jpg", patch(good, 0xC0, 9, b"\x05"), "damaged")
    c.write(b"a/0-sof-zero-size.jpg", patch(good, 0xC0, 5, b"\x00\x00\x00\x00"), "damaged")
    c.write(b"b/0-sof-12bit.jpg", patch(good, 0xC0, 4, b"\x0c"), "damaged")
    c.write(b"b/0-sof-length.jpg", patch(good, 0xC0, 2, b"\x00\x05"), "damaged")

    c = case("decompression-bomb", "frame headers claiming 60000², 65535², 30000×4000 and 9000² pixels")
    c.base()
    for w, h in ((60000, 60000), (65535, 65535), (30000, 4000), (9000, 9000)):
        c.write(b"a/0-bomb-%dx%d.jpg" % (w, h), patch(good, 0xC0, 5, struct.pack(">HH", h, w)),
                "damaged")

    c = case("wrong-format", "PNG, GIF, BMP, TIFF, text and empty files named .jpg; real .png/.gif/.bmp")
    c.base()
    im = Image.new("RGB", (20, 10), (200, 10, 10))
    for fmt, name in (("PNG", b"a/png.jpg"), ("GIF", b"a/gif.jpg"), ("BMP", b"b/bmp.jpg"),
                      ("TIFF", b"b/tiff.jpeg"), ("PNG", b"a/real.png"), ("GIF", b"b/real.gif"),
                      ("BMP", b"b/real.bmp")):
        out = io.BytesIO()
        im.save(out, fmt)
        c.write(name, out.getvalue(), "bad")
    c.write(b"a/text.jpg", b"this is not an image\n", "bad")
    c.write(b"b/empty.jpg", b"", "bad")

    c = case("odd-file-names", "valid JPEGs named with spaces, commas, quotes, newline, tab, "
             "invalid UTF-8, emoji, a leading dash, 250 bytes")
    c.base()
    names = [b"with space.jpg", b"comma,name.jpg", b'double"quote.jpg', b"single'quote.jpg",
             b"new\nline.jpg", b"tab\tname.jpg", b"bad \xff\xfe utf8.jpg", "ünïcødé.jpg".encode(),
             "emoji \U0001F431.jpg".encode(), b"-leading-dash.jpg", b".hidden.jpg", b"UPPER.JPG",
             b"x" * 246 + b".jpg"]
    for i, n in enumerate(names):
        c.write(b"ab"[i % 2:i % 2 + 1] + b"/" + n, jpeg_bytes(300 + i), "valid")

    c = case("odd-class-names", "4 classes named with a space, a comma, a quote and a newline")
    c.base(per_class=2, classes=("with space", "comma,class", 'quote"class', "new\nline"), seed=4)

    c = case("non-utf8-class-name", "a class folder named in Latin-1 (invalid UTF-8)")
    c.base(classes=(b"caf\xe9 latin1", "plain"), seed=5)

    c = case("symlinks", "loops (loop -> ., up -> ..), a dangling link, a link to a valid file, "
             "a folder named x.jpg")
    c.base()
    os.symlink(b".", os.path.join(c.dir, b"a/loop"))
    os.symlink(b"..", os.path.join(c.dir, b"b/up"))
    os.symlink(b"missing.jpg", os.path.join(c.dir, b"a/dangling.jpg"))
    c.files["bad"].append(b"a/dangling.jpg")
    os.symlink(b"../b/m-valid-00.jpg", os.path.join(c.dir, b"a/link.jpg"))
    c.files["valid"].append(b"a/link.jpg")
    c.write(b"b/folder.jpg/inside.jpg", jpeg_bytes(77), "valid")

    c = case("self-link-class", "a class folder self -> . (the dataset folder itself)")
    c.base()
    os.symlink(b".", os.path.join(c.dir, b"self"))
    c.refuse = (b"self", "class links back to the dataset")

    c = case("special-files", "a named pipe and a link to /dev/zero named .jpg")
    c.base()
    os.mkfifo(os.path.join(c.dir, b"a/pipe.jpg"))
    c.files["bad"].append(b"a/pipe.jpg")
    os.symlink(b"/dev/zero", os.path.join(c.dir, b"b/zero.jpg"))
    c.files["bad"].append(b"b/zero.jpg")

    c = case("empty-class", "a third class folder with no file")
    c.base()
    c.cls("c")
    c.refuse = (b"c", "class without images")

    c = case("class-all-bad", "a third class whose 3 files are all damaged")
    c.base()
    c.cls("c")
    for off in (10, 300, L - 2):
        c.write(b"c/trunc-%d.jpg" % off, good[:off], "bad")
    c.refuse = (b"c", "class without usable images")

    c = case("run-inside-data", "a training run folder (config.json) inside the dataset (--out inside --data)")
    c.base()
    c.raw(b"runs/r1/config.json", b"{}")
    c.raw(b"runs/r1/log.txt", b"epoch 1\n")
    c.refuse = (b"runs/r1", "run folder inside the data")

    c = case("one-class", "a single class folder")
    c.base(classes=("a",))
    c.refuse = (b"", "fewer than 2 classes")

    c = case("deep-folders", "valid JPEGs 30 folders deep inside a class")
    c.base()
    deep = b"/".join(b"d%02d" % i for i in range(30))
    c.write(b"a/" + deep + b"/deep.jpg", jpeg_bytes(88), "valid")
    c.write(b"b/" + deep + b"/deep.jpg", jpeg_bytes(89), "valid")

    c = case("16-valid-20-damaged", "the reported case: 16 valid and 20 damaged JPEGs sorted in front")
    c.base(per_class=8)
    for i in range(10):
        for k in (b"a", b"b"):
            if i % 2:
                c.write(k + b"/0-%02d-trunc.jpg" % i, good[:400], "bad")
            else:
                c.write(k + b"/0-%02d-dht.jpg" % i, patch(good, 0xC4, 5, b"\xff" * 16), "bad")

    with open(os.path.join(root, b"manifest.json"), "w") as f:
        json.dump({"cases": [c.manifest() for c in cases]}, f, indent=1)
    print("%d cases, %d files" % (len(cases), sum(len(c.files[k]) for c in cases for k in c.files)))


if __name__ == "__main__":
    main()
