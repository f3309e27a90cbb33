/* CLBlast Xgemm tuning per device: a small search over kernel parameters, stored as JSON per device and applied to new contexts. */
#include "graft-tune.h"
#include "graft-json.h"

#include <clblast_c.h>
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "graft-gemm.h"

/* CLBlast 1.5 wants every Xgemm parameter in an override, in this order. */
static const char *const xgemm_names[] = {
  "GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB",
  "NDIMC", "NWG", "SA", "SB", "STRM", "STRN", "VWM", "VWN",
};
#define N_XGEMM G_N_ELEMENTS (xgemm_names)
enum { P_GEMMK, P_KREG, P_KWG, P_KWI, P_MDIMA, P_MDIMC, P_MWG, P_NDIMB,
       P_NDIMC, P_NWG, P_SA, P_SB, P_STRM, P_STRN, P_VWM, P_VWN };

char *
graft_tune_path (const char *device_id)
{
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, device_id, -1);
  hash[16] = '\0';
  g_autofree char *file = g_strdup_printf ("%s.json", hash);
  return g_build_filename (g_get_user_config_dir (), "graft", "clblast", file, NULL);
}

static gboolean
override (GraftContext *ctx, const size_t *values, GError **error)
{
  CLBlastStatusCode st = CLBlastOverrideParameters (graft_context_device (ctx)->device, "Xgemm",
                                                    CLBlastPrecisionSingle, N_XGEMM,
                                                    (const char **) xgemm_names, values);
  if (st != CLBlastSuccess)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "CLBlast rejected the Xgemm parameters for %s (status %d)",
                   graft_context_device (ctx)->name, (int) st);
      return FALSE;
    }
  return TRUE;
}

/* CLBlast runs GEMMs with m·n·k below XGEMM_MIN_INDIRECT_SIZE³ through its
 * "direct" kernel, which on CPUs is several times slower than the indirect
 * (padded, tiled) one even for the mid-sized shapes of small images. */
static gboolean
override_routine (GraftContext *ctx, size_t min_indirect, GError **error)
{
  const char *name = "XGEMM_MIN_INDIRECT_SIZE";
  CLBlastStatusCode st = CLBlastOverrideParameters (graft_context_device (ctx)->device,
                                                    "GemmRoutine", CLBlastPrecisionSingle, 1,
                                                    &name, &min_indirect);
  if (st != CLBlastSuccess)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "CLBlast rejected XGEMM_MIN_INDIRECT_SIZE %zu for %s (status %d)",
                   min_indirect, graft_context_device (ctx)->name, (int) st);
      return FALSE;
    }
  return TRUE;
}

/* PoCL's CPU devices without a stored search start from what `graft-cli tune
 * --full` found for this network on PoCL 3.1 (AVX-512): CLBlast's own defaults
 * send most of its GEMMs to the direct kernel, 4–7× slower on a CPU. */
static gboolean
apply_builtin (GraftContext *ctx, GError **error)
{
  const GraftDeviceInfo *d = graft_context_device (ctx);
  if (!g_str_equal (d->type, "CPU") || strstr (d->platform_name, "Portable Computing Language") == NULL)
    return TRUE;
  static const size_t pocl_cpu[N_XGEMM] = {
    [P_GEMMK] = 0, [P_KREG] = 1, [P_KWG] = 16, [P_KWI] = 2, [P_MDIMA] = 4, [P_MDIMC] = 4,
    [P_MWG] = 32, [P_NDIMB] = 4, [P_NDIMC] = 4, [P_NWG] = 64, [P_SA] = 0, [P_SB] = 0,
    [P_STRM] = 0, [P_STRN] = 0, [P_VWM] = 8, [P_VWN] = 8,
  };
  return override (ctx, pocl_cpu, error) && override_routine (ctx, 256, error);
}

