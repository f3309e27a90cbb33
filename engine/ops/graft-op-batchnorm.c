/* Batch normalisation (optionally fused with ReLU): OpenCL launches and the plain-C reference. */
#include "graft-ops.h"
#include "graft-ops-gpu.h"

#include <math.h>

/* Rows per first-stage item of the reductions: enough items to fill a device, few enough
 * partials that the per-channel second stage stays short. */
static int
bn_chunk (int rows, int groups)
{
  int chunks = MAX (1, 16384 / MAX (groups, 1));
  chunks = MIN (chunks, MAX (1, rows / 16));
  return (rows + chunks - 1) / chunks;
}

static gboolean
bn_check (const GraftBatchNormShape *s, const GraftTensor *x, const GraftTensor *out,
          GError **error)
{
  if (s->rows < 1 || s->c < 1 || (gsize) s->rows * s->c != graft_tensor_numel (x)
      || (out && graft_tensor_numel (out) != graft_tensor_numel (x)))
    {
      g_autofree char *shape = graft_tensor_shape_string (x);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "Batch normalisation: %d rows × %d channels does not match a %s tensor",
                   s->rows, s->c, shape);
      return FALSE;
    }
  return TRUE;
}

static cl_kernel
bn_kernel (GraftContext *ctx, const char *name, gboolean vec, GError **error)
{
  g_autofree char *full = g_strconcat (name, vec ? "4" : "", NULL);
  return graft_context_kernel (ctx, "batchnorm", full, error);
}

static gboolean
bn_launch_rows (GraftContext *ctx, const char *op, cl_kernel k, const GraftBatchNormShape *s,
                gboolean vec, int rows, GError **error)
{
  size_t global[2] = { vec ? s->c / 4 : s->c, rows };
  return graft_launch (ctx, op, k, 2, global, NULL, error);
}

gboolean
graft_batchnorm_forward_train (GraftContext *ctx, const GraftBatchNormShape *s,
                               const GraftTensor *x, const GraftTensor *gamma,
                               const GraftTensor *beta, GraftTensor *moving_mean,
                               GraftTensor *moving_var, GraftTensor *y, GraftTensor *save_mean,
                               GraftTensor *save_invstd, GError **error)
{
  if (!bn_check (s, x, y, error))
    return FALSE;
  if (graft_kernels_gpu (ctx))
    return graft_batchnorm_forward_train_gpu (ctx, s, x, gamma, beta, moving_mean, moving_var,
                                              y, save_mean, save_invstd, error);
  gboolean vec = s->c % 4 == 0;
  int chunk = bn_chunk (s->rows, vec ? s->c / 4 : s->c);
  int chunks = (s->rows + chunk - 1) / chunk;
  cl_mem partial = graft_context_scratch (ctx, 0, sizeof (float) * 2 * (gsize) chunks * s->c,
                                          error);
  if (partial == NULL)
    return FALSE;

  /* Without caller buffers for the saved statistics, keep them in scratch. */
  cl_mem mean_mem = NULL, inv_mem = NULL;
  cl_ulong mean_off = 0, inv_off = 0;
  if (save_mean == NULL || save_invstd == NULL)
    {
      cl_mem tmp = graft_context_scratch (ctx, 1, sizeof (float) * 2 * (gsize) s->c, error);
      if (tmp == NULL)
        return FALSE;
      mean_mem = inv_mem = tmp;
      mean_off = 0;
      inv_off = s->c;
    }
  if (save_mean)
    mean_mem = save_mean->mem, mean_off = save_mean->off;
  if (save_invstd)
    inv_mem = save_invstd->mem, inv_off = save_invstd->off;

  cl_ulong x_off = x->off;
  cl_kernel k = bn_kernel (ctx, "bn_stats_partial", vec, error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (partial), GA (s->rows),
                             GA (s->c), GA (chunk), GA (chunks), 0))
    return FALSE;
  size_t g1[2] = { vec ? s->c / 4 : s->c, chunks };
  if (!graft_launch (ctx, "batchnorm_forward", k, 2, g1, NULL, error))
    return FALSE;

  cl_ulong mm_off = moving_mean->off, mv_off = moving_var->off;
  k = graft_context_kernel (ctx, "batchnorm", "bn_stats_finish", error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (partial), GA (s->rows), GA (s->c), GA (chunk),
                             GA (chunks), GA (s->eps), GA (s->momentum), GA (mean_mem),
                             GA (mean_off), GA (inv_mem), GA (inv_off), GA (moving_mean->mem),
                             GA (mm_off), GA (moving_var->mem), GA (mv_off), 0))
    return FALSE;
  size_t g2[1] = { s->c };
  if (!graft_launch (ctx, "batchnorm_forward", k, 1, g2, NULL, error))
    return FALSE;

  cl_ulong gamma_off = gamma->off, beta_off = beta->off, y_off = y->off;
  int moving = 0, relu = s->relu ? 1 : 0;
  k = bn_kernel (ctx, "bn_normalise", vec, error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (gamma->mem), GA (gamma_off),
                             GA (beta->mem), GA (beta_off), GA (mean_mem), GA (mean_off),
                             GA (inv_mem), GA (inv_off), GA (y->mem), GA (y_off), GA (s->rows),
                             GA (s->c), GA (moving), GA (s->eps), GA (relu), 0))
    return FALSE;
  return bn_launch_rows (ctx, "batchnorm_forward", k, s, vec, s->rows, error);
}

