"""What the peer benchmarks share: their options, the channel widths, the timing loop and the
result fields, so that every peer is timed the way graft-cli bench times Graft (random data,
warm-up excluded, same batch, size, width and thread count)."""
import argparse
import math
import os
import resource
import time


def parse_args(description, extra=None):
    """The options compare.sh passes to every peer; @extra(parser) adds a peer's own."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--image-size", type=int, default=180)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--no-frozen", action="store_true")
    ap.add_argument("--json", action="store_true")
    if extra:
        extra(ap)
    return ap.parse_args()


def channels(c, width):
    """A layer's channel count under the width multiplier, rounded half up as Graft does."""
    return max(1, int(math.floor(c * width + 0.5)))


def timed(fn, warmup, iterations):
    """Seconds for @iterations calls of @fn after @warmup untimed ones."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(iterations):
        fn()
    return time.perf_counter() - t0


def rate(args, seconds):
    """One phase's result from the seconds its timed steps took."""
    return {"images_per_s": args.batch * args.iterations / seconds,
            "seconds_per_step": seconds / args.iterations}


def add_frozen_ratio(out):
    """How many frozen-body steps a full training step costs."""
    out["full_over_frozen_step_time"] = (out["train"]["seconds_per_step"]
                                         / out["frozen_train"]["seconds_per_step"])


def common_fields(args, framework, layout):
    """The fields every peer's JSON carries besides its phases."""
    return {
        "framework": framework,
        "threads": args.threads,
        "layout": layout,
        "image_size": args.image_size, "batch": args.batch, "classes": args.classes,
        "width": args.width, "iterations": args.iterations, "warmup": args.warmup,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
