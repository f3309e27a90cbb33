#!/usr/bin/env python3
"""ResNet-18 and MobileNetV2 in plain PyTorch, module for module as torchvision defines them
(torchvision.models.resnet18, torchvision.models.mobilenet_v2), so that their state dicts have
torchvision's keys; timm's MobileNetV2 keys by renaming. The oracle for graft-import-dump.

  torch_pretrained.py write ARCH SIZE CLASSES DIR [timm]   state dict + input batch
  torch_pretrained.py check ARCH SIZE CLASSES DIR [timm]   compares DIR/graft.safetensors
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


# ---- torchvision's modules ----

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, c in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            setattr(self, "layer%d" % (i + 1),
                    nn.Sequential(BasicBlock(cin, c, stride), BasicBlock(c, c, 1)))
            cin = c
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def conv_bn_act(cin, cout, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if t != 1:
            layers.append(conv_bn_act(cin, hidden, 1, 1))
        layers += [conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes, dropout=0.2):
        super().__init__()
        settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                    (6, 160, 3, 2), (6, 320, 1, 1)]
        features = [conv_bn_act(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in settings:
            for i in range(n):
                features.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(conv_bn_act(cin, 1280, 1, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(1280, classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def build(arch, classes, dropout=0.0):
    return ResNet18(classes) if arch == "resnet18" else MobileNetV2(classes, dropout)


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


def state_dict(arch, classes):
    torch.manual_seed(1234)
    model = build(arch, classes)
    rng = np.random.default_rng(99)
    sd = {}
    for k, v in model.state_dict().items():
        a = v.numpy().copy()
        # BN weights, biases and statistics away from 1 and 0, so every term counts.
        if k.endswith("running_mean"):
            a = rng.uniform(-0.2, 0.2, a.shape)
        elif k.endswith("running_var"):
            a = rng.uniform(0.5, 1.5, a.shape)
        elif ".bn" in k or "downsample.1" in k or (arch == "mobilenetv2" and a.ndim == 1
                                                    and "classifier" not in k):
            a = a + rng.uniform(-0.2, 0.2, a.shape) if a.dtype != np.int64 else a
        sd[k] = a.astype("<i8" if a.dtype == np.int64 else "<f4")
    return sd


def write(arch, size, classes, d, timm):
    sd = state_dict(arch, classes)
    if timm:
        sd = {to_timm(k): v for k, v in sd.items()}
    write_safetensors(d + "/state.safetensors", sd)
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, (BATCH, size, size, 3)).astype("<f4")
    labels = (np.arange(BATCH) % classes).astype("<f4")
    write_safetensors(d + "/input.safetensors", {"x": x, "labels": labels})


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


def check(arch, size, classes, d, timm):
    torch.set_default_dtype(torch.float64)
    sd, _ = read_safetensors(d + "/state.safetensors")
    inp, _ = read_safetensors(d + "/input.safetensors")
    got, meta = read_safetensors(d + "/graft.safetensors")
    if timm:
        back = {to_timm(k): k for k in build(arch, classes).state_dict()}
        sd = {back[k]: v for k, v in sd.items()}
    model = build(arch, classes, dropout=0.0).double()
    model.load_state_dict({k: torch.tensor(v.astype(np.float64 if v.dtype != np.int64 else
                                                    np.int64)) for k, v in sd.items()})
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    x = (torch.tensor(inp["x"].astype(np.float64)).permute(0, 3, 1, 2) - mean) / std
    labels = torch.tensor(inp["labels"].astype(np.int64))
    failures = 0

    def report(what, r):
        nonlocal failures
        ok = r < TOL
        failures += not ok
        print("%s %s: relative error %.3g" % ("ok" if ok else "FAIL", what, r))

    model.eval()
    with torch.no_grad():
        report("inference logits", rel(torch.tensor(got["eval_logits"].astype(np.float64)),
                                       model(x)))
    model.train()
    loss = F.cross_entropy(model(x), labels)
    model.zero_grad()
    loss.backward()
    report("loss", abs(float(got["loss"][0]) - float(loss)) / abs(float(loss)))
    params = dict(model.named_parameters())
    n = 0
    for name, g in got.items():
        if not name.startswith("grad/"):
            continue
        layer, role = name[5:].rsplit("/", 1)
        leaf = {"kernel": "weight", "depthwise_kernel": "weight", "gamma": "weight",
                "bias": "bias", "beta": "bias"}[role]
        p = params[layer + "." + leaf]
        mine = graft_layout(g, name)
        if role == "beta" and float(p.grad.norm()) < 1e-12:
            # Exactly zero: a BN whose output only feeds 1×1 convolutions into training-mode BNs
            # (which remove any per-channel shift). Graft's must be rounding noise against the
            # same layer's gamma gradient.
            gamma = params[layer + ".weight"].grad
            report("gradient of " + layer + ".bias (zero; against the gamma gradient)",
                   float(mine.norm()) / max(float(gamma.norm()), 1e-12))
        else:
            report("gradient of " + layer + "." + leaf, rel(mine, p.grad))
        n += 1
    if n != len(params):
        print("FAIL: %d gradients from Graft, %d parameters in PyTorch" % (n, len(params)))
        failures += 1
    want = PARAMS_1000[arch]
    counted = sum(p.numel() for p in build(arch, 1000).parameters())
    for who, v in (("PyTorch", counted), ("Graft", int(meta["params_1000"]))):
        ok = v == want
        failures += not ok
        print("%s %s parameters with 1000 classes: %d (torchvision: %d)"
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
    timm = verb != "frozen" and len(sys.argv) > 6 and sys.argv[6] == "timm"
    if verb == "write":
        write(arch, size, classes, d, timm)
        return 0
    if verb == "frozen":
        return frozen(arch, d, sys.argv[6], sys.argv[7])
    return check(arch, size, classes, d, timm)


if __name__ == "__main__":
    sys.exit(main())
