/* Global average pooling {N,H,W,C} → {N,1,1,C} on the device and its plain-C reference. */
#include "graft-ops.h"

#define LOCAL_1D 64

static gboolean
check (const char *what, const GraftTensor *big, const GraftTensor *small, GError **error)
{
  gsize want = (gsize) big->ne[0] * big->ne[3];
  if (graft_tensor_numel (small) == want && graft_tensor_numel (big) < G_MAXINT32)
    return TRUE;
  g_autofree char *sb = graft_tensor_shape_string (big);
  g_autofree char *ss = graft_tensor_shape_string (small);
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "global average pooling %s: the %s tensor is %s, expected %d×1×1×%d", sb, what,
               ss, big->ne[0], big->ne[3]);
  return FALSE;
}

static gboolean
run (GraftContext *ctx, const char *kernel, const char *op, const GraftTensor *in,
     GraftTensor *out, const GraftTensor *big, guint total, GError **error)
{
  cl_kernel k = graft_context_kernel (ctx, "gap", kernel, error);
  cl_ulong in_off = in->off, out_off = out->off;
  cl_int hw = big->ne[1] * big->ne[2], c = big->ne[3];
  cl_uint t = total;
  if (k == NULL ||
      !graft_kernel_args (k, error, GA (in->mem), GA (in_off), GA (out->mem), GA (out_off),
                          GA (hw), GA (c), GA (t), 0))
    return FALSE;
  size_t global = total, local = LOCAL_1D;
  return graft_launch (ctx, op, k, 1, &global, &local, error);
}

gboolean
graft_gap_forward (GraftContext *ctx, const GraftTensor *x, GraftTensor *y, GError **error)
{
  if (!check ("output", x, y, error))
    return FALSE;
  return run (ctx, "gap_forward", "gap-fwd", x, y, x, graft_tensor_numel (y), error);
}

gboolean
graft_gap_backward (GraftContext *ctx, const GraftTensor *dy, GraftTensor *dx, GError **error)
{
  if (!check ("output gradient", dx, dy, error))
    return FALSE;
  return run (ctx, "gap_backward", "gap-bwd", dy, dx, dx, graft_tensor_numel (dx), error);
}

void
graft_gap_forward_ref (int n, int hw, int c, const float *x, float *y)
{
  for (int i = 0; i < n; i++)
    for (int ci = 0; ci < c; ci++)
      {
        double acc = 0;
        for (int p = 0; p < hw; p++)
          acc += x[((gsize) i * hw + p) * c + ci];
        y[(gsize) i * c + ci] = (float) (acc / hw);
      }
}

void
graft_gap_backward_ref (int n, int hw, int c, const float *dy, float *dx)
{
  for (int i = 0; i < n; i++)
    for (int p = 0; p < hw; p++)
      for (int ci = 0; ci < c; ci++)
        dx[((gsize) i * hw + p) * c + ci] = (float) ((double) dy[(gsize) i * c + ci] / hw);
}
