/* Depthwise 3×3 convolution, GPU-shaped (cl-kernels/gpu-depthwise.cl). */
#include "graft-ops-gpu.h"

gboolean
graft_depthwise_gpu_takes (const GraftDepthwiseShape *s)
{
  /* Written for the stride-1 "same" 3×3 case only; every other shape stays on the CPU-shaped
   * kernels. */
  return s->k == 3;
}

static gboolean
conv (GraftContext *ctx, const char *op, const GraftDepthwiseShape *s, const GraftTensor *in,
      const GraftTensor *w, GraftTensor *out, int flip, GError **error)
{
  const GraftKernelVariant *v = graft_context_kernel_variant (ctx);
  cl_kernel k = graft_context_kernel (ctx, "gpu-depthwise", "gpu_depthwise3_conv", error);
  size_t want[3] = { MIN ((size_t) v->tile_c, (size_t) s->c), MIN ((size_t) v->tile_w, (size_t) s->w),
                     MIN ((size_t) v->tile_h, (size_t) s->h) }, local[3];
  if (k == NULL || !graft_context_local_size (ctx, k, 3, want, local, error))
    return FALSE;
  cl_int tiles_y = (cl_int) ((s->h + local[2] - 1) / local[2]);
  cl_ulong in_off = in->off, w_off = w->off, out_off = out->off;
  gsize tile_bytes = sizeof (float) * (local[0] * (local[1] + 2) * (local[2] + 2));
  size_t global[3] = { (size_t) s->c, (size_t) s->w, (size_t) s->n * tiles_y * local[2] };
  return graft_kernel_args (k, error, GA (in->mem), GA (in_off), GA (w->mem), GA (w_off),
                            GA (out->mem), GA (out_off), GA (s->n), GA (s->h), GA (s->w),
                            GA (s->c), GA (flip), GA (tiles_y), 0) &&
         graft_cl_check (clSetKernelArg (k, 12, tile_bytes, NULL), "clSetKernelArg(12)", error) &&
         graft_launch (ctx, op, k, 3, global, local, error);
}

gboolean
graft_depthwise_forward_gpu (GraftContext *ctx, const GraftDepthwiseShape *s,
                             const GraftTensor *x, const GraftTensor *w, GraftTensor *y,
                             GError **error)
{
  return conv (ctx, "depthwise_forward", s, x, w, y, 0, error);
}

gboolean
graft_depthwise_backward_gpu (GraftContext *ctx, const GraftDepthwiseShape *s,
                              const GraftTensor *x, const GraftTensor *w, const GraftTensor *dy,
                              GraftTensor *dx, GraftTensor *dw, GError **error)
{
  if (dx && !conv (ctx, "depthwise_backward_data", s, dy, w, dx, 1, error))
    return FALSE;
  if (dw == NULL)
    return TRUE;
  const GraftKernelVariant *v = graft_context_kernel_variant (ctx);
  cl_kernel k = graft_context_kernel (ctx, "gpu-depthwise", "gpu_depthwise3_wgrad", error);
  size_t want[2] = { MIN ((size_t) v->tile_c, (size_t) s->c), v->lanes }, local[2];
  if (k == NULL || !graft_context_local_size (ctx, k, 2, want, local, error))
    return FALSE;
  /* Chunks of pixels: a few thousand groups at most, each lane at least 16 pixels. */
  gsize pixels = (gsize) s->n * s->h * s->w;
  gsize blocks = (s->c + local[0] - 1) / local[0];
  gsize chunks = MAX (1, MIN (4096 / blocks, pixels / (16 * local[1])));
  cl_int chunk = (cl_int) ((pixels + chunks - 1) / chunks);
  chunks = (pixels + chunk - 1) / chunk;
  cl_int count = 9 * s->c, nchunks = (cl_int) chunks;
  cl_mem partial = graft_context_scratch (ctx, 0, sizeof (float) * chunks * count, error);
  cl_ulong x_off = x->off, dy_off = dy->off, dw_off = dw->off;
  size_t global[2] = { (size_t) s->c, chunks * local[1] };
  if (partial == NULL ||
      !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (dy->mem), GA (dy_off),
                          GA (partial), GA (s->n), GA (s->h), GA (s->w), GA (s->c), GA (chunk),
                          0) ||
      !graft_cl_check (clSetKernelArg (k, 10, sizeof (float) * local[0] * local[1], NULL),
                       "clSetKernelArg(10)", error) ||
      !graft_launch (ctx, "depthwise_backward_filter", k, 2, global, local, error))
    return FALSE;
  cl_kernel sum = graft_context_kernel (ctx, "depthwise", "depthwise_wgrad_sum", error);
  size_t g2 = (size_t) count;
  return sum != NULL &&
         graft_kernel_args (sum, error, GA (partial), GA (dw->mem), GA (dw_off), GA (count),
                            GA (nchunks), 0) &&
         graft_launch (ctx, "depthwise_backward_filter", sum, 1, &g2, NULL, error);
}
