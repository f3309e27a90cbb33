/* Element-wise ops, ReLU and the strided 1×1 subsample, GPU-shaped
 * (cl-kernels/gpu-elementwise.cl). */
#include "graft-ops-gpu.h"

/* One element per work-item, or a float4 when @n is a multiple of 4. */
static gboolean
pick (GraftContext *ctx, const char *name, cl_ulong n, cl_kernel *out, GError **error)
{
  gboolean vec = n % 4 == 0;
  g_autofree char *full = g_strconcat (name, vec ? "4" : "", NULL);
  *out = graft_context_kernel (ctx, "gpu-elementwise", full, error);
  return *out != NULL;
}

static gboolean
enqueue (GraftContext *ctx, const char *op, cl_kernel k, cl_ulong n, GError **error)
{
  size_t want = graft_context_kernel_variant (ctx)->group_1d, local;
  size_t global = n % 4 == 0 ? n / 4 : n;
  return graft_context_local_size (ctx, k, 1, &want, &local, error) &&
         graft_launch (ctx, op, k, 1, &global, &local, error);
}

gboolean
graft_add_gpu (GraftContext *ctx, const GraftTensor *a, const GraftTensor *b, GraftTensor *y,
               GError **error)
{
  cl_ulong n = graft_tensor_numel (y), a_off = a->off, b_off = b->off, y_off = y->off;
  cl_kernel k;
  return pick (ctx, "gpu_add", n, &k, error) &&
         graft_kernel_args (k, error, GA (a->mem), GA (a_off), GA (b->mem), GA (b_off),
                            GA (y->mem), GA (y_off), GA (n), 0) &&
         enqueue (ctx, "add", k, n, error);
}

static gboolean
scaled (GraftContext *ctx, const char *op, const char *name, float alpha, const GraftTensor *x,
        GraftTensor *y, GError **error)
{
  cl_ulong n = graft_tensor_numel (y), x_off = x->off, y_off = y->off;
  cl_kernel k;
  return pick (ctx, name, n, &k, error) &&
         graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (y->mem), GA (y_off),
                            GA (alpha), GA (n), 0) &&
         enqueue (ctx, op, k, n, error);
}

gboolean
graft_scale_gpu (GraftContext *ctx, float alpha, const GraftTensor *x, GraftTensor *y,
                 GError **error)
{
  return scaled (ctx, "scale", "gpu_scale", alpha, x, y, error);
}

gboolean
graft_axpy_gpu (GraftContext *ctx, float alpha, const GraftTensor *x, GraftTensor *y,
                GError **error)
{
  return scaled (ctx, "axpy", "gpu_axpy", alpha, x, y, error);
}

gboolean
graft_relu_forward_gpu (GraftContext *ctx, const GraftTensor *x, GraftTensor *y, GError **error)
{
  cl_ulong n = graft_tensor_numel (x), x_off = x->off, y_off = y->off;
  cl_kernel k;
  return pick (ctx, "gpu_relu_forward", n, &k, error) &&
         graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (y->mem), GA (y_off), GA (n),
                            0) &&
         enqueue (ctx, "relu_forward", k, n, error);
}

gboolean
graft_relu_backward_gpu (GraftContext *ctx, const GraftTensor *y, const GraftTensor *dy,
                         GraftTensor *dx, GError **error)
{
  cl_ulong n = graft_tensor_numel (y), y_off = y->off, dy_off = dy->off, dx_off = dx->off;
  cl_kernel k;
  return pick (ctx, "gpu_relu_backward", n, &k, error) &&
         graft_kernel_args (k, error, GA (y->mem), GA (y_off), GA (dy->mem), GA (dy_off),
                            GA (dx->mem), GA (dx_off), GA (n), 0) &&
         enqueue (ctx, "relu_backward", k, n, error);
}

gboolean
graft_conv2d_subsample_gpu (GraftContext *ctx, cl_mem x, gsize x_off, cl_mem sub, int nb, int h,
                            int w, int c, int ho, int wo, int stride, gboolean inverse,
                            GError **error)
{
  const char *op = inverse ? "conv2d-unsubsample" : "conv2d-subsample";
  cl_kernel k = graft_context_kernel (ctx, "gpu-elementwise", "gpu_subsample", error);
  cl_ulong xo = x_off, so = 0;
  cl_int inv = inverse ? 1 : 0;
  cl_uint count = (cl_uint) ((gsize) nb * (inverse ? (gsize) h * w : (gsize) ho * wo) * c);
  size_t want = graft_context_kernel_variant (ctx)->group_1d, local, global = count;
  return k != NULL &&
         graft_kernel_args (k, error, GA (x), GA (xo), GA (sub), GA (so), GA (h), GA (w), GA (c),
                            GA (ho), GA (wo), GA (stride), GA (inv), GA (count), 0) &&
         graft_context_local_size (ctx, k, 1, &want, &local, error) &&
         graft_launch (ctx, op, k, 1, &global, &local, error);
}