gboolean
graft_batchnorm_forward_infer (GraftContext *ctx, const GraftBatchNormShape *s,
                               const GraftTensor *x, const GraftTensor *gamma,
                               const GraftTensor *beta, const GraftTensor *moving_mean,
                               const GraftTensor *moving_var, GraftTensor *y, GError **error)
{
  if (!bn_check (s, x, y, error))
    return FALSE;
  if (graft_kernels_gpu (ctx))
    return graft_batchnorm_forward_infer_gpu (ctx, s, x, gamma, beta, moving_mean, moving_var,
                                              y, error);
  gboolean vec = s->c % 4 == 0;
  cl_ulong x_off = x->off, gamma_off = gamma->off, beta_off = beta->off;
  cl_ulong mm_off = moving_mean->off, mv_off = moving_var->off, y_off = y->off;
  int moving = 1, relu = s->relu ? 1 : 0;
  cl_kernel k = bn_kernel (ctx, "bn_normalise", vec, error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (gamma->mem), GA (gamma_off),
                             GA (beta->mem), GA (beta_off), GA (moving_mean->mem), GA (mm_off),
                             GA (moving_var->mem), GA (mv_off), GA (y->mem), GA (y_off),
                             GA (s->rows), GA (s->c), GA (moving), GA (s->eps), GA (relu), 0))
    return FALSE;
  return bn_launch_rows (ctx, "batchnorm_forward", k, s, vec, s->rows, error);
}

gboolean
graft_batchnorm_fold (GraftContext *ctx, const GraftBatchNormShape *s, const GraftTensor *gamma,
                      const GraftTensor *beta, const GraftTensor *moving_mean,
                      const GraftTensor *moving_var, const GraftTensor *bias, GraftTensor *scale,
                      GraftTensor *shift, GError **error)
{
  const GraftTensor *vecs[] = { gamma, beta, moving_mean, moving_var, bias, scale, shift };
  for (guint i = 0; i < G_N_ELEMENTS (vecs); i++)
    if ((vecs[i] != NULL || i != 4) &&
        (vecs[i] == NULL || graft_tensor_numel (vecs[i]) != (gsize) s->c))
      {
        g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                     "Batch normalisation fold: every vector needs %d values", s->c);
        return FALSE;
      }
  cl_kernel k = graft_context_kernel (ctx, "batchnorm", "bn_fold", error);
  cl_ulong g_off = gamma->off, b_off = beta->off, mm_off = moving_mean->off;
  cl_ulong mv_off = moving_var->off, bias_off = bias ? bias->off : 0;
  cl_ulong sc_off = scale->off, sh_off = shift->off;
  cl_int has_bias = bias != NULL;
  /* Any valid buffer stands in for a missing bias. */
  cl_mem bias_mem = bias ? bias->mem : gamma->mem;
  size_t global = (size_t) s->c;
  return k != NULL &&
         graft_kernel_args (k, error, GA (gamma->mem), GA (g_off), GA (beta->mem), GA (b_off),
                            GA (moving_mean->mem), GA (mm_off), GA (moving_var->mem),
                            GA (mv_off), GA (bias_mem), GA (bias_off), GA (has_bias),
                            GA (scale->mem), GA (sc_off), GA (shift->mem), GA (sh_off),
                            GA (s->c), GA (s->eps), 0) &&
         graft_launch (ctx, "batchnorm_forward", k, 1, &global, NULL, error);
}

void
graft_batchnorm_fold_ref (const GraftBatchNormShape *s, const float *gamma, const float *beta,
                          const float *moving_mean, const float *moving_var, const float *bias,
                          float *scale, float *shift)
{
  for (int c = 0; c < s->c; c++)
    {
      double sc = gamma[c] / sqrt ((double) moving_var[c] + s->eps);
      scale[c] = (float) sc;
      shift[c] = (float) (((bias ? bias[c] : 0.0) - moving_mean[c]) * sc + beta[c]);
    }
}