void
graft_tune_shapes_to_json (JsonBuilder *b, const GraftTuneShape *shapes, guint n_shapes)
{
  json_builder_set_member_name (b, "shapes");
  json_builder_begin_array (b);
  for (guint i = 0; i < n_shapes; i++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "m");
      json_builder_add_int_value (b, shapes[i].m);
      json_builder_set_member_name (b, "n");
      json_builder_add_int_value (b, shapes[i].n);
      json_builder_set_member_name (b, "k");
      json_builder_add_int_value (b, shapes[i].k);
      json_builder_set_member_name (b, "trans_a");
      json_builder_add_boolean_value (b, shapes[i].trans_a);
      json_builder_set_member_name (b, "trans_b");
      json_builder_add_boolean_value (b, shapes[i].trans_b);
      json_builder_set_member_name (b, "gflops_default");
      json_builder_add_double_value (b, shapes[i].gflops_before);
      json_builder_set_member_name (b, "gflops_tuned");
      json_builder_add_double_value (b, shapes[i].gflops_after);
      json_builder_set_member_name (b, "gflops_tiled");
      json_builder_add_double_value (b, shapes[i].gflops_tiled);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

gboolean
graft_tune_apply (GraftContext *ctx, GError **error)
{
  if (g_strcmp0 (g_getenv ("GRAFT_NO_TUNE"), "1") == 0)
    return TRUE;
  g_autofree char *path = graft_tune_path (graft_context_device (ctx)->id);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return apply_builtin (ctx, error);
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, error))
    {
      g_prefix_error (error, "CLBlast parameters %s: ", path);
      return FALSE;
    }
  g_autofree char *what = g_strdup_printf ("CLBlast parameters %s", path);
  g_autoptr (JsonNode) root = graft_json_parse (text, (gssize) len, what, error);
  if (root == NULL)
    return FALSE;
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (o == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "CLBlast parameters %s: not a JSON object", path);
      return FALSE;
    }
  JsonNode *pn = json_object_has_member (o, "Xgemm") ? json_object_get_member (o, "Xgemm") : NULL;
  if (pn != NULL && !JSON_NODE_HOLDS_OBJECT (pn))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "CLBlast parameters %s: \"Xgemm\" is not an object", path);
      return FALSE;
    }
  JsonObject *params = pn ? json_node_get_object (pn) : NULL;
  size_t values[N_XGEMM];
  for (guint i = 0; params && i < N_XGEMM; i++)
    {
      JsonNode *v = json_object_has_member (params, xgemm_names[i])
                      ? json_object_get_member (params, xgemm_names[i]) : NULL;
      if (v == NULL || !JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_INT64 ||
          json_node_get_int (v) < 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "CLBlast parameters %s: \"%s\" missing or not a count", path,
                       xgemm_names[i]);
          return FALSE;
        }
      values[i] = (size_t) json_node_get_int (v);
    }
  if (params && !override (ctx, values, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (json_object_has_member (o, "XGEMM_MIN_INDIRECT_SIZE"))
    {
      JsonNode *n = json_object_get_member (o, "XGEMM_MIN_INDIRECT_SIZE");
      gint64 v = JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64
                   ? json_node_get_int (n) : 0;
      if (v < 1 || !override_routine (ctx, (size_t) v, error))
        {
          if (error && *error == NULL)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         "CLBlast parameters %s: XGEMM_MIN_INDIRECT_SIZE must be ≥ 1", path);
          else
            g_prefix_error (error, "%s: ", path);
          return FALSE;
        }
    }
  return TRUE;
}

void
graft_tune_apply_or_warn (GraftContext *ctx)
{
  g_autoptr (GError) error = NULL;
  if (!graft_tune_apply (ctx, &error))
    g_warning ("%s", error->message);
}

/* The constraints of CLBlast's xgemm kernel (GEMMK = 0), so no candidate fails to compile. */
static gboolean
valid (const size_t *p, size_t max_wg)
{
  if (p[P_KWG] % p[P_KWI] || p[P_MWG] % (p[P_MDIMC] * p[P_VWM]) ||
      p[P_NWG] % (p[P_NDIMC] * p[P_VWN]) || p[P_MWG] % (p[P_MDIMA] * p[P_VWM]) ||
      p[P_NWG] % (p[P_NDIMB] * p[P_VWN]))
    return FALSE;
  size_t threads = p[P_MDIMC] * p[P_NDIMC];
  if (threads > max_wg || p[P_KWG] % (threads / p[P_MDIMA]) || p[P_KWG] % (threads / p[P_NDIMB]))
    return FALSE;
  return TRUE;
}

/* Candidates, cheapest-to-judge first: a grid aimed at CPUs and GPUs alike,
 * thinned evenly when fewer are asked for. */
