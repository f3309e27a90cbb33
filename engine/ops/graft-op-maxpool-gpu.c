/* Max pooling, GPU-shaped (cl-kernels/gpu-maxpool.cl): one element per work-item. */
#include "graft-ops-gpu.h"

gboolean
graft_maxpool_gpu_takes (const GraftPoolShape *s, const GraftTensor *x)
{
  int oh = graft_same_out (s->h, s->stride), ow = graft_same_out (s->w, s->stride);
  gsize out = (gsize) s->n * oh * ow * s->c;
  return graft_tensor_numel (x) < G_MAXINT32 && out < G_MAXINT32;
}

/* The ten geometry arguments n, h, w, c, oh, ow, k, s, pad_t, pad_l from argument @first on. */
static gboolean
geometry_args (cl_kernel k, cl_uint first, const GraftPoolShape *s, GError **error)
{
  const cl_int v[10] = {
    s->n, s->h, s->w, s->c,
    graft_same_out (s->h, s->stride), graft_same_out (s->w, s->stride),
    s->k, s->stride,
    graft_same_pad_before (s->h, s->k, s->stride), graft_same_pad_before (s->w, s->k, s->stride),
  };
  for (cl_uint i = 0; i < G_N_ELEMENTS (v); i++)
    if (!graft_cl_check (clSetKernelArg (k, first + i, sizeof v[i], &v[i]), "clSetKernelArg",
                         error))
      return FALSE;
  return TRUE;
}

static gboolean
launch (GraftContext *ctx, const char *op, cl_kernel k, gsize items, GError **error)
{
  size_t want = graft_context_kernel_variant (ctx)->group_1d, local, global = items;
  return graft_context_local_size (ctx, k, 1, &want, &local, error) &&
         graft_launch (ctx, op, k, 1, &global, &local, error);
}

gboolean
graft_maxpool_forward_gpu (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x,
                           GraftTensor *y, cl_mem arg, gsize arg_off, GError **error)
{
  cl_kernel k = graft_context_kernel (ctx, "gpu-maxpool", "gpu_maxpool_forward", error);
  cl_ulong xo = x->off, yo = y->off, ao = arg ? arg_off : 0;
  cl_int want_arg = arg != NULL;
  /* Any valid buffer stands in for an unused arg. */
  cl_mem amem = arg ? arg : y->mem;
  return k != NULL &&
         graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (y->mem), GA (yo), GA (amem),
                            GA (ao), GA (want_arg), (size_t) 0) &&
         geometry_args (k, 7, s, error) &&
         launch (ctx, "maxpool_forward", k, graft_tensor_numel (y), error);
}

gboolean
graft_maxpool_backward_arg_gpu (GraftContext *ctx, const GraftPoolShape *s, cl_mem arg,
                                gsize arg_off, const GraftTensor *dy, GraftTensor *dx,
                                GError **error)
{
  cl_kernel k = graft_context_kernel (ctx, "gpu-maxpool", "gpu_maxpool_backward_arg", error);
  cl_ulong ao = arg_off, dyo = dy->off, dxo = dx->off;
  return k != NULL &&
         graft_kernel_args (k, error, GA (arg), GA (ao), GA (dy->mem), GA (dyo), GA (dx->mem),
                            GA (dxo), (size_t) 0) &&
         geometry_args (k, 6, s, error) &&
         launch (ctx, "maxpool_backward", k, graft_tensor_numel (dx), error);
}

gboolean
graft_maxpool_backward_gpu (GraftContext *ctx, const GraftPoolShape *s, const GraftTensor *x,
                            const GraftTensor *dy, GraftTensor *dx, GError **error)
{
  cl_kernel k = graft_context_kernel (ctx, "gpu-maxpool", "gpu_maxpool_backward", error);
  cl_ulong xo = x->off, dyo = dy->off, dxo = dx->off;
  return k != NULL &&
         graft_kernel_args (k, error, GA (x->mem), GA (xo), GA (dy->mem), GA (dyo), GA (dx->mem),
                            GA (dxo), (size_t) 0) &&
         geometry_args (k, 6, s, error) &&
         launch (ctx, "maxpool_backward", k, graft_tensor_numel (dx), error);
}