gboolean
graft_batchnorm_backward_train (GraftContext *ctx, const GraftBatchNormShape *s,
                                const GraftTensor *x, const GraftTensor *beta,
                                const GraftTensor *gamma, const GraftTensor *save_mean,
                                const GraftTensor *save_invstd, const GraftTensor *dy,
                                GraftTensor *dx, GraftTensor *dgamma, GraftTensor *dbeta,
                                GError **error)
{
  if (!bn_check (s, x, dy, error))
    return FALSE;
  if (dx == NULL && dgamma == NULL && dbeta == NULL)
    return TRUE;
  if (s->relu && beta == NULL)
    {
      g_set_error_literal (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                           "Batch normalisation with ReLU: backward needs beta");
      return FALSE;
    }
  if (graft_kernels_gpu (ctx))
    return graft_batchnorm_backward_train_gpu (ctx, s, x, beta, gamma, save_mean, save_invstd,
                                               dy, dx, dgamma, dbeta, error);
  /* Without ReLU beta is never read; any buffer will do as the argument. */
  const GraftTensor *bb = s->relu ? beta : gamma;
  gboolean vec = s->c % 4 == 0;
  int chunk = bn_chunk (s->rows, vec ? s->c / 4 : s->c);
  int chunks = (s->rows + chunk - 1) / chunk;
  cl_mem partial = graft_context_scratch (ctx, 0, sizeof (float) * 2 * (gsize) chunks * s->c,
                                          error);
  cl_mem sums = partial ? graft_context_scratch (ctx, 1, sizeof (float) * 2 * (gsize) s->c,
                                                 error) : NULL;
  if (sums == NULL)
    return FALSE;

  cl_ulong x_off = x->off, b_off = bb->off, dy_off = dy->off, gamma_off = gamma->off;
  cl_ulong mean_off = save_mean->off, inv_off = save_invstd->off;
  int relu = s->relu ? 1 : 0;
  cl_kernel k = bn_kernel (ctx, "bn_grad_partial", vec, error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (gamma->mem), GA (gamma_off),
                             GA (bb->mem), GA (b_off), GA (dy->mem), GA (dy_off), GA (save_mean->mem), GA (mean_off),
                             GA (save_invstd->mem), GA (inv_off), GA (partial), GA (s->rows),
                             GA (s->c), GA (chunk), GA (chunks), GA (relu), 0))
    return FALSE;
  size_t g1[2] = { vec ? s->c / 4 : s->c, chunks };
  if (!graft_launch (ctx, "batchnorm_backward", k, 2, g1, NULL, error))
    return FALSE;

  int want = (dbeta ? 1 : 0) | (dgamma ? 2 : 0);
  cl_mem db_mem = dbeta ? dbeta->mem : sums, dg_mem = dgamma ? dgamma->mem : sums;
  cl_ulong db_off = dbeta ? dbeta->off : 0, dg_off = dgamma ? dgamma->off : 0;
  k = graft_context_kernel (ctx, "batchnorm", "bn_grad_finish", error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (partial), GA (sums), GA (s->c), GA (chunks),
                             GA (db_mem), GA (db_off), GA (dg_mem), GA (dg_off), GA (want), 0))
    return FALSE;
  size_t g2[1] = { s->c };
  if (!graft_launch (ctx, "batchnorm_backward", k, 1, g2, NULL, error))
    return FALSE;
  if (dx == NULL)
    return TRUE;

  cl_ulong dx_off = dx->off;
  k = bn_kernel (ctx, "bn_backward_data", vec, error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (bb->mem), GA (b_off),
                             GA (dy->mem), GA (dy_off), GA (gamma->mem), GA (gamma_off),
                             GA (save_mean->mem), GA (mean_off), GA (save_invstd->mem),
                             GA (inv_off), GA (sums), GA (dx->mem), GA (dx_off), GA (s->rows),
                             GA (s->c), GA (relu), 0))
    return FALSE;
  return bn_launch_rows (ctx, "batchnorm_backward", k, s, vec, s->rows, error);
}

gboolean
graft_batchnorm_backward_infer (GraftContext *ctx, const GraftBatchNormShape *s,
                                const GraftTensor *y, const GraftTensor *gamma,
                                const GraftTensor *moving_var, const GraftTensor *dy,
                                GraftTensor *dx, GError **error)
{
  if (dx == NULL)
    return TRUE;
  if (!bn_check (s, dy, dx, error))
    return FALSE;
  if (s->relu && y == NULL)
    {
      g_set_error_literal (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                           "Batch normalisation with ReLU: backward needs the forward output");
      return FALSE;
    }
  if (graft_kernels_gpu (ctx))
    return graft_batchnorm_backward_infer_gpu (ctx, s, y, gamma, moving_var, dy, dx, error);
  const GraftTensor *yy = s->relu ? y : dy;
  gboolean vec = s->c % 4 == 0;
  cl_ulong y_off = yy->off, dy_off = dy->off, gamma_off = gamma->off;
  cl_ulong mv_off = moving_var->off, dx_off = dx->off;
  int relu = s->relu ? 1 : 0;
  cl_kernel k = bn_kernel (ctx, "bn_backward_infer", vec, error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (yy->mem), GA (y_off), GA (dy->mem), GA (dy_off),
                             GA (gamma->mem), GA (gamma_off), GA (moving_var->mem), GA (mv_off),
                             GA (dx->mem), GA (dx_off), GA (s->rows), GA (s->c), GA (s->eps),
                             GA (relu), 0))
    return FALSE;
  return bn_launch_rows (ctx, "batchnorm_backward", k, s, vec, s->rows, error);
}

