#!/usr/bin/python3
"""The reference network in PyTorch, timed the way graft-cli bench times Graft (random data, warm-up excluded).

--device cuda runs it on the first CUDA GPU in float32 (TF32 off), with cudnn.benchmark on and
every step synchronised before the clock is read."""
import json
import math
import sys

from peer_common import add_frozen_ratio, channels, common_fields, parse_args, rate, timed

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("peer_pytorch.py: PyTorch is not installed (Debian: python3-torch)", file=sys.stderr)
    sys.exit(77)


def same_pad(n, k, s):
    """TensorFlow "same": total pad max((ceil(n/s)-1)*s + k - n, 0), the extra pixel bottom/right."""
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class SameConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1, groups=1, bias=True):
        super().__init__()
        self.k, self.s = k, stride
        self.conv = nn.Conv2d(cin, cout, k, stride, 0, groups=groups, bias=bias)

    def forward(self, x):
        h, w = x.shape[-2:]
        t, b = same_pad(h, self.k, self.s)
        l, r = same_pad(w, self.k, self.s)
        if t or b or l or r:
            x = F.pad(x, (l, r, t, b))
        return self.conv(x)


class SamePool(nn.Module):
    def forward(self, x):
        h, w = x.shape[-2:]
        t, b = same_pad(h, 3, 2)
        l, r = same_pad(w, 3, 2)
        x = F.pad(x, (l, r, t, b), value=-math.inf)
        return F.max_pool2d(x, 3, 2)


def bn(c):
    # Keras momentum 0.99 is PyTorch momentum 0.01.
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


def sep(cin, cout):
    return nn.Sequential(SameConv(cin, cin, 3, groups=cin, bias=False), SameConv(cin, cout, 1))


class Net(nn.Module):
    def __init__(self, units, width):
        super().__init__()
        ch = lambda c: channels(c, width)
        c0 = ch(128)
        self.stem = nn.Sequential(SameConv(3, c0, 3, 2), bn(c0), nn.ReLU())
        self.blocks = nn.ModuleList()
        prev = c0
        for size in (256, 512, 728):
            c = ch(size)
            self.blocks.append(nn.ModuleDict({
                "main": nn.Sequential(nn.ReLU(), sep(prev, c), bn(c), nn.ReLU(), sep(c, c), bn(c),
                                      SamePool()),
                "res": SameConv(prev, c, 1, 2),
            }))
            prev = c
        c = ch(1024)
        self.exit = nn.Sequential(sep(prev, c), bn(c), nn.ReLU())
        self.drop = nn.Dropout(0.5)
        self.dense = nn.Linear(c, units)

    def forward(self, x):
        x = self.stem(x / 255.0)
        for b in self.blocks:
            x = b["main"](x) + b["res"](x)
        x = self.exit(x)
        x = x.mean(dim=(2, 3))
        return self.dense(self.drop(x))


def synced(fn, device):
    """@fn, waiting for the device after each call on a GPU so that the timing covers its work."""
    if device.type != "cuda":
        return fn

    def run():
        fn()
        torch.cuda.synchronize(device)
    return run


def measure(args, channels_last, device):
    torch.manual_seed(7)
    units = 1 if args.classes == 2 else args.classes
    if args.arch == "keras-cnn":
        net = Net(units, args.width)
        head = net.dense
    else:
        # torchvision's networks, as Graft's resnet18 and mobilenetv2 builders follow them.
        import torchvision
        net = getattr(torchvision.models, {"resnet18": "resnet18",
                                           "mobilenetv2": "mobilenet_v2"}[args.arch])(num_classes=units)
        head = net.fc if args.arch == "resnet18" else net.classifier
    x = torch.rand(args.batch, 3, args.image_size, args.image_size) * 255.0
    if units == 1:
        y = torch.randint(0, 2, (args.batch, 1)).float()
        loss_fn = nn.BCEWithLogitsLoss()
    else:
        y = torch.randint(0, units, (args.batch,))
        loss_fn = nn.CrossEntropyLoss()
    net, x, y = net.to(device), x.to(device), y.to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def make_step(params):
        opt = torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-7)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
        return step

    out = {}
    net.train()
    t = timed(synced(make_step(list(net.parameters())), device), args.warmup, args.iterations)
    out["train"] = rate(args, t)

    net.eval()

    def infer():
        with torch.no_grad():
            net(x)
    t = timed(synced(infer, device), args.warmup, args.iterations)
    out["infer"] = rate(args, t)

    if not args.no_frozen:
        # "only output": every layer with weights but the dense frozen; Keras runs frozen BN in
        # inference mode, so the body is in eval mode and needs no autograd graph.
        for p in net.parameters():
            p.requires_grad_(False)
        for p in head.parameters():
            p.requires_grad_(True)
        net.eval()
        head.train()
        if args.arch == "keras-cnn":
            net.drop.train()
        t = timed(synced(make_step(list(head.parameters())), device), args.warmup,
                  args.iterations)
        out["frozen_train"] = rate(args, t)
        add_frozen_ratio(out)
    return out


def main():
    def options(ap):
        ap.add_argument("--layout", choices=["nchw", "channels_last", "both"], default="both",
                        help="memory format; 'both' measures each and reports the faster")
        ap.add_argument("--arch", choices=["keras-cnn", "resnet18", "mobilenetv2"],
                        default="keras-cnn", help="the network (others than keras-cnn need torchvision)")
        ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: the first CUDA GPU, float32 with TF32 off, cudnn.benchmark on")
    args = parse_args(__doc__, options)
    torch.set_num_threads(args.threads)
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print("peer_pytorch.py: --device cuda, but this PyTorch sees no CUDA GPU "
                  f"(torch {torch.__version__}, CUDA {torch.version.cuda})", file=sys.stderr)
            sys.exit(77)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    device = torch.device(args.device)

    layouts = ["nchw", "channels_last"] if args.layout == "both" else [args.layout]
    results = {lay: measure(args, lay == "channels_last", device) for lay in layouts}
    best = max(layouts, key=lambda lay: results[lay]["train"]["images_per_s"])
    out = dict(results[best])
    out.update(common_fields(args, "pytorch " + torch.__version__, best))
    out["architecture"] = args.arch
    out["layouts"] = results
    out["device"] = args.device
    if args.device == "cuda":
        out["device_name"] = torch.cuda.get_device_name(device)
        out["cuda"] = torch.version.cuda
        out["cudnn"] = torch.backends.cudnn.version()
        out["peak_device_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    if args.json:
        print(json.dumps(out, indent=2))
        return
    where = out.get("device_name", f"{args.threads} threads")
    print(f"PyTorch {torch.__version__}, {where}, {args.image_size}×{args.image_size}, "
          f"batch {args.batch}, width {args.width}")
    for lay in layouts:
        r = results[lay]
        line = (f"  {lay:14s} train {r['train']['images_per_s']:8.2f} img/s   "
                f"infer {r['infer']['images_per_s']:8.2f} img/s")
        if "frozen_train" in r:
            line += f"   frozen-body train {r['frozen_train']['images_per_s']:8.2f} img/s"
        print(line)
    print(f"  faster layout for training: {best}; peak RSS {out['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
