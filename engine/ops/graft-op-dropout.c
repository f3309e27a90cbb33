/* Inverted dropout with a counter-based mask: OpenCL forward/backward and the C reference. */
#include "graft-ops.h"
#include "graft-rng.h"

static gboolean
check_rate (float rate, GError **error)
{
  if (!(rate >= 0.0f && rate < 1.0f))
    {
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "dropout: rate %g is outside [0, 1)", (double) rate);
      return FALSE;
    }
  return TRUE;
}

/* The scale is computed once on the host so device and reference agree bit for bit. */
static float
keep_scale (float rate)
{
  return 1.0f / (1.0f - rate);
}

static gboolean
dropout_apply (GraftContext *ctx, const char *op, float rate, guint32 seed, guint32 stream,
               const GraftTensor *x, GraftTensor *y, GError **error)
{
  if (!check_rate (rate, error))
    return FALSE;
  gsize numel = graft_tensor_numel (x);
  if (numel != graft_tensor_numel (y) || numel > G_MAXUINT32)
    {
      g_autofree char *xs = graft_tensor_shape_string (x);
      g_autofree char *ys = graft_tensor_shape_string (y);
      g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
                   "%s: input %s and output %s differ in size", op, xs, ys);
      return FALSE;
    }
  if (numel == 0)
    return TRUE;
  cl_kernel k = graft_context_kernel (ctx, "dropout", "dropout_apply", error);
  if (k == NULL)
    return FALSE;
  cl_ulong xo = x->off, yo = y->off;
  cl_float r = rate, scale = keep_scale (rate);
  cl_uint sd = seed, sm = stream, n = (cl_uint) numel;
  if (!graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (y->mem), GA (yo), GA (r),
                          GA (scale), GA (sd), GA (sm), GA (n), (size_t) 0))
    return FALSE;
  size_t global = numel, local = 64;
  return graft_launch (ctx, op, k, 1, &global, &local, error);
}

gboolean
graft_dropout_forward (GraftContext *ctx, float rate, guint32 seed, guint32 stream,
                       const GraftTensor *x, GraftTensor *y, GError **error)
{
  return dropout_apply (ctx, "dropout_forward", rate, seed, stream, x, y, error);
}

gboolean
graft_dropout_backward (GraftContext *ctx, float rate, guint32 seed, guint32 stream,
                        const GraftTensor *dy, GraftTensor *dx, GError **error)
{
  if (dx == NULL)
    return TRUE;
  return dropout_apply (ctx, "dropout_backward", rate, seed, stream, dy, dx, error);
}

void
graft_dropout_forward_ref (gsize n, float rate, guint32 seed, guint32 stream, const float *x,
                           float *y)
{
  float scale = keep_scale (rate);
  for (gsize i = 0; i < n; i++)
    y[i] = graft_uniform (seed, stream, (guint32) i) >= rate ? x[i] * scale : 0.0f;
}

void
graft_dropout_backward_ref (gsize n, float rate, guint32 seed, guint32 stream, const float *dy,
                            float *dx)
{
  graft_dropout_forward_ref (n, rate, seed, stream, dy, dx);
}
