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
    """Seconds of each of @iterations calls of @fn after @warmup untimed ones (@fn returns
    only when its step's work is done, as graft-cli bench waits for the device)."""
    for _ in range(warmup):
        fn()
    steps = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        steps.append(time.perf_counter() - t0)
    return steps


def step_stats(steps):
    """Median step time and spread ((slowest − fastest) / median) of per-step seconds, as
    graft-cli bench reports its own."""
    s = sorted(steps)
    n = len(s)
    median = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    return median, (s[-1] - s[0]) / median if median > 0 else 0.0


def rate(args, steps):
    """One phase's result from the per-step seconds of its timed steps: throughput from the
    median step, so that one slow step does not decide it."""
    median, spread = step_stats(steps)
    return {"images_per_s": args.batch / median if median > 0 else 0.0,
            "seconds_per_step": median,
            "mean_seconds_per_step": sum(steps) / len(steps),
            "spread": spread,
            "step_seconds": steps}


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
