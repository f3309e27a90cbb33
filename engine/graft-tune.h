/* CLBlast GEMM tuning per device: search Xgemm parameters, store them per device, apply them to new contexts. */
#pragma once

#include <json-glib/json-glib.h>

#include "graft-context.h"

G_BEGIN_DECLS

/* One GEMM shape (row-major, as graft_gemm takes it) and its measured speed. */
typedef struct {
  gsize    m, n, k;
  gboolean trans_a, trans_b;
  double   gflops_before, gflops_after;
  double   gflops_tiled;   /* Graft's tiled kernel on the same shape; 0 where it does not apply */
} GraftTuneShape;

/* Adds member "shapes": [{m, n, k, trans_a, trans_b, gflops_default, gflops_tuned}…] to the
 * object being built. */
void     graft_tune_shapes_to_json (JsonBuilder *b, const GraftTuneShape *shapes, guint n_shapes);

/* Where the parameters of @device_id live:
 * g_get_user_config_dir()/graft/clblast/<hash of the id>.json */
char    *graft_tune_path   (const char *device_id);

/* Applies stored parameters for the context's device, if any; a malformed
 * file is reported and ignored. GRAFT_NO_TUNE=1 in the environment skips it. */
gboolean graft_tune_apply  (GraftContext *ctx, GError **error);
/* The same for graft_context_new: a bad file is a warning, never a failure to open the device. */
void     graft_tune_apply_or_warn (GraftContext *ctx);

/* Tries @n_candidates Xgemm configurations (0 = all) on @shapes, times each
 * (sum of the shapes' run times), keeps the fastest if it beats the current
 * parameters, fills gflops_before/after and writes the file atomically. CLBlast is timed whatever
 * the context's GEMM choice; the tiled kernel is timed too (gflops_tiled), for comparison.
 * @progress may be NULL. */
typedef void (*GraftTuneProgress) (guint done, guint total, double best_gflops, gpointer user_data);
gboolean graft_tune_gemm   (GraftContext *ctx, GraftTuneShape *shapes, guint n_shapes,
                            guint n_candidates, int repeats, GraftTuneProgress progress,
                            gpointer user_data, char **out_path, gboolean *improved,
                            GError **error);

G_END_DECLS
