/* Batch normalisation, GPU-shaped (cl-kernels/gpu-batchnorm.cl): work-group reductions per
 * chunk of rows, merged in order by batchnorm.cl's second stages. */
#include "graft-ops-gpu.h"

/* Local sizes of a reduction kernel and the chunking of the rows: a few thousand groups at
 * most, each lane at least 16 rows. */
typedef struct {
  size_t local[2];
  int    chunk, chunks;
} Reduction;

static gboolean
reduction (GraftContext *ctx, cl_kernel k, const GraftBatchNormShape *s, Reduction *r,
           GError **error)
{
  const GraftKernelVariant *v = graft_context_kernel_variant (ctx);
  size_t want[2] = { MIN ((size_t) v->tile_c, (size_t) s->c), v->lanes };
  if (!graft_context_local_size (ctx, k, 2, want, r->local, error))
    return FALSE;
  gsize blocks = (s->c + r->local[0] - 1) / r->local[0];
  gsize chunks = MAX (1, MIN (4096 / blocks, (gsize) s->rows / (16 * r->local[1])));
  r->chunk = (int) ((s->rows + chunks - 1) / chunks);
  r->chunks = (s->rows + r->chunk - 1) / r->chunk;
  return TRUE;
}

static gboolean
launch_reduction (GraftContext *ctx, const char *op, cl_kernel k, cl_uint local_arg,
                  gsize floats_per_item, const GraftBatchNormShape *s, const Reduction *r,
                  GError **error)
{
  size_t global[2] = { (size_t) s->c, (size_t) r->chunks * r->local[1] };
  return graft_cl_check (clSetKernelArg (k, local_arg,
                                         sizeof (float) * floats_per_item * r->local[0] *
                                         r->local[1], NULL),
                         "clSetKernelArg", error) &&
         graft_launch (ctx, op, k, 2, global, r->local, error);
}

/* One element per work-item over the whole tensor. */
static gboolean
launch_elements (GraftContext *ctx, const char *op, cl_kernel k, const GraftBatchNormShape *s,
                 GError **error)
{
  size_t want = graft_context_kernel_variant (ctx)->group_1d, local;
  size_t global = (size_t) s->rows * s->c;
  return graft_context_local_size (ctx, k, 1, &want, &local, error) &&
         graft_launch (ctx, op, k, 1, &global, &local, error);
}

gboolean
graft_batchnorm_forward_train_gpu (GraftContext *ctx, const GraftBatchNormShape *s,
                                   const GraftTensor *x, const GraftTensor *gamma,
                                   const GraftTensor *beta, GraftTensor *moving_mean,
                                   GraftTensor *moving_var, GraftTensor *y,
                                   GraftTensor *save_mean, GraftTensor *save_invstd,
                                   GError **error)
{
  Reduction r;
  cl_kernel k = graft_context_kernel (ctx, "gpu-batchnorm", "gpu_bn_stats_partial", error);
  if (k == NULL || !reduction (ctx, k, s, &r, error))
    return FALSE;
  cl_mem partial = graft_context_scratch (ctx, 0, sizeof (float) * 2 * (gsize) r.chunks * s->c,
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
      inv_off = s->c;
    }
  if (save_mean)
    mean_mem = save_mean->mem, mean_off = save_mean->off;
  if (save_invstd)
    inv_mem = save_invstd->mem, inv_off = save_invstd->off;

  cl_ulong x_off = x->off;
  if (!graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (partial), GA (s->rows),
                          GA (s->c), GA (r.chunk), GA (r.chunks), 0) ||
      !launch_reduction (ctx, "batchnorm_forward", k, 7, 3, s, &r, error))
    return FALSE;

  cl_ulong mm_off = moving_mean->off, mv_off = moving_var->off;
  k = graft_context_kernel (ctx, "batchnorm", "bn_stats_finish", error);
  size_t g2 = (size_t) s->c;
  if (k == NULL
      || !graft_kernel_args (k, error, GA (partial), GA (s->rows), GA (s->c), GA (r.chunk),
                             GA (r.chunks), GA (s->eps), GA (s->momentum), GA (mean_mem),
                             GA (mean_off), GA (inv_mem), GA (inv_off), GA (moving_mean->mem),
                             GA (mm_off), GA (moving_var->mem), GA (mv_off), 0)
      || !graft_launch (ctx, "batchnorm_forward", k, 1, &g2, NULL, error))
    return FALSE;

  cl_ulong gamma_off = gamma->off, beta_off = beta->off, y_off = y->off;
  cl_ulong count = (cl_ulong) s->rows * s->c;
  int moving = 0, relu = s->relu ? 1 : 0;
  k = graft_context_kernel (ctx, "gpu-batchnorm", "gpu_bn_normalise", error);
  return k != NULL &&
         graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (gamma->mem), GA (gamma_off),
                            GA (beta->mem), GA (beta_off), GA (mean_mem), GA (mean_off),
                            GA (inv_mem), GA (inv_off), GA (y->mem), GA (y_off), GA (count),
                            GA (s->c), GA (moving), GA (s->eps), GA (relu), 0) &&
         launch_elements (ctx, "batchnorm_forward", k, s, error);
}

