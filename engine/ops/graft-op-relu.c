/* ReLU: OpenCL launches and the plain-C reference. */
#include "graft-ops.h"
#include "graft-ops-gpu.h"

static gboolean
relu_check (const char *what, const GraftTensor *a, const GraftTensor *b, GError **error)
{
  if (graft_tensor_numel (a) == graft_tensor_numel (b))
    return TRUE;
  g_autofree char *sa = graft_tensor_shape_string (a);
  g_autofree char *sb = graft_tensor_shape_string (b);
  g_set_error (error, GRAFT_ERROR, GRAFT_ERROR_INVALID_ARGUMENT,
               "ReLU %s: %s and %s differ in size", what, sa, sb);
  return FALSE;
}

gboolean
graft_relu_forward (GraftContext *ctx, const GraftTensor *x, GraftTensor *y, GError **error)
{
  if (!relu_check ("forward", x, y, error))
    return FALSE;
  if (graft_kernels_gpu (ctx))
    return graft_relu_forward_gpu (ctx, x, y, error);
  cl_ulong n = graft_tensor_numel (x), x_off = x->off, y_off = y->off;
  gboolean vec = n % 4 == 0;
  cl_kernel k = graft_context_kernel (ctx, "relu", vec ? "relu_forward4" : "relu_forward", error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (x->mem), GA (x_off), GA (y->mem), GA (y_off), GA (n),
                             0))
    return FALSE;
  size_t global[1] = { vec ? n / 4 : n };
  return graft_launch (ctx, "relu_forward", k, 1, global, NULL, error);
}

gboolean
graft_relu_backward (GraftContext *ctx, const GraftTensor *y, const GraftTensor *dy,
                     GraftTensor *dx, GError **error)
{
  if (dx == NULL)
    return TRUE;
  if (!relu_check ("backward", y, dy, error) || !relu_check ("backward", dy, dx, error))
    return FALSE;
  if (graft_kernels_gpu (ctx))
    return graft_relu_backward_gpu (ctx, y, dy, dx, error);
  cl_ulong n = graft_tensor_numel (y), y_off = y->off, dy_off = dy->off, dx_off = dx->off;
  gboolean vec = n % 4 == 0;
  cl_kernel k = graft_context_kernel (ctx, "relu", vec ? "relu_backward4" : "relu_backward",
                                      error);
  if (k == NULL
      || !graft_kernel_args (k, error, GA (y->mem), GA (y_off), GA (dy->mem), GA (dy_off),
                             GA (dx->mem), GA (dx_off), GA (n), 0))
    return FALSE;
  size_t global[1] = { vec ? n / 4 : n };
  return graft_launch (ctx, "relu_backward", k, 1, global, NULL, error);
}

void
graft_relu_forward_ref (gsize n, const float *x, float *y)
{
  for (gsize i = 0; i < n; i++)
    y[i] = x[i] > 0 ? x[i] : 0.0f;
}

void
graft_relu_backward_ref (gsize n, const float *y, const float *dy, float *dx)
{
  for (gsize i = 0; i < n; i++)
    dx[i] = y[i] > 0 ? dy[i] : 0.0f;
}