/* ---- reference ---- */

void
graft_batchnorm_forward_train_ref (const GraftBatchNormShape *s, const float *x,
                                   const float *gamma, const float *beta, float *moving_mean,
                                   float *moving_var, float *y, float *save_mean,
                                   float *save_invstd)
{
  for (int c = 0; c < s->c; c++)
    {
      /* Two passes in double: the mean, then squared deviations from it. */
      double sum = 0;
      for (int r = 0; r < s->rows; r++)
        sum += x[(gsize) r * s->c + c];
      double mean = sum / s->rows;
      double ss = 0;
      for (int r = 0; r < s->rows; r++)
        {
          double d = x[(gsize) r * s->c + c] - mean;
          ss += d * d;
        }
      double var = ss / s->rows;
      double unbiased = ss / MAX (s->rows - 1, 1);
      double inv = 1.0 / sqrt (var + s->eps);
      for (int r = 0; r < s->rows; r++)
        {
          gsize i = (gsize) r * s->c + c;
          double v = (x[i] - mean) * inv * gamma[c] + beta[c];
          if (s->relu && v < 0)
            v = 0;
          y[i] = (float) v;
        }
      if (save_mean)
        save_mean[c] = (float) mean;
      if (save_invstd)
        save_invstd[c] = (float) inv;
      moving_mean[c] = (float) (s->momentum * (double) moving_mean[c]
                                + (1.0 - s->momentum) * mean);
      moving_var[c] = (float) (s->momentum * (double) moving_var[c]
                               + (1.0 - s->momentum) * unbiased);
    }
}

void
graft_batchnorm_forward_infer_ref (const GraftBatchNormShape *s, const float *x,
                                   const float *gamma, const float *beta,
                                   const float *moving_mean, const float *moving_var, float *y)
{
  for (int r = 0; r < s->rows; r++)
    for (int c = 0; c < s->c; c++)
      {
        gsize i = (gsize) r * s->c + c;
        double v = (x[i] - (double) moving_mean[c]) / sqrt ((double) moving_var[c] + s->eps)
                   * gamma[c] + beta[c];
        if (s->relu && v < 0)
          v = 0;
        y[i] = (float) v;
      }
}

void
graft_batchnorm_backward_train_ref (const GraftBatchNormShape *s, const float *x,
                                    const float *y, const float *gamma, const float *save_mean,
                                    const float *save_invstd, const float *dy, float *dx,
                                    float *dgamma, float *dbeta)
{
  for (int c = 0; c < s->c; c++)
    {
      double inv = save_invstd[c], mean = save_mean[c];
      double sg = 0, sgx = 0;
      for (int r = 0; r < s->rows; r++)
        {
          gsize i = (gsize) r * s->c + c;
          double g = (s->relu && !(y[i] > 0)) ? 0 : dy[i];
          sg += g;
          sgx += g * (x[i] - mean) * inv;
        }
      if (dbeta)
        dbeta[c] = (float) sg;
      if (dgamma)
        dgamma[c] = (float) sgx;
      if (dx == NULL)
        continue;
      for (int r = 0; r < s->rows; r++)
        {
          gsize i = (gsize) r * s->c + c;
          double g = (s->relu && !(y[i] > 0)) ? 0 : dy[i];
          double xh = (x[i] - mean) * inv;
          dx[i] = (float) (inv * gamma[c] * (g - sg / s->rows - xh * sgx / s->rows));
        }
    }
}

void
graft_batchnorm_backward_infer_ref (const GraftBatchNormShape *s, const float *y,
                                    const float *gamma, const float *moving_var,
                                    const float *dy, float *dx)
{
  for (int r = 0; r < s->rows; r++)
    for (int c = 0; c < s->c; c++)
      {
        gsize i = (gsize) r * s->c + c;
        double g = (s->relu && !(y[i] > 0)) ? 0 : dy[i];
        dx[i] = (float) (g * gamma[c] / sqrt ((double) moving_var[c] + s->eps));
      }
}