static GArray *
candidates (size_t max_wg, guint want)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (size_t) * N_XGEMM);
  static const size_t dims[] = { 8, 16, 4 };
  static const size_t wgs[] = { 64, 32, 128 };
  static const size_t kwgs[] = { 32, 16 };
  static const size_t vws[] = { 4, 8, 2, 1 };
  for (guint a = 0; a < G_N_ELEMENTS (dims); a++)
    for (guint b = 0; b < G_N_ELEMENTS (dims); b++)
      for (guint c = 0; c < G_N_ELEMENTS (wgs); c++)
        for (guint d = 0; d < G_N_ELEMENTS (wgs); d++)
          for (guint e = 0; e < G_N_ELEMENTS (kwgs); e++)
            for (guint f = 0; f < G_N_ELEMENTS (vws); f++)
              for (guint g = 0; g < G_N_ELEMENTS (vws); g++)
                {
                  size_t p[N_XGEMM] = { 0 };
                  p[P_GEMMK] = 0; p[P_KREG] = 1; p[P_KWI] = 2;
                  p[P_MDIMC] = p[P_MDIMA] = dims[a];
                  p[P_NDIMC] = p[P_NDIMB] = dims[b];
                  p[P_MWG] = wgs[c]; p[P_NWG] = wgs[d]; p[P_KWG] = kwgs[e];
                  p[P_VWM] = vws[f]; p[P_VWN] = vws[g];
                  p[P_SA] = p[P_SB] = 0; p[P_STRM] = p[P_STRN] = 0;
                  if (valid (p, max_wg))
                    g_array_append_vals (all, p, 1);
                }
  if (want == 0 || want >= all->len)
    return all;
  GArray *some = g_array_new (FALSE, FALSE, sizeof (size_t) * N_XGEMM);
  for (guint i = 0; i < want; i++)
    g_array_append_vals (some, all->data + (gsize) i * all->len / want * sizeof (size_t) * N_XGEMM, 1);
  g_array_unref (all);
  return some;
}

/* Seconds for all shapes, each run @repeats times after one untimed run that
 * also builds the kernels; per-shape seconds into @each. */
static gboolean
time_shapes (GraftContext *ctx, GraftTuneShape *shapes, guint n_shapes, int repeats,
             cl_mem a, cl_mem b, cl_mem c, double *each, double *total, GError **error)
{
  *total = 0;
  for (guint i = 0; i < n_shapes; i++)
    {
      GraftTuneShape *s = &shapes[i];
      gsize lda = s->trans_a ? s->m : s->k, ldb = s->trans_b ? s->k : s->n;
      double t0 = 0;
      for (int r = -1; r < repeats; r++)
        {
          if (r == 0)
            t0 = g_get_monotonic_time () / 1e6;
          if (!graft_gemm (ctx, "tune-gemm", s->trans_a, s->trans_b, s->m, s->n, s->k, 1.0f,
                           a, 0, lda, b, 0, ldb, 0.0f, c, 0, s->n, error) ||
              !graft_context_finish (ctx, error))
            return FALSE;
        }
      each[i] = (g_get_monotonic_time () / 1e6 - t0) / repeats;
      *total += each[i];
    }
  return TRUE;
}

static double
gflops (const GraftTuneShape *s, double seconds)
{
  return seconds > 0 ? 2.0 * s->m * s->n * s->k / seconds / 1e9 : 0;
}

static gboolean
write_params (GraftContext *ctx, const size_t *p, size_t min_indirect, GraftTuneShape *shapes,
              guint n_shapes, const char *path, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, graft_context_device (ctx)->id);
  if (p)
    {
      json_builder_set_member_name (b, "Xgemm");
      json_builder_begin_object (b);
      for (guint i = 0; i < N_XGEMM; i++)
        {
          json_builder_set_member_name (b, xgemm_names[i]);
          json_builder_add_int_value (b, (gint64) p[i]);
        }
      json_builder_end_object (b);
    }
  if (min_indirect)
    {
      json_builder_set_member_name (b, "XGEMM_MIN_INDIRECT_SIZE");
      json_builder_add_int_value (b, (gint64) min_indirect);
    }
  graft_tune_shapes_to_json (b, shapes, n_shapes);
  json_builder_end_object (b);
  g_autofree char *text = graft_json_builder_to_text (b, TRUE, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "Cannot create %s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  /* g_file_set_contents writes a temporary file and renames it. */
  return g_file_set_contents (path, text, -1, error);
}

