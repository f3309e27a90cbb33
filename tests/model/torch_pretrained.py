#!/usr/bin/env python3
"""ResNet-18 and MobileNetV2 from torchvision and timm themselves: the oracle for
graft-import-dump and for transfer from a state dict.

  torch_pretrained.py write ARCH SIZE CLASSES DIR [LIB [INIT [SEED]]]
      the state dict of LIB's network (torchvision, the default, or timm) with INIT
      "perturbed" (the default) or "library" weights, and an input batch: with SEED the
      first from seeds SEED, SEED + 1, ... whose decisions are clear (see MARGIN), for check
  torch_pretrained.py check ARCH SIZE CLASSES DIR [LIB]
      compares DIR/graft.safetensors with LIB's network in float64
  torch_pretrained.py frozen ARCH SIZE CLASSES DIR CKPT LAYERS
      after a transfer run from DIR/state.safetensors with LAYERS (comma-separated)
      re-initialised and the rest frozen: every other tensor of CKPT is the state dict's, bit
      for bit, and every re-initialised one differs
"""
import json
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("SKIP: PyTorch or numpy is not installed")
    sys.exit(77)

TOL = 1e-4
BATCH = 3
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PARAMS_1000 = {"resnet18": 11689512, "mobilenetv2": 3504872}


# ---- the networks, from the libraries themselves ----

TIMM_NAMES = {"resnet18": "resnet18", "mobilenetv2": "mobilenetv2_100"}


def build(arch, classes, lib="torchvision"):
    """torchvision's or timm's network, without dropout (one training step is compared)."""
    if lib == "timm":
        import timm
        return timm.create_model(TIMM_NAMES[arch], pretrained=False, num_classes=classes,
                                 drop_rate=0.0)
    import torchvision
    if arch == "resnet18":
        return torchvision.models.resnet18(num_classes=classes)
    return torchvision.models.mobilenet_v2(num_classes=classes, dropout=0.0)


def library_key(arch, lib, key):
    """A torchvision key (Graft names its layers as torchvision does) in LIB's naming."""
    return to_timm(key) if lib == "timm" and arch == "mobilenetv2" else key


def to_timm(key):
    """torchvision MobileNetV2 key -> timm mobilenetv2_100 key."""
    fixed = {"features.0.0": "conv_stem", "features.0.1": "bn1", "features.18.0": "conv_head",
             "features.18.1": "bn2", "classifier.1": "classifier",
             "features.1.conv.0.0": "blocks.0.0.conv_dw", "features.1.conv.0.1": "blocks.0.0.bn1",
             "features.1.conv.1": "blocks.0.0.conv_pw", "features.1.conv.2": "blocks.0.0.bn2"}
    module, _, leaf = key.rpartition(".")
    if module in fixed:
        return fixed[module] + "." + leaf
    parts = module.split(".")
    idx, sub = int(parts[1]), ".".join(parts[3:])
    stage, rest = 1, idx - 2
    for n in (2, 3, 4, 3, 3, 1):
        if rest < n:
            break
        rest -= n
        stage += 1
    name = {"0.0": "conv_pw", "0.1": "bn1", "1.0": "conv_dw", "1.1": "bn2", "2": "conv_pwl",
            "3": "bn3"}[sub]
    return "blocks.%d.%d.%s.%s" % (stage, rest, name, leaf)


# ---- safetensors, written and read here ----

def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        dtype = {np.dtype("<f4"): "F32", np.dtype("<i8"): "I64"}[a.dtype]
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out, meta = {}, header.pop("__metadata__", {})
    for name, info in header.items():
        dt = {"F32": "<f4", "I64": "<i8"}[info["dtype"]]
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + e], dtype=dt).reshape(info["shape"])
    return out, meta


def state_dict(arch, classes, lib, init):
    """The library's network with its own random initialisation (INIT "library"), or with its
    BN weights, biases and statistics moved away from 1 and 0 as well ("perturbed"), so that
    every term of the BN counts and the inference check does not see identity statistics."""
    torch.manual_seed(1234)
    model = build(arch, classes, lib)
    rng = np.random.default_rng(99)
    modules = dict(model.named_modules())
    sd = {}
    for k, v in model.state_dict().items():
        a = v.numpy().copy()
        if init == "perturbed" and isinstance(modules.get(k.rpartition(".")[0]), nn.BatchNorm2d):
            if k.endswith("running_mean"):
                a = rng.uniform(-0.2, 0.2, a.shape)
            elif k.endswith("running_var"):
                a = rng.uniform(0.5, 1.5, a.shape)
            elif k.endswith(".weight") or k.endswith(".bias"):
                a = a + rng.uniform(-0.2, 0.2, a.shape)
        sd[k] = a.astype("<i8" if a.dtype == np.int64 else "<f4")
    return sd


