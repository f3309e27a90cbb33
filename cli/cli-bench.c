/* graft-cli bench and tune: throughput, per-op profile and memory of the reference network, and CLBlast tuning. */
#include "graft-cli.h"
#include "graft-json.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "graft-model.h"
#include "graft-tune.h"

typedef struct {
  const char *op;
  guint64     ns;
  double      gflop;     /* FLOPs of this op per measured phase, 0 when unknown */
} OpRow;

typedef struct {
  double      seconds;   /* wall time of the timed steps */
  double      images_per_s;  /* from the median step */
  GArray     *steps;     /* seconds of each timed step (double) */
  double      median;    /* median step, seconds */
  double      spread;    /* (slowest − fastest step) / median */
  GArray     *ops;       /* OpRow, largest first */
  guint64     op_ns;     /* sum of ops */
} Phase;

static void
phase_clear (Phase *p)
{
  g_clear_pointer (&p->ops, g_array_unref);
  g_clear_pointer (&p->steps, g_array_unref);
}

static int
double_cmp (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Median and spread of the timed steps, as bench/peer_common.py computes the peers'. */
static void
phase_step_stats (Phase *p, int batch)
{
  g_autoptr (GArray) s = g_array_copy (p->steps);
  g_array_sort (s, double_cmp);
  guint n = s->len;
  double *v = (double *) (void *) s->data;
  p->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  p->spread = p->median > 0 ? (v[n - 1] - v[0]) / p->median : 0;
  p->images_per_s = p->median > 0 ? batch / p->median : 0;
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
op_row_cmp (gconstpointer a, gconstpointer b)
{
  const OpRow *x = a, *y = b;
  return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

static void
phase_ops (Phase *p, GHashTable *prof, const GemmFlops *fl, int steps)
{
  p->ops = g_array_new (FALSE, TRUE, sizeof (OpRow));
  p->op_ns = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, prof);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      OpRow r = { k, *(guint64 *) v, 0 };
      if (g_str_equal (r.op, "conv2d-fwd-gemm"))
        r.gflop = fl->fwd * steps / 1e9;
      else if (g_str_equal (r.op, "conv2d-dw-gemm"))
        r.gflop = fl->dw * steps / 1e9;
      else if (g_str_equal (r.op, "conv2d-dx-gemm"))
        r.gflop = fl->dx * steps / 1e9;
      p->op_ns += r.ns;
      g_array_append_val (p->ops, r);
    }
  g_array_sort (p->ops, op_row_cmp);
}

typedef enum { PHASE_TRAIN, PHASE_INFER } PhaseKind;

static gboolean
run_phase (GraftContext *ctx, GraftModel *m, PhaseKind kind, int batch, int warmup,
           int iterations, gboolean profile, gboolean frozen_body, GraftTensor *stats,
           guint32 *step, Phase *out, GError **error)
{
  GraftAdamParams adam = { 1e-3f, 0.9f, 0.999f, 1e-7f, 0 };
  out->steps = g_array_new (FALSE, FALSE, sizeof (double));
  double t0 = 0;
  for (int it = 0; it < warmup + iterations; it++)
    {
      if (it == warmup)
        {
          if (!graft_context_finish (ctx, error))
            return FALSE;
          /* Drop warm-up events so the profile covers exactly the timed steps. */
          g_hash_table_unref (graft_context_profile_collect (ctx));
          graft_context_set_profiling (ctx, profile);
          out->seconds = g_get_monotonic_time () / 1e6;
        }
      if (it >= warmup)
        t0 = g_get_monotonic_time () / 1e6;
      gboolean ok;
      if (kind == PHASE_TRAIN)
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
      if (it >= warmup)
        {
          double dt = g_get_monotonic_time () / 1e6 - t0;
          g_array_append_val (out->steps, dt);
        }
    }
  out->seconds = g_get_monotonic_time () / 1e6 - out->seconds;
  phase_step_stats (out, batch);
  g_autoptr (GHashTable) prof = graft_context_profile_collect (ctx);
  graft_context_set_profiling (ctx, FALSE);
  GemmFlops fl = gemm_flops (m, batch);
  if (kind == PHASE_INFER)
    fl.dw = fl.dx = 0;
  phase_ops (out, prof, &fl, iterations);
  return TRUE;
}

static void
print_phase (const char *title, const Phase *p, int iterations)
{
  printf ("\n%s: %.2f images/s (median %.3f s/step of %d, spread %.1f%%; device busy %.3f "
          "s/step)\n", title, p->images_per_s, p->median, iterations, 100 * p->spread,
          p->op_ns / 1e9 / iterations);
  if (p->ops->len == 0)
    return;
  printf ("  %-28s %10s %7s %9s\n", "op", "ms/step", "share", "GFLOP/s");
  for (guint i = 0; i < p->ops->len; i++)
    {
      const OpRow *r = &g_array_index (p->ops, OpRow, i);
      char gf[32] = "";
      if (r->gflop > 0 && r->ns > 0)
        g_snprintf (gf, sizeof gf, "%.1f", r->gflop / (r->ns / 1e9));
      printf ("  %-28s %10.2f %6.1f%% %9s\n", r->op, r->ns / 1e6 / iterations,
              p->op_ns ? 100.0 * r->ns / p->op_ns : 0.0, gf);
    }
}

static void
json_phase (JsonBuilder *b, const char *name, const Phase *p, int iterations)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "images_per_s");
  json_builder_add_double_value (b, p->images_per_s);
  json_builder_set_member_name (b, "seconds_per_step");
  json_builder_add_double_value (b, p->median);
  json_builder_set_member_name (b, "mean_seconds_per_step");
  json_builder_add_double_value (b, p->seconds / iterations);
  json_builder_set_member_name (b, "spread");
  json_builder_add_double_value (b, p->spread);
  json_builder_set_member_name (b, "step_seconds");
  json_builder_begin_array (b);
  for (guint i = 0; i < p->steps->len; i++)
    json_builder_add_double_value (b, g_array_index (p->steps, double, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "device_busy_seconds_per_step");
  json_builder_add_double_value (b, p->op_ns / 1e9 / iterations);
  json_builder_set_member_name (b, "ops");
  json_builder_begin_array (b);
  for (guint i = 0; i < p->ops->len; i++)
    {
      const OpRow *r = &g_array_index (p->ops, OpRow, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "op");
      json_builder_add_string_value (b, r->op);
      json_builder_set_member_name (b, "ms_per_step");
      json_builder_add_double_value (b, r->ns / 1e6 / iterations);
      json_builder_set_member_name (b, "share");
      json_builder_add_double_value (b, p->op_ns ? (double) r->ns / p->op_ns : 0.0);
      if (r->gflop > 0 && r->ns > 0)
        {
          json_builder_set_member_name (b, "gflops");
          json_builder_add_double_value (b, r->gflop / (r->ns / 1e9));
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

int
graft_cli_bench (int argc, char **argv)
{
  int image_size = 180, batch = 64, classes = 2, iterations = 3, warmup = 1;
  double width = 1.0;
  char *device = NULL, *arch = NULL;
  gboolean json = FALSE, no_profile = FALSE, no_frozen = FALSE;
  GOptionEntry entries[] = {
    { "image-size", 's', 0, G_OPTION_ARG_INT, &image_size, "Input height and width (default 180)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Images per step (default 64)", "N" },
    { "classes", 0, 0, G_OPTION_ARG_INT, &classes, "Classes (default 2: one sigmoid unit)", "N" },
    { "width", 'w', 0, G_OPTION_ARG_DOUBLE, &width, "Channel multiplier (default 1.0)", "X" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "Architecture (default keras-cnn; see model summary --arch)", "NAME" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "OpenCL device (index, id or name)", "ID" },
    { "iterations", 'n', 0, G_OPTION_ARG_INT, &iterations, "Timed steps per phase (default 3)", "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Untimed steps before each phase (default 1)", "N" },
    { "no-profile", 0, 0, G_OPTION_ARG_NONE, &no_profile, "Time without OpenCL event profiling", NULL },
    { "no-frozen", 0, 0, G_OPTION_ARG_NONE, &no_frozen, "Skip the frozen-body step", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts", NULL },
    { NULL }
  };
  graft_cli_parse ("bench", NULL,
                   "Measure training and inference throughput of the reference network on random "
                   "data, with a per-op profile, device memory and the frozen-body step.",
                   entries, &argc, &argv);
  if (argc != 1 || iterations < 1 || warmup < 0 || batch < 1)
    {
      g_printerr ("graft-cli bench: expected no arguments, --iterations ≥ 1, --warmup ≥ 0, --batch ≥ 1\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  GraftModelSpec spec = { image_size, classes, width, 0.5, 0, arch };
  /* The context is declared first so that it outlives the model bound to it. */
  g_autoptr (GraftContext) ctx = graft_context_new (device, &error);
  if (ctx == NULL)
    return graft_cli_fail (error);
  g_autoptr (GraftModel) m = graft_model_new (&spec, &error);
  if (m == NULL)
    return graft_cli_fail (error);
  graft_model_init_layer (m, -1, 1);
  if (!graft_model_bind (m, ctx, batch, &error))
    return graft_cli_fail (error);

  /* Random images in [0,1) and random labels; the seed keeps runs comparable. */
  GraftTensor *in = graft_model_input (m), *lab = graft_model_labels (m);
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  g_autofree float *host = g_new (float, graft_tensor_numel (in));
  for (gsize i = 0; i < graft_tensor_numel (in); i++)
    host[i] = (float) g_rand_double (rand);
  if (!graft_tensor_write (ctx, in, host, &error))
    return graft_cli_fail (error);
  g_autofree float *labels = g_new (float, graft_tensor_numel (lab));
  for (gsize i = 0; i < graft_tensor_numel (lab); i++)
    labels[i] = (float) g_rand_int_range (rand, 0, classes);
  if (!graft_tensor_write (ctx, lab, labels, &error))
    return graft_cli_fail (error);
  g_autoptr (GraftTensor) stats = graft_tensor_new (ctx, 1, 1, 1, 2, &error);
  if (stats == NULL || !graft_tensor_fill (ctx, stats, 0, &error))
    return graft_cli_fail (error);

  if (!json)
    {
      const GraftDeviceInfo *di = graft_context_device (ctx);
      printf ("Device: %s (%s, %u compute units)\n", di->name, di->platform_name, di->compute_units);
      printf ("Model: %s, %d×%d×3, %d classes, width %.3g, batch %d; %d timed steps after %d "
              "warm-up\n", arch ? arch : "keras-cnn", image_size, image_size, classes, width, batch,
              iterations, warmup);
    }
  guint32 step = 0;
  Phase train = { 0 }, infer = { 0 }, frozen = { 0 };
  if (!run_phase (ctx, m, PHASE_TRAIN, batch, warmup, iterations, !no_profile, FALSE, stats,
                  &step, &train, &error) ||
      !run_phase (ctx, m, PHASE_INFER, batch, warmup, iterations, !no_profile, FALSE, stats,
                  &step, &infer, &error))
    return graft_cli_fail (error);
  guint64 model_bytes = graft_model_device_bytes (m);
  gsize scratch_bytes = graft_context_scratch_bytes (ctx);
  if (!no_frozen)
    {
      /* Transfer with only the output trained: every layer with weights but the last frozen. */
      int head = -1;
      for (guint i = 0; i < graft_model_n_layers (m); i++)
        if (graft_model_layer_has_params (m, i))
          head = i;
      for (int i = 0; i < head; i++)
        if (graft_model_layer_has_params (m, i))
          graft_model_set_frozen (m, i, TRUE);
      if (!run_phase (ctx, m, PHASE_TRAIN, batch, warmup, iterations, !no_profile, TRUE, stats,
                      &step, &frozen, &error))
        return graft_cli_fail (error);
    }
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  double rss_mb = ru.ru_maxrss / 1024.0;
  double ratio = !no_frozen && frozen.median > 0 ? train.median / frozen.median : 0;

  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, graft_context_device (ctx)->id);
      json_builder_set_member_name (b, "architecture");
      json_builder_add_string_value (b, graft_model_spec (m)->architecture
                                          ? graft_model_spec (m)->architecture : "keras-cnn");
      json_builder_set_member_name (b, "image_size");
      json_builder_add_int_value (b, image_size);
      json_builder_set_member_name (b, "batch");
      json_builder_add_int_value (b, batch);
      json_builder_set_member_name (b, "classes");
      json_builder_add_int_value (b, classes);
      json_builder_set_member_name (b, "width");
      json_builder_add_double_value (b, width);
      json_builder_set_member_name (b, "iterations");
      json_builder_add_int_value (b, iterations);
      json_builder_set_member_name (b, "warmup");
      json_builder_add_int_value (b, warmup);
      json_builder_set_member_name (b, "profiled");
      json_builder_add_boolean_value (b, !no_profile);
      json_phase (b, "train", &train, iterations);
      json_phase (b, "infer", &infer, iterations);
      if (!no_frozen)
        {
          json_phase (b, "frozen_train", &frozen, iterations);
          json_builder_set_member_name (b, "full_over_frozen_step_time");
          json_builder_add_double_value (b, ratio);
        }
      json_builder_set_member_name (b, "model_device_bytes");
      json_builder_add_int_value (b, (gint64) model_bytes);
      json_builder_set_member_name (b, "scratch_bytes");
      json_builder_add_int_value (b, (gint64) scratch_bytes);
      json_builder_set_member_name (b, "peak_rss_mb");
      json_builder_add_double_value (b, rss_mb);
      json_builder_end_object (b);
      g_autofree char *text = graft_json_builder_to_text (b, TRUE, NULL);
      printf ("%s\n", text);
    }
  else
    {
      print_phase ("Training step", &train, iterations);
      print_phase ("Inference", &infer, iterations);
      if (!no_frozen)
        {
          print_phase ("Frozen-body training step (only the dense layer trained)", &frozen, iterations);
          printf ("\nFull step / frozen-body step time: %.2f×\n", ratio);
        }
      g_autofree char *mb = graft_format_bytes (model_bytes);
      g_autofree char *sb = graft_format_bytes (scratch_bytes);
      g_autofree char *tb = graft_format_bytes (model_bytes + scratch_bytes);
      printf ("\nDevice memory: model %s + scratch %s = %s (CLBlast temporaries not counted)\n",
              mb, sb, tb);
      printf ("Peak process RSS: %.0f MB\n", rss_mb);
    }
  phase_clear (&train);
  phase_clear (&infer);
  phase_clear (&frozen);
  return 0;
}

static void
add_shape (GArray *shapes, gsize m, gsize n, gsize k, gboolean ta, gboolean tb)
{
  for (guint i = 0; i < shapes->len; i++)
    {
      GraftTuneShape *s = &g_array_index (shapes, GraftTuneShape, i);
      if (s->m == m && s->n == n && s->k == k && s->trans_a == ta && s->trans_b == tb)
        return;
    }
  GraftTuneShape s = { m, n, k, ta, tb, 0, 0 };
  g_array_append_val (shapes, s);
}

static void
tune_progress_cb (guint done, guint total, double best, gpointer user_data)
{
  g_printerr ("\r  candidate %u / %u, best %.3f s", done, total, best);
  if (done == total)
    g_printerr ("\n");
}

int
graft_cli_tune (int argc, char **argv)
{
  int image_size = 180, batch = 1, candidates = 0, repeats = 0;
  double width = 1.0;
  char *device = NULL;
  gboolean full = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "OpenCL device (index, id or name)", "ID" },
    { "image-size", 's', 0, G_OPTION_ARG_INT, &image_size, "Input size whose GEMM shapes are tuned (default 180)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Images per GEMM (default 1; rows scale with it)", "N" },
    { "width", 'w', 0, G_OPTION_ARG_DOUBLE, &width, "Channel multiplier (default 1.0)", "X" },
    { "full", 0, 0, G_OPTION_ARG_NONE, &full,
      "Forward, weight- and input-gradient shapes, 48 candidates, 3 repeats (default: forward "
      "shapes, 12 candidates, 1 repeat)", NULL },
    { "candidates", 0, 0, G_OPTION_ARG_INT, &candidates, "Number of parameter sets to try (0 = mode's default)", "N" },
    { "repeats", 0, 0, G_OPTION_ARG_INT, &repeats, "Timed runs per shape (0 = mode's default)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts", NULL },
    { NULL }
  };
  graft_cli_parse ("tune", NULL,
                   "Tune CLBlast's GEMM kernel for the shapes of the reference network on one device "
                   "and store the parameters for every later run on that device.",
                   entries, &argc, &argv);
  if (argc != 1)
    {
      g_printerr ("graft-cli tune: expected no arguments\n");
      return 2;
    }
  if (candidates <= 0)
    candidates = full ? 48 : 12;
  if (repeats <= 0)
    repeats = full ? 3 : 1;
  /* "Before" must be CLBlast's own defaults, not an earlier tuning. */
  g_setenv ("GRAFT_NO_TUNE", "1", TRUE);
  g_autoptr (GError) error = NULL;
  GraftModelSpec spec = { image_size, 2, width, 0.5 };
  /* The context is declared first so that it outlives the model bound to it. */
  g_autoptr (GraftContext) ctx = graft_context_new (device, &error);
  if (ctx == NULL)
    return graft_cli_fail (error);
  g_autoptr (GraftModel) m = graft_model_new (&spec, &error);
  if (m == NULL)
    return graft_cli_fail (error);
  g_autoptr (GArray) shapes = g_array_new (FALSE, TRUE, sizeof (GraftTuneShape));
  for (guint i = 0; i < graft_model_n_layers (m); i++)
    {
      GraftLayerGemm g[2];
      guint ng = graft_model_layer_gemms (m, i, g);
      for (guint k = 0; k < ng; k++)
        {
          /* The head's GEMM (one row per image) goes to CLBlast's small-shape path untuned. */
          if (g[k].rows <= 1)
            continue;
          gsize rows = (gsize) batch * g[k].rows, cout = g[k].cols, kcols = g[k].depth;
          add_shape (shapes, rows, cout, kcols, FALSE, FALSE);
          if (full)
            {
              add_shape (shapes, kcols, cout, rows, TRUE, FALSE);
              add_shape (shapes, rows, kcols, cout, FALSE, TRUE);
            }
        }
    }
  GraftTuneShape *sh = (GraftTuneShape *) shapes->data;
  if (!json)
    printf ("Tuning CLBlast Xgemm on %s: %u shapes, %d candidates, %d repeats\n",
            graft_context_device (ctx)->name, shapes->len, candidates, repeats);
  g_autofree char *path = NULL;
  gboolean improved = FALSE;
  if (!graft_tune_gemm (ctx, sh, shapes->len, candidates, repeats, json ? NULL : tune_progress_cb,
                        NULL, &path, &improved, &error))
    return graft_cli_fail (error);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, graft_context_device (ctx)->id);
      json_builder_set_member_name (b, "improved");
      json_builder_add_boolean_value (b, improved);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, path);
      graft_tune_shapes_to_json (b, sh, shapes->len);
      json_builder_end_object (b);
      g_autofree char *text = graft_json_builder_to_text (b, TRUE, NULL);
      printf ("%s\n", text);
      return 0;
    }
  printf ("%-26s %12s %12s %12s\n", "shape M×N×K (op(A), op(B))", "default", "tuned",
          "Graft tiled");
  for (guint i = 0; i < shapes->len; i++)
    {
      g_autofree char *d = g_strdup_printf ("%zu×%zu×%zu%s%s", sh[i].m, sh[i].n, sh[i].k,
                                            sh[i].trans_a ? " Aᵀ" : "", sh[i].trans_b ? " Bᵀ" : "");
      g_autofree char *tiled = sh[i].gflops_tiled > 0
                               ? g_strdup_printf ("%7.1f GF/s", sh[i].gflops_tiled)
                               : g_strdup ("          -");
      printf ("%-26s %7.1f GF/s %7.1f GF/s %s\n", d, sh[i].gflops_before, sh[i].gflops_after,
              tiled);
    }
  if (graft_context_gemm_impl (ctx) == GRAFT_GEMM_TILED)
    printf ("This device runs Graft's tiled GEMM wherever it applies (GRAFT_GEMM=clblast selects "
            "CLBlast); the tuning serves the shapes it does not take.\n");
  if (improved)
    printf ("Stored %s; every new context on this device applies it (GRAFT_NO_TUNE=1 skips it).\n", path);
  else
    printf ("No candidate beat CLBlast's defaults; nothing stored.\n");
  return 0;
}
