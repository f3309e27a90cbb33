/* The benchmark of a bound model: see graft-bench.h. */
#include "graft-bench.h"

static int
double_cmp (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

void
graft_bench_step_stats (GArray *steps, double *median, double *spread)
{
  *median = *spread = 0;
  if (steps->len == 0)
    return;
  g_autoptr (GArray) s = g_array_copy (steps);
  g_array_sort (s, double_cmp);
  guint n = s->len;
  double *v = (double *) (void *) s->data;
  *median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  *spread = *median > 0 ? (v[n - 1] - v[0]) / *median : 0;
}

/* GEMM FLOPs of one pass over @n images, from each layer's GEMM shapes (its kind's
 * GraftLayerClass.gemms), so the figure is independent of how the ops split work. */
typedef struct {
  double fwd, dw, dx;
} GemmFlops;

static GemmFlops
gemm_flops (GraftModel *m, int n)
{
  GemmFlops f = { 0, 0, 0 };
  gboolean trainable_before = FALSE;
  for (guint i = 0; i < graft_model_n_layers (m); i++)
    {
      GraftLayerGemm g[2];
      guint ng = graft_model_layer_gemms (m, i, g);
      double flops = 0;
      for (guint k = 0; k < ng; k++)
        flops += 2.0 * n * (double) g[k].rows * g[k].cols * g[k].depth;
      gboolean trainable = graft_model_layer_has_params (m, i) && !graft_model_get_frozen (m, i);
      f.fwd += flops;
      if (trainable)
        f.dw += flops;
      /* No input gradient below the first trainable layer. */
      if (trainable_before)
        f.dx += flops;
      trainable_before = trainable_before || trainable;
    }
  return f;
}

static gint
op_cmp (gconstpointer a, gconstpointer b)
{
  const GraftBenchOp *x = a, *y = b;
  return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

static void
phase_ops (GraftBenchPhase *p, GHashTable *prof, const GemmFlops *fl, int steps)
{
  p->ops = g_array_new (FALSE, TRUE, sizeof (GraftBenchOp));
  p->op_ns = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, prof);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      GraftBenchOp r = { k, *(guint64 *) v, 0 };
      if (g_str_equal (r.op, "conv2d-fwd-gemm"))
        r.gflop = fl->fwd * steps / 1e9;
      else if (g_str_equal (r.op, "conv2d-dw-gemm"))
        r.gflop = fl->dw * steps / 1e9;
      else if (g_str_equal (r.op, "conv2d-dx-gemm"))
        r.gflop = fl->dx * steps / 1e9;
      p->op_ns += r.ns;
      g_array_append_val (p->ops, r);
    }
  g_array_sort (p->ops, op_cmp);
}

static gboolean
run_phase (GraftContext *ctx, GraftModel *m, gboolean train, int batch,
           const GraftBenchOptions *opt, GraftTensor *stats, guint32 *step, GraftBenchPhase *out,
           GError **error)
{
  GraftAdamParams adam = { 1e-3f, 0.9f, 0.999f, 1e-7f, 0 };
  out->steps = g_array_new (FALSE, FALSE, sizeof (double));
  double t0 = 0;
  for (int it = 0; it < opt->warmup + opt->iterations; it++)
    {
      if (it == opt->warmup)
        {
          if (!graft_context_finish (ctx, error))
            return FALSE;
          /* Drop warm-up events so the profile covers exactly the timed steps. */
          g_hash_table_unref (graft_context_profile_collect (ctx));
          graft_context_set_profiling (ctx, opt->profile);
          out->seconds = g_get_monotonic_time () / 1e6;
        }
      if (it >= opt->warmup)
        t0 = g_get_monotonic_time () / 1e6;
      gboolean ok;
      if (train)
        {
          adam.step = ++*step;
          ok = graft_model_train_step (m, batch, &adam, 42, *step, stats, error);
        }
      else
        ok = graft_model_forward (m, batch, FALSE, 42, 0, error);
      /* Each step ends when the device is done with it, as a training loop reading its
       * loss does: per-step times, and the peers' steps are synchronous too. */
      if (!ok || !graft_context_finish (ctx, error))
        return FALSE;
      if (it >= opt->warmup)
        {
          double dt = g_get_monotonic_time () / 1e6 - t0;
          g_array_append_val (out->steps, dt);
        }
    }
  out->seconds = g_get_monotonic_time () / 1e6 - out->seconds;
  graft_bench_step_stats (out->steps, &out->median, &out->spread);
  out->images_per_s = out->median > 0 ? batch / out->median : 0;
  g_autoptr (GHashTable) prof = graft_context_profile_collect (ctx);
  graft_context_set_profiling (ctx, FALSE);
  GemmFlops fl = gemm_flops (m, batch);
  if (!train)
    fl.dw = fl.dx = 0;
  phase_ops (out, prof, &fl, opt->iterations);
  return TRUE;
}

/* Random images in [0, 1) and random labels; the seed keeps runs comparable. */
static gboolean
random_batch (GraftContext *ctx, GraftModel *m, GError **error)
{
  GraftTensor *in = graft_model_input (m), *lab = graft_model_labels (m);
  int classes = graft_model_spec (m)->classes;
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  g_autofree float *host = g_new (float, graft_tensor_numel (in));
  for (gsize i = 0; i < graft_tensor_numel (in); i++)
    host[i] = (float) g_rand_double (rand);
  g_autofree float *labels = g_new (float, graft_tensor_numel (lab));
  for (gsize i = 0; i < graft_tensor_numel (lab); i++)
    labels[i] = (float) g_rand_int_range (rand, 0, classes);
  return graft_tensor_write (ctx, in, host, error) && graft_tensor_write (ctx, lab, labels, error);
}