gboolean
graft_batchnorm_forward_infer_gpu (GraftContext *ctx, const GraftBatchNormShape *s,
                                   const GraftTensor *x, const GraftTensor *gamma,
                                   const GraftTensor *beta, const GraftTensor *moving_mean,
                                   const GraftTensor *moving_var, GraftTensor *y, GError **error)
{
  cl_ulong x_off = x->off, gamma_off = gamma->off, beta_off = beta->off;
  cl_ulong mm_off = moving_mean->off, mv_off = moving_var->off, y_off = y->off;
  cl_ulong count = (cl_ulong) s->rows * s->c;
  int moving = 1, relu = s->relu ? 1 : 0;
  cl_kernel k = graft_context_kernel (ctx, "gpu-batchnorm", "gpu_bn_normalise", error);
  return k != NULL &&
         graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (gamma->mem), GA (gamma_off),
                            GA (beta->mem), GA (beta_off), GA (moving_mean->mem), GA (mm_off),
                            GA (moving_var->mem), GA (mv_off), GA (y->mem), GA (y_off),
                            GA (count), GA (s->c), GA (moving), GA (s->eps), GA (relu), 0) &&
         launch_elements (ctx, "batchnorm_forward", k, s, error);
}

gboolean
graft_batchnorm_backward_train_gpu (GraftContext *ctx, const GraftBatchNormShape *s,
                                    const GraftTensor *x, const GraftTensor *beta,
                                    const GraftTensor *gamma, const GraftTensor *save_mean,
                                    const GraftTensor *save_invstd, const GraftTensor *dy,
                                    GraftTensor *dx, GraftTensor *dgamma, GraftTensor *dbeta,
                                    GError **error)
{
  /* Without ReLU beta is never read; any buffer will do as the argument. */
  const GraftTensor *bb = s->relu ? beta : gamma;
  Reduction r;
  cl_kernel k = graft_context_kernel (ctx, "gpu-batchnorm", "gpu_bn_grad_partial", error);
  if (k == NULL || !reduction (ctx, k, s, &r, error))
    return FALSE;
  cl_mem partial = graft_context_scratch (ctx, 0, sizeof (float) * 2 * (gsize) r.chunks * s->c,
                                          error);
  cl_mem sums = partial ? graft_context_scratch (ctx, 1, sizeof (float) * 2 * (gsize) s->c,
                                                 error) : NULL;
  if (sums == NULL)
    return FALSE;
  cl_ulong x_off = x->off, b_off = bb->off, dy_off = dy->off, gamma_off = gamma->off;
  cl_ulong mean_off = save_mean->off, inv_off = save_invstd->off;
  int relu = s->relu ? 1 : 0;
  if (!graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (gamma->mem), GA (gamma_off),
                          GA (bb->mem), GA (b_off), GA (dy->mem), GA (dy_off),
                          GA (save_mean->mem), GA (mean_off), GA (save_invstd->mem),
                          GA (inv_off), GA (partial), GA (s->rows), GA (s->c), GA (r.chunk),
                          GA (r.chunks), GA (relu), 0) ||
      !launch_reduction (ctx, "batchnorm_backward", k, 18, 2, s, &r, error))
    return FALSE;

  int want = (dbeta ? 1 : 0) | (dgamma ? 2 : 0);
  cl_mem db_mem = dbeta ? dbeta->mem : sums, dg_mem = dgamma ? dgamma->mem : sums;
  cl_ulong db_off = dbeta ? dbeta->off : 0, dg_off = dgamma ? dgamma->off : 0;
  k = graft_context_kernel (ctx, "batchnorm", "bn_grad_finish", error);
  size_t g2 = (size_t) s->c;
  if (k == NULL
      || !graft_kernel_args (k, error, GA (partial), GA (sums), GA (s->c), GA (r.chunks),
                             GA (db_mem), GA (db_off), GA (dg_mem), GA (dg_off), GA (want), 0)
      || !graft_launch (ctx, "batchnorm_backward", k, 1, &g2, NULL, error))
    return FALSE;
  if (dx == NULL)
    return TRUE;

  cl_ulong dx_off = dx->off, count = (cl_ulong) s->rows * s->c;
  k = graft_context_kernel (ctx, "gpu-batchnorm", "gpu_bn_backward_data", error);
  return k != NULL &&
         graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (bb->mem), GA (b_off),
                            GA (dy->mem), GA (dy_off), GA (gamma->mem), GA (gamma_off),
                            GA (save_mean->mem), GA (mean_off), GA (save_invstd->mem),
                            GA (inv_off), GA (sums), GA (dx->mem), GA (dx_off), GA (count),
                            GA (s->rows), GA (s->c), GA (relu), 0) &&
         launch_elements (ctx, "batchnorm_backward", k, s, error);
}

gboolean
graft_batchnorm_backward_infer_gpu (GraftContext *ctx, const GraftBatchNormShape *s,
                                    const GraftTensor *y, const GraftTensor *gamma,
                                    const GraftTensor *moving_var, const GraftTensor *dy,
                                    GraftTensor *dx, GError **error)
{
  const GraftTensor *yy = s->relu ? y : dy;
  cl_ulong y_off = yy->off, dy_off = dy->off, gamma_off = gamma->off;
  cl_ulong mv_off = moving_var->off, dx_off = dx->off, count = (cl_ulong) s->rows * s->c;
  int relu = s->relu ? 1 : 0;
  cl_kernel k = graft_context_kernel (ctx, "gpu-batchnorm", "gpu_bn_backward_infer", error);
  return k != NULL &&
         graft_kernel_args (k, error, GA (yy->mem), GA (y_off), GA (dy->mem), GA (dy_off),
                            GA (gamma->mem), GA (gamma_off), GA (moving_var->mem), GA (mv_off),
                            GA (dx->mem), GA (dx_off), GA (count), GA (s->c), GA (s->eps),
                            GA (relu), 0) &&
         launch_elements (ctx, "batchnorm_backward", k, s, error);
}