gboolean
graft_tune_gemm (GraftContext *ctx, GraftTuneShape *shapes, guint n_shapes, guint n_candidates,
                 int repeats, GraftTuneProgress progress, gpointer user_data, char **out_path,
                 gboolean *improved, GError **error)
{
  gsize amax = 1, bmax = 1, cmax = 1;
  for (guint i = 0; i < n_shapes; i++)
    {
      amax = MAX (amax, shapes[i].m * shapes[i].k);
      bmax = MAX (bmax, shapes[i].k * shapes[i].n);
      cmax = MAX (cmax, shapes[i].m * shapes[i].n);
    }
  cl_mem a = graft_context_alloc (ctx, amax * sizeof (float), error);
  cl_mem b = a ? graft_context_alloc (ctx, bmax * sizeof (float), error) : NULL;
  cl_mem c = b ? graft_context_alloc (ctx, cmax * sizeof (float), error) : NULL;
  gboolean ok = c != NULL;
  float half = 0.5f;
  cl_command_queue q = graft_context_queue (ctx);
  if (ok)
    ok = graft_cl_check (clEnqueueFillBuffer (q, a, &half, sizeof half, 0, amax * sizeof (float),
                                              0, NULL, NULL), "clEnqueueFillBuffer", error) &&
         graft_cl_check (clEnqueueFillBuffer (q, b, &half, sizeof half, 0, bmax * sizeof (float),
                                              0, NULL, NULL), "clEnqueueFillBuffer", error);
  g_autofree double *each = g_new0 (double, n_shapes);
  g_autofree double *best_each = g_new0 (double, n_shapes);
  double base = 0, best = G_MAXDOUBLE;
  size_t best_p[N_XGEMM] = { 0 };
  gboolean found = FALSE;
  g_autoptr (GArray) cands = candidates (graft_context_device (ctx)->max_work_group, n_candidates);
  GraftGemmImpl impl = graft_context_gemm_impl (ctx);
  /* The tiled kernel's numbers, for comparison; shapes it does not take would be CLBlast's. */
  graft_context_set_gemm_impl (ctx, GRAFT_GEMM_TILED);
  if (ok)
    ok = time_shapes (ctx, shapes, n_shapes, repeats, a, b, c, each, &base, error);
  for (guint i = 0; ok && i < n_shapes; i++)
    shapes[i].gflops_tiled = graft_gemm_tiled_covers (shapes[i].trans_a, shapes[i].trans_b,
                                                      shapes[i].m, shapes[i].n, shapes[i].k)
                             ? gflops (&shapes[i], each[i]) : 0;
  graft_context_set_gemm_impl (ctx, GRAFT_GEMM_CLBLAST);
  if (ok)
    ok = time_shapes (ctx, shapes, n_shapes, repeats, a, b, c, each, &base, error);
  if (ok)
    {
      for (guint i = 0; i < n_shapes; i++)
        shapes[i].gflops_before = shapes[i].gflops_after = gflops (&shapes[i], each[i]);
      best = base;
    }
  /* The direct/indirect switch first: it decides which kernel the others tune. */
  static const size_t thresholds[] = { 1, 128, 256 };
  size_t best_min = 0;
  for (guint ti = 0; ok && ti < G_N_ELEMENTS (thresholds); ti++)
    {
      double t;
      g_autoptr (GError) local = NULL;
      if (override_routine (ctx, thresholds[ti], &local) &&
          time_shapes (ctx, shapes, n_shapes, repeats, a, b, c, each, &t, &local) && t < best)
        {
          best = t;
          best_min = thresholds[ti];
          memcpy (best_each, each, sizeof (double) * n_shapes);
        }
    }
  /* CLBlast's own threshold stays when none of ours beat it. */
  if (ok)
    override_routine (ctx, best_min ? best_min : 512, NULL);
  for (guint ci = 0; ok && ci < cands->len; ci++)
    {
      const size_t *p = (const size_t *) (cands->data + (gsize) ci * sizeof (size_t) * N_XGEMM);
      double t;
      g_autoptr (GError) local = NULL;
      /* A candidate the device cannot build or run is skipped, not fatal. */
      if (override (ctx, p, &local) &&
          time_shapes (ctx, shapes, n_shapes, repeats, a, b, c, each, &t, &local) && t < best)
        {
          best = t;
          memcpy (best_p, p, sizeof best_p);
          memcpy (best_each, each, sizeof (double) * n_shapes);
          found = TRUE;
        }
      if (progress)
        progress (ci + 1, cands->len, best, user_data);
    }
  graft_context_set_gemm_impl (ctx, impl);
  if (a) clReleaseMemObject (a);
  if (b) clReleaseMemObject (b);
  if (c) clReleaseMemObject (c);
  if (!ok)
    return FALSE;
  g_autofree char *path = graft_tune_path (graft_context_device (ctx)->id);
  if (improved)
    *improved = found || best_min;
  if (found || best_min)
    {
      for (guint i = 0; i < n_shapes; i++)
        shapes[i].gflops_after = gflops (&shapes[i], best_each[i]);
      if ((found && !override (ctx, best_p, error)) ||
          !write_params (ctx, found ? best_p : NULL, best_min, shapes, n_shapes, path, error))
        return FALSE;
    }
  if (out_path)
    *out_path = g_steal_pointer (&path);
  return TRUE;
}
