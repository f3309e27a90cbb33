/* graft-cli bench and tune: throughput, per-op profile and memory of the reference network, and CLBlast tuning. */
#include "graft-cli.h"
#include "graft-json.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "graft-bench.h"
#include "graft-model.h"
#include "graft-tune.h"

static void
print_phase (const char *title, const GraftBenchPhase *p, int iterations, double peak)
{
  printf ("\n%s: %.2f images/s (median %.3f s/step of %d, spread %.1f%%; device busy %.3f "
          "s/step)\n", title, p->images_per_s, p->median, iterations, 100 * p->spread,
          p->op_ns / 1e9 / iterations);
  if (p->ops->len == 0)
    return;
  printf ("  %-28s %10s %7s %9s %8s\n", "op", "ms/step", "share", "GFLOP/s", "of peak");
  for (guint i = 0; i < p->ops->len; i++)
    {
      const GraftBenchOp *r = &g_array_index (p->ops, GraftBenchOp, i);
      char gf[32] = "", pk[32] = "";
      if (r->gflop > 0 && r->ns > 0)
        {
          g_snprintf (gf, sizeof gf, "%.1f", r->gflop / (r->ns / 1e9));
          if (peak > 0)
            g_snprintf (pk, sizeof pk, "%.0f%%", 100 * r->gflop / (r->ns / 1e9) / peak);
        }
      printf ("  %-28s %10.2f %6.1f%% %9s %8s\n", r->op, r->ns / 1e6 / iterations,
              p->op_ns ? 100.0 * r->ns / p->op_ns : 0.0, gf, pk);
    }
}

static void
json_phase (JsonBuilder *b, const char *name, const GraftBenchPhase *p, int iterations)
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
      const GraftBenchOp *r = &g_array_index (p->ops, GraftBenchOp, i);
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
  g_autofree char *device = NULL, *arch = NULL;
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

  if (!json)
    {
      const GraftDeviceInfo *di = graft_context_device (ctx);
      printf ("Device: %s (%s, %u compute units)\n", di->name, di->platform_name, di->compute_units);
      printf ("Model: %s, %d×%d×3, %d classes, width %.3g, batch %d; %d timed steps after %d "
              "warm-up\n", arch ? arch : "keras-cnn", image_size, image_size, classes, width, batch,
              iterations, warmup);
    }
  GraftBenchOptions opt = { warmup, iterations, !no_profile, !no_frozen };
  g_auto (GraftBenchResult) r = { 0 };
  if (!graft_bench_run (ctx, m, &opt, &r, &error))
    return graft_cli_fail (error);
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  double rss_mb = ru.ru_maxrss / 1024.0;

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
      json_phase (b, "train", &r.train, iterations);
      json_phase (b, "infer", &r.infer, iterations);
      if (!no_frozen)
        {
          json_phase (b, "frozen_train", &r.frozen, iterations);
          json_builder_set_member_name (b, "full_over_frozen_step_time");
          json_builder_add_double_value (b, r.full_over_frozen);
        }
      json_builder_set_member_name (b, "model_device_bytes");
      json_builder_add_int_value (b, (gint64) r.model_bytes);
      json_builder_set_member_name (b, "scratch_bytes");
      json_builder_add_int_value (b, (gint64) r.scratch_bytes);
      json_builder_set_member_name (b, "peak_rss_mb");
      json_builder_add_double_value (b, rss_mb);
      json_builder_set_member_name (b, "fma_peak_gflops");
      json_builder_add_double_value (b, r.fma_peak_gflops);
      json_builder_set_member_name (b, "fma_low_gflops");
      json_builder_add_double_value (b, r.fma_low_gflops);
      json_builder_end_object (b);
      g_autofree char *text = graft_json_builder_to_text (b, TRUE, NULL);
      printf ("%s\n", text);
    }
  else
    {
      print_phase ("Training step", &r.train, iterations, r.fma_peak_gflops);
      print_phase ("Inference", &r.infer, iterations, r.fma_peak_gflops);
      if (!no_frozen)
        {
          print_phase ("Frozen-body training step (only the dense layer trained)", &r.frozen,
                       iterations, r.fma_peak_gflops);
          printf ("\nFull step / frozen-body step time: %.2f×\n", r.full_over_frozen);
        }
      g_autofree char *mb = graft_format_bytes (r.model_bytes);
      g_autofree char *sb = graft_format_bytes (r.scratch_bytes);
      g_autofree char *tb = graft_format_bytes (r.model_bytes + r.scratch_bytes);
      printf ("\nDevice memory: model %s + scratch %s = %s (CLBlast temporaries not counted)\n",
              mb, sb, tb);
      printf ("Peak process RSS: %.0f MB\n", rss_mb);
      printf ("Device FMA peak: %.1f GFLOP/s (measured: independent fused multiply-adds in "
              "native float vectors)\n", r.fma_peak_gflops);
      double dip = r.fma_peak_gflops > 0 ? 1.0 - r.fma_low_gflops / r.fma_peak_gflops : 0;
      printf ("Device FMA rate around the phases: %.1f–%.1f GFLOP/s (the slowest run %.0f%% "
              "below the fastest: %s)\n", r.fma_low_gflops, r.fma_peak_gflops, 100 * dip,
              dip > 0.05 ? "other work shared the device, and step spreads that size come "
                           "from it"
                         : "the device was steady");
    }
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
  g_autofree char *device = NULL;
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
