"""Independent PyTorch oracle for the reference network.

Builds the Keras "image classification from scratch" network from the written semantics
(TensorFlow "same" padding, BN eps 1e-3 / momentum 0.99 with the unbiased moving variance,
Keras-form Adam), loads the weights Graft wrote, and compares logits, loss, every parameter
gradient, the BN moving statistics and a few Adam steps. Computes in float64.

usage: oracle_torch.py DIR [FROZEN,...]      exit 0 = agree, 1 = disagree, 77 = no torch
"""
import json
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e}")
    sys.exit(77)

torch.set_default_dtype(torch.float64)
TOL = 1e-4


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[base + b : base + e], dtype="<f4").reshape(info["shape"])
        out[name] = torch.tensor(arr.astype(np.float64))
    return out


def same_pad(x, k, s, value=0.0):
    """TensorFlow 'same': output ceil(n/s), total pad max((out-1)s+k-n, 0), odd pixel after."""
    pads = []
    for n in (x.shape[3], x.shape[2]):  # W then H, as F.pad wants
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)


class Net:
    def __init__(self, weights, frozen):
        self.p = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
        self.frozen = frozen
        self.names = []

    def w(self, layer, name):
        return self.p[f"{layer}/{name}"]

    def conv(self, x, layer, k, s):
        kern = self.w(layer, "kernel").permute(3, 2, 0, 1)  # HWIO -> OIHW
        return F.conv2d(same_pad(x, k, s), kern, self.w(layer, "bias"), stride=s)

    def sep(self, x, layer):
        c = x.shape[1]
        dw = self.w(layer, "depthwise_kernel").permute(2, 3, 0, 1)  # (3,3,C,1) -> (C,1,3,3)
        x = F.conv2d(same_pad(x, 3, 1), dw, None, groups=c)
        pw = self.w(layer, "pointwise_kernel").permute(3, 2, 0, 1)
        return F.conv2d(x, pw, self.w(layer, "bias"))

    def bn(self, x, layer, training):
        train = training and layer not in self.frozen
        mean = self.w(layer, "moving_mean").detach().clone()
        var = self.w(layer, "moving_variance").detach().clone()
        y = F.batch_norm(x, mean, var, self.w(layer, "gamma"), self.w(layer, "beta"),
                         training=train, momentum=0.01, eps=1e-3)
        # torch updates the running variance with the unbiased batch variance, like TF 2.14.
        self.moving[f"{layer}/moving_mean"] = mean
        self.moving[f"{layer}/moving_variance"] = var
        return y

    def forward(self, x_nhwc, training, sizes):
        self.moving = {}
        x = x_nhwc.permute(0, 3, 1, 2)
        x = self.conv(x, "conv2d", 3, 2)
        x = F.relu(self.bn(x, "batch_normalization", training))
        prev = x
        sep_i, bn_i, conv_i = 0, 1, 1
        for _ in sizes:
            x = F.relu(x)
            x = self.sep(x, f"separable_conv2d{'' if sep_i == 0 else '_' + str(sep_i)}")
            x = self.bn(x, f"batch_normalization_{bn_i}", training)
            x = F.relu(x)
            x = self.sep(x, f"separable_conv2d_{sep_i + 1}")
            x = self.bn(x, f"batch_normalization_{bn_i + 1}", training)
            x = F.max_pool2d(same_pad(x, 3, 2, value=float("-inf")), 3, 2)
            res = self.conv(prev, f"conv2d_{conv_i}", 1, 2)
            x = x + res
            prev = x
            sep_i += 2
            bn_i += 2
            conv_i += 1
        x = self.sep(x, f"separable_conv2d_{sep_i}")
        x = F.relu(self.bn(x, f"batch_normalization_{bn_i}", training))
        x = x.mean(dim=(2, 3))
        return x @ self.w("dense", "kernel") + self.w("dense", "bias")


def loss_fn(logits, labels):
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits[:, 0], labels)
    return F.cross_entropy(logits, labels.long())


def rel(a, b):
    a = a.detach().reshape(-1)
    b = b.detach().reshape(-1)
    return float((a - b).norm() / max(float(b.norm()), 1e-12))


def keras_shapes(classes, width):
    """Names and Keras shapes of the network's tensors, from the architecture alone."""
    def ch(c):
        return max(1, int(c * width + 0.5))
    out = []

    def conv(name, k, cin, cout):
        out.extend([(f"{name}/kernel", (k, k, cin, cout)), (f"{name}/bias", (cout,))])

    def sep(name, cin, cout):
        out.extend([(f"{name}/depthwise_kernel", (3, 3, cin, 1)),
                    (f"{name}/pointwise_kernel", (1, 1, cin, cout)), (f"{name}/bias", (cout,))])

    def bn(name, c):
        out.extend([(f"{name}/{w}", (c,)) for w in ("gamma", "beta", "moving_mean", "moving_variance")])

    c0 = ch(128)
    conv("conv2d", 3, 3, c0)
    bn("batch_normalization", c0)
    prev, s, b = c0, 0, 1
    for i, size in enumerate((256, 512, 728)):
        c = ch(size)
        sep(f"separable_conv2d{'' if s == 0 else '_' + str(s)}", prev, c)
        bn(f"batch_normalization_{b}", c)
        sep(f"separable_conv2d_{s + 1}", c, c)
        bn(f"batch_normalization_{b + 1}", c)
        conv(f"conv2d_{i + 1}", 1, prev, c)
        prev, s, b = c, s + 2, b + 2
    sep(f"separable_conv2d_{s}", prev, ch(1024))
    bn(f"batch_normalization_{b}", ch(1024))
    units = 1 if classes == 2 else classes
    out.extend([("dense/kernel", (ch(1024), units)), ("dense/bias", (units,))])
    return out