/* The device's FMA rate in GFLOP/s (2 per fused multiply-add): util.cl's fma_peak, first, while
 * *n is 0, run twice to size it to about 0.1 s a run, then three counted runs, each raising
 * *best and lowering *worst (0: none yet). */
static gboolean
fma_runs (GraftContext *ctx, cl_int *n, double *best, double *worst, GError **error)
{
  const GraftDeviceInfo *info = graft_context_device (ctx);
  gboolean cpu = g_strcmp0 (info->type, "CPU") == 0;
  /* CPUs: a few work-groups of one item per core; GPUs: enough items to fill every lane. */
  size_t global = (size_t) MAX (info->compute_units, 1) * (cpu ? 32 : 4096);
  size_t local = cpu ? 1 : 64;
  guint width = info->float_width >= 16 ? 16 : info->float_width >= 8 ? 8 : 4;
  cl_kernel k = graft_context_kernel (ctx, "util", "fma_peak", error);
  g_autoptr (GraftTensor) y = k ? graft_tensor_new (ctx, 1, 1, 1, (int) global, error) : NULL;
  if (y == NULL)
    return FALSE;
  cl_float mul = 0.999f, add = 0.001f;
  int sizing = *n == 0 ? 2 : 0;
  if (*n == 0)
    *n = 1000;
  for (int run = 0; run < sizing + 3; run++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!graft_kernel_args (k, error, GA (y->mem), GA (*n), GA (mul), GA (add), 0) ||
          !graft_launch (ctx, "fma-peak", k, 1, &global, &local, error) ||
          !graft_context_finish (ctx, error))
        return FALSE;
      double dt = (g_get_monotonic_time () - t0) / 1e6;
      double rate = 2.0 * 12 * width * (double) *n * global / MAX (dt, 1e-9) / 1e9;
      if (run < sizing)
        *n = (cl_int) CLAMP (*n * 0.1 / MAX (dt, 1e-6), 1000, 50000000);
      else
        {
          *best = MAX (*best, rate);
          *worst = *worst > 0 ? MIN (*worst, rate) : rate;
        }
    }
  return TRUE;
}

/* One more sample of the FMA rate into @out, between phases. */
static gboolean
fma_sample (GraftContext *ctx, cl_int *n, GraftBenchResult *out, GError **error)
{
  return fma_runs (ctx, n, &out->fma_peak_gflops, &out->fma_low_gflops, error);
}

gboolean
graft_bench_run (GraftContext *ctx, GraftModel *m, const GraftBenchOptions *opt,
                 GraftBenchResult *out, GError **error)
{
  g_return_val_if_fail (opt->iterations >= 1 && opt->warmup >= 0, FALSE);
  *out = (GraftBenchResult) { 0 };
  int batch = (int) graft_model_input (m)->ne[0];
  guint32 step = 0;
  g_autoptr (GraftTensor) stats = graft_tensor_new (ctx, 1, 1, 1, 2, error);
  /* The FMA rate is sampled before, between and after the phases: its best is the ceiling
   * the GEMM rates compare with, and how far it falls shows the load other processes put on
   * the device while the steps were timed. */
  cl_int fma_n = 0;
  if (stats == NULL || !graft_tensor_fill (ctx, stats, 0, error) || !random_batch (ctx, m, error) ||
      !fma_sample (ctx, &fma_n, out, error) ||
      !run_phase (ctx, m, TRUE, batch, opt, stats, &step, &out->train, error) ||
      !fma_sample (ctx, &fma_n, out, error) ||
      !run_phase (ctx, m, FALSE, batch, opt, stats, &step, &out->infer, error) ||
      !fma_sample (ctx, &fma_n, out, error))
    return FALSE;
  out->model_bytes = graft_model_device_bytes (m);
  out->scratch_bytes = graft_context_scratch_bytes (ctx);
  if (!opt->frozen_body)
    return TRUE;
  /* Transfer with only the output trained: every layer with weights but the last frozen. */
  int head = -1;
  for (guint i = 0; i < graft_model_n_layers (m); i++)
    if (graft_model_layer_has_params (m, i))
      head = i;
  for (int i = 0; i < head; i++)
    if (graft_model_layer_has_params (m, i))
      graft_model_set_frozen (m, i, TRUE);
  if (!run_phase (ctx, m, TRUE, batch, opt, stats, &step, &out->frozen, error) ||
      !fma_sample (ctx, &fma_n, out, error))
    return FALSE;
  out->full_over_frozen = out->frozen.median > 0 ? out->train.median / out->frozen.median : 0;
  return TRUE;
}

static void
phase_clear (GraftBenchPhase *p)
{
  g_clear_pointer (&p->ops, g_array_unref);
  g_clear_pointer (&p->steps, g_array_unref);
}

void
graft_bench_result_clear (GraftBenchResult *r)
{
  phase_clear (&r->train);
  phase_clear (&r->infer);
  phase_clear (&r->frozen);
}