def normalised(x, dtype):
    """An NHWC batch in [0, 1] as the networks take it: NCHW with ImageNet's mean and std."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=dtype).view(1, 3, 1, 1)
    return (torch.tensor(x).to(dtype).permute(0, 3, 1, 2) - mean) / std


def load(arch, classes, lib, sd, dtype):
    model = build(arch, classes, lib).to(dtype)
    model.load_state_dict({k: torch.tensor(v.astype(np.int64 if v.dtype == np.int64 else
                                                    np.float64)) for k, v in sd.items()})
    return model


def decision_margin(model, x):
    """The closest call of the training forward's ReLU, ReLU6 and max-pool decisions: the
    smallest distance of an input to 0 (or 6), or of a pooling window's largest value to its
    second largest, relative to the RMS of that layer's input."""
    margins = []

    def hook(module, args):  # before the module: torchvision's ReLUs work in place
        v = args[0].detach()
        rms = float(v.pow(2).mean().sqrt()) or 1.0
        if isinstance(module, nn.MaxPool2d):
            k, st, pad = module.kernel_size, module.stride, module.padding
            cols = F.unfold(F.pad(v, (pad, pad, pad, pad), value=float("-inf")), k, stride=st)
            top = cols.view(v.shape[0], v.shape[1], k * k, -1).topk(2, dim=2).values
            # A window whose largest value is a ReLU's exact 0 sends its gradient to a 0 the
            # ReLU's backward stops, whichever 0 it picks: no decision.
            d = torch.where(top[:, :, 0] == 0, torch.full_like(top[:, :, 0], float("inf")),
                            top[:, :, 0] - top[:, :, 1])
        else:
            d = v.abs()
            if isinstance(module, nn.ReLU6):
                d = torch.minimum(d, (v - 6).abs())
        margins.append(float(d.min()) / rms)

    hooks = [m.register_forward_pre_hook(hook) for m in model.modules()
             if isinstance(m, (nn.ReLU, nn.ReLU6, nn.MaxPool2d))]
    model.train()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return min(margins)


# A gradient is piecewise smooth: where a ReLU input or a pooling window sits within float32's
# reach of its threshold, float32 and float64 can take different branches and the gradients
# differ by order 1e-3 although both are right. The input batch is the first one whose
# decisions are all further than this from their thresholds (the test names the seed found, so
# that it is found at once).
MARGIN = 1e-5


def write(arch, size, classes, d, lib, init, first_seed):
    sd = state_dict(arch, classes, lib, init)
    try:
        # The format people download, written by its own library when it is installed.
        from safetensors.numpy import save_file
        save_file(sd, d + "/state.safetensors")
    except ImportError:
        write_safetensors(d + "/state.safetensors", sd)
    if first_seed is None:
        seed = 7   # a state dict for training runs: the batch is only a placeholder
        x = np.random.default_rng(seed).uniform(0, 1, (BATCH, size, size, 3)).astype("<f4")
    else:
        model = load(arch, classes, lib, sd, torch.float64)
        for seed in range(first_seed, first_seed + 1000):
            x = np.random.default_rng(seed).uniform(0, 1, (BATCH, size, size, 3)).astype("<f4")
            margin = decision_margin(model, normalised(x, torch.float64))
            if margin > MARGIN:
                break
        else:
            print("no input batch in 1000 keeps every decision %g from its threshold" % MARGIN)
            return 1
        print("input batch from seed %d: closest decision %.2g of its layer's RMS from its "
              "threshold" % (seed, margin))
    labels = (np.arange(BATCH) % classes).astype("<f4")
    write_safetensors(d + "/input.safetensors", {"x": x, "labels": labels})
    return 0


def graft_layout(grad, name):
    """A Graft tensor (HWIO, (in, out), (k, k, C, 1)) in PyTorch's layout."""
    g = torch.tensor(grad.astype(np.float64))
    if g.ndim == 4 and name.endswith("/depthwise_kernel"):
        return g.permute(2, 3, 0, 1)        # (k, k, C, 1) -> (C, 1, k, k)
    if g.ndim == 4:
        return g.permute(3, 2, 0, 1)        # HWIO -> OIHW
    if g.ndim == 2:
        return g.t()
    return g


def rel(a, b):
    a, b = a.reshape(-1), b.reshape(-1)
    return float((a - b).norm() / max(float(b.norm()), 1e-12))


def one_step(arch, classes, lib, sd, inp, dtype):
    """The library's inference logits, loss and parameter gradients of one training step."""
    model = load(arch, classes, lib, sd, dtype)
    x = normalised(inp["x"], dtype)
    labels = torch.tensor(inp["labels"].astype(np.int64))
    model.eval()
    with torch.no_grad():
        logits = model(x).double()
    model.train()
    loss = F.cross_entropy(model(x), labels)
    model.zero_grad()
    loss.backward()
    return logits, float(loss), {k: p.grad.double() for k, p in model.named_parameters()}