def write_weights(path, classes, size, width):
    """A Keras-layout checkpoint written without Graft: random values, positive variances."""
    rng = np.random.default_rng(2024)
    tensors = {}
    for name, shape in keras_shapes(classes, width):
        a = rng.uniform(-0.3, 0.3, size=shape).astype("<f4")
        if name.endswith("gamma") or name.endswith("moving_variance"):
            a = (1.0 + np.abs(a)).astype("<f4")
        tensors[name] = a
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    header["__metadata__"] = {"format": "1", "image_size": str(size), "classes": str(classes),
                              "width": repr(width), "dropout": "0.0"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    if sys.argv[1] == "--write-weights":
        write_weights(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        return 0
    d = sys.argv[1]
    frozen = set(sys.argv[2].split(",")) if len(sys.argv) > 2 and sys.argv[2] else set()
    weights = read_safetensors(f"{d}/weights.safetensors")
    fwd = read_safetensors(f"{d}/forward.safetensors")
    grads = read_safetensors(f"{d}/grads.safetensors")
    after = read_safetensors(f"{d}/after_adam.safetensors")
    sizes = [256, 512, 728]
    x, labels = fwd["x"], fwd["labels"]
    failures = []
    degenerate = set()

    def check(what, got, want):
        e = rel(got, want)
        status = "ok" if e <= TOL else "FAIL"
        print(f"{status:4} {what:55} rel {e:.2e}")
        if e > TOL:
            failures.append(what)

    import os
    if os.path.exists(f"{d}/python.safetensors"):
        # The weights Graft used must be exactly those Python wrote.
        mine = read_safetensors(f"{d}/python.safetensors")
        same = set(mine) == set(weights) and all(torch.equal(mine[k], weights[k]) for k in mine)
        print(f"{'ok' if same else 'FAIL':4} {'Graft read the Python-written checkpoint exactly':55}")
        if not same:
            failures.append("python checkpoint")
    net = Net(weights, frozen)
    logits = net.forward(x, True, sizes)
    check("logits (training-mode forward)", fwd["logits"], logits)
    loss = loss_fn(logits, labels)
    check("loss", grads["loss"], loss.reshape(1))
    # Inference mode on the moving statistics that forward just updated.
    eval_net = Net({**weights, **{k: v.detach() for k, v in net.moving.items()}}, frozen)
    with torch.no_grad():
        check("logits (inference-mode forward)", fwd["eval_logits"], eval_net.forward(x, False, sizes))
    loss.backward()
    for name, p in net.p.items():
        layer = name.split("/")[0]
        if name.endswith("moving_mean") or name.endswith("moving_variance"):
            check(f"moving statistic {name}", grads[f"after_step/{name}"], net.moving[name])
            continue
        want = torch.zeros_like(p) if layer in frozen else p.grad
        got = grads[f"grad/{name}"].reshape(p.shape)
        if float(want.norm()) < 1e-7 and layer not in frozen:
            # A bias right before a training-mode BN has an exact zero gradient; only
            # rounding noise remains on both sides, so compare absolutely.
            degenerate.add(name)
            e = float(got.norm())
            print(f"{'ok' if e < 1e-5 else 'FAIL':4} {'gradient ' + name + ' (exactly 0)':55} abs {e:.2e}")
            if e >= 1e-5:
                failures.append(name)
            continue
        check(f"gradient {name}", got, want)

    # Adam (Keras form) on the same batch, BN statistics updated each step.
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    net = Net(weights, frozen)
    m = {k: torch.zeros_like(v) for k, v in net.p.items()}
    v = {k: torch.zeros_like(t) for k, t in net.p.items()}
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
    for t in range(1, steps + 1):
        for p in net.p.values():
            p.grad = None
        logits = net.forward(x, True, sizes)
        loss_fn(logits, labels).backward()
        with torch.no_grad():
            lr_t = lr * (1 - b2**t) ** 0.5 / (1 - b1**t)
            for name, p in net.p.items():
                layer = name.split("/")[0]
                if name.endswith("moving_mean") or name.endswith("moving_variance"):
                    p.copy_(net.moving[name])
                    continue
                if layer in frozen:
                    continue
                g = p.grad
                m[name] = b1 * m[name] + (1 - b1) * g
                v[name] = b2 * v[name] + (1 - b2) * g * g
                p -= lr_t * m[name] / (v[name].sqrt() + eps)
    for name, p in net.p.items():
        if name in degenerate:
            # Adam turns rounding noise into steps of up to lr: check the bound only.
            step = float((after[name] - weights[name]).abs().max())
            ok = step <= lr * steps * 1.001
            print(f"{'ok' if ok else 'FAIL':4} {'after Adam: ' + name + ' (noise-driven)':55} max step {step:.2e}")
            if not ok:
                failures.append(name)
            continue
        check(f"after {steps} Adam steps: {name}", after[name], p)

    if failures:
        print(f"{len(failures)} comparisons disagree beyond {TOL}")
        return 1
    print("all comparisons agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
