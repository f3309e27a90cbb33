/* The benchmark of a bound model on random data: per-step times of training, inference and the
 * frozen-body ("only output" transfer) step, their median and spread, the per-op profile with
 * GEMM rates, and device memory. graft-cli bench prints it. */
#pragma once

#include "graft-model.h"

G_BEGIN_DECLS

/* One op's share of a phase: device time over the timed steps, and its GEMM FLOPs over the
 * same steps (0 when the op is no GEMM). */
typedef struct {
  const char *op;
  guint64     ns;
  double      gflop;
} GraftBenchOp;

typedef struct {
  double  seconds;        /* wall time of the timed steps */
  double  images_per_s;   /* from the median step */
  GArray *steps;          /* seconds of each timed step (double) */
  double  median;         /* median step, seconds */
  double  spread;         /* (slowest − fastest step) / median */
  GArray *ops;            /* GraftBenchOp, largest first; empty without profiling */
  guint64 op_ns;          /* sum of the ops */
} GraftBenchPhase;

typedef struct {
  int      warmup;        /* untimed steps before each phase */
  int      iterations;    /* timed steps per phase, ≥ 1 */
  gboolean profile;       /* OpenCL event profiling (the per-op table) */
  gboolean frozen_body;   /* also the step with every layer with weights but the last frozen */
} GraftBenchOptions;

typedef struct {
  GraftBenchPhase train, infer, frozen;   /* frozen is empty without frozen_body */
  double          full_over_frozen;       /* median training step / frozen-body step, or 0 */
  guint64         model_bytes;            /* the model's device buffers */
  gsize           scratch_bytes;          /* the context's scratch */
  /* The device's FMA rate in GFLOP/s (util.cl's fma_peak: independent FMAs in native float
   * vectors, runs of about 0.1 s), sampled before, between and after the phases: the fastest
   * run, what the GEMM rates compare with, and the slowest, which other load on the device
   * pulls down (steps timed then are slowed as much). */
  double          fma_peak_gflops;
  double          fma_low_gflops;
} GraftBenchResult;

/* Runs the benchmark on @m, bound to @ctx for its batch: random images and labels (a fixed
 * seed, so runs compare), then the phases. Freezes @m's body for the frozen-body phase. */
gboolean graft_bench_run          (GraftContext *ctx, GraftModel *m,
                                   const GraftBenchOptions *opt, GraftBenchResult *out,
                                   GError **error);
void     graft_bench_result_clear (GraftBenchResult *r);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (GraftBenchResult, graft_bench_result_clear)

/* Median and spread of @steps (seconds), as bench/peer_common.py computes the peers'. */
void     graft_bench_step_stats   (GArray *steps, double *median, double *spread);

G_END_DECLS