def check(arch, size, classes, d, lib):
    """Graft (float32) against the library in float64, the exact answer up to rounding.

    A tensor passes within TOL, or, where the library's own float32 computation is further than
    TOL from its float64 one, when Graft is no further from float64 than twice that. Such
    tensors are ill-conditioned, not wrong: with the library's initialisation (BN β = 0) a BN
    followed by ReLU6, a depthwise convolution and a training-mode BN gets a γ gradient that is
    zero but for the ReLU6 clipping (the next BN removes each channel's scale), a small sum of
    large terms; a wrong gradient is off by order 1."""
    sd, _ = read_safetensors(d + "/state.safetensors")
    inp, _ = read_safetensors(d + "/input.safetensors")
    got, meta = read_safetensors(d + "/graft.safetensors")
    logits64, loss64, grads64 = one_step(arch, classes, lib, sd, inp, torch.float64)
    logits32, loss32, grads32 = one_step(arch, classes, lib, sd, inp, torch.float32)
    failures = 0

    def report(what, r, r32):
        nonlocal failures
        if r < TOL:
            print("ok %s: relative error %.3g" % (what, r))
        elif r <= 2 * r32:
            print("ok %s: relative error %.3g, ill-conditioned (%s float32: %.3g)"
                  % (what, r, lib, r32))
        else:
            failures += 1
            print("FAIL %s: relative error %.3g (%s float32: %.3g)" % (what, r, lib, r32))

    report("inference logits", rel(torch.tensor(got["eval_logits"].astype(np.float64)),
                                   logits64), rel(logits32, logits64))
    report("loss", abs(float(got["loss"][0]) - loss64) / abs(loss64),
           abs(loss32 - loss64) / abs(loss64))
    n = 0
    for name, g in got.items():
        if not name.startswith("grad/"):
            continue
        layer, role = name[5:].rsplit("/", 1)
        leaf = {"kernel": "weight", "depthwise_kernel": "weight", "gamma": "weight",
                "bias": "bias", "beta": "bias"}[role]
        key = library_key(arch, lib, layer + "." + leaf)
        if key not in grads64:
            print("FAIL: Graft's %s/%s is %s, which %s's network does not have"
                  % (layer, role, key, lib))
            failures += 1
            continue
        want, mine = grads64[key], graft_layout(g, name)
        if role == "beta" and float(want.norm()) < 1e-12:
            # Exactly zero: a BN whose output only feeds 1×1 convolutions into training-mode BNs
            # (which remove any per-channel shift). Graft's must be rounding noise against the
            # same layer's gamma gradient.
            gamma = grads64[library_key(arch, lib, layer + ".weight")]
            report("gradient of " + key + " (zero; against the gamma gradient)",
                   float(mine.norm()) / max(float(gamma.norm()), 1e-12), 0.0)
        else:
            report("gradient of " + key, rel(mine, want), rel(grads32[key], want))
        n += 1
    if n != len(grads64):
        print("FAIL: %d gradients from Graft, %d parameters in %s" % (n, len(grads64), lib))
        failures += 1
    want = PARAMS_1000[arch]
    counted = sum(p.numel() for p in build(arch, 1000, lib).parameters())
    for who, v in ((lib, counted), ("Graft", int(meta["params_1000"]))):
        ok = v == want
        failures += not ok
        print("%s %s parameters with 1000 classes: %d (expected %d)"
              % ("ok" if ok else "FAIL", who, v, want))
    return 1 if failures else 0


GRAFT_ROLES = {"kernel": "weight", "depthwise_kernel": "weight", "gamma": "weight",
               "bias": "bias", "beta": "bias", "moving_mean": "running_mean",
               "moving_variance": "running_var"}


def frozen(arch, d, ckpt, layers):
    sd, _ = read_safetensors(d + "/state.safetensors")
    got, _ = read_safetensors(ckpt)
    reinit = set(layers.split(","))
    same = changed = failures = 0
    for name, g in got.items():
        layer, role = name.rsplit("/", 1)
        key = layer + "." + GRAFT_ROLES[role]
        want = None
        if key in sd:
            t = torch.tensor(sd[key])
            if t.ndim == 4 and role == "depthwise_kernel":
                want = t.permute(2, 3, 0, 1).numpy()
            elif t.ndim == 4:
                want = t.permute(2, 3, 1, 0).numpy()
            elif t.ndim == 2:
                want = t.t().numpy()
            else:
                want = t.numpy()
        fits = want is not None and want.shape == g.shape
        if layer in reinit or not fits:
            if fits and np.array_equal(want, g):
                print("FAIL %s: re-initialised but still the state dict's values" % name)
                failures += 1
            changed += 1
        elif not np.array_equal(want, g):
            print("FAIL %s: frozen but %d of %d values moved" % (name, int((want != g).sum()),
                                                                 g.size))
            failures += 1
        else:
            same += 1
    print("%d frozen tensors bit-identical to the state dict, %d re-initialised or replaced"
          % (same, changed))
    return 1 if failures or same == 0 or changed == 0 else 0


def main():
    if len(sys.argv) < 6:
        print(__doc__)
        return 2
    verb, arch, size, classes, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), sys.argv[5]
    if verb == "frozen":
        return frozen(arch, d, sys.argv[6], sys.argv[7])
    lib = sys.argv[6] if len(sys.argv) > 6 else "torchvision"
    if verb == "write":
        return write(arch, size, classes, d, lib,
                     sys.argv[7] if len(sys.argv) > 7 else "perturbed",
                     int(sys.argv[8]) if len(sys.argv) > 8 else None)
    return check(arch, size, classes, d, lib)


if __name__ == "__main__":
    sys.exit(main())
